"""Booking: a meeting, or every occurrence of a series, across bridge points, refused whole if any point is held.
The checks of a draft and the writing of its holds are shared with changes (``meetings.operations.changes``)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, select, text
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core import changelog
from core.actors import Actor, PermissionDenied, TreePlace
from core.bulk import insert_returning, pg_insert, with_defaults
from meetings import invitations
from meetings.availability import LOOKBACK
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
from meetings.operations.conflicts import HoldRefused, refusal_as_conflict, refuse_conflicts
from meetings.operations.points import EMAIL
from meetings.permissions import can_book
from meetings.recurrence import Recurrence, RecurrenceError, expand
from provisioning.models import Staff, Unit
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
    host_place: TreePlace | None = None  # filled by check_draft: where the host point's unit sits


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
    # One query for the points and the path of the host's unit, which the permission check reads: the unit
    # itself, joined as an entity, cost more than the points (its columns decoded for each of 135 rows), and
    # nothing in a booking reads the other points' units.
    host_unit = and_(Unit.id == BridgePoint.unit_id, BridgePoint.id == draft.host_point_id)
    query = select(BridgePoint, Unit.path).outerjoin(Unit, host_unit).where(BridgePoint.id.in_(ids))
    points: dict[int, BridgePoint] = {}
    draft.host_place = None
    for point, path in session.execute(query):
        points[point.id] = point
        if path is not None:
            draft.host_place = TreePlace(path)
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
    # The organiser too: the console and the API pass the signed-in person's address as name and address, and an
    # address is not a name.
    if "@" in draft.organiser_name or not clean_name(draft.organiser_name):
        draft.organiser_name = ours[draft.organiser_email][1] if draft.organiser_email in ours else ""
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
    ``points`` then holds the new rows as persistent objects, so reading them (the invitations) costs nothing.
    On PostgreSQL a hold that the exclusion constraint refuses (a booking committed since the check) is left
    out, and :class:`HoldRefused` says so: the caller's guard undoes the writes and names who holds what."""
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
    returned = insert_returning(session, table, rows, ("id", "meeting_id", "point_id"), skip_refused=True)  # type: ignore[arg-type]
    if len(returned) < len(rows):
        raise HoldRefused
    _attach_holds(session, meetings, points, returned)


def _attach_holds(
    session: Session, meetings: Sequence[Meeting], points: Sequence[BridgePoint], returned: list[tuple[Any, ...]]
) -> None:
    """Add the holds ``returned`` (id, meeting id, point id) to the session as the rows they are and to each
    meeting's ``points``: built as the ORM builds a loaded row (no ``__init__`` with its attribute events)."""
    by_id = {p.id: p for p in points}
    by_meeting = {m.id: m for m in meetings}
    holds: dict[int, list[MeetingPoint]] = {m.id: [] for m in meetings}
    for hold_id, meeting_id, point_id in returned:
        meeting = by_meeting[meeting_id]
        hold = _new_hold()
        hold.__dict__.update(
            id=hold_id,
            meeting_id=meeting_id,
            point_id=point_id,
            block_start=meeting.starts_at - dt.timedelta(minutes=meeting.buffer_minutes),
            block_end=meeting.ends_at,
            is_active=True,
            point=by_id[point_id],
            meeting=meeting,
        )
        make_transient_to_detached(hold)
        holds[meeting_id].append(hold)
    for meeting in meetings:
        session.add_all(holds[meeting.id])
        existing = list(meeting.points) if "points" in meeting.__dict__ else []
        set_committed_value(meeting, "points", existing + holds[meeting.id])


_new_hold = MeetingPoint.__mapper__.class_manager.new_instance
_new_meeting = Meeting.__mapper__.class_manager.new_instance


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
        session.flush()  # its occurrences name it
    staff_ids = draft.staff_ids or staff_ids_of(session, [email for email, _ in draft.invitees])
    rows = [
        {
            "title": draft.title,
            "agenda": draft.agenda.strip(),
            "host_point_id": host.id,
            "organiser_name": clean_name(draft.organiser_name) or ("" if "@" in actor.name else actor.name),
            "organiser_email": draft.organiser_email,
            "starts_at": start.astimezone(dt.UTC),
            "ends_at": end.astimezone(dt.UTC),
            "buffer_minutes": draft.buffer_minutes or 0,
            "room_name": new_room_name(),
            "uid": uid_base,
            "sequence": 0,
            "series_id": None if series is None else series.id,
            "occurrence_start": start.astimezone(dt.UTC) if series is not None else None,
            "created_by": actor.label,
        }
        for start, end in times
    ]
    try:
        rows = _insert_meetings(session, rows, points)
    except HoldRefused:
        if series is not None:  # undone by hand, there being no savepoint
            session.delete(series)
            session.flush()
        raise
    created = []
    for row in rows:
        meeting = _new_meeting()
        meeting.__dict__.update(row, host_point=host, series=series)
        make_transient_to_detached(meeting)
        created.append(meeting)
    session.add_all(created)
    for meeting in created:
        invitees = [
            Invitee(meeting_id=meeting.id, email=e, name=n, staff_id=staff_ids.get(e)) for e, n in draft.invitees
        ]
        session.add_all(invitees)  # inserted by the next flush
        set_committed_value(meeting, "invitees", invitees)
    if series is not None:
        set_committed_value(series, "occurrences", created)
    return created


def _insert_meetings(
    session: Session, given: list[dict[str, Any]], points: Sequence[BridgePoint]
) -> list[dict[str, Any]]:
    """Insert the meetings ``given`` (column values) and their holds of ``points``; return the meetings' full
    rows (every column, ids included: they become ORM objects without a reload). The holds are not built as
    objects (a booking reads its points from ``points``; a meeting's ``points`` loads when read). On
    PostgreSQL one statement writes both, its holds' insert leaving out what the exclusion constraint
    refuses; then the meetings and holds are deleted again and :class:`HoldRefused` raised."""
    table = Meeting.__table__
    rows = with_defaults(table, given)  # type: ignore[arg-type]
    for row in rows:
        row.update({c.name: None for c in table.columns if c.name not in row and not c.primary_key})
    if session.get_bind().dialect.name != "postgresql":
        ids = dict(insert_returning(session, table, rows, ("room_name", "id")))  # type: ignore[arg-type]
        for row in rows:
            row["id"] = ids[row["room_name"]]
        spans = [(r["id"], _hold_span(r)) for r in rows]  # one span (the same objects) for a meeting's holds
        holds = [{"meeting_id": meeting_id, "point_id": p.id, **span} for meeting_id, span in spans for p in points]
        insert_returning(session, MeetingPoint.__table__, holds)  # type: ignore[arg-type]
        return rows
    only_if = "NOT EXISTS (SELECT FROM busy)"
    meetings_sql, params = pg_insert(session, table, rows, ("id", "room_name"), only_if=only_if)  # type: ignore[arg-type]
    spans = [{"room_name": r["room_name"], "point_id": p.id, **_hold_span(r)} for r in rows for p in points]
    params |= {"holds": json.dumps(spans, default=dt.datetime.isoformat), "lookback": LOOKBACK}
    result = session.execute(text(f"WITH {_BUSY_PG}, m AS ({meetings_sql}), {_HOLDS_PG}"), params).all()
    if not result:  # a point is held: nothing was written
        raise HoldRefused
    ids = {room_name: meeting_id for meeting_id, room_name, _hold, _point in result}
    if sum(1 for *_rest, hold_id, _point in result if hold_id) < len(spans):
        holds_table = MeetingPoint.__table__
        session.execute(delete(holds_table).where(holds_table.c.meeting_id.in_(ids.values())))
        session.execute(delete(table).where(table.c.id.in_(ids.values())))
        raise HoldRefused
    for row in rows:
        row["id"] = ids[row["room_name"]]
    return rows


def _hold_span(meeting_row: dict[str, Any]) -> dict[str, Any]:
    start = meeting_row["starts_at"] - dt.timedelta(minutes=meeting_row["buffer_minutes"])
    return {"block_start": start, "block_end": meeting_row["ends_at"], "is_active": True}


# The overlap check, in the statement that writes (one round trip less): is any of the new holds' points held
# (an active hold) in its span? As ``find_conflicts`` asks, through the same (point, block start) index range.
_SPANS = """json_to_recordset(CAST(:holds AS json))
    AS p(room_name text, point_id integer, block_start timestamptz, block_end timestamptz, is_active boolean)"""
_BUSY_PG = f"""busy AS MATERIALIZED (
  SELECT FROM {_SPANS} JOIN meeting_points AS held ON held.point_id = p.point_id AND held.is_active
    AND held.block_start < p.block_end AND held.block_end > p.block_start
    AND held.block_start > p.block_start - CAST(:lookback AS interval)
  LIMIT 1)"""
# The holds of the meetings just inserted (m), matched by room name; ON CONFLICT DO NOTHING leaves out a hold the
# exclusion constraint refuses (the statement does not fail), and the left join still names its meeting.
_HOLDS_PG = f"""h AS (
  INSERT INTO meeting_points (meeting_id, point_id, block_start, block_end, is_active)
  SELECT m.id, p.point_id, p.block_start, p.block_end, p.is_active
  FROM m JOIN {_SPANS} USING (room_name)
  ON CONFLICT DO NOTHING RETURNING id, meeting_id, point_id)
SELECT m.id, m.room_name, h.id, h.point_id FROM m LEFT JOIN h ON h.meeting_id = m.id"""  # noqa: S608 (constants)


def book_meeting(session: Session, actor: Actor, env: MeetingEnv, draft: MeetingDraft) -> list[Meeting]:
    """Book a meeting (or every occurrence of a series) or refuse it whole, naming every busy point.
    Secretaries whose scope holds the host point's unit and system admins may."""
    host, points = check_draft(session, env, draft)
    if not can_book(actor, draft.host_place or host.unit):
        raise PermissionDenied(f"{actor.name} may not book meetings hosted at {host.name}")
    times = _occurrence_times(env, draft)
    buffer = dt.timedelta(minutes=draft.buffer_minutes or 0)
    spans = [(s - buffer, e) for s, e in times]
    point_ids = [p.id for p in points]
    if session.get_bind().dialect.name != "postgresql":  # there the statement that writes checks (_insert_meetings)
        refuse_conflicts(session, env, point_ids, spans)

    with refusal_as_conflict(session, env, point_ids, spans):
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
    invitations.queue_invitations(session, env, created, kind="invitation", points=points)
    return created
