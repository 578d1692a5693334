"""/api/v1/reports: list, generate and read the monthly usage report, and download it as XLSX, CSV or PDF."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from sqlalchemy import select

from admin_app.api.core import SCHEMAS, ApiError, _body, _json_list, actor, endpoint
from admin_app.api.tasks import task_json
from admin_app.context import db
from admin_app.reports_views import export_bytes
from audit import report_tasks
from audit.exports import FORMATS, export_name
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
        "ReportInput": {"type": "object", "required": ["month"], "properties": {"month": {"type": "string"}}},
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
)
def create_report() -> Any:
    _reader()
    data = _body()
    try:
        task = report_tasks.queue_report(db(), actor(), str(data.get("month") or ""))
    except ReportError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    response = jsonify(task_json(task))
    response.status_code = 202
    return response


def _report(report_id: int) -> MonthlyReport:
    report = db().get(MonthlyReport, report_id)
    if report is None:
        raise ApiError(404, "not_found", f"report {report_id} does not exist")
    return report


@endpoint(
    "/reports/<int:report_id>",
    summary="One report with all its figures",
    response="Report",
    params=[("report_id", "path", "integer", "report id")],
)
def get_report(report_id: int) -> Any:
    _reader()
    report = _report(report_id)
    return jsonify({**_summary(report), "data": report.data})


@endpoint(
    "/reports/<int:report_id>/export.<fmt>",
    summary="The report as xlsx, csv or pdf",
    response="Document",
    params=[("report_id", "path", "integer", "report id"), ("fmt", "path", "string", "xlsx | csv | pdf")],
)
def export_report(report_id: int, fmt: str) -> Any:
    _reader()
    if fmt not in FORMATS:
        raise ApiError(404, "not_found", f"format {fmt!r}: use xlsx, csv or pdf")
    report = _report(report_id)
    return Response(
        export_bytes(report, fmt),
        mimetype=FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename={export_name(report.month, report.version, fmt)}"},
    )
