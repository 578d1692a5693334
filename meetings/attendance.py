"""Attendance from Jitsi's event-sync posts: room created/destroyed, occupant joined/left (epoch seconds).

An occupant is matched to a bridge point or an invited person by the ``id`` our token put in
``context.user`` (``point-17``, ``person-an@…``), then by email. Every body is validated whole before anything
is written: a malformed post or an unknown room changes nothing and gets a 4xx naming the field.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.models import Attendance, Meeting

EVENTS = ("room/created", "room/destroyed", "occupant/joined", "occupant/left")


class EventRejected(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class EventOutcome:
    meeting_id: int
    message: str


def _text(body: dict[str, Any], key: str, where: str = "") -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EventRejected(400, f"{where}{key}: a non-empty string is required")
    return value.strip()


def _epoch(body: dict[str, Any], key: str, where: str = "") -> dt.datetime:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EventRejected(400, f"{where}{key}: epoch seconds (a number) are required")
    # Jitsi sends seconds; a millisecond value would land in the year 50000+.
    if not 946_684_800 <= value <= 4_102_444_800:
        raise EventRejected(400, f"{where}{key}: {value} is not a plausible time in epoch seconds")
    return dt.datetime.fromtimestamp(value, dt.UTC)


def _room(session: Session, body: dict[str, Any]) -> Meeting:
    name = _text(body, "room_name")
    bare = name.split("@", 1)[0].lower()  # "room@conference.meet…" → "room"
    meeting = session.scalar(select(Meeting).where(Meeting.room_name == bare))
    if meeting is None:
        raise EventRejected(404, f"room_name: no meeting has room {bare!r}")
    return meeting


def handle_event(session: Session, kind: str, body: object) -> EventOutcome:
    """Apply one event-sync post; raise :class:`EventRejected` (nothing written) when it cannot be used."""
    if kind not in EVENTS:
        raise EventRejected(404, f"unknown event {kind!r}")
    if not isinstance(body, dict):
        raise EventRejected(400, "body: a JSON object is required")
    meeting = _room(session, body)
    if kind == "room/created":
        at = _epoch(body, "created_at")
        if meeting.room_opened_at is None or at < meeting.room_opened_at:
            meeting.room_opened_at = at
        return EventOutcome(meeting.id, "room opened")
    if kind == "room/destroyed":
        at = _epoch(body, "destroyed_at")
        meeting.room_closed_at = at
        for row in meeting.attendance:
            if row.left_at is None and row.joined_at <= at:
                row.left_at = at
        return EventOutcome(meeting.id, "room closed")
    occupant = body.get("occupant")
    if not isinstance(occupant, dict):
        raise EventRejected(400, "occupant: an object is required")
    jid = _text(occupant, "occupant_jid", "occupant.")
    if kind == "occupant/joined":
        joined = _epoch(occupant, "joined_at", "occupant.")
        existing = session.scalar(
            select(Attendance).where(
                Attendance.meeting_id == meeting.id, Attendance.occupant_jid == jid, Attendance.joined_at == joined
            )
        )
        if existing is not None:  # a repeated post
            return EventOutcome(meeting.id, "already recorded")
        occupant_id = occupant.get("id") if isinstance(occupant.get("id"), str) else ""
        email = occupant.get("email") if isinstance(occupant.get("email"), str) else ""
        name = occupant.get("name") if isinstance(occupant.get("name"), str) else ""
        point_id, invitee = _match(meeting, occupant_id or "", (email or "").strip().lower())
        session.add(
            Attendance(
                meeting=meeting,
                point_id=point_id,
                invitee_email=invitee,
                occupant_jid=jid,
                occupant_id=(occupant_id or "")[:200],
                name=(name or "")[:500],
                email=(email or "").strip().lower()[:254],
                joined_at=joined,
            )
        )
        return EventOutcome(meeting.id, "joined")
    left = _epoch(occupant, "left_at", "occupant.")
    open_rows = [r for r in meeting.attendance if r.occupant_jid == jid and r.left_at is None and r.joined_at <= left]
    if not open_rows:
        if any(r.occupant_jid == jid and r.left_at == left for r in meeting.attendance):
            return EventOutcome(meeting.id, "already recorded")
        raise EventRejected(409, f"occupant.occupant_jid: {jid!r} has no open presence in this room")
    max(open_rows, key=lambda r: r.joined_at).left_at = left
    return EventOutcome(meeting.id, "left")


def _match(meeting: Meeting, occupant_id: str, email: str) -> tuple[int | None, str]:
    planned = {mp.point_id: mp.point for mp in meeting.points}
    if occupant_id.startswith("point-") and occupant_id[6:].isdigit() and int(occupant_id[6:]) in planned:
        return int(occupant_id[6:]), ""
    invited = {i.email for i in meeting.invitees} | ({meeting.organiser_email} if meeting.organiser_email else set())
    if occupant_id.startswith("person-") and occupant_id[7:] in invited:
        return None, occupant_id[7:]
    if email:
        for point in planned.values():
            if point.contact_email == email:
                return point.id, ""
        if email in invited:
            return None, email
    return None, ""


@dataclass(frozen=True)
class PointAttendance:
    point_id: int
    name: str
    is_host: bool
    attended: bool
    minutes: float
    first_join: dt.datetime | None


def point_attendance(meeting: Meeting) -> list[PointAttendance]:
    """Planned points with whether they joined and for how many minutes (overlapping presences merged)."""
    out = []
    for mp in sorted(meeting.points, key=lambda p: (p.point_id != meeting.host_point_id, p.point.name)):
        rows = [r for r in meeting.attendance if r.point_id == mp.point_id]
        out.append(
            PointAttendance(
                mp.point_id,
                mp.point.name,
                mp.point_id == meeting.host_point_id,
                bool(rows),
                _merged_minutes(meeting, rows),
                min((r.joined_at for r in rows), default=None),
            )
        )
    return out


def _merged_minutes(meeting: Meeting, rows: list[Attendance]) -> float:
    spans = sorted((r.joined_at, r.joined_at + dt.timedelta(minutes=r.minutes)) for r in rows)
    total = 0.0
    cur_s: dt.datetime | None = None
    cur_e: dt.datetime | None = None
    for s, e in spans:
        if cur_e is None or s > cur_e:
            if cur_s is not None and cur_e is not None:
                total += (cur_e - cur_s).total_seconds()
            cur_s, cur_e = s, e
        elif e > cur_e:
            cur_e = e
    if cur_s is not None and cur_e is not None:
        total += (cur_e - cur_s).total_seconds()
    return round(total / 60, 1)
