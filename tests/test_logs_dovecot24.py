"""Dovecot 2.4 (Debian 13) logs count like Dovecot 2.3's: the same sessions give the same logins and failures,
in Dovecot's own file, through syslog with RFC 3339 or classic timestamps, and across an upgrade mid-file."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.events import DEFAULT_TZ, Event, FailedAuth, Fetched, Login
from audit.ingest import ingest_file
from audit.logfiles import read_blocks
from audit.models import UnknownAddressDay, UsageDay
from audit.parsing import LogParser
from audit.tally import DailyTally
from demo.maillines import WEBMAIL_IP
from demo.maillogs import synthetic_addresses, write_month
from provisioning.models import Staff, Unit

FIXTURES = Path(__file__).parent / "fixtures"
DOVECOT_24 = FIXTURES / "dovecot-2.4.log"
DOVECOT_23 = FIXTURES / "dovecot-2.3.log"
REF = datetime(2026, 11, 25, 12, 0, tzinfo=DEFAULT_TZ)
DOMAIN = "gialai.gov.vn"
PEOPLE = {  # local part → name: the mailboxes of the fixture's sessions
    "an": "Nguyễn Văn An",
    "thuyen.kpa": "Kpă Thuyên",
    "phuoc.ksor": "Ksor Y Phước",
    "hmai.siu": "Siu H'Mai",
    "blum.nay": "Nay Blum",
}
# Hand-counted from the fixture (see tests/fixtures/README.md): (address, channel) → successful logins, and
# address → failed attempts. A login aborted without an auth failure (no attempt, TLS handshake, aborted by
# the client, a disabled account) is not a failed login.
LOGINS = {
    (f"an@{DOMAIN}", "imap"): 2,
    (f"thuyen.kpa@{DOMAIN}", "pop3"): 2,
    (f"phuoc.ksor@{DOMAIN}", "imap"): 1,
    (f"hmai.siu@{DOMAIN}", "imap"): 1,
}
FAILURES = {f"an@{DOMAIN}": 1, f"phuoc.ksor@{DOMAIN}": 2, f"admin@{DOMAIN}": 3, None: 1}
FETCHED = {f"an@{DOMAIN}": 5, f"thuyen.kpa@{DOMAIN}": 2, f"phuoc.ksor@{DOMAIN}": 4, f"hmai.siu@{DOMAIN}": 1}


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _parse(lines: Iterable[str]) -> tuple[list[Event], LogParser]:
    parser = LogParser(reference=REF)
    return list(parser.parse_lines(lines)), parser


def _what_counts(events: list[Event]) -> tuple[dict[Any, int], dict[Any, int], dict[Any, int]]:
    """Logins per (address, channel), failed attempts per address, fetched bodies per address."""
    logins: Counter[tuple[str, str]] = Counter()
    failures: Counter[str | None] = Counter()
    fetched: Counter[str] = Counter()
    for event in events:
        if isinstance(event, Login):
            logins[event.address, event.channel] += 1
        elif isinstance(event, FailedAuth):
            failures[event.address] += event.attempts
        elif isinstance(event, Fetched):
            fetched[event.address] += event.bodies
    return dict(logins), dict(failures), dict(+fetched)


def _syslog(lines: Iterable[str], *, rfc3339_until: str = "9999") -> list[str]:
    """Dovecot's file lines as rsyslog writes them: host and ``dovecot:`` tag, the level out of band.

    Lines before ``rfc3339_until`` (a date) get Debian 12's RFC 3339 timestamps, later ones the classic form,
    as after a change of rsyslog's template: both in one file.
    """
    out = []
    for n, line in enumerate(lines):
        day, clock, message = line[:10], line[11:19], line[20:]
        process, _, rest = message.partition(": ")
        rest = rest.removeprefix("Info: ")
        if day < rfc3339_until:
            stamp = f"{day}T{clock}.{n * 1731 % 1_000_000:06d}+07:00"
        else:
            month = datetime.strptime(day, "%Y-%m-%d")
            stamp = f"{month:%b} {month.day:>2} {clock}"
        out.append(f"{stamp} mail01 dovecot[812]: {process}: {rest}")
    out.insert(3, "2026-11-22T06:11:45.000001+07:00 mail01 postfix/anvil[901]: statistics: max connection rate 1/60s")
    return out


@pytest.mark.parametrize("path", [DOVECOT_24, DOVECOT_23], ids=["2.4", "2.3"])
def test_each_version_gives_the_hand_counted_logins_and_failures(path: Path) -> None:
    events, parser = _parse(_lines(path))
    assert parser.malformed == 0, parser.examples
    assert _what_counts(events) == (LOGINS, FAILURES, FETCHED)


def test_the_24_log_and_the_23_log_of_the_same_sessions_agree_event_by_event() -> None:
    new, _ = _parse(_lines(DOVECOT_24))
    old, _ = _parse(_lines(DOVECOT_23))
    assert new == old
    assert {type(e) for e in new} == {Login, FailedAuth, Fetched}


def test_the_real_24_lines_of_the_brief() -> None:
    events, _ = _parse(_lines(DOVECOT_24)[2:4])
    tz = DEFAULT_TZ
    assert events == [
        FailedAuth(datetime(2026, 11, 22, 6, 11, 44, tzinfo=tz), f"an@{DOMAIN}", "imap", "127.0.0.1", 1),
        Login(datetime(2026, 11, 22, 6, 11, 46, tzinfo=tz), f"an@{DOMAIN}", "imap"),
    ]


def test_a_file_that_spans_the_upgrade_is_read_line_by_line() -> None:
    """2.3's lines up to the upgrade, 2.4's after it, in one file (and in one block): the version is per line."""
    old, new = _lines(DOVECOT_23), _lines(DOVECOT_24)
    upgrade = next(i for i, line in enumerate(new) if line.startswith("2026-11-22 08:"))
    events, parser = _parse(old[:upgrade] + new[upgrade:])
    assert parser.malformed == 0, parser.examples
    assert _what_counts(events) == (LOGINS, FAILURES, FETCHED)
    blocks = ["".join(line + "\n" for line in old[:upgrade] + new[upgrade:])]
    assert list(LogParser(reference=REF).parse_blocks(blocks)) == events


@pytest.mark.parametrize("path", [DOVECOT_24, DOVECOT_23], ids=["2.4", "2.3"])
def test_through_syslog_with_rfc3339_and_classic_timestamps_in_one_file(path: Path, tmp_path: Path) -> None:
    direct, _ = _parse(_lines(path))
    log = tmp_path / "mail.log"
    log.write_text("\n".join(_syslog(_lines(path), rfc3339_until="2026-11-23")) + "\n", encoding="utf-8")
    parser = LogParser(reference=REF)
    blocks, _ = read_blocks(log)
    events = list(parser.parse_blocks(blocks))
    assert parser.malformed == 0, parser.examples
    assert _what_counts(events) == (LOGINS, FAILURES, FETCHED)
    # the same instants, to the second (syslog's RFC 3339 form carries a fraction Dovecot's file does not)
    assert [(type(e), e.at.replace(microsecond=0)) for e in events] == [(type(e), e.at) for e in direct]


def _rfc3164(line: str) -> bytes:
    """A fixture line as Dovecot hands it to syslog: mail.info, the classic header, the level out of band."""
    when = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
    process, _, rest = line[20:].partition(": ")
    header = f"<22>{when:%b} {when.day:>2} {when:%H:%M:%S} mail01 dovecot[812]"
    return f"{header}: {process}: {rest.removeprefix('Info: ')}".encode()


@pytest.mark.parametrize("path", [DOVECOT_24, DOVECOT_23], ids=["2.4", "2.3"])
def test_a_real_rsyslog_writing_rfc3339_and_classic_files_gives_the_same_counts(path: Path, tmp_path: Path) -> None:
    """rsyslogd itself, fed the sessions over UDP, writes them with Debian 12's default template (RFC 3339,
    RSYSLOG_FileFormat) and with the classic one (RSYSLOG_TraditionalFileFormat): both files count alike."""
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not Path(rsyslogd).exists():
        pytest.skip("rsyslog is not installed (scripts/bootstrap.sh --test installs it)")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    files = {"rfc3339": "RSYSLOG_FileFormat", "classic": "RSYSLOG_TraditionalFileFormat"}
    (tmp_path / "rsyslog.conf").write_text(
        f'global(workDirectory="{tmp_path}")\nmodule(load="imudp")\n'
        f'input(type="imudp" address="127.0.0.1" port="{port}")\n'
        + "".join(f'mail.* action(type="omfile" file="{tmp_path}/{n}.log" template="{t}")\n' for n, t in files.items())
    )
    lines = _lines(path)

    def written(name: str) -> list[str]:
        text = (tmp_path / f"{name}.log").read_text(encoding="utf-8")
        return [line for line in text.splitlines() if " dovecot[812]: " in line]

    daemon = subprocess.Popen(
        [rsyslogd, "-n", "-f", str(tmp_path / "rsyslog.conf"), "-i", str(tmp_path / "rsyslogd.pid")],
        env={"PATH": "/usr/sbin:/usr/bin:/bin", "TZ": "Asia/Ho_Chi_Minh"},  # the mail host's clock
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            while not all((tmp_path / f"{n}.log").exists() for n in files):  # until rsyslogd listens
                assert daemon.poll() is None, "rsyslogd stopped"
                assert time.monotonic() < deadline, "rsyslogd wrote nothing"
                sender.sendto(b"<22>Nov 21 23:59:59 mail01 postfix/anvil[901]: statistics: start", ("127.0.0.1", port))
                time.sleep(0.2)
            for line in lines:
                sender.sendto(_rfc3164(line), ("127.0.0.1", port))

        while not all(len(written(n)) == len(lines) for n in files):
            assert time.monotonic() < deadline, {n: len(written(n)) for n in files}
            time.sleep(0.1)
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    assert written("rfc3339")[0].startswith("2026-11-22T06:00:01+07:00 mail01 dovecot[812]: master: ")
    assert written("classic")[0].startswith("Nov 22 06:00:01 mail01 dovecot[812]: master: ")
    direct, _ = _parse(lines)
    for name in files:
        parser = LogParser(reference=REF)
        blocks, _ = read_blocks(tmp_path / f"{name}.log")
        events = list(parser.parse_blocks(blocks))
        assert parser.malformed == 0, (name, parser.examples)
        assert _what_counts(events) == (LOGINS, FAILURES, FETCHED), name
        assert [(type(e), e.at) for e in events] == [(type(e), e.at) for e in direct], name  # the same instants


def test_a_generated_month_counts_the_same_in_24_and_23_wording(tmp_path: Path) -> None:
    """The simulator's month (the benchmark's and the demo's), written in each version's words: equal tallies."""
    addresses = synthetic_addresses(30)
    tallies = []
    for version in ("2.3", "2.4"):
        out = tmp_path / version
        counts = write_month(addresses, date(2026, 2, 1), out, seed=5, dovecot=version)
        parser = LogParser(reference=datetime(2026, 3, 1), webmail_ips={WEBMAIL_IP})
        tally = DailyTally(mailboxes=addresses)
        blocks, _ = read_blocks(out / "dovecot.log")
        tally.add_all(parser.parse_blocks(blocks))
        assert parser.malformed == 0, parser.examples
        assert parser.lines == counts["dovecot.log"]
        tallies.append(tally.days)
    old, new = tallies
    assert new == old
    assert sum(counts[0] + counts[1] for counts in new.values()) > 0  # IMAP and POP3 logins were counted
    assert sum(counts[4] for counts in new.values()) > 0  # and failures


# -- into the database ---------------------------------------------------------------------------------


@pytest.fixture
def fixture_people(
    create_unit: Callable[..., Unit], create_staff: Callable[..., Staff], db: Session
) -> dict[str, Staff]:
    """The fixture's five mailboxes, in a unit of their own, in the test's rolled-back transaction."""
    unit = create_unit(name="Phòng Thử nghiệm Dovecot 2.4")
    people = {local: create_staff(unit, full_name=name, local_part=local) for local, name in PEOPLE.items()}
    db.flush()
    assert {p.email for p in people.values()} == {f"{local}@{DOMAIN}" for local in PEOPLE}
    return people


def _stored(db: Session, people: dict[str, Staff]) -> dict[str, tuple[int, int, int]]:
    """Per local part: (IMAP logins, POP3 logins, failed logins) in the usage table."""
    db.expire_all()
    out = {}
    for local, person in people.items():
        rows = db.scalars(select(UsageDay).where(UsageDay.staff_id == person.id)).all()
        out[local] = (
            sum(r.imap_logins for r in rows),
            sum(r.pop3_logins for r in rows),
            sum(r.failed_logins for r in rows),
        )
    return out


EXPECTED_ROWS = {
    "an": (2, 0, 1),
    "thuyen.kpa": (0, 2, 0),
    "phuoc.ksor": (1, 0, 2),
    "hmai.siu": (1, 0, 0),
    "blum.nay": (0, 0, 0),
}


def test_logs_ingest_counts_the_24_logins_once_even_when_ingested_twice(
    cli: Callable[..., Any], db: Session, runtime: Any, fixture_people: dict[str, Staff], tmp_path: Path
) -> None:
    db.commit()  # the mailboxes, visible to the command's own sessions
    log = tmp_path / "dovecot.log"
    shutil.copy(DOVECOT_24, log)
    first = cli(["logs", "ingest", str(log)])
    assert first.exit_code == 0, first.output
    assert f"{DOVECOT_24.read_text().count(chr(10))} lines from byte 0" in first.output, first.output
    assert ", 0 malformed" in first.output, first.output
    assert _stored(db, fixture_people) == EXPECTED_ROWS

    again = cli(["logs", "ingest", str(log)])
    assert again.exit_code == 0, again.output
    assert "nothing new" in again.output
    rotated = tmp_path / "dovecot.log.1"  # logrotate renamed it: the same file by its first line
    log.rename(rotated)
    result = ingest_file(runtime.session_factory, rotated, tz=DEFAULT_TZ)
    assert result.skipped
    assert _stored(db, fixture_people) == EXPECTED_ROWS
    unknown = db.scalars(select(UnknownAddressDay).where(UnknownAddressDay.address == f"admin@{DOMAIN}")).all()
    assert sum(r.failed_logins for r in unknown) == 3
