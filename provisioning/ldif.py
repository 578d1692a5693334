"""A small RFC 2849 reader for directory exports (``slapcat``, ``ldapsearch -LLL``, other products' LDIF).

Reads content records: ``dn:`` then ``attribute: value`` lines, base64 values (``::``), folded lines (a line
that starts with one space continues the previous one), comments (``#``, folded too), a ``version:`` line,
CRLF line ends, a byte-order mark, and ``changetype: add`` records (other change types are refused). Values
given by URL (``:<``) are not fetched. Never touches the database; a line it cannot read is reported with its
number and the rest of the file is still read (the record it belongs to is skipped).

:func:`redact_passwords` rewrites a file so that no password an import would not keep (cleartext, weak or
unknown hashes) is stored with the upload: the line numbers stay the same.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from provisioning.password_hashes import NOT_KEPT, classify

_ATTRIBUTE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)((?:;[A-Za-z0-9-]+)*)$")


@dataclass
class Entry:
    """One record: its DN, the line it starts on, attribute names (lower case, options dropped) → values."""

    dn: str
    line: int
    attributes: dict[str, list[str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # attribute → line of its first value

    def first(self, name: str) -> str:
        values = self.attributes.get(name.lower()) or [""]
        return values[0].strip()

    def values(self, name: str) -> list[str]:
        return self.attributes.get(name.lower(), [])


@dataclass(frozen=True)
class Problem:
    """A line that could not be read; ``dn`` is the record's if its ``dn:`` line was read."""

    line: int
    message: str
    dn: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class _Logical:
    first: int  # number of its first physical line
    last: int
    text: str


def _physical_lines(content: bytes) -> Iterator[tuple[int, str | None]]:
    """(number, text) per line; text None if the line is not UTF-8."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    for number, raw in enumerate(content.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def _logical_lines(content: bytes) -> Iterator[_Logical | Problem]:
    """Unfolded lines; a blank line is yielded as an empty text (it ends a record)."""
    current: list[str] = []
    first = last = 0
    for number, text in _physical_lines(content):
        if text is None:
            if current:
                yield _Logical(first, last, "".join(current))
                current = []
            yield Problem(number, "not UTF-8 text (non-ASCII values must be base64, 'attribute:: …')")
            continue
        if text.startswith(" ") and current:
            current.append(text[1:])
            last = number
            continue
        if current:
            yield _Logical(first, last, "".join(current))
        if text.startswith(" "):
            yield Problem(number, "a continued line without a line before it")
            current = []
            continue
        current, first, last = [text], number, number
    if current:
        yield _Logical(first, last, "".join(current))


def _split(line: _Logical) -> tuple[str, str] | Problem:
    """(attribute name, value) of an ``attr: value`` / ``attr:: base64`` line."""
    name, sep, rest = line.text.partition(":")
    if not sep:
        return Problem(line.first, f"expected 'attribute: value', got {line.text[:60]!r}")
    match = _ATTRIBUTE.match(name.strip())
    if match is None or name != name.strip():
        return Problem(line.first, f"{name[:60]!r} is not an attribute name")
    name = match.group(1).lower()
    if rest.startswith(":"):
        encoded = rest[1:].strip()
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return Problem(line.first, f"{name}: the base64 value cannot be decoded")
        try:
            return name, raw.decode("utf-8")
        except UnicodeDecodeError:
            return Problem(line.first, f"{name}: the base64 value is not UTF-8 text")
    if rest.startswith("<"):
        return Problem(line.first, f"{name}: values given by URL (':<') are not read")
    return name, rest.lstrip(" ")


def read_entries(content: bytes) -> Iterator[Entry | Problem]:
    """The file's records in order, and a :class:`Problem` for each line that cannot be read.

    A record with a problem is not yielded (its problem names it); reading goes on with the next record."""
    entry: Entry | None = None
    broken = False  # the current record had a problem: skip to its end
    expecting_version = True
    for item in _logical_lines(content):
        if isinstance(item, Problem):
            yield Problem(item.line, item.message, entry.dn if entry else "")
            broken = True
            continue
        if item.text.startswith("#"):
            continue
        if item.text.strip() == "":
            if entry is not None and not broken:
                yield entry
            entry, broken = None, False
            continue
        if broken:
            continue
        pair = _split(item)
        if isinstance(pair, Problem):
            yield Problem(pair.line, pair.message, entry.dn if entry else "")
            broken = True
            continue
        name, value = pair
        if entry is None:
            if name == "version" and expecting_version:
                expecting_version = False
                if value.strip() != "1":
                    yield Problem(item.first, f"version {value.strip()[:10]!r}: only LDIF version 1 is read")
                continue
            expecting_version = False
            if name != "dn":
                yield Problem(item.first, f"a record must start with 'dn:', not {name!r}")
                broken = True
                continue
            entry = Entry(dn=value.strip(), line=item.first)
            continue
        if name == "control":
            continue
        if name == "changetype":
            if value.strip().lower() != "add":
                yield Problem(
                    item.first,
                    f"changetype {value.strip()[:20]!r}: only entries (or 'changetype: add') are read",
                    entry.dn,
                )
                broken = True
            continue
        entry.attributes.setdefault(name, []).append(value)
        entry.lines.setdefault(name, item.first)
    if entry is not None and not broken:
        yield entry


def redact_passwords(content: bytes, keep: Callable[[str], bool] | None = None) -> bytes:
    """The file with every ``userPassword`` value that is not a hash to keep replaced by a marker naming only
    its scheme (``{NOT-KEPT}MD5``), folded lines of it turned into comments: line numbers do not change.

    ``keep`` decides (default: a hash slapd verifies, see :mod:`provisioning.password_hashes`); pass
    ``lambda _v: False`` to remove every password."""
    keep = keep or (lambda value: classify(value).is_kept)
    lines = content.split(b"\n")
    out = [line if _is_utf8(line) else b"\xff" for line in lines]  # still unreadable, without its bytes
    for item in _logical_lines(content):
        if isinstance(item, Problem) or item.text.startswith("#"):
            continue
        name = item.text.partition(":")[0].split(";")[0].strip().lower()
        if name != "userpassword":
            continue
        pair = _split(item)
        if isinstance(pair, Problem):
            label = "unreadable"
        else:
            verdict = classify(pair[1])
            if keep(pair[1]):
                continue
            label = verdict.scheme
        # Physical lines first..last (1-based) are replaced one for one.
        ending = b"\r" if lines[item.first - 1].endswith(b"\r") else b""
        out[item.first - 1] = f"userPassword: {NOT_KEPT}{label}".encode() + ending
        for number in range(item.first + 1, item.last + 1):
            out[number - 1] = b"#" + ending
    return b"\n".join(out)


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
