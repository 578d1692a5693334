"""Months of the monthly report: parsing ``YYYY-MM``, a month's first and last day, the month before, and a
local day's midnight as the UTC instant the usage and meetings tables are queried with."""

from __future__ import annotations

import datetime as dt


class ReportError(ValueError):
    """The report cannot be built as asked; the message names the field."""


def parse_month(text: str) -> str:
    try:
        value = dt.datetime.strptime(text.strip(), "%Y-%m")
    except ValueError:
        raise ReportError(f"month: {text[:20]!r} is not a month (YYYY-MM)") from None
    if not 2000 <= value.year <= 2099:  # a month's bounds beyond these overflow the calendar
        raise ReportError(f"month: {text[:20]!r} must lie between 2000-01 and 2099-12")
    return f"{value.year:04d}-{value.month:02d}"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    year, mon = (int(x) for x in month.split("-"))
    first = dt.date(year, mon, 1)
    nxt = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def previous_month(month: str) -> str:
    first, _ = month_bounds(month)
    prev = first - dt.timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def months_until(month: str, count: int) -> list[str]:
    """The ``count`` months ending with ``month``, oldest first."""
    wanted = [month]
    while len(wanted) < count:
        wanted.append(previous_month(wanted[-1]))
    return wanted[::-1]


def local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def month_span(month: str, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The month as the UTC instants [start, end) of its first and the next month's first local midnight."""
    first, last = month_bounds(month)
    return local_midnight(first, tz), local_midnight(last + dt.timedelta(days=1), tz)
