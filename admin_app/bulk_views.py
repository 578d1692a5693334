"""Many mailboxes at once from the staff list: preview exactly what will change, confirm, follow the task,
then take the credential slips (once)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from admin_app.error_words import domain_message
from admin_app.filters import datetime_filter, status_label
from audit.person_activity import last_seen_many
from core.actors import PermissionDenied
from core.tabular import write_csv
from core.tasks import Task, TaskFailed
from core.validation import InputError, clean_int
from provisioning import bulk
from provisioning.errors import ProvisioningError
from provisioning.models import Staff, Unit
from provisioning.queries import visible_staff
from provisioning.slips import CredentialSlip

bp = Blueprint("bulk", __name__)


def _chosen() -> tuple[list[int], str, str, Unit | None]:
    try:
        ids = [clean_int(v, "staff") for v in request.form.getlist("staff_id")[: bulk.MAX_PEOPLE + 1]]
        unit_id = clean_int(request.form["unit_id"], "unit") if request.form.get("unit_id") else None
    except InputError:
        abort(400)
    unit = db().get(Unit, unit_id) if unit_id else None
    return ids, request.form.get("action", ""), request.form.get("reason", "")[:500], unit


@bp.app_template_global("bulk_action_label")
def bulk_action_label(action: str) -> str:
    return {
        "disable": _("Disable"),
        "enable": _("Enable"),
        "reset_password": _("Reset password"),
        "move": _("Move"),
        "export": _("Export (CSV)"),
    }.get(action, action)


def _export(ids: list[int]) -> Any:
    """The chosen mailboxes as a CSV (formula-safe cells), only those the actor may read."""
    actor = signed_in_actor()
    if not ids:
        abort(400)
    rows = db().scalars(visible_staff(actor).where(Staff.id.in_(ids[: bulk.MAX_PEOPLE]))).all()
    seen = last_seen_many(db(), [p.id for p in rows])
    header = [_("Full name"), _("Email address"), _("Unit"), _("Title"), _("Status"), _("Last sign-in")]
    table = [
        # the status in the console's words and the time as the pages write it (dd/mm/yyyy hh:mm, the province's)
        [p.full_name, p.email, p.unit.name, p.title, status_label(p.status), datetime_filter(seen.get(p.id))]
        for p in rows
    ]
    disposition = "attachment; filename=hop-thu-da-chon.csv"
    return Response(write_csv(header, table), mimetype="text/csv", headers={"Content-Disposition": disposition})


@bp.route("/staff/bulk", methods=["POST"])
@login_required
def preview() -> Any:
    ids, action, reason, unit = _chosen()
    if action == "export":
        return _export(ids)
    try:
        rows = bulk.preview(db(), signed_in_actor(), ids, action, reason=reason, unit=unit)
    except PermissionDenied:
        abort(403)
    except ProvisioningError as exc:
        return render_template("bulk_preview.html", error=domain_message(exc), rows=[], action=action), 422
    return render_template(
        "bulk_preview.html",
        rows=rows,
        action=action,
        reason=reason,
        unit=unit,
        changing=sum(bool(r.change) for r in rows),
    )


@bp.route("/staff/bulk/apply", methods=["POST"])
@login_required
def apply() -> Any:
    ids, action, reason, unit = _chosen()
    if request.form.get("confirm") != "yes":
        abort(400)
    try:
        task = bulk.queue(db(), signed_in_actor(), ids, action, reason=reason, unit=unit)
    except PermissionDenied:
        abort(403)
    except ProvisioningError as exc:
        return render_template("bulk_preview.html", error=domain_message(exc), rows=[], action=action), 422
    return redirect(url_for("tasks.task_page", task_id=task.id))


@bp.route("/staff/bulk/<int:task_id>")
@login_required
def done(task_id: int) -> Any:
    actor = signed_in_actor()
    task = db().get(Task, task_id)
    if task is None or task.kind != "staff.bulk" or not (actor.is_system_admin or task.actor.get("name") == actor.name):
        abort(404)
    slips = [db().get(CredentialSlip, i) for i in task.result.get("slips", [])]
    return render_template("bulk_done.html", task=task, slips=[s for s in slips if s is not None])


@bp.route("/slips/<int:slip_id>.pdf", methods=["POST"])
@login_required
def take(slip_id: int) -> Any:
    """POST, not GET: taking the slips deletes them, so no prefetch or crawler may do it."""
    try:
        slip, pdf = bulk.take_slip(db(), signed_in_actor(), slip_id, runtime_of().secret_key)
    except PermissionDenied:
        abort(403)
    except TaskFailed as exc:
        return render_template("error.html", message=domain_message(exc), code=410, title=_("Already taken")), 410
    name = f"phieu-tai-khoan-{slip.id}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"},
    )
