"""Find a time: the earliest slots when every chosen bridge point is free, with the configured working hours,
holidays and set-up buffer. The search itself (one indexed query and a sweep) is ``meetings.availability``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from core.actors import Actor, PermissionDenied
from meetings.availability import Slot, find_slots
from meetings.env import MeetingEnv
from meetings.permissions import can_find_time


def find_free_slots(
    session: Session,
    actor: Actor,
    env: MeetingEnv,
    point_ids: Sequence[int],
    duration: dt.timedelta,
    first_day: dt.date,
    last_day: dt.date,
    *,
    buffer_minutes: int | None = None,
    limit: int = 5,
    not_before: dt.datetime | None = None,
) -> list[Slot]:
    """Free slots of ``duration`` for all ``point_ids`` between two local days. Whoever books meetings may search."""
    if not can_find_time(actor):
        raise PermissionDenied(f"{actor.name} may not search for a meeting time")
    buffer = env.buffer_minutes if buffer_minutes is None else buffer_minutes
    return find_slots(
        session,
        point_ids,
        duration,
        first_day,
        last_day,
        tz=env.tz,
        working_hours=env.working_hours,
        holidays=env.holidays,
        buffer=dt.timedelta(minutes=buffer),
        limit=limit,
        not_before=not_before,
    )
