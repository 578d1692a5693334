"""Outgoing mail as recorded intent: a message is written to the outbox in the same transaction as the change
that causes it (a booking, a cancellation, a report) and sent after the commit.

Each row is a complete message (recipient, subject, text, optional calendar part and attachment), so sending
is a pure side effect: retrying after a crash sends the same message with the same Message-ID, and a row is
claimed before it is sent so two workers never both send it.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import smtplib
import socket
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr

from sqlalchemy import CheckConstraint, Index, LargeBinary, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.boundary import Intent
from core.db import Base, unit_of_work, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CLAIM_TIMEOUT = dt.timedelta(minutes=10)


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class MailJob(Base, Intent):
    """One message to one recipient, waiting to be (or already) handed to the SMTP server."""

    __tablename__ = "mail_jobs"
    intent_kind = "mail"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        Index("ix_mail_jobs_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # invitation | update | cancel | reminder | report
    subject_ref: Mapped[str] = mapped_column(String(100), default="", index=True)  # e.g. meeting:12
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    calendar: Mapped[str] = mapped_column(Text, default="")  # an iCalendar object, sent as text/calendar
    calendar_method: Mapped[str] = mapped_column(String(20), default="")
    attachment_name: Mapped[str] = mapped_column(String(200), default="")
    attachment_type: Mapped[str] = mapped_column(String(100), default="")
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<MailJob {self.id} {self.kind} to={self.recipient} {self.status}>"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    sender_name: str = "congvu"
    timeout: float = 10.0


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    unavailable: bool = False


def enqueue(
    session: Session,
    *,
    kind: str,
    recipient: str,
    subject: str,
    body: str,
    recipient_name: str = "",
    subject_ref: str = "",
    calendar: str = "",
    calendar_method: str = "",
    attachment: tuple[str, str, bytes] | None = None,
) -> MailJob:
    """Record a message to send after the commit. ``attachment`` is (file name, MIME type, content)."""
    job = MailJob(
        kind=kind,
        subject_ref=subject_ref,
        recipient=recipient.strip().lower(),
        recipient_name=recipient_name,
        subject=subject,
        body=body,
        calendar=calendar,
        calendar_method=calendar_method,
    )
    if attachment is not None:
        job.attachment_name, job.attachment_type, job.attachment = attachment
    session.add(job)
    return job


def build_message(job: MailJob, config: SmtpConfig) -> Message:
    """The MIME message for a job. Same job, same Message-ID: a retried send is recognisably the same mail.

    Built with the classic MIME classes and :class:`email.header.Header`: the newer EmailMessage folding
    drops the space between two encoded words in long Vietnamese subjects ("sơ kết" arrives as "sơkết").
    """
    text = MIMEText(job.body, "plain", "utf-8")
    body: Message = text
    if job.calendar:
        # The calendar as an alternative body (what mail clients act on) and as an .ics file (what the rest open).
        method = job.calendar_method or "REQUEST"
        alternative = MIMEMultipart("alternative")
        alternative.attach(text)
        calendar_part = MIMEText(job.calendar, "calendar", "utf-8")
        calendar_part.set_param("method", method)
        alternative.attach(calendar_part)
        body = alternative
    attachments: list[Message] = []
    if job.calendar:
        ics = MIMEApplication(job.calendar.encode("utf-8"), "ics")
        ics.add_header(
            "Content-Disposition",
            "attachment",
            filename="invite.ics" if job.calendar_method != "CANCEL" else "cancel.ics",
        )
        attachments.append(ics)
    if job.attachment is not None:
        maintype, _, subtype = (job.attachment_type or "application/octet-stream").partition("/")
        part = MIMEApplication(job.attachment, subtype or "octet-stream") if maintype == "application" else None
        if part is None:
            part = MIMEApplication(job.attachment)
            part.replace_header("Content-Type", job.attachment_type)
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", job.attachment_name))
        attachments.append(part)
    if attachments:
        msg: Message = MIMEMultipart("mixed")
        msg.attach(body)
        for part in attachments:
            msg.attach(part)
    else:
        msg = body
    msg["From"] = formataddr((config.sender_name, config.sender), charset="utf-8")
    msg["To"] = (
        formataddr((job.recipient_name, job.recipient), charset="utf-8") if job.recipient_name else job.recipient
    )
    msg["Subject"] = Header(job.subject, "utf-8")
    msg["Date"] = format_datetime(job.created_at.astimezone(dt.UTC))
    domain = config.sender.rpartition("@")[2] or socket.getfqdn()
    msg["Message-ID"] = f"<congvu-mail-{job.id}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def _claim(
    factory: sessionmaker[Session], now: dt.datetime, limit: int, only: list[int] | None, origin: str | None
) -> list[int]:
    """Mark due jobs as being sent; a job stuck in 'sending' (a crashed worker) becomes due again later."""
    with unit_of_work(factory) as session:
        stale = now - CLAIM_TIMEOUT
        query = (
            select(MailJob.id)
            .where(
                ((MailJob.status == MailStatus.PENDING) & (MailJob.next_attempt_at <= now))
                | ((MailJob.status == MailStatus.SENDING) & (MailJob.next_attempt_at <= stale))
            )
            .order_by(MailJob.id)
        )
        if origin is not None:
            query = query.where(MailJob.origin == origin)
        if only is None:
            ids = list(session.scalars(query.limit(limit)))
        else:
            ids = []
            for start in range(0, len(only), 500):
                ids.extend(session.scalars(query.where(MailJob.id.in_(only[start : start + 500]))))
            ids.sort()
        claimed: list[int] = []
        for job_id in ids:
            # Conditional update: of two workers, only one sees its row change.
            count = session.execute(
                update(MailJob)
                .where(MailJob.id == job_id, MailJob.status.in_([MailStatus.PENDING, MailStatus.SENDING]))
                .where(
                    ((MailJob.status == MailStatus.PENDING) & (MailJob.next_attempt_at <= now))
                    | (MailJob.next_attempt_at <= stale)
                )
                .values(status=MailStatus.SENDING, next_attempt_at=now)
            ).rowcount
            if count:
                claimed.append(job_id)
        return claimed


def send_pending(
    factory: sessionmaker[Session],
    config: SmtpConfig,
    *,
    limit: int = 500,
    ids: list[int] | None = None,
    origin: str | None = None,
) -> SendResult:
    """Send due messages over one SMTP connection. An unreachable server leaves them pending for later.

    With ``ids`` (what one unit of work just recorded) or ``origin`` (one task's mail), only those."""
    result = SendResult()
    now = utcnow()
    ids = _claim(factory, now, limit, ids, origin)
    if ids:
        try:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        except OSError as exc:
            log.warning("SMTP server %s:%s unavailable: %s", config.host, config.port, exc)
            with unit_of_work(factory) as session:
                session.execute(
                    update(MailJob).where(MailJob.id.in_(ids)).values(status=MailStatus.PENDING, last_error=str(exc))
                )
            result.unavailable = True
            ids = []
        else:
            with smtp:
                for job_id in ids:
                    _send_one(factory, smtp, config, job_id, result)
    with unit_of_work(factory) as session:
        result.pending = (
            session.scalar(
                select(func.count(MailJob.id)).where(MailJob.status.in_([MailStatus.PENDING, MailStatus.SENDING]))
            )
            or 0
        )
    return result


def _send_one(
    factory: sessionmaker[Session], smtp: smtplib.SMTP, config: SmtpConfig, job_id: int, result: SendResult
) -> None:
    with unit_of_work(factory) as session:
        job = session.get(MailJob, job_id)
        if job is None or job.status != MailStatus.SENDING:
            return
        try:
            smtp.send_message(build_message(job, config), from_addr=config.sender, to_addrs=[job.recipient])
        except (smtplib.SMTPException, OSError) as exc:
            job.attempts += 1
            job.last_error = str(exc)[:1000]
            permanent = isinstance(exc, smtplib.SMTPRecipientsRefused) or job.attempts >= MAX_ATTEMPTS
            job.status = MailStatus.FAILED if permanent else MailStatus.PENDING
            job.next_attempt_at = utcnow() + dt.timedelta(seconds=min(3600, 30 * 2**job.attempts))
            result.failed += 1
            log.warning("mail %s to %s not sent: %s", job.id, job.recipient, exc)
        else:
            job.status = MailStatus.SENT
            job.sent_at = utcnow()
            job.attempts += 1
            result.sent += 1
