"""Console pages that change mailboxes and units: create, lifecycle, passwords, aliases, import, export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from admin_app.error_words import domain_message
from admin_app.exports import export_accounts
from admin_app.lookups import admin_unit_or_abort, unit_or_abort
from admin_app.staff_forms import staff_page_form
from admin_app.upload_pages import task_of, upload_page
from core.actors import PermissionDenied
from core.db import utcnow
from core.validation import clean_int
from provisioning import accounts, import_tasks
from provisioning.models import ImportBatch, Staff
from provisioning.operations import ProvisioningError, StaffInput
from provisioning.units import change_mail_domain, merge_units, move_unit, rename_unit

bp = Blueprint("accounts", __name__)


@staff_page_form(bp, "/staff/<int:staff_id>/action")
def staff_action(person: Staff) -> Any:
    """One endpoint for the buttons on a mailbox's page; each verb checks the actor itself."""
    actor = signed_in_actor()
    verb = request.form.get("verb", "")
    runtime = runtime_of()
    if verb == "disable":
        accounts.disable(db(), actor, person, request.form.get("reason", ""))
        flash(_("Mailbox %(email)s disabled.", email=person.email), "success")
    elif verb == "enable":
        accounts.enable(db(), actor, person)
        flash(_("Mailbox %(email)s enabled.", email=person.email), "success")
    elif verb == "archive":
        if request.form.get("confirm") != "yes":
            raise ProvisioningError(_("Tick the box to confirm archiving."))
        accounts.archive(db(), actor, person, request.form.get("reason", ""))
        flash(_("Mailbox %(email)s archived.", email=person.email), "success")
    elif verb == "reset_password":
        password = accounts.reset_password(db(), actor, person, secret_key=runtime.secret_key)
        response = Response(render_template("password_once.html", person=person, password=password))
        response.headers["Cache-Control"] = "no-store"
        return response
    elif verb == "quota":
        accounts.set_quota(
            db(), actor, person, clean_int(request.form.get("quota_mb"), "quota", error=ProvisioningError)
        )
        flash(_("Quota saved."), "success")
    elif verb == "add_alias":
        accounts.add_alias(db(), actor, person, request.form.get("alias", ""), rules=runtime.mailbox_policy.rules)
        flash(_("Alias added."), "success")
    elif verb == "remove_alias":
        accounts.remove_alias(db(), actor, person, request.form.get("alias", ""))
        flash(_("Alias removed."), "success")
    elif verb == "edit":
        fields = {k: request.form.get(k, "") for k in ("full_name", "title", "phone")}
        if accounts.update_staff(db(), actor, person, fields):
            flash(_("Saved."), "success")
    elif verb == "move":
        target = unit_or_abort(clean_int(request.form.get("unit_id"), "unit", error=ProvisioningError))
        accounts.move_staff(db(), actor, person, target)
        flash(_("Moved to %(unit)s.", unit=target.name), "success")
    else:
        abort(400)


@bp.route("/units/<int:unit_id>/staff/new", methods=["GET", "POST"])
@login_required
def create_account(unit_id: int) -> Any:
    unit = admin_unit_or_abort(unit_id)
    error = None
    if request.method == "POST":
        try:
            person, password = accounts.create_mailbox(
                db(),
                signed_in_actor(),
                unit,
                StaffInput(
                    request.form.get("full_name", ""),
                    request.form.get("title", ""),
                    request.form.get("staff_number") or None,
                    request.form.get("phone", ""),
                    request.form.get("kind", "personal"),
                    request.form.get("local_part") or None,
                ),
                runtime_of().mailbox_policy,
            )
        except ProvisioningError as exc:
            error = domain_message(exc)
        else:
            response = Response(render_template("password_once.html", person=person, password=password))
            response.headers["Cache-Control"] = "no-store"
            return response
    return render_template("account_new.html", unit=unit, error=error, form=request.form), (422 if error else 200)


@bp.route("/units/<int:unit_id>/manage", methods=["GET", "POST"])
@login_required
def manage_unit(unit_id: int) -> Any:
    """Rename, move, merge, change domain: reorganisations, each confirmed first."""
    unit = admin_unit_or_abort(unit_id)
    error = None
    if request.method == "POST":
        verb = request.form.get("verb")
        s = runtime_of().settings
        try:
            if verb == "rename":
                rename_unit(
                    db(),
                    signed_in_actor(),
                    unit,
                    name=request.form.get("name", ""),
                    short_name=request.form.get("short_name"),
                )
                flash(_("Unit renamed."), "success")
            elif verb in ("move", "merge"):
                other = unit_or_abort(clean_int(request.form.get("target"), "target unit", error=ProvisioningError))
                if request.form.get("confirm") != "yes":
                    raise ProvisioningError(_("Tick the box to confirm."))
                if verb == "move":
                    move_unit(db(), signed_in_actor(), unit, other)
                    flash(_("Unit moved."), "success")
                else:
                    moved = merge_units(db(), signed_in_actor(), unit, other)
                    flash(_("Merged: %(n)d mailboxes moved to %(name)s.", n=moved, name=other.name), "success")
                    return redirect(url_for("console.unit_detail", unit_id=other.id))
            elif verb == "domain":
                if request.form.get("confirm") != "yes":
                    raise ProvisioningError(_("Tick the box to confirm."))
                n = change_mail_domain(
                    db(),
                    signed_in_actor(),
                    unit,
                    request.form.get("domain", ""),
                    s.mail_domain,
                    alias_days=s.reorg_alias_days,
                    rules=runtime_of().mailbox_policy.rules,
                )
                flash(_("%(n)d addresses changed; the old addresses stay as aliases.", n=n), "success")
            else:
                abort(400)
        except PermissionDenied:
            abort(403)
        except ProvisioningError as exc:
            error = domain_message(exc)
        else:
            return redirect(url_for("console.unit_detail", unit_id=unit.id))
    from provisioning.queries import visible_units

    targets = [u for u in db().scalars(visible_units(signed_in_actor())) if u.id != unit.id]
    return render_template("unit_manage.html", unit=unit, targets=targets, error=error), (422 if error else 200)


@bp.route("/staff/export.<fmt>")
@login_required
def export(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    unit = unit_or_abort(clean_int(request.args["unit"], "unit")) if request.args.get("unit") else None
    data = export_accounts(db(), signed_in_actor(), unit, fmt)
    mime = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    name = f"hop-thu-{(unit.code if unit else 'tat-ca').lower()}-{utcnow():%Y%m%d}.{fmt}"
    return Response(data, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- import ------------------------------------------------------------------------------------------
# The preview and the application run as background tasks in a worker process; these pages only queue
# them and show their progress, which lives in the database (any web worker shows the same).


@bp.route("/units/<int:unit_id>/import", methods=["GET", "POST"])
@login_required
def upload(unit_id: int) -> Any:
    unit = admin_unit_or_abort(unit_id)
    return upload_page(
        unit,
        "import_upload.html",
        "accounts.batch",
        (".csv", ".xlsx"),
        (_("Choose a CSV or XLSX file."), _("Use a .csv or .xlsx file.")),
        lambda file: import_tasks.upload(db(), signed_in_actor(), unit, file.filename or "", file.read()),
    )


def _batch(batch_id: int) -> ImportBatch:
    batch = db().get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    admin_unit_or_abort(batch.unit_id)
    return batch


@bp.route("/imports/<int:batch_id>")
@login_required
def batch(batch_id: int) -> Any:
    item = _batch(batch_id)
    return render_template("import_batch.html", batch=item, **task_of(item))


@bp.route("/imports/<int:batch_id>/apply", methods=["POST"])
@login_required
def apply_batch(batch_id: int) -> Any:
    item = _batch(batch_id)
    if item.status != "previewed" or item.summary.get("errors"):
        flash(_("Only a file without bad rows can be applied."), "error")
        return redirect(url_for("accounts.batch", batch_id=batch_id))
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm."), "error")
        return redirect(url_for("accounts.batch", batch_id=batch_id))
    import_tasks.queue(db(), signed_in_actor(), item, do_apply=True)
    return redirect(url_for("accounts.batch", batch_id=batch_id))
