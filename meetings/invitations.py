"""Invitations, updates, cancellations and reminders: one message per recipient (each point's contact, each
invited person, the organiser), with that recipient's own join link and an iCalendar part. Messages go to the
outbox in the caller's transaction; the outbox sends them after the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from core import outbox
from core.actors import Actor, PermissionDenied
from meetings import ical
from meetings.env import MeetingEnv
from meetings.jitsi import JitsiConfig, Participant, person_participant, point_participant
from meetings.jitsi import join_link as _sign_link
from meetings.models import Meeting, MeetingPoint
from meetings.permissions import can_see_links
from meetings.recurrence import Recurrence, to_rrule

_LINKS: dict[tuple[JitsiConfig, int, Participant, str], str] = {}


def join_link(config: JitsiConfig, meeting: Meeting, who: Participant) -> str:
    """Signed join links, remembered per (meeting, participant, validity) within the process: an invitation
    needs each link twice (text and calendar), and a series update rebuilds all of them."""
    key = (
        config,
        meeting.id,
        who,
        f"{meeting.room_name}|{meeting.starts_at}|{meeting.ends_at}|{meeting.buffer_minutes}",
    )
    link = _LINKS.get(key)
    if link is None:
        if len(_LINKS) > 20_000:
            _LINKS.clear()
        link = _LINKS[key] = _sign_link(config, meeting, who)
    return link


WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
MAX_LISTED_OCCURRENCES = 30


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    who: Participant
    role: str  # point | invitee | organiser


def recipients(meeting: Meeting) -> list[Recipient]:
    """Everyone who gets mail about ``meeting``: point contacts, invited people, the organiser (once each)."""
    out: list[Recipient] = []
    seen: set[tuple[str, str]] = set()
    for mp in sorted(meeting.points, key=lambda p: (p.point_id != meeting.host_point_id, p.point.name)):
        point = mp.point
        if point.contact_email and (point.contact_email, f"point-{point.id}") not in seen:
            who = point_participant(meeting, point)
            seen.add((point.contact_email, who.id))
            out.append(Recipient(point.contact_email, point.name, who, "point"))
    for invitee in meeting.invitees:
        who = person_participant(meeting, invitee.email, invitee.name)
        if (invitee.email, who.id) not in seen:
            seen.add((invitee.email, who.id))
            out.append(Recipient(invitee.email, invitee.name, who, "invitee"))
    if meeting.organiser_email:
        who = person_participant(meeting, meeting.organiser_email, meeting.organiser_name)
        if (meeting.organiser_email, who.id) not in seen:
            out.append(Recipient(meeting.organiser_email, meeting.organiser_name, who, "organiser"))
    return out


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


def when_text(meeting: Meeting, tz: dt.tzinfo) -> str:
    start = meeting.starts_at.astimezone(tz)
    end = meeting.ends_at.astimezone(tz)
    return f"{start:%H:%M}–{end:%H:%M}, {WEEKDAYS_VI[start.weekday()]} {start:%d/%m/%Y}"


def _description(meeting: Meeting, env: MeetingEnv, link: str) -> str:
    points = sorted(mp.point.name for mp in meeting.points)
    lines = [
        meeting.title,
        f"Thời gian: {when_text(meeting, env.tz)} (giờ Việt Nam)",
        f"Kiểm tra kỹ thuật từ {meeting.block_start.astimezone(env.tz):%H:%M}",
        f"Điểm cầu chủ trì: {meeting.host_point.name}",
        f"Các điểm cầu ({len(points)}): {', '.join(points)}",
    ]
    if meeting.agenda:
        lines.append(f"Nội dung: {meeting.agenda}")
    lines.append(f"Đường dẫn tham gia: {link}")
    return "\n".join(lines)


def _event(
    meeting: Meeting, env: MeetingEnv, r: Recipient, link: str, *, series_sequence: int = 0, status: str = "CONFIRMED"
) -> ical.EventData:
    return ical.EventData(
        uid=meeting.uid,
        sequence=meeting.sequence + series_sequence,
        start=meeting.starts_at,
        end=meeting.ends_at,
        summary=meeting.title,
        description=_description(meeting, env, link),
        location=f"Họp trực tuyến – điểm cầu {r.who.name}" if r.role == "point" else "Họp trực tuyến (Jitsi)",
        url=link,
        organiser_name=meeting.organiser_name,
        organiser_email=meeting.organiser_email or "",
        attendee_email=r.email,
        attendee_name=r.name,
        recurrence_id=meeting.occurrence_start if meeting.series_id is not None else None,
        status=status,
        stamp=meeting.updated_at,
    )


def _master(first: Meeting, env: MeetingEnv, r: Recipient, cancelled: Sequence[Meeting]) -> ical.EventData:
    series = first.series
    assert series is not None
    rule = Recurrence.from_text(series.freq, series.interval, series.weekdays, series.until, series.count)
    start = (first.occurrence_start or first.starts_at).astimezone(env.tz)
    base = _event(first, env, r, "", series_sequence=0)
    return ical.EventData(
        **{
            **base.__dict__,
            "sequence": series.sequence,
            "start": start,
            "end": start + (first.ends_at - first.starts_at),
            "recurrence_id": None,
            "rrule": to_rrule(rule, start),
            "exdates": tuple(m.occurrence_start for m in cancelled if m.occurrence_start is not None),
            "description": f"{first.title}\nChuỗi họp định kỳ; mỗi buổi có đường dẫn riêng trong từng sự kiện.",
            "url": "",
        }
    )


def series_calendar(meetings: Sequence[Meeting], env: MeetingEnv, r: Recipient, method: str = "REQUEST") -> str:
    """The iCalendar text of one meeting, or of a series (master + one override per remaining occurrence)."""
    first = meetings[0]
    if first.series is None:
        return ical.calendar(
            method, [_event(first, env, r, join_link(env.jitsi, first, r.who))], tzid=env.tzid, tz=env.tz
        )
    series = first.series
    occurrences = list(series.occurrences)
    cancelled = [m for m in occurrences if m.is_cancelled]
    live = [m for m in occurrences if not m.is_cancelled]
    master_from = occurrences[0]
    events = [_master(master_from, env, r, cancelled)]
    events += [
        _event(m, env, r, join_link(env.jitsi, m, _same_role(m, r)), series_sequence=series.sequence) for m in live
    ]
    return ical.calendar(method, events, tzid=env.tzid, tz=env.tz)


def _same_role(meeting: Meeting, r: Recipient) -> Participant:
    """The recipient's participant identity in another occurrence (moderator flags follow that occurrence)."""
    if r.who.id.startswith("point-"):
        point_id = int(r.who.id[6:])
        for mp in meeting.points:
            if mp.point_id == point_id:
                return point_participant(meeting, mp.point)
    return person_participant(meeting, r.email, r.name)


def _subject(prefix: str, meeting: Meeting, env: MeetingEnv) -> str:
    start = meeting.starts_at.astimezone(env.tz)
    return f"{prefix}: {meeting.title} – {start:%H:%M %d/%m/%Y}"


def _body(intro: str, meetings: Sequence[Meeting], env: MeetingEnv, r: Recipient) -> str:
    first = meetings[0]
    greeting = f"Kính gửi {r.name}," if r.name else "Kính gửi Quý đại biểu,"
    lines = [greeting, "", intro, "", f"    {first.title}"]
    if len(meetings) == 1:
        meeting = meetings[0]
        lines += [
            f"    Thời gian: {when_text(meeting, env.tz)} (giờ Việt Nam)",
            f"    Kiểm tra kỹ thuật từ {meeting.block_start.astimezone(env.tz):%H:%M}",
        ]
    lines += [f"    Điểm cầu chủ trì: {first.host_point.name}"]
    points = sorted(mp.point.name for mp in first.points)
    lines += [f"    Các điểm cầu ({len(points)}): {', '.join(points)}"]
    if first.agenda:
        lines += ["", "Nội dung:", first.agenda]
    lines.append("")
    if r.role == "point":
        lines.append(f"Đường dẫn tham gia dành cho điểm cầu {r.who.name}:")
    else:
        lines.append("Đường dẫn tham gia của anh/chị:")
    if len(meetings) == 1:
        lines.append(join_link(env.jitsi, meetings[0], r.who))
    else:
        for m in meetings[:MAX_LISTED_OCCURRENCES]:
            lines.append(f"  - {when_text(m, env.tz)}: {join_link(env.jitsi, m, _same_role(m, r))}")
        if len(meetings) > MAX_LISTED_OCCURRENCES:
            lines.append(
                f"  … và {len(meetings) - MAX_LISTED_OCCURRENCES} buổi sau; thư nhắc trước mỗi buổi có đường dẫn."
            )
    lines += ["", "Đường dẫn chỉ dùng được từ lúc bắt đầu kiểm tra kỹ thuật đến khi kết thúc cuộc họp."]
    if env.public_url:
        lines.append(f"Chi tiết cuộc họp: {env.public_url.rstrip('/')}/meetings/{first.id}")
    lines += ["", "Thư gửi tự động từ hệ thống congvu, vui lòng không trả lời."]
    return "\n".join(lines)


def queue_invitations(session: Session, env: MeetingEnv, meetings: Sequence[Meeting], *, kind: str) -> int:
    """Queue an invitation (or update) per recipient. ``meetings``: one meeting, or occurrences of one series."""
    session.flush()
    first = meetings[0]
    whole_series = first.series is not None and len(meetings) > 1
    prefix, intro = (
        ("Mời họp trực tuyến", "Trân trọng kính mời tham dự cuộc họp trực tuyến:")
        if kind == "invitation"
        else ("Thay đổi lịch họp", "Cuộc họp trực tuyến sau đã được cập nhật (thay cho thông báo trước):")
    )
    count = 0
    for r in recipients(first):
        if whole_series:
            cal = series_calendar(meetings, env, r)
        else:
            cal = ical.calendar(
                "REQUEST",
                [
                    _event(m, env, r, join_link(env.jitsi, m, _same_role(m, r)), series_sequence=_sseq(m))
                    for m in meetings
                ],
                tzid=env.tzid,
                tz=env.tz,
            )
        outbox.enqueue(
            session,
            kind=kind,
            subject_ref=f"meeting:{first.id}",
            recipient=r.email,
            recipient_name=r.name,
            subject=_subject(prefix, first, env) + (f" (chuỗi {len(meetings)} buổi)" if whole_series else ""),
            body=_body(intro, meetings, env, r),
            calendar=cal,
            calendar_method="REQUEST",
        )
        count += 1
    return count


def _sseq(meeting: Meeting) -> int:
    return meeting.series.sequence if meeting.series is not None else 0


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
    count = 0
    for r in targets:
        if whole_series and first.series is not None:
            events = [_master(first.series.occurrences[0], env, r, [])]
            events[0] = ical.EventData(**{**events[0].__dict__, "status": "CANCELLED", "rrule": ""})
        else:
            events = [_event(m, env, r, "", series_sequence=_sseq(m), status="CANCELLED") for m in meetings]
        intro = "Cuộc họp trực tuyến sau đã bị hủy:" if not only else "Anh/chị không còn trong danh sách mời họp:"
        body = _body(intro, meetings, env, r).split("\nĐường dẫn tham gia")[0]
        if reason:
            body += f"\nLý do: {reason}\n"
        outbox.enqueue(
            session,
            kind="cancel",
            subject_ref=f"meeting:{first.id}",
            recipient=r.email,
            recipient_name=r.name,
            subject=_subject("Hủy cuộc họp", first, env),
            body=body,
            calendar=ical.calendar("CANCEL", events, tzid=env.tzid, tz=env.tz),
            calendar_method="CANCEL",
        )
        count += 1
    return count


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
        meeting = session.scalar(
            select(Meeting)
            .where(Meeting.id == meeting_id)
            .options(selectinload(Meeting.points).selectinload(MeetingPoint.point), selectinload(Meeting.invitees))
        )
        assert meeting is not None
        for r in recipients(meeting):
            outbox.enqueue(
                session,
                kind="reminder",
                subject_ref=f"meeting:{meeting.id}",
                recipient=r.email,
                recipient_name=r.name,
                subject=_subject("Nhắc lịch họp", meeting, env),
                body=_body("Nhắc lịch cuộc họp trực tuyến sắp diễn ra:", [meeting], env, r),
            )
        reminded.append(meeting_id)
    return reminded
