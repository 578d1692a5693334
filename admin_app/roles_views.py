"""Console pages that give and take away roles (on a unit's page and on a person's page), sign a person out
everywhere and reset their second factor. Each verb checks the actor itself; these pages only show what the
actor could do anyway."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db
from admin_app.error_words import domain_message
from admin_app.lookups import unit_or_abort
from admin_app.staff_forms import staff_page_form
from core.actors import PermissionDenied
from core.validation import clean_int, clean_text
from provisioning import roles
from provisioning.actors import actor_for_staff
from provisioning.errors import ProvisioningError
from provisioning.models import Staff, Unit
from provisioning.second_factor import reset_second_factor
from provisioning.sessions import sign_out_everywhere

bp = Blueprint("roles", __name__)


def _role_unit(raw: str | None) -> Unit | None:
    if not raw:
        return None
    unit = db().get(Unit, clean_int(raw, "unit"))
    if unit is None:
        raise ProvisioningError(f"unit {raw[:20]}: does not exist")
    return unit


def _apply(person: Staff, verb: str, role: str, unit: Unit | None) -> None:
    if verb == "grant":
        roles.grant_role(db(), signed_in_actor(), person, role, unit)
        flash(_("Role given to %(email)s.", email=person.email), "success")
    elif verb == "revoke":
        roles.revoke_role(db(), signed_in_actor(), person, role, unit)
        flash(_("Role taken away from %(email)s.", email=person.email), "success")
    else:
        abort(400)


@staff_page_form(bp, "/staff/<int:staff_id>/roles")
def staff_roles(person: Staff) -> Any:
    """Give or take away one role of this person (the unit: a unit's id, or empty for the whole province)."""
    role = clean_text(request.form.get("role"), "role", max_length=20, error=ProvisioningError)
    _apply(person, request.form.get("verb", ""), role, _role_unit(request.form.get("unit_id")))


@bp.route("/units/<int:unit_id>/roles", methods=["POST"])
@login_required
def unit_roles(unit_id: int) -> Any:
    """Give a person (by address) a role over this unit, or take it away."""
    unit = unit_or_abort(unit_id)
    try:
        address = clean_text(request.form.get("email"), "address", max_length=254, error=ProvisioningError).lower()
        role = clean_text(request.form.get("role"), "role", max_length=20, error=ProvisioningError)
        person = db().scalar(select(Staff).where(Staff.email == address))
        if person is None:
            raise ProvisioningError(f"address {address!r}: no such mailbox")
        _apply(person, request.form.get("verb", "grant"), role, unit)
    except PermissionDenied:
        abort(403)
    except ProvisioningError as exc:
        flash(domain_message(exc), "error")
        return redirect(url_for("console.unit_detail", unit_id=unit.id)), 303
    return redirect(url_for("console.unit_detail", unit_id=unit.id))


@staff_page_form(bp, "/staff/<int:staff_id>/security")
def staff_security(person: Staff) -> Any:
    """Sign a person out everywhere, or (system admins) reset their second factor."""
    actor = signed_in_actor()
    verb = request.form.get("verb", "")
    if verb == "sign_out_everywhere":
        n = sign_out_everywhere(db(), actor, person)
        flash(_("%(n)d sessions of %(email)s ended.", n=n, email=person.email), "success")
    elif verb == "reset_second_factor":
        reset_second_factor(db(), actor, actor_for_staff(person))
        flash(
            _("Second factor of %(email)s reset; they set up a new one at their next sign-in.", email=person.email),
            "success",
        )
    else:
        abort(400)
