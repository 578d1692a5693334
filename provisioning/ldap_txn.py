"""LDAP transactions (RFC 5805) on an open ldap3 connection: many writes stored by slapd in one database
transaction, one disk sync instead of one per write. ldap3 has no helper for them; the end request is encoded
here."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import ldap3
from ldap3.core.exceptions import LDAPException

from provisioning.ldap_pipeline import (
    REPLACE,
    Control,
    add_request,
    all_succeeded,
    length,
    modify_dn_request,
    modify_request,
    pipelined,
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
    """Add every entry inside one transaction on ``conn``; a refused add raises (nothing is written). The
    requests are BER-encoded by ``ldap_pipeline`` (ldap3's pyasn1 encoder took more of the client's time than
    slapd took to store them) and sent one at a time, as ldap3 would (see ``move_in_one_transaction``)."""
    adds = [add_request(dn, classes, attributes) for dn, classes, attributes in entries]
    in_one_transaction(conn, lambda control: all_succeeded(pipelined(conn, adds, control, window=1)))


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


def txn_end_request(identifier: bytes, *, commit: bool) -> bytes:
    """BER of ``txnEndReq ::= SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING }``."""
    body = (b"" if commit else b"\x01\x01\x00") + b"\x04" + length(len(identifier)) + identifier
    return b"\x30" + length(len(body)) + body
