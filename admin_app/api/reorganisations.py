"""/api/v1/reorganisations: a reorganisation plan uploaded, previewed and applied as background tasks, and the
history of plans. System administrators only (the verbs check; reading checks the same role)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from admin_app.api.core import SCHEMAS, ApiError, _json_list, actor, endpoint, found
from admin_app.api.tasks import task_json
from admin_app.context import db
from core.tabular import FileFormatError
from core.tasks import Task
from provisioning.history_models import REORGANISATION_STATUSES, Reorganisation
from provisioning.reorg import tasks as reorg_tasks
from provisioning.reorg.sheets import workbook_from_csv

PLAN_TYPES = (".xlsx", ".csv")

SCHEMAS["Reorganisation"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "filename": {"type": "string"},
        "status": {"type": "string", "enum": list(REORGANISATION_STATUSES)},
        "actor": {"type": "string"},
        "effective_on": {"type": ["string", "null"], "format": "date"},
        "created_at": {"type": "string", "format": "date-time"},
        "applied_at": {"type": ["string", "null"], "format": "date-time"},
        "preview": {
            "type": "object",
            "description": "errors (sheet, row, column, message), effective_on, tree, addresses, lists, points, "
            "roles, counts; only in the answer about one plan",
        },
        "summary": {"type": "object", "description": "what applying did (counts)"},
        "task": {"type": ["object", "null"], "description": "the plan's current task: status, phase, done, total"},
    },
}


def reorganisation_json(reorg: Reorganisation, *, with_preview: bool = True) -> dict[str, Any]:
    task = db().get(Task, reorg.task_id) if reorg.task_id else None
    out: dict[str, Any] = {
        "id": reorg.id,
        "filename": reorg.filename,
        "status": reorg.status,
        "actor": reorg.actor,
        "effective_on": reorg.effective_on.isoformat() if reorg.effective_on else None,
        "created_at": reorg.created_at.isoformat(),
        "applied_at": reorg.applied_at.isoformat() if reorg.applied_at else None,
        "summary": reorg.summary or {},
        "task": task_json(task) if task is not None else None,
    }
    if with_preview:
        out["preview"] = reorg.preview or {}
    return out


def _reader() -> None:
    if not actor().is_system_admin:
        raise ApiError(403, "forbidden", "reorganisations are for system administrators")


def _plan(reorg_id: int) -> Reorganisation:
    _reader()
    return found(db().get(Reorganisation, reorg_id), f"reorganisation {reorg_id}")


def _uploaded() -> tuple[str, bytes, tuple[str, bytes] | None]:
    """The plan as multipart field ``file`` (and optionally ``staff``, a CSV staff sheet), or as the raw body
    with its name in ``?filename=``."""
    plan = request.files.get("file")
    staff = request.files.get("staff")
    if plan is not None and plan.filename:
        extra = (staff.filename, staff.read()) if staff is not None and staff.filename else None
        if extra is not None and not extra[0].lower().endswith(".csv"):
            raise ApiError(422, "invalid", f"field 'staff': {extra[0]}: the staff sheet is a .csv file")
        return plan.filename, plan.read(), extra
    name = request.args.get("filename", "").strip()
    if request.files or request.form:
        raise ApiError(422, "invalid", "send the plan as multipart field 'file'")
    content = request.get_data(cache=False)
    if not name or not content:
        raise ApiError(
            422, "invalid", "send the plan as multipart field 'file', or as the body with ?filename=plan.xlsx"
        )
    return name, content, None


@endpoint(
    "/reorganisations",
    summary="Reorganisation plans, newest first (without their previews)",
    response=_json_list("Reorganisation"),
)
def list_reorganisations() -> Any:
    _reader()
    rows = db().scalars(select(Reorganisation).order_by(Reorganisation.id.desc()).limit(200))
    return jsonify([reorganisation_json(r, with_preview=False) for r in rows])


@endpoint(
    "/reorganisations",
    "POST",
    summary="Upload a plan (multipart 'file' XLSX/CSV and optional 'staff' CSV, or the raw body with "
    "?filename=); its preview runs as a background task",
    response="Reorganisation",
    params=[("filename", "query", "string", "the plan's file name (.xlsx or .csv) when it is sent as the body")],
    status=202,
)
def post_reorganisation() -> Any:
    name, content, staff = _uploaded()
    if not name.lower().endswith(PLAN_TYPES):
        raise ApiError(422, "invalid", f"{name}: the plan is a .xlsx or .csv file")
    if name.lower().endswith(".csv"):
        # Stored as one workbook (the units sheet and the staff sheet), as the console and the CLI store it.
        try:
            content = workbook_from_csv(content, staff[1] if staff else None)
        except FileFormatError as exc:
            raise ApiError(422, "invalid", f"{name}: {exc}") from None
        name = name.rsplit(".", 1)[0] + ".xlsx"
    elif staff is not None:
        raise ApiError(422, "invalid", "field 'staff' goes with a CSV plan; an XLSX plan carries its staff sheet")
    reorg = reorg_tasks.upload(db(), actor(), name, content)
    return jsonify(reorganisation_json(reorg))


@endpoint(
    "/reorganisations/<int:reorg_id>",
    summary="A plan: its status, preview (or errors naming sheet, row and column), summary and task progress",
    response="Reorganisation",
    params=[("reorg_id", "path", "integer", "reorganisation id")],
)
def get_reorganisation(reorg_id: int) -> Any:
    return jsonify(reorganisation_json(_plan(reorg_id)))


@endpoint(
    "/reorganisations/<int:reorg_id>/apply",
    "POST",
    summary="Apply a previewed plan without errors (all of it or nothing) as a background task",
    response="Reorganisation",
    params=[("reorg_id", "path", "integer", "reorganisation id")],
    status=202,
)
def apply_reorganisation(reorg_id: int) -> Any:
    reorg = _plan(reorg_id)
    reorg_tasks.queue_apply(db(), actor(), reorg)
    return jsonify(reorganisation_json(reorg))
