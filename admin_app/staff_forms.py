"""The forms a mailbox's page posts (its actions, its roles, its sessions and second factor): one way to find
the person, to answer a refusal and to come back to the page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for

from admin_app.auth import login_required, signed_in_actor
from admin_app.error_words import domain_message
from admin_app.lookups import staff_or_abort
from admin_app.views import staff_page_context
from core.actors import PermissionDenied
from provisioning.errors import ProvisioningError
from provisioning.models import Staff


def staff_page_form(bp: Blueprint, rule: str) -> Callable[[Callable[[Staff], Any]], Callable[..., Any]]:
    """Register ``view(person)`` as the POST endpoint ``rule`` (holding ``<int:staff_id>``) of a form on the person's
    page, for a signed-in user: the person as the page finds them (403, 404); an operation's refusal is 403 when
    outside the actor's rights and the page again with the reason (422) otherwise; then the view's own answer, or
    the page once more (its flashed message says what was done)."""

    def decorator(view: Callable[[Staff], Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(staff_id: int) -> Any:
            person = staff_or_abort(staff_id)
            try:
                answer = view(person)
            except PermissionDenied:
                abort(403)
            except ProvisioningError as exc:
                context = staff_page_context(signed_in_actor(), person)
                return render_template("staff_detail.html", person=person, error=domain_message(exc), **context), 422
            return answer if answer is not None else redirect(url_for("console.staff_detail", staff_id=person.id))

        bp.add_url_rule(rule, view.__name__, login_required(wrapped), methods=["POST"])
        return wrapped

    return decorator
