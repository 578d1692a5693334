"""Who holds a bridge point when. A point is held from the start of the set-up buffer to the end.

A booking looks for overlapping holds of every chosen point first and refuses naming each one (on PostgreSQL
inside the statement that writes the meeting, ``bookings._insert_meetings``). On PostgreSQL an exclusion
constraint backs this up, so of two bookings committing at the same moment one is refused there and is answered
with the same conflict message; on SQLite writers take the database lock up front (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetings.availability import holds_between
from meetings.env import MeetingEnv
from meetings.errors import Conflict, MeetingConflict, MeetingsError
from meetings.models import BridgePoint, Meeting, MeetingPoint


def find_conflicts(
    session: Session,
    point_ids: Iterable[int],
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
    *,
    ignore_meeting_ids: Iterable[int] = (),
) -> list[Conflict]:
    """Every (point, meeting) hold overlapping one of ``spans`` (block start, end) for the given points."""
    ids = sorted(set(point_ids))
    if not ids or not spans:
        return []
    ignore = set(ignore_meeting_ids)
    lo = min(s for s, _ in spans)
    hi = max(e for _, e in spans)
    columns = (MeetingPoint.point_id, MeetingPoint.block_start, MeetingPoint.block_end, MeetingPoint.meeting_id)
    rows = session.execute(holds_between(ids, lo, hi, *columns)).all()
    hits: list[tuple[int, int]] = []
    ordered = sorted(spans)
    for point_id, b_start, b_end, meeting_id in rows:
        if meeting_id in ignore:
            continue
        if any(b_start < e and s < b_end for s, e in ordered):
            hits.append((point_id, meeting_id))
    if not hits:
        return []
    meetings = {m.id: m for m in session.scalars(select(Meeting).where(Meeting.id.in_({m for _, m in hits})))}
    points = {p.id: p for p in session.scalars(select(BridgePoint).where(BridgePoint.id.in_({p for p, _ in hits})))}
    seen: set[tuple[int, int]] = set()
    out: list[Conflict] = []
    for point_id, meeting_id in hits:
        if (point_id, meeting_id) in seen:
            continue
        seen.add((point_id, meeting_id))
        m = meetings[meeting_id]
        out.append(Conflict(point_id, points[point_id].name, m.id, m.title, m.starts_at, m.ends_at))
    return sorted(out, key=lambda c: (c.starts_at, c.point_name))


def refuse_conflicts(
    session: Session,
    env: MeetingEnv,
    point_ids: Iterable[int],
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
    *,
    ignore_meeting_ids: Iterable[int] = (),
) -> None:
    """Raise :class:`MeetingConflict` naming every busy point if any of ``point_ids`` is held during ``spans``."""
    conflicts = find_conflicts(session, point_ids, spans, ignore_meeting_ids=ignore_meeting_ids)
    if conflicts:
        raise MeetingConflict(conflicts, env.tz)


class HoldRefused(Exception):
    """The database's overlap rule left out a hold: a booking committed after the check holds the point."""


@contextmanager
def overlap_guard(
    session: Session, env: MeetingEnv, point_ids: Iterable[int], spans: Sequence[tuple[dt.datetime, dt.datetime]]
) -> Iterator[None]:
    """Run the writes in a savepoint opened before them; if the database's own overlap rule refuses them (a
    concurrent booking committed first), roll back to it and say who holds what."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as exc:
        if "no_overlap" not in str(exc.orig):
            raise
        raise _refusal(session, env, point_ids, spans) from None
    except HoldRefused:
        raise _refusal(session, env, point_ids, spans) from None


@contextmanager
def refusal_as_conflict(
    session: Session, env: MeetingEnv, point_ids: Iterable[int], spans: Sequence[tuple[dt.datetime, dt.datetime]]
) -> Iterator[None]:
    """For writes that only insert (a new booking): the holds' insert leaves out what the overlap rule refuses,
    the writer undoes its rows and raises :class:`HoldRefused`, and this says who holds what. No savepoint: a
    booking saves its two round trips, and the database still decides."""
    try:
        yield
    except HoldRefused:
        raise _refusal(session, env, point_ids, spans) from None


def _refusal(
    session: Session, env: MeetingEnv, point_ids: Iterable[int], spans: Sequence[tuple[dt.datetime, dt.datetime]]
) -> MeetingsError:
    conflicts = find_conflicts(session, point_ids, spans)
    if not conflicts:  # the booking that took the point was cancelled since
        return MeetingsError("points: another booking took one of them at the same moment; please try again")
    return MeetingConflict(conflicts, env.tz)
