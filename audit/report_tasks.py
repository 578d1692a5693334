"""Generating the monthly report as a background task: for a large province the build takes seconds, so the
console and the API queue it and show its progress instead of holding a web worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from audit.permissions import can_read_reports
from audit.report import Definitions, ReportError, generate, parse_month
from core.actors import Actor, PermissionDenied
from core.tasks import Task, TaskContext, TaskFailed, submit

GENERATE = "report.generate"


def queue_report(session: Session, actor: Actor, month: str) -> Task:
    """Queue a new version of ``month``'s report (YYYY-MM); refused with the reason if the month is not one."""
    if not can_read_reports(actor):
        raise PermissionDenied(f"{actor.name} may not generate the usage report")
    return submit(session, actor, GENERATE, {"month": parse_month(month)}, total=1)


def run(ctx: TaskContext, definitions: Definitions) -> dict[str, Any]:
    """The handler: build and store the report in one unit of work; its id is the task's result."""
    month = str(ctx.params.get("month", ""))
    ctx.progress(0, 1, "report")
    try:
        with ctx.boundary.unit(ctx.origin) as session:
            report = generate(session, ctx.actor, month, definitions)
            result = {"report_id": report.id, "month": report.month, "version": report.version}
    except (ReportError, PermissionDenied) as exc:
        raise TaskFailed(f"Không tạo được báo cáo tháng {month}: {exc}") from None
    ctx.progress(1, 1, "report")
    return result
