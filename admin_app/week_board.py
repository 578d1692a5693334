"""What the week board (admin_app.meetings_views.board) shows of each meeting, read as plain rows and written once
per meeting rather than once per cell: a province's week is about 500 meetings in a thousand cells of 160 points x
7 days, and building each meeting with its points and their bridge points as objects cost more than the page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.url_patterns import addresses
from meetings.models import Meeting, MeetingPoint


@dataclass(slots=True)
class BoardLine:
    """A meeting as the week board writes it: what it shows, its page's address, its local day and times (as the
    |time and |datetime filters of admin_app.filters write them)."""

    id: int
    title: str
    host_point_id: int
    host_name: str
    series_id: int | None
    is_cancelled: bool
    point_ids: list[int]
    url: str
    day: dt.date
    starts: str
    ends: str
    when: str


def week_lines(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    tz: dt.tzinfo,
    point_names: dict[int, str],
) -> list[BoardLine]:
    """The meetings overlapping [start, end), by start (as meetings.queries.visible_meetings orders them), each with
    all its points: two queries."""
    rows = session.execute(
        select(
            Meeting.id,
            Meeting.title,
            Meeting.host_point_id,
            Meeting.series_id,
            Meeting.is_cancelled,
            Meeting.starts_at,
            Meeting.ends_at,
        )
        .where(Meeting.starts_at < end, Meeting.ends_at > start)
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    points: dict[int, list[int]] = {row[0]: [] for row in rows}
    if points:
        held = select(MeetingPoint.meeting_id, MeetingPoint.point_id).where(
            MeetingPoint.meeting_id.in_(select(Meeting.id).where(Meeting.starts_at < end, Meeting.ends_at > start))
        )
        for meeting_id, point_id in session.execute(held.order_by(MeetingPoint.id)):
            points[meeting_id].append(point_id)
    detail = addresses("meetings.meeting_detail", "meeting_id")
    lines = []
    for meeting_id, title, host_point_id, series_id, is_cancelled, starts_at, ends_at in rows:
        starts, ends = starts_at.astimezone(tz), ends_at.astimezone(tz)
        lines.append(
            BoardLine(
                id=meeting_id,
                title=title,
                host_point_id=host_point_id,
                host_name=point_names.get(host_point_id, ""),
                series_id=series_id,
                is_cancelled=is_cancelled,
                point_ids=points[meeting_id],
                url=detail(meeting_id),
                day=starts.date(),
                starts=starts.strftime("%H:%M"),
                ends=ends.strftime("%H:%M"),
                when=starts.strftime("%d/%m/%Y %H:%M"),
            )
        )
    return lines
