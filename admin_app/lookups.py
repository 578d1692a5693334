"""The objects a console page is about, as the signed-in actor may see them: the page answers 403 when the object
lies outside the actor's scope and 404 when there is no such object, the same way on every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort
from sqlalchemy.orm import Session

from admin_app.auth import signed_in_actor
from admin_app.context import db
from core.actors import Actor, PermissionDenied
from provisioning.models import Role, Staff, Unit
from provisioning.queries import get_staff_for, get_unit_for

T = TypeVar("T")


def visible_or_abort(find: Callable[[Session, Actor, int], T | None], object_id: int) -> T:
    """``find(session, actor, id)`` for the signed-in actor, or abort: 403 if it refuses, 404 if it finds nothing."""
    try:
        found = find(db(), signed_in_actor(), object_id)
    except PermissionDenied:
        abort(403)
    if found is None:
        abort(404)
    return found


def staff_or_abort(staff_id: int) -> Staff:
    return visible_or_abort(get_staff_for, staff_id)


def unit_or_abort(unit_id: int) -> Unit:
    return visible_or_abort(get_unit_for, unit_id)


def admin_unit_or_abort(unit_id: int) -> Unit:
    """A unit the signed-in actor administers (403 for one they only read)."""
    unit = unit_or_abort(unit_id)
    if not signed_in_actor().can(Role.UNIT_ADMIN, unit):
        abort(403)
    return unit
