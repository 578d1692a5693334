"""Ingesting one file on several cores stores exactly what the sequential path stores, and keeps its
exactly-once promise: twice adds nothing, an appended file resumes at its offset, a line cut by a block
boundary counts once, and a worker killed mid-file leaves the offset where the committed counters end."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from audit import parallel
from audit.ingest import ingest_file, rotation_family
from audit.logfiles import file_reference_time, read_blocks
from audit.models import LastSeen, LogSource, UnknownAddressDay, UsageDay
from audit.parsing import LogParser
from audit.tally import COUNTERS, DailyTally
from demo.maillogs import write_month
from provisioning.models import Staff, Unit

DOMAIN = "gialai.gov.vn"
LOCALS = [f"songsong{i:02d}" for i in range(1, 17)]
MONTH = dt.date(2026, 2, 1)
LINES_PER_FILE = 6000  # about a week of the simulated month for 16 mailboxes
Snapshot = dict[str, dict[Any, Any]]


@pytest.fixture(scope="module")
def month_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """A simulated week, in Dovecot 2.3's and 2.4's words (the same sessions), Postfix and Roundcube."""
    addresses = [f"{local}@{DOMAIN}" for local in LOCALS]
    out: dict[str, list[str]] = {}
    for version in ("2.3", "2.4"):
        folder = tmp_path_factory.mktemp(f"month{version}")
        write_month(addresses, MONTH, folder, seed=11, dovecot=version)
        for name in ("dovecot.log", "mail.log", "roundcube-logins.log"):
            lines = (folder / name).read_text(encoding="utf-8").splitlines(keepends=True)
            out[f"{version}/{name}"] = lines[:LINES_PER_FILE]
    return out


@pytest.fixture
def mailboxes(db: Session, create_unit: Callable[..., Unit], create_staff: Callable[..., Staff]) -> dict[int, str]:
    unit = create_unit(name="Phòng Thử nghiệm song song")
    people = [create_staff(unit, full_name="Nguyễn Văn Song", local_part=local) for local in LOCALS]
    db.commit()
    assert {p.email for p in people} == {f"{local}@{DOMAIN}" for local in LOCALS}
    return {p.id: p.email for p in people}


def _syslog(lines: list[str], *, rfc3339: bool) -> list[str]:
    """Dovecot's file lines as rsyslog writes them (host, ``dovecot:`` tag), in RFC 3339 or classic form."""
    out = []
    for n, line in enumerate(lines):
        day, clock, message = line[:10], line[11:19], line[20:]
        process, _, rest = message.partition(": ")
        when = dt.datetime.strptime(day, "%Y-%m-%d")
        stamp = f"{day}T{clock}.{n * 7919 % 1_000_000:06d}+07:00" if rfc3339 else f"{when:%b} {when.day:>2} {clock}"
        out.append(f"{stamp} mail01 dovecot[812]: {process}: {rest.removeprefix('Info: ')}")
    return out


def _rfc3339(lines: list[str]) -> list[str]:
    """Classic syslog lines of February 2026 in Debian 12's RFC 3339 form."""
    out = []
    for line in lines:
        when = dt.datetime.strptime(f"2026 {line[:15]}", "%Y %b %d %H:%M:%S")
        out.append(f"{when:%Y-%m-%dT%H:%M:%S}.000001+07:00{line[15:]}")
    return out


def _write(path: Path, lines: list[str], *, compress: bool = False) -> Path:
    data = "".join(lines).encode()
    if compress:
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)
    os.utime(path, (dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp(),) * 2)  # classic syslog's year: 2026
    return path


def _logs(folder: Path, month_logs: dict[str, list[str]]) -> list[Path]:
    """Every form in files of many blocks: Dovecot's file upgraded from 2.3 to 2.4 mid-file and rotated
    (``dovecot.log.1.gz`` then ``dovecot.log``), Dovecot 2.4 through syslog with RFC 3339 then classic
    timestamps, Postfix with classic then RFC 3339 timestamps, Roundcube."""
    folder.mkdir(exist_ok=True)
    half = LINES_PER_FILE // 2
    dovecot = month_logs["2.3/dovecot.log"][:half] + month_logs["2.4/dovecot.log"][half:]
    cut = len(dovecot) * 3 // 5
    _write(folder / "dovecot.log.1.gz", dovecot[:cut], compress=True)
    live = dovecot[cut:]
    live.insert(len(live) // 2, "2026-02-04 08:00:00 imap-login: Info: Login: user=<>, method=PLAIN, rip=1.2.3.4\n")
    _write(folder / "dovecot.log", live)
    syslog = _syslog(month_logs["2.4/dovecot.log"][:half], rfc3339=True)
    syslog += _syslog(month_logs["2.4/dovecot.log"][half:], rfc3339=False)
    _write(folder / "syslog", [line + "\n" for line in syslog])
    mail = month_logs["2.3/mail.log"]
    mail = mail[:half] + _rfc3339(mail[half:])
    for n in (700, 2900, 4100):  # unreadable lines: counted, and shown with their line numbers
        mail.insert(
            n, "Feb 31 25:00:00 mail01 postfix/submission/smtpd[1]: 1A2B3C: client=x[1.2.3.4], sasl_username=x\n"
        )
    _write(folder / "mail.log", mail)
    _write(folder / "roundcube-logins.log", month_logs["2.3/roundcube-logins.log"])
    return [folder / "dovecot.log", folder / "syslog", folder / "mail.log", folder / "roundcube-logins.log"]


def _stored(db: Session) -> Snapshot:
    """Everything ingestion writes, by key."""
    db.expire_all()
    return {
        "days": {(r.staff_id, r.day): tuple(getattr(r, c) for c in COUNTERS) for r in db.scalars(select(UsageDay))},
        "unknown": {(r.address, r.day): (r.logins, r.failed_logins) for r in db.scalars(select(UnknownAddressDay))},
        "seen": {(r.staff_id, r.channel): r.at for r in db.scalars(select(LastSeen))},
        "sources": {
            r.path.rpartition("/")[2]: (r.offset, r.lines, r.events, r.malformed, r.first_event_at, r.last_event_at)
            for r in db.scalars(select(LogSource))
        },
    }


def _forget(db: Session) -> None:
    for model in (UsageDay, UnknownAddressDay, LastSeen, LogSource):
        db.execute(delete(model))
    db.commit()


def _sequential(db: Session, runtime: Any, log: Path) -> Snapshot:
    """What the sequential path stores for ``log``; the tables are then emptied for the path under test."""
    ingest_file(runtime.session_factory, log, tz=runtime.settings.tz, workers=1)
    expected = _stored(db)
    _forget(db)
    return expected


@pytest.fixture
def small_tasks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Tasks of one block of 16 KiB: a file of a few hundred KiB makes dozens of them."""
    monkeypatch.setattr(parallel, "TASK_BLOCKS", 1)
    return 16 << 10


def test_the_parallel_path_stores_exactly_what_the_sequential_path_stores(
    db: Session, runtime: Any, mailboxes: dict[int, str], month_logs: dict[str, list[str]], tmp_path: Path
) -> None:
    files = [c for path in _logs(tmp_path / "logs", month_logs) for c in rotation_family(path)]
    assert files[0].name == "dovecot.log.1.gz"  # the rotated generation first, as the scheduler reads them
    tz = runtime.settings.tz
    sequential = [ingest_file(runtime.session_factory, path, tz=tz, workers=1) for path in files]
    expected = _stored(db)
    assert [r.malformed for r in sequential] == [0, 1, 0, 3, 0], [r.examples for r in sequential]
    assert len(expected["sources"]) == 5
    assert len(expected["days"]) > 50
    assert sum(counts[5] for counts in expected["days"].values()) > 0  # messages sent, joined by queue id
    _forget(db)

    for workers, task_blocks in ((2, 1), (3, 2)):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(parallel, "TASK_BLOCKS", task_blocks)
            results = [
                ingest_file(runtime.session_factory, path, tz=tz, workers=workers, block_bytes=16 << 10)
                for path in files
            ]
        assert _stored(db) == expected
        assert [(r.lines, r.events, r.malformed, r.examples) for r in results] == [
            (r.lines, r.events, r.malformed, r.examples) for r in sequential
        ]
        _forget(db)
    blocks = {path.name: sum(1 for _ in read_blocks(path, size=16 << 10)[0]) for path in files}
    assert min(n for name, n in blocks.items() if not name.startswith("roundcube")) >= 10, blocks  # many tasks


@pytest.mark.usefixtures("mailboxes")
def test_twice_adds_nothing_and_an_appended_file_is_read_from_its_offset(
    db: Session, runtime: Any, month_logs: dict[str, list[str]], tmp_path: Path, small_tasks: int
) -> None:
    lines = month_logs["2.3/dovecot.log"]
    expected = _sequential(db, runtime, _write(tmp_path / "whole.log", lines))["days"]

    log = _write(tmp_path / "dovecot.log", lines[:2500])
    first = ingest_file(runtime.session_factory, log, tz=runtime.settings.tz, workers=2, block_bytes=small_tasks)
    again = ingest_file(runtime.session_factory, log, tz=runtime.settings.tz, workers=2, block_bytes=small_tasks)
    assert (first.lines, again.skipped, again.lines) == (2500, True, 0)
    with log.open("a", encoding="utf-8") as fh:
        fh.write("".join(lines[2500:]))
    rest = ingest_file(runtime.session_factory, log, tz=runtime.settings.tz, workers=2, block_bytes=small_tasks)
    assert rest.resumed_at == len("".join(lines[:2500]).encode())
    assert rest.lines == len(lines) - 2500
    assert _stored(db)["days"] == expected
    ingest_file(runtime.session_factory, log, tz=runtime.settings.tz, workers=2, block_bytes=small_tasks)
    assert _stored(db)["days"] == expected


FILLER = "Feb  3 07:59:{:02d} mail01 postfix/anvil[901]: statistics: max connection rate 1/60s for (smtp:10.0.0.9)\n"
SUBMITTED = (
    "Feb  3 08:00:00 mail01 postfix/submission/smtpd[4410]: 7A3F00C2B91: client=unknown[10.1.1.7], "
    "sasl_method=PLAIN, sasl_username=songsong03@gialai.gov.vn\n"
)
QUEUED = (
    "Feb  3 08:00:00 mail01 postfix/cleanup[4411]: 7A3F00C2B91: message-id=<x@gialai.gov.vn>\n"
    "Feb  3 08:00:01 mail01 postfix/qmgr[1021]: 7A3F00C2B91: from=<songsong03@gialai.gov.vn>, size=48213, "
    "nrcpt=3 (queue active)\n"
    "Feb  3 08:00:02 mail01 postfix/qmgr[1021]: 7A3F00C2B91: removed\n"
)
DOVECOT_LOGIN = (
    "2026-02-03 08:00:00 imap-login: Info: Login: user=<songsong03@gialai.gov.vn>, method=PLAIN, rip=10.1.1.7, "
    "lip=10.0.0.2, mpid=5512, TLS, session=<SgXc3wQ0ZtQKAQEH>\n"
)
DOVECOT_END = (
    "2026-02-03 09:00:00 imap(songsong03@gialai.gov.vn)<5512><SgXc3wQ0ZtQKAQEH>: Info: Connection closed (IDLE "
    "running for 0.002 + waiting input for 1794.512 secs, 2 B in + 10+10 B out, state=wait-input) in=202 "
    "out=28981 deleted=0 expunged=0 trashed=0 hdr_count=17 hdr_bytes=11050 body_count=2 body_bytes=14970\n"
)


@pytest.mark.parametrize("cut", ["between the lines", "inside the line"])
def test_a_line_at_a_block_boundary_is_counted_once(
    db: Session, runtime: Any, mailboxes: dict[int, str], tmp_path: Path, small_tasks: int, cut: str
) -> None:
    """Each task is one block; the block ends right after the submission (its qmgr line is the next task's)
    or in the middle of it; the same for a Dovecot login."""
    person = next(sid for sid, email in mailboxes.items() if email.startswith("songsong03@"))
    filler = "".join(FILLER.format(n) for n in range(40))
    size = len(filler) + (len(SUBMITTED) if cut == "between the lines" else len(SUBMITTED) // 2)
    mail = _write(tmp_path / "mail.log", [filler, SUBMITTED, QUEUED, filler])
    dovecot_filler = "".join(f"2026-02-03 07:59:{n:02d} auth: Info: ldap: connecting\n" for n in range(40))
    dsize = len(dovecot_filler) + (len(DOVECOT_LOGIN) if cut == "between the lines" else 30)
    dovecot = _write(tmp_path / "dovecot.log", [dovecot_filler, DOVECOT_LOGIN, dovecot_filler, DOVECOT_END])
    for path, block in ((mail, size), (dovecot, dsize)):
        assert sum(1 for _ in read_blocks(path, size=block)[0]) >= 3
        result = ingest_file(runtime.session_factory, path, tz=runtime.settings.tz, workers=2, block_bytes=block)
        assert result.malformed == 0
    (row,) = _stored(db)["days"].items()
    assert row[0] == (person, dt.date(2026, 2, 3))
    counts = dict(zip(COUNTERS, row[1], strict=True))
    assert (counts["smtp_logins"], counts["sent_messages"], counts["sent_recipients"], counts["sent_bytes"]) == (
        1,
        1,
        3,
        48213,
    )
    assert (counts["imap_logins"], counts["fetched_bodies"], counts["fetched_bytes"]) == (1, 2, 28981)


def test_a_killed_worker_leaves_the_offset_where_the_committed_counts_end(
    db: Session,
    runtime: Any,
    mailboxes: dict[int, str],
    month_logs: dict[str, list[str]],
    tmp_path: Path,
    small_tasks: int,
) -> None:
    log = _write(tmp_path / "dovecot.log", month_logs["2.3/dovecot.log"])
    tz = runtime.settings.tz
    expected = _sequential(db, runtime, log)

    pool = parallel.make_pool(2)
    try:
        killed: list[int] = []

        def kill_a_worker(_lines: int) -> None:
            """After the first commit: a worker dies (the out-of-memory killer, an operator's kill -9)."""
            if not killed:
                killed.append(next(iter(pool._processes)))  # the pool's own map of its processes
                os.kill(killed[0], signal.SIGKILL)

        with pytest.raises(BrokenProcessPool):
            ingest_file(
                runtime.session_factory,
                log,
                tz=tz,
                executor=pool,
                chunk_lines=400,
                block_bytes=small_tasks,
                progress=kill_a_worker,
            )
    finally:
        pool.shutdown(cancel_futures=True)

    # What was committed is exactly the lines before the stored offset: the same as tallying them alone.
    stored = _stored(db)
    ((offset, lines, *_),) = stored["sources"].values()
    assert 0 < lines < len(month_logs["2.3/dovecot.log"])
    parser = LogParser(reference=file_reference_time(log, tz), tz=tz)
    tally = DailyTally(tz)
    parser.count_blocks([log.read_bytes()[:offset].decode()], tally)
    assert parser.lines == lines
    by_address = {email: sid for sid, email in mailboxes.items()}
    committed = {
        (by_address[address], day): tuple(counts)
        for (address, day), counts in tally.days.items()
        if address in by_address
    }
    assert stored["days"] == committed

    again = ingest_file(runtime.session_factory, log, tz=tz, workers=2, block_bytes=small_tasks)
    assert again.resumed_at == offset
    assert _stored(db) == expected


def test_a_worker_count_is_chosen_by_size_and_cores() -> None:
    assert 1 <= parallel.default_workers() <= parallel.MAX_WORKERS


@pytest.mark.usefixtures("mailboxes")
def test_from_a_process_with_threads_the_workers_come_from_a_server_and_count_the_same(
    db: Session, runtime: Any, month_logs: dict[str, list[str]], tmp_path: Path, small_tasks: int
) -> None:
    """The scheduler runs in a process with threads, which must not fork: a forkserver starts the workers."""
    log = _write(tmp_path / "dovecot.log", month_logs["2.4/dovecot.log"])
    expected = _sequential(db, runtime, log)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="scheduler-like", daemon=True)
    other.start()
    try:
        pool = parallel.make_pool(2)
        assert pool._mp_context.get_start_method() == "forkserver"
        try:
            ingest_file(runtime.session_factory, log, tz=runtime.settings.tz, executor=pool, block_bytes=small_tasks)
        finally:
            pool.shutdown()
    finally:
        stop.set()
        other.join()
    assert _stored(db) == expected


def test_a_commit_that_fails_stops_the_rest_and_its_error_reaches_the_caller(
    db: Session,
    runtime: Any,
    mailboxes: dict[int, str],
    month_logs: dict[str, list[str]],
    tmp_path: Path,
    small_tasks: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parallel path commits on a thread of its own while the workers read on: a commit that fails (the
    database gone) raises in the caller, and nothing after it is stored; the next run resumes where the last
    good commit ended and counts the rest once."""
    from audit import ingest

    log = _write(tmp_path / "dovecot.log", month_logs["2.3/dovecot.log"])
    tz = runtime.settings.tz
    expected = _sequential(db, runtime, log)
    real_commit = ingest._Store.commit
    calls: list[int] = []

    class DatabaseGone(RuntimeError):
        pass

    def commit_once(self: Any, *args: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            raise DatabaseGone
        real_commit(self, *args)

    monkeypatch.setattr(ingest._Store, "commit", commit_once)
    with pytest.raises(DatabaseGone):
        ingest_file(runtime.session_factory, log, tz=tz, workers=2, chunk_lines=400, block_bytes=small_tasks)
    assert len(calls) == 2  # the chunks handed over after the failed one were not tried
    ((offset, lines, *_),) = _stored(db)["sources"].values()
    assert 0 < lines < len(month_logs["2.3/dovecot.log"])
    monkeypatch.setattr(ingest._Store, "commit", real_commit)
    again = ingest_file(runtime.session_factory, log, tz=tz, workers=2, block_bytes=small_tasks)
    assert again.resumed_at == offset
    assert _stored(db) == expected
