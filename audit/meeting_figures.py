"""The meetings side of the monthly report: meetings held, bridge points planned and attended, hours, and per
unit's subtree through its bridge points (audit.unit_meetings). A point attended when Jitsi saw it or the host's
secretary marked it present by hand (a roll call); a point marked absent did not, whatever Jitsi saw.
``roll_call_marks`` counts the marks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.unit_meetings import unit_meeting_figures
from meetings.models import Attendance, BridgePoint, Meeting, MeetingPoint, RollCall


def meeting_figures(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    tree: list[tuple[int, int | None, str]],
    unit_of: Callable[[int], int | None] | None = None,
) -> dict[str, Any]:
    """Meetings held in the month (not cancelled), planned and attended points, hours; per unit's subtree (of
    the month's tree, a point's unit placed in it by ``unit_of``)."""
    held = session.execute(
        select(Meeting.id, Meeting.starts_at, Meeting.ends_at, BridgePoint.unit_id)
        .join(BridgePoint, BridgePoint.id == Meeting.host_point_id)
        .where(Meeting.starts_at >= start, Meeting.starts_at < end, Meeting.is_cancelled.is_(False))
    ).all()
    ids = [m.id for m in held]
    planned: dict[int, int] = {}
    attended: dict[int, int] = {}
    marks = 0
    for chunk in range(0, len(ids), 900):
        part = ids[chunk : chunk + 900]
        for mid, n in session.execute(
            select(MeetingPoint.meeting_id, func.count())
            .where(MeetingPoint.meeting_id.in_(part))
            .group_by(MeetingPoint.meeting_id)
        ):
            planned[mid] = n
        seen: dict[int, set[int]] = {}
        for mid, point_id in session.execute(
            select(Attendance.meeting_id, Attendance.point_id)
            .where(Attendance.meeting_id.in_(part), Attendance.point_id.is_not(None))
            .distinct()
        ):
            seen.setdefault(mid, set()).add(point_id)
        for mid, point_id, is_present in session.execute(
            select(RollCall.meeting_id, RollCall.point_id, RollCall.is_present).where(RollCall.meeting_id.in_(part))
        ):
            marks += 1
            (seen.setdefault(mid, set()).add if is_present else seen.setdefault(mid, set()).discard)(point_id)
        attended.update({mid: len(points) for mid, points in seen.items() if points})
    return {
        "held": len(held),
        "planned_points": sum(planned.values()),
        "attended_points": sum(attended.values()),
        "hours": round(sum((m.ends_at - m.starts_at).total_seconds() for m in held) / 3600, 2),
        "roll_call_marks": marks,
        # Per unit through its bridge points (hosted, took part, planned, attended, minutes): audit.unit_meetings.
        "by_unit": unit_meeting_figures(session, start, end, tree, unit_of),
    }
