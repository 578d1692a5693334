"""Reading meetings for pages, the API and the command line: one meeting with what its page shows, or the
meetings of a period. Anyone signed in sees the board, so these check no permission."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from meetings.models import Meeting, MeetingPoint


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
        .where(Meeting.starts_at < end, Meeting.ends_at > start)
        .options(selectinload(Meeting.points).selectinload(MeetingPoint.point), selectinload(Meeting.host_point))
        .order_by(Meeting.starts_at, Meeting.id)
    )
    if point_id is not None:
        query = query.where(Meeting.points.any(MeetingPoint.point_id == point_id))
    return list(session.scalars(query))
