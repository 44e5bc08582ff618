"""What the monthly report needs: dated renewals, two priority-group questions, and indexes that let a
month's or a year's figures be read without scanning ten years.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

- loan_renewals: one row each time a loan is renewed. Renewals made before this version were counted on
  the loan (loans.renewals, kept) but not dated, so they appear in no month's report.
- residents.not_in_work_or_education and residents.care_leaver: optional and sensitive, like disability
  and benefits (NULL means not asked).
- loans: indexed by closing time, and by device and issue time (how long devices sit idle).
- inclusion_changes: the index by time covers the change, so a period's changes are read from it alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ANSWER = sa.Enum("yes", "no", "prefer_not", name="answer", native_enum=False, length=24)


def upgrade() -> None:
    op.create_table(
        "loan_renewals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("loan_id", sa.Uuid(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_before", sa.Date(), nullable=False),
        sa.Column("due_after", sa.Date(), nullable=False),
        sa.Column("renewed_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_renewals_loan_id_loans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_renewals")),
    )
    with op.batch_alter_table("loan_renewals", schema=None) as batch_op:
        batch_op.create_index("ix_loan_renewals_loan_id", ["loan_id"], unique=False)
        batch_op.create_index("ix_loan_renewals_renewed_at", ["renewed_at"], unique=False)

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_in_work_or_education", _ANSWER, nullable=True))
        batch_op.add_column(sa.Column("care_leaver", _ANSWER, nullable=True))

    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_device_id")
        batch_op.create_index(
            "ix_loans_device_id_issued_at", ["device_id", "issued_at", "closed_at"], unique=False
        )
        batch_op.create_index("ix_loans_closed_at", ["closed_at"], unique=False)

    with op.batch_alter_table("inclusion_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_inclusion_changes_at")
        batch_op.create_index(
            "ix_inclusion_changes_at", ["at", "resident_id", "from_status", "to_status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inclusion_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_inclusion_changes_at")
        batch_op.create_index("ix_inclusion_changes_at", ["at"], unique=False)

    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_closed_at")
        batch_op.drop_index("ix_loans_device_id_issued_at")
        batch_op.create_index("ix_loans_device_id", ["device_id"], unique=False)

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("care_leaver")
        batch_op.drop_column("not_in_work_or_education")

    with op.batch_alter_table("loan_renewals", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_renewals_renewed_at")
        batch_op.drop_index("ix_loan_renewals_loan_id")
    op.drop_table("loan_renewals")
