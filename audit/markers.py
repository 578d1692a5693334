"""Which markers a block of log text is searched for, from the form of its first readable line.

A log file is written in one form (see :mod:`audit.parsing`): Dovecot's own file, Roundcube's ``userlogins``
file, or syslog (classic or RFC 3339) that mixes programs. The form decides which fixed strings
(:mod:`audit.programs`' markers) are worth a ``str.find`` over the block; the parser, the fast counters
(:mod:`audit.fastlines`, :mod:`audit.fastpostfix`) and the parallel reader (:mod:`audit.parallel`) all
ask here, so they agree on what a block holds.
"""

from __future__ import annotations

from audit.programs import DOVECOT_MARKERS, POSTFIX_MARKERS, ROUNDCUBE_MARKERS
from audit.timestamps import MONTHS

ALL_MARKERS = DOVECOT_MARKERS + POSTFIX_MARKERS + ROUNDCUBE_MARKERS


def line_form(line: str) -> tuple[str, ...] | None:
    """The markers worth looking for in a file whose lines look like this one; None if it looks like none."""
    if line[:1] == "[" and "]: " in line:
        return ROUNDCUBE_MARKERS
    if line[4:5] == "-" and line[7:8] == "-" and line[13:14] == ":":
        separator = line[10:11]
        if separator == " ":
            return DOVECOT_MARKERS  # Dovecot's own file
        if separator == "T":
            return ()  # RFC 3339 syslog: decided by the programs present
    elif line[:3] in MONTHS and line[3:4] == " " and line[9:10] == ":":
        return ()  # classic syslog
    return None


def first_form(text: str) -> tuple[str, ...] | None:
    """The form (see :func:`line_form`) of the block's first readable line among its first eight; else None."""
    start = 0
    for _ in range(8):
        end = text.find("\n", start)
        form = line_form(text[start : end if end >= 0 else len(text)])
        if form is not None:
            return form
        if end < 0:
            return None
        start = end + 1
    return None


def is_dovecot_file(text: str) -> bool:
    """Whether a block is in Dovecot's own file form (by its first readable line)."""
    return first_form(text) is DOVECOT_MARKERS


def follows_qmgr(text: str) -> bool:
    """Whether the parser reads a block's qmgr lines for a submission that waits (it holds Postfix's lines)."""
    return POSTFIX_MARKERS[0] in markers_for(text)


def markers_for(text: str) -> tuple[str, ...]:
    """The markers to look for in a block, from the form of its first readable line.

    A file is written in one form: Dovecot's file holds only Dovecot's lines, Roundcube's only Roundcube's.
    A syslog file mixes programs (and may mix classic and RFC 3339 timestamps, both syslog), so each
    program's markers are looked for only if its name appears (the test stops at the first occurrence, and
    spares several scans of a block that has none).
    """
    form = first_form(text)
    if form is None:
        return ALL_MARKERS
    if form:
        return form
    markers: tuple[str, ...] = ()
    if "postfix" in text:
        markers += POSTFIX_MARKERS
    if " dovecot" in text:  # the syslog tag, after the host (not "private/dovecot-lmtp" in Postfix's lines)
        markers += DOVECOT_MARKERS
    if "roundcube" in text:
        markers += ROUNDCUBE_MARKERS
    return markers


def find_markers(text: str, with_qmgr: bool) -> list[int]:
    """Positions of the markers in ``text``, sorted, shifted left one bit; qmgr positions have the low bit set."""
    hits: list[int] = []
    append = hits.append
    find = text.find
    markers = markers_for(text)
    for marker in markers:
        i = find(marker)
        while i >= 0:
            append(i << 1)
            i = find(marker, i + 1)
    if with_qmgr and POSTFIX_MARKERS[0] in markers:
        i = find("/qmgr[")
        while i >= 0:
            append(i << 1 | 1)
            i = find("/qmgr[", i + 1)
    hits.sort()
    return hits
