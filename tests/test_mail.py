"""Mail through the real private Postfix: plain SMTP, authenticated submission checked by Dovecot against
slapd, and meeting invitations (iCalendar) as a mail client receives them."""

from __future__ import annotations

import datetime as dt
import smtplib
import time
import uuid
from email.message import EmailMessage
from typing import Any

import icalendar
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from core.actors import SYSTEM
from core.outbox import MailJob, MailStatus
from meetings.operations.changes import MeetingChanges, cancel_meeting, change_meeting
from provisioning import accounts
from tests.mail_helpers import wait_for_mail


def wait_for_log(services: Any, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = services.postfix_log_path.read_text(errors="replace")
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def plain_login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH PLAIN only: smtplib's login() would try every mechanism, each failure costing Dovecot's delay."""
    smtp.ehlo()
    smtp.user, smtp.password = user, password
    smtp.auth("PLAIN", smtp.auth_plain)


def test_plain_smtp_delivers_with_vietnamese_subject(services: Any) -> None:
    address = f"nhan.{uuid.uuid4().hex[:8]}@gialai.gov.vn"
    message = EmailMessage()
    message["From"] = "congvu@gialai.gov.vn"
    message["To"] = address
    message["Subject"] = "Mời họp trực tuyến: Hội nghị tổng kết năm – Đắk Đoa"
    message.set_content("Kính gửi đồng chí, trân trọng kính mời.")
    with smtplib.SMTP("127.0.0.1", services.config.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    (received,) = wait_for_mail(services, address)
    assert received["Subject"] == "Mời họp trực tuyến: Hội nghị tổng kết năm – Đắk Đoa"
    assert "trân trọng kính mời" in received.get_content()


def test_submission_authenticates_against_the_directory(
    db: Session, runtime: Runtime, services: Any, create_staff: Any, commit_and_sync: Any
) -> None:
    person = create_staff(full_name="Rơ Châm Hyũ", staff_number=f"T-SMTP-{uuid.uuid4().hex[:6]}")
    password = accounts.reset_password(db, SYSTEM, person, secret_key=runtime.secret_key)
    assert commit_and_sync().failed == 0
    first, second = (f"{n}.{uuid.uuid4().hex[:8]}@gialai.gov.vn" for n in ("mot", "hai"))
    message = EmailMessage()
    message["From"] = person.email
    message["To"] = f"{first}, {second}"
    message["Subject"] = "Báo cáo tuần"
    message.set_content("Gửi hai đồng chí.")
    with smtplib.SMTP("127.0.0.1", services.config.submission_port, timeout=10) as smtp:
        plain_login(smtp, person.email, password)
        smtp.send_message(message)
    assert wait_for_mail(services, first)
    assert wait_for_mail(services, second)
    log = wait_for_log(services, f"from=<{person.email}>")
    assert "postfix/submission/smtpd" in log
    assert f"sasl_username={person.email}" in log
    qmgr = [line for line in log.splitlines() if "postfix/qmgr" in line and f"from=<{person.email}>" in line]
    assert qmgr
    assert "nrcpt=2 (queue active)" in qmgr[-1]

    with (
        pytest.raises(smtplib.SMTPAuthenticationError),
        smtplib.SMTP("127.0.0.1", services.config.submission_port, timeout=10) as smtp,
    ):
        plain_login(smtp, person.email, password + "-wrong")
    accounts.disable(db, SYSTEM, person, "thử khóa")
    db.commit()
    runtime.sync_directory()
    with (
        pytest.raises(smtplib.SMTPAuthenticationError),
        smtplib.SMTP("127.0.0.1", services.config.submission_port, timeout=10) as smtp,
    ):
        plain_login(smtp, person.email, password)


def test_invitation_update_and_cancellation_arrive_as_icalendar(
    db: Session, runtime: Runtime, services: Any, create_point: Any, create_meeting: Any
) -> None:
    env = runtime.meeting_env
    invitee = f"moi.{uuid.uuid4().hex[:8]}@gialai.gov.vn"
    token = uuid.uuid4().hex[:8]
    hall = create_point(name=f"Hội trường UBND tỉnh (thử {token})", contact=f"hoitruong.{token}@gialai.gov.vn")
    start = dt.datetime(2027, 6, 7, 8, 0, tzinfo=env.tz)
    meeting = create_meeting(
        [hall],
        start,
        start + dt.timedelta(hours=2, minutes=30),
        title="Hội nghị sơ kết 6 tháng",
        invitees=[(invitee, "Siu H'Mai")],
    )
    assert meeting.series is None  # one meeting, not a series
    db.commit()
    assert runtime.send_mail().sent >= 2
    (invitation,) = wait_for_mail(services, invitee)
    assert invitation["Subject"] == "Mời họp trực tuyến: Hội nghị sơ kết 6 tháng – 08:00 07/06/2027"
    text = invitation.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Kính gửi Siu H'Mai" in text
    assert f"/{meeting.room_name}?jwt=" in text
    calendar_part = next(p for p in invitation.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    cal = icalendar.Calendar.from_ical(calendar_part.get_content())
    assert cal["METHOD"] == "REQUEST"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    (event,) = cal.walk("VEVENT")
    assert event["DTSTART"].dt == start
    assert event["DTSTART"].params["TZID"] == "Asia/Ho_Chi_Minh"
    assert event["DTSTART"].dt.astimezone(dt.UTC).hour == 1  # 08:00 in Vietnam is 01:00 UTC
    assert event["DTEND"].dt == start + dt.timedelta(hours=2, minutes=30)
    assert event["SUMMARY"] == "Hội nghị sơ kết 6 tháng"
    assert int(event["SEQUENCE"]) == 0
    uid = str(event["UID"])

    change_meeting(db, SYSTEM, env, meeting, MeetingChanges(starts_at=start + dt.timedelta(hours=1)))
    db.commit()
    runtime.send_mail()
    update = wait_for_mail(services, invitee, 2)[1]
    assert update["Subject"].startswith("Thay đổi lịch họp: Hội nghị sơ kết 6 tháng – 09:00 07/06/2027")
    (updated,) = icalendar.Calendar.from_ical(
        next(p for p in update.walk() if p.get_content_type() == "text/calendar").get_content()
    ).walk("VEVENT")
    assert str(updated["UID"]) == uid
    assert int(updated["SEQUENCE"]) == 1
    assert updated["DTSTART"].dt == start + dt.timedelta(hours=1)

    cancel_meeting(db, SYSTEM, env, meeting, reason="Lùi sang tuần sau")
    db.commit()
    runtime.send_mail()
    cancellation = wait_for_mail(services, invitee, 3)[2]
    cal = icalendar.Calendar.from_ical(
        next(p for p in cancellation.walk() if p.get_content_type() == "text/calendar").get_content()
    )
    assert cal["METHOD"] == "CANCEL"
    (cancelled,) = cal.walk("VEVENT")
    assert str(cancelled["UID"]) == uid
    assert int(cancelled["SEQUENCE"]) == 2
    assert cancelled["STATUS"] == "CANCELLED"
    assert "Lùi sang tuần sau" in cancellation.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_mail_waits_while_the_smtp_server_is_down(db: Session, runtime: Runtime, services: Any) -> None:
    from core import outbox

    address = f"cho.{uuid.uuid4().hex[:8]}@gialai.gov.vn"
    outbox.enqueue(db, kind="test", recipient=address, subject="Thư chờ gửi", body="Nội dung")
    db.commit()
    services.stop_postfix()
    try:
        result = runtime.send_mail()
        assert result.unavailable
        assert result.sent == 0
        job = db.scalar(select(MailJob).where(MailJob.recipient == address))
        db.refresh(job)
        assert job is not None
        assert job.status == MailStatus.PENDING
    finally:
        services.start_postfix()
    assert runtime.send_mail().sent >= 1
    assert [m["Subject"] for m in wait_for_mail(services, address)] == ["Thư chờ gửi"]
    assert runtime.send_mail().sent == 0  # sent once, never again
    assert len(services.received(address)) == 1
