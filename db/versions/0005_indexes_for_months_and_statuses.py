"""Indexes for a champion's or a venue's month of sessions and for working out every status at once;
follow-ups that can be marked done.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

- session_champions keeps its session's day and start, indexed by champion, so one champion's month is
  read without their other years (filled in here from sessions).
- sessions: a venue's index carries the day and start, for the same reason.
- loans and skills_checks: indexes that cover what the inclusion rule reads of each resident, and on
  skills_checks the Foundation level and the number of other areas done alone (filled in here from
  skills_check_levels), so working out 50,000 statuses reads no table rows.
- sessions.follow_up_done_on: the day a follow-up was done (empty while it is still to do).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SKILL_LEVEL = sa.Enum("alone", "with_help", "not_yet", name="skilllevel", native_enum=False, length=24)


def upgrade() -> None:
    with op.batch_alter_table("session_champions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("starts_at", sa.Time(), nullable=True))
    op.execute(
        "UPDATE session_champions SET "
        "held_on = (SELECT held_on FROM sessions WHERE sessions.id = session_champions.session_id), "
        "starts_at = (SELECT starts_at FROM sessions WHERE sessions.id = session_champions.session_id)"
    )
    with op.batch_alter_table("session_champions", schema=None) as batch_op:
        batch_op.alter_column("held_on", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("starts_at", existing_type=sa.Time(), nullable=False)
        batch_op.drop_index("ix_session_champions_champion_id")
        batch_op.create_index(
            "ix_session_champions_champion_id_held_on",
            ["champion_id", "held_on", "starts_at", "session_id"],
            unique=False,
        )

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_done_on", sa.Date(), nullable=True))
        batch_op.drop_index("ix_sessions_venue_id")
        batch_op.create_index(
            "ix_sessions_venue_id_held_on", ["venue_id", "held_on", "starts_at"], unique=False
        )

    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_resident_id")
        batch_op.create_index(
            "ix_loans_resident_id_closed_at",
            ["resident_id", "closed_at", "own_device_after", "own_connection_after"],
            unique=False,
        )

    with op.batch_alter_table("skills_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("foundation", _SKILL_LEVEL, nullable=True))
        batch_op.add_column(sa.Column("areas_alone", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE skills_checks SET "
        "foundation = (SELECT level FROM skills_check_levels "
        "WHERE check_id = skills_checks.id AND area = 'foundation'), "
        "areas_alone = (SELECT count(*) FROM skills_check_levels "
        "WHERE check_id = skills_checks.id AND area <> 'foundation' AND level = 'alone')"
    )
    with op.batch_alter_table("skills_checks", schema=None) as batch_op:
        batch_op.alter_column("foundation", existing_type=_SKILL_LEVEL, nullable=False)
        batch_op.alter_column("areas_alone", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index("ix_skills_checks_resident_id_checked_on")
        batch_op.create_index(
            "ix_skills_checks_resident_id_checked_on",
            [
                "resident_id",
                "checked_on",
                "recorded_at",
                "id",
                "own_device",
                "own_connection",
                "foundation",
                "areas_alone",
            ],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("skills_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_skills_checks_resident_id_checked_on")
        batch_op.create_index(
            "ix_skills_checks_resident_id_checked_on", ["resident_id", "checked_on"], unique=False
        )
        batch_op.drop_column("areas_alone")
        batch_op.drop_column("foundation")

    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_resident_id_closed_at")
        batch_op.create_index("ix_loans_resident_id", ["resident_id"], unique=False)

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_venue_id_held_on")
        batch_op.create_index("ix_sessions_venue_id", ["venue_id"], unique=False)
        batch_op.drop_column("follow_up_done_on")

    with op.batch_alter_table("session_champions", schema=None) as batch_op:
        batch_op.drop_index("ix_session_champions_champion_id_held_on")
        batch_op.create_index("ix_session_champions_champion_id", ["champion_id", "session_id"], unique=False)
        batch_op.drop_column("starts_at")
        batch_op.drop_column("held_on")
