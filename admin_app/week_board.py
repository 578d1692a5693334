"""What the week board (admin_app.meetings_views.board) shows of each meeting, read as plain rows and written once
per meeting rather than once per cell: a province's week is about 500 meetings in a thousand cells of 160 points x
7 days, and building each meeting with its points and their bridge points as objects cost more than the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.url_patterns import addresses
from meetings.models import Meeting, MeetingPoint
from meetings.queries import overlapping


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
    last_day: dt.date  # the local day it ends on (a meeting may run past midnight: it is in both days' cells)
    starts: str
    ends: str
    when: str


def clock(t: dt.datetime) -> str:
    """``t``'s time as ``strftime("%H:%M")`` writes it (the |time filter), in a fraction of its time."""
    return f"{t.hour:02d}:{t.minute:02d}"


def day_text(t: dt.date) -> str:
    """``t``'s day as ``strftime("%d/%m/%Y")`` writes it (the |date filter; a year is not padded)."""
    return f"{t.day:02d}/{t.month:02d}/{t.year}"


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
        .where(*overlapping(start, end))
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    points: dict[int, list[int]] = {row[0]: [] for row in rows}
    if points:
        held = select(MeetingPoint.meeting_id, MeetingPoint.point_id).where(
            MeetingPoint.meeting_id.in_(select(Meeting.id).where(*overlapping(start, end)))
        )
        for meeting_id, point_id in session.execute(held.order_by(MeetingPoint.id)):
            points[meeting_id].append(point_id)
    detail = addresses("meetings.meeting_detail", "meeting_id")
    lines = []
    for meeting_id, title, host_point_id, series_id, is_cancelled, starts_at, ends_at in rows:
        starts, ends = starts_at.astimezone(tz), ends_at.astimezone(tz)
        start_time, end_time = clock(starts), clock(ends)
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
                last_day=(ends - dt.timedelta(microseconds=1)).date(),
                starts=start_time,
                ends=end_time,
                when=f"{day_text(starts)} {start_time}",
            )
        )
    return lines


def board_rows(
    section: Sequence[Any],
    days: Sequence[dt.date],
    grid: dict[tuple[int, dt.date], list[BoardLine]],
    calendar_url: Callable[[int], str],
) -> Markup:
    """The rows of one section of the board (a point each, a cell per day with the meetings holding it that day),
    exactly as the template's loops wrote them, every value escaped as Jinja escapes it: for 160 points, 1,120
    cells, the loops cost the page more than everything else. Each meeting's link is written once, in its two
    forms (at its host point, elsewhere)."""
    links: dict[int, tuple[str, str]] = {}

    def link(line: BoardLine, host: bool) -> str:
        if (pair := links.get(line.id)) is None:
            times = f"{line.starts}–{line.ends}"  # digits and colons: nothing to escape
            rest = f'" href="{escape(line.url)}" title="{escape(line.title)}">{times}</a>'
            pair = links[line.id] = (f'<a class="slot host{rest}', f'<a class="slot{rest}')
        return pair[0] if host else pair[1]

    parts = []
    for p in section:
        point = f'<a href="{escape(calendar_url(p.id))}">{escape(p.name)}</a>'
        parts.append(f'\n    <tr>\n      <th scope="row">{point}</th>\n      ')
        for d in days:
            cell = "".join(link(line, line.host_point_id == p.id) for line in grid.get((p.id, d), ()))
            parts.append(f"\n        <td>{cell}</td>\n      ")
        parts.append("\n    </tr>\n  ")
    return Markup("".join(parts))  # noqa: S704 - every value escaped above


def meeting_rows(lines: Sequence[BoardLine], series: str, cancelled: str, booked: str) -> Markup:
    """The week's list under the board (a row per meeting: when, title, host, points, status), as the template's
    loop wrote it; ``series``, ``cancelled`` and ``booked`` are the page's words for them."""
    series_mark = f' <span class="muted">({escape(series)})</span>'
    words = {True: str(escape(cancelled)), False: str(escape(booked))}
    struck = ' class="cancelled"'
    parts = []
    for m in lines:
        parts.append(
            f"\n    <tr{struck if m.is_cancelled else ''}>\n"
            f"      <td>{m.when}–{m.ends}</td>\n"  # digits, slashes and colons: nothing to escape
            f'      <td><a href="{escape(m.url)}">{escape(m.title)}</a>{series_mark if m.series_id else ""}</td>\n'
            f"      <td>{escape(m.host_name)}</td>\n"
            f'      <td class="num">{len(m.point_ids)}</td>\n'
            f"      <td>{words[bool(m.is_cancelled)]}</td>\n"
            "    </tr>\n  "
        )
    return Markup("".join(parts))  # noqa: S704 - every value escaped above
