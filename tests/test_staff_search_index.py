"""The staff list's search on PostgreSQL is answered from the trigram index (migrations 0017, 0018), not by reading
every mailbox: the query the console sends, with its pattern built from the search typed, uses the index."""

import pytest
from sqlalchemy import func, select, text

from core.actors import SYSTEM
from provisioning.queries import visible_staff


def _plan(db, stmt) -> str:
    compiled = stmt.compile(db.get_bind())
    rows = db.connection().exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).scalars()
    return "\n".join(rows)


def test_the_staff_search_uses_the_trigram_index(db) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's; SQLite's search reads the table")
    # A test database is small enough to read whole; a city's is not (bench/city_bench.py): rule the scans out.
    db.execute(text("SET LOCAL enable_seqscan = off"))
    db.execute(text("SET LOCAL enable_indexscan = off"))
    for term in ("Nguyễn Văn", "trần", "c00012", "@gialai", "<Bình>"):
        stmt = visible_staff(SYSTEM, term)
        assert "ix_staff_search_trgm" in _plan(db, stmt.limit(50)), term
        assert "ix_staff_search_trgm" in _plan(db, select(func.count()).select_from(stmt.order_by(None).subquery()))
    db.rollback()
