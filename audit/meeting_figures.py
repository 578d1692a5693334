"""The meetings side of the monthly report: meetings held, bridge points planned and attended, hours, per
host unit's subtree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meetings.models import Attendance, BridgePoint, Meeting, MeetingPoint


def meeting_figures(
    session: Session, start: dt.datetime, end: dt.datetime, tree: list[tuple[int, int | None, str]]
) -> dict[str, Any]:
    """Meetings held in the month (not cancelled), planned and attended points, hours; per host unit's subtree."""
    held = session.execute(
        select(Meeting.id, Meeting.starts_at, Meeting.ends_at, BridgePoint.unit_id)
        .join(BridgePoint, BridgePoint.id == Meeting.host_point_id)
        .where(Meeting.starts_at >= start, Meeting.starts_at < end, Meeting.is_cancelled.is_(False))
    ).all()
    ids = [m.id for m in held]
    planned: dict[int, int] = {}
    attended: dict[int, int] = {}
    for chunk in range(0, len(ids), 900):
        part = ids[chunk : chunk + 900]
        for mid, n in session.execute(
            select(MeetingPoint.meeting_id, func.count())
            .where(MeetingPoint.meeting_id.in_(part))
            .group_by(MeetingPoint.meeting_id)
        ):
            planned[mid] = n
        for mid, n in session.execute(
            select(Attendance.meeting_id, func.count(func.distinct(Attendance.point_id)))
            .where(Attendance.meeting_id.in_(part), Attendance.point_id.is_not(None))
            .group_by(Attendance.meeting_id)
        ):
            attended[mid] = n
    direct: dict[int, dict[str, float]] = {}
    for m in held:
        row = direct.setdefault(m.unit_id, {"held": 0, "planned_points": 0, "attended_points": 0, "hours": 0.0})
        row["held"] += 1
        row["planned_points"] += planned.get(m.id, 0)
        row["attended_points"] += attended.get(m.id, 0)
        row["hours"] += (m.ends_at - m.starts_at).total_seconds() / 3600
    by_unit = {
        uid: dict(direct.get(uid, {"held": 0, "planned_points": 0, "attended_points": 0, "hours": 0.0}))
        for uid, _p, _x in tree
    }
    for uid, parent, _path in sorted(tree, key=lambda u: -u[2].count("/")):
        if parent is not None and parent in by_unit:
            for key, value in by_unit[uid].items():
                by_unit[parent][key] += value
    for row in by_unit.values():
        row["hours"] = round(row["hours"], 2)
    return {
        "held": len(held),
        "planned_points": sum(planned.values()),
        "attended_points": sum(attended.values()),
        "hours": round(sum((m.ends_at - m.starts_at).total_seconds() for m in held) / 3600, 2),
        "by_unit": by_unit,
    }
