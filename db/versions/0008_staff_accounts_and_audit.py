"""Staff sign-in accounts, the append-only audit trail, and when a resident's personal data was removed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

- staff_accounts: user name, name on records, role, Argon2id password hash, lock-out counters.
- audit_entries: who, when, from which machine, what changed. Triggers make it append-only: no entry
  can be deleted, and the only change allowed is blanking its details and subject (redacted = true) when
  the resident it names is erased or anonymised.
- residents.anonymised_at: set when retention or an erasure removes a resident's personal data.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ROLE = sa.Enum("champion", "desk", "coordinator", "administrator", name="role", native_enum=False, length=24)

# An update may only blank the details and subject and mark the entry redacted.
_NOT_A_REDACTION = """
    NEW.id IS DISTINCT FROM OLD.id OR NEW.at IS DISTINCT FROM OLD.at
    OR NEW.username IS DISTINCT FROM OLD.username OR NEW.staff_name IS DISTINCT FROM OLD.staff_name
    OR NEW.machine IS DISTINCT FROM OLD.machine OR NEW.action IS DISTINCT FROM OLD.action
    OR NEW.resident_id IS DISTINCT FROM OLD.resident_id
    OR NOT NEW.redacted OR NEW.details <> '' OR NEW.subject <> ''
"""
NO_DELETE = "The audit trail is append-only: its entries cannot be deleted."
ONLY_REDACT = "The audit trail is append-only: only the details of an entry may be removed."


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("role", _ROLE, nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("champion_id", sa.Uuid(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_signed_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["champion_id"], ["champions.id"], name=op.f("fk_staff_accounts_champion_id_champions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_accounts_username")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("staff_name", sa.String(length=120), nullable=False),
        sa.Column("machine", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("redacted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entries_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_entries_resident_id", ["resident_id"], unique=False)
        batch_op.create_index("ix_audit_entries_username_at", ["username", "at"], unique=False)
        batch_op.create_index("ix_audit_entries_action", ["action"], unique=False)
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))

    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION '{NO_DELETE}';
                END IF;
                IF {_NOT_A_REDACTION} THEN
                    RAISE EXCEPTION '{ONLY_REDACT}';
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
            f"BEGIN SELECT RAISE(ABORT, '{NO_DELETE}'); END"
        )
        op.execute(
            f"CREATE TRIGGER audit_entries_only_redact BEFORE UPDATE ON audit_entries "
            f"WHEN {_NOT_A_REDACTION.replace('IS DISTINCT FROM', 'IS NOT')} "
            f"BEGIN SELECT RAISE(ABORT, '{ONLY_REDACT}'); END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION audit_entries_append_only()")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("anonymised_at")
    op.drop_table("audit_entries")
    op.drop_table("staff_accounts")
