"""Attendance from Jitsi's event-sync posts (room created/destroyed, occupant joined/left, epoch seconds) and the
scheduler's polls of the room (``meetings.room_poll``).

Jitsi posts unordered, retries three times and then drops a post, reports a move into a breakout room as leaving
the main room, and gives a reconnecting person a new occupant JID. So every post is kept as it came (a
:class:`PresenceEvent`; a repeated post is the same row) and each participant's presence is recomputed from all
of them (``meetings.presence``). A participant is the token's ``context.user.id`` (``point-17``,
``person-an@…``), else the bridge point or invited person the email names, else the occupant JID. Room names are
matched in lower case and without the tenant prefix. Every body is validated whole before anything is written: a
malformed post or an unknown room changes nothing and gets a 4xx naming the field.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetings import presence
from meetings.jitsi import JitsiConfig, bare_room
from meetings.models import Attendance, Meeting, MeetingPoint, PresenceEvent, RollCall

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


def _optional(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value.strip() if isinstance(value, str) else ""


def _epoch(body: dict[str, Any], key: str, where: str = "") -> dt.datetime:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EventRejected(400, f"{where}{key}: epoch seconds (a number) are required")
    # Jitsi sends seconds; a millisecond value would land in the year 50000+.
    if not 946_684_800 <= value <= 4_102_444_800:
        raise EventRejected(400, f"{where}{key}: {value} is not a plausible time in epoch seconds")
    return dt.datetime.fromtimestamp(value, dt.UTC)


def _room(session: Session, body: dict[str, Any], tenant: str) -> Meeting:
    name = _text(body, "room_name")
    bare = bare_room(JitsiConfig("", "", "", "", "", tenant=tenant), name)
    if bare is None:
        raise EventRejected(404, f"room_name: {name!r} is not a room of tenant {tenant or '(none)'}")
    meeting = session.scalar(select(Meeting).where(Meeting.room_name == bare))
    if meeting is None:
        raise EventRejected(404, f"room_name: no meeting has room {bare!r}")
    return meeting


def handle_event(session: Session, kind: str, body: object, *, tenant: str = "") -> EventOutcome:
    """Apply one event-sync post; raise :class:`EventRejected` (nothing written) when it cannot be used."""
    if kind not in EVENTS:
        raise EventRejected(404, f"unknown event {kind!r}")
    if not isinstance(body, dict):
        raise EventRejected(400, "body: a JSON object is required")
    meeting = _room(session, body, tenant)
    is_breakout = body.get("is_breakout") is True
    if kind.startswith("room/"):
        at = _epoch(body, "created_at" if kind == "room/created" else "destroyed_at")
        if is_breakout:  # a breakout room opening or closing says nothing about the meeting's room
            return EventOutcome(meeting.id, "breakout room")
        if kind == "room/created":
            if meeting.room_opened_at is None or at < meeting.room_opened_at:
                meeting.room_opened_at = at
            if meeting.room_closed_at is not None and at > meeting.room_closed_at:
                meeting.room_closed_at = None  # opened again after an earlier close
            return EventOutcome(meeting.id, "room opened")
        if meeting.room_closed_at is None or at > meeting.room_closed_at:
            meeting.room_closed_at = at  # presences still open end here (Attendance.minutes)
        return EventOutcome(meeting.id, "room closed")
    occupant = body.get("occupant")
    if not isinstance(occupant, dict):
        raise EventRejected(400, "occupant: an object is required")
    jid = _text(occupant, "occupant_jid", "occupant.")
    at = _epoch(occupant, "joined_at" if kind == "occupant/joined" else "left_at", "occupant.")
    email = _optional(occupant, "email").lower()
    key, point_id, invitee = participant_of(meeting, _optional(occupant, "id"), email)
    key = key or f"jid:{jid}"
    stream = jid + (f"#{_optional(body, 'breakout_room_id') or 'breakout'}" if is_breakout else "")
    event = PresenceEvent(
        meeting_id=meeting.id,
        kind="joined" if kind == "occupant/joined" else "left",
        stream=stream[:600],
        participant=key[:300],
        point_id=point_id,
        invitee_email=invitee,
        name=_optional(occupant, "name")[:500],
        email=email[:254],
        at=at,
    )
    if not record(session, event):
        return EventOutcome(meeting.id, "already recorded")
    recompute(session, meeting, {key})
    return EventOutcome(meeting.id, event.kind)


def record(session: Session, event: PresenceEvent) -> bool:
    """Store one observation; False if the same one is stored already (a repeated post)."""
    duplicate = select(PresenceEvent.id).where(
        PresenceEvent.meeting_id == event.meeting_id,
        PresenceEvent.kind == event.kind,
        PresenceEvent.stream == event.stream,
        PresenceEvent.at == event.at,
    )
    if session.scalar(duplicate) is not None:
        return False
    try:
        with session.begin_nested():  # a simultaneous duplicate loses here, not the whole request
            session.add(event)
            session.flush()
    except IntegrityError:
        return False
    return True


def participant_of(meeting: Meeting, occupant_id: str, email: str, name: str = "") -> tuple[str, int | None, str]:
    """(participant key, planned point id, invited email) for what Jitsi says of an occupant."""
    planned = {mp.point_id: mp.point for mp in meeting.points}
    invited = {i.email for i in meeting.invitees} | ({meeting.organiser_email} if meeting.organiser_email else set())
    if occupant_id.startswith("point-") and occupant_id[6:].isdigit():
        point_id = int(occupant_id[6:])
        return occupant_id, point_id if point_id in planned else None, ""
    if occupant_id.startswith("person-"):
        address = occupant_id[7:].lower()
        return occupant_id, None, address if address in invited else ""
    if occupant_id:
        return f"user-{occupant_id}", None, ""
    if email:
        for point in planned.values():
            if point.contact_email and point.contact_email == email:
                return f"point-{point.id}", point.id, ""
        if email in invited:
            return f"person-{email}", None, email
    folded = name.strip().casefold()
    if folded:
        for point in planned.values():
            if point.name.casefold() == folded:
                return f"point-{point.id}", point.id, ""
        for invitee in meeting.invitees:
            if invitee.name and invitee.name.casefold() == folded:
                return f"person-{invitee.email}", None, invitee.email
    return "", None, ""


def recompute(session: Session, meeting: Meeting, participants: set[str] | None = None) -> None:
    """Rebuild the :class:`Attendance` rows of these participants (all when None) from the stored observations."""
    session.flush()
    query = select(PresenceEvent).where(PresenceEvent.meeting_id == meeting.id)
    rows = list(session.scalars(query.order_by(PresenceEvent.at, PresenceEvent.id)))
    polls = [r.at for r in rows if r.kind == "poll"]
    keys = participants if participants is not None else {r.participant for r in rows if r.kind != "poll"}
    session.execute(
        delete(Attendance).where(Attendance.meeting_id == meeting.id, Attendance.occupant_id.in_(sorted(keys)))
    )
    session.expire(meeting, ["attendance"])
    for key in sorted(keys):
        own = [r for r in rows if r.participant == key and r.kind != "poll"]
        if not own:
            continue
        last = own[-1]
        point_id = next((r.point_id for r in reversed(own) if r.point_id is not None), None)
        invitee = next((r.invitee_email for r in reversed(own) if r.invitee_email), "")
        name = next((r.name for r in reversed(own) if r.name), "")
        email = next((r.email for r in reversed(own) if r.email), "")
        observations = [presence.Observation(r.kind, r.stream, r.at) for r in own]
        for start, end in presence.intervals(observations, polls):
            session.add(
                Attendance(
                    meeting_id=meeting.id,
                    point_id=point_id,
                    invitee_email=invitee,
                    occupant_jid=key[:500],
                    occupant_id=key[:200],
                    name=name or last.name,
                    email=email,
                    joined_at=start,
                    left_at=end,
                )
            )
    session.flush()


@dataclass(frozen=True)
class PointAttendance:
    point_id: int
    name: str
    is_host: bool
    attended: bool
    minutes: float
    first_join: dt.datetime | None
    seen_by_jitsi: bool = False
    roll_call: bool | None = None  # marked present (True) or absent (False) by hand; None: not marked
    marked_by: str = ""
    marked_at: dt.datetime | None = None


def point_attendance(meeting: Meeting) -> list[PointAttendance]:
    """Planned points with whether they attended and for how many minutes (each point's presences merged). A
    roll-call mark overrides what Jitsi saw."""
    until = meeting.room_closed_at or meeting.ends_at
    marks = {rc.point_id: rc for rc in meeting.roll_calls}
    out = []
    for mp in sorted(meeting.points, key=lambda p: (p.point_id != meeting.host_point_id, p.point.name)):
        rows = [r for r in meeting.attendance if r.point_id == mp.point_id]
        mark = marks.get(mp.point_id)
        seen = bool(rows)
        out.append(
            PointAttendance(
                mp.point_id,
                mp.point.name,
                mp.point_id == meeting.host_point_id,
                mark.is_present if mark is not None else seen,
                presence.minutes([(r.joined_at, r.left_at) for r in rows], until),
                min((r.joined_at for r in rows), default=None),
                seen,
                mark.is_present if mark is not None else None,
                mark.marked_by if mark is not None else "",
                mark.marked_at if mark is not None else None,
            )
        )
    return out


def points_attended(session: Session, meeting_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per meeting: (points planned, of them those that attended), as :func:`point_attendance` counts them (a
    roll-call mark overrides what Jitsi saw), from three plain queries for all the meetings (at most 900 ids)
    instead of each meeting's objects: what a list of meetings shows beside each."""
    if not meeting_ids:
        return {}
    planned = session.execute(
        select(MeetingPoint.meeting_id, MeetingPoint.point_id).where(MeetingPoint.meeting_id.in_(meeting_ids))
    ).all()
    seen = {
        (meeting_id, point_id)
        for meeting_id, point_id in session.execute(
            select(Attendance.meeting_id, Attendance.point_id)
            .where(Attendance.meeting_id.in_(meeting_ids), Attendance.point_id.is_not(None))
            .distinct()
        )
    }
    marks = {
        (meeting_id, point_id): present
        for meeting_id, point_id, present in session.execute(
            select(RollCall.meeting_id, RollCall.point_id, RollCall.is_present).where(
                RollCall.meeting_id.in_(meeting_ids)
            )
        )
    }
    out = dict.fromkeys(meeting_ids, (0, 0))
    for meeting_id, point_id in planned:
        key = (meeting_id, point_id)
        points, attended = out[meeting_id]
        out[meeting_id] = (points + 1, attended + bool(marks.get(key, key in seen)))
    return out
