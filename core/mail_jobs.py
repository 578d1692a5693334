"""The outbox's rows: one message to one recipient, recorded in the transaction of the change that causes it
(a booking, a cancellation, a report) and sent after the commit by ``core.outbox``."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence

from sqlalchemy import JSON, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import boundary
from core.boundary import Intent
from core.bulk import insert_rows
from core.db import Base, one_of, utcnow


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
        one_of("status", MailStatus),
        Index("ix_mail_jobs_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # invitation | update | cancel | reminder | report
    subject_ref: Mapped[str] = mapped_column(String(100), default="", index=True)  # e.g. meeting:12
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    renderer: Mapped[str] = mapped_column(String(40), default="")  # empty: body and calendar are the message
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # what the renderer needs
    claimed_by: Mapped[str] = mapped_column(String(200), default="")  # host:pid of the sender holding it
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


def enqueue(
    session: Session,
    *,
    kind: str,
    recipient: str,
    subject: str,
    body: str = "",
    recipient_name: str = "",
    subject_ref: str = "",
    calendar: str = "",
    calendar_method: str = "",
    attachment: tuple[str, str, bytes] | None = None,
    renderer: str = "",
    params: Mapping[str, object] | None = None,
) -> MailJob:
    """Record a message to send after the commit. ``attachment`` is (file name, MIME type, content).
    With ``renderer`` (and its ``params``) the content is built by that renderer when the message is sent."""
    job = MailJob(
        kind=kind,
        subject_ref=subject_ref,
        recipient=recipient.strip().lower(),
        recipient_name=recipient_name,
        subject=subject,
        body=body,
        calendar=calendar,
        calendar_method=calendar_method,
        renderer=renderer,
        params=dict(params or {}),
    )
    if attachment is not None:
        job.attachment_name, job.attachment_type, job.attachment = attachment
    session.add(job)
    return job


def enqueue_many(session: Session, messages: Sequence[Mapping[str, object]]) -> list[int]:
    """Record many rendered-later messages at once (a booking's invitations): each a mapping of ``kind``,
    ``recipient``, ``subject`` and optionally ``recipient_name``, ``subject_ref``, ``renderer``, ``params``.
    The same rows :func:`enqueue` writes, in one statement; the boundary is told of them. Returns their ids."""
    origin = boundary.origin_of(session)
    rows = [
        {
            "kind": m["kind"],
            "subject_ref": m.get("subject_ref", ""),
            "recipient": str(m["recipient"]).strip().lower(),
            "recipient_name": m.get("recipient_name", ""),
            "subject": m["subject"],
            "renderer": m.get("renderer", ""),
            "params": dict(m.get("params") or {}),  # type: ignore[call-overload]
            "origin": origin,
        }
        for m in messages
    ]
    ids = insert_rows(session, MailJob.__table__, rows, returning_ids=True)  # type: ignore[arg-type]
    boundary.note(session, MailJob, ids)
    return ids
