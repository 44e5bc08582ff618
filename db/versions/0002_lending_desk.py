"""The lending desk: residents and consent, loans and their kit, wipes, the waiting list, data plans.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("postcode", sa.String(length=10), nullable=False),
        sa.Column("ward_code", sa.String(length=9), nullable=True),
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
        sa.Column("language", sa.String(length=60), nullable=False),
        sa.Column("large_print", sa.Boolean(), nullable=False),
        sa.Column("interpreter", sa.Boolean(), nullable=False),
        sa.Column("access_needs", sa.Text(), nullable=False),
        sa.Column("referral_partner", sa.String(length=120), nullable=False),
        sa.Column(
            "referral_reason",
            sa.Enum(
                "education",
                "job_search",
                "health",
                "social_isolation",
                "other",
                name="referralreason",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "disability",
            sa.Enum("yes", "no", "prefer_not", name="answer", native_enum=False, length=24),
            nullable=True,
        ),
        sa.Column("ethnicity", sa.String(length=80), nullable=False),
        sa.Column(
            "on_benefits",
            sa.Enum("yes", "no", "prefer_not", name="answer", native_enum=False, length=24),
            nullable=True,
        ),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ward_code"], ["wards.code"], name=op.f("fk_residents_ward_code_wards")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
        sa.UniqueConstraint("reference", name=op.f("uq_residents_reference")),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_residents_postcode"), ["postcode"], unique=False)
        batch_op.create_index(batch_op.f("ix_residents_ward_code"), ["ward_code"], unique=False)

    op.create_table(
        "resident_consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "lending",
                "contact",
                "support",
                "follow_up",
                name="consentpurpose",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_resident_consents_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_consents")),
        sa.UniqueConstraint("resident_id", "purpose", name=op.f("uq_resident_consents_resident_id")),
    )
    with op.batch_alter_table("resident_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resident_consents_resident_id"), ["resident_id"], unique=False)

    op.create_table(
        "data_plans",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("network", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("allowance", sa.String(length=60), nullable=False),
        sa.Column("activated_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_data_plans_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_data_plans")),
    )
    with op.batch_alter_table("data_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_plans_expires_on"), ["expires_on"], unique=False)

    op.create_table(
        "loans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum("returned", "lost", "stolen", name="loanoutcome", native_enum=False, length=24),
            nullable=True,
        ),
        sa.Column("issued_by", sa.String(length=120), nullable=False),
        sa.Column("closed_by", sa.String(length=120), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("late_reason", sa.Text(), nullable=False),
        sa.Column("condition_back", sa.String(length=24), nullable=False),
        sa.Column("fault", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_loans_device_id_devices")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_loans_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loans_device_id"), ["device_id"], unique=False)
        batch_op.create_index("ix_loans_issued_at", ["issued_at"], unique=False)
        batch_op.create_index(
            "ix_loans_open_due_on",
            ["due_on"],
            unique=False,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.create_index(batch_op.f("ix_loans_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index(
            "uq_loans_open_device",
            ["device_id"],
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )

    op.create_table(
        "wait_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column(
            "device_type",
            sa.Enum(
                "tablet",
                "laptop",
                "chromebook",
                "phone",
                "mifi",
                "data_sim",
                "accessory",
                name="devicetype",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "offered",
                "fulfilled",
                "withdrawn",
                name="waitstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("offered_device_id", sa.Uuid(), nullable=True),
        sa.Column("offer_expires_on", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["offered_device_id"], ["devices.id"], name=op.f("fk_wait_entries_offered_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_wait_entries_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wait_entries")),
    )
    with op.batch_alter_table("wait_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wait_entries_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index(
            "ix_wait_entries_type_status_position", ["device_type", "status", "position"], unique=False
        )

    op.create_table(
        "wipes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("wiped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wiped_by", sa.String(length=120), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "factory-reset",
                "mdm-wipe",
                "powerwash",
                "other",
                name="wipemethod",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("accounts_signed_out", sa.Boolean(), nullable=False),
        sa.Column("reset_done", sa.Boolean(), nullable=False),
        sa.Column("apps_restored", sa.Boolean(), nullable=False),
        sa.Column("charger_present", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_wipes_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wipes")),
    )
    with op.batch_alter_table("wipes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wipes_device_id"), ["device_id"], unique=False)

    op.create_table(
        "loan_kit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("went_out", sa.Boolean(), nullable=False),
        sa.Column("came_back", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_kit_loan_id_loans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_kit")),
    )
    with op.batch_alter_table("loan_kit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_kit_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "wait_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("what", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["wait_entries.id"],
            name=op.f("fk_wait_events_entry_id_wait_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wait_events")),
    )
    with op.batch_alter_table("wait_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wait_events_entry_id"), ["entry_id"], unique=False)

    counters = sa.table("tag_counters", sa.column("prefix"), sa.column("last_number"))
    op.bulk_insert(counters, [{"prefix": "R", "last_number": 0}])  # resident references: R-00001, ...


def downgrade() -> None:
    op.execute("DELETE FROM tag_counters WHERE prefix = 'R'")
    with op.batch_alter_table("wait_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wait_events_entry_id"))

    op.drop_table("wait_events")
    with op.batch_alter_table("loan_kit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_kit_loan_id"))

    op.drop_table("loan_kit")
    with op.batch_alter_table("wipes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wipes_device_id"))

    op.drop_table("wipes")
    with op.batch_alter_table("wait_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_wait_entries_type_status_position")
        batch_op.drop_index(batch_op.f("ix_wait_entries_resident_id"))

    op.drop_table("wait_entries")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_loans_open_device",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_loans_resident_id"))
        batch_op.drop_index(
            "ix_loans_open_due_on",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index("ix_loans_issued_at")
        batch_op.drop_index(batch_op.f("ix_loans_device_id"))

    op.drop_table("loans")
    with op.batch_alter_table("data_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_plans_expires_on"))

    op.drop_table("data_plans")
    with op.batch_alter_table("resident_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_consents_resident_id"))

    op.drop_table("resident_consents")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_ward_code"))
        batch_op.drop_index(batch_op.f("ix_residents_postcode"))

    op.drop_table("residents")
    op.drop_table("settings")
