"""Many usage rows in one statement, for SQLite and PostgreSQL alike: what :func:`audit.ingest.store_tally` writes
with (the driver's executemany with plain tuples on SQLite, COPY into a scratch table and one upsert on
PostgreSQL: SQLAlchemy's per-row parameter processing costs more than the database's insert)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from audit.models import LastSeen, UsageDay, UsageMonth, UsageMonthWriter
from audit.tally import COUNTERS
from audit.usage_months import month_rows


def upsert(
    session: Session,
    table: Table,
    keys: list[str],
    names: list[str],
    rows: list[tuple[object, ...]],
    add: Iterable[str],
    bits: Iterable[str] = (),
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c (b = b | excluded.b for ``bits``), for SQLite
    and PostgreSQL alike.

    ``rows`` are tuples in the order of ``names``; identifiers come from our own code and are checked here.
    """
    if not rows:
        return
    columns = list(add)
    ored = list(bits)
    if not set(names) | set(keys) | set(columns) | set(ored) <= set(table.c.keys()):
        raise ValueError(f"unknown columns for {table.name}: {sorted(set(names) - set(table.c.keys()))}")
    updates = ", ".join(
        [f"{c} = {table.name}.{c} + excluded.{c}" for c in columns]
        + [f"{c} = {table.name}.{c} | excluded.{c}" for c in ored]
    )
    if session.get_bind().dialect.name == "postgresql":
        _copy_upsert(session, table, keys, names, rows, updates)
        return
    # The driver's executemany with one SQL text and plain tuples: SQLAlchemy's parameter processing costs
    # more than SQLite's insert. The day (or month) goes as SQLAlchemy stores dates in SQLite (ISO text).
    day = names.index("day" if "day" in names else "month")
    texts = {when: when.isoformat() for when in {row[day] for row in rows}}  # type: ignore[attr-defined]
    if day == 1:
        values = [(row[0], texts[row[1]], *row[2:]) for row in rows]
    else:
        values = [(*row[:day], texts[row[day]], *row[day + 1 :]) for row in rows]
    statement = (
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "  # noqa: S608 - identifiers checked
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )
    _executemany(session, statement, values)


def _executemany(session: Session, statement: str, values: list[tuple[object, ...]]) -> None:
    """SQLite: the driver's executemany of ``statement`` in the session's transaction."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement, values)
    finally:
        cursor.close()


def _copy_upsert(
    session: Session, table: Table, keys: list[str], names: list[str], rows: list[tuple[object, ...]], updates: str
) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT … SELECT … ON CONFLICT: several times
    faster than a parameter set per row. Runs in the session's transaction, like everything else."""
    scratch = f"scratch_{table.name}"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {scratch} (LIKE {table.name} INCLUDING DEFAULTS)")
        cursor.execute(f"DELETE FROM {scratch}")  # noqa: S608 - identifiers checked by the caller
        with cursor.copy(f"COPY {scratch} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        statement = (
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(names)} FROM {scratch} "  # noqa: S608 - identifiers checked by the caller
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )
        cursor.execute(statement)
    finally:
        cursor.close()


def upsert_last_seen(session: Session, rows: list[tuple[int, str, dt.datetime]]) -> None:
    """Last-seen per (staff, channel), moved only forward: the driver's executemany (SQLite) or COPY
    (PostgreSQL), the times converted by the column's own type, as SQLAlchemy would bind them."""
    if not rows:
        return
    table: Table = LastSeen.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        _copy_upsert(
            session,
            table,
            ["staff_id", "channel"],
            ["staff_id", "channel", "at"],
            rows,  # type: ignore[arg-type]
            f"at = excluded.at WHERE excluded.at > {table.name}.at",
        )
        return
    # The dialect's own processor (the type decorator's alone would hand sqlite3 an aware datetime, which its
    # default adapter writes as "…+00:00": text that compares wrongly against the times the ORM writes).
    bind = table.c.at.type.dialect_impl(dialect).bind_processor(dialect)
    values = rows if bind is None else [(staff_id, channel, bind(at)) for staff_id, channel, at in rows]
    statement = (
        f"INSERT INTO {table.name} (staff_id, channel, at) VALUES (?, ?, ?) "  # noqa: S608 - our identifiers
        f"ON CONFLICT (staff_id, channel) DO UPDATE SET at = excluded.at WHERE excluded.at > {table.name}.at"
    )
    _executemany(session, statement, values)  # type: ignore[arg-type]


def upsert_days(session: Session, known: dict[tuple[int, dt.date], list[int]]) -> None:
    """The counters per mailbox and day, and their months (audit.models.UsageMonth): on PostgreSQL the statement
    triggers sum the days into the months; on SQLite, where triggers run once per row, the tally's months are
    upserted here in one statement while a UsageMonthWriter row tells the triggers to stand aside."""
    days_table: Table = UsageDay.__table__  # type: ignore[assignment]
    months_table: Table = UsageMonth.__table__  # type: ignore[assignment]
    days = [(staff_id, day, *counts) for (staff_id, day), counts in known.items()]
    sqlite = bool(days) and session.get_bind().dialect.name != "postgresql"
    if sqlite:
        session.execute(insert(UsageMonthWriter))
    upsert(session, days_table, ["staff_id", "day"], ["staff_id", "day", *COUNTERS], days, COUNTERS)
    if sqlite:
        names = ["staff_id", "month", *COUNTERS, "active_days"]
        upsert(session, months_table, ["staff_id", "month"], names, month_rows(known), COUNTERS, ("active_days",))
        session.execute(delete(UsageMonthWriter))
