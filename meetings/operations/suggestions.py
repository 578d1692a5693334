"""Find a time: the earliest slots when every chosen bridge point is free, with the configured working hours,
holidays and set-up buffer. The search itself (one indexed query and a sweep) is ``meetings.availability``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.actors import Actor, PermissionDenied
from meetings.availability import Slot, find_slots
from meetings.env import MeetingEnv
from meetings.errors import Conflict
from meetings.operations.conflicts import find_conflicts
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


@dataclass(frozen=True)
class Availability:
    """Which chosen points are held at a proposed time (each with the meeting holding it), and the nearest time
    when all of them are free."""

    busy: list[Conflict]
    nearest: Slot | None

    @property
    def is_free(self) -> bool:
        return not self.busy


def check_availability(
    session: Session,
    actor: Actor,
    env: MeetingEnv,
    point_ids: Sequence[int],
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    buffer_minutes: int | None = None,
    ignore_meeting_ids: Sequence[int] = (),
    search_days: int = 14,
) -> Availability:
    """The busy points of a proposed booking and, when some are, the common free slot of the same length nearest
    to it (same day before or after, else the following working days). Whoever books meetings may ask."""
    if not can_find_time(actor):
        raise PermissionDenied(f"{actor.name} may not look up bridge point availability")
    buffer = dt.timedelta(minutes=env.buffer_minutes if buffer_minutes is None else buffer_minutes)
    busy = find_conflicts(session, point_ids, [(starts_at - buffer, ends_at)], ignore_meeting_ids=ignore_meeting_ids)
    if not busy or ends_at <= starts_at:
        return Availability(busy, None)
    duration = ends_at - starts_at
    local = starts_at.astimezone(env.tz)
    common = {
        "tz": env.tz,
        "working_hours": env.working_hours,
        "holidays": env.holidays,
        "buffer": buffer,
    }
    same_day = find_slots(session, point_ids, duration, local.date(), local.date(), limit=48, **common)
    before = [s for s in same_day if s.start < local]
    after = find_slots(
        session,
        point_ids,
        duration,
        local.date(),
        local.date() + dt.timedelta(days=search_days),
        limit=1,
        not_before=max(starts_at, dt.datetime.now(dt.UTC)),
        **common,
    )
    now = dt.datetime.now(dt.UTC)
    candidates = [s for s in [*(before[-1:]), *after] if s.start >= now]
    nearest = min(candidates, key=lambda s: abs(s.start - local), default=None)
    return Availability(busy, nearest)
