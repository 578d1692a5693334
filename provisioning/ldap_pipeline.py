"""Many write requests pipelined on one open ldap3 connection: sent without waiting for each answer (a window
of them in flight), the answers read back in whatever order slapd finishes them.

The requests are BER-encoded here: ldap3's pyasn1 encoder costs more than slapd's work for a small modify. Only
independent requests may share a pipeline (slapd runs one connection's requests on several threads): moves of
different entries, or the modifies of one transaction. Used with the connection's lock held, so nothing else
reads from the socket meanwhile; any socket trouble closes the connection (the stream is no longer in step).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import ldap3
from ldap3.core.exceptions import (
    LDAPException,
    LDAPSessionTerminatedByServerError,
    LDAPSocketReceiveError,
    LDAPSocketSendError,
)

WINDOW = 64  # requests in flight: well under slapd's per-connection limit (olcConnMaxPendingAuth, 1000)
ADD, DELETE, REPLACE = 0, 1, 2  # ModifyRequest operation
Control = tuple[str, bool, bytes]


class Refused(LDAPException):
    """slapd answered a pipelined request with an error (the first one is named)."""


@dataclass(frozen=True)
class Outcome:
    code: int  # LDAP resultCode, 0 = success
    message: str


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + length(len(body)) + body


def octets(value: str | bytes, tag: int = 0x04) -> bytes:
    return tlv(tag, value.encode() if isinstance(value, str) else value)


def _boolean(value: bool) -> bytes:
    return tlv(0x01, b"\xff" if value else b"\x00")


def split_rdn(dn: str) -> tuple[str, str]:
    """``dn``'s first RDN and the rest, split at the first comma that is not escaped (``cn=a\\,b,ou=x``)."""
    escaped = False
    for i, char in enumerate(dn):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            return dn[:i], dn[i + 1 :]
    return dn, ""


def modify_dn_request(dn: str, new_dn: str) -> bytes:
    """ModifyDNRequest [APPLICATION 12]: to ``new_dn``'s RDN under its parent, the old RDN value removed."""
    rdn, superior = split_rdn(new_dn)
    return tlv(0x6C, octets(dn) + octets(rdn) + _boolean(True) + octets(superior, 0x80))


def modify_request(dn: str, changes: Mapping[str, tuple[int, Iterable[str]]]) -> bytes:
    """ModifyRequest [APPLICATION 6]; ``changes`` maps an attribute to (ADD | DELETE | REPLACE, values)."""
    items = b"".join(
        tlv(0x30, tlv(0x0A, bytes([op])) + tlv(0x30, octets(name) + tlv(0x31, b"".join(octets(v) for v in values))))
        for name, (op, values) in changes.items()
    )
    return tlv(0x66, octets(dn) + tlv(0x30, items))


def add_request(dn: str, object_classes: Iterable[str], attributes: Mapping[str, Iterable[str] | str]) -> bytes:
    """AddRequest [APPLICATION 8]: the entry with its object classes; an attribute without values is left out
    (LDAP refuses an empty one), as ldap3's ``add`` is given them."""

    def attribute(name: str, values: Iterable[str] | str) -> bytes:
        if isinstance(values, str):  # one value given bare, as ldap3 accepts it: not its characters
            values = [values]
        return tlv(0x30, octets(name) + tlv(0x31, b"".join(octets(v) for v in values)))

    items = attribute("objectClass", object_classes) + b"".join(
        attribute(name, values) for name, values in attributes.items() if values
    )
    return tlv(0x68, octets(dn) + tlv(0x30, items))


def _message(message_id: int, request: bytes, controls: Sequence[Control]) -> bytes:
    body = tlv(0x02, message_id.to_bytes((message_id.bit_length() + 8) // 8, "big")) + request
    if controls:
        body += tlv(0xA0, b"".join(tlv(0x30, octets(oid) + _boolean(crit) + octets(v)) for oid, crit, v in controls))
    return tlv(0x30, body)


def _element(data: bytes | bytearray, pos: int) -> tuple[int, int, int] | None:
    """(tag, start of content, end of content) of the BER element at ``pos``, or None if not all received."""
    if pos + 2 > len(data):
        return None
    first = data[pos + 1]
    start = pos + 2
    if first & 0x80:
        start += first & 0x7F
        if start > len(data):
            return None
        size = int.from_bytes(data[pos + 2 : start], "big")
    else:
        size = first
    return (data[pos], start, start + size) if start + size <= len(data) else None


def _answer(data: bytes) -> tuple[int, Outcome]:
    """(messageID, outcome) of one complete LDAPMessage holding an LDAPResult."""
    _tag, start, _end = _element(data, 0)  # type: ignore[misc]
    _tag, id_start, id_end = _element(data, start)  # type: ignore[misc]
    message_id = int.from_bytes(data[id_start:id_end], "big")
    op_tag, op_start, _op_end = _element(data, id_end)  # type: ignore[misc]
    if message_id == 0:  # unsolicited: slapd's notice of disconnection
        raise LDAPSessionTerminatedByServerError("the directory ended the session")
    _tag, code_start, code_end = _element(data, op_start)  # type: ignore[misc]
    _tag, _dn_start, dn_end = _element(data, code_end)  # type: ignore[misc]
    _tag, text_start, text_end = _element(data, dn_end)  # type: ignore[misc]
    text = data[text_start:text_end].decode("utf-8", errors="replace")
    return message_id, Outcome(int.from_bytes(data[code_start:code_end], "big"), f"[{op_tag:#x}] {text}")


def pipelined(
    conn: ldap3.Connection, requests: Sequence[bytes], controls: Sequence[Control] = (), window: int = WINDOW
) -> list[Outcome]:
    """Send every request (each from ``*_request``) on ``conn`` with ``controls``, at most ``window`` awaiting an
    answer; the outcomes in the order of ``requests``. A broken connection raises ldap3's socket errors."""
    sock = conn.socket
    outcomes: list[Outcome | None] = [None] * len(requests)
    waiting: dict[int, int] = {}  # messageID -> index
    buffer = bytearray()
    sent = 0
    try:
        while sent < len(requests) or waiting:
            if sent < len(requests) and len(waiting) < window:
                batch = []
                while sent < len(requests) and len(waiting) < window:
                    message_id = conn.server.next_message_id()
                    waiting[message_id] = sent
                    batch.append(_message(message_id, requests[sent], controls))
                    sent += 1
                try:
                    sock.sendall(b"".join(batch))
                except OSError as exc:
                    raise LDAPSocketSendError(f"sending to the directory: {exc}") from exc
            try:
                data = sock.recv(65536)
            except OSError as exc:  # a timeout too
                raise LDAPSocketReceiveError(f"receiving from the directory: {exc}") from exc
            if not data:
                raise LDAPSessionTerminatedByServerError("the directory closed the connection")
            buffer += data
            while (found := _element(buffer, 0)) is not None:
                message_id, outcome = _answer(bytes(buffer[: found[2]]))
                del buffer[: found[2]]
                outcomes[waiting.pop(message_id)] = outcome
    except (LDAPException, KeyError, TypeError):
        with contextlib.suppress(LDAPException, OSError):
            conn.strategy.close()  # the answers still on the way would confuse the next request
        raise
    return outcomes  # type: ignore[return-value]


def all_succeeded(outcomes: Sequence[Outcome]) -> None:
    """Raise :class:`Refused` naming the first refusal, if any."""
    for outcome in outcomes:
        if outcome.code != 0:
            raise Refused(f"refused ({outcome.code}): {outcome.message}")
