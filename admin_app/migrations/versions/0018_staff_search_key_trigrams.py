"""the staff list searches the folded search key: its trigram index covers that key too

The staff list now finds people as the people search does (``provisioning.queries.staff_matching``): each word
typed at the start of a word of the folded ``search_key``, case and diacritics ignored. On PostgreSQL, ``LIKE``
on the name as typed was case-sensitive ("trần" found no "Trần") and the index of migration 0017 did not cover
the key, so the new search would read every mailbox. The same GIN index of trigrams now holds the key beside
the name, address and staff number it already held. SQLite has no such index; its search stays a scan.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

OLD = ["full_name", "email", "staff_number"]
NEW = ["search_key", *OLD]


def _create(columns: list[str]) -> None:
    op.create_index(
        "ix_staff_search_trgm",
        "staff",
        columns,
        unique=False,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops" for column in columns},
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_staff_search_trgm", table_name="staff")
    _create(NEW)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_staff_search_trgm", table_name="staff")
    _create(OLD)
