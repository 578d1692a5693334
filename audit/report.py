"""The monthly report: who actually uses official email, per unit of the government tree, with the
definitions printed beside the figures, and a meetings section from the meetings module.

Definitions (configurable, stored in every snapshot):
* counted: personal mailboxes enabled at any time in the month (functional, service and test accounts are
  listed apart);
* active: at least one successful interactive access in the month (IMAP or POP3 login, webmail login,
  authenticated SMTP submission); mail delivered into a mailbox is not use;
* regular: active on at least N distinct working days (weekends and configured holidays excluded);
* engaged: sent at least one message.

Each mailbox's month is read from its monthly rollup (audit.usage_months: one row per mailbox, kept with the
per-day counters in the transaction that writes them), never from the month's days.

The tree is the month's (audit.report_history): a report for a month before a reorganisation shows the units of
that month with the people of that month, and the change against the previous month compares the same people
(audit.definitions says so in every snapshot). A unit's 12-month trend: audit.unit_trend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit import report_store, unit_meetings
from audit.definitions import Definitions
from audit.formatting import Formats
from audit.mailbox_figures import (
    MEASURES,
    enabled_among,
    mailbox_rows,
    subtree_totals,
    unit_figures,
    with_shares,
)
from audit.meeting_figures import meeting_figures
from audit.models import MonthlyReport, UnknownAddressDay, UsageDay
from audit.months import (
    ReportError,
    local_midnight,
    month_bounds,
    month_span,
    parse_month,
    previous_month,
)
from audit.permissions import can_read_reports
from audit.report_history import month_tree, unit_fates
from audit.unit_trend import unit_trends
from audit.usage_months import month_usage
from core import changelog
from core.actors import Actor, PermissionDenied
from meetings.availability import working_days

# Where they were defined before; the console, the API, the CLI and the tasks import them from here.
__all__ = [
    "Definitions",
    "ReportError",
    "build_report",
    "generate",
    "month_bounds",
    "parse_month",
    "previous_month",
    "summary_text",
    "trend",
]

CHANNELS = ("imap", "pop3", "webmail", "smtp")
HOTSPOTS = 20


def build_report(session: Session, month: str, definitions: Definitions) -> dict[str, Any]:
    """Compute the whole report for ``month`` (YYYY-MM) from the usage tables and the meetings, in the tree of
    that month (audit.report_history): its units as they were on its last day, each mailbox where it was then.
    The previous month's figures are placed in the same tree, so each unit compares with the same people."""
    month = parse_month(month)
    first, last = month_bounds(month)
    tz = definitions.tz
    start, end = month_span(month, tz)
    work = working_days(first, last, definitions.holidays)
    tree = month_tree(session, last)

    known = mailbox_rows(session, end)
    personal, others = enabled_among(known, start, end)
    personal = tree.place(personal)
    usage = month_usage(session, first, work)
    direct = unit_figures(personal, usage, definitions.regular_days)

    prev = previous_month(month)
    p_first, p_last = month_bounds(prev)
    p_start, p_end = month_span(prev, tz)
    p_personal = tree.place(enabled_among(known, p_start, p_end)[0])
    p_usage = month_usage(session, p_first, working_days(p_first, p_last, definitions.holidays))
    p_direct = unit_figures(p_personal, p_usage, definitions.regular_days)

    shape = tree.shape()
    totals = subtree_totals(shape, direct)
    p_totals = subtree_totals(shape, p_direct)
    meetings = meeting_figures(session, start, end, shape, tree.unit_of)
    fates = unit_fates(session, ((uid, u.name) for uid, u in tree.units.items()))

    parents = {u.parent_id for u in tree.units.values()}
    rows = []
    for uid, path in sorted(tree.paths.items(), key=lambda item: item[1]):
        u = tree.units[uid]
        figures = with_shares(totals[uid])
        before = with_shares(p_totals[uid])
        rows.append(
            {
                "id": uid,
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "parent_id": u.parent_id,
                "depth": path.count("/") - 2,
                "fate": fates.get(uid),
                "direct": with_shares(direct.get(uid, dict.fromkeys(MEASURES, 0))),
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
                "has_children": uid in parents,
                "meetings": meetings["by_unit"].get(uid, unit_meetings.empty()),
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
    unit_names = {uid: (u.name, u.code) for uid, u in tree.units.items()}
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
            {"email": who[2], "name": who[3], "failed": use[7]}
            for sid, use in usage.items()
            if use[7] > 0
            for who in [personal.get(sid) or others.get(sid) or (0, "", f"#{sid}", "")]
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
    """Build the report and store it as a new version (earlier versions stay), with every unit's 12-month
    trend."""
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
        data_from=local_midnight(dt.date.fromisoformat(first), definitions.tz) if first else None,
        data_to=local_midnight(dt.date.fromisoformat(last) + dt.timedelta(days=1), definitions.tz) if last else None,
    )
    session.add(report)
    session.flush()
    report_store.write_trends(session, report.id, unit_trends(session, data, definitions))
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


def subtree_trend(
    session: Session, month: str, unit_ids: Collection[int], months: int = 12
) -> dict[str, list[dict[str, Any]]]:
    """The last ``months`` months up to ``month``, oldest first, each with the rows of the units ``unit_ids`` in its
    latest stored snapshot ([] if none): those rows only, never a whole snapshot (audit.report_store)."""
    latest = report_store.latest_reports(session, month, months)
    rows = report_store.unit_rows(session, [i for i in latest.values() if i is not None], unit_ids)
    return {m: rows.get(i, []) if i is not None else [] for m, i in latest.items()}


def trend(session: Session, month: str, months: int = 12) -> list[dict[str, Any]]:
    """The province's regular-use share over the last ``months`` months, from the latest stored snapshots (their
    province figures only)."""
    latest = report_store.latest_reports(session, month, months)
    figures = report_store.provinces(session, [i for i in latest.values() if i is not None])
    return [{"month": m, "province": figures.get(i) if i is not None else None} for m, i in latest.items()]


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
