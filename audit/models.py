"""What the usage audit keeps: counters per mailbox per day (never raw log lines), last-seen per channel,
addresses the directory does not know, where each log file was read up to, and monthly report snapshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class UsageCounters:
    """The counters a day and a month of one mailbox's use both hold (a month's are the sums of its days')."""

    imap_logins: Mapped[int] = mapped_column(default=0)
    pop3_logins: Mapped[int] = mapped_column(default=0)
    webmail_logins: Mapped[int] = mapped_column(default=0)
    smtp_logins: Mapped[int] = mapped_column(default=0)
    failed_logins: Mapped[int] = mapped_column(default=0)
    sent_messages: Mapped[int] = mapped_column(default=0)
    sent_recipients: Mapped[int] = mapped_column(default=0)
    sent_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    fetched_bodies: Mapped[int] = mapped_column(default=0)
    fetched_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageDay(UsageCounters, Base):
    """One mailbox's use on one local day, summed over every log line about it."""

    __tablename__ = "usage_days"
    __table_args__ = (
        Index("ix_usage_days_day", "day"),
        # The dashboard's week of failed sign-ins: only the few days that had one.
        Index(
            "ix_usage_days_failures",
            "day",
            sqlite_where=text("failed_logins > 0"),
            postgresql_where=text("failed_logins > 0"),
        ),
    )

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)

    def __repr__(self) -> str:
        return f"<UsageDay staff={self.staff_id} {self.day}>"


class UsageMonth(UsageCounters, Base):
    """One mailbox's use in one month: the sums of its ``usage_days`` rows of the month, and which days of the month
    had an interactive login (bit ``d - 1`` of ``active_days`` for day ``d``), so the monthly report reads one row
    per mailbox and counts working days against any calendar of holidays. A row exists while the month has days.

    Kept in the transaction that writes the days, whoever writes them: triggers on ``usage_days`` (migration 0014)
    apply every insert, update and delete (PostgreSQL: once per statement, over its changed rows). Ingestion on
    SQLite adds the months itself, one row per mailbox and month of its tally (audit.ingest.store_tally), while a
    :class:`UsageMonthWriter` row tells the row triggers to leave its upsert of the days alone."""

    __tablename__ = "usage_months"
    __table_args__ = (Index("ix_usage_months_month", "month"),)

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[dt.date] = mapped_column(primary_key=True)  # the month's first day
    active_days: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<UsageMonth staff={self.staff_id} {self.month:%Y-%m}>"


class UsageMonthWriter(Base):
    """Present only inside a transaction that writes the months of the days it upserts itself (ingestion on
    SQLite, where a trigger per row would cost more than the upsert): deleted before that transaction commits, so
    no other writer ever sees it (SQLite has one writer at a time)."""

    __tablename__ = "usage_month_writers"

    id: Mapped[int] = mapped_column(primary_key=True)


class UnknownAddressDay(Base):
    """Logins and failures for addresses the directory does not know (stale clients, guessing attacks).
    ``address`` is ``ip:<address>`` when the log named no user (Postfix SASL failures)."""

    __tablename__ = "usage_unknown_days"

    address: Mapped[str] = mapped_column(String(254), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    logins: Mapped[int] = mapped_column(default=0)
    failed_logins: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<UnknownAddressDay {self.address} {self.day}>"


class LastSeen(Base):
    __tablename__ = "usage_last_seen"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column()

    def __repr__(self) -> str:
        return f"<LastSeen staff={self.staff_id} {self.channel} {self.at}>"


class LogSource(Base):
    """A log file known by its first line (which survives rotation and compression) and how far it was read.
    The offset moves in the same transaction as the counters it produced, so nothing is counted twice."""

    __tablename__ = "usage_log_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1000))
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    lines: Mapped[int] = mapped_column(BigInteger, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    malformed: Mapped[int] = mapped_column(default=0)
    first_event_at: Mapped[dt.datetime | None] = mapped_column()
    last_event_at: Mapped[dt.datetime | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<LogSource {self.path} @{self.offset}>"


class MonthlyReport(Base):
    """A generated report: the figures, the definitions they were computed with and the data's time range.
    Regenerating a month adds a version; old versions stay."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("month", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # 2026-10
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(300), default="")
    definitions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_from: Mapped[dt.datetime | None] = mapped_column()
    data_to: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<MonthlyReport {self.month} v{self.version}>"
