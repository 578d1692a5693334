"""The OpenLDAP directory through ldap3: a thread-safe admin connection, idempotent upserts, password checks.

DNs, filters and attribute values come from ``provisioning.entries``; nothing here builds them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import urlparse

import ldap3
from ldap3.core.exceptions import LDAPEntryAlreadyExistsResult, LDAPException

from provisioning.directory_batch import BatchWrites
from provisioning.directory_lock import BatchLock, ProcessLock
from provisioning.directory_types import (
    UNAVAILABLE,
    DirectoryConfig,
    DirectoryError,
    DirectoryUnavailable,
    EntryExists,
)
from provisioning.entries import mail_filter

__all__ = ["UNAVAILABLE", "Directory", "DirectoryConfig", "DirectoryError", "DirectoryUnavailable", "EntryExists"]
T = TypeVar("T")


def _text(value: object) -> str:
    # Binary values (a password hash with stray bytes, as slapd 2.5's argon2 module stores it) come as bytes.
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class Directory(BatchWrites):
    """A thread-safe admin connection to slapd, opened lazily and reopened after a failure."""

    def __init__(self, config: DirectoryConfig, batches: BatchLock | None = None) -> None:
        """``batches``: the lock every process writing to this slapd shares (``directory_lock``); without it,
        this process's own batches are kept apart only."""
        self.config = config
        self._batches = batches or ProcessLock()
        self._conn: ldap3.Connection | None = None
        self._txn_supported: bool | None = None
        self._mover: ThreadPoolExecutor | None = None  # see BatchWrites.move_in_background
        self._lock = threading.Lock()

    def _server(self) -> ldap3.Server:
        return ldap3.Server(self.config.url, connect_timeout=self.config.timeout_seconds, get_info=ldap3.NONE)

    def _probe(self) -> None:
        """Refuse fast, with our own socket: ldap3 leaks its socket when the connect is refused."""
        parsed = urlparse(self.config.url)
        if parsed.scheme == "ldapi":
            return
        port = parsed.port or (636 if parsed.scheme == "ldaps" else 389)
        try:
            with socket.create_connection((parsed.hostname or "localhost", port), self.config.timeout_seconds):
                pass
        except OSError as exc:
            raise DirectoryUnavailable(f"directory {self.config.url} is unreachable: {exc}") from exc

    def _connect(self) -> ldap3.Connection:
        self._probe()
        conn = ldap3.Connection(
            self._server(),
            user=self.config.bind_dn,
            password=self.config.bind_password,
            receive_timeout=self.config.timeout_seconds,
            raise_exceptions=True,
        )
        try:
            conn.open()
            conn.bind()
        except UNAVAILABLE as exc:
            conn.unbind()  # ldap3 leaves the half-open socket behind otherwise
            raise DirectoryUnavailable(f"directory {self.config.url} is unreachable: {exc}") from exc
        except LDAPException as exc:
            conn.unbind()
            raise DirectoryError(f"cannot bind to {self.config.url} as {self.config.bind_dn}: {exc}") from exc
        return conn

    @property
    def conn(self) -> ldap3.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        with self._lock:  # waits for moves still on the mover thread
            self._drop()
        if self._mover is not None:
            self._mover.shutdown(wait=True)
            self._mover = None

    def _attempt(self, fn: Callable[[ldap3.Connection], T]) -> T:
        conn = self.conn
        return fn(conn)

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(LDAPException):
                self._conn.unbind()
            self._conn = None

    def _call(self, what: str, fn: Callable[[ldap3.Connection], T]) -> T:
        with self._lock:
            try:
                try:
                    return self._attempt(fn)
                except UNAVAILABLE:
                    # A connection opened before slapd restarted is dead; one fresh attempt tells.
                    self._drop()
                    return self._attempt(fn)
            except UNAVAILABLE as exc:
                self._drop()
                raise DirectoryUnavailable(f"{what}: directory {self.config.url} is unreachable") from exc
            except LDAPEntryAlreadyExistsResult as exc:
                # Also what a retried add meets when the first attempt landed before the connection broke.
                raise EntryExists(f"{what}: the entry exists already") from exc
            except LDAPException as exc:
                if self._conn is not None and self._conn.closed:
                    self._conn = None
                raise DirectoryError(f"{what}: {exc}") from exc

    # -- reading -------------------------------------------------------------------------------------

    def read(self, dn: str, attributes: Iterable[str] = ("*",)) -> dict[str, list[str]] | None:
        """Attributes of one entry, or None if it does not exist."""

        def run(conn: ldap3.Connection) -> dict[str, list[str]] | None:
            try:
                conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=list(attributes))
            except ldap3.core.exceptions.LDAPNoSuchObjectResult:
                return None
            if not conn.entries:
                return None
            return {k: [_text(v) for v in vals] for k, vals in conn.entries[0].entry_attributes_as_dict.items()}

        return self._call(f"read {dn}", run)

    def find_by_mail(self, address: str) -> str | None:
        def run(conn: ldap3.Connection) -> str | None:
            conn.search(self.config.base_dn, mail_filter(address), ldap3.SUBTREE, attributes=[])
            return conn.entries[0].entry_dn if conn.entries else None

        return self._call(f"find {address}", run)

    def search(
        self, base: str, filter_: str, attributes: Iterable[str] = ("*",), scope: str = ldap3.SUBTREE
    ) -> list[tuple[str, dict[str, list[str]]]]:
        def run(conn: ldap3.Connection) -> list[tuple[str, dict[str, list[str]]]]:
            gen = conn.extend.standard.paged_search(
                base, filter_, scope, attributes=list(attributes), paged_size=500, generator=True
            )
            out = []
            for item in gen:
                if item.get("type") == "searchResEntry":
                    attrs = {
                        k: [str(v) for v in (vals if isinstance(vals, list) else [vals])]
                        for k, vals in item["attributes"].items()
                    }
                    out.append((item["dn"], attrs))
            return out

        return self._call(f"search {base}", run)

    def check_password(self, address: str, password: str) -> str | None:
        """Bind as the mailbox owner: the DN if slapd accepts the password, else None. Never reads userPassword."""
        if not password:
            return None  # an empty password would be an unauthenticated bind that "succeeds"
        dn = self.find_by_mail(address)
        if dn is None:
            return None
        return dn if self.check_dn_password(dn, password) else None

    def check_dn_password(self, dn: str, password: str) -> bool:
        """Bind as ``dn`` with ``password`` on a connection of its own; True if slapd accepts it."""
        if not password:
            return False
        user_conn = ldap3.Connection(
            self._server(), user=dn, password=password, receive_timeout=self.config.timeout_seconds
        )
        try:
            return bool(user_conn.bind())
        except UNAVAILABLE as exc:
            raise DirectoryUnavailable(f"directory {self.config.url} is unreachable") from exc
        except LDAPException:
            return False
        finally:
            user_conn.unbind()  # closes the socket whether or not the bind succeeded

    # -- writing -------------------------------------------------------------------------------------

    def upsert(self, dn: str, object_classes: Iterable[str], attributes: Mapping[str, list[str]]) -> str:
        """Make the entry at ``dn`` carry exactly ``attributes`` (empty list = absent). Returns what it did:
        'added', 'modified' or 'unchanged'."""
        current = self.read(dn, [*list(attributes), "objectClass"])
        if current is None:
            wanted = {k: v for k, v in attributes.items() if v}
            try:
                self._call(f"add {dn}", lambda c: c.add(dn, list(object_classes), wanted))
                return "added"
            except EntryExists:
                # Another worker added it between our read and our add: it is there, so compare it as any other.
                current = self.read(dn, [*list(attributes), "objectClass"])
                if current is None:
                    raise  # and gone again already; the job is retried
        changes: dict[str, list[tuple[str, list[str]]]] = {}
        missing_classes = [
            oc for oc in object_classes if oc.lower() not in {v.lower() for v in current.get("objectClass", [])}
        ]
        if missing_classes:
            changes["objectClass"] = [(ldap3.MODIFY_ADD, missing_classes)]
        for name, values in attributes.items():
            have = current.get(name, [])
            if sorted(have) == sorted(values):
                continue
            if values:
                changes[name] = [(ldap3.MODIFY_REPLACE, list(values))]
            elif have:
                changes[name] = [(ldap3.MODIFY_DELETE, [])]
        if not changes:
            return "unchanged"
        self._call(f"modify {dn}", lambda c: c.modify(dn, changes))
        return "modified"

    def move(self, old_dn: str, new_dn: str) -> None:
        rdn, _, superior = new_dn.partition(",")
        self._call(f"move {old_dn}", lambda c: c.modify_dn(old_dn, rdn, new_superior=superior))

    def delete(self, dn: str) -> bool:
        def run(conn: ldap3.Connection) -> bool:
            try:
                conn.delete(dn)
            except ldap3.core.exceptions.LDAPNoSuchObjectResult:
                return False
            return True

        return self._call(f"delete {dn}", run)

    def delete_tree(self, dn: str) -> int:
        """Delete an entry and everything under it, deepest first. Returns how many entries went."""
        entries = [d for d, _ in self.search(dn, "(objectClass=*)", ["1.1"])]
        for entry_dn in sorted(entries, key=lambda d: d.count(","), reverse=True):
            self.delete(entry_dn)
        return len(entries)

    def change_own_password(self, dn: str, old_password: str, new_password: str) -> bool:
        """The owner changes their password, bound as themselves; ppolicy clears the must-change mark.
        False if the old password is wrong."""
        conn = ldap3.Connection(
            self._server(), user=dn, password=old_password, receive_timeout=self.config.timeout_seconds
        )
        try:
            if not conn.bind():
                return False
            # The bind proved the old password; slapd's ACL lets the owner write but not read the hash,
            # so it could not verify an old password sent again.
            return bool(conn.extend.standard.modify_password(dn, None, new_password))
        except UNAVAILABLE as exc:
            raise DirectoryUnavailable(f"directory {self.config.url} is unreachable") from exc
        finally:
            with contextlib.suppress(LDAPException):
                conn.unbind()

    def set_must_change(self, dn: str, must_change: bool) -> None:
        """Set or clear ppolicy's pwdReset: the owner must change the password at first use."""

        def run(conn: ldap3.Connection) -> None:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["pwdReset"])
            has = bool(conn.entries) and "pwdReset" in conn.entries[0].entry_attributes_as_dict
            if must_change:
                conn.modify(dn, {"pwdReset": [(ldap3.MODIFY_REPLACE, ["TRUE"])]})
            elif has:
                conn.modify(dn, {"pwdReset": [(ldap3.MODIFY_DELETE, [])]})

        self._call(f"set pwdReset of {dn}", run)

    def must_change(self, dn: str) -> bool:
        entry = self.read(dn, ["pwdReset"]) or {}
        return (entry.get("pwdReset") or ["FALSE"])[0].upper() == "TRUE"

    def set_password(self, dn: str, new_password: str) -> None:
        """LDAP Password Modify extended operation: slapd hashes the password with its configured scheme."""
        self._call(
            f"set password of {dn}",
            lambda c: c.extend.standard.modify_password(user=dn, new_password=new_password),
        )
