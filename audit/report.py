"""The monthly report: who actually uses official email, per unit of the government tree, with the
definitions printed beside the figures, and a meetings section from the meetings module.

Definitions (configurable, stored in every snapshot):
* counted: personal mailboxes enabled at any time in the month (functional, service and test accounts are
  listed apart);
* active: at least one successful interactive access in the month (IMAP or POP3 login, webmail login,
  authenticated SMTP submission); mail delivered into a mailbox is not use;
* regular: active on at least N distinct working days (weekends and configured holidays excluded);
* engaged: sent at least one message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from audit import unit_meetings
from audit.formatting import Formats
from audit.mailbox_figures import MEASURES, enabled_in, subtree_totals, unit_figures, usage_by_mailbox, with_shares
from audit.meeting_figures import meeting_figures
from audit.models import MonthlyReport, UnknownAddressDay, UsageDay
from audit.permissions import can_read_reports
from core import changelog
from core.actors import Actor, PermissionDenied
from meetings.availability import working_days
from provisioning.models import Unit

CHANNELS = ("imap", "pop3", "webmail", "smtp")
HOTSPOTS = 20


class ReportError(ValueError):
    """The report cannot be built as asked; the message names the field."""


@dataclass(frozen=True)
class Definitions:
    regular_days: int
    holidays: frozenset[dt.date]
    tz: dt.tzinfo

    def as_dict(self, month: str) -> dict[str, Any]:
        first, last = month_bounds(month)
        return {
            "counted": "Hộp thư cá nhân được kích hoạt vào bất kỳ thời điểm nào trong tháng "
            "(hộp thư chức năng, dịch vụ và thử nghiệm được liệt kê riêng).",
            "active": "Có ít nhất một lần truy cập thành công trong tháng (đăng nhập IMAP/POP3, webmail, "
            "hoặc gửi thư có xác thực SMTP). Thư chỉ được nhận vào hộp thư không tính là sử dụng.",
            "regular": f"Hoạt động trong ít nhất {self.regular_days} ngày làm việc khác nhau của tháng "
            "(không tính thứ Bảy, Chủ nhật và ngày nghỉ lễ).",
            "engaged": "Đã gửi ít nhất một thư trong tháng.",
            "regular_days": self.regular_days,
            "working_days": [d.isoformat() for d in working_days(first, last, self.holidays)],
            "holidays": sorted(d.isoformat() for d in self.holidays if first <= d <= last),
        }


def parse_month(text: str) -> str:
    try:
        value = dt.datetime.strptime(text.strip(), "%Y-%m")
    except ValueError:
        raise ReportError(f"month: {text[:20]!r} is not a month (YYYY-MM)") from None
    if not 2000 <= value.year <= 2099:  # a month's bounds beyond these overflow the calendar
        raise ReportError(f"month: {text[:20]!r} must lie between 2000-01 and 2099-12")
    return f"{value.year:04d}-{value.month:02d}"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    year, mon = (int(x) for x in month.split("-"))
    first = dt.date(year, mon, 1)
    nxt = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def previous_month(month: str) -> str:
    first, _ = month_bounds(month)
    prev = first - dt.timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def _local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def build_report(session: Session, month: str, definitions: Definitions) -> dict[str, Any]:
    """Compute the whole report for ``month`` (YYYY-MM) from the usage tables and the meetings."""
    month = parse_month(month)
    first, last = month_bounds(month)
    tz = definitions.tz
    start, end = _local_midnight(first, tz), _local_midnight(last + dt.timedelta(days=1), tz)
    work = working_days(first, last, definitions.holidays)

    personal, others = enabled_in(session, start, end)
    usage = usage_by_mailbox(session, first, last, work)
    direct = unit_figures(personal, usage, definitions.regular_days)

    prev = previous_month(month)
    p_first, p_last = month_bounds(prev)
    p_start, p_end = _local_midnight(p_first, tz), _local_midnight(p_last + dt.timedelta(days=1), tz)
    p_personal, _ = enabled_in(session, p_start, p_end)
    p_usage = usage_by_mailbox(session, p_first, p_last, working_days(p_first, p_last, definitions.holidays))
    p_direct = unit_figures(p_personal, p_usage, definitions.regular_days)

    units = session.execute(select(Unit.id, Unit.parent_id, Unit.path, Unit.code, Unit.name, Unit.kind)).all()
    tree = [(u.id, u.parent_id, u.path) for u in units]
    totals = subtree_totals(tree, direct)
    p_totals = subtree_totals(tree, p_direct)
    meetings = meeting_figures(session, start, end, tree)

    parents = {u.parent_id for u in units}
    rows = []
    for u in sorted(units, key=lambda u: u.path):
        figures = with_shares(totals[u.id])
        before = with_shares(p_totals[u.id])
        rows.append(
            {
                "id": u.id,
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "parent_id": u.parent_id,
                "depth": u.path.count("/") - 2,
                "direct": with_shares(direct.get(u.id, dict.fromkeys(MEASURES, 0))),
                "subtree": figures,
                "previous": before,
                "change": {
                    f"{m}_share": (
                        round(figures[f"{m}_share"] - before[f"{m}_share"], 4)
                        if figures[f"{m}_share"] is not None and before[f"{m}_share"] is not None
                        else None
                    )
                    for m in MEASURES[1:]
                },
                "has_children": u.id in parents,
                "meetings": meetings["by_unit"].get(u.id, unit_meetings.empty()),
            }
        )
    roots = [r for r in rows if r["parent_id"] is None]
    province = with_shares({m: sum(r["subtree"][m] for r in roots) for m in MEASURES})
    p_province = with_shares({m: sum(r["previous"][m] for r in roots) for m in MEASURES})

    channels: dict[str, dict[str, int]] = {c: {"logins": 0, "mailboxes": 0} for c in CHANNELS}
    for staff_id, use in usage.items():
        if staff_id not in personal:
            continue
        for i, channel in enumerate(CHANNELS):
            if use[3 + i]:
                channels[channel]["logins"] += use[3 + i]
                channels[channel]["mailboxes"] += 1
    unit_names = {u.id: (u.name, u.code) for u in units}
    inactive = sorted(
        (
            {
                "email": email,
                "name": name,
                "unit": unit_names.get(unit_id, ("", ""))[0],
                "unit_code": unit_names.get(unit_id, ("", ""))[1],
                "unit_id": unit_id,
            }
            for sid, (unit_id, _k, email, name) in personal.items()
            if not (usage.get(sid) and usage[sid][0] > 0)
        ),
        key=lambda r: (r["unit"], r["email"]),
    )
    failed_known = sorted(
        (
            {"email": (personal.get(sid) or others.get(sid) or (0, "", f"#{sid}", ""))[2], "failed": use[7]}
            for sid, use in usage.items()
            if use[7] > 0
        ),
        key=lambda r: (-r["failed"], r["email"]),
    )[:HOTSPOTS]
    unknown = session.execute(
        select(
            UnknownAddressDay.address,
            func.sum(UnknownAddressDay.failed_logins),
            func.sum(UnknownAddressDay.logins),
        )
        .where(UnknownAddressDay.day >= first, UnknownAddressDay.day <= last)
        .group_by(UnknownAddressDay.address)
        .order_by(func.sum(UnknownAddressDay.failed_logins).desc(), UnknownAddressDay.address)
        .limit(HOTSPOTS)
    ).all()
    other_counts: dict[str, int] = {}
    for _unit, kind, _email, _name in others.values():
        other_counts[kind] = other_counts.get(kind, 0) + 1
    data_range = session.execute(
        select(func.min(UsageDay.day), func.max(UsageDay.day)).where(UsageDay.day >= first, UsageDay.day <= last)
    ).one()
    return {
        "month": month,
        "previous_month": prev,
        "definitions": definitions.as_dict(month),
        "province": province,
        "province_previous": p_province,
        "units": rows,
        "channels": channels,
        "inactive": inactive,
        "hotspots": {
            "mailboxes": failed_known,
            "unknown": [{"address": a, "failed": int(f or 0), "logins": int(n or 0)} for a, f, n in unknown],
        },
        "other_accounts": other_counts,
        "meetings": {k: v for k, v in meetings.items() if k != "by_unit"},
        "data_range": {
            "first_day": data_range[0].isoformat() if data_range[0] else None,
            "last_day": data_range[1].isoformat() if data_range[1] else None,
        },
    }


def generate(session: Session, actor: Actor, month: str, definitions: Definitions) -> MonthlyReport:
    """Build the report and store it as a new version (earlier versions stay)."""
    if not can_read_reports(actor):
        raise PermissionDenied(f"{actor.name} may not generate the usage report")
    month = parse_month(month)
    data = build_report(session, month, definitions)
    version = (session.scalar(select(func.max(MonthlyReport.version)).where(MonthlyReport.month == month)) or 0) + 1
    first = data["data_range"]["first_day"]
    last = data["data_range"]["last_day"]
    report = MonthlyReport(
        month=month,
        version=version,
        created_by=actor.label,
        definitions=data["definitions"],
        data=data,
        data_from=_local_midnight(dt.date.fromisoformat(first), definitions.tz) if first else None,
        data_to=_local_midnight(dt.date.fromisoformat(last) + dt.timedelta(days=1), definitions.tz) if last else None,
    )
    session.add(report)
    session.flush()
    changelog.record(
        session,
        actor,
        "report.generate",
        "monthly_report",
        report.id,
        target_label=f"{month} v{version}",
        after={"month": month, "version": version, "province": data["province"]},
    )
    return report


def trend(session: Session, month: str, months: int = 12) -> list[dict[str, Any]]:
    """The province's regular-use share over the last ``months`` months, from the latest stored snapshots."""
    wanted = [month]
    while len(wanted) < months:
        wanted.append(previous_month(wanted[-1]))
    latest = (
        select(MonthlyReport.month, func.max(MonthlyReport.version).label("v"))
        .where(MonthlyReport.month.in_(wanted))
        .group_by(MonthlyReport.month)
        .subquery()
    )
    rows = session.execute(
        select(MonthlyReport.month, MonthlyReport.data).join(
            latest, and_(MonthlyReport.month == latest.c.month, MonthlyReport.version == latest.c.v)
        )
    ).all()
    found = {m: d["province"] for m, d in rows}
    return [{"month": m, "province": found.get(m)} for m in reversed(wanted)]


def summary_text(data: dict[str, Any], link: str = "") -> str:
    """The body of the monthly report email: the headline figures and the definitions, in Vietnamese."""
    f = Formats("vi")
    p, prev, m = data["province"], data["province_previous"], data["meetings"]
    month = f.month(data["month"])
    lines = [
        f"Báo cáo sử dụng thư điện tử công vụ tháng {month}",
        "",
        f"Hộp thư được tính: {f.number(p['counted'])}",
        f"Hoạt động: {f.number(p['active'])} ({f.percent(p['active_share'])}; "
        f"tháng trước {f.percent(prev['active_share'])})",
        f"Thường xuyên: {f.number(p['regular'])} ({f.percent(p['regular_share'])}; "
        f"tháng trước {f.percent(prev['regular_share'])})",
        f"Có gửi thư: {f.number(p['engaged'])} ({f.percent(p['engaged_share'])})",
        f"Họp trực tuyến: {f.number(m['held'])} cuộc, {f.number(m['hours'])} giờ; điểm cầu kế hoạch "
        f"{f.number(m['planned_points'])}, tham dự {f.number(m['attended_points'])}",
        "",
        "Định nghĩa:",
    ]
    d = data["definitions"]
    lines += [f"- Hộp thư được tính: {d['counted']}", f"- Hoạt động: {d['active']}"]
    lines += [f"- Thường xuyên: {d['regular']}", f"- Có gửi thư: {d['engaged']}", ""]
    lines.append("Chi tiết theo đơn vị trong tệp XLSX đính kèm." + (f" Xem trực tuyến: {link}" if link else ""))
    return "\n".join(lines)
