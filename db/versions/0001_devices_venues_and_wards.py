"""Devices, venues and wards; seeds the 21 Stockport wards from db/reference/stockport_wards.csv.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from alembic import op

WARDS_CSV = Path(__file__).resolve().parent.parent / "reference" / "stockport_wards.csv"

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wards",
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_wards")),
        sa.UniqueConstraint("name", name=op.f("uq_wards_name")),
    )
    op.create_table(
        "venues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("ward_code", sa.String(length=9), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ward_code"], ["wards.code"], name=op.f("fk_venues_ward_code_wards")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venues")),
        sa.UniqueConstraint("name", name=op.f("uq_venues_name")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
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
        sa.Column("make", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("serial", sa.String(length=200), nullable=True),
        sa.Column("os", sa.String(length=200), nullable=False),
        sa.Column(
            "condition",
            sa.Enum("new", "good", "fair", "poor", "faulty", name="condition", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "available",
                "on_loan",
                "awaiting_wipe",
                "in_repair",
                "quarantined",
                "retired",
                name="devicestatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("home_venue_id", sa.Uuid(), nullable=True),
        sa.Column("current_venue_id", sa.Uuid(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "bought",
                "donated",
                "national_device_bank",
                "national_databank",
                "grant",
                "other",
                name="acquisitionsource",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("acquired_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["current_venue_id"], ["venues.id"], name=op.f("fk_devices_current_venue_id_venues")
        ),
        sa.ForeignKeyConstraint(
            ["home_venue_id"], ["venues.id"], name=op.f("fk_devices_home_venue_id_venues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("serial", name=op.f("uq_devices_serial")),
        sa.UniqueConstraint("tag", name=op.f("uq_devices_tag")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_current_venue_id"), ["current_venue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_device_type"), ["device_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_home_venue_id"), ["home_venue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_status"), ["status"], unique=False)

    op.create_table(
        "device_kit_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_kit_items_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_kit_items")),
    )
    with op.batch_alter_table("device_kit_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_kit_items_device_id"), ["device_id"], unique=False)

    op.create_table(
        "device_status_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "available",
                "on_loan",
                "awaiting_wipe",
                "in_repair",
                "quarantined",
                "retired",
                name="devicestatus",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "available",
                "on_loan",
                "awaiting_wipe",
                "in_repair",
                "quarantined",
                "retired",
                name="devicestatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("changed_by", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_status_events_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_status_events")),
    )
    with op.batch_alter_table("device_status_events", schema=None) as batch_op:
        batch_op.create_index("ix_device_status_events_device_id_at", ["device_id", "at"], unique=False)

    tag_counters = op.create_table(
        "tag_counters",
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_tag_counters")),
    )
    op.bulk_insert(tag_counters, [{"prefix": "DK", "last_number": 0}])  # blank labels: DK-00001, ...

    with WARDS_CSV.open(encoding="utf-8", newline="") as wards_file:
        wards = [
            {"code": row["ward_code"], "name": row["ward_name"], "population": int(row["population"])}
            for row in csv.DictReader(wards_file)
        ]
    op.bulk_insert(sa.table("wards", sa.column("code"), sa.column("name"), sa.column("population")), wards)


def downgrade() -> None:
    with op.batch_alter_table("device_status_events", schema=None) as batch_op:
        batch_op.drop_index("ix_device_status_events_device_id_at")

    op.drop_table("tag_counters")
    op.drop_table("device_status_events")
    with op.batch_alter_table("device_kit_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_kit_items_device_id"))

    op.drop_table("device_kit_items")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_status"))
        batch_op.drop_index(batch_op.f("ix_devices_home_venue_id"))
        batch_op.drop_index(batch_op.f("ix_devices_device_type"))
        batch_op.drop_index(batch_op.f("ix_devices_current_venue_id"))

    op.drop_table("devices")
    op.drop_table("venues")
    op.drop_table("wards")
