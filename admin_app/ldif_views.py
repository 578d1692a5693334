"""Console pages for bringing in another directory's accounts from an LDIF export: upload, preview, apply,
and the one-time passwords handed out once. The preview and the application run as background tasks
(:mod:`provisioning.ldif_tasks`); these pages queue them and show what the batch and its task record."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from admin_app.lookups import admin_unit_or_abort
from admin_app.upload_pages import FormRefusal, task_of, upload_page
from provisioning import ldif_tasks
from provisioning.errors import ProvisioningError
from provisioning.models import ImportBatch

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


def _batch(batch_id: int) -> ImportBatch:
    batch = db().get(ImportBatch, batch_id)
    if batch is None or not batch.filename.lower().endswith(".ldif"):
        abort(404)
    admin_unit_or_abort(batch.unit_id)
    return batch


@bp.route("/units/<int:unit_id>/import-ldif", methods=["GET", "POST"])
@login_required
def upload(unit_id: int) -> Any:
    unit = admin_unit_or_abort(unit_id)

    def take(file: FileStorage) -> ImportBatch:
        addresses = request.form.get("addresses", "primary")
        if addresses not in ("primary", "alias"):
            raise FormRefusal(_("Choose how addresses are kept."))
        return ldif_tasks.upload(db(), signed_in_actor(), unit, file.filename or "", file.read(), addresses)

    refusals = (_("Choose an LDIF file."), _("Use an .ldif file."))
    return upload_page(unit, "ldif_upload.html", "ldif.batch", (".ldif",), refusals, take)


@bp.route("/ldif-imports/<int:batch_id>")
@login_required
def batch(batch_id: int) -> Any:
    item = _batch(batch_id)
    has_passwords = bool(item.summary.get("handout"))
    return render_template(
        "ldif_batch.html", batch=item, reasons=reasons(), has_passwords=has_passwords, **task_of(item)
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
