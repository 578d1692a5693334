"""What the dashboard shows each role: an IT admin the health of the directory and mail queues and the
mailboxes that need attention in their scope; a secretary today's and this week's meetings with their
points' attendance; an auditor the headline figures, their 12-month trend and the units ranked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from audit import report_store
from audit.mailbox_figures import MEASURES, with_shares
from audit.models import LastSeen, MonthlyReport, UsageDay
from audit.report import subtree_trend, trend
from core.actors import Actor
from core.db import utcnow
from core.memo import Memo, frozen
from core.outbox import MailJob, MailStatus
from meetings.attendance import points_attended
from meetings.models import Meeting
from provisioning.models import AccountStatus, DirectoryJob, DirectoryJobStatus, Role, Staff, Unit
from provisioning.queries import read_paths, staff_in_scope

HOT_SPOTS = 5


@dataclass
class AdminHealth:
    jobs_pending: int = 0
    jobs_failed: int = 0
    last_sync_at: dt.datetime | None = None
    mail_pending: int = 0
    mail_failed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    inactive_30: int = 0
    hot_spots: list[tuple[Staff, int]] = field(default_factory=list)


@dataclass(frozen=True)
class MeetingRow:
    """What the dashboard shows of a meeting (read as a plain row, not the meeting's objects)."""

    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass
class MeetingLine:
    meeting: MeetingRow
    planned: int
    attended: int
    has_started: bool = False  # attendance means something only once it has


def admin_health(session: Session, actor: Actor, now: dt.datetime) -> AdminHealth:
    """For a system admin the whole province; for a unit admin their subtree (mail queues: province only)."""
    health = AdminHealth()
    mine = staff_in_scope(actor, Staff.id)
    scoped = read_paths(actor) is not None
    jobs = select(DirectoryJob.status, func.count()).group_by(DirectoryJob.status)
    if scoped:
        jobs = jobs.where(DirectoryJob.action == "sync_staff", DirectoryJob.object_id.in_(mine))
    counts = dict(session.execute(jobs.where(DirectoryJob.status != DirectoryJobStatus.DONE)).all())
    health.jobs_pending = counts.get(DirectoryJobStatus.PENDING, 0)
    health.jobs_failed = counts.get(DirectoryJobStatus.FAILED, 0)
    health.last_sync_at = session.scalar(
        select(func.max(DirectoryJob.done_at)).where(DirectoryJob.status == DirectoryJobStatus.DONE)
    )
    if actor.is_system_admin:
        mail = dict(
            session.execute(
                select(MailJob.status, func.count())
                .where(MailJob.status.in_((MailStatus.PENDING, MailStatus.FAILED)))
                .group_by(MailJob.status)
            ).all()
        )
        health.mail_pending, health.mail_failed = mail.get(MailStatus.PENDING, 0), mail.get(MailStatus.FAILED, 0)
    statuses = staff_in_scope(actor, Staff.status, func.count()).group_by(Staff.status)
    health.by_status = dict(session.execute(statuses).all())
    since = now - dt.timedelta(days=30)
    health.inactive_30 = _idle(session, actor, since, health.by_status.get(AccountStatus.ACTIVE, 0), scoped)
    week = (now - dt.timedelta(days=7)).date()
    failures = (
        select(UsageDay.staff_id, func.sum(UsageDay.failed_logins).label("n"))
        # "> 0" written out, not bound: the partial index of days with failures (ix_usage_days_failures) then
        # applies on SQLite too, and the week's failures are read without the week's every day
        .where(UsageDay.day >= week, UsageDay.failed_logins > literal_column("0"))
        .group_by(UsageDay.staff_id)
        .order_by(func.sum(UsageDay.failed_logins).desc())
        .limit(HOT_SPOTS)
    )
    if scoped:  # a province-wide reader sees every mailbox: no list of them to probe one by one
        failures = failures.where(UsageDay.staff_id.in_(mine))
    rows = session.execute(failures).all()
    people = {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_([r[0] for r in rows])))}
    health.hot_spots = [(people[sid], int(n)) for sid, n in rows if sid in people]
    return health


def _idle(session: Session, actor: Actor, since: dt.datetime, active: int, scoped: bool) -> int:
    """Active mailboxes of the actor's scope without a sign-in on any channel since ``since``.

    For a province-wide reader: the active mailboxes, less the people signed in since (distinct in the last
    sign-ins), plus back those of them that are not active (few: found from the status index). Not every active
    mailbox tested against the sign-ins: for 30,000, about 3 ms instead of 7 on SQLite, 5 instead of 26 on
    PostgreSQL."""
    recent = select(LastSeen.staff_id).where(LastSeen.at >= since)
    if scoped:
        idle = staff_in_scope(actor, func.count()).where(Staff.status == AccountStatus.ACTIVE, ~Staff.id.in_(recent))
        return session.scalar(idle) or 0
    seen = session.scalar(select(func.count(LastSeen.staff_id.distinct())).where(LastSeen.at >= since)) or 0
    others = [status for status in AccountStatus if status != AccountStatus.ACTIVE]
    signed_in = select(LastSeen.staff_id).where(LastSeen.staff_id == Staff.id, LastSeen.at >= since).exists()
    seen_inactive = session.scalar(select(func.count()).where(Staff.status.in_(others), signed_in))
    return max(0, active - (seen - (seen_inactive or 0)))


def meetings_between(session: Session, start: dt.datetime, end: dt.datetime, limit: int = 50) -> list[MeetingLine]:
    """The first ``limit`` meetings (not cancelled) starting in [start, end), each with its points planned and
    attended (:func:`meetings.attendance.points_attended`)."""
    m = Meeting
    found = [
        MeetingRow(*row)
        for row in session.execute(
            select(m.id, m.title, m.starts_at, m.ends_at)
            .where(m.starts_at >= start, m.starts_at < end, m.is_cancelled.is_(False))
            .order_by(m.starts_at, m.id)
            .limit(limit)
        )
    ]
    counts = points_attended(session, [row.id for row in found])
    now = utcnow()
    return [MeetingLine(row, *counts[row.id], row.starts_at <= now) for row in found]


def subtree_figures(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The figures of a stored report's rows of some units (each with its subunits) summed, or None if the report
    has none of them (a unit formed later, or one a reorganisation ended before)."""
    if not rows:
        return None
    return with_shares({m: sum(int((u.get("subtree") or {}).get(m) or 0) for u in rows) for m in MEASURES})


def scope_unit_ids(session: Session, paths: list[str]) -> list[int]:
    """The units at the top of a reader's scope (a unit inside another of the scope is counted in it)."""
    tops = [p for p in paths if not any(q != p and p.startswith(q) for q in paths)]
    return list(session.scalars(select(Unit.id).where(Unit.path.in_(tops)))) if tops else []


def headline(
    session: Session, month: str, unit_ids: Collection[int] | None = None, memo: Memo | None = None
) -> dict[str, Any]:
    """The figures of the latest stored report up to ``month`` (the province's, or with ``unit_ids`` those of a
    unit admin's subtree), the 12-month trend of the regular-use share, and the units ranked by it (best first).
    A subtree's trend reads each month's stored report, so a month before the unit existed has no point. The
    units ranked are worked out once per version if ``memo`` is given (a stored version never changes)."""
    latest = session.execute(
        select(MonthlyReport.id, MonthlyReport.month, MonthlyReport.version, MonthlyReport.created_at)
        .where(MonthlyReport.month <= month)
        .order_by(MonthlyReport.month.desc(), MonthlyReport.version.desc())
        .limit(1)
    ).first()
    if unit_ids is not None:
        months = subtree_trend(session, latest.month if latest else month, unit_ids)
        mine = {m: subtree_figures(rows) for m, rows in months.items()}
        shares = [(m, (figures or {}).get("regular_share")) for m, figures in mine.items()]
        province = mine.get(latest.month) if latest else None
        return {"report": latest, "province": province, "trend": shares, "units": [], "is_subtree": True}
    points = trend(session, latest.month if latest else month)
    shares = [(p["month"], (p["province"] or {}).get("regular_share")) for p in points]
    units: list[dict[str, Any]] = []
    province = None
    if latest is not None:
        report_id = latest.id

        def ranked() -> list[dict[str, Any]]:
            rows = [
                u
                for u in report_store.unit_rows(session, [report_id], depth=1)[report_id]
                if isinstance(u, dict) and (u.get("subtree") or {}).get("counted")
            ]
            return sorted(rows, key=lambda u: (-(u["subtree"].get("regular_share") or 0), u.get("name", "")))

        key = ("ranked", *report_store.version_key(latest))
        units = memo.get(key, lambda: frozen(ranked())) if memo is not None else ranked()
        province = points[-1]["province"] if points and points[-1]["month"] == latest.month else None
    return {"report": latest, "province": province, "trend": shares, "units": units, "is_subtree": False}


def sparkline(values: list[float | None], width: int = 240, height: int = 48) -> str:
    """An SVG polyline's points for the shares (0–1); months without a report are skipped."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return ""
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 4 - v * (height - 8):.1f}" for i, v in known)


def is_admin(actor: Actor) -> bool:
    return actor.is_system_admin or actor.has_role(Role.UNIT_ADMIN)
