"""Meetings per unit through its bridge points: a district's row counts the meetings its own point took part
in, not only those the district hosted.

For each unit (its own points; the subtree figures sum them up the tree):
* ``held``: meetings hosted at one of its points (each meeting has one host, so subtree sums are exact);
* ``hours``: scheduled hours of those hosted meetings;
* ``took_part``: meetings in which at least one of its points was planned, host included (a subtree counts a
  meeting once however many of its points took part);
* ``planned_points`` / ``attended_points``: its points planned in the month's meetings, and those that attended
  (Jitsi saw the point, or the host's secretary marked it present; a point marked absent did not attend);
* ``minutes``: minutes Jitsi saw its attending points connected (each point's presences merged).

Meetings are those starting in the month and not cancelled, as in :func:`audit.meeting_figures.meeting_figures`.
A point counts for the unit it belongs to now, placed in the month's tree by ``unit_of`` (a point re-homed to a
merged commune counts, in a month before, for the unit above its predecessors: points keep no history).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings import presence
from meetings.models import Attendance, BridgePoint, Meeting, MeetingPoint, RollCall

CHUNK = 900  # ids per IN (…): below SQLite's bound on parameters
FIGURES = ("held", "hours", "took_part", "planned_points", "attended_points", "minutes")
Tree = list[tuple[int, int | None, str]]  # (unit id, parent id, path)
Figures = dict[int, dict[str, Any]]  # unit id → figures


def empty() -> dict[str, Any]:
    return dict.fromkeys(FIGURES, 0)


def unit_meeting_figures(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    tree: Tree,
    unit_of: Callable[[int], int | None] | None = None,
) -> Figures:
    """Per unit id: its subtree's meeting figures for meetings starting in [start, end); a point's unit is
    ``unit_of(its unit now)`` when given (the month's tree: audit.report_history.MonthTree.unit_of)."""
    place = unit_of or (lambda unit_id: unit_id)
    held = session.execute(
        select(Meeting.id, Meeting.starts_at, Meeting.ends_at, Meeting.room_closed_at, BridgePoint.unit_id)
        .join(BridgePoint, BridgePoint.id == Meeting.host_point_id)
        .where(Meeting.starts_at >= start, Meeting.starts_at < end, Meeting.is_cancelled.is_(False))
    ).all()
    direct: dict[int, dict[str, Any]] = {}
    took_part: dict[int, set[int]] = {}
    until = {m.id: m.room_closed_at or m.ends_at for m in held}
    for m in held:
        row = direct.setdefault(place(m.unit_id), empty())
        row["held"] += 1
        row["hours"] += (m.ends_at - m.starts_at).total_seconds() / 3600
    ids = list(until)
    for first in range(0, len(ids), CHUNK):
        part = ids[first : first + CHUNK]
        for (meeting_id, _point_id), (point_unit, attended, minutes) in _point_presence(session, part, until).items():
            unit_id = place(point_unit)
            row = direct.setdefault(unit_id, empty())
            took_part.setdefault(unit_id, set()).add(meeting_id)
            row["planned_points"] += 1
            if attended:
                row["attended_points"] += 1
                row["minutes"] += minutes
    return _subtree(tree, direct, took_part)


def _point_presence(
    session: Session, meeting_ids: list[int], until: dict[int, dt.datetime]
) -> dict[tuple[int, int], tuple[int, bool, float]]:
    """(meeting, planned point) → (the point's unit, attended, minutes connected)."""
    planned = {
        (mid, pid): uid
        for mid, pid, uid in session.execute(
            select(MeetingPoint.meeting_id, MeetingPoint.point_id, BridgePoint.unit_id)
            .join(BridgePoint, BridgePoint.id == MeetingPoint.point_id)
            .where(MeetingPoint.meeting_id.in_(meeting_ids))
        )
    }
    spans: dict[tuple[int, int], list[presence.Interval]] = {}
    for mid, pid, joined, left in session.execute(
        select(Attendance.meeting_id, Attendance.point_id, Attendance.joined_at, Attendance.left_at).where(
            Attendance.meeting_id.in_(meeting_ids), Attendance.point_id.is_not(None)
        )
    ):
        spans.setdefault((mid, pid), []).append((joined, left))
    # A roll-call mark overrides what Jitsi saw (as on the meeting's page: meetings.attendance.point_attendance).
    marks = {
        (mid, pid): is_present
        for mid, pid, is_present in session.execute(
            select(RollCall.meeting_id, RollCall.point_id, RollCall.is_present).where(
                RollCall.meeting_id.in_(meeting_ids)
            )
        )
    }
    out = {}
    for key, unit_id in planned.items():
        seen = spans.get(key, [])
        attended = marks.get(key, bool(seen))
        out[key] = (unit_id, attended, presence.minutes(seen, until[key[0]]) if attended else 0.0)
    return out


def _subtree(tree: Tree, direct: Figures, took_part: dict[int, set[int]]) -> Figures:
    """Direct figures summed up the tree, deepest first; ``took_part`` as the union of meeting ids."""
    totals = {uid: dict(direct.get(uid, empty())) for uid, _p, _path in tree}
    meetings = {uid: set(took_part.get(uid, ())) for uid, _p, _path in tree}
    for uid, parent, _path in sorted(tree, key=lambda u: -u[2].count("/")):
        if parent is None or parent not in totals:
            continue
        for key in FIGURES:
            if key != "took_part":
                totals[parent][key] += totals[uid][key]
        meetings[parent] |= meetings[uid]
    for uid, row in totals.items():
        row["took_part"] = len(meetings[uid])
        row["hours"] = round(row["hours"], 2)
        row["minutes"] = round(row["minutes"], 1)
    return totals
