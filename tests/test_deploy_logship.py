"""Log shipping: a mail host that is not the scheduler's machine ships its log with scripts/ship-logs.sh (rsync),
and the scheduler's logs.follow reads the copies. Rotations on the mail host (rename, then gzip), a copy
killed half-way, a follow that crashes mid-file and lines still being written lose or double nothing.

rsync runs here between two local folders; over ssh (``host:/var/log/mail.log``) only the transport differs.
"""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from audit.ingest import follow, ingest_file
from audit.models import UnknownAddressDay

ROOT = Path(__file__).resolve().parent.parent
SHIP = ROOT / "scripts" / "ship-logs.sh"
DOMAIN = "ship.test"


class MailHost:
    """Dovecot 2.4 writing its log (one login per line, each line unique), rotated like logrotate does."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.log = folder / "dovecot.log"
        self.written = 0

    def write(self, n: int, *, unfinished: bool = False) -> None:
        with self.log.open("a", encoding="utf-8") as fh:
            for _ in range(n):
                self.written += 1
                i = self.written
                fh.write(
                    f"2026-11-{10 + i // 40000:02d} {i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d} imap-login: "
                    f"Info: Logged in: user=<u{i % 97}@{DOMAIN}>, method=PLAIN, rip=10.0.0.{i % 200}, "
                    f"lip=127.0.0.1, mpid={i}, secured, session=<s{i:08d}>\n"
                )
            if unfinished:  # Dovecot is in the middle of a line when the copy is taken
                fh.write("2026-11-30 23:59:59 imap-login: Info: Logged in: user=<late@")

    def finish_line(self) -> None:
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(f"{DOMAIN}>, method=PLAIN, rip=10.0.0.1, lip=127.0.0.1, mpid=1, secured, session=<late>\n")
        self.written += 1

    def rotate(self) -> None:
        """logrotate with delaycompress: .1 → .2.gz, the log → .1, a new empty log."""
        one = self.folder / "dovecot.log.1"
        if one.exists():
            with one.open("rb") as src, gzip.open(self.folder / "dovecot.log.2.gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            one.unlink()
        self.log.rename(one)
        self.log.touch()


def ship(source: Path, dest: Path) -> None:
    result = subprocess.run([str(SHIP), str(source), str(dest)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def counted(db: Any) -> Callable[[], int]:
    def _counted() -> int:
        total = db.scalar(
            select(func.coalesce(func.sum(UnknownAddressDay.logins), 0)).where(
                UnknownAddressDay.address.like(f"%@{DOMAIN}")
            )
        )
        return int(total)

    return _counted


def test_shipped_logs_count_every_line_once_through_rotations_and_restarts(
    tmp_path: Path, runtime: Any, counted: Callable[[], int]
) -> None:
    host = MailHost(tmp_path / "mailhost")
    dest = tmp_path / "shipped"
    copy = dest / "dovecot.log"
    tz = runtime.settings.tz

    def follow_copy() -> None:
        for result in follow(runtime.session_factory, [copy], tz=tz):
            assert result.malformed == 0, result.examples

    host.write(300, unfinished=True)
    ship(host.log, dest)
    follow_copy()
    assert counted() == 300  # the line being written is not read yet
    follow_copy()
    assert counted() == 300  # nothing new: nothing counted again

    host.finish_line()
    host.write(200)
    host.rotate()
    host.write(150)
    ship(host.log, dest)  # the log's tail is now in the .1 copy, the new lines in the new log
    follow_copy()
    assert counted() == host.written == 651

    # The receiving side crashes in the middle of a file: what it committed stays, the rest is read next time.
    host.write(15000)  # more than one 1 MiB block: a commit, then the crash
    ship(host.log, dest)

    class Crash(RuntimeError):
        pass

    def crash(_lines: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        ingest_file(runtime.session_factory, copy, tz=tz, chunk_lines=1000, progress=crash)
    assert 651 < counted() < host.written
    follow_copy()
    assert counted() == host.written

    # The copy is killed half-way (a slow link): the last complete copy stays in place, never a partial one.
    host.write(20000)
    before = copy.read_bytes()
    slow = subprocess.Popen(
        ["rsync", "--times", "--bwlimit=50", str(host.log), str(dest) + "/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(timeout=30)
    assert copy.read_bytes() == before
    for leftover in dest.glob(".dovecot.log.*"):  # rsync's temporary file of the killed copy
        leftover.unlink()
    follow_copy()
    assert counted() == host.written - 20000

    # Two more rotations (the older generation is compressed), the scheduler following after each copy.
    host.rotate()
    host.write(400)
    ship(host.log, dest)
    follow_copy()
    assert counted() == host.written
    host.write(100)
    host.rotate()
    host.write(50)
    ship(host.log, dest)
    assert (dest / "dovecot.log.1").exists()
    assert (host.folder / "dovecot.log.2.gz").exists()
    follow_copy()
    follow_copy()
    assert counted() == host.written


def test_ship_logs_says_how_to_use_it() -> None:
    result = subprocess.run([str(SHIP)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "SOURCE" in result.stderr
