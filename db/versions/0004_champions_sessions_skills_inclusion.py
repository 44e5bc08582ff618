"""Digital Champions, support sessions, volunteer hours, skills checks and each resident's inclusion status.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Residents already registered start as "not yet supported"; the app works out their status from their
loans when it next opens the upgraded database (see the inclusion_recompute_pending setting below).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "champions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("trained_on", sa.Date(), nullable=True),
        sa.Column("dbs_checked_on", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_champions")),
    )
    with op.batch_alter_table("champions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_champions_name"), ["name"], unique=False)

    op.create_table(
        "champion_hours",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("champion_id", sa.Uuid(), nullable=False),
        sa.Column("worked_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "training",
                "device_setup",
                "outreach",
                "other",
                name="hourskind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("logged_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champions.id"],
            name=op.f("fk_champion_hours_champion_id_champions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_champion_hours")),
    )
    with op.batch_alter_table("champion_hours", schema=None) as batch_op:
        batch_op.create_index(
            "ix_champion_hours_champion_id_worked_on", ["champion_id", "worked_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_champion_hours_worked_on"), ["worked_on"], unique=False)

    op.create_table(
        "champion_venues",
        sa.Column("champion_id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["champion_id"],
            ["champions.id"],
            name=op.f("fk_champion_venues_champion_id_champions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_champion_venues_venue_id_venues")),
        sa.PrimaryKeyConstraint("champion_id", "venue_id", name=op.f("pk_champion_venues")),
    )
    op.create_table(
        "inclusion_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "not_yet_supported",
                "supported",
                "included",
                "independent",
                name="inclusionstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "not_yet_supported",
                "supported",
                "included",
                "independent",
                name="inclusionstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_inclusion_changes_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inclusion_changes")),
    )
    with op.batch_alter_table("inclusion_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inclusion_changes_at"), ["at"], unique=False)
        batch_op.create_index("ix_inclusion_changes_resident_id_at", ["resident_id", "at"], unique=False)

    op.create_table(
        "skills_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("checked_by", sa.String(length=120), nullable=False),
        sa.Column("own_device", sa.Boolean(), nullable=False),
        sa.Column("own_connection", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_skills_checks_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills_checks")),
    )
    with op.batch_alter_table("skills_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_skills_checks_resident_id_checked_on", ["resident_id", "checked_on"], unique=False
        )

    op.create_table(
        "skills_check_levels",
        sa.Column("check_id", sa.Uuid(), nullable=False),
        sa.Column(
            "area",
            sa.Enum(
                "foundation",
                "communicating",
                "handling_information",
                "transacting",
                "problem_solving",
                "being_safe_legal",
                name="skillarea",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "level",
            sa.Enum("alone", "with_help", "not_yet", name="skilllevel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["skills_checks.id"],
            name=op.f("fk_skills_check_levels_check_id_skills_checks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("check_id", "area", name=op.f("pk_skills_check_levels")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "one_to_one",
                "drop_in",
                "group",
                "phone",
                "video",
                name="sessionkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("venue_id", sa.Uuid(), nullable=True),
        sa.Column("loan_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("follow_up", sa.Text(), nullable=False),
        sa.Column("logged_by", sa.String(length=120), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_sessions_loan_id_loans")),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_sessions_venue_id_venues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_follow_up_on"), ["follow_up_on"], unique=False)
        batch_op.create_index("ix_sessions_held_on_starts_at", ["held_on", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_loan_id"), ["loan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_venue_id"), ["venue_id"], unique=False)

    op.create_table(
        "session_attendees",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=True),
        sa.Column(
            "age_band",
            sa.Enum(
                "under_18",
                "18_24",
                "25_49",
                "50_64",
                "65_74",
                "75_plus",
                "not_said",
                name="ageband",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("ward_code", sa.String(length=9), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_session_attendees_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_attendees_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ward_code"], ["wards.code"], name=op.f("fk_session_attendees_ward_code_wards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_attendees")),
    )
    with op.batch_alter_table("session_attendees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_attendees_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_session_attendees_session_id"), ["session_id"], unique=False)

    op.create_table(
        "session_champions",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("champion_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["champion_id"], ["champions.id"], name=op.f("fk_session_champions_champion_id_champions")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_champions_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "champion_id", name=op.f("pk_session_champions")),
    )
    with op.batch_alter_table("session_champions", schema=None) as batch_op:
        batch_op.create_index("ix_session_champions_champion_id", ["champion_id", "session_id"], unique=False)

    op.create_table(
        "session_topics",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_topics_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "topic", name=op.f("pk_session_topics")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reason_met",
                sa.Enum("yes", "partly", "no", name="reasonmet", native_enum=False, length=24),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("own_device_after", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("own_connection_after", sa.Boolean(), nullable=True))

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "inclusion_status",
                sa.Enum(
                    "not_yet_supported",
                    "supported",
                    "included",
                    "independent",
                    name="inclusionstatus",
                    native_enum=False,
                    length=24,
                ),
                nullable=False,
                server_default="not_yet_supported",
            )
        )
        batch_op.create_index(batch_op.f("ix_residents_inclusion_status"), ["inclusion_status"], unique=False)
    # Residents already registered: the app works out their statuses when it next opens the database
    # and then removes this flag, in one transaction, so a start that fails halfway tries again.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM residents")).scalar():
        op.execute(sa.text("INSERT INTO settings (key, value) VALUES ('inclusion_recompute_pending', '{}')"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM settings WHERE key = 'inclusion_recompute_pending'"))
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_inclusion_status"))
        batch_op.drop_column("inclusion_status")

    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_column("own_connection_after")
        batch_op.drop_column("own_device_after")
        batch_op.drop_column("reason_met")

    op.drop_table("session_topics")
    with op.batch_alter_table("session_champions", schema=None) as batch_op:
        batch_op.drop_index("ix_session_champions_champion_id")

    op.drop_table("session_champions")
    with op.batch_alter_table("session_attendees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_attendees_session_id"))
        batch_op.drop_index(batch_op.f("ix_session_attendees_resident_id"))

    op.drop_table("session_attendees")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_venue_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_loan_id"))
        batch_op.drop_index("ix_sessions_held_on_starts_at")
        batch_op.drop_index(batch_op.f("ix_sessions_follow_up_on"))

    op.drop_table("sessions")
    op.drop_table("skills_check_levels")
    with op.batch_alter_table("skills_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_skills_checks_resident_id_checked_on")

    op.drop_table("skills_checks")
    with op.batch_alter_table("inclusion_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_inclusion_changes_resident_id_at")
        batch_op.drop_index(batch_op.f("ix_inclusion_changes_at"))

    op.drop_table("inclusion_changes")
    op.drop_table("champion_venues")
    with op.batch_alter_table("champion_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_champion_hours_worked_on"))
        batch_op.drop_index("ix_champion_hours_champion_id_worked_on")

    op.drop_table("champion_hours")
    with op.batch_alter_table("champions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_champions_name"))

    op.drop_table("champions")
