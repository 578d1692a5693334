"""Recurrence rules: daily, weekly on chosen weekdays, monthly by date or by "first Monday"; until a date or
for a count. Expansion happens in local time (so 08:00 stays 08:00), and the same rule is written as an
iCalendar RRULE for the invitation.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

FREQS = ("daily", "weekly", "monthly_date", "monthly_weekday")
MAX_OCCURRENCES = 366
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class RecurrenceError(ValueError):
    """The rule cannot be used; the message names the field."""


@dataclass(frozen=True)
class Recurrence:
    freq: str
    interval: int = 1
    weekdays: tuple[int, ...] = ()  # 0 = Monday; weekly only (empty: the first start's weekday)
    until: dt.date | None = None
    count: int | None = None

    def validate(self) -> Recurrence:
        if self.freq not in FREQS:
            raise RecurrenceError(f"recurrence: frequency must be one of {', '.join(FREQS)}; got {self.freq!r}")
        if not 1 <= self.interval <= 52:
            raise RecurrenceError("recurrence: interval must be between 1 and 52")
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise RecurrenceError("recurrence: weekdays must be 0 (Monday) to 6 (Sunday)")
        if (self.until is None) == (self.count is None):
            raise RecurrenceError("recurrence: give either an end date (until) or a number of occurrences (count)")
        if self.count is not None and not 1 <= self.count <= MAX_OCCURRENCES:
            raise RecurrenceError(f"recurrence: count must be between 1 and {MAX_OCCURRENCES}")
        return self

    @property
    def weekdays_text(self) -> str:
        return ",".join(str(d) for d in sorted(set(self.weekdays)))

    @classmethod
    def from_text(cls, freq: str, interval: int, weekdays: str, until: dt.date | None, count: int | None) -> Recurrence:
        days = tuple(int(d) for d in weekdays.split(",") if d.strip())
        return cls(freq, interval, days, until, count)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date | None:
    """The ``nth`` (1–4, or 5 = last) ``weekday`` of a month."""
    days = [
        d for d in range(1, calendar.monthrange(year, month)[1] + 1) if dt.date(year, month, d).weekday() == weekday
    ]
    if nth == 5:
        return dt.date(year, month, days[-1])
    return dt.date(year, month, days[nth - 1]) if nth <= len(days) else None


def week_of_month(day: dt.date) -> int:
    """1–4 for "first".."fourth" weekday of its kind in the month; 5 for a fifth, which means "last"."""
    return (day.day - 1) // 7 + 1


def expand(rule: Recurrence, first: dt.datetime) -> list[dt.datetime]:
    """Local start datetimes of every occurrence, beginning with ``first`` (which must match the rule)."""
    rule.validate()
    tz = first.tzinfo
    local = first.replace(tzinfo=None)
    limit = rule.count or MAX_OCCURRENCES
    out: list[dt.datetime] = []

    def accept(day: dt.date) -> bool:
        """Add the occurrence on ``day``; False once the rule has ended."""
        if rule.until is not None and day > rule.until:
            return False
        if len(out) >= limit:
            return False
        out.append(dt.datetime.combine(day, local.time(), tzinfo=tz))
        return True

    if rule.freq == "daily":
        day = local.date()
        while accept(day):
            day += dt.timedelta(days=rule.interval)
    elif rule.freq == "weekly":
        weekdays = sorted(set(rule.weekdays)) or [local.weekday()]
        monday = local.date() - dt.timedelta(days=local.weekday())
        running = True
        while running:
            for wd in weekdays:
                day = monday + dt.timedelta(days=wd)
                if day < local.date():
                    continue
                if not accept(day):
                    running = False
                    break
            monday += dt.timedelta(weeks=rule.interval)
    else:
        start = local.date()
        nth = week_of_month(start)
        months = 0
        misses = 0
        while True:
            year, month0 = divmod(start.month - 1 + months, 12)
            year += start.year
            if rule.freq == "monthly_date":
                last = calendar.monthrange(year, month0 + 1)[1]
                day = dt.date(year, month0 + 1, start.day) if start.day <= last else None
            else:
                day = _nth_weekday(year, month0 + 1, start.weekday(), nth)
            months += rule.interval
            if day is None:  # 31st in a 30-day month: skipped, as iCalendar does
                misses += 1
                if misses > 48:
                    break
                continue
            if not accept(day):
                break
    if not out or out[0].replace(tzinfo=None) != local:
        raise RecurrenceError("recurrence: the first start date does not match the rule (e.g. a weekday not chosen)")
    return out


def to_rrule(rule: Recurrence, first: dt.datetime) -> str:
    """The rule as an iCalendar RRULE value (UNTIL in UTC, the end of the until day in local time)."""
    parts: list[str] = []
    if rule.freq == "daily":
        parts.append("FREQ=DAILY")
    elif rule.freq == "weekly":
        days = sorted(set(rule.weekdays)) or [first.weekday()]
        parts += ["FREQ=WEEKLY", "BYDAY=" + ",".join(ICAL_DAYS[d] for d in days)]
    elif rule.freq == "monthly_date":
        parts += ["FREQ=MONTHLY", f"BYMONTHDAY={first.day}"]
    else:
        nth = week_of_month(first.date())
        parts += ["FREQ=MONTHLY", f"BYDAY={'-1' if nth == 5 else nth}{ICAL_DAYS[first.weekday()]}"]
    if rule.interval != 1:
        parts.append(f"INTERVAL={rule.interval}")
    if rule.count is not None:
        parts.append(f"COUNT={rule.count}")
    elif rule.until is not None:
        end = dt.datetime.combine(rule.until, dt.time(23, 59, 59), tzinfo=first.tzinfo).astimezone(dt.UTC)
        parts.append("UNTIL=" + end.strftime("%Y%m%dT%H%M%SZ"))
    return ";".join(parts)
