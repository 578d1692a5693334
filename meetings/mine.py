"""A person's own meetings: those they are invited to or organise, and those of the bridge points whose
contact mailbox is theirs — each with their own join link — and private calendar feeds of them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from core import changelog
from core.actors import Actor, PermissionDenied
from core.db import utcnow
from meetings import ical
from meetings.env import MeetingEnv
from meetings.errors import MeetingsError
from meetings.feed_models import CalendarFeed
from meetings.jitsi import person_participant, point_participant
from meetings.mail_content import Recipient, event_data, join_link
from meetings.models import BridgePoint, Invitee, Meeting, MeetingPoint
from meetings.permissions import can_manage_points
from provisioning.models import Staff

FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=400)


@dataclasses.dataclass(frozen=True)
class MyMeeting:
    meeting: Meeting
    recipient: Recipient  # who the link is for: the person, or the point they are the contact of
    link: str


def _window(since: dt.datetime | None, until: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    now = utcnow()
    return since or now - FEED_PAST, until or now + FEED_AHEAD


def _loaded(query):  # type: ignore[no-untyped-def]
    return query.options(
        selectinload(Meeting.points).selectinload(MeetingPoint.point),
        selectinload(Meeting.invitees),
        selectinload(Meeting.host_point),
    ).order_by(Meeting.starts_at, Meeting.id)


def meetings_of_person(
    session: Session, env: MeetingEnv, staff: Staff, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> list[MyMeeting]:
    """Meetings ``staff`` is invited to, organises, or whose points they are the contact of, in the window."""
    lo, hi = _window(since, until)
    email = staff.email.lower()
    invited = select(Invitee.meeting_id).where(or_(Invitee.staff_id == staff.id, Invitee.email == email))
    contact_points = select(BridgePoint.id).where(BridgePoint.contact_email == email)
    via_point = select(MeetingPoint.meeting_id).where(MeetingPoint.point_id.in_(contact_points))
    found = session.scalars(
        _loaded(
            select(Meeting).where(
                Meeting.ends_at > lo,
                Meeting.starts_at < hi,
                or_(Meeting.id.in_(invited), Meeting.organiser_email == email, Meeting.id.in_(via_point)),
            )
        )
    ).all()
    out: list[MyMeeting] = []
    for meeting in found:
        mine = [mp.point for mp in meeting.points if mp.point.contact_email == email]
        if (
            any(i.email == email or i.staff_id == staff.id for i in meeting.invitees)
            or meeting.organiser_email == email
        ):
            who = person_participant(meeting, email, staff.full_name)
            r = Recipient(email, staff.full_name, who, "organiser" if who.role == "organiser" else "invitee")
        else:
            point = sorted(mine, key=lambda p: (p.id != meeting.host_point_id, p.name))[0]
            r = Recipient(email, point.name, point_participant(meeting, point), "point")
        out.append(MyMeeting(meeting, r, join_link(env.jitsi, meeting, r.who)))
    return out


def meetings_of_point(
    session: Session,
    env: MeetingEnv,
    point: BridgePoint,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[MyMeeting]:
    lo, hi = _window(since, until)
    taking_part = select(MeetingPoint.meeting_id).where(MeetingPoint.point_id == point.id)
    found = session.scalars(
        _loaded(select(Meeting).where(Meeting.ends_at > lo, Meeting.starts_at < hi, Meeting.id.in_(taking_part)))
    ).all()
    out = []
    for meeting in found:
        r = Recipient(point.contact_email or "", point.name, point_participant(meeting, point), "point")
        out.append(MyMeeting(meeting, r, join_link(env.jitsi, meeting, r.who)))
    return out


def feed_calendar(env: MeetingEnv, items: Sequence[MyMeeting], name: str) -> str:
    """A subscribable calendar (METHOD:PUBLISH): each occurrence its own event, cancelled ones marked so."""
    events = []
    for item in items:
        m = item.meeting
        event = event_data(m, env, item.recipient, item.link, status="CANCELLED" if m.is_cancelled else "CONFIRMED")
        if m.series_id is not None:  # no master in a feed: each occurrence stands alone
            event = dataclasses.replace(event, uid=f"{m.id}-{m.uid}", recurrence_id=None)
        events.append(event)
    text = ical.calendar("PUBLISH", events, tzid=env.tzid, tz=env.tz)
    header = f"X-WR-CALNAME:{ical.escape_text(name)}"
    return text.replace("METHOD:PUBLISH\r\n", f"METHOD:PUBLISH\r\n{ical.fold(header)}\r\n", 1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _may_own(session: Session, actor: Actor, staff: Staff | None, point: BridgePoint | None) -> None:
    if staff is not None:
        if not (actor.kind == "staff" and actor.id == staff.id):
            raise PermissionDenied(f"{actor.name} may only make calendar feeds of their own meetings")
        return
    assert point is not None
    me = session.get(Staff, actor.id) if actor.kind == "staff" and actor.id is not None else None
    is_contact = me is not None and point.contact_email and me.email == point.contact_email
    if not (is_contact or can_manage_points(actor, point.unit)):
        raise PermissionDenied(f"{actor.name} may not make the calendar feed of bridge point {point.name}")


def issue_feed(session: Session, actor: Actor, *, staff: Staff | None = None, point: BridgePoint | None = None) -> str:
    """A new secret feed URL token for ``staff`` (themselves) or ``point`` (its contact or who manages it);
    the previous feed of that owner stops working. Returns the token (shown once in the URL)."""
    if (staff is None) == (point is None):
        raise MeetingsError("a calendar feed belongs to one person or one bridge point")
    _may_own(session, actor, staff, point)
    revoked = revoke_feeds(session, actor, staff=staff, point=point, record=False)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        token_sha256=_digest(token),
        staff_id=staff.id if staff else None,
        point_id=point.id if point else None,
        created_by=actor.label,
    )
    session.add(feed)
    session.flush()
    label = staff.email if staff else point.name  # type: ignore[union-attr]
    changelog.record(
        session, actor, "calendar_feed.issue", "calendar_feed", feed.id, target_label=label,
        unit_id=staff.unit_id if staff else point.unit_id,  # type: ignore[union-attr]
        after={"replaces": revoked},
    )  # fmt: skip
    return token


def revoke_feeds(
    session: Session,
    actor: Actor,
    *,
    staff: Staff | None = None,
    point: BridgePoint | None = None,
    record: bool = True,
) -> int:
    """Stop every live feed of the owner. Returns how many."""
    _may_own(session, actor, staff, point)
    owner = CalendarFeed.staff_id == staff.id if staff else CalendarFeed.point_id == point.id  # type: ignore[union-attr]
    live = session.scalars(select(CalendarFeed).where(owner, CalendarFeed.revoked_at.is_(None))).all()
    now = utcnow()
    for feed in live:
        feed.revoked_at = now
    session.flush()
    if record and live:
        label = staff.email if staff else point.name  # type: ignore[union-attr]
        changelog.record(
            session, actor, "calendar_feed.revoke", "calendar_feed", live[0].id, target_label=label,
            unit_id=staff.unit_id if staff else point.unit_id,  # type: ignore[union-attr]
            after={"revoked": len(live)},
        )  # fmt: skip
    return len(live)


def live_feed(session: Session, *, staff: Staff | None = None, point: BridgePoint | None = None) -> CalendarFeed | None:
    owner = CalendarFeed.staff_id == staff.id if staff else CalendarFeed.point_id == point.id  # type: ignore[union-attr]
    return session.scalar(select(CalendarFeed).where(owner, CalendarFeed.revoked_at.is_(None)))


def feed_by_token(session: Session, token: str) -> CalendarFeed | None:
    """The live feed this secret opens, or None (unknown, revoked, or not a token at all)."""
    if not token or len(token) > 100:
        return None
    return session.scalar(
        select(CalendarFeed).where(CalendarFeed.token_sha256 == _digest(token), CalendarFeed.revoked_at.is_(None))
    )
