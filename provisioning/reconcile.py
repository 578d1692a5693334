"""Compare the database with the directory and report (and, if asked, repair) every drift.

The database is the source of truth. A drift is an entry missing from the directory, an entry the
directory has that the database does not (a mailbox or unit created behind our back), or an attribute
whose value differs (changed with ldapmodify, say). Repairs go through the ordinary directory jobs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from provisioning import sync
from provisioning.directory import Directory
from provisioning.entries import staff_attributes, staff_dn, unit_attributes, unit_dn
from provisioning.models import Staff, Unit


@dataclass(frozen=True)
class Drift:
    kind: str  # missing | extra | differs
    dn: str
    object: str  # "staff 12", "unit 3", or "" for an extra entry
    attribute: str = ""
    expected: tuple[str, ...] = ()
    actual: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "differs":
            return f"differs  {self.dn}: {self.attribute} is {list(self.actual)}, should be {list(self.expected)}"
        return f"{self.kind:8} {self.dn}"


def _norm(values: list[str]) -> tuple[str, ...]:
    return tuple(sorted(values))


def find_drift(session: Session, directory: Directory, base_dn: str) -> list[Drift]:
    """Every difference between the database and the directory, units first, then mailboxes."""
    expected: dict[str, tuple[str, dict[str, list[str]]]] = {}
    for unit in session.scalars(select(Unit).where(Unit.ended_on.is_(None)).order_by(Unit.path)):
        if unit.parent is not None:
            expected[unit_dn(unit, base_dn).lower()] = (f"unit {unit.id}", unit_attributes(unit))
    for staff in session.scalars(select(Staff).where(Staff.removed_from_directory_at.is_(None))):
        attrs = staff_attributes(staff)
        expected[staff_dn(staff, base_dn).lower()] = (f"staff {staff.id}", attrs)

    wanted_attrs = sorted({name for _, attrs in expected.values() for name in attrs} | {"objectClass"})
    actual: dict[str, tuple[str, dict[str, list[str]]]] = {}
    for dn, attrs in directory.search(base_dn, "(|(objectClass=congvuMailbox)(objectClass=congvuUnit))", wanted_attrs):
        actual[dn.lower()] = (dn, attrs)

    drifts: list[Drift] = []
    for key, (label, attrs) in expected.items():
        if key not in actual:
            drifts.append(Drift("missing", key, label))
            continue
        dn, have = actual[key]
        for name, values in attrs.items():
            if _norm(have.get(name, [])) != _norm(values):
                drifts.append(Drift("differs", dn, label, name, _norm(values), _norm(have.get(name, []))))
    for key, (dn, _attrs) in actual.items():
        if key not in expected:
            drifts.append(Drift("extra", dn, ""))
    return drifts


def repair(session: Session, actor: Actor, drifts: list[Drift]) -> int:
    """Queue the jobs that bring the directory back in line; returns how many objects were queued."""
    if not actor.is_system_admin:
        raise PermissionDenied(f"{actor.name} may not repair the directory")
    queued: set[tuple[str, str]] = set()
    # Extra entries deepest first: a subtree created behind our back goes leaf by leaf.
    ordered = sorted(
        drifts, key=lambda d: (d.kind == "extra", d.dn.count(",") if d.kind == "extra" else 0), reverse=True
    )
    ordered = [d for d in ordered if d.kind == "extra"] + [d for d in drifts if d.kind != "extra"]
    for drift in ordered:
        if drift.kind == "extra":
            key = ("delete_dn", drift.dn)
            if key not in queued:
                # An extra unit goes with whatever lies under it (its list, stray entries).
                sync.enqueue(session, "delete_dn", None, dn=drift.dn, subtree="1")
        else:
            kind, _, object_id = drift.object.partition(" ")
            key = (kind, object_id)
            if key not in queued:
                sync.enqueue(session, f"sync_{kind}", int(object_id))
        queued.add(key)
    if queued:
        changelog.record(
            session,
            actor,
            "directory.repair",
            "directory",
            "",
            target_label=f"{len(queued)} objects",
            after={
                "missing": sum(d.kind == "missing" for d in drifts),
                "extra": sum(d.kind == "extra" for d in drifts),
                "differs": sum(d.kind == "differs" for d in drifts),
            },
        )
    return len(queued)
