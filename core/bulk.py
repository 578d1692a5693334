"""Many rows in one statement, cheaply on both databases.

SQLAlchemy's multi-row INSERT writes one placeholder per value: a 135-point booking's holds or its 136 mail
intents become a statement of hundreds of parameters that psycopg neither caches nor prepares (it keeps
statements of at most 50 parameters), so it is parsed afresh on every booking. On PostgreSQL the rows go
instead as one JSON document, expanded by ``json_populate_recordset`` into the table's own column types: the
same short statement of one parameter whatever the number of rows, prepared once per connection, and encoded
by the standard library's C encoder (psycopg quotes each element of an array parameter in Python, which cost
more than the insert for 136 mail rows). SQLite, in-process, takes the ordinary executemany.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import JSON, Dialect, Table, bindparam, text
from sqlalchemy.orm import Session

T = TypeVar("T")


def chunked(values: Iterable[T], size: int) -> Iterator[list[T]]:
    """``values`` in lists of ``size`` (the last shorter), read as they come: a file's rows stream through."""
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def insert_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, returning_ids: bool = False
) -> list[int]:
    """Insert ``rows`` (each giving the same columns; the model's defaults fill the others) into ``table``;
    with ``returning_ids`` the new rows' ids (in no particular order)."""
    returned = insert_returning(session, table, rows, ("id",) if returning_ids else ())
    return [r[0] for r in returned]


def insert_returning(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str] = (),
    *,
    skip_refused: bool = False,
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` as :func:`insert_rows` does; return the ``returning`` columns of each new row (in no
    particular order: return a column that identifies the row if you need to match them). With
    ``skip_refused``, on PostgreSQL, a row that a unique or exclusion constraint refuses is left out (``ON
    CONFLICT DO NOTHING``) instead of failing the statement: fewer rows come back, and the transaction goes on."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        shared = _defaults(table, rows[0].keys())  # the same for every row: sent once
        statement, params = pg_insert(session, table, rows, returning, skip_refused=skip_refused, shared=shared)
        result = session.execute(text(statement), params)
        return [tuple(r) for r in result] if returning else []
    return sqlite_insert(session, table, with_defaults(table, rows), returning)


# SQLite's limit on the parameters of one statement is 32,766; a multi-row VALUES stays well under it.
_SQLITE_PARAMETERS = 10_000


def sqlite_insert(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], returning: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (each with the same columns, defaults already given) in the session's transaction on
    SQLite, straight through the driver: each value is converted once by its column's own bind processor, then
    the rows go as one ``executemany`` (or, to return columns, as multi-row VALUES with RETURNING). SQLAlchemy's
    own multi-row path would compile the statement's parameters and run every type's processor through its
    execution context for each row: for a booking's 135 holds and 136 mail intents that was most of the time."""
    dialect = session.get_bind().dialect
    names = tuple(rows[0])
    converting = _sqlite_processors(table, names, dialect)
    values: list[tuple[Any, ...]] = []
    # A batch's rows mostly share their times (one created_at, one span per meeting's holds): a value that is
    # the same object as the previous row's is converted once.
    last: dict[int, tuple[Any, Any]] = {}
    for row in rows:
        row_values = [row[n] for n in names]
        for i, processor in converting:
            given = row_values[i]
            previous = last.get(i)
            if previous is not None and previous[0] is given:
                row_values[i] = previous[1]
            else:
                row_values[i] = converted = processor(given)
                last[i] = (given, converted)
        values.append(tuple(row_values))
    quote = dialect.identifier_preparer.quote
    # Table and column names come from the model's metadata, never from input; the rows are the parameters.
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES "  # noqa: S608
    one = "(" + ", ".join("?" * len(names)) + ")"
    connection = session.connection()
    if not returning:
        connection.exec_driver_sql(head + one, values)
        return []
    back = " RETURNING " + ", ".join(quote(n) for n in returning)
    out: list[tuple[Any, ...]] = []
    per_statement = max(1, _SQLITE_PARAMETERS // len(names))
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        flat = tuple(v for row_values in chunk for v in row_values)
        result = connection.exec_driver_sql(head + ", ".join([one] * len(chunk)) + back, flat)
        out.extend(tuple(r) for r in result)
    return out


@functools.lru_cache(maxsize=256)
def _sqlite_processors(table: Table, names: tuple[str, ...], dialect: Dialect) -> list[tuple[int, Any]]:
    """(position, bind processor) of each of ``names`` whose type converts its values: built once per shape
    (building them took longer than converting a 17-point booking's rows)."""
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    return [(i, p) for i, p in enumerate(processors) if p is not None]


def pg_insert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str] = (),
    *,
    skip_refused: bool = False,
    only_if: str = "",
    shared: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The PostgreSQL statement (text with the parameters ``rows`` and ``shared``) that inserts ``rows`` and,
    in each, the values ``shared`` (the defaults, see :func:`with_defaults`), for a caller that may make it
    part of a bigger statement (a CTE); ``only_if``, an SQL condition of the caller's, inserts them only when
    it holds. A column whose value is the same plain value in every row goes once, with ``shared``: 136 mail
    intents of one booking differ in their recipient and little else."""
    shared = dict(shared or {})
    if len(rows) > 1:
        first = rows[0]
        same = [n for n, v in first.items() if isinstance(v, _PLAIN) and all(r[n] == v for r in rows)]
        if same:
            shared |= {n: first[n] for n in same}
            rows = [{n: v for n, v in row.items() if n not in shared} for row in rows]
    quote = session.get_bind().dialect.identifier_preparer.quote
    table_name = quote(table.name)
    varying, fixed = list(rows[0].keys()), list(shared)
    # Table and column names come from the model's metadata, never from input; the rows are the parameters.
    columns = ", ".join(quote(n) for n in varying + fixed)
    values = ", ".join([f"r.{quote(n)}" for n in varying] + [f"s.{quote(n)}" for n in fixed])
    source = f"json_populate_recordset(NULL::{table_name}, CAST(:rows AS json)) AS r"
    if fixed:
        source += f" CROSS JOIN json_populate_recordset(NULL::{table_name}, CAST(:shared AS json)) AS s"
    back = (" RETURNING " + ", ".join(quote(n) for n in returning)) if returning else ""
    skip = " ON CONFLICT DO NOTHING" if skip_refused else ""
    where = f" WHERE {only_if}" if only_if else ""
    statement = f"INSERT INTO {table_name} ({columns}) SELECT {values} FROM {source}{where}{skip}{back}"  # noqa: S608
    params = {"rows": pg_document(session, table, rows)}
    if fixed:
        params["shared"] = pg_document(session, table, [shared])
    return statement, params


def update_rows(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str = "id",
    shared: Mapping[str, Any] | None = None,
) -> None:
    """Set, in each of ``rows`` (each giving ``key`` and the same other columns), the row of ``table`` whose
    ``key`` it names to its values and to ``shared``'s (the same for every row: a batch's ``updated_at``).
    PostgreSQL: one statement, the rows as one JSON document (as :func:`pg_insert`); SQLite: one executemany."""
    if not rows:
        return
    shared = shared or {}
    names = [n for n in rows[0] if n != key]
    quote = session.get_bind().dialect.identifier_preparer.quote
    table_name = quote(table.name)
    if session.get_bind().dialect.name == "postgresql":
        # Table and column names come from the model's metadata, never from input; the rows are the parameters.
        sets = [f"{quote(n)} = r.{quote(n)}" for n in names] + [f"{quote(n)} = s.{quote(n)}" for n in shared]
        source = f"json_populate_recordset(NULL::{table_name}, CAST(:rows AS json)) AS r"
        source += f", json_populate_recordset(NULL::{table_name}, CAST(:shared AS json)) AS s" if shared else ""
        statement = (
            f"UPDATE {table_name} SET {', '.join(sets)} FROM {source} "  # noqa: S608
            f"WHERE {table_name}.{quote(key)} = r.{quote(key)}"
        )
        params = {"rows": pg_document(session, table, rows)}
        if shared:
            params["shared"] = pg_document(session, table, [shared])
        session.execute(text(statement), params)
        return
    values = {n: bindparam(n) for n in names} | {n: bindparam(f"_shared_{n}") for n in shared}
    statement = table.update().where(table.c[key] == bindparam(f"_key_{key}")).values(values)
    extra = {f"_shared_{n}": v for n, v in shared.items()}
    session.connection().execute(statement, [{**row, f"_key_{key}": row[key], **extra} for row in rows])


_PLAIN = (str, int, float, bool, dt.datetime, dt.date, type(None))


def pg_document(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` of ``table`` as the JSON text that ``json_populate_recordset(NULL::table, …)`` reads back into
    the columns' own types (values converted as the columns' types bind them)."""
    dialect = session.get_bind().dialect
    processors = []
    for name in rows[0]:
        column_type = table.c[name].type
        # A JSON column's value goes into the document as it is; most others need no conversion.
        processor = None if isinstance(column_type, JSON) else column_type.bind_processor(dialect)
        if processor is not None:
            processors.append((name, processor))
    document: list[Any] = list(rows)
    if processors:
        document = [dict(row) for row in rows]
        for row in document:
            for name, processor in processors:
                row[name] = processor(row[name])
    return json.dumps(document, ensure_ascii=False, default=_json_value)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()  # an aware datetime keeps its offset; the column's type reads it back
    raise TypeError(f"cannot insert {value!r} ({type(value).__name__}) in bulk")


def with_defaults(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with every column the first row leaves out that has a default in the model given it (as the
    ORM would): the caller names only what it decides. A callable default is called once for all the rows
    (one ``created_at`` for a batch); a mutable value is copied for each row."""
    defaults = _defaults(table, rows[0].keys())
    return [
        {**{k: (type(v)(v) if isinstance(v, (dict, list)) else v) for k, v in defaults.items()}, **row} for row in rows
    ]


def _defaults(table: Table, given: Iterable[str]) -> dict[str, Any]:
    """The model's default of each column of ``table`` not in ``given`` that has one (callables called once)."""
    given = set(given)
    return {
        column.name: column.default.arg if column.default.is_scalar else column.default.arg(None)  # type: ignore[attr-defined]
        for column in table.columns
        if column.default is not None and not column.primary_key and column.name not in given
    }
