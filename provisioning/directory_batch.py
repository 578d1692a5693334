"""Many directory writes at once, for :class:`provisioning.directory.Directory`: adds over parallel connections,
LDAP transactions (one slapd database transaction and one disk sync for a run of entries) and pipelined moves."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import ldap3
from ldap3.core.exceptions import LDAPEntryAlreadyExistsResult, LDAPException

from provisioning.directory_lock import BatchLock, held
from provisioning.directory_types import UNAVAILABLE, DirectoryConfig, DirectoryError, DirectoryUnavailable
from provisioning.ldap_txn import (
    TXN_END,
    TXN_START,
    add_in_one_transaction,
    move_in_one_transaction,
)

T = TypeVar("T")


class BatchWrites:
    """Mixed into ``Directory``, whose connection, lock and ``_call`` these use."""

    if TYPE_CHECKING:
        config: DirectoryConfig
        _conn: ldap3.Connection | None
        _lock: threading.Lock
        _txn_supported: bool | None
        _mover: ThreadPoolExecutor | None
        _batches: BatchLock

        @property
        def conn(self) -> ldap3.Connection: ...
        def _connect(self) -> ldap3.Connection: ...
        def _call(self, what: str, fn: Callable[[ldap3.Connection], T]) -> T: ...

    def add_many(
        self, entries: list[tuple[str, Iterable[str], Mapping[str, list[str]]]], workers: int = 4
    ) -> list[str | DirectoryError]:
        """Add entries over ``workers`` parallel connections; per entry 'added', 'exists' or the error.

        ldapadd waits for each answer before sending the next entry; a few connections in parallel keep
        slapd busy while Python prepares the next request."""
        local = threading.local()
        opened: list[ldap3.Connection] = []
        lock = threading.Lock()

        def connection() -> ldap3.Connection:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = self._connect()
                local.conn = conn
                with lock:
                    opened.append(conn)
            return conn

        def add(entry: tuple[str, Iterable[str], Mapping[str, list[str]]]) -> str | DirectoryError:
            dn, classes, attributes = entry
            try:
                connection().add(dn, list(classes), {k: v for k, v in attributes.items() if v})
            except LDAPEntryAlreadyExistsResult:
                return "exists"
            except DirectoryError as exc:
                return exc
            except UNAVAILABLE as exc:
                return DirectoryUnavailable(f"add {dn}: directory {self.config.url} is unreachable: {exc}")
            except LDAPException as exc:
                return DirectoryError(f"add {dn}: {exc}")
            return "added"

        try:
            with held(self._batches), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ldap-add") as pool:
                return list(pool.map(add, entries))
        finally:
            for conn in opened:
                with contextlib.suppress(LDAPException):
                    conn.unbind()

    def supports_transactions(self) -> bool:
        """Does the server offer LDAP transactions (RFC 5805: start and end extended operations)?"""
        if self._txn_supported is None:

            def offered(c: ldap3.Connection) -> set[str]:
                c.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["supportedExtension"])
                return {str(v) for e in c.entries for v in e.entry_attributes_as_dict.get("supportedExtension", [])}

            try:
                self._txn_supported = {TXN_START, TXN_END} <= self._call("read the root DSE", offered)
            except DirectoryError:
                return False
        return self._txn_supported

    def add_in_transaction(self, entries: list[tuple[str, Iterable[str], Mapping[str, list[str]]]]) -> bool:
        """Add all ``entries`` in one LDAP transaction (RFC 5805): one slapd database transaction, one disk sync.
        True if committed; False (nothing written) if refused or not offered: the caller adds them one by one."""
        return bool(entries) and self._in_transaction(lambda conn: add_in_one_transaction(conn, entries))

    def move_in_background(self, moves: list[tuple[str, str, Mapping[str, list[str]]]]) -> Future[bool]:
        """Move entries to new DNs (pipelined), then set their attributes in one LDAP transaction (see ``ldap_txn``),
        on a thread of its own, so the caller prepares what comes next while slapd works. It returns at once, the
        connection's lock already taken for the moves: any other use of the
        admin connection (the next moves too) waits until they are over, so the directory sees every write in
        the order the jobs were recorded. The future tells whether all of it landed; if not (a move or a change
        refused), the caller takes each the careful way."""
        if not moves or not self.supports_transactions():
            return _settled(False)
        self._batches.acquire()  # both released by the mover thread (these locks may be released by any thread)
        self._lock.acquire()

        def run() -> bool:
            try:
                return self._transaction_held(lambda conn: move_in_one_transaction(conn, moves))
            finally:
                self._lock.release()
                self._batches.release()

        try:
            if self._mover is None:
                self._mover = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ldap-move")
            return self._mover.submit(run)
        except BaseException:
            self._lock.release()
            self._batches.release()
            raise

    def _in_transaction(self, run: Callable[[ldap3.Connection], None]) -> bool:
        # On the shared admin connection, under the lock for the whole transaction: nothing interleaves, and no
        # extra bind (each costs slapd an argon2 verification, ~150 ms).
        if not self.supports_transactions():
            return False
        with held(self._batches), self._lock:
            return self._transaction_held(run)

    def _transaction_held(self, run: Callable[[ldap3.Connection], None]) -> bool:
        try:
            conn = self.conn
        except DirectoryError:
            return False
        try:
            run(conn)
        except (LDAPException, KeyError, ValueError, OSError):
            if conn.closed:  # refused: slapd applied nothing; a broken connection is reopened next time
                self._conn = None
            return False
        return True


def _settled(value: bool) -> Future[bool]:
    future: Future[bool] = Future()
    future.set_result(value)
    return future
