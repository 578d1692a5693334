"""Invitations, updates, cancellations and reminders: one mail per recipient (each point's contact, each invited
person, the organiser), queued in the caller's transaction as a small row naming the ``meeting`` renderer and its
params. The sender builds each mail (token, iCalendar, text: ``meetings.mail_content``) after the commit, so a
135-point booking writes 136 rows and renders nothing while it holds the write lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import outbox
from core.actors import Actor, PermissionDenied
from meetings.env import MeetingEnv
from meetings.jitsi import person_participant, point_participant
from meetings.mail_content import (
    Recipient,
    join_link,
    mail_params,
    recipients,
    series_calendar,
    subject_line,
)
from meetings.models import BridgePoint, Meeting
from meetings.permissions import can_see_links
from meetings.queries import load_meeting

__all__ = [
    "Recipient",
    "join_link",
    "meeting_links",
    "organiser_calendar",
    "queue_cancellation",
    "queue_invitations",
    "queue_reminders",
    "recipients",
    "series_calendar",
]


def meeting_links(actor: Actor, env: MeetingEnv, meeting: Meeting) -> list[tuple[str, str, str]]:
    """(who, role, link) for every recipient and for each point without a contact mailbox (the secretary passes
    its link on). Only those who may see links get them."""
    if not can_see_links(actor):
        raise PermissionDenied(f"{actor.name} may not see the join links of meeting {meeting.title}")
    contactless = [
        Recipient("", mp.point.name, point_participant(meeting, mp.point), "point")
        for mp in meeting.points
        if not mp.point.contact_email
    ]
    return [
        (r.name or r.email, r.role, join_link(env.jitsi, meeting, r.who)) for r in recipients(meeting) + contactless
    ]


def organiser_calendar(actor: Actor, env: MeetingEnv, meeting: Meeting) -> str:
    """The organiser's iCalendar file of ``meeting`` (of its whole series for an occurrence), with join links."""
    if not can_see_links(actor):
        raise PermissionDenied(f"{actor.name} may not download the calendar of meeting {meeting.title}")
    organiser = Recipient(
        meeting.organiser_email,
        meeting.organiser_name,
        person_participant(meeting, meeting.organiser_email or "organiser@invalid", meeting.organiser_name),
        "organiser",
    )
    occurrences = list(meeting.series.occurrences) if meeting.series is not None else [meeting]
    return series_calendar(occurrences, env, organiser)


def queue_invitations(
    session: Session,
    env: MeetingEnv,
    meetings: Sequence[Meeting],
    *,
    kind: str,
    points: Sequence[BridgePoint] | None = None,
) -> int:
    """Queue an invitation (or update) per recipient. ``meetings``: one meeting, or occurrences of one series;
    ``points``, the points they hold when the caller has them (a new booking), instead of reading the holds."""
    session.flush()
    first = meetings[0]
    whole_series = first.series is not None and len(meetings) > 1
    prefix = "Mời họp trực tuyến" if kind == "invitation" else "Thay đổi lịch họp"
    subject = subject_line(prefix, first, env) + (f" (chuỗi {len(meetings)} buổi)" if whole_series else "")
    return _queue(session, kind, meetings, recipients(first, points), subject, whole_series=whole_series)


def queue_cancellation(
    session: Session,
    env: MeetingEnv,
    meetings: Sequence[Meeting],
    *,
    whole_series: bool = False,
    reason: str = "",
    only: tuple[str, str] | None = None,
) -> int:
    """METHOD:CANCEL to everyone (or ``only`` one removed recipient): the whole series, or the given occurrences."""
    session.flush()
    first = meetings[0]
    targets = [Recipient(only[0], only[1], person_participant(first, *only), "invitee")] if only else recipients(first)
    series = whole_series and first.series is not None
    subject = subject_line("Hủy cuộc họp", first, env)
    return _queue(
        session, "cancel", meetings, targets, subject, whole_series=series, reason=reason, only=only is not None
    )


def queue_reminders(session: Session, env: MeetingEnv, *, now: dt.datetime, lead: dt.timedelta) -> list[int]:
    """Remind everyone of meetings starting within ``lead``. Each meeting is claimed with a conditional update
    (reminder_sent_at still empty), so two schedulers, or a restart mid-run, never remind twice."""
    due = session.scalars(
        select(Meeting.id).where(
            Meeting.is_cancelled.is_(False),
            Meeting.reminder_sent_at.is_(None),
            Meeting.starts_at > now,
            Meeting.starts_at <= now + lead,
        )
    ).all()
    reminded: list[int] = []
    for meeting_id in due:
        claimed = session.execute(
            update(Meeting)
            .where(Meeting.id == meeting_id, Meeting.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
        ).rowcount
        if not claimed:
            continue
        meeting = load_meeting(session, meeting_id)
        assert meeting is not None
        _queue(session, "reminder", [meeting], recipients(meeting), subject_line("Nhắc lịch họp", meeting, env))
        reminded.append(meeting_id)
    return reminded


def _queue(
    session: Session, kind: str, meetings: Sequence[Meeting], targets: list[Recipient], subject: str, **extra: object
) -> int:
    """One mail of ``kind`` about ``meetings`` (one, or occurrences of one series) per recipient, in one statement:
    a row naming the ``meeting`` renderer and what it needs (:func:`mail_params` with ``extra``)."""
    messages = [
        {
            "kind": kind,
            "subject_ref": f"meeting:{meetings[0].id}",
            "recipient": r.email,
            "recipient_name": r.name,
            "subject": subject,
            "renderer": "meeting",
            "params": mail_params(kind, meetings, r, **extra),
        }
        for r in targets
    ]
    return len(outbox.enqueue_many(session, messages))
