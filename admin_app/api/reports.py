"""/api/v1/reports: list, generate and read the monthly usage report, and download it as XLSX, CSV or PDF; its
inactive list a page at a time or as CSV/XLSX."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import select

from admin_app.api.core import SCHEMAS, ApiError, Param, _body, _json_list, actor, endpoint, found
from admin_app.api.tasks import task_json
from admin_app.context import db
from admin_app.reports_views import export_bytes
from audit import report_tasks
from audit.exports import FORMATS, TABLE_FORMATS, export_name, inactive_export
from audit.mailbox_figures import inactive_page
from audit.models import MonthlyReport
from audit.permissions import can_read_reports
from audit.report import ReportError

SCHEMAS.update(
    {
        "ReportSummary": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "month": {"type": "string"},
                "version": {"type": "integer"},
                "created_at": {"type": "string", "format": "date-time"},
                "province": {"type": "object"},
            },
        },
        "Report": {"type": "object", "description": "The whole snapshot: definitions, province, units, channels…"},
        "ReportInput": {
            "type": "object",
            "required": ["month"],
            "additionalProperties": False,
            "properties": {"month": {"type": "string", "maxLength": 7, "description": "YYYY-MM"}},
        },
    }
)


def _reader() -> None:
    if not can_read_reports(actor()):
        raise ApiError(403, "forbidden", "reports are for auditors and system administrators")


def _summary(report: MonthlyReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "month": report.month,
        "version": report.version,
        "created_at": report.created_at.isoformat(),
        "province": report.data.get("province"),
    }


@endpoint("/reports", summary="Stored monthly reports, newest first", response=_json_list("ReportSummary"))
def list_reports() -> Any:
    _reader()
    rows = db().scalars(
        select(MonthlyReport).order_by(MonthlyReport.month.desc(), MonthlyReport.version.desc()).limit(200)
    )
    return jsonify([_summary(r) for r in rows])


@endpoint(
    "/reports",
    "POST",
    summary="Generate a month's report (a new version) as a background task; poll the task for its id",
    response="Task",
    body="ReportInput",
    status=202,
)
def create_report() -> Any:
    _reader()
    data = _body()
    try:
        task = report_tasks.queue_report(db(), actor(), str(data.get("month") or ""))
    except ReportError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    return jsonify(task_json(task))


def _report(report_id: int) -> MonthlyReport:
    """The report, for a caller who may read reports (403 otherwise)."""
    _reader()
    return found(db().get(MonthlyReport, report_id), f"report {report_id}")


@endpoint("/reports/<int:report_id>", summary="One report with all its figures", response="Report")
def get_report(report_id: int) -> Any:
    report = _report(report_id)
    return jsonify({**_summary(report), "data": report.data})


@endpoint(
    "/reports/<int:report_id>/export.<fmt>",
    summary="The report as xlsx, csv or pdf",
    response="file:" + ",".join(dict.fromkeys(m.split(";")[0] for m in FORMATS.values())),
    params=[("fmt", "path", {"type": "string", "enum": sorted(FORMATS)}, "the file format")],
)
def export_report(report_id: int, fmt: str) -> Any:
    report = _report(report_id)
    if fmt not in FORMATS:
        raise ApiError(404, "not_found", f"format {fmt!r}: use xlsx, csv or pdf")
    return Response(
        export_bytes(report, fmt),
        mimetype=FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename={export_name(report.month, report.version, fmt)}"},
    )


SCHEMAS["InactivePage"] = {
    "type": "object",
    "properties": {
        "total": {"type": "integer"},
        "page": {"type": "integer"},
        "pages": {"type": "integer"},
        "unit_id": {"type": ["integer", "null"]},
        "mailboxes": {"type": "array", "items": {"type": "object"}, "description": "email, name, unit, unit_code"},
    },
}
INACTIVE_UNIT: Param = ("unit", "query", "integer", "a unit id of the report: that unit and its subunits only")


def _inactive_unit(report: MonthlyReport) -> int | None:
    raw = request.args.get("unit")
    if not raw:
        return None
    unit_id = int(raw)  # bounds checked by the endpoint's parameters
    if unit_id not in {u["id"] for u in report.data["units"]}:
        raise ApiError(404, "not_found", f"unit {unit_id} is not in report {report.id}")
    return unit_id


@endpoint(
    "/reports/<int:report_id>/inactive",
    summary="The report's counted mailboxes with no activity, a page at a time, optionally of one unit's subtree",
    response="InactivePage",
    params=[INACTIVE_UNIT, ("page", "query", {"type": "integer", "minimum": 1, "maximum": 10**6}, "from 1")],
)
def report_inactive(report_id: int) -> Any:
    report = _report(report_id)
    page = inactive_page(report.data, _inactive_unit(report), int(request.args.get("page") or 1))
    return jsonify(
        {"total": page.total, "page": page.page, "pages": page.pages, "unit_id": page.unit_id, "mailboxes": page.rows}
    )


@endpoint(
    "/reports/<int:report_id>/inactive.<fmt>",
    summary="The report's counted mailboxes with no activity as csv or xlsx, optionally of one unit's subtree",
    response="file:" + ",".join(FORMATS[f].split(";")[0] for f in TABLE_FORMATS),
    params=[INACTIVE_UNIT, ("fmt", "path", {"type": "string", "enum": list(TABLE_FORMATS)}, "the file format")],
)
def export_inactive(report_id: int, fmt: str) -> Any:
    report = _report(report_id)
    if fmt not in TABLE_FORMATS:
        raise ApiError(404, "not_found", f"format {fmt!r}: use csv or xlsx")
    unit_id = _inactive_unit(report)
    name = export_name(report.month, report.version, fmt, "-chua-su-dung" + (f"-{unit_id}" if unit_id else ""))
    return Response(
        inactive_export(report.data, fmt, unit_id),
        mimetype=FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
