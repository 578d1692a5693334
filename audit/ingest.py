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
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audit.logfiles import (
    BLOCK_BYTES,
    IDENTITY_LIMIT,
    LogFileError,
    file_identity,
    file_reference_time,
    open_log,
    read_blocks,
    read_raw_blocks,
)
from audit.markers import is_dovecot_file
from audit.models import LogSource, UnknownAddressDay
from audit.parallel import TASK_BLOCKS, ParallelReader, default_workers, make_pool
from audit.parsing import LogParser
from audit.tally import COUNTERS, RowTally, TallyRows
from audit.usage_upserts import upsert, upsert_days, upsert_last_seen
from core.db import unit_of_work, utcnow
from provisioning.models import MailAlias, Staff

log = logging.getLogger(__name__)
CHUNK_LINES = 2_000_000
PARALLEL_MIN_BYTES = 32 << 20  # below this, starting worker processes costs more than it saves


class Counted(Protocol):
    """Counters to store: a :class:`~audit.tally.DailyTally` or the parallel path's :class:`~audit.tally.TallyRows`."""

    @property
    def days(self) -> dict[tuple[str, dt.date], list[int]]: ...
    @property
    def last_seen(self) -> dict[tuple[str, str], dt.datetime]: ...
    @property
    def first(self) -> dt.datetime | None: ...
    @property
    def last(self) -> dt.datetime | None: ...


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
    worker_seconds: float = 0.0  # CPU time of the parallel path's workers, and the largest one's peak memory
    worker_peak_kib: int = 0

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


def store_tally(session: Session, tally: Counted, book: dict[str, int]) -> None:
    """Add a tally's counters to the tables: known addresses per staff, the rest per address."""
    logins = [COUNTERS.index(f) for f in ("imap_logins", "pop3_logins", "webmail_logins", "smtp_logins")]
    failed = COUNTERS.index("failed_logins")
    known: dict[tuple[int, dt.date], list[int]] = {}
    unknown: list[tuple[object, ...]] = []
    for (address, day), counts in tally.days.items():
        staff_id = book.get(address)
        if staff_id is None:
            unknown.append((address[:254], day, sum(counts[i] for i in logins), counts[failed]))
            continue
        # Two addresses of one person (an alias and the primary) on one day: merged before the upsert.
        present = known.get((staff_id, day))
        known[staff_id, day] = counts if present is None else [a + b for a, b in zip(present, counts, strict=True)]
    upsert_days(session, known)
    upsert(
        session,
        UnknownAddressDay.__table__,  # type: ignore[arg-type]
        ["address", "day"],
        ["address", "day", "logins", "failed_logins"],
        unknown,
        ("logins", "failed_logins"),
    )
    seen: dict[tuple[int, str], dt.datetime] = {}
    for (address, channel), at in tally.last_seen.items():
        staff_id = book.get(address)
        if staff_id is not None and ((staff_id, channel) not in seen or at > seen[(staff_id, channel)]):
            seen[(staff_id, channel)] = at
    upsert_last_seen(session, [(s, c, at) for (s, c), at in seen.items()])


def ingest_file(
    factory: sessionmaker[Session],
    path: Path,
    *,
    tz: dt.tzinfo,
    chunk_lines: int = CHUNK_LINES,
    book: dict[str, int] | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    executor: Executor | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> IngestResult:
    """Read ``path`` (plain or gzip) from where it was left, adding its events to the usage tables.

    ``workers``: processes that parse blocks of the file side by side (1: in this process). By default as
    many as there are cores (at most four) for Dovecot's own file with at least ``PARALLEL_MIN_BYTES`` left
    to read, else 1.
    ``executor``: a process pool to use instead of starting one (several files in a row). Either way the
    counters and offsets stored are the same; see :mod:`audit.parallel`. ``block_bytes``: the size of the
    blocks read (a parallel task is ``TASK_BLOCKS`` of them).
    """
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
    if workers is None:
        workers = default_workers() if _pays_to_share(path, offset) else 1
    parallel = executor is not None or workers > 1
    try:
        blocks, where = _blocks_from(path, offset, raw=parallel, size=block_bytes)
    except LogFileError:  # truncated below the offset, or rewritten under the same first line
        log.warning(
            "%s: the offset %s read before does not fit this file any more; reading it from the start", path, offset
        )
        result.resumed_at = 0
        blocks, where = _blocks_from(path, 0, raw=parallel, size=block_bytes)
    reference = file_reference_time(path, tz)
    store = _Store(factory, identity, path, book, None if parallel else progress)
    if parallel:
        pool = executor if executor is not None else make_pool(workers)
        committer = _Committer(store, progress)
        try:
            reader = ParallelReader(pool, max(workers, 1), blocks, where, reference=reference, tz=tz)  # type: ignore[arg-type]
            for position, merged in reader.results():
                if merged.lines - committer.handed >= chunk_lines:
                    committer.put(position, merged.rows, merged.lines, merged.events, merged.malformed)
                    merged.rows = TallyRows()
            merged = reader.merged
            if merged.lines > committer.handed:
                committer.put(where(), merged.rows, merged.lines, merged.events, merged.malformed)
        finally:
            committer.close()
            if executor is None:
                pool.shutdown(wait=True, cancel_futures=True)
        lines, events, malformed, examples = merged.lines, merged.events, merged.malformed, merged.examples
        result.worker_seconds, result.worker_peak_kib = merged.worker_seconds, merged.worker_peak_kib
    else:
        parser = LogParser(tz=tz, reference=reference)
        tally = RowTally(tz)
        group: list[str] = []  # blocks counted together (a run of Dovecot's file goes the fast way as one)
        group_lines: list[int] = []  # their lines, counted once
        for block in blocks:
            group.append(block)  # type: ignore[arg-type]
            group_lines.append(block.count("\n"))  # type: ignore[arg-type]
            if len(group) < TASK_BLOCKS and parser.lines + sum(group_lines) - store.lines < chunk_lines:
                continue
            parser.count_blocks(group, tally, first_line=parser.lines + 1, line_counts=group_lines)
            group, group_lines = [], []
            if parser.lines - store.lines >= chunk_lines:
                # The blocks handed out so far are all in the tally: store them with the offset after them.
                store.commit(where(), tally, parser.lines, parser.events, parser.malformed)
                tally = RowTally(tz)
        parser.count_blocks(group, tally, first_line=parser.lines + 1, line_counts=group_lines)
        if parser.lines > store.lines:
            store.commit(where(), tally, parser.lines, parser.events, parser.malformed)
        lines, events, malformed, examples = parser.lines, parser.events, parser.malformed, parser.examples
    result.lines, result.events, result.malformed = lines, events, malformed
    result.ignored = lines - events - malformed
    result.examples = list(examples)
    result.skipped = lines == 0
    return result


class _Store:
    """Commits counters with the file's offset after them, in one transaction; remembers what it stored."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        identity: str,
        path: Path,
        book: dict[str, int],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.factory, self.identity, self.path, self.book, self.progress = factory, identity, path, book, progress
        self.lines = self.events = self.malformed = 0  # running totals at the last commit

    def commit(self, position: int, counted: Counted, lines: int, events: int, malformed: int) -> None:
        with unit_of_work(self.factory) as session:
            store_tally(session, counted, self.book)
            row = session.scalar(select(LogSource).where(LogSource.identity == self.identity))
            if row is None:
                row = LogSource(identity=self.identity, path=str(self.path))
                session.add(row)
            row.path = str(self.path)
            row.offset = position
            row.lines = (row.lines or 0) + lines - self.lines
            row.events = (row.events or 0) + events - self.events
            row.malformed = (row.malformed or 0) + malformed - self.malformed
            if counted.first is not None and (row.first_event_at is None or counted.first < row.first_event_at):
                row.first_event_at = counted.first
            if counted.last is not None and (row.last_event_at is None or counted.last > row.last_event_at):
                row.last_event_at = counted.last
            row.updated_at = utcnow()
        self.lines, self.events, self.malformed = lines, events, malformed
        if self.progress is not None:
            self.progress(lines)


class _Committer:
    """The parallel path's commits, on a thread of their own, so the workers go on reading while the database
    stores the chunk before (its upserts are the database's time, not this process's: at 300,000 mailboxes
    a third of the wall time). The commits run one after another in the order given, each the counters with
    the offset after them, as :meth:`_Store.commit` makes them: exactly once, whatever stops. At most one waits
    behind the one under way (memory: two chunks' rows). A commit that fails stops the rest; its error is raised
    in the caller's thread, at the next chunk or at :meth:`close`. ``progress`` is called there too."""

    def __init__(self, store: _Store, progress: Callable[[int], None] | None) -> None:
        self.store, self.progress = store, progress
        self.handed = 0  # lines handed over to be committed
        self._queue: queue.Queue[tuple[int, TallyRows, int, int, int] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None  # started with the first chunk, once the workers were forked

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.store.commit(*item)
                except BaseException as exc:  # raised again in the caller's thread
                    self._error = exc

    def put(self, position: int, rows: TallyRows, lines: int, events: int, malformed: int) -> None:
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="congvu-ingest-commit", daemon=True)
            self._thread.start()
        self._queue.put((position, rows, lines, events, malformed))
        self.handed = lines
        self._report()

    def close(self) -> None:
        """Wait for the commits handed over; raise the error of one that failed."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise()
        self._report()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _report(self) -> None:
        """The lines committed so far, to ``progress`` (in the caller's thread)."""
        if self.progress is not None and self.store.lines:
            self.progress(self.store.lines)


def _pays_to_share(path: Path, offset: int) -> bool:
    """Whether reading ``path`` on several cores is worth it: enough left to read, and lines that cost
    more to parse than to hand over. That is Dovecot's own file (four lines in five are events); a syslog
    or Roundcube file goes faster in one process (measured in bench/ingest_bench.py)."""
    if path.stat().st_size - offset < PARALLEL_MIN_BYTES:
        return False
    with open_log(path) as fh:
        first = fh.readline(IDENTITY_LIMIT).decode("utf-8", "replace")
    return is_dovecot_file(first)


def _blocks_from(path: Path, offset: int, *, raw: bool, size: int) -> tuple[Iterator[str | bytes], Callable[[], int]]:
    """``read_blocks`` (or ``read_raw_blocks``) with its first block already read, so a bad offset raises here,
    not mid-loop."""
    blocks, where = read_raw_blocks(path, offset, size=size) if raw else read_blocks(path, offset, size=size)
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


def follow(
    factory: sessionmaker[Session],
    paths: Iterable[Path],
    *,
    tz: dt.tzinfo,
    workers: int | None = None,
    executor: Executor | None = None,
) -> list[IngestResult]:
    """The scheduler's job: read whatever is new in each configured log (and its just-rotated predecessor).
    ``workers`` and ``executor`` as for :func:`ingest_file`."""
    results = []
    with unit_of_work(factory) as session:
        book = address_book(session)
    for path in paths:
        for candidate in rotation_family(Path(path)):
            try:
                results.append(ingest_file(factory, candidate, tz=tz, book=book, workers=workers, executor=executor))
            except OSError as exc:
                log.warning("cannot read %s: %s", candidate, exc)
    return results
