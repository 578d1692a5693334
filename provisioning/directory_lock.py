"""One batch of directory writes at a time across every process of an installation.

slapd 2.5.13 (Debian 12) and 2.6.10 (Debian 13) hang, for every client, when an LDAP transaction ends (TXN END)
on one connection while two or more other write requests are in flight: pipelined on one connection, or one
each on several. Seen here within seconds (modify DNs or modifies pipelined 64 or 2 at a time, or one at a time
on four connections, beside transactions of 200 modifies on another connection: ``bench/slapd_txn_race.py``);
a transaction beside another transaction, or beside writes that go one at a time on one connection, did not
hang. Within one process the sync never mixes them (a run of moves is settled before any other write). Across
processes it could: a reorganisation's moves in the worker and a console import's transaction in a web process.
So every batch (an LDAP transaction, pipelined moves, adds over parallel connections) holds this lock, taken
from the database all the processes share: a PostgreSQL advisory lock (any number of machines), or with SQLite
(one machine) a file lock beside the instance's other files. Single writes (a console edit, a password change)
go without it.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text

ADVISORY_KEY = 7316002  # congvu's directory batches (7316001 is the change trail's first entry)


class BatchLock(Protocol):
    """Taken and released around a batch; release may come from another thread than acquire (the mover)."""

    def acquire(self) -> None: ...
    def release(self) -> None: ...


class ProcessLock:
    """Batches of this process only: for a Directory that no other process shares (tools, benchmarks). The
    shared locks below are this one (their process's threads queue here first) and a hold on something other
    processes see, taken once the thread lock is held and let go before it is released."""

    def __init__(self) -> None:
        self._threads = threading.Lock()

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            self._take()
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            self._let_go()
        finally:
            self._threads.release()

    def _take(self) -> None:
        pass

    def _let_go(self) -> None:
        pass


class FileLock(ProcessLock):
    """Every process on this machine that opens ``path``: ``flock`` on it (let go by the kernel if the process
    dies)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._file: IO[bytes] | None = None

    def _take(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        held = self.path.open("ab")
        try:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        except BaseException:
            held.close()
            raise
        self._file = held

    def _let_go(self) -> None:
        held, self._file = self._file, None
        if held is not None:
            held.close()  # closing the file lets the lock go


class AdvisoryLock(ProcessLock):
    """Every process of the installation, on any machine: a PostgreSQL session advisory lock, held on a
    connection of its own for the batch (the server lets it go if the process dies)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self._conn: Connection | None = None

    def _take(self) -> None:
        conn = self.engine.connect()
        try:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_KEY})
            conn.commit()  # the lock is the session's, not the transaction's: nothing stays open
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        self._conn = conn

    def _let_go(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            conn.commit()
        except Exception:
            conn.invalidate()  # a closed session holds no lock
        finally:
            conn.close()


def for_database(engine: Engine, instance_path: Path) -> BatchLock:
    """The lock every process of an installation on this database shares."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    return FileLock(instance_path / "directory-batches.lock")


@contextlib.contextmanager
def held(lock: BatchLock) -> Iterator[None]:
    lock.acquire()
    try:
        yield
    finally:
        lock.release()
