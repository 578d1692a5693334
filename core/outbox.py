"""Outgoing mail as recorded intent: a message is written to the outbox in the same transaction as the change
that causes it (a booking, a cancellation, a report) and sent after the commit.

A row is a complete message (recipient, subject, text, optional calendar and attachment) or names a *renderer*
and its parameters: then the sender builds the content after the commit (a 135-point booking records 136 small
rows instead of signing 136 tokens inside its transaction). A renderer reads only the parameters and the
database, so rendering again after a crash gives the same message; the Message-ID comes from the row. Rows are
claimed in small batches so two senders never both send one; a claim left by a sender that died on this host is
taken over at once, one left elsewhere after ``CLAIM_TIMEOUT``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.boundary import ApplyResult
from core.db import unit_of_work, utcnow
from core.mail_jobs import MailJob, MailStatus, enqueue, enqueue_many

log = logging.getLogger(__name__)

__all__ = ["MailJob", "MailStatus", "enqueue", "enqueue_many"]

MAX_ATTEMPTS = 8
CLAIM_TIMEOUT = dt.timedelta(minutes=10)
CLAIM_BATCH = 25  # at most this many rows are "sending" for one sender at a time


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    sender_name: str = "congvu"
    timeout: float = 10.0


@dataclass(frozen=True)
class RenderedMail:
    """What a renderer gives back for a job: the message's content."""

    body: str
    calendar: str = ""
    calendar_method: str = ""
    attachment: tuple[str, str, bytes] | None = None  # (file name, MIME type, content)


# A renderer builds a job's content from its params (and the database), the same each time it is asked.
Renderer = Callable[[Session, "MailJob"], RenderedMail]


@dataclass
class SendResult(ApplyResult):
    sent: int = 0


def stored_content(job: MailJob) -> RenderedMail:
    """The content of a job that carries its message itself."""
    attachment = None
    if job.attachment is not None:
        attachment = (job.attachment_name, job.attachment_type, job.attachment)
    return RenderedMail(job.body, job.calendar, job.calendar_method, attachment)


def render(session: Session, job: MailJob, renderers: Mapping[str, Renderer] | None = None) -> RenderedMail:
    """The job's content: stored, or built by its renderer (``KeyError`` naming it if none is registered)."""
    if not job.renderer:
        return stored_content(job)
    renderer = (renderers or {}).get(job.renderer)
    if renderer is None:
        raise KeyError(f"no mail renderer {job.renderer!r} is registered")
    return renderer(session, job)


def build_message(job: MailJob, config: SmtpConfig, content: RenderedMail | None = None) -> Message:
    """The MIME message for a job. Same job, same Message-ID: a retried send is recognisably the same mail.

    Built with the classic MIME classes and :class:`email.header.Header`: the newer EmailMessage folding
    drops the space between two encoded words in long Vietnamese subjects ("sơ kết" arrives as "sơkết").
    """
    content = content or stored_content(job)
    text = MIMEText(content.body, "plain", "utf-8")
    body: Message = text
    if content.calendar:
        # The calendar as an alternative body (what mail clients act on) and as an .ics file (what the rest open).
        method = content.calendar_method or "REQUEST"
        alternative = MIMEMultipart("alternative")
        alternative.attach(text)
        calendar_part = MIMEText(content.calendar, "calendar", "utf-8")
        calendar_part.set_param("method", method)
        alternative.attach(calendar_part)
        body = alternative
    attachments: list[Message] = []
    if content.calendar:
        ics = MIMEApplication(content.calendar.encode("utf-8"), "ics")
        ics.add_header(
            "Content-Disposition",
            "attachment",
            filename="invite.ics" if content.calendar_method != "CANCEL" else "cancel.ics",
        )
        attachments.append(ics)
    if content.attachment is not None:
        name, mime, data = content.attachment
        maintype, _, subtype = (mime or "application/octet-stream").partition("/")
        part = MIMEApplication(data, subtype or "octet-stream") if maintype == "application" else None
        if part is None:
            part = MIMEApplication(data)
            part.replace_header("Content-Type", mime)
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
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


def holder_id() -> str:
    """Who claims: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_gone(holder: str) -> bool:
    """A claim left by a process of this host that no longer runs (a sender killed mid-way)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        pass
    return False


def _due(
    session: Session, now: dt.datetime, only: list[int] | None, origin: str | None, limit: int
) -> tuple[list[int], set[str]]:
    """Due job ids (pending, or claimed by a sender that is gone or too long ago) and the gone holders."""
    stale = now - CLAIM_TIMEOUT
    query = select(MailJob.id, MailJob.status, MailJob.next_attempt_at, MailJob.claimed_by).where(
        ((MailJob.status == MailStatus.PENDING) & (MailJob.next_attempt_at <= now))
        | (MailJob.status == MailStatus.SENDING)
    )
    if origin is not None:
        query = query.where(MailJob.origin == origin)
    rows: list[Any] = []
    if only is None:
        rows = list(session.execute(query.order_by(MailJob.id).limit(limit)))
    else:
        for start in range(0, len(only), 500):
            rows.extend(session.execute(query.where(MailJob.id.in_(only[start : start + 500]))))
    gone = {r.claimed_by for r in rows if r.status == MailStatus.SENDING and _holder_is_gone(r.claimed_by)}
    due = [r.id for r in rows if r.status == MailStatus.PENDING or r.next_attempt_at <= stale or r.claimed_by in gone]
    return sorted(due), gone


def _claim(factory: sessionmaker[Session], ids: list[int], now: dt.datetime, holder: str, gone: set[str]) -> list[int]:
    """Mark these jobs as being sent by ``holder``; of two senders, only one sees each row change."""
    stale = now - CLAIM_TIMEOUT
    takeover = MailJob.next_attempt_at <= stale
    if gone:
        takeover = takeover | MailJob.claimed_by.in_(sorted(gone))
    claimed: list[int] = []
    with unit_of_work(factory) as session:
        for job_id in ids:
            count = session.execute(
                update(MailJob)
                .where(MailJob.id == job_id)
                .where(
                    ((MailJob.status == MailStatus.PENDING) & (MailJob.next_attempt_at <= now))
                    | ((MailJob.status == MailStatus.SENDING) & takeover)
                )
                .values(status=MailStatus.SENDING, next_attempt_at=now, claimed_by=holder)
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
    renderers: Mapping[str, Renderer] | None = None,
) -> SendResult:
    """Send due messages over one SMTP connection. An unreachable server leaves them pending for later.

    With ``ids`` (what one unit of work just recorded) or ``origin`` (one task's mail), only those. Rows are
    claimed ``CLAIM_BATCH`` at a time; each batch is rendered in one read, then sent and marked one by one."""
    result = SendResult()
    holder = holder_id()
    with unit_of_work(factory) as session:
        due, gone = _due(session, utcnow(), ids, origin, limit)
    smtp: smtplib.SMTP | None = None
    try:
        for start in range(0, len(due), CLAIM_BATCH):
            batch = _claim(factory, due[start : start + CLAIM_BATCH], utcnow(), holder, gone)
            if not batch:
                continue
            if smtp is None:
                try:
                    smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
                except OSError as exc:
                    log.warning("SMTP server %s:%s unavailable: %s", config.host, config.port, exc)
                    with unit_of_work(factory) as session:  # only this batch was claimed
                        session.execute(
                            update(MailJob)
                            .where(MailJob.id.in_(batch))
                            .values(status=MailStatus.PENDING, last_error=str(exc)[:1000], claimed_by="")
                        )
                    result.unavailable = True
                    break
            for job_id, message in _render_batch(factory, config, batch, renderers, result):
                _send_one(factory, smtp, config, job_id, message, result)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    with unit_of_work(factory) as session:
        result.pending = (
            session.scalar(
                select(func.count(MailJob.id)).where(MailJob.status.in_([MailStatus.PENDING, MailStatus.SENDING]))
            )
            or 0
        )
    return result


def _render_batch(
    factory: sessionmaker[Session],
    config: SmtpConfig,
    ids: list[int],
    renderers: Mapping[str, Renderer] | None,
    result: SendResult,
) -> list[tuple[int, Message]]:
    """Build the messages of a claimed batch in one read; a job that cannot be rendered fails for good."""
    out: list[tuple[int, Message]] = []
    broken: dict[int, str] = {}
    with unit_of_work(factory) as session:
        for job in session.scalars(select(MailJob).where(MailJob.id.in_(ids)).order_by(MailJob.id)):
            try:
                out.append((job.id, build_message(job, config, render(session, job, renderers))))
            except Exception as exc:  # a renderer's bug or a vanished meeting must not stop the other mail
                log.exception("mail %s (%s) could not be rendered", job.id, job.renderer)
                broken[job.id] = f"{type(exc).__name__}: {exc}"
    for job_id, error in broken.items():
        with unit_of_work(factory) as session:
            job = session.get(MailJob, job_id)
            if job is not None:
                job.status, job.last_error, job.attempts = MailStatus.FAILED, error[:1000], job.attempts + 1
        result.failed += 1
    return out


def _send_one(
    factory: sessionmaker[Session],
    smtp: smtplib.SMTP,
    config: SmtpConfig,
    job_id: int,
    message: Message,
    result: SendResult,
) -> None:
    with unit_of_work(factory) as session:
        job = session.get(MailJob, job_id)
        if job is None or job.status != MailStatus.SENDING:
            return
        try:
            smtp.send_message(message, from_addr=config.sender, to_addrs=[job.recipient])
        except (smtplib.SMTPException, OSError) as exc:
            job.attempts += 1
            job.last_error = str(exc)[:1000]
            permanent = isinstance(exc, smtplib.SMTPRecipientsRefused) or job.attempts >= MAX_ATTEMPTS
            job.status = MailStatus.FAILED if permanent else MailStatus.PENDING
            job.claimed_by = ""
            job.next_attempt_at = utcnow() + dt.timedelta(seconds=min(3600, 30 * 2**job.attempts))
            result.failed += 1
            log.warning("mail %s to %s not sent: %s", job.id, job.recipient, exc)
        else:
            job.status = MailStatus.SENT
            job.sent_at = utcnow()
            job.attempts += 1
            result.sent += 1
