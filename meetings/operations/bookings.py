"""Booking: a meeting, or every occurrence of a series, across bridge points, refused whole if any point is held.
The checks of a draft and the writing of its holds are shared with changes (``meetings.operations.changes``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core import changelog
from core.actors import Actor, PermissionDenied
from core.bulk import insert_returning
from meetings import invitations
from meetings.env import MeetingEnv
from meetings.errors import MeetingsError
from meetings.jitsi import new_room_name
from meetings.models import (
    MAX_BUFFER_MINUTES,
    MAX_MEETING_HOURS,
    BridgePoint,
    Invitee,
    Meeting,
    MeetingPoint,
    MeetingSeries,
)
from meetings.operations.conflicts import overlap_guard, refuse_conflicts
from meetings.operations.points import EMAIL
from meetings.permissions import can_book
from meetings.recurrence import Recurrence, RecurrenceError, expand
from provisioning.models import Staff
from provisioning.names import clean_name


@dataclass
class MeetingDraft:
    """What a secretary fills in. Times are local (aware) datetimes."""

    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    host_point_id: int
    point_ids: list[int] = field(default_factory=list)
    invitees: list[tuple[str, str]] = field(default_factory=list)  # (email, name)
    agenda: str = ""
    buffer_minutes: int | None = None
    organiser_name: str = ""
    organiser_email: str = ""
    recurrence: Recurrence | None = None
    staff_ids: dict[str, int] = field(default_factory=dict)  # filled by check_draft: invitees who are ours


def check_draft(session: Session, env: MeetingEnv, draft: MeetingDraft) -> tuple[BridgePoint, list[BridgePoint]]:
    """Clean ``draft`` in place (title, buffer, invitees, organiser) and return its host and all its points,
    refusing with the field's name whatever cannot be booked."""
    title = clean_name(draft.title)
    if not title:
        raise MeetingsError("title: must not be empty")
    draft.title = title
    for name, value in (("start", draft.starts_at), ("end", draft.ends_at)):
        if value.tzinfo is None:
            raise MeetingsError(f"{name}: a local time with its zone is required")
    if draft.ends_at <= draft.starts_at:
        raise MeetingsError("end: must be after the start")
    if draft.ends_at - draft.starts_at > dt.timedelta(hours=MAX_MEETING_HOURS):
        raise MeetingsError(f"end: a meeting lasts at most {MAX_MEETING_HOURS} hours")
    buffer = env.buffer_minutes if draft.buffer_minutes is None else draft.buffer_minutes
    if not 0 <= buffer <= MAX_BUFFER_MINUTES:
        raise MeetingsError(f"set-up buffer: must be between 0 and {MAX_BUFFER_MINUTES} minutes")
    draft.buffer_minutes = buffer
    ids = list(dict.fromkeys([draft.host_point_id, *draft.point_ids]))
    # One query for the host, the points and their units (a booking's round trips are most of its time).
    query = select(BridgePoint).where(BridgePoint.id.in_(ids)).options(joinedload(BridgePoint.unit))
    points = {p.id: p for p in session.scalars(query)}
    host = points.get(draft.host_point_id)
    if host is None:
        raise MeetingsError(f"host point: no bridge point with id {draft.host_point_id}")
    missing = [i for i in ids if i not in points]
    if missing:
        raise MeetingsError(f"points: no bridge point with id {missing[0]}")
    inactive = [points[i].name for i in ids if not points[i].is_active]
    if inactive:
        raise MeetingsError(f"points: {', '.join(inactive)} not in service (inactive)")
    cleaned: list[tuple[str, str]] = []
    seen: set[str] = set()
    for email, name in draft.invitees:
        email = email.strip().lower()
        if not email:
            continue
        if not EMAIL.match(email):
            raise MeetingsError(f"invited people: {email!r} is not an email address")
        if email not in seen:
            seen.add(email)
            cleaned.append((email, clean_name(name)))
    draft.organiser_email = draft.organiser_email.strip().lower()
    if draft.organiser_email and not EMAIL.match(draft.organiser_email):
        raise MeetingsError(f"organiser: {draft.organiser_email!r} is not an email address")
    # People of ours appear by their full name from the directory, whatever the form or the API was given.
    ours = staff_of(session, [e for e, _ in cleaned] + ([draft.organiser_email] if draft.organiser_email else []))
    draft.invitees = [(e, ours[e][1] if e in ours else (n if n.lower() != e else "")) for e, n in cleaned]
    draft.staff_ids = {e: ours[e][0] for e, _ in cleaned if e in ours}
    if draft.organiser_email in ours and not clean_name(draft.organiser_name):
        draft.organiser_name = ours[draft.organiser_email][1]
    return host, [points[i] for i in ids]


def _occurrence_times(env: MeetingEnv, draft: MeetingDraft) -> list[tuple[dt.datetime, dt.datetime]]:
    duration = draft.ends_at - draft.starts_at
    first = draft.starts_at.astimezone(env.tz)
    if draft.recurrence is None:
        return [(first, first + duration)]
    try:
        starts = expand(draft.recurrence, first)
    except RecurrenceError as exc:
        raise MeetingsError(str(exc)) from None
    return [(s, s + duration) for s in starts]


def insert_holds(session: Session, meetings: Sequence[Meeting], points: Sequence[BridgePoint]) -> None:
    """Hold each of ``points`` for each of ``meetings``, from the start of its set-up buffer to its end: one
    statement (``core.bulk``) however many points and occurrences. The meetings are flushed first; each one's
    ``points`` then holds the new rows as persistent objects, so reading them (the invitations) costs nothing."""
    if not points or not meetings:
        return
    if any(m.id is None for m in meetings):
        session.flush()
    rows = [
        {
            "meeting_id": meeting.id,
            "point_id": point.id,
            "block_start": meeting.starts_at - dt.timedelta(minutes=meeting.buffer_minutes),
            "block_end": meeting.ends_at,
            "is_active": True,
        }
        for meeting in meetings
        for point in points
    ]
    table = MeetingPoint.__table__
    returned = insert_returning(session, table, rows, ("id", "meeting_id", "point_id"))  # type: ignore[arg-type]
    ids = {(meeting_id, point_id): hold_id for hold_id, meeting_id, point_id in returned}
    by_id = {p.id: p for p in points}
    for meeting in meetings:
        existing = list(meeting.points) if "points" in meeting.__dict__ and meeting.id is not None else []
        holds = []
        for row in rows:
            if row["meeting_id"] != meeting.id:
                continue
            hold = MeetingPoint(id=ids[(meeting.id, row["point_id"])], **row)
            make_transient_to_detached(hold)
            session.add(hold)
            set_committed_value(hold, "point", by_id[row["point_id"]])
            set_committed_value(hold, "meeting", meeting)
            holds.append(hold)
        set_committed_value(meeting, "points", existing + holds)


def staff_ids_of(session: Session, emails: Sequence[str]) -> dict[str, int]:
    """Address → staff id for those of ``emails`` that are our mailboxes (one query)."""
    return {email: sid for email, (sid, _name) in staff_of(session, emails).items()}


def staff_of(session: Session, emails: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Address → (staff id, full name) for those of ``emails`` that are our mailboxes (one query)."""
    if not emails:
        return {}
    rows = session.execute(select(Staff.email, Staff.id, Staff.full_name).where(Staff.email.in_(set(emails))))
    return {email: (sid, name) for email, sid, name in rows}


def _create_occurrences(
    session: Session,
    actor: Actor,
    draft: MeetingDraft,
    host: BridgePoint,
    points: Sequence[BridgePoint],
    times: Sequence[tuple[dt.datetime, dt.datetime]],
) -> list[Meeting]:
    series: MeetingSeries | None = None
    uid_base = f"{uuid.uuid4()}@congvu"
    if draft.recurrence is not None:
        rule = draft.recurrence
        series = MeetingSeries(
            uid=uid_base,
            freq=rule.freq,
            interval=rule.interval,
            weekdays=rule.weekdays_text,
            until=rule.until,
            count=rule.count,
        )
        session.add(series)
    created: list[Meeting] = []
    staff_ids = draft.staff_ids or staff_ids_of(session, [email for email, _ in draft.invitees])
    for start, end in times:
        meeting = Meeting(
            title=draft.title,
            agenda=draft.agenda.strip(),
            host_point=host,
            organiser_name=clean_name(draft.organiser_name) or actor.name,
            organiser_email=draft.organiser_email,
            starts_at=start.astimezone(dt.UTC),
            ends_at=end.astimezone(dt.UTC),
            buffer_minutes=draft.buffer_minutes or 0,
            room_name=new_room_name(),
            uid=uid_base,
            sequence=0,
            series=series,
            occurrence_start=start.astimezone(dt.UTC) if series is not None else None,
            created_by=actor.label,
        )
        for email, name in draft.invitees:
            meeting.invitees.append(Invitee(email=email, name=name, staff_id=staff_ids.get(email)))
        session.add(meeting)
        created.append(meeting)
    insert_holds(session, created, points)
    return created


def book_meeting(session: Session, actor: Actor, env: MeetingEnv, draft: MeetingDraft) -> list[Meeting]:
    """Book a meeting (or every occurrence of a series) or refuse it whole, naming every busy point.
    Secretaries whose scope holds the host point's unit and system admins may."""
    host, points = check_draft(session, env, draft)
    if not can_book(actor, host.unit):
        raise PermissionDenied(f"{actor.name} may not book meetings hosted at {host.name}")
    times = _occurrence_times(env, draft)
    buffer = dt.timedelta(minutes=draft.buffer_minutes or 0)
    spans = [(s - buffer, e) for s, e in times]
    point_ids = [p.id for p in points]
    refuse_conflicts(session, env, point_ids, spans)

    with overlap_guard(session, env, point_ids, spans):
        created = _create_occurrences(session, actor, draft, host, points, times)
    first = created[0]
    series = first.series
    changelog.record(
        session,
        actor,
        "meeting.book",
        "meeting",
        first.id,
        target_label=draft.title,
        unit_id=host.unit_id,
        after={
            "title": draft.title,
            "starts_at": times[0][0].isoformat(),
            "ends_at": times[0][1].isoformat(),
            "occurrences": len(created),
            "points": [p.name for p in points],
            "invitees": [e for e, _ in draft.invitees],
            "buffer_minutes": draft.buffer_minutes,
            "recurrence": None
            if series is None
            else {"freq": series.freq, "weekdays": series.weekdays, "until": str(series.until), "count": series.count},
        },
    )
    invitations.queue_invitations(session, env, created, kind="invitation")
    return created
