"""The "is everyone free then?" question as people type it (the booking form while it is filled in, the API,
the command line): the chosen points and groups, the day, start, end and set-up buffer. Reuses the field
parsers of ``meetings.inputs`` so a field is read the same way everywhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from meetings.env import MeetingEnv
from meetings.errors import MeetingsError
from meetings.inputs import parse_date, parse_int, parse_time, point_ids_from


@dataclass(frozen=True)
class AvailabilityQuery:
    point_ids: list[int]
    starts_at: dt.datetime  # local, aware
    ends_at: dt.datetime
    buffer_minutes: int | None
    ignore_meeting_ids: tuple[int, ...] = ()


def availability_query_from(session: Session, env: MeetingEnv, data: Mapping[str, Any]) -> AvailabilityQuery:
    """From a flat mapping: date, start, end, buffer_minutes, host_point_id, point_ids, groups, meeting_id (a
    meeting being changed, whose own holds do not count)."""
    day = parse_date(data.get("date"), "date")
    start = dt.datetime.combine(day, parse_time(data.get("start"), "start"), tzinfo=env.tz)
    end = dt.datetime.combine(day, parse_time(data.get("end"), "end"), tzinfo=env.tz)
    if end <= start:
        raise MeetingsError("end: must be after the start")
    host = parse_int(data.get("host_point_id"), "host point")
    ids = point_ids_from(session, data.get("point_ids"), data.get("groups"))
    ids = list(dict.fromkeys(([host] if host is not None else []) + ids))
    if not ids:
        raise MeetingsError("points: choose at least one bridge point or group")
    ignore = parse_int(data.get("meeting_id"), "meeting_id")
    return AvailabilityQuery(
        ids,
        start,
        end,
        parse_int(data.get("buffer_minutes"), "set-up buffer"),
        (ignore,) if ignore is not None else (),
    )
