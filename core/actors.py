"""Who is acting: every operation takes an :class:`Actor` and checks it; none reads the web request.

Roles are plain strings here (the people package defines them); a scope is a unit's materialised path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

SYSTEM_ADMIN = "system_admin"


class Scoped(Protocol):
    """Anything placed in the unit tree by a materialised path ("/1/4/9/")."""

    path: str


@dataclass(frozen=True)
class TreePlace:
    """A place in the unit tree known by its path alone: for a permission check that needs nothing else of the
    unit (read as one column instead of loading the unit)."""

    path: str


class PermissionDenied(PermissionError):
    """The actor may not do this; the message names the object."""


@dataclass(frozen=True)
class Actor:
    """The acting principal with roles resolved to unit paths (None = the whole province)."""

    kind: str  # staff | local | system
    id: int | None
    name: str
    roles: frozenset[tuple[str, str | None]] = field(default_factory=frozenset)
    client_address: str = ""
    full_name: str = ""  # a mailbox's name in the directory, as pages show who is signed in

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def display_name(self) -> str:
        """Who this is, for people to read: the full name when known, else the sign-in name."""
        return self.full_name or self.name

    @property
    def is_system_admin(self) -> bool:
        return self.kind in ("local", "system") or any(r == SYSTEM_ADMIN for r, _ in self.roles)

    def has_role(self, role: str) -> bool:
        return self.is_system_admin or any(r == role for r, _ in self.roles)

    def scope_paths(self, role: str) -> list[str] | None:
        """Unit paths where ``role`` applies; None means everywhere."""
        if self.is_system_admin:
            return None
        paths = [p for r, p in self.roles if r == role]
        if any(p is None for p in paths):
            return None
        return [p for p in paths if p is not None]

    def can(self, role: str, unit: Scoped | None) -> bool:
        """May act with ``role`` on ``unit`` (or on province-wide things when unit is None)?"""
        if self.is_system_admin:
            return True
        paths = self.scope_paths(role)
        if paths is None:
            return any(r == role for r, _ in self.roles)
        if unit is None:
            return False
        return any(unit.path.startswith(p) for p in paths)

    def require(self, role: str, unit: Scoped | None, what: str) -> None:
        if not self.can(role, unit):
            raise PermissionDenied(f"{self.name} may not change {what}")

    def with_address(self, address: str) -> Actor:
        return Actor(self.kind, self.id, self.name, self.roles, address, self.full_name)


SYSTEM = Actor("system", None, "system")
