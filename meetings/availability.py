"""Find a time: the earliest slots in working hours where every chosen point is free, buffer included.

One indexed query loads the holds of the chosen points over the range; they are merged into one busy line
(a slot is free only if no chosen point is held), and each working span of each working day is swept
against it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Select, cast, func, select
from sqlalchemy.orm import Session

from meetings.models import MAX_BUFFER_MINUTES, MAX_MEETING_HOURS, MeetingPoint

LOOKBACK = dt.timedelta(hours=MAX_MEETING_HOURS, minutes=MAX_BUFFER_MINUTES)


@dataclass(frozen=True)
class Slot:
    start: dt.datetime  # local, aware
    end: dt.datetime


def holds_between(point_ids: Iterable[int], start: dt.datetime, end: dt.datetime, *columns: Any) -> Select[Any]:
    """The active holds of the points that overlap [start, end), oldest first. The lower bound on block_start
    (no meeting is longer than the look-back) keeps it a range scan of the (point_id, block_start) index."""
    return (
        select(*columns)
        .where(
            MeetingPoint.point_id.in_(sorted(set(point_ids))),
            MeetingPoint.is_active,
            MeetingPoint.block_start < end,
            MeetingPoint.block_start > start - LOOKBACK,
            MeetingPoint.block_end > start,
        )
        .order_by(MeetingPoint.block_start)
    )


def _epoch_seconds(column: Any, dialect: str) -> Any:
    """The column as whole seconds since 1970 (UTC), computed by the database: thousands of holds are merged as
    integers and only the merged intervals become datetimes (holds lie on the minute grid)."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column), BigInteger)
    return cast(func.strftime("%s", column), BigInteger)  # SQLite keeps UTC text; strftime reads it as UTC


def busy_line(
    session: Session, point_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Merged [start, end) intervals during which at least one of the points is held."""
    dialect = session.get_bind().dialect.name
    columns = (_epoch_seconds(MeetingPoint.block_start, dialect), _epoch_seconds(MeetingPoint.block_end, dialect))
    merged: list[list[int]] = []
    # Through the connection (plain rows, no ORM loading), already in block_start order: thousands of rows
    # merged as they come, not sorted again as row objects.
    for b_start, b_end in session.connection().execute(holds_between(point_ids, start, end, *columns)):
        if merged and b_start <= merged[-1][1]:
            if b_end > merged[-1][1]:
                merged[-1][1] = b_end
        else:
            merged.append([b_start, b_end])
    at = dt.datetime.fromtimestamp
    return [(at(b_start, dt.UTC), at(b_end, dt.UTC)) for b_start, b_end in merged]


def working_days(first: dt.date, last: dt.date, holidays: frozenset[dt.date]) -> list[dt.date]:
    days = []
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in holidays:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def find_slots(
    session: Session,
    point_ids: Sequence[int],
    duration: dt.timedelta,
    first_day: dt.date,
    last_day: dt.date,
    *,
    tz: dt.tzinfo,
    working_hours: Sequence[tuple[dt.time, dt.time]],
    holidays: frozenset[dt.date] = frozenset(),
    buffer: dt.timedelta = dt.timedelta(0),
    step: dt.timedelta = dt.timedelta(minutes=15),
    limit: int = 5,
    not_before: dt.datetime | None = None,
) -> list[Slot]:
    """Up to ``limit`` earliest non-overlapping slots of ``duration`` (the meeting inside working hours, its
    set-up buffer before it) when every point is free."""
    if not point_ids or duration <= dt.timedelta(0) or last_day < first_day:
        return []
    range_start = dt.datetime.combine(first_day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    range_end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    busy = busy_line(session, point_ids, range_start - buffer, range_end)
    starts = [b[0] for b in busy]
    step_s = int(step.total_seconds())
    found: list[Slot] = []
    earliest = not_before.astimezone(dt.UTC) if not_before else None
    for day in working_days(first_day, last_day, holidays):
        for span_from, span_to in working_hours:
            t = dt.datetime.combine(day, span_from, tzinfo=tz).astimezone(dt.UTC)
            stop = dt.datetime.combine(day, span_to, tzinfo=tz).astimezone(dt.UTC)
            if earliest is not None and t < earliest:
                t = _align(earliest, t, step_s)
            if found and t < found[-1].end.astimezone(dt.UTC):
                t = _align(found[-1].end.astimezone(dt.UTC), t, step_s)
            while t + duration <= stop:
                lo, hi = t - buffer, t + duration
                i = bisect.bisect_left(starts, hi)  # intervals starting before hi: only i-1 can still overlap
                clash = busy[i - 1] if i and busy[i - 1][1] > lo else None
                if clash is None:
                    found.append(Slot(t.astimezone(tz), (t + duration).astimezone(tz)))
                    if len(found) >= limit:
                        return found
                    t = _align(t + duration, t, step_s)
                    continue
                t = _align(clash[1] + buffer, t, step_s)
    return found


def _align(target: dt.datetime, origin: dt.datetime, step_s: int) -> dt.datetime:
    """The first time ≥ target on the grid origin + k·step."""
    if target <= origin:
        return origin
    k = -(-int((target - origin).total_seconds()) // step_s)
    return origin + dt.timedelta(seconds=k * step_s)
