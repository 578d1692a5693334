"""The fast way through a block of Roundcube's ``userlogins`` file: one regular expression, counts without events.

Roundcube's file (``[01-Oct-2026 07:30:27 +0700]: <b81fd7c2> Successful login for user@… (ID: 4237) from …``)
holds nothing but logins, and nearly every line is an event. Like :mod:`audit.fastlines` for Dovecot's file,
a block is scanned by one compiled pattern (``findall``, in C) that recognises the usual line whole, and is
counted into :class:`~audit.fastlines.BlockCounts` keyed by the local day's text, with last-seen as the largest
local stamp text (``2026-10-01 07:30:27``, which sorts like time and which :meth:`audit.timestamps.Clock.local`
turns into the datetime the line reader makes of the Roundcube stamp).

It is an accelerator, never a second parser: it gives up (returns None) unless it can prove it read every
line the general parser would, and read it the same way:

* the block holds exactly as many ``" login for "`` markers as the pattern matched lines (every marked line was
  matched whole, none held two);
* every stamp's offset is the zone's own offset all that day (checked at the day's first and last second, both
  folds: a zone changes its offset at most once a day), so the local day and time are the stamp's own; a stamp
  in another offset (a server in another zone, a daylight-saving day) sends the block to the line reader;
* every day text is a real date.

The address is the text after ``login for `` up to the optional `` (ID: n)`` and `` from ``: the pattern's
``\\S+`` stops where the line reader's lazy match stops, since what follows the address begins with a space.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo

from audit.fastlines import BlockCounts
from audit.programs import ROUNDCUBE_MARKERS
from audit.timestamps import MONTHS

_LINES = re.compile(
    r"^\[([0-9]{1,2}-[A-Z][a-z]{2}-[0-9]{4}) ((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]) ([+-][0-9]{4})\]: "
    r"<[0-9A-Za-z]*> (Successful|Failed) login for (\S+)(?: \(ID: [0-9]+\))? from \S",
    re.MULTILINE,
)
_MARKER = ROUNDCUBE_MARKERS[0]
WEBMAIL, FAILED = 2, 4  # index in DayUsage's counters (imap, pop3, webmail, smtp, failed…)
_DAYS: dict[tuple[str, str, tzinfo], str | None] = {}  # (day text, offset, zone) → local ISO day, None: not ours


def count_roundcube_block(text: str, tz: tzinfo) -> BlockCounts | None:
    """Counters of a block of whole lines of Roundcube's file, in zone ``tz``; None if it needs the line reader.

    Rows are keyed by ISO day text and the address as written; ``seen`` by (address, ``"webmail"``) with the
    largest local stamp text, for :meth:`audit.tally.DailyTally.add_block` with ``Clock.local``.
    """
    found = _LINES.findall(text)
    if len(found) != text.count(_MARKER):
        return None
    counts = BlockCounts()
    if not found:
        return counts
    rows = counts.rows
    seen = counts.seen
    isos: dict[tuple[str, str], str] = {}
    stamps: list[str] = []
    add_stamp = stamps.append
    for day_text, clock, offset, outcome, user in found:
        iso = isos.get((day_text, offset))
        if iso is None:
            iso = _local_day(day_text, offset, tz)
            if iso is None:
                return None
            isos[day_text, offset] = iso
        stamp = f"{iso} {clock}"
        add_stamp(stamp)
        key = (iso, user)
        row = rows.get(key)
        if row is None:
            row = rows[key] = [0] * 10
        if outcome == "Successful":
            row[WEBMAIL] += 1
            seen_key = (user, "webmail")
            if seen.get(seen_key, "") < stamp:
                seen[seen_key] = stamp
        else:
            row[FAILED] += 1
    counts.events = len(found)
    counts.first, counts.last, counts.last_in_order = min(stamps), max(stamps), stamps[-1]
    return counts


def _local_day(day_text: str, offset: str, tz: tzinfo) -> str | None:
    """The ISO text of ``day_text`` (``1-Oct-2026``) if ``offset`` is ``tz``'s all that day; else None."""
    key = (day_text, offset, tz)
    if key in _DAYS:
        return _DAYS[key]
    iso: str | None = None
    day_part, month_name, year = day_text.split("-")
    month = MONTHS.get(month_name)
    if month is not None:
        try:
            day = date(int(year), month, int(day_part))
        except ValueError:
            day = None
        if day is not None:
            sign = -1 if offset[0] == "-" else 1
            wanted = sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
            offsets = {
                datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz, fold=fold).utcoffset()
                for hour, minute, second in ((0, 0, 0), (23, 59, 59))
                for fold in (0, 1)
            }
            if offsets == {wanted}:
                iso = day.isoformat()
    if len(_DAYS) > 4096:
        _DAYS.clear()
    _DAYS[key] = iso
    return iso
