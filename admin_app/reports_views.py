"""The monthly usage report in the console: stored snapshots, generate a new version, the report page with
charts (inline SVG, no network), the unit tree (expand/collapse by static/report-tree.js; without script every
row shows), the inactive list a page at a time by unit, downloads as XLSX, CSV and PDF. Figures are written by
``audit.formatting`` in the page's locale, as the exports write them.

The tree is the one of the report's month (audit.report_history); a unit that no longer exists is labelled with
its fate as of today, on the page and in the files. Choosing a unit shows its 12-month trend, comparing the same
people across a reorganisation (audit.unit_trend)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from babel import Locale
from babel.numbers import format_decimal, format_percent, get_group_symbol
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import defer, object_session

from admin_app.auth import current_actor, login_required
from admin_app.context import db, runtime_of
from admin_app.report_rows import snapshot_options, unit_rows, with_selected
from audit import exports, report_store, report_tasks
from audit.definitions import definitions_from
from audit.document import ReportDocument, document_from
from audit.exports import FORMATS, TABLE_FORMATS, export_name, inactive_export
from audit.formatting import CHANGE_PATTERN, MISSING, PERCENT_PATTERNS, Formats
from audit.mailbox_figures import INACTIVE_PAGE_SIZE
from audit.models import MonthlyReport
from audit.permissions import can_read_reports
from audit.report import Definitions, ReportError, parse_month, previous_month, trend
from audit.report_history import MOST_NAMED, with_fates
from audit.unit_trend import trend_points, unit_trend
from core.actors import Actor
from core.memo import frozen
from core.validation import clean_int

bp = Blueprint("reports", __name__)


def definitions() -> Definitions:
    return definitions_from(runtime_of().settings)


def _actor() -> Actor:
    actor = current_actor()
    if actor is None:
        abort(401)
    if not can_read_reports(actor):
        abort(403)
    return actor


def report_document(report: MonthlyReport) -> ReportDocument:
    """The administrative frame of ``report``'s PDF as configured, dated the day the snapshot was made."""
    settings = runtime_of().settings
    return document_from(settings, report.created_at.astimezone(settings.tz).date())


def export_bytes(report: MonthlyReport, fmt: str) -> bytes:
    """The report as a file, each unit that no longer exists labelled with its fate as of today (read in the
    report's own session: the request's, or the CLI's)."""
    session = object_session(report) or db()
    return exports.export_bytes(with_fates(session, report.data), fmt, report_document(report))


@dataclass(frozen=True)
class PageFormats(Formats):
    """audit.formatting's figures, written faster for a page that writes thousands of them (a province's tree of
    units): a whole number grouped by Python with the locale's group symbol, once that gives what Babel gives for
    a few probes (else Babel's, as for any other number); each share and change formatted once per page, by Babel
    with the patterns of audit.formatting and the locale read once (Babel would read it again for each figure)."""

    _group: str | None = field(default=None, compare=False)
    _babel: Locale | None = field(default=None, compare=False, repr=False)
    _seen: dict[tuple[str, float, int], str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        babel = Locale.parse(self.locale)
        group = get_group_symbol(babel)
        probes = (0, 7, 1234, -1234567, 10**9)
        grouped = all(f"{n:,}".replace(",", group) == super(PageFormats, self).number(n) for n in probes)
        object.__setattr__(self, "_group", group if grouped else None)
        object.__setattr__(self, "_babel", babel)

    def number(self, value: float | None) -> str:
        if type(value) is int and self._group is not None:
            return f"{value:,}".replace(",", self._group)
        return super().number(value)

    def percent(self, share: float | None, decimals: int = 1) -> str:
        if share is None:
            return MISSING
        key = ("%", share, decimals)
        if key not in self._seen:
            pattern = PERCENT_PATTERNS.get(self.language, PERCENT_PATTERNS["en"])
            if decimals != 1:
                pattern = pattern.replace("0.0", "0." + "0" * decimals if decimals else "0")
            self._seen[key] = str(format_percent(share, pattern, locale=self._babel))
        return self._seen[key]

    def change(self, delta: float | None) -> str:
        if delta is None:
            return MISSING
        key = ("±", delta, 1)
        if key not in self._seen:
            self._seen[key] = str(format_decimal(round(delta * 100, 1), CHANGE_PATTERN, locale=self._babel))
        return self._seen[key]


def formats() -> Formats:
    """Figures in the page's language (one helper with the exports: audit.formatting)."""
    return PageFormats(str(get_locale() or runtime_of().settings.default_locale))


def fate_text(fate: dict[str, Any] | None) -> str:
    """What became of a unit of an old month's tree, in the page's language (the files print
    audit.report_history.fate_label, the same words in Vietnamese)."""
    if not fate:
        return ""
    into = fate.get("into") or []
    names = ", ".join(into[:MOST_NAMED])
    if len(into) > MOST_NAMED:
        names = _("%(names)s and %(n)s other units", names=names, n=len(into) - MOST_NAMED)
    if fate["kind"] == "renamed":
        return _("(now %(name)s)", name=fate["now"])
    if fate["kind"] == "merge" and into:
        return _("(merged into %(names)s)", names=names)
    if fate["kind"] == "split" and into:
        return _("(split, staff moved to %(names)s)", names=names)
    if fate["kind"] == "dissolve" and into:
        return _("(dissolved, staff moved to %(names)s)", names=names)
    return _("(dissolved)")


def unit_filter(data: dict[str, Any]) -> int | None:
    """The ``unit`` query argument: a unit of the snapshot (refused by name if it is not one), or None."""
    raw = request.args.get("unit", "")
    if not raw:
        return None
    unit_id = clean_int(raw, "unit")
    if unit_id not in {u["id"] for u in data["units"]}:
        abort(404)
    return unit_id


@bp.route("/reports", methods=["GET", "POST"])
@login_required
def report_list() -> Any:
    actor = _actor()
    if request.method == "POST":
        try:
            month = parse_month(request.form.get("month", ""))
        except ReportError as exc:
            flash(str(exc), "error")
            return redirect(url_for("reports.report_list"))
        task = report_tasks.queue_report(db(), actor, month)
        # Built by a background worker; the task's page follows it and then opens the new version.
        return redirect(url_for("tasks.task_page", task_id=task.id))
    reports = (
        db()
        .execute(
            select(
                MonthlyReport.id,
                MonthlyReport.month,
                MonthlyReport.version,
                MonthlyReport.created_at,
                MonthlyReport.created_by,
            )
            .order_by(MonthlyReport.month.desc(), MonthlyReport.version.desc())
            .limit(200)
        )
        .all()
    )
    today = dt.datetime.now(runtime_of().settings.tz).date()
    return render_template("reports.html", reports=reports, default_month=previous_month(f"{today:%Y-%m}"))


def _report(report_id: int, *, whole: bool = True) -> MonthlyReport:
    """The report row; without its snapshot unless ``whole`` (the page reads its parts: audit.report_store)."""
    report = db().get(MonthlyReport, report_id, options=[] if whole else [defer(MonthlyReport.data)])
    if report is None:
        abort(404)
    return report


def _snapshot(report: MonthlyReport) -> dict[str, Any]:
    """The parts of ``report`` its page reads (audit.report_store.page_data), read and parsed once per process
    and frozen: a stored version never changes."""
    key = ("page", *report_store.version_key(report))
    return runtime_of().snapshots.get(key, lambda: frozen(report_store.page_data(db(), report.id)))


def _written(report: MonthlyReport, data: dict[str, Any], fm: Formats) -> tuple[Markup, Markup]:
    """The page's tree of units and its list of units to choose from (nothing chosen), written once per process
    for a version, language and the units' fates of today (a later reorganisation changes those)."""
    fates = json.dumps([u.get("fate") for u in data["units"]], sort_keys=True)
    key = ("written", *report_store.version_key(report), fm.locale, fates)
    return runtime_of().snapshots.get(
        key, lambda: (unit_rows(data["units"], fm, fate_text), snapshot_options(data["units"], None))
    )


@bp.route("/reports/<int:report_id>")
@login_required
def report_detail(report_id: int) -> Any:
    _actor()
    report = _report(report_id, whole=False)
    data = with_fates(db(), _snapshot(report))
    history = trend(db(), report.month)
    versions = (
        db()
        .execute(
            select(MonthlyReport.id, MonthlyReport.version, MonthlyReport.created_at)
            .where(MonthlyReport.month == report.month)
            .order_by(MonthlyReport.version)
        )
        .all()
    )
    top = [u for u in data["units"] if u["depth"] == 1 and u["subtree"]["counted"]]
    fm = formats()
    unit_id = unit_filter(data)
    page = clean_int(request.args.get("page") or "1", "page", maximum=10**6)
    chosen = next((u for u in data["units"] if u["id"] == unit_id), None)
    points: list[dict[str, Any]] = []
    if unit_id is not None:
        stored = report_store.stored_trend(db(), report.id, unit_id)
        points = stored if stored is not None else unit_trend(db(), data, unit_id, definitions())
    tree, options = _written(report, data, fm)
    return render_template(
        "report.html",
        report=report,
        data=data,
        fm=fm,
        trend_chart=line_chart(history, fm),
        units_chart=bar_chart(top, fm),
        versions=versions,
        top_units=top,
        inactive=report_store.inactive_page(db(), report.id, data["units"], unit_id, page, INACTIVE_PAGE_SIZE),
        chosen=chosen,
        fate_text=fate_text,
        tree=tree,
        options=options,
        with_selected=with_selected,
        unit_trend=points,
        unit_trend_chart=line_chart(trend_points(points), fm) if points else "",
    )


@bp.route("/reports/<int:report_id>/inactive.<fmt>")
@login_required
def inactive_download(report_id: int, fmt: str) -> Any:
    """The counted mailboxes with no activity, of the chosen unit's subtree (``?unit=``) or all, as CSV or XLSX."""
    _actor()
    if fmt not in TABLE_FORMATS:
        abort(404)
    report = _report(report_id)
    unit_id = unit_filter(report.data)
    name = export_name(report.month, report.version, fmt, "-chua-su-dung" + (f"-{unit_id}" if unit_id else ""))
    return Response(
        inactive_export(report.data, fmt, unit_id),
        mimetype=FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@bp.route("/reports/<int:report_id>.<fmt>")
@login_required
def report_export(report_id: int, fmt: str) -> Any:
    _actor()
    if fmt not in FORMATS:
        abort(404)
    report = _report(report_id)
    return Response(
        export_bytes(report, fmt),
        mimetype=FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename={export_name(report.month, report.version, fmt)}"},
    )


# -- charts (server-drawn SVG) ------------------------------------------------------------------------------


def line_chart(points: list[dict[str, Any]], fm: Formats | None = None, width: int = 720, height: int = 220) -> str:
    """The province's regular-use share month by month; months without a report are gaps."""
    fm = fm or formats()
    pad_l, pad_b, pad_t = 44, 28, 12
    inner_w, inner_h = width - pad_l - 28, height - pad_b - pad_t
    n = max(len(points), 1)
    step = inner_w / max(n - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'aria-label="{_("Regular-use share, last 12 months")}">'
    ]
    for pct in (0, 25, 50, 75, 100):
        y = pad_t + inner_h * (1 - pct / 100)
        parts.append(f'<line x1="{pad_l}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end">{fm.percent(pct / 100, 0)}</text>')
    path: list[str] = []
    for i, point in enumerate(points):
        x = pad_l + i * step
        label = point["month"][5:] + "/" + point["month"][2:4]
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{label}</text>')
        share = (point.get("province") or {}).get("regular_share")
        if share is None:
            path.append("")
            continue
        y = pad_t + inner_h * (1 - share)
        path.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="dot"><title>{fm.month(point["month"])}: '
            f"{fm.percent(share)}</title></circle>"
        )
    segment: list[str] = []
    for p in [*path, ""]:
        if p:
            segment.append(p)
        elif segment:
            parts.append(f'<polyline points="{" ".join(segment)}" class="line"/>')
            segment = []
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(units: list[dict[str, Any]], fm: Formats | None = None, width: int = 720) -> str:
    """Units side by side: active and regular shares."""
    fm = fm or formats()
    from markupsafe import escape

    row_h, label_w = 22, 250
    height = 24 + row_h * len(units)
    inner = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'aria-label="{_("Units side by side")}">'
    ]
    for i, unit in enumerate(sorted(units, key=lambda u: -(u["subtree"]["regular_share"] or 0))):
        y = 16 + i * row_h
        s = unit["subtree"]
        active, regular = s["active_share"] or 0, s["regular_share"] or 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(unit["name"][:38])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{inner * active:.1f}" height="8" class="bar-active"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 9}" width="{inner * regular:.1f}" height="8" class="bar-regular"/>')
        parts.append(
            f'<text x="{label_w + inner * max(active, regular) + 4:.1f}" y="{y + 13}">{fm.percent(regular, 0)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
