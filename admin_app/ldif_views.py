"""Console pages for bringing in another directory's accounts from an LDIF export: upload, preview, apply,
and the one-time passwords handed out once. The preview and the application run as background tasks
(:mod:`provisioning.ldif_tasks`); these pages queue them and show what the batch and its task record."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from admin_app.error_words import domain_message
from core.actors import PermissionDenied
from core.tasks import Task
from provisioning import ldif_tasks
from provisioning.errors import ProvisioningError
from provisioning.models import ImportBatch, Role, Unit
from provisioning.queries import get_unit_for

bp = Blueprint("ldif", __name__)


def reasons() -> dict[str, str]:
    """Why an entry is not taken, by the planner's code (:class:`provisioning.ldif_plan.Refusal`)."""
    return {
        "unreadable": _("Line cannot be read"),
        "not_person": _("Not a person"),
        "no_mail": _("No mail address"),
        "bad_address": _("Mail address cannot be used"),
        "duplicate": _("Appears twice in the file"),
        "outside_domain": _("Address outside the allowed mail domains"),
        "bad_name": _("Name cannot be used"),
        "bad_staff_number": _("Staff number cannot be used"),
        "address_taken": _("Address in use or once used"),
        "staff_number_taken": _("Staff number belongs to someone else"),
        "reserved": _("Reserved address"),
    }


def _admin_unit(unit_id: int) -> Unit:
    try:
        unit = get_unit_for(db(), signed_in_actor(), unit_id)
    except PermissionDenied:
        abort(403)
    if unit is None:
        abort(404)
    if not signed_in_actor().can(Role.UNIT_ADMIN, unit):
        abort(403)
    return unit


def _batch(batch_id: int) -> ImportBatch:
    batch = db().get(ImportBatch, batch_id)
    if batch is None or not batch.filename.lower().endswith(".ldif"):
        abort(404)
    _admin_unit(batch.unit_id)
    return batch


@bp.route("/units/<int:unit_id>/import-ldif", methods=["GET", "POST"])
@login_required
def upload(unit_id: int) -> Any:
    unit = _admin_unit(unit_id)
    if request.method == "POST":
        file = request.files.get("file")
        addresses = request.form.get("addresses", "primary")
        if file is None or not file.filename:
            return render_template("ldif_upload.html", unit=unit, error=_("Choose an LDIF file.")), 422
        if not file.filename.lower().endswith(".ldif"):
            return render_template("ldif_upload.html", unit=unit, error=_("Use an .ldif file.")), 422
        if addresses not in ("primary", "alias"):
            return render_template("ldif_upload.html", unit=unit, error=_("Choose how addresses are kept.")), 422
        try:
            batch = ldif_tasks.upload(db(), signed_in_actor(), unit, file.filename, file.read(), addresses)
        except ProvisioningError as exc:
            return render_template("ldif_upload.html", unit=unit, error=domain_message(exc)), 422
        return redirect(url_for("ldif.batch", batch_id=batch.id))
    return render_template("ldif_upload.html", unit=unit, error=None)


@bp.route("/ldif-imports/<int:batch_id>")
@login_required
def batch(batch_id: int) -> Any:
    item = _batch(batch_id)
    task = db().get(Task, item.task_id) if item.task_id else None
    is_running = task is not None and not task.is_finished
    return render_template(
        "ldif_batch.html",
        batch=item,
        task=task,
        is_running=is_running,
        reasons=reasons(),
        has_passwords=bool(item.summary.get("handout")),
    )


@bp.route("/ldif-imports/<int:batch_id>/apply", methods=["POST"])
@login_required
def apply_batch(batch_id: int) -> Any:
    item = _batch(batch_id)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm."), "error")
        return redirect(url_for("ldif.batch", batch_id=batch_id))
    try:
        days = runtime_of().settings.reorg_alias_days
        ldif_tasks.queue(db(), signed_in_actor(), item, do_apply=True, alias_days=days)
    except ProvisioningError:
        flash(_("Only a previewed file without unreadable lines can be applied."), "error")
    return redirect(url_for("ldif.batch", batch_id=batch_id))


@bp.route("/ldif-imports/<int:batch_id>/passwords", methods=["POST"])
@login_required
def passwords(batch_id: int) -> Any:
    item = _batch(batch_id)
    pairs = ldif_tasks.take_passwords(db(), signed_in_actor(), item, runtime_of().secret_key)
    if not pairs:
        flash(_("The one-time passwords of this import have been handed out already."), "error")
        return redirect(url_for("ldif.batch", batch_id=batch_id))
    return render_template("ldif_passwords.html", batch=item, pairs=pairs)
