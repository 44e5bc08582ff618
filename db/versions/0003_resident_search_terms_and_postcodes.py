"""Resident search by indexed words instead of a substring scan; the postcode-to-ward table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

The search words of residents already registered are made here from their records, with the app's
own `resident_terms`; a later change to what a resident can be found by needs a migration like this
one to make them again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digiknow_desk.domain.search_terms import resident_terms

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TERM = sa.String(length=60).with_variant(sa.String(length=60, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "resident_search_terms",
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("term", _TERM, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("reference", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_resident_search_terms_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", "term", name=op.f("pk_resident_search_terms")),
    )
    op.create_index(
        "ix_resident_search_terms_term_name",
        "resident_search_terms",
        ["term", "name", "reference", "resident_id"],
        unique=False,
    )
    op.create_table(
        "postcode_wards",
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("ward_code", sa.String(length=9), nullable=False),
        sa.ForeignKeyConstraint(
            ["ward_code"], ["wards.code"], name=op.f("fk_postcode_wards_ward_code_wards")
        ),
        sa.PrimaryKeyConstraint("postcode", name=op.f("pk_postcode_wards")),
    )
    _make_search_terms()
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("search_text")
        batch_op.create_index("ix_residents_name_reference", ["name", "reference", "id"], unique=False)


def _make_search_terms() -> None:
    bind = op.get_bind()
    residents = sa.table(
        "residents",
        sa.column("id", sa.Uuid()),
        sa.column("reference", sa.String()),
        sa.column("name", sa.String()),
        sa.column("phone", sa.String()),
        sa.column("postcode", sa.String()),
        sa.column("email", sa.String()),
    )
    terms = sa.table(
        "resident_search_terms",
        sa.column("resident_id", sa.Uuid()),
        sa.column("term", _TERM),
        sa.column("name", sa.String()),
        sa.column("reference", sa.String()),
    )
    batch: list[dict[str, object]] = []
    for row in bind.execute(sa.select(residents)).all():
        batch.extend(
            {"resident_id": row.id, "term": term, "name": row.name, "reference": row.reference}
            for term in resident_terms(row.reference, row.name, row.phone, row.postcode, row.email)
        )
        if len(batch) >= 10_000:
            bind.execute(terms.insert(), batch)
            batch = []
    if batch:
        bind.execute(terms.insert(), batch)


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_name_reference")
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    # The old substring search looks in one text per resident: their words, joined.
    bind = op.get_bind()
    words: dict[object, list[str]] = {}
    for term, resident_id in bind.execute(sa.text("SELECT term, resident_id FROM resident_search_terms")):
        words.setdefault(resident_id, []).append(term)
    if words:
        bind.execute(
            sa.text("UPDATE residents SET search_text = :text WHERE id = :id"),
            [{"text": " ".join(sorted(terms)), "id": resident_id} for resident_id, terms in words.items()],
        )
    op.drop_table("postcode_wards")
    op.drop_index("ix_resident_search_terms_term_name", table_name="resident_search_terms")
    op.drop_table("resident_search_terms")
