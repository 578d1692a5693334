"""LDAP transactions (RFC 5805) on an open ldap3 connection: many adds stored by slapd in one database
transaction, one disk sync instead of one per entry. ldap3 has no helper for them; the end request is
encoded here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

import ldap3
from ldap3.core.exceptions import LDAPException

TXN_START = "1.3.6.1.1.21.1"
TXN_SPEC_CONTROL = "1.3.6.1.1.21.2"
TXN_END = "1.3.6.1.1.21.3"


def add_in_one_transaction(
    conn: ldap3.Connection, entries: list[tuple[str, Iterable[str], Mapping[str, list[str]]]]
) -> bool:
    """Add every entry inside one transaction on ``conn``: True if committed, False if an add was refused
    (the transaction is abandoned, nothing is written). A refused start or commit raises ldap3's error."""
    conn.extended(TXN_START)
    identifier = conn.result.get("responseValue") or b""
    control = [(TXN_SPEC_CONTROL, True, identifier)]
    try:
        for dn, classes, attributes in entries:
            conn.add(dn, list(classes), {k: v for k, v in attributes.items() if v}, controls=control)
    except (LDAPException, KeyError, ValueError):
        # Abandon the transaction; slapd may already have ended it (then it answers with a code ldap3 cannot
        # name): either way nothing was written.
        with contextlib.suppress(LDAPException, KeyError, ValueError):
            conn.extended(TXN_END, txn_end_request(identifier, commit=False))
        return False
    conn.extended(TXN_END, txn_end_request(identifier, commit=True))
    return True


def move_in_one_transaction(conn: ldap3.Connection, moves: list[tuple[str, str, Mapping[str, list[str]]]]) -> bool:
    """Move every entry (modify DN to its new RDN and superior), then replace the attributes of all of them in one
    transaction on ``conn``: True if committed, False if a change was refused. The moves go one by one, outside
    the transaction: slapd 2.5.13 crashes committing a transaction that holds a modify DN. A refused move raises
    ldap3's error (the earlier moves stay done; the caller converges each entry the careful way)."""
    for old_dn, new_dn, _attributes in moves:
        if old_dn.lower() != new_dn.lower():
            rdn, _, superior = new_dn.partition(",")
            conn.modify_dn(old_dn, rdn, delete_old_dn=True, new_superior=superior)
    conn.extended(TXN_START)
    identifier = conn.result.get("responseValue") or b""
    control = [(TXN_SPEC_CONTROL, True, identifier)]
    try:
        for _old_dn, new_dn, attributes in moves:
            changes = {name: [(ldap3.MODIFY_REPLACE, list(values))] for name, values in attributes.items()}
            conn.modify(new_dn, changes, controls=control)
    except (LDAPException, KeyError, ValueError):
        with contextlib.suppress(LDAPException, KeyError, ValueError):
            conn.extended(TXN_END, txn_end_request(identifier, commit=False))
        return False
    conn.extended(TXN_END, txn_end_request(identifier, commit=True))
    return True


def txn_end_request(identifier: bytes, *, commit: bool) -> bytes:
    """BER of ``txnEndReq ::= SEQUENCE { commit BOOLEAN DEFAULT TRUE, identifier OCTET STRING }``."""
    body = (b"" if commit else b"\x01\x01\x00") + b"\x04" + _ber_length(len(identifier)) + identifier
    return b"\x30" + _ber_length(len(body)) + body


def _ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw
