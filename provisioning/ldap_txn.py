"""LDAP transactions (RFC 5805) on an open ldap3 connection: many writes stored by slapd in one database
transaction, one disk sync instead of one per write. ldap3 has no helper for them; the end request is encoded
here."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import ldap3
from ldap3.core.exceptions import LDAPException

from provisioning.ldap_pipeline import (
    PRESENT_OBJECTCLASS,
    REPLACE,
    Control,
    add_request,
    all_succeeded,
    any_equal_filter,
    delete_request,
    length,
    modify_dn_request,
    modify_request,
    pipelined,
    search_one_level,
    split_rdn,
)

T = TypeVar("T")
TXN_START = "1.3.6.1.1.21.1"
TXN_SPEC_CONTROL = "1.3.6.1.1.21.2"
TXN_END = "1.3.6.1.1.21.3"


def in_one_transaction(conn: ldap3.Connection, write: Callable[[list[Control]], T]) -> T:
    """Run ``write`` (given the control that puts a request in the transaction) inside one transaction on
    ``conn`` and commit it. If ``write`` raises, the transaction is abandoned (nothing written) and the error
    goes on; a refused start or commit raises ldap3's error."""
    conn.extended(TXN_START)
    identifier = conn.result.get("responseValue") or b""
    try:
        done = write([(TXN_SPEC_CONTROL, True, identifier)])
    except (LDAPException, KeyError, ValueError):
        # slapd may already have ended it (then it answers with a code ldap3 cannot name): either way nothing
        # was written.
        with contextlib.suppress(LDAPException, KeyError, ValueError):
            conn.extended(TXN_END, txn_end_request(identifier, commit=False))
        raise
    conn.extended(TXN_END, txn_end_request(identifier, commit=True))
    return done


def add_in_one_transaction(
    conn: ldap3.Connection, entries: list[tuple[str, Iterable[str], Mapping[str, list[str]]]]
) -> None:
    """Add every entry inside one transaction on ``conn``; a refused add raises (nothing is written)."""

    def write(control: list[Control]) -> None:
        for dn, classes, attributes in entries:
            conn.add(dn, list(classes), {k: v for k, v in attributes.items() if v}, controls=control)

    in_one_transaction(conn, write)


def move_in_one_transaction(conn: ldap3.Connection, moves: list[tuple[str, str, Mapping[str, list[str]]]]) -> None:
    """Move every entry (modify DN to its new RDN and superior), then replace the attributes of all of them in one
    transaction on ``conn``. The moves go outside the transaction (slapd 2.5.13 crashes committing a transaction
    that holds a modify DN), pipelined: each costs slapd a disk sync, but none waits for the answer to the one
    before (they are independent: different entries, outside any transaction). The requests are BER-encoded by
    ``ldap_pipeline``, cheaper than ldap3's encoder. A refused move raises (the moves that landed stay done; the
    caller converges each entry the careful way)."""
    renames = [modify_dn_request(old, new) for old, new, _ in moves if old.lower() != new.lower()]
    all_succeeded(pipelined(conn, renames))
    changes = [
        modify_request(new, {name: (REPLACE, values) for name, values in attributes.items()})
        for _old, new, attributes in moves
    ]
    # One at a time (window 1), as ldap3 would: slapd 2.5.13 was seen crashing on a TXN END that arrived while the
    # transaction's last request, answered already, was still being worked on (a list's add, whose memberof work
    # ran long before memberOf was computed by dynlist); with several in flight, more of them could be.
    in_one_transaction(conn, lambda control: all_succeeded(pipelined(conn, changes, control, window=1)))


# What an entry keeps of slapd's own attributes when it is relocated: its identity (entryUUID, which syncrepl
# consumers and LDAP-federated applications key on), when and by whom it was made, and its password policy state.
CARRIED = (
    "entryUUID",
    "createTimestamp",
    "creatorsName",
    "pwdChangedTime",
    "pwdHistory",
    "pwdFailureTime",
    "pwdAccountLockedTime",
    "pwdReset",
    "pwdPolicySubentry",
)
RELAX_CONTROL = "1.3.6.1.4.1.4203.666.5.12"  # Relax Rules: lets the add carry the attributes above


def relocate_in_one_transaction(conn: ldap3.Connection, moves: list[tuple[str, str, Mapping[str, list[str]]]]) -> None:
    """Move every entry to its new DN with its new attributes, all in one transaction on ``conn``: one slapd
    database transaction and one disk sync for the run, where a modify DN costs one each.

    slapd 2.5 and 2.6 crash committing a transaction that holds a modify DN with a new superior next to any
    other request, so each move is written as what it is to the database: the entry deleted at its old DN and
    added at the new one, with every attribute it had (the password hash too) and slapd's own ones in
    :data:`CARRIED` (its entryUUID first: the same entry to replicas and to applications that follow it),
    under the Relax Rules control that allows them. The entries are read first; one not where the database
    last wrote it (or any refusal) raises, and nothing is written: the caller takes each the careful way."""
    held = _emptying(conn, moves)
    moves = [move for move in moves if move not in held]
    old_entries = _read_entries(conn, [old for old, _new, _attrs in moves])
    deletes: list[bytes] = []
    adds: list[bytes] = []
    for old, new, attributes in moves:
        entry = old_entries.get(old.lower())
        if entry is None:
            raise ValueError(f"{old} is not in the directory")
        rdn_name, rdn_value = _rdn(new)
        values = {name: list(vals) for name, vals in entry.items()}
        values = {name: vals for name, vals in values.items() if name.lower() != rdn_name.lower()}
        values[rdn_name] = [rdn_value.encode()]
        for name, vals in attributes.items():
            values[name] = [v.encode() for v in vals]
        deletes.append(delete_request(old))
        adds.append(add_request(new, {name: vals for name, vals in values.items() if vals}))
    controls = [(RELAX_CONTROL, True, None)]

    def write(control: list[Control]) -> None:
        # slapd queues a transaction's requests as they come and runs them in that order at its end. The deletes
        # are independent of each other, and so are the adds, but every add must come after the deletes (an
        # entry's old address becomes another's alias): all the deletes are answered before the first add goes.
        all_succeeded(pipelined(conn, deletes, [*control, *controls]))
        all_succeeded(pipelined(conn, adds, [*control, *controls]))

    in_one_transaction(conn, write)
    if held:
        move_in_one_transaction(conn, held)


def _emptying(
    conn: ldap3.Connection, moves: list[tuple[str, str, Mapping[str, list[str]]]]
) -> list[tuple[str, str, Mapping[str, list[str]]]]:
    """One move out of each parent the run would leave without children: slapd fails a transaction's commit
    that empties a parent (``other``, nothing written), so that entry goes by modify DN after it."""
    leaving: dict[str, list[tuple[str, str, Mapping[str, list[str]]]]] = {}
    for move in moves:
        leaving.setdefault(split_rdn(move[0])[1].lower(), []).append(move)
    held = []
    for parent, out in leaving.items():
        children = search_one_level(conn, parent, PRESENT_OBJECTCLASS, ["1.1"], size_limit=len(out) + 1)
        if len(children) <= len(out):
            held.append(out[-1])
    return held


def _read_entries(conn: ldap3.Connection, dns: list[str]) -> dict[str, dict[str, list[bytes]]]:
    """The entries at ``dns`` (by lower-cased DN): their user attributes and :data:`CARRIED`, as stored; one
    search per parent and 200 entries."""
    by_parent: dict[str, list[tuple[str, str]]] = {}
    for dn in dns:
        by_parent.setdefault(split_rdn(dn)[1], []).append(_rdn(dn))
    wanted = {dn.lower() for dn in dns}
    out: dict[str, dict[str, list[bytes]]] = {}
    for parent, rdns in by_parent.items():
        names = {name for name, _value in rdns}
        for name in names:
            values = [value for n, value in rdns if n == name]
            for start in range(0, len(values), 200):
                filter_ = any_equal_filter(name, values[start : start + 200])
                for dn, attributes in search_one_level(conn, parent, filter_, ["*", *CARRIED]):
                    if dn.lower() in wanted:
                        out[dn.lower()] = attributes
    return out


def _rdn(dn: str) -> tuple[str, str]:
    """The attribute and the (unescaped) value of ``dn``'s first RDN (single-valued, as congvu names entries)."""
    name, _, value = split_rdn(dn)[0].partition("=")
    raw, i = bytearray(), 0
    while i < len(value):
        if value[i] == "\\" and re.fullmatch(r"[0-9a-fA-F]{2}", value[i + 1 : i + 3]):
            raw.append(int(value[i + 1 : i + 3], 16))  # a UTF-8 byte written as hex
            i += 3
        elif value[i] == "\\" and i + 1 < len(value):
            raw += value[i + 1].encode()
            i += 2
        else:
            raw += value[i].encode()
            i += 1
    return name.strip(), raw.decode("utf-8", errors="replace")


def txn_end_request(identifier: bytes, *, commit: bool) -> bytes:
    """BER of ``txnEndReq ::= SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING }``."""
    body = (b"" if commit else b"\x01\x01\x00") + b"\x04" + length(len(identifier)) + identifier
    return b"\x30" + length(len(body)) + body
