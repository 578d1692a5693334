"""Actors for the people of the directory: staff with their role grants, the break-glass admin, the CLI."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.actors import Actor
from provisioning.models import LocalAdmin, Role, Staff


def actor_for_staff(staff: Staff, client_address: str = "") -> Actor:
    roles = frozenset((g.role, g.unit.path if g.unit is not None else None) for g in staff.roles)
    return Actor("staff", staff.id, staff.email, roles, client_address, staff.full_name)


def actor_for_local_admin(admin: LocalAdmin, client_address: str = "") -> Actor:
    return Actor("local", admin.id, admin.username, frozenset({(Role.SYSTEM_ADMIN.value, None)}), client_address)


def cli_actor(session: Session, name: str) -> Actor:
    """The actor for a CLI command: the operating-system user at the console acts as system admin."""
    del session
    return Actor("system", None, f"cli:{name}")
