"""Many rows in one statement, cheaply on both databases.

SQLAlchemy's multi-row INSERT writes one placeholder per value: a 135-point booking's holds or its 136 mail
intents become a statement of hundreds of parameters that psycopg neither caches nor prepares (it keeps
statements of at most 50 parameters), so it is parsed afresh on every booking. On PostgreSQL the rows go
instead as one array per column through ``unnest``: the same short statement whatever the number of rows,
prepared once per connection. SQLite, in-process, takes the ordinary executemany.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Table, insert, text
from sqlalchemy.orm import Session


def insert_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, returning_ids: bool = False
) -> list[int]:
    """Insert ``rows`` (each giving the same columns; the model's defaults fill the others) into ``table``;
    with ``returning_ids`` the new rows' ids (in no particular order)."""
    returned = insert_returning(session, table, rows, ("id",) if returning_ids else ())
    return [r[0] for r in returned]


def insert_returning(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], returning: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` as :func:`insert_rows` does; return the ``returning`` columns of each new row (in no
    particular order: return a column that identifies the row if you need to match them)."""
    if not rows:
        return []
    rows = with_defaults(table, rows)
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        if returning:
            statement = insert(table).returning(*(table.c[n] for n in returning))
            return [tuple(r) for r in session.execute(statement, list(rows))]
        session.execute(insert(table), list(rows))
        return []
    names = list(rows[0].keys())
    quote = bind.dialect.identifier_preparer.quote
    arrays: dict[str, list[Any]] = {}
    casts: list[str] = []
    for i, name in enumerate(names):
        column = table.c[name]
        is_json = isinstance(column.type, JSON)
        values = [row[name] for row in rows]
        if is_json:
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        else:
            processor = column.type.bind_processor(bind.dialect)
            if processor is not None:
                values = [processor(v) for v in values]
        arrays[f"c{i}"] = values
        sql_type = "json" if is_json else column.type.compile(dialect=bind.dialect)
        casts.append(f"CAST(:c{i} AS {sql_type}[])")
    # Table, column and type names come from the model's metadata, never from input; values are parameters.
    columns = ", ".join(quote(n) for n in names)
    back = (" RETURNING " + ", ".join(quote(n) for n in returning)) if returning else ""
    statement = f"INSERT INTO {quote(table.name)} ({columns}) SELECT * FROM unnest({', '.join(casts)}){back}"  # noqa: S608
    result = session.execute(text(statement), arrays)
    return [tuple(r) for r in result] if returning else []


def with_defaults(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with every column the first row leaves out that has a default in the model given it (as the
    ORM would): the caller names only what it decides. A callable default is called once for all the rows
    (one ``created_at`` for a batch); a mutable value is copied for each row."""
    given = rows[0].keys()
    defaults = {
        column.name: column.default.arg if column.default.is_scalar else column.default.arg(None)  # type: ignore[attr-defined]
        for column in table.columns
        if column.default is not None and not column.primary_key and column.name not in given
    }
    return [
        {**{k: (type(v)(v) if isinstance(v, (dict, list)) else v) for k, v in defaults.items()}, **row} for row in rows
    ]
