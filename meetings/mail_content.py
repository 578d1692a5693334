"""The content of meeting mail, built when it is sent (``render_meeting_mail``, the outbox's ``meeting``
renderer): invitations, updates, cancellations and reminders, one per recipient, with that recipient's own join
link and an iCalendar part. What a queued mail needs is in its params (``meetings.invitations`` writes them);
the SEQUENCE numbers it recorded are replayed, so a retried send is the same message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.outbox import MailJob, RenderedMail
from meetings import ical
from meetings.env import MeetingEnv
from meetings.jitsi import JitsiConfig, Participant, person_participant, point_participant
from meetings.jitsi import join_link as _sign_link
from meetings.models import BridgePoint, Meeting, MeetingPoint, MeetingSeries
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


def recipients(meeting: Meeting, points: Sequence[BridgePoint] | None = None) -> list[Recipient]:
    """Everyone who gets mail about ``meeting``: point contacts, invited people, the organiser (once each).
    ``points``: the points it holds, if the caller has them; otherwise read from its holds."""
    out: list[Recipient] = []
    seen: set[tuple[str, str]] = set()
    held = [mp.point for mp in meeting.points] if points is None else points
    for point in sorted(held, key=lambda p: (p.id != meeting.host_point_id, p.name)):
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


def event_data(
    meeting: Meeting,
    env: MeetingEnv,
    r: Recipient,
    link: str,
    *,
    series_sequence: int = 0,
    status: str = "CONFIRMED",
    sequence: int | None = None,
) -> ical.EventData:
    return ical.EventData(
        uid=meeting.uid,
        sequence=meeting.sequence + series_sequence if sequence is None else sequence,
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


def master_event(
    first: Meeting, env: MeetingEnv, r: Recipient, cancelled: Sequence[Meeting], sequence: int | None = None
) -> ical.EventData:
    series = first.series
    assert series is not None
    rule = Recurrence.from_text(series.freq, series.interval, series.weekdays, series.until, series.count)
    start = (first.occurrence_start or first.starts_at).astimezone(env.tz)
    base = event_data(first, env, r, "", series_sequence=0)
    return ical.EventData(
        **{
            **base.__dict__,
            "sequence": series.sequence if sequence is None else sequence,
            "start": start,
            "end": start + (first.ends_at - first.starts_at),
            "recurrence_id": None,
            "rrule": to_rrule(rule, start),
            "exdates": tuple(m.occurrence_start for m in cancelled if m.occurrence_start is not None),
            "description": f"{first.title}\nChuỗi họp định kỳ; mỗi buổi có đường dẫn riêng trong từng sự kiện.",
            "url": "",
        }
    )


def series_calendar(
    meetings: Sequence[Meeting],
    env: MeetingEnv,
    r: Recipient,
    method: str = "REQUEST",
    sequences: Mapping[int, int] | None = None,
    series_sequence: int | None = None,
) -> str:
    """The iCalendar text of one meeting, or of a series (master + one override per remaining occurrence).
    ``sequences`` (meeting id → SEQUENCE) and ``series_sequence`` replay the numbers a queued mail recorded."""
    seq = dict(sequences or {})
    first = meetings[0]
    if first.series is None:
        event = event_data(first, env, r, join_link(env.jitsi, first, r.who), sequence=seq.get(first.id))
        return ical.calendar(method, [event], tzid=env.tzid, tz=env.tz)
    series = first.series
    occurrences = list(series.occurrences)
    cancelled = [m for m in occurrences if m.is_cancelled]
    live = [m for m in occurrences if not m.is_cancelled]
    master_from = occurrences[0]
    events = [master_event(master_from, env, r, cancelled, series_sequence)]
    events += [
        event_data(
            m, env, r, join_link(env.jitsi, m, same_role(m, r)), series_sequence=series.sequence, sequence=seq.get(m.id)
        )
        for m in live
    ]
    return ical.calendar(method, events, tzid=env.tzid, tz=env.tz)


def same_role(meeting: Meeting, r: Recipient) -> Participant:
    """The recipient's participant identity in another occurrence (moderator flags follow that occurrence)."""
    if r.who.id.startswith("point-"):
        point_id = int(r.who.id[6:])
        for mp in meeting.points:
            if mp.point_id == point_id:
                return point_participant(meeting, mp.point)
    return person_participant(meeting, r.email, r.name)


def subject_line(prefix: str, meeting: Meeting, env: MeetingEnv) -> str:
    start = meeting.starts_at.astimezone(env.tz)
    return f"{prefix}: {meeting.title} – {start:%H:%M %d/%m/%Y}"


def body_text(intro: str, meetings: Sequence[Meeting], env: MeetingEnv, r: Recipient) -> str:
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
            lines.append(f"  - {when_text(m, env.tz)}: {join_link(env.jitsi, m, same_role(m, r))}")
        if len(meetings) > MAX_LISTED_OCCURRENCES:
            lines.append(
                f"  … và {len(meetings) - MAX_LISTED_OCCURRENCES} buổi sau; thư nhắc trước mỗi buổi có đường dẫn."
            )
    lines += ["", "Đường dẫn chỉ dùng được từ lúc bắt đầu kiểm tra kỹ thuật đến khi kết thúc cuộc họp."]
    if env.public_url:
        lines.append(f"Chi tiết cuộc họp: {env.public_url.rstrip('/')}/meetings/{first.id}")
    lines += ["", "Thư gửi tự động từ hệ thống congvu, vui lòng không trả lời."]
    return "\n".join(lines)


INTROS = {
    "invitation": "Trân trọng kính mời tham dự cuộc họp trực tuyến:",
    "update": "Cuộc họp trực tuyến sau đã được cập nhật (thay cho thông báo trước):",
    "cancel": "Cuộc họp trực tuyến sau đã bị hủy:",
    "cancel_one": "Anh/chị không còn trong danh sách mời họp:",
    "reminder": "Nhắc lịch cuộc họp trực tuyến sắp diễn ra:",
}


def mail_params(kind: str, meetings: Sequence[Meeting], r: Recipient, **extra: Any) -> dict[str, Any]:
    """What :func:`render_meeting_mail` needs to build one recipient's mail later, SEQUENCE numbers included."""
    first = meetings[0]
    return {
        "type": kind,
        "meetings": [m.id for m in meetings],
        "who": {"email": r.email, "name": r.name, "id": r.who.id, "role": r.role},
        "sequences": {str(m.id): m.sequence + sseq(m) for m in meetings},
        "series_sequence": first.series.sequence if first.series is not None else None,
        **extra,
    }


def sseq(meeting: Meeting) -> int:
    return meeting.series.sequence if meeting.series is not None else 0


def _load(session: Session, ids: list[int]) -> list[Meeting]:
    found = {
        m.id: m
        for m in session.scalars(
            select(Meeting)
            .where(Meeting.id.in_(ids))
            .options(
                selectinload(Meeting.points).selectinload(MeetingPoint.point),
                selectinload(Meeting.invitees),
                selectinload(Meeting.host_point),
                selectinload(Meeting.series).selectinload(MeetingSeries.occurrences),
            )
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise LookupError(f"meeting {missing[0]} no longer exists")
    return [found[i] for i in ids]


def _recipient(session: Session, first: Meeting, who: Mapping[str, str]) -> Recipient:
    if who["role"] == "point" and who["id"].startswith("point-"):
        point_id = int(who["id"][6:])
        point = next((mp.point for mp in first.points if mp.point_id == point_id), None)
        point = point or session.get(BridgePoint, point_id)
        if point is not None:
            return Recipient(who["email"], who["name"], point_participant(first, point), "point")
    return Recipient(who["email"], who["name"], person_participant(first, who["email"], who["name"]), who["role"])


def render_meeting_mail(session: Session, env: MeetingEnv, job: MailJob) -> RenderedMail:
    """Build a queued meeting mail from its params (the outbox's ``meeting`` renderer)."""
    params = job.params
    kind = str(params["type"])
    meetings = _load(session, [int(i) for i in params["meetings"]])  # type: ignore[union-attr]
    first = meetings[0]
    r = _recipient(session, first, params["who"])  # type: ignore[arg-type]
    seqs = {int(k): int(v) for k, v in dict(params.get("sequences") or {}).items()}  # type: ignore[call-overload]
    series_seq = params.get("series_sequence")
    series_seq = None if series_seq is None else int(series_seq)  # type: ignore[call-overload]
    whole_series = bool(params.get("whole_series"))
    if kind == "reminder":
        return RenderedMail(body_text(INTROS["reminder"], meetings, env, r))
    if kind == "cancel":
        only = bool(params.get("only"))
        if whole_series and first.series is not None:
            master = master_event(first.series.occurrences[0], env, r, [], series_seq)
            events = [ical.EventData(**{**master.__dict__, "status": "CANCELLED", "rrule": ""})]
        else:
            events = [event_data(m, env, r, "", status="CANCELLED", sequence=seqs.get(m.id)) for m in meetings]
        body = body_text(INTROS["cancel_one" if only else "cancel"], meetings, env, r).split("\nĐường dẫn tham gia")[0]
        if params.get("reason"):
            body += f"\nLý do: {params['reason']}\n"
        return RenderedMail(body, ical.calendar("CANCEL", events, tzid=env.tzid, tz=env.tz), "CANCEL")
    if whole_series:
        cal = series_calendar(meetings, env, r, sequences=seqs, series_sequence=series_seq)
    else:
        events = [
            event_data(m, env, r, join_link(env.jitsi, m, same_role(m, r)), sequence=seqs.get(m.id)) for m in meetings
        ]
        cal = ical.calendar("REQUEST", events, tzid=env.tzid, tz=env.tz)
    return RenderedMail(body_text(INTROS[kind], meetings, env, r), cal, "REQUEST")
