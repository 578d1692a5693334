"""Reading meetings for pages, the API and the command line: one meeting with what its page shows, or the
meetings of a period. Anyone signed in sees the board, so these check no permission."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from meetings.models import MAX_MEETING_HOURS, Meeting, MeetingPoint

LONGEST = dt.timedelta(hours=MAX_MEETING_HOURS)


def overlapping(start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
    """The conditions of a meeting overlapping [start, end). No meeting lasts longer than ``MAX_MEETING_HOURS``
    (meetings.operations.bookings.check_draft refuses it on every booking and change), so one that overlaps
    started after ``start - LONGEST``: that bound keeps the query a short range of the index on ``starts_at``
    instead of every meeting before ``end`` (50,000 meetings over two years: 10 ms a query on SQLite)."""
    return [Meeting.starts_at < end, Meeting.starts_at > start - LONGEST, Meeting.ends_at > start]


def load_meeting(session: Session, meeting_id: int) -> Meeting | None:
    """One meeting with what its page, its mail and its attendance summary read: host, points, invited people,
    attendance and roll calls."""
    return session.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(
            selectinload(Meeting.host_point),
            selectinload(Meeting.points).selectinload(MeetingPoint.point),
            selectinload(Meeting.invitees),
            selectinload(Meeting.attendance),
            selectinload(Meeting.roll_calls),
        )
    )


def visible_meetings(
    session: Session, start: dt.datetime, end: dt.datetime, point_id: int | None = None
) -> list[Meeting]:
    """Meetings overlapping [start, end) (optionally those holding one point), with points loaded."""
    query = (
        select(Meeting)
        .where(*overlapping(start, end))
        .options(selectinload(Meeting.points).selectinload(MeetingPoint.point), selectinload(Meeting.host_point))
        .order_by(Meeting.starts_at, Meeting.id)
    )
    if point_id is not None:
        query = query.where(Meeting.points.any(MeetingPoint.point_id == point_id))
    return list(session.scalars(query))
