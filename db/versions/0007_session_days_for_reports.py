"""Each session's day kept on its attendees and topics, and its length on its champions, so a month's
report reads them from index ranges instead of looking up tens of thousands of sessions one by one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

Sessions are logged once and never moved to another day (a wrong one is deleted and logged again), so
the copies cannot drift. Filled in here from sessions. Also: skills checks indexed by day, residents by
ward and status and by when they were registered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_FROM_SESSION = "(SELECT {column} FROM sessions WHERE sessions.id = {table}.session_id)"


def _copy_from_sessions(table: str, column: str, kind: sa.types.TypeEngine[object]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column(column, kind, nullable=True))
    op.execute(f"UPDATE {table} SET {column} = {_FROM_SESSION.format(column=column, table=table)}")
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(column, existing_type=kind, nullable=False)


def upgrade() -> None:
    _copy_from_sessions("session_champions", "minutes", sa.Integer())
    _copy_from_sessions("session_attendees", "held_on", sa.Date())
    _copy_from_sessions("session_topics", "held_on", sa.Date())
    with op.batch_alter_table("session_champions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_champions_held_on", ["held_on", "champion_id", "minutes"], unique=False
        )
    with op.batch_alter_table("session_attendees", schema=None) as batch_op:
        batch_op.create_index("ix_session_attendees_held_on", ["held_on", "resident_id"], unique=False)
    with op.batch_alter_table("session_topics", schema=None) as batch_op:
        batch_op.create_index("ix_session_topics_held_on", ["held_on", "topic", "session_id"], unique=False)
    with op.batch_alter_table("skills_checks", schema=None) as batch_op:
        batch_op.create_index("ix_skills_checks_checked_on", ["checked_on", "resident_id"], unique=False)
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_ward_code")
        batch_op.create_index(
            "ix_residents_ward_code_status", ["ward_code", "inclusion_status"], unique=False
        )
        batch_op.create_index("ix_residents_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_created_at")
        batch_op.drop_index("ix_residents_ward_code_status")
        batch_op.create_index("ix_residents_ward_code", ["ward_code"], unique=False)
    with op.batch_alter_table("skills_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_skills_checks_checked_on")
    with op.batch_alter_table("session_topics", schema=None) as batch_op:
        batch_op.drop_index("ix_session_topics_held_on")
        batch_op.drop_column("held_on")
    with op.batch_alter_table("session_attendees", schema=None) as batch_op:
        batch_op.drop_index("ix_session_attendees_held_on")
        batch_op.drop_column("held_on")
    with op.batch_alter_table("session_champions", schema=None) as batch_op:
        batch_op.drop_index("ix_session_champions_held_on")
        batch_op.drop_column("minutes")
