"""Venue sync: the server's feed of changes, venue copies' outboxes, and conflicts kept for a coordinator.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

- sync_state: one row saying whether this database is a venue copy, of which server, and how far it
  has sent and received. Recording is off: only setting up a venue copy turns it on.
- sync_outbox (venue copies): every change made on the copy, with the row before and after.
- sync_recheck (venue copies): rows sent, to read back from the server (a conflict's come back changed).
- sync_feed (server): every committed change, by server transaction id, for copies to fetch (kept
  while a copy may still need it: see services/sync.py prune_feed).
- sync_copies, sync_conflicts (server): the venue copies, and transactions from them kept aside
  because the rows they changed had changed here meanwhile.
- device_kit_items: one line per place on a device (the same line added at two venues offline is then
  a conflict, not two lines).
- Triggers on every shared table write the feed (PostgreSQL) or the outbox (SQLite, while recording).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digiknow_desk.storage.sync_triggers import create_change_triggers, drop_change_triggers

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("copy_id", sa.Uuid(), nullable=True),
        sa.Column("venue_id", sa.Uuid(), nullable=True),
        sa.Column("server", sa.Text(), nullable=False),
        sa.Column("recording", sa.Boolean(), nullable=False),
        sa.Column("txn", sa.Integer(), nullable=False),
        sa.Column("received_to", sa.BigInteger(), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reference", sa.Integer(), nullable=False),
        sa.Column("clear_file", sa.Boolean(), nullable=False),
        sa.Column("feed_from", sa.BigInteger(), nullable=False),
        sa.Column("sent_txn", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_state")),
    )
    op.execute(
        "INSERT INTO sync_state (id, server, recording, txn, received_to, last_reference, clear_file, "
        "feed_from, sent_txn) VALUES (1, '', false, 0, 0, 0, false, 0, 0)"
    )
    op.create_table(
        "sync_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("txn", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("op", sa.String(length=6), nullable=False),
        sa.Column("old_row", sa.Text(), nullable=True),
        sa.Column("new_row", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sync_outbox")),
    )
    op.create_index(op.f("ix_sync_outbox_txn"), "sync_outbox", ["txn"], unique=False)
    op.create_table(
        "sync_recheck",
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "row_key", name=op.f("pk_sync_recheck")),
    )
    op.create_table(
        "sync_feed",
        sa.Column("seq", _SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("op", sa.String(length=6), nullable=False),
        sa.Column("origin", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sync_feed")),
    )
    op.create_index(op.f("ix_sync_feed_xid"), "sync_feed", ["xid"], unique=False)
    op.create_table(
        "sync_copies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=False),
        sa.Column("computer", sa.String(length=120), nullable=False),
        sa.Column("set_up_by", sa.String(length=120), nullable=False),
        sa.Column("set_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_txn", sa.Integer(), nullable=False),
        sa.Column("received_to", sa.BigInteger(), nullable=False),
        sa.Column("received_check", sa.String(length=64), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["venue_id"], ["venues.id"], name=op.f("fk_sync_copies_venue_id_venues")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_copies")),
    )
    op.create_table(
        "sync_conflicts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("copy_id", sa.Uuid(), nullable=False),
        sa.Column("txn", sa.Integer(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("venue_changes", sa.Text(), nullable=False),
        sa.Column("server_rows", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=False),
        sa.Column("resolution", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["copy_id"], ["sync_copies.id"], name=op.f("fk_sync_conflicts_copy_id_sync_copies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_conflicts")),
        sa.UniqueConstraint("copy_id", "txn", name=op.f("uq_sync_conflicts_copy_id")),
    )
    op.create_index(op.f("ix_sync_conflicts_resolved_at"), "sync_conflicts", ["resolved_at"], unique=False)
    # One kit line per place on a device: the same line added at two venues is a conflict, not two lines.
    op.create_index(
        "uq_device_kit_items_device_id_position", "device_kit_items", ["device_id", "position"], unique=True
    )
    create_change_triggers(op.get_bind())


def downgrade() -> None:
    drop_change_triggers(op.get_bind())
    op.drop_index("uq_device_kit_items_device_id_position", table_name="device_kit_items")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION sync_feed_record()")
    op.drop_table("sync_conflicts")
    op.drop_table("sync_copies")
    op.drop_table("sync_feed")
    op.drop_table("sync_recheck")
    op.drop_table("sync_outbox")
    op.drop_table("sync_state")
