"""The fast way through a block of Dovecot's own file log: one regular expression, counts without events.

Dovecot's file (``2026-11-22 06:11:46 imap-login: Info: Login: user=<…>``) is the largest log by far (14 M
lines a month for 30,000 mailboxes) and four lines in five are events. Read one by one — find the line, cut
it, parse its timestamp into a datetime, build an event, add it to the tally — each costs a dozen Python calls.
Here a block is scanned by one compiled pattern (``findall``, in C) that recognises the standard lines whole:
a login (2.3 ``Login:``, 2.4 ``Logged in:``), a refused login (``(auth failed, N attempts``) and the end of an
IMAP or POP3 session in Dovecot's default ``logout_format``. The day is the stamp's first ten characters, and
last-seen is the largest stamp text (the form sorts like time); datetimes are made once per block, for the
few stamps that survive.

It is an accelerator, never a second parser: it gives up (returns None) unless it can prove it read every
line the general parser would: each of the pattern's forms contains one of the Dovecot markers, so if the
block holds exactly as many marker occurrences as the pattern matched lines, every marked line was matched
whole and none held two. Anything else (another logout format, a malformed line, ``managesieve-login``
failures, a timestamp that is not a date) sends the block to :class:`audit.parsing.LogParser`'s line reader,
which counts it the usual way. What a matched line yields is exactly what that reader makes of it (see
:mod:`audit.programs`): tests compare the two on every form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter

from audit.programs import DOVECOT_MARKERS

_STAMP = r"\n([0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]) "
_SERVICE = r"(imap|pop3|submission)-login: (?:Info: )?"
# Groups: 1 stamp; login 2 service, 3 user; refusal 4 service, 5 attempts, 6 user; IMAP end 7 user,
# 8 reason, 9 out, 10 bodies; POP3 end 11 user, 12 reason, 13 bodies, 14 bytes; 15 another login process.
# Character classes leave out what would let the line reader find its field earlier in the line: no "<"
# before user=<, no ":" in a process name, no "(" before "(auth failed". A session end's reason may hold "="
# (``state=wait-input``): the loop checks it holds no " out=", "body_count=" or "retr=". The reason is read a word
# at a time (``(?:[^ ]*+ )*?``: the same first " in=" as ``[^\n]*? in=``, in a step per word, not per character:
# half the pattern's time); it keeps its last space.
_LINES = re.compile(
    _STAMP
    + "(?:"
    + _SERVICE
    + r"Log(?:in|ged in): user=<([^>\n]+)>"
    + "|"
    + _SERVICE
    + r"(?!Log(?:in|ged in): )[^()<=\n]*\(auth failed, ([0-9]+) attempts?[^<=\n]*user=<([^>\n]*)>"
    + r"|imap\(([^():\n]+)\)(?:<[^<>:\n]*>)*: (?:Info: )?((?:[^ \n]*+ )*?)in=[0-9]+ out=([0-9]+) deleted=[0-9]+ "
    r"expunged=[0-9]+ trashed=[0-9]+ hdr_count=[0-9]+ hdr_bytes=[0-9]+ body_count=([0-9]+)"
    + r"|pop3\(([^():\n]+)\)(?:<[^<>:\n]*>)*: (?:Info: )?((?:[^ \n]*+ )*?)top=[0-9]+/[0-9]+, retr=([0-9]+)/([0-9]+)"
    + r"|([a-z0-9-]*-login): [^\n]*?(?:in: user=<|\(auth failed, )"
    + ")"
)
_CHANNELS = {"imap": 0, "pop3": 1, "submission": 3}  # index in DayUsage's counters (imap, pop3, webmail, smtp)
SEEN_CHANNELS = {"imap": "imap", "pop3": "pop3", "submission": "smtp"}
_COUNTED_LOGIN_PROCESSES = frozenset({"imap-login", "pop3-login", "submission-login"})
FAILED, BODIES, BYTES_FETCHED = 4, 8, 9
_DATES: dict[str, date] = {}
_STAMP_OF = itemgetter(0)


@dataclass(slots=True)
class BlockCounts:
    """One block's counters, keyed by text: ``rows[(day text, address)]`` in DayUsage's order, failures that
    name no address under address None, ``seen[(address, service)]`` the largest stamp text. Addresses are
    as the log wrote them and services as Dovecot names them (``submission``): :meth:`DailyTally.add_block`
    lowers the one and names the channel of the other, once per row instead of once per line."""

    rows: dict[tuple[str, str | None], list[int]] = field(default_factory=dict)
    seen: dict[tuple[str, str], str] = field(default_factory=dict)
    events: int = 0
    first: str = ""  # the smallest and largest stamp texts of the block's events
    last: str = ""
    last_in_order: str = ""  # the stamp of the block's last event (the parser's "latest")


def count_dovecot_block(text: str) -> BlockCounts | None:
    """Counters of a block of whole lines in Dovecot's file form, or None if it needs the line reader."""
    found = _LINES.findall("\n" + text)
    if len(found) != sum(text.count(marker) for marker in DOVECOT_MARKERS):
        return None
    counts = BlockCounts()
    rows = counts.rows
    seen = counts.seen
    get_seen = seen.get
    others = 0  # lines of other login processes: matched, not events
    for (
        stamp,
        l_service,
        l_user,
        f_service,
        f_attempts,
        f_user,
        i_user,
        i_reason,
        i_out,
        i_bodies,
        p_user,
        p_reason,
        p_bodies,
        p_bytes,
        other,
    ) in found:
        if l_user:
            key = (stamp[:10], l_user)
            row = rows.get(key)
            if row is None:
                row = rows[key] = [0] * 10
            row[_CHANNELS[l_service]] += 1
            seen_key = (l_user, l_service)
        elif i_user:
            if "=" in i_reason and (" out=" in i_reason or "body_count=" in i_reason):
                return None  # the line reader would take the figure from the reason
            key = (stamp[:10], i_user)
            row = rows.get(key)
            if row is None:
                row = rows[key] = [0] * 10
            row[BODIES] += int(i_bodies)
            row[BYTES_FETCHED] += int(i_out)
            seen_key = (i_user, "imap")
        elif p_user:
            if "retr=" in p_reason:
                return None
            key = (stamp[:10], p_user)
            row = rows.get(key)
            if row is None:
                row = rows[key] = [0] * 10
            row[BODIES] += int(p_bodies)
            row[BYTES_FETCHED] += int(p_bytes)
            seen_key = (p_user, "pop3")
        elif f_service:
            key = (stamp[:10], f_user or None)  # type: ignore[assignment]
            row = rows.get(key)
            if row is None:
                row = rows[key] = [0] * 10
            row[FAILED] += int(f_attempts)
            continue  # a refusal says nothing of when the mailbox was last used
        elif other in _COUNTED_LOGIN_PROCESSES:
            return None  # a line of a counted service the pattern did not read whole
        else:
            others += 1  # another service's login (managesieve): not use of the mailbox, as in the line reader
            continue
        if get_seen(seen_key, "") < stamp:
            seen[seen_key] = stamp
    events = [entry for entry in found if not entry[14]] if others else found
    counts.events = len(events)
    if events:
        stamps = list(map(_STAMP_OF, events))
        counts.first, counts.last, counts.last_in_order = min(stamps), max(stamps), stamps[-1]
        if not _valid_days(rows):
            return None
    return counts


def _valid_days(rows: dict[tuple[str, str | None], list[int]]) -> bool:
    """Every day text is a real date (the pattern lets 2026-02-30 through; the line reader refuses it)."""
    for day_text, _ in rows:
        if day_text not in _DATES:
            try:
                _DATES[day_text] = date.fromisoformat(day_text)
            except ValueError:
                return False
            if len(_DATES) > 4096:
                _DATES.clear()
    return True


def day_of(text: str) -> date:
    """The date of a day text that :func:`count_dovecot_block` accepted."""
    day = _DATES.get(text)
    return day if day is not None else date.fromisoformat(text)
