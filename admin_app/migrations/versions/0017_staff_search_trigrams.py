"""staff search by trigrams on PostgreSQL: the staff list's "contains" search answers from an index

The staff list finds people whose name, address or staff number contains the words typed (``LIKE '%…%'``). No
B-tree serves that: on PostgreSQL every search read all of ``staff`` (300,000 rows in a merged city: 5.7 s at 20
clients, bench/city_bench.py). A GIN index of trigrams (``pg_trgm``, shipped with PostgreSQL and a trusted
extension: the database's owner may create it) answers the same ``LIKE`` from the index. SQLite has no such
index; its search stays a scan, which is quick at a province's size.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_staff_search_trgm",
        "staff",
        ["full_name", "email", "staff_number"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"full_name": "gin_trgm_ops", "email": "gin_trgm_ops", "staff_number": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_staff_search_trgm", table_name="staff")
