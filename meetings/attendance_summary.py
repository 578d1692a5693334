"""After a meeting the organiser receives its attendance: points planned and attended with minutes (roll-call
marks applied), and the people who joined, as mail with a PDF. The scheduler's ``meetings.attendance_summary``
job claims each ended meeting once (a conditional update, as reminders do) and queues one mail naming the
``attendance`` renderer; the sender builds the text and the PDF after the commit, the same each time."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import outbox
from core.outbox import MailJob, RenderedMail
from meetings.attendance import PointAttendance, point_attendance
from meetings.env import MeetingEnv
from meetings.mail_content import when_text
from meetings.models import Meeting
from meetings.presence import minutes
from meetings.queries import load_meeting

FONT = "DejaVuSans-Summary"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
# A summary waits this long after the end (and the room's close), and is not sent for meetings older than a week
# (the first run after an upgrade must not mail every meeting ever held).
SETTLE = dt.timedelta(minutes=15)
HORIZON = dt.timedelta(days=7)


def queue_attendance_summaries(session: Session, env: MeetingEnv, *, now: dt.datetime) -> list[int]:
    """Queue the summary of every meeting that ended (plus the grace period) and has an organiser mailbox."""
    ended_before = now - SETTLE - dt.timedelta(minutes=env.jitsi.grace_minutes)
    due = session.scalars(
        select(Meeting.id).where(
            Meeting.is_cancelled.is_(False),
            Meeting.summary_sent_at.is_(None),
            Meeting.organiser_email != "",
            Meeting.ends_at <= ended_before,
            Meeting.ends_at > now - HORIZON,
        )
    ).all()
    queued: list[int] = []
    for meeting_id in due:
        claimed = session.execute(
            update(Meeting)
            .where(Meeting.id == meeting_id, Meeting.summary_sent_at.is_(None))
            .values(summary_sent_at=now)
        ).rowcount
        if not claimed:
            continue
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        start = meeting.starts_at.astimezone(env.tz)
        outbox.enqueue(
            session,
            kind="attendance",
            subject_ref=f"meeting:{meeting.id}",
            recipient=meeting.organiser_email,
            recipient_name=meeting.organiser_name,
            subject=f"Kết quả tham dự: {meeting.title} – {start:%H:%M %d/%m/%Y}",
            renderer="attendance",
            params={"meeting_id": meeting.id},
        )
        queued.append(meeting_id)
    return queued


def _state(a: PointAttendance) -> str:
    if a.roll_call is not None:
        return "Có mặt (điểm danh)" if a.roll_call else "Vắng (điểm danh)"
    return "Có mặt" if a.attended else "Vắng"


def summary_rows(session: Session, meeting_id: int) -> tuple[Meeting, list[PointAttendance], list[list[str]]]:
    """The meeting, its points' attendance and the people who joined (name, email, minutes)."""
    meeting = load_meeting(session, meeting_id)
    if meeting is None:
        raise LookupError(f"meeting {meeting_id} no longer exists")
    points = point_attendance(meeting)
    until = meeting.room_closed_at or meeting.ends_at
    people: dict[str, list[Any]] = {}
    for row in meeting.attendance:
        if row.point_id is None:
            people.setdefault(row.occupant_id, [row.name, row.email, []])[2].append((row.joined_at, row.left_at))
    listed = [[name, email, f"{minutes(spans, until):g}"] for name, email, spans in people.values()]
    return meeting, points, sorted(listed)


def render_attendance_summary(session: Session, env: MeetingEnv, job: MailJob, province: str = "") -> RenderedMail:
    """The ``attendance`` renderer: the summary's text and its PDF."""
    meeting, points, people = summary_rows(session, int(job.params["meeting_id"]))  # type: ignore[call-overload]
    attended = sum(a.attended for a in points)
    lines = [
        f"Kính gửi {meeting.organiser_name or 'Quý đơn vị'},",
        "",
        f"Kết quả tham dự cuộc họp trực tuyến: {meeting.title}",
        f"Thời gian: {when_text(meeting, env.tz)} (giờ Việt Nam)",
        f"Điểm cầu: kế hoạch {len(points)}, tham dự {attended}",
        "",
    ]
    lines += [f"  - {a.name}: {_state(a)}, {a.minutes:g} phút" for a in points]
    if people:
        lines += ["", f"Cá nhân tham dự ({len(people)}):"]
        lines += [f"  - {name} {('<' + email + '>') if email else ''}: {mins} phút" for name, email, mins in people]
    lines += ["", "Chi tiết trong tệp PDF đính kèm.", "", "Thư gửi tự động từ hệ thống congvu, vui lòng không trả lời."]
    pdf = summary_pdf(meeting, points, people, env, province)
    return RenderedMail("\n".join(lines), attachment=(f"tham-du-hop-{meeting.id}.pdf", "application/pdf", pdf))


def summary_pdf(
    meeting: Meeting, points: list[PointAttendance], people: list[list[str]], env: MeetingEnv, province: str = ""
) -> bytes:
    """An A4 PDF in DejaVu Sans (every Vietnamese diacritic), identical each time it is built (invariant)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = next((d / "DejaVuSans.ttf" for d in FONT_DIRS if (d / "DejaVuSans.ttf").is_file()), None)
    if font is None:
        raise RuntimeError("DejaVu Sans not found (Debian package fonts-dejavu-core): the PDF needs it")
    if FONT not in pdfmetrics.getRegisteredFontNames():  # its own name: the report registers DejaVuSans with bold
        pdfmetrics.registerFont(TTFont(FONT, str(font)))
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName=FONT, fontSize=14, leading=18, spaceAfter=6)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
        title=f"Kết quả tham dự: {meeting.title}", author="congvu", invariant=True,
    )  # fmt: skip
    attended = sum(a.attended for a in points)
    story: list[Any] = [Paragraph(f"Kết quả tham dự cuộc họp trực tuyến: {meeting.title}", title)]
    if province:
        story.append(Paragraph(f"Tỉnh {province}", body))
    story += [
        Paragraph(f"Thời gian: {when_text(meeting, env.tz)}; điểm cầu chủ trì: {meeting.host_point.name}", body),
        Paragraph(f"Điểm cầu: kế hoạch {len(points)}, tham dự {attended}", body),
        Spacer(1, 4 * mm),
    ]
    grid = [["Điểm cầu", "Tham dự", "Vào lúc", "Số phút"]]
    for a in points:
        joined = a.first_join.astimezone(env.tz).strftime("%H:%M") if a.first_join else ""
        grid.append([a.name + (" (chủ trì)" if a.is_host else ""), _state(a), joined, f"{a.minutes:g}"])
    story.append(_table(grid, Table, TableStyle, colors))
    if people:
        story += [Spacer(1, 4 * mm), Paragraph(f"Cá nhân tham dự ({len(people)})", body)]
        story.append(_table([["Họ và tên", "Thư điện tử", "Số phút"], *people], Table, TableStyle, colors))
    doc.build(story)
    return out.getvalue()


def _table(rows: list[list[str]], table: Any, style: Any, colors: Any) -> Any:
    t = table(rows, repeatRows=1)
    t.setStyle(
        style(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ]
        )
    )
    return t
