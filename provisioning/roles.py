"""Roles: who may grant and revoke which role where, and the rule that delegation cannot climb.

A system admin grants and revokes every role. A unit IT admin grants and revokes secretary and unit admin
inside their own subtree (the role's unit and the person both), never system admin or auditor, and never
takes away the unit admin role of a peer whose scope equals or contains their own. A unit admin cannot
change the mailbox of someone holding any role with a scope equal to or wider than theirs (a system admin,
a province-wide secretary, the admin of their own or a parent unit): only a system admin can.

Roles take effect at once: the actor is resolved from the database on every request, and a disabled or
archived mailbox resolves to no actor at all.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from provisioning.errors import ProvisioningError, flush_or_refuse
from provisioning.models import AccountStatus, Role, RoleGrant, Staff, Unit

# What a unit admin may hand on inside their subtree.
DELEGABLE = frozenset({Role.SECRETARY.value, Role.UNIT_ADMIN.value})
ROLE_LABELS = {
    Role.SYSTEM_ADMIN.value: "system admin",
    Role.UNIT_ADMIN.value: "unit IT admin",
    Role.SECRETARY.value: "secretary",
    Role.AUDITOR.value: "auditor",
}


def _scope(grant: RoleGrant) -> str:
    return grant.unit.path if grant.unit is not None else "/"


def _admin_paths(actor: Actor, within: Unit | None = None) -> list[str]:
    """The actor's unit-admin scopes (those covering ``within`` when given)."""
    paths = [p for r, p in actor.roles if r == Role.UNIT_ADMIN and p is not None]
    if within is not None:
        covering = [p for p in paths if within.path.startswith(p)]
        return covering or paths
    return paths


def holds_equal_or_wider(actor: Actor, staff: Staff) -> bool:
    """True when ``staff`` holds a role whose scope equals or contains the actor's own unit-admin scope:
    acting on their mailbox would let the actor climb. Oneself is not protected from oneself."""
    if actor.is_system_admin or (actor.kind == "staff" and actor.id == staff.id):
        return False
    paths = _admin_paths(actor, staff.unit)
    return any(own.startswith(_scope(grant)) for grant in staff.roles for own in paths)


def require_no_climbing(actor: Actor, staff: Staff) -> None:
    """Refuse a unit admin's change to the mailbox of someone with an equal or wider role."""
    if holds_equal_or_wider(actor, staff):
        raise PermissionDenied(
            f"{actor.name} may not change mailbox {staff.email}: it belongs to a holder of a role as wide as "
            "theirs or wider; only a system admin can"
        )


def require_no_climbing_in(session: Session, actor: Actor, unit: Unit, what: str) -> None:
    """The same for a unit-wide change (move, merge, new domain): no protected mailbox in ``unit``'s subtree."""
    if actor.is_system_admin:
        return
    holders = session.scalars(
        select(Staff)
        .join(Staff.unit)
        .join(RoleGrant, RoleGrant.staff_id == Staff.id)
        .where(Unit.path.startswith(unit.path))
    ).unique()
    for person in holders:
        if holds_equal_or_wider(actor, person):
            raise PermissionDenied(
                f"{actor.name} may not change {what}: mailbox {person.email} in it belongs to a holder of a role "
                "as wide as theirs or wider; only a system admin can"
            )


def can_grant(actor: Actor, role: str, unit: Unit | None, staff: Staff) -> bool:
    """May ``actor`` give (or take away) ``role`` over ``unit`` to ``staff``?"""
    if actor.is_system_admin:
        return True
    if role not in DELEGABLE or unit is None:
        return False
    return actor.can(Role.UNIT_ADMIN, unit) and actor.can(Role.UNIT_ADMIN, staff.unit)


def _check_role(role: str, unit: Unit | None) -> None:
    if role not in set(Role):
        raise ProvisioningError(f"role {role!r}: must be one of {', '.join(Role)}")
    if role == Role.UNIT_ADMIN and unit is None:
        raise ProvisioningError("role unit_admin: choose the unit it administers")
    if role == Role.SYSTEM_ADMIN and unit is not None:
        raise ProvisioningError("role system_admin: it covers the whole province; give no unit")


def _where(role: str, unit: Unit | None) -> str:
    return f"{ROLE_LABELS.get(role, role)}" + (f" of unit {unit.code}" if unit is not None else " (whole province)")


def grant_role(session: Session, actor: Actor, staff: Staff, role: str, unit: Unit | None) -> RoleGrant:
    """Give ``staff`` a role, limited to ``unit``'s subtree when given (see the module docstring for who may)."""
    _check_role(role, unit)
    if not can_grant(actor, role, unit, staff):
        raise PermissionDenied(f"{actor.name} may not grant {_where(role, unit)} to {staff.email}")
    if staff.status != AccountStatus.ACTIVE:
        raise ProvisioningError(f"{staff.email} is {staff.status}; enable the mailbox before giving it a role")
    grant = RoleGrant(staff=staff, role=role, unit=unit)
    session.add(grant)
    flush_or_refuse(session, f"{staff.email} already holds {_where(role, unit)}")
    # Seen by the admins of the unit the role covers (of the holder's own unit for a province-wide role).
    held = {"role": role, "unit_id": unit.id if unit else None}
    changelog.record_of(session, actor, "role.grant", staff, after=held, unit_id=held["unit_id"])
    return grant


def find_grant(session: Session, staff: Staff, role: str, unit: Unit | None) -> RoleGrant | None:
    return next((g for g in staff.roles if g.role == role and g.unit_id == (unit.id if unit else None)), None)


def revoke_role(session: Session, actor: Actor, staff: Staff, role: str, unit: Unit | None) -> None:
    """Take ``role`` over ``unit`` away from ``staff``. Takes effect at the holder's next request."""
    _check_role(role, unit)
    grant = find_grant(session, staff, role, unit)
    if grant is None:
        raise ProvisioningError(f"{staff.email} does not hold {_where(role, unit)}")
    if not can_grant(actor, role, unit, staff):
        raise PermissionDenied(f"{actor.name} may not take {_where(role, unit)} away from {staff.email}")
    if (
        not actor.is_system_admin
        and role == Role.UNIT_ADMIN
        and any(own.startswith(_scope(grant)) for own in _admin_paths(actor))
    ):
        raise PermissionDenied(
            f"{actor.name} may not take {_where(role, unit)} away from {staff.email}: it is as wide as their own"
        )
    staff.roles.remove(grant)
    session.flush()
    held = {"role": role, "unit_id": unit.id if unit else None}
    changelog.record_of(session, actor, "role.revoke", staff, before=held, unit_id=held["unit_id"])


def visible_grants(actor: Actor, unit: Unit | None = None) -> Select[tuple[RoleGrant]]:
    """Role grants the actor may see: all for a system admin, else those of people or units in their subtree."""
    stmt = (
        select(RoleGrant)
        .join(RoleGrant.staff)
        .join(Unit, Unit.id == Staff.unit_id)
        .order_by(RoleGrant.role, Staff.email, RoleGrant.id)
    )
    if unit is not None:
        scoped = select(Unit.id).where(Unit.path.startswith(unit.path))
        stmt = stmt.where(or_(Unit.path.startswith(unit.path), RoleGrant.unit_id.in_(scoped)))
    if actor.is_system_admin:
        return stmt
    paths = _admin_paths(actor)
    if not paths:
        return stmt.where(False)  # type: ignore[arg-type]
    return stmt.where(or_(*[Unit.path.startswith(p) for p in paths]))
