"""The verbs on bridge points and meetings. Each takes the actor, checks the rules, records an audit entry and
queues the invitations in the caller's transaction (they are sent after the commit).

Conflicts: a bridge point is held from the start of the set-up buffer to the end. Before inserting, the
booking looks for overlapping holds of every chosen point and refuses naming each one. On PostgreSQL an
exclusion constraint backs this up, so of two bookings committing at the same moment one fails there and is
answered with the same conflict message; on SQLite writers take the database lock up front (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from meetings import invitations
from meetings.availability import Slot, find_slots, holds_between
from meetings.jitsi import JitsiConfig, new_room_name
from meetings.models import (
    MAX_BUFFER_MINUTES,
    MAX_MEETING_HOURS,
    BridgePoint,
    Invitee,
    Meeting,
    MeetingPoint,
    MeetingSeries,
)
from meetings.recurrence import Recurrence, RecurrenceError, expand
from provisioning import trail
from provisioning.actors import Actor, PermissionDenied
from provisioning.models import Role, Staff, Unit, UnitKind
from provisioning.names import clean_name

EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class MeetingsError(ValueError):
    """A change to bridge points or meetings was refused; the message names the field or object."""


@dataclass(frozen=True)
class Conflict:
    point_id: int
    point_name: str
    meeting_id: int
    meeting_title: str
    starts_at: dt.datetime
    ends_at: dt.datetime


class MeetingConflict(MeetingsError):
    """Some chosen bridge points are already held; ``conflicts`` lists each with the meeting holding it."""

    def __init__(self, conflicts: Sequence[Conflict], tz: dt.tzinfo) -> None:
        self.conflicts = list(conflicts)
        parts = [
            f"{c.point_name} is held by “{c.meeting_title}” "
            f"({c.starts_at.astimezone(tz):%d/%m/%Y %H:%M}–{c.ends_at.astimezone(tz):%H:%M})"
            for c in self.conflicts
        ]
        super().__init__("bridge points busy: " + "; ".join(parts))


@dataclass(frozen=True)
class MeetingEnv:
    """What meetings need from the settings: the local zone, Jitsi, defaults and the console's address."""

    tz: dt.tzinfo
    tzid: str
    jitsi: JitsiConfig
    public_url: str = ""
    buffer_minutes: int = 30
    working_hours: tuple[tuple[dt.time, dt.time], ...] = ()  # where "find a time" looks
    holidays: frozenset[dt.date] = frozenset()


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


# -- bridge points ----------------------------------------------------------------------------------------


def _point_name(value: str) -> str:
    name = clean_name(value)
    if not name:
        raise MeetingsError("bridge point name: must not be empty")
    return name


def _contact_mailbox(point_name: str, value: str) -> str:
    """The contact mailbox, lower-cased; empty is allowed (the secretary passes the link on)."""
    address = value.strip().lower()
    if address and not EMAIL.match(address):
        raise MeetingsError(f"bridge point {point_name}: contact mailbox {address!r} is not an email address")
    return address


def create_bridge_point(
    session: Session,
    actor: Actor,
    *,
    name: str,
    unit: Unit,
    location: str = "",
    capacity: int = 0,
    contact_email: str = "",
    equipment: str = "",
) -> BridgePoint:
    """Register a bridge point (điểm cầu) of ``unit``. Unit admins of that unit and system admins may."""
    if not actor.can(Role.UNIT_ADMIN, unit):
        raise PermissionDenied(f"{actor.name} may not add bridge points to unit {unit.name}")
    name = _point_name(name)
    if capacity < 0:
        raise MeetingsError(f"bridge point {name}: capacity must not be negative")
    contact_email = _contact_mailbox(name, contact_email)
    point = BridgePoint(
        name=name,
        unit=unit,
        location=location.strip(),
        capacity=capacity,
        contact_email=contact_email,
        equipment=equipment.strip(),
    )
    try:
        with session.begin_nested():  # opened before the add: a refused insert leaves the transaction usable
            session.add(point)
            session.flush()
    except IntegrityError:
        raise MeetingsError(f"bridge point name {name!r} is taken") from None
    trail.record(
        session,
        actor,
        "bridge_point.create",
        "bridge_point",
        point.id,
        target_label=name,
        unit_id=unit.id,
        after={"name": name, "unit_id": unit.id, "location": point.location, "capacity": capacity},
    )
    return point


def update_bridge_point(session: Session, actor: Actor, point: BridgePoint, **changes: object) -> BridgePoint:
    """Change a point's details or active flag (name, location, capacity, contact_email, equipment, is_active)."""
    if not actor.can(Role.UNIT_ADMIN, point.unit):
        raise PermissionDenied(f"{actor.name} may not change bridge point {point.name}")
    allowed = {"name", "location", "capacity", "contact_email", "equipment", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise MeetingsError(f"bridge point: unknown field {sorted(unknown)[0]!r}")
    before = {k: getattr(point, k) for k in changes}
    clean: dict[str, object] = {}
    for key, value in changes.items():
        if key == "name":
            value = _point_name(str(value))
        if key == "contact_email":
            value = _contact_mailbox(point.name, str(value))
        if key == "capacity" and (not isinstance(value, int) or value < 0):
            raise MeetingsError(f"bridge point {point.name}: capacity must be a whole number ≥ 0")
        clean[key] = value
    new_name = clean.get("name", point.name)
    try:
        with session.begin_nested():
            for key, value in clean.items():
                setattr(point, key, value)
            session.flush()
    except IntegrityError:
        raise MeetingsError(f"bridge point name {new_name!r} is taken") from None
    trail.record(
        session,
        actor,
        "bridge_point.update",
        "bridge_point",
        point.id,
        target_label=point.name,
        unit_id=point.unit_id,
        before=before,
        after={k: getattr(point, k) for k in changes},
    )
    return point


POINT_GROUPS = {
    "district": "all district points",
    "department": "all department points",
    "commune": "all commune points",
    "province": "province-level points",
}


def points_of_group(session: Session, group: str) -> list[BridgePoint]:
    """Active points of a group: a unit kind (``district`` = all district points) or ``unit:<code>`` (its subtree)."""
    query = select(BridgePoint).join(Unit).where(BridgePoint.is_active).order_by(BridgePoint.name)
    if group.startswith("unit:"):
        unit = session.scalar(select(Unit).where(Unit.code == group[5:]))
        if unit is None:
            raise MeetingsError(f"point group: no unit with code {group[5:]!r}")
        query = query.where(Unit.path.startswith(unit.path))
    elif group == "province":
        query = query.where(Unit.kind.in_([UnitKind.PROVINCE, UnitKind.OFFICE]))
    elif group in POINT_GROUPS:
        query = query.where(Unit.kind == group)
    else:
        raise MeetingsError(f"point group: unknown group {group!r}")
    return list(session.scalars(query))


# -- conflicts ---------------------------------------------------------------------------------------------


def find_conflicts(
    session: Session,
    point_ids: Iterable[int],
    spans: Sequence[tuple[dt.datetime, dt.datetime]],
    *,
    ignore_meeting_ids: Iterable[int] = (),
) -> list[Conflict]:
    """Every (point, meeting) hold overlapping one of ``spans`` (block start, end) for the given points."""
    ids = sorted(set(point_ids))
    if not ids or not spans:
        return []
    ignore = set(ignore_meeting_ids)
    lo = min(s for s, _ in spans)
    hi = max(e for _, e in spans)
    columns = (MeetingPoint.point_id, MeetingPoint.block_start, MeetingPoint.block_end, MeetingPoint.meeting_id)
    rows = session.execute(holds_between(ids, lo, hi, *columns)).all()
    hits: list[tuple[int, int]] = []
    ordered = sorted(spans)
    for point_id, b_start, b_end, meeting_id in rows:
        if meeting_id in ignore:
            continue
        if any(b_start < e and s < b_end for s, e in ordered):
            hits.append((point_id, meeting_id))
    if not hits:
        return []
    meetings = {m.id: m for m in session.scalars(select(Meeting).where(Meeting.id.in_({m for _, m in hits})))}
    points = {p.id: p for p in session.scalars(select(BridgePoint).where(BridgePoint.id.in_({p for p, _ in hits})))}
    seen: set[tuple[int, int]] = set()
    out: list[Conflict] = []
    for point_id, meeting_id in hits:
        if (point_id, meeting_id) in seen:
            continue
        seen.add((point_id, meeting_id))
        m = meetings[meeting_id]
        out.append(Conflict(point_id, points[point_id].name, m.id, m.title, m.starts_at, m.ends_at))
    return sorted(out, key=lambda c: (c.starts_at, c.point_name))


# -- booking -----------------------------------------------------------------------------------------------


def _require_secretary(actor: Actor, unit: Unit | None, what: str) -> None:
    if not (actor.can(Role.SECRETARY, unit) or actor.is_system_admin):
        raise PermissionDenied(f"{actor.name} may not {what}")


def _check_draft(session: Session, env: MeetingEnv, draft: MeetingDraft) -> tuple[BridgePoint, list[BridgePoint]]:
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
    host = session.get(BridgePoint, draft.host_point_id)
    if host is None:
        raise MeetingsError(f"host point: no bridge point with id {draft.host_point_id}")
    ids = list(dict.fromkeys([host.id, *draft.point_ids]))
    points = {p.id: p for p in session.scalars(select(BridgePoint).where(BridgePoint.id.in_(ids)))}
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
    draft.invitees = cleaned
    draft.organiser_email = draft.organiser_email.strip().lower()
    if draft.organiser_email and not EMAIL.match(draft.organiser_email):
        raise MeetingsError(f"organiser: {draft.organiser_email!r} is not an email address")
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


def _insert_points(session: Session, meeting: Meeting, points: Sequence[BridgePoint]) -> None:
    block_start = meeting.starts_at - dt.timedelta(minutes=meeting.buffer_minutes)
    for point in points:
        meeting.points.append(
            MeetingPoint(point=point, block_start=block_start, block_end=meeting.ends_at, is_active=True)
        )


@contextmanager
def _overlap_guard(
    session: Session, env: MeetingEnv, point_ids: Iterable[int], spans: Sequence[tuple[dt.datetime, dt.datetime]]
) -> Iterator[None]:
    """Run the writes in a savepoint opened before them; if the database's own overlap rule refuses them (a
    concurrent booking committed first), roll back to it and say who holds what."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as exc:
        if "no_overlap" not in str(exc.orig):
            raise
        raise MeetingConflict(find_conflicts(session, point_ids, spans), env.tz) from None


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
        _insert_points(session, meeting, points)
        for email, name in draft.invitees:
            meeting.invitees.append(Invitee(email=email, name=name, staff_id=_staff_id(session, email)))
        session.add(meeting)
        created.append(meeting)
    return created


def book_meeting(session: Session, actor: Actor, env: MeetingEnv, draft: MeetingDraft) -> list[Meeting]:
    """Book a meeting (or every occurrence of a series) or refuse it whole, naming every busy point."""
    host, points = _check_draft(session, env, draft)
    _require_secretary(actor, host.unit, f"book meetings hosted at {host.name}")
    times = _occurrence_times(env, draft)
    buffer = dt.timedelta(minutes=draft.buffer_minutes or 0)
    spans = [(s - buffer, e) for s, e in times]
    point_ids = [p.id for p in points]
    conflicts = find_conflicts(session, point_ids, spans)
    if conflicts:
        raise MeetingConflict(conflicts, env.tz)

    with _overlap_guard(session, env, point_ids, spans):
        created = _create_occurrences(session, actor, draft, host, points, times)
    first = created[0]
    series = first.series
    trail.record(
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


def _staff_id(session: Session, email: str) -> int | None:
    return session.scalar(select(Staff.id).where(Staff.email == email))


def load_meeting(session: Session, meeting_id: int) -> Meeting | None:
    return session.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(
            selectinload(Meeting.points).selectinload(MeetingPoint.point),
            selectinload(Meeting.invitees),
            selectinload(Meeting.attendance),
        )
    )


def _targets(meeting: Meeting, scope: str) -> list[Meeting]:
    if scope not in ("one", "series", "following"):
        raise MeetingsError(f"scope: must be one, following or series; got {scope!r}")
    if meeting.series is None or scope == "one":
        return [meeting]
    occurrences = [m for m in meeting.series.occurrences if not m.is_cancelled]
    if scope == "following":
        return [
            m
            for m in occurrences
            if (m.occurrence_start or m.starts_at) >= (meeting.occurrence_start or meeting.starts_at)
        ]
    return occurrences


@dataclass
class MeetingChanges:
    title: str | None = None
    agenda: str | None = None
    starts_at: dt.datetime | None = None  # for a series: the new local time of day is applied to each occurrence
    ends_at: dt.datetime | None = None
    point_ids: list[int] | None = None
    invitees: list[tuple[str, str]] | None = None
    buffer_minutes: int | None = None


def change_meeting(
    session: Session, actor: Actor, env: MeetingEnv, meeting: Meeting, changes: MeetingChanges, *, scope: str = "one"
) -> list[Meeting]:
    """Change one occurrence, the following ones, or the whole series; raise SEQUENCE and send updates."""
    _require_secretary(actor, meeting.host_point.unit, f"change meeting {meeting.title}")
    targets = _targets(meeting, scope)
    if meeting.is_cancelled:
        raise MeetingsError(f"meeting {meeting.title}: cancelled meetings cannot be changed")
    before = _snapshot(meeting, env)
    shift: dt.timedelta | None = None
    duration: dt.timedelta | None = None
    if changes.starts_at is not None or changes.ends_at is not None:
        new_start = changes.starts_at or meeting.starts_at
        new_end = changes.ends_at or (new_start + (meeting.ends_at - meeting.starts_at))
        if new_start.tzinfo is None or new_end.tzinfo is None:
            raise MeetingsError("start: a local time with its zone is required")
        shift = new_start - meeting.starts_at
        duration = new_end - new_start
    new_points: list[BridgePoint] | None = None
    removed_emails: dict[int, list[tuple[str, str]]] = {}
    for target in targets:
        draft = MeetingDraft(
            title=changes.title if changes.title is not None else target.title,
            starts_at=(target.starts_at + shift) if shift is not None else target.starts_at,
            ends_at=((target.starts_at + shift + duration) if shift is not None and duration else target.ends_at),
            host_point_id=target.host_point_id,
            point_ids=changes.point_ids if changes.point_ids is not None else [p.point_id for p in target.points],
            invitees=changes.invitees if changes.invitees is not None else [(i.email, i.name) for i in target.invitees],
            agenda=changes.agenda if changes.agenda is not None else target.agenda,
            buffer_minutes=changes.buffer_minutes if changes.buffer_minutes is not None else target.buffer_minutes,
            organiser_name=target.organiser_name,
            organiser_email=target.organiser_email,
        )
        draft.starts_at = draft.starts_at.astimezone(env.tz)
        draft.ends_at = draft.ends_at.astimezone(env.tz)
        _host, new_points = _check_draft(session, env, draft)
        span = (draft.starts_at - dt.timedelta(minutes=draft.buffer_minutes or 0), draft.ends_at)
        conflicts = find_conflicts(session, [p.id for p in new_points], [span], ignore_meeting_ids=[target.id])
        if conflicts:
            raise MeetingConflict(conflicts, env.tz)
        with _overlap_guard(session, env, [p.id for p in new_points], [span]):
            old_invitees = {i.email: i for i in target.invitees}
            old_contacts = {p.point.contact_email: p.point.name for p in target.points if p.point.contact_email}
            target.title = draft.title
            target.agenda = draft.agenda.strip()
            target.starts_at = draft.starts_at.astimezone(dt.UTC)
            target.ends_at = draft.ends_at.astimezone(dt.UTC)
            target.buffer_minutes = draft.buffer_minutes or 0
            keep = {p.id for p in new_points}
            for mp in list(target.points):
                if mp.point_id not in keep:
                    target.points.remove(mp)
            session.flush()
            present = {mp.point_id for mp in target.points}
            for mp in target.points:
                mp.block_start = target.block_start
                mp.block_end = target.ends_at
            _insert_points(session, target, [p for p in new_points if p.id not in present])
            wanted = dict(draft.invitees)
            for email, inv in old_invitees.items():
                if email not in wanted:
                    target.invitees.remove(inv)
            for email, name in draft.invitees:
                if email in old_invitees:
                    old_invitees[email].name = name
                else:
                    target.invitees.append(Invitee(email=email, name=name, staff_id=_staff_id(session, email)))
            new_contacts = {p.contact_email for p in new_points if p.contact_email}
            removed_emails[target.id] = [(e, old_invitees[e].name) for e in old_invitees if e not in wanted] + [
                (e, n) for e, n in old_contacts.items() if e not in new_contacts and e not in wanted
            ]
            target.sequence += 1
            target.updated_at = dt.datetime.now(dt.UTC)
    if meeting.series is not None and scope != "one":
        meeting.series.sequence += 1
    trail.record(
        session,
        actor,
        "meeting.change",
        "meeting",
        meeting.id,
        target_label=meeting.title,
        unit_id=meeting.host_point.unit_id,
        before=before,
        after=_snapshot(meeting, env) | {"scope": scope, "occurrences": len(targets)},
    )
    invitations.queue_invitations(session, env, targets, kind="update")
    for target in targets:
        for email, name in removed_emails.get(target.id, []):
            invitations.queue_cancellation(session, env, [target], only=(email, name))
    return targets


def cancel_meeting(
    session: Session, actor: Actor, env: MeetingEnv, meeting: Meeting, *, scope: str = "one", reason: str = ""
) -> list[Meeting]:
    """Cancel one occurrence (or the series): the points are free again and everyone gets METHOD:CANCEL."""
    _require_secretary(actor, meeting.host_point.unit, f"cancel meeting {meeting.title}")
    if meeting.is_cancelled:
        raise MeetingsError(f"meeting {meeting.title}: already cancelled")
    targets = _targets(meeting, scope)
    now = dt.datetime.now(dt.UTC)
    for target in targets:
        target.is_cancelled = True
        target.sequence += 1
        target.updated_at = now
    session.execute(
        update(MeetingPoint).where(MeetingPoint.meeting_id.in_([t.id for t in targets])).values(is_active=False)
    )
    whole_series = meeting.series is not None and scope == "series"
    if meeting.series is not None:
        meeting.series.sequence += 1
        if whole_series:
            meeting.series.is_cancelled = True
    session.flush()
    trail.record(
        session,
        actor,
        "meeting.cancel",
        "meeting",
        meeting.id,
        target_label=meeting.title,
        unit_id=meeting.host_point.unit_id,
        before=_snapshot(meeting, env),
        after={"cancelled": True, "scope": scope, "occurrences": len(targets), "reason": reason.strip()},
    )
    invitations.queue_cancellation(session, env, targets, whole_series=whole_series, reason=reason.strip())
    return targets


def _snapshot(meeting: Meeting, env: MeetingEnv) -> dict[str, object]:
    return {
        "title": meeting.title,
        "starts_at": meeting.starts_at.astimezone(env.tz).isoformat(),
        "ends_at": meeting.ends_at.astimezone(env.tz).isoformat(),
        "points": sorted(p.point.name for p in meeting.points),
        "invitees": sorted(i.email for i in meeting.invitees),
        "buffer_minutes": meeting.buffer_minutes,
    }


def find_free_slots(
    session: Session,
    env: MeetingEnv,
    point_ids: Sequence[int],
    duration: dt.timedelta,
    first_day: dt.date,
    last_day: dt.date,
    *,
    buffer_minutes: int | None = None,
    limit: int = 5,
    not_before: dt.datetime | None = None,
) -> list[Slot]:
    """ "Find a time" with the configured working hours, holidays and default set-up buffer."""
    buffer = env.buffer_minutes if buffer_minutes is None else buffer_minutes
    return find_slots(
        session,
        point_ids,
        duration,
        first_day,
        last_day,
        tz=env.tz,
        working_hours=env.working_hours,
        holidays=env.holidays,
        buffer=dt.timedelta(minutes=buffer),
        limit=limit,
        not_before=not_before,
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
