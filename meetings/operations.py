"""The verbs on bridge points (and, later, meetings). Each takes the actor and records an audit entry."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetings.models import BridgePoint
from provisioning import trail
from provisioning.actors import Actor, PermissionDenied
from provisioning.models import Role, Unit
from provisioning.names import clean_name


class MeetingsError(ValueError):
    """A change to bridge points or meetings was refused; the message names the field or object."""


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
    if not actor.can(Role.UNIT_ADMIN, unit):
        raise PermissionDenied(f"{actor.name} may not add bridge points to unit {unit.name}")
    name = clean_name(name)
    if not name:
        raise MeetingsError("bridge point name: must not be empty")
    if capacity < 0:
        raise MeetingsError(f"bridge point {name}: capacity must not be negative")
    point = BridgePoint(
        name=name,
        unit=unit,
        location=location.strip(),
        capacity=capacity,
        contact_email=contact_email.strip().lower(),
        equipment=equipment.strip(),
    )
    session.add(point)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise MeetingsError(f"bridge point name {name!r} is taken") from None
    trail.record(
        session,
        actor,
        "bridge_point.create",
        "bridge_point",
        point.id,
        target_label=name,
        unit_id=unit.id,
        after={"name": name, "unit_id": unit.id, "location": point.location, "capacity": capacity},
    )
    return point
