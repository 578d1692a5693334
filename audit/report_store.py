"""A stored report in the parts its pages read: the report page and the dashboard read the province's figures,
the unit rows and one page of the inactive list without parsing the whole snapshot (for a province of 30,000
mailboxes, 850 KB of JSON, two thirds of it the inactive list).

``monthly_reports.data`` stays the complete snapshot, as the API, the exports and the monthly mail read it. Beside
it, written in the same transaction as the report row (an ``after_insert`` on :class:`MonthlyReport`, so any
writer's snapshot has them; a snapshot is never changed once stored) and, for the snapshots stored before, by
migration 0016:

* ``monthly_report_heads``: one row per report: its province figures (the trends read only these) and the rest
  of the snapshot but the units and the inactive list;
* ``monthly_report_units``: one row per unit of the snapshot, in the snapshot's order;
* ``monthly_report_inactive``: one row per counted mailbox with no activity, in the snapshot's order, with its
  unit's id (or, for a snapshot made before the rows carried it, its unit's name: ``is_by_name``);
* ``monthly_report_trends``: one row per unit, its 12-month trend (audit.unit_trend) as worked out when the
  version was generated (by audit.report.generate, in its transaction; snapshots stored before have none, and
  their unit pages work the trend out when asked).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, and_, event, func, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, Session, mapped_column

from audit.mailbox_figures import INACTIVE_PAGE_SIZE, InactivePage, subtree_unit_ids
from audit.models import MonthlyReport
from audit.months import months_until
from core.db import Base

APART = ("units", "inactive")  # what the head leaves to its own tables


class ReportHead(Base):
    """A snapshot's figures but its units and inactive list."""

    __tablename__ = "monthly_report_heads"

    report_id: Mapped[int] = mapped_column(ForeignKey("monthly_reports.id", ondelete="CASCADE"), primary_key=True)
    province: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    head: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    inactive_count: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<ReportHead report={self.report_id}>"


class ReportUnitRow(Base):
    """One unit's row of a snapshot, as the snapshot holds it."""

    __tablename__ = "monthly_report_units"
    __table_args__ = (Index("ix_monthly_report_units_unit", "report_id", "unit_id"),)

    report_id: Mapped[int] = mapped_column(ForeignKey("monthly_reports.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    unit_id: Mapped[int | None] = mapped_column()
    depth: Mapped[int | None] = mapped_column()
    row: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<ReportUnitRow report={self.report_id} unit={self.unit_id}>"


class ReportInactiveRow(Base):
    """One counted mailbox with no activity in a snapshot."""

    __tablename__ = "monthly_report_inactive"
    __table_args__ = (Index("ix_monthly_report_inactive_unit", "report_id", "unit_id", "position"),)

    report_id: Mapped[int] = mapped_column(ForeignKey("monthly_reports.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    unit_id: Mapped[int | None] = mapped_column()
    is_by_name: Mapped[bool] = mapped_column(default=False)
    email: Mapped[str] = mapped_column(String(254), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    unit: Mapped[str] = mapped_column(String(300), default="")
    unit_code: Mapped[str] = mapped_column(String(64), default="")

    def __repr__(self) -> str:
        return f"<ReportInactiveRow report={self.report_id} {self.email}>"


class ReportTrend(Base):
    """One unit's 12-month trend for a report version, as audit.unit_trend.unit_trends gave it."""

    __tablename__ = "monthly_report_trends"

    report_id: Mapped[int] = mapped_column(ForeignKey("monthly_reports.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    points: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    def __repr__(self) -> str:
        return f"<ReportTrend report={self.report_id} unit={self.unit_id}>"


# -- writing ---------------------------------------------------------------------------------------------------


def write_parts(conn: Connection, report_id: int, data: dict[str, Any]) -> None:
    """Store the parts of snapshot ``data`` of report ``report_id`` (migration 0016 does the same for old ones)."""
    units = [u for u in data.get("units") or [] if isinstance(u, dict)]
    inactive = [r for r in data.get("inactive") or [] if isinstance(r, dict)]
    head = {k: v for k, v in data.items() if k not in APART}
    conn.execute(
        insert(ReportHead),
        [{"report_id": report_id, "province": data.get("province"), "head": head, "inactive_count": len(inactive)}],
    )
    if units:
        conn.execute(
            insert(ReportUnitRow),
            [
                {"report_id": report_id, "position": i, "unit_id": u.get("id"), "depth": u.get("depth"), "row": u}
                for i, u in enumerate(units)
            ],
        )
    for start in range(0, len(inactive), 5000):
        conn.execute(
            insert(ReportInactiveRow),
            [
                {
                    "report_id": report_id,
                    "position": start + i,
                    "unit_id": r.get("unit_id"),
                    "is_by_name": "unit_id" not in r,
                    "email": str(r.get("email") or ""),
                    "name": str(r.get("name") or ""),
                    "unit": str(r.get("unit") or ""),
                    "unit_code": str(r.get("unit_code") or ""),
                }
                for i, r in enumerate(inactive[start : start + 5000])
            ],
        )


def write_trends(session: Session, report_id: int, trends: dict[int, list[dict[str, Any]]]) -> None:
    """Store every unit's trend of report ``report_id`` (one insert)."""
    if trends:
        session.execute(
            insert(ReportTrend),
            [{"report_id": report_id, "unit_id": unit_id, "points": points} for unit_id, points in trends.items()],
        )


@event.listens_for(MonthlyReport, "after_insert")
def _store_parts(_mapper: Mapper[Any], conn: Connection, report: MonthlyReport) -> None:
    write_parts(conn, report.id, report.data or {})


# -- reading ---------------------------------------------------------------------------------------------------


def version_key(report: Any) -> tuple[Any, ...]:
    """What names a stored version for what is worked out from it once (``core.memo``): its id, number and
    creation time (``report``: a MonthlyReport or a row with those columns), so that a version of another
    database under the same id is not taken for it."""
    return (report.id, report.version, report.created_at)


def page_data(session: Session, report_id: int) -> dict[str, Any]:
    """The snapshot of report ``report_id`` as its page reads it: every key but the inactive list, whose length
    is ``inactive_count`` (two queries; the inactive rows are read a page at a time by :func:`inactive_page`)."""
    head = session.get(ReportHead, report_id)
    units = session.scalars(
        select(ReportUnitRow.row).where(ReportUnitRow.report_id == report_id).order_by(ReportUnitRow.position)
    ).all()
    if head is None:
        return {"units": list(units), "inactive_count": 0}
    return {**head.head, "units": list(units), "inactive_count": head.inactive_count}


def stored_trend(session: Session, report_id: int, unit_id: int) -> list[dict[str, Any]] | None:
    """The trend of ``unit_id`` stored with report ``report_id``; None if the version was stored without trends."""
    return session.scalar(
        select(ReportTrend.points).where(ReportTrend.report_id == report_id, ReportTrend.unit_id == unit_id)
    )


def inactive_page(
    session: Session,
    report_id: int,
    units: list[dict[str, Any]],
    unit_id: int | None = None,
    page: int = 1,
    per_page: int = INACTIVE_PAGE_SIZE,
) -> InactivePage:
    """Page ``page`` of the report's inactive list (from 1; beyond the last gives the last), of ``unit_id``'s
    subtree if given, as ``audit.mailbox_figures.inactive_page`` pages the snapshot: the page's rows and a count."""
    where = [ReportInactiveRow.report_id == report_id]
    if unit_id is not None:
        inside = subtree_unit_ids(units, unit_id)
        names = {u["name"] for u in units if u["id"] in inside}
        where.append(
            or_(
                and_(ReportInactiveRow.is_by_name.is_(False), ReportInactiveRow.unit_id.in_(inside)),
                and_(ReportInactiveRow.is_by_name.is_(True), ReportInactiveRow.unit.in_(names)),
            )
        )
    total = session.scalar(select(func.count()).select_from(ReportInactiveRow).where(*where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = session.execute(
        select(ReportInactiveRow.email, ReportInactiveRow.name, ReportInactiveRow.unit, ReportInactiveRow.unit_code)
        .where(*where)
        .order_by(ReportInactiveRow.position)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    shown = [{"email": e, "name": n, "unit": u, "unit_code": c} for e, n, u, c in rows]
    return InactivePage(shown, total, page, pages, unit_id)


def latest_reports(session: Session, month: str, months: int = 12) -> dict[str, int | None]:
    """The last ``months`` months up to ``month``, oldest first, each with the id of its latest version (None)."""
    wanted = months_until(month, months)
    latest = (
        select(MonthlyReport.month, func.max(MonthlyReport.version).label("v"))
        .where(MonthlyReport.month.in_(wanted))
        .group_by(MonthlyReport.month)
        .subquery()
    )
    found = dict(
        session.execute(
            select(MonthlyReport.month, MonthlyReport.id).join(
                latest, and_(MonthlyReport.month == latest.c.month, MonthlyReport.version == latest.c.v)
            )
        ).all()
    )
    return {m: found.get(m) for m in wanted}


def provinces(session: Session, report_ids: Iterable[int]) -> dict[int, dict[str, Any] | None]:
    """Each report's province figures (its head's only)."""
    ids = list(report_ids)
    if not ids:
        return {}
    rows = session.execute(select(ReportHead.report_id, ReportHead.province).where(ReportHead.report_id.in_(ids)))
    return {report_id: province for report_id, province in rows}


def unit_rows(
    session: Session, report_ids: Iterable[int], unit_ids: Collection[int] | None = None, depth: int | None = None
) -> dict[int, list[dict[str, Any]]]:
    """The unit rows of each report (in the snapshot's order), only those of ``unit_ids`` or at ``depth`` if
    given."""
    ids = list(report_ids)
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = select(ReportUnitRow.report_id, ReportUnitRow.row).where(ReportUnitRow.report_id.in_(ids))
    if unit_ids is not None:
        stmt = stmt.where(ReportUnitRow.unit_id.in_(list(unit_ids)))
    if depth is not None:
        stmt = stmt.where(ReportUnitRow.depth == depth)
    for report_id, row in session.execute(stmt.order_by(ReportUnitRow.report_id, ReportUnitRow.position)):
        out[report_id].append(row)
    return out
