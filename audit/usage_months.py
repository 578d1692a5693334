"""A month's use per mailbox from the monthly rollups (``usage_months``, the sums of ``usage_days`` kept in the
transaction that writes them: migration 0014, audit.ingest.store_tally): one row per mailbox instead of one per
day, in the shape the report's figures take; and what a tally adds to them.

Working days are counted from the month's bitmask of days with an interactive login, against the calendar asked
for (holidays may be configured after the days were ingested).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from operator import add
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.mailbox_figures import FEW, rows_by_id
from audit.models import UsageMonth
from audit.tally import COUNTERS

BY_ID = 8 * FEW  # a district's few thousand mailboxes: fewer rows read by id than the whole month's 30,000
LOGINS = tuple(COUNTERS.index(c) for c in ("imap_logins", "pop3_logins", "webmail_logins", "smtp_logins"))


def day_mask(days: Collection[dt.date]) -> int:
    """The bits of ``days`` (of one month) as ``UsageMonth.active_days`` sets them: bit ``d - 1`` for day ``d``."""
    mask = 0
    for day in days:
        mask |= 1 << (day.day - 1)
    return mask


def month_rows(days: dict[tuple[int, dt.date], list[int]]) -> list[tuple[object, ...]]:
    """What counters per mailbox and day (``COUNTERS`` order) add to their months: (staff id, month's first day,
    *COUNTERS, the bits of the days with a login). A day's bit is the same whether it was new or already had
    counts: an addition with logins makes the day active, one without leaves it as it was."""
    months: dict[tuple[int, dt.date], list[int]] = {}
    firsts: dict[dt.date, tuple[dt.date, int]] = {}  # day -> (its month's first day, its bit)
    imap, pop3, webmail, smtp = LOGINS
    for (staff_id, day), counts in days.items():
        first = firsts.get(day)
        if first is None:
            first = firsts[day] = (day.replace(day=1), 1 << (day.day - 1))
        key = (staff_id, first[0])
        bit = first[1] if counts[imap] or counts[pop3] or counts[webmail] or counts[smtp] else 0
        sums = months.get(key)
        if sums is None:
            months[key] = [*counts, bit]
        else:
            months[key] = [*map(add, sums, counts), sums[-1] | bit]
    return [(staff_id, month, *sums) for (staff_id, month), sums in months.items()]


def month_usage(
    session: Session, first: dt.date, work: Collection[dt.date], only: Collection[int] | None = None
) -> dict[int, tuple[int, ...]]:
    """Per mailbox with days recorded in the month that starts on ``first``: (logins, working days active, sent
    messages, imap, pop3, webmail, smtp logins, failed), what the month's days sum to.
    With ``only``, those mailboxes' (asked by id, ``FEW`` at a time, when they are up to ``BY_ID``; else the
    month's rows filtered after)."""
    return months_usage(session, [first], work, only)[first]


def months_usage(
    session: Session, firsts: Collection[dt.date], work: Collection[dt.date], only: Collection[int] | None = None
) -> dict[dt.date, dict[int, tuple[int, ...]]]:
    """:func:`month_usage` of each month starting on one of ``firsts`` (``work``: the working days of all of
    them): for a few mailboxes of ``only`` (a unit's 12-month trend) one query per ``FEW`` of them for all the
    months together; else one query per month, each month's rows whole."""
    m = UsageMonth
    figures = (
        m.staff_id,
        m.imap_logins,
        m.pop3_logins,
        m.webmail_logins,
        m.smtp_logins,
        m.failed_logins,
        m.sent_messages,
        m.active_days,
    )
    found: Iterable[Any]
    if only is not None and len(only) <= BY_ID:
        found = rows_by_id(session, select(m.month, *figures).where(m.month.in_(sorted(firsts))), m.staff_id, only)
    else:
        # A month's whole rollup (30,000 rows): one query a month, so no row carries its month to be parsed, read
        # through the session's connection, without the ORM's per-row work (0.9 s instead of 1.5–1.8 s for 12
        # months of 30,000 mailboxes). The flush first, as the session's own query would.
        session.flush()
        conn = session.connection()
        found = (
            (first, *row) for first in sorted(firsts) for row in conn.execute(select(*figures).where(m.month == first))
        )
    work_bits = {
        first: day_mask([d for d in work if d.year == first.year and d.month == first.month]) for first in firsts
    }
    out: dict[dt.date, dict[int, tuple[int, ...]]] = {first: {} for first in firsts}
    for month, staff_id, imap, pop3, webmail, smtp, failed, sent, days in found:
        if only is not None and staff_id not in only:
            continue
        out[month][staff_id] = (
            imap + pop3 + webmail + smtp,
            (days & work_bits[month]).bit_count(),
            sent,
            imap,
            pop3,
            webmail,
            smtp,
            failed,
        )
    return out
