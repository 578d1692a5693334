"""The fast way through a block of Postfix's classic syslog lines: one regular expression, counts without events.

Of Postfix's lines only two kinds are read: a SASL submission (``QID: client=name[ip], sasl_method=PLAIN,
sasl_username=user``), with the qmgr ``QID: from=<…>, size=N, nrcpt=N`` line that follows it, and a SASL
failure (``warning: name[ip]: SASL LOGIN authentication failed: …``). One in twenty lines of ``mail.log`` is
one of them, but the line reader spends a dozen Python calls on each (find the line, cut it, read its header,
parse its stamp, make an event, add it to the tally). Here each line holding a marker is matched whole by one
compiled pattern, each submission's qmgr line is looked for where the line reader looks for it (the first
``" QID: from=<"`` after the submission's line) and read by a second anchored pattern, and the block is
counted into :class:`~audit.fastlines.BlockCounts` keyed by the local day's text, stamps turned into local
ISO text once each (``Clock.local`` turns them back into the datetime the line reader makes of them).

It is an accelerator, never a second parser: it gives up (returns None) unless it can prove it reads every
line the line reader would, the same way. The caller sends it a block only when no submission waits from an
earlier block (the line reader then follows only each submission's own qmgr line); every line holding a
marker (of every program :func:`audit.markers.markers_for` would look for) must match the pattern, and hold
only one; a submission's qmgr line must be qmgr's, about that queue id, with its size and recipients;
every stamp must be a date. What is left waiting (a qmgr line in the next block) is handed back.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from audit.events import MalformedLine
from audit.fastlines import BlockCounts
from audit.programs import bounded_put
from audit.timestamps import Stamp

_HEAD = r"\n([A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}) [^ \n]+ (postfix[^:\n]*): "
# Groups: 1 stamp, 2 tag; a submission 3 queue id, 4 client address, 5 SASL user; a failure 6 client address.
_LINES = re.compile(
    _HEAD + r"(?:([0-9A-Za-z]+): client=[^\[\n]*\[([^\]\n]*)\][^\n]*?sasl_username=([^\s,]+)"
    r"|warning: [^\[\s]*\[([^\]\s]*)\]:(?:[0-9]+:)? SASL \S+ authentication failed)"
)
_QMGR = re.compile(_HEAD + r"([0-9A-Za-z]+): from=<[^\n]*?size=([0-9]+), nrcpt=([0-9]+)")
SMTP, FAILED, SENT, RECIPIENTS, BYTES_SENT = 3, 4, 5, 6, 7  # index in DayUsage's counters


@dataclass(slots=True)
class PostfixCounts:
    """A block's counters, and the submissions still waiting for their qmgr line (queue id → (user, when))."""

    counts: BlockCounts
    waiting: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    dropped: int = 0


def count_postfix_block(
    text: str, markers: Sequence[str], clock: Stamp, queue_cap: int, webmail_ips: Collection[str] = ()
) -> PostfixCounts | None:
    """Counters of a block of whole classic syslog lines, read from an empty queue; None if it needs the reader.

    ``markers`` are those the line reader would look for in this block, ``clock`` is ``Clock.syslog``.
    """
    text = "\n" + text  # every line starts after a newline, where the patterns start
    found = _marked_lines(text, markers)
    if found is None:
        return None
    result = PostfixCounts(BlockCounts())
    counts = result.counts
    waiting: dict[str, tuple[str, str]] = {}  # queue id → (user, stamp text), as the line reader's queue
    rows, seen = counts.rows, counts.seen
    days: dict[str, str] = {}  # "Oct  1" → "2026-10-01", for days wholly in one year

    def local(stamp: str) -> str:
        """``Oct  1 00:00:49`` → ``2026-10-01 00:00:49``, as Clock.syslog reads it (MalformedLine if it cannot)."""
        day = days.get(stamp[:6])
        if day is not None and stamp[7:9] < "24" and stamp[10] < "6" and stamp[13] < "6":
            return f"{day} {stamp[7:]}"
        at = clock(stamp)
        if clock(stamp[:6] + " 00:00:00").year == clock(stamp[:6] + " 23:59:59").year:
            days[stamp[:6]] = at.isoformat()[:10]
        return at.isoformat(" ")[:19]

    order: list[str] = []  # the local stamp text of each event, in the order the line reader yields them

    def row(day: str, address: str | None) -> list[int]:
        values = rows.get((day, address))
        if values is None:
            values = rows[day, address] = [0] * 10
        return values

    try:
        for m in found:
            stamp, tag, qid, ip, user, failed_ip = m.groups()
            if "/qmgr" in tag:
                return None  # the line reader reads it as qmgr's
            iso = local(stamp)
            if failed_ip is not None:
                row(iso[:10], None)[FAILED] += 1
                order.append(iso)
                continue
            address = user.lower()
            if ip not in webmail_ips:
                row(iso[:10], address)[SMTP] += 1
                _see(seen, address, iso)
                order.append(iso)
            if bounded_put(waiting, qid, (address, stamp), queue_cap):
                result.dropped += 1
            qmgr_at = text.find(f" {qid}: from=<", text.find("\n", m.end()))
            if qmgr_at < 0:
                continue  # in the next block: it waits
            q = _QMGR.match(text, text.rfind("\n", 0, qmgr_at))
            if q is None or "/qmgr" not in q[2] or q.start(3) != qmgr_at + 1 or q[3] != qid or qid not in waiting:
                return None
            del waiting[qid]
            sent_iso = local(q[1])
            sent = row(sent_iso[:10], address)
            sent[SENT] += 1
            sent[RECIPIENTS] += int(q[5])
            sent[BYTES_SENT] += int(q[4])
            _see(seen, address, sent_iso)
            order.append(sent_iso)
    except MalformedLine:
        return None
    result.waiting = {qid: (address, clock(stamp)) for qid, (address, stamp) in waiting.items()}
    counts.events = len(order)
    if order:
        counts.first, counts.last, counts.last_in_order = min(order), max(order), order[-1]
    return result


def _marked_lines(text: str, markers: Sequence[str]) -> list[re.Match[str]] | None:
    """The lines holding a marker, each matched whole, in order; None if one is not or holds two markers."""
    hits: list[int] = []
    find = text.find
    for marker in markers:
        i = find(marker)
        while i >= 0:
            hits.append(i)
            i = find(marker, i + 1)
    hits.sort()
    found: list[re.Match[str]] = []
    match = _LINES.match
    rfind = text.rfind
    last_start = -1
    for pos in hits:
        start = rfind("\n", 0, pos)
        m = match(text, start) if start > last_start else None
        if m is None:
            return None
        found.append(m)
        last_start = start
    return found


def _see(seen: dict[tuple[str, str], str], address: str, iso: str) -> None:
    key = (address, "smtp")
    if seen.get(key, "") < iso:
        seen[key] = iso
