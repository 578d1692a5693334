"""Bridge points (điểm cầu): register one, change its details or take it out of service, and the named groups
("all district points", a unit's subtree) a booking can invite at once."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from meetings.errors import MeetingsError
from meetings.models import BridgePoint
from meetings.permissions import can_manage_points
from provisioning.models import Unit, UnitKind
from provisioning.names import clean_name

EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")

POINT_GROUPS = {
    "district": "all district points",
    "department": "all department points",
    "commune": "all commune points",
    "province": "province-level points",
}


def _point_name(value: str) -> str:
    name = clean_name(value)
    if not name:
        raise MeetingsError("bridge point name: must not be empty")
    return name


def _contact_mailbox(point_name: str, value: str) -> str:
    """The contact mailbox, lower-cased; empty is allowed (the secretary passes the link on)."""
    address = value.strip().lower()
    if address and not EMAIL.match(address):
        raise MeetingsError(f"bridge point {point_name}: contact mailbox {address!r} is not an email address")
    return address


def create_bridge_point(
    session: Session,
    actor: Actor,
    *,
    name: str,
    unit: Unit,
    location: str = "",
    capacity: int = 0,
    contact_email: str = "",
    equipment: str = "",
) -> BridgePoint:
    """Register a bridge point (điểm cầu) of ``unit``. Unit admins of that unit and system admins may."""
    if not can_manage_points(actor, unit):
        raise PermissionDenied(f"{actor.name} may not add bridge points to unit {unit.name}")
    name = _point_name(name)
    if capacity < 0:
        raise MeetingsError(f"bridge point {name}: capacity must not be negative")
    contact_email = _contact_mailbox(name, contact_email)
    point = BridgePoint(
        name=name,
        unit=unit,
        location=location.strip(),
        capacity=capacity,
        contact_email=contact_email,
        equipment=equipment.strip(),
    )
    try:
        with session.begin_nested():  # opened before the add: a refused insert leaves the transaction usable
            session.add(point)
            session.flush()
    except IntegrityError:
        raise MeetingsError(f"bridge point name {name!r} is taken") from None
    changelog.record_of(
        session,
        actor,
        "bridge_point.create",
        point,
        after={"name": name, "unit_id": unit.id, "location": point.location, "capacity": capacity},
    )
    return point


def update_bridge_point(session: Session, actor: Actor, point: BridgePoint, **changes: object) -> BridgePoint:
    """Change a point's details or active flag (name, location, capacity, contact_email, equipment, is_active)."""
    if not can_manage_points(actor, point.unit):
        raise PermissionDenied(f"{actor.name} may not change bridge point {point.name}")
    allowed = {"name", "location", "capacity", "contact_email", "equipment", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise MeetingsError(f"bridge point: unknown field {sorted(unknown)[0]!r}")
    before = {k: getattr(point, k) for k in changes}
    clean: dict[str, object] = {}
    for key, value in changes.items():
        if key == "name":
            value = _point_name(str(value))
        if key == "contact_email":
            value = _contact_mailbox(point.name, str(value))
        if key == "capacity" and (not isinstance(value, int) or value < 0):
            raise MeetingsError(f"bridge point {point.name}: capacity must be a whole number ≥ 0")
        clean[key] = value
    new_name = clean.get("name", point.name)
    try:
        with session.begin_nested():
            for key, value in clean.items():
                setattr(point, key, value)
            session.flush()
    except IntegrityError:
        raise MeetingsError(f"bridge point name {new_name!r} is taken") from None
    changelog.record_of(
        session, actor, "bridge_point.update", point, before=before, after={k: getattr(point, k) for k in changes}
    )
    return point


def points_of_group(session: Session, group: str) -> list[BridgePoint]:
    """Active points of a group: a unit kind (``district`` = all district points) or ``unit:<code>`` (its subtree)."""
    query = select(BridgePoint).join(Unit).where(BridgePoint.is_active).order_by(BridgePoint.name)
    if group.startswith("unit:"):
        unit = session.scalar(select(Unit).where(Unit.code == group[5:]))
        if unit is None:
            raise MeetingsError(f"point group: no unit with code {group[5:]!r}")
        query = query.where(Unit.path.startswith(unit.path))
    elif group == "province":
        query = query.where(Unit.kind.in_([UnitKind.PROVINCE, UnitKind.OFFICE]))
    elif group in POINT_GROUPS:
        query = query.where(Unit.kind == group)
    else:
        raise MeetingsError(f"point group: unknown group {group!r}")
    return list(session.scalars(query))
