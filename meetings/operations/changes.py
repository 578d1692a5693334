"""Changing and cancelling meetings: one occurrence, the following ones, or the whole series. Every change raises
the iCalendar SEQUENCE and sends updates; people and points taken off the meeting get a cancellation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from meetings import invitations
from meetings.env import MeetingEnv
from meetings.errors import MeetingsError
from meetings.models import BridgePoint, Invitee, Meeting, MeetingPoint
from meetings.operations.bookings import MeetingDraft, check_draft, insert_holds
from meetings.operations.conflicts import overlap_guard, refuse_conflicts
from meetings.permissions import can_change

SCOPES = ("one", "following", "series")


@dataclass
class MeetingChanges:
    title: str | None = None
    agenda: str | None = None
    starts_at: dt.datetime | None = None  # for a series: the new local time of day is applied to each occurrence
    ends_at: dt.datetime | None = None
    point_ids: list[int] | None = None
    invitees: list[tuple[str, str]] | None = None
    buffer_minutes: int | None = None


def _require_change(actor: Actor, meeting: Meeting, verb: str) -> None:
    if not can_change(actor, meeting):
        raise PermissionDenied(f"{actor.name} may not {verb} meeting {meeting.title}")


def _targets(meeting: Meeting, scope: str) -> list[Meeting]:
    if scope not in SCOPES:
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


def change_meeting(
    session: Session, actor: Actor, env: MeetingEnv, meeting: Meeting, changes: MeetingChanges, *, scope: str = "one"
) -> list[Meeting]:
    """Change one occurrence, the following ones, or the whole series; raise SEQUENCE and send updates.
    Whoever may book at the meeting's host point may."""
    _require_change(actor, meeting, "change")
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
        _host, new_points = check_draft(session, env, draft)
        span = (draft.starts_at - dt.timedelta(minutes=draft.buffer_minutes or 0), draft.ends_at)
        point_ids = [p.id for p in new_points]
        refuse_conflicts(session, env, point_ids, [span], ignore_meeting_ids=[target.id])
        with overlap_guard(session, env, point_ids, [span]):
            removed_emails[target.id] = _apply(session, target, draft, new_points)
    if meeting.series is not None and scope != "one":
        meeting.series.sequence += 1
    after = _snapshot(meeting, env) | {"scope": scope, "occurrences": len(targets)}
    _record(session, actor, "meeting.change", meeting, before, after)
    invitations.queue_invitations(session, env, targets, kind="update")
    for target in targets:
        for email, name in removed_emails.get(target.id, []):
            invitations.queue_cancellation(session, env, [target], only=(email, name))
    return targets


def _apply(
    session: Session, target: Meeting, draft: MeetingDraft, new_points: list[BridgePoint]
) -> list[tuple[str, str]]:
    """Write a checked draft onto one occurrence; return the (email, name) of those no longer invited."""
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
    insert_holds(session, [target], [p for p in new_points if p.id not in present])
    wanted = dict(draft.invitees)
    for email, inv in old_invitees.items():
        if email not in wanted:
            target.invitees.remove(inv)
    for email, name in draft.invitees:
        if email in old_invitees:
            old_invitees[email].name = name
        else:
            target.invitees.append(Invitee(email=email, name=name, staff_id=draft.staff_ids.get(email)))
    new_contacts = {p.contact_email for p in new_points if p.contact_email}
    target.sequence += 1
    target.updated_at = dt.datetime.now(dt.UTC)
    return [(e, old_invitees[e].name) for e in old_invitees if e not in wanted] + [
        (e, n) for e, n in old_contacts.items() if e not in new_contacts and e not in wanted
    ]


def cancel_meeting(
    session: Session, actor: Actor, env: MeetingEnv, meeting: Meeting, *, scope: str = "one", reason: str = ""
) -> list[Meeting]:
    """Cancel one occurrence (or the series): the points are free again and everyone gets METHOD:CANCEL.
    Whoever may book at the meeting's host point may."""
    _require_change(actor, meeting, "cancel")
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
    after = {"cancelled": True, "scope": scope, "occurrences": len(targets), "reason": reason.strip()}
    _record(session, actor, "meeting.cancel", meeting, _snapshot(meeting, env), after)
    invitations.queue_cancellation(session, env, targets, whole_series=whole_series, reason=reason.strip())
    return targets


def _record(
    session: Session, actor: Actor, action: str, meeting: Meeting, before: dict[str, object], after: dict[str, object]
) -> None:
    """The audit entry of a change to ``meeting`` (the one it was asked on, for a series), filed under its host
    point's unit."""
    changelog.record(
        session,
        actor,
        action,
        "meeting",
        meeting.id,
        target_label=meeting.title,
        unit_id=meeting.host_point.unit_id,
        before=before,
        after=after,
    )


def _snapshot(meeting: Meeting, env: MeetingEnv) -> dict[str, object]:
    return {
        "title": meeting.title,
        "starts_at": meeting.starts_at.astimezone(env.tz).isoformat(),
        "ends_at": meeting.ends_at.astimezone(env.tz).isoformat(),
        "points": sorted(p.point.name for p in meeting.points),
        "invitees": sorted(i.email for i in meeting.invitees),
        "buffer_minutes": meeting.buffer_minutes,
    }
