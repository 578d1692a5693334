"""Ingesting log files into the usage tables: counters per mailbox per day, exactly once.

A file is known by the hash of its first line, which it keeps when logrotate renames it (``mail.log`` →
``mail.log.1``) or compresses it (``mail.log.2.gz``). Its offset advances in the same transaction as the
counters from the lines before it, so ingesting a file twice, a rotated file plus its successor, or a file
that grew since, counts every line once. A crash mid-file loses nothing: the next run resumes at the last
committed offset.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from audit.logfiles import LogFileError, file_identity, file_reference_time, read_blocks
from audit.models import LastSeen, LogSource, UnknownAddressDay, UsageDay
from audit.parsing import LogParser
from audit.tally import COUNTERS, DailyTally
from core.db import unit_of_work, utcnow
from provisioning.models import MailAlias, Staff

log = logging.getLogger(__name__)
CHUNK_LINES = 2_000_000


@dataclass
class IngestResult:
    path: str
    lines: int = 0
    events: int = 0
    ignored: int = 0
    malformed: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)
    skipped: bool = False  # already read to the end, or empty
    resumed_at: int = 0

    def summary(self) -> str:
        if self.skipped:
            return f"{self.path}: nothing new"
        return (
            f"{self.path}: {self.lines:,} lines from byte {self.resumed_at:,}, {self.events:,} events, "
            f"{self.ignored:,} ignored, {self.malformed:,} malformed"
        )


def address_book(session: Session) -> dict[str, int]:
    """Every address the directory knows (primary and aliases, archived too) → staff id."""
    book = {email: sid for sid, email in session.execute(select(Staff.id, Staff.email))}
    for sid, address in session.execute(select(MailAlias.staff_id, MailAlias.address)):
        book.setdefault(address, sid)
    return book


def _upsert(session: Session, table: Table, keys: list[str], rows: list[dict[str, object]], add: Iterable[str]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c, for SQLite and PostgreSQL alike."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    columns = list(add)
    if dialect == "postgresql":
        _copy_upsert(session, table, keys, rows, columns)
        return
    stmt = sqlite.insert(table)
    # One statement, many parameter sets (executemany): compiled once, not once per row.
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in columns})
    for start in range(0, len(rows), 10000):
        session.execute(stmt, rows[start : start + 10000])


def _copy_upsert(
    session: Session, table: Table, keys: list[str], rows: list[dict[str, object]], add: list[str]
) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT … SELECT … ON CONFLICT: several times
    faster than a parameter set per row. Runs in the session's transaction, like everything else."""
    names = list(rows[0])
    # Identifiers only from our own table definition (never from log content), checked here.
    if not set(names) | set(keys) | set(add) <= set(table.c.keys()):
        raise ValueError(f"unknown columns for {table.name}: {sorted(set(names) - set(table.c.keys()))}")
    scratch = f"scratch_{table.name}"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {scratch} (LIKE {table.name} INCLUDING DEFAULTS)")
        cursor.execute(f"DELETE FROM {scratch}")  # noqa: S608 - identifiers checked above
        with cursor.copy(f"COPY {scratch} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[n] for n in names])
        updates = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in add)
        statement = (
            f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(names)} FROM {scratch} "  # noqa: S608 - identifiers checked above
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )
        cursor.execute(statement)
    finally:
        cursor.close()


def _upsert_last_seen(session: Session, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    table = LastSeen.__table__
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["staff_id", "channel"], set_={"at": stmt.excluded.at}, where=stmt.excluded.at > table.c.at
    )
    for start in range(0, len(rows), 10000):
        session.execute(stmt, rows[start : start + 10000])


def store_tally(session: Session, tally: DailyTally, book: dict[str, int]) -> None:
    """Add a tally's counters to the tables: known addresses per staff, the rest per address."""
    known: list[dict[str, object]] = []
    unknown: list[dict[str, object]] = []
    login_fields = ("imap_logins", "pop3_logins", "webmail_logins", "smtp_logins")
    login_idx = [COUNTERS.index(f) for f in login_fields]
    failed_idx = COUNTERS.index("failed_logins")
    for (address, day), counts in tally.days.items():
        staff_id = book.get(address)
        if staff_id is None:
            unknown.append(
                {
                    "address": address[:254],
                    "day": day,
                    "logins": sum(counts[i] for i in login_idx),
                    "failed_logins": counts[failed_idx],
                }
            )
        else:
            known.append({"staff_id": staff_id, "day": day, **dict(zip(COUNTERS, counts, strict=True))})
    # Two addresses of one person (an alias and the primary) on one day: merge before the upsert.
    merged: dict[tuple[object, object], dict[str, object]] = {}
    for row in known:
        key = (row["staff_id"], row["day"])
        if key in merged:
            for name in COUNTERS:
                merged[key][name] = int(merged[key][name]) + int(row[name])  # type: ignore[call-overload]
        else:
            merged[key] = row
    _upsert(session, UsageDay.__table__, ["staff_id", "day"], list(merged.values()), COUNTERS)  # type: ignore[arg-type]
    _upsert(session, UnknownAddressDay.__table__, ["address", "day"], unknown, ("logins", "failed_logins"))  # type: ignore[arg-type]
    seen: dict[tuple[int, str], dt.datetime] = {}
    for (address, channel), at in tally.last_seen.items():
        staff_id = book.get(address)
        if staff_id is not None and ((staff_id, channel) not in seen or at > seen[(staff_id, channel)]):
            seen[(staff_id, channel)] = at
    _upsert_last_seen(session, [{"staff_id": s, "channel": c, "at": at} for (s, c), at in seen.items()])


def ingest_file(
    factory: sessionmaker[Session],
    path: Path,
    *,
    tz: dt.tzinfo,
    chunk_lines: int = CHUNK_LINES,
    book: dict[str, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Read ``path`` (plain or gzip) from where it was left, adding its events to the usage tables."""
    path = Path(path)
    result = IngestResult(str(path))
    identity = file_identity(path)
    if not identity:
        result.skipped = True
        return result
    with unit_of_work(factory) as session:
        source = session.scalar(select(LogSource).where(LogSource.identity == identity))
        offset = source.offset if source is not None else 0
        if book is None:
            book = address_book(session)
    result.resumed_at = offset
    try:
        blocks, where = _blocks_from(path, offset)
    except LogFileError:  # truncated below the offset, or rewritten under the same first line
        log.warning(
            "%s: the offset %s read before does not fit this file any more; reading it from the start", path, offset
        )
        result.resumed_at = 0
        blocks, where = _blocks_from(path, 0)
    parser = LogParser(tz=tz, reference=file_reference_time(path, tz))
    tally = DailyTally(tz)
    committed = {"lines": 0, "events": 0, "malformed": 0}

    def commit(position: int) -> None:
        with unit_of_work(factory) as session:
            store_tally(session, tally, book)
            row = session.scalar(select(LogSource).where(LogSource.identity == identity))
            if row is None:
                row = LogSource(identity=identity, path=str(path))
                session.add(row)
            row.path = str(path)
            row.offset = position
            row.lines = (row.lines or 0) + parser.lines - committed["lines"]
            row.events = (row.events or 0) + parser.events - committed["events"]
            row.malformed = (row.malformed or 0) + parser.malformed - committed["malformed"]
            if tally.first is not None and (row.first_event_at is None or tally.first < row.first_event_at):
                row.first_event_at = tally.first
            if tally.last is not None and (row.last_event_at is None or tally.last > row.last_event_at):
                row.last_event_at = tally.last
            row.updated_at = utcnow()
        committed.update(lines=parser.lines, events=parser.events, malformed=parser.malformed)
        if progress is not None:
            progress(parser.lines)

    pending = 0
    for block in blocks:
        before = parser.lines
        tally.add_all(parser.parse_blocks([block], first_line=before + 1))
        pending += parser.lines - before
        if pending >= chunk_lines:
            # The blocks handed out so far are all in the tally: store them with the offset after them.
            commit(where())
            tally = DailyTally(tz)
            pending = 0
    if pending:
        commit(where())
    result.lines, result.events, result.malformed = parser.lines, parser.events, parser.malformed
    result.ignored = parser.ignored
    result.examples = list(parser.examples)
    result.skipped = parser.lines == 0
    return result


def _blocks_from(path: Path, offset: int) -> tuple[Iterator[str], Callable[[], int]]:
    """``read_blocks`` with its first block already read, so a bad offset raises here, not mid-loop."""
    blocks, where = read_blocks(path, offset)
    first = next(iter(blocks), None)
    return itertools.chain([] if first is None else [first], blocks), where


def rotation_family(path: Path) -> list[Path]:
    """The file and its rotated predecessors that may still hold unread lines, oldest first:
    ``mail.log.1`` (or ``.1.gz``) before ``mail.log``. Older generations were read before they rotated."""
    out = []
    for candidate in (path.with_name(path.name + ".1"), path.with_name(path.name + ".1.gz")):
        if candidate.is_file():
            out.append(candidate)
    if path.is_file():
        out.append(path)
    return out


def follow(factory: sessionmaker[Session], paths: Iterable[Path], *, tz: dt.tzinfo) -> list[IngestResult]:
    """The scheduler's job: read whatever is new in each configured log (and its just-rotated predecessor)."""
    results = []
    with unit_of_work(factory) as session:
        book = address_book(session)
    for path in paths:
        for candidate in rotation_family(Path(path)):
            try:
                results.append(ingest_file(factory, candidate, tz=tz, book=book))
            except OSError as exc:
                log.warning("cannot read %s: %s", candidate, exc)
    return results
