"""Scheduler bookkeeping in the database: the lease that lets one scheduler run, and the run log.

Several ``congvu scheduler`` processes may be started (on several machines); only the one holding the
lease runs jobs, the others wait and take over when its lease expires.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow


class SchedulerLease(Base):
    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column()

    def __repr__(self) -> str:
        return f"<SchedulerLease {self.name} {self.holder} until {self.expires_at}>"


class JobRun(Base):
    """One execution of a scheduled job, for the console and for proving a job ran once."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(200), index=True)
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    is_ok: Mapped[bool | None] = mapped_column()
    message: Mapped[str] = mapped_column(String(2000), default="")

    def __repr__(self) -> str:
        return f"<JobRun {self.id} {self.job_id} ok={self.is_ok}>"


def try_acquire_lease(session: Session, name: str, holder: str, ttl: dt.timedelta) -> bool:
    """Take or renew the lease in one statement; True if ``holder`` holds it afterwards."""
    now = utcnow()
    result = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name)
        .where((SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    if session.get(SchedulerLease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SchedulerLease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False  # another process inserted it first
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
    )
