"""Reorganisations: rename, move, merge units, and change a unit's mail domain without losing an address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor
from provisioning import sync
from provisioning.addresses import AddressRules, check_unit_domain
from provisioning.models import MailAlias, Role, Staff, Unit
from provisioning.operations import ProvisioningError, _unit_snapshot, unit_name
from provisioning.roles import require_no_climbing_in


def _subtree(session: Session, unit: Unit) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.path.startswith(unit.path)).order_by(Unit.path)))


def rename_unit(session: Session, actor: Actor, unit: Unit, *, name: str, short_name: str | None = None) -> None:
    """New Vietnamese name (the code, and so the directory entry's name, stays)."""
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    before = _unit_snapshot(unit)
    unit.name = unit_name(name, "unit name", 200)
    if short_name is not None:
        unit.short_name = unit_name(short_name, "short name", 100, required=False)
    session.flush()
    sync.enqueue(session, "sync_unit", unit.id)
    changelog.record(
        session,
        actor,
        "unit.rename",
        "unit",
        unit.id,
        target_label=unit.name,
        unit_id=unit.id,
        before=before,
        after=_unit_snapshot(unit),
    )


def _reparent(session: Session, unit: Unit, parent: Unit) -> None:
    old_prefix = unit.path
    new_prefix = f"{parent.path}{unit.id}/"
    for member in _subtree(session, unit):
        member.path = new_prefix + member.path[len(old_prefix) :]
    unit.parent = parent


def move_unit(session: Session, actor: Actor, unit: Unit, new_parent: Unit) -> None:
    """Put ``unit`` (with its subtree, staff and mailboxes) under ``new_parent``."""
    if unit.parent is None:
        raise ProvisioningError("the province root cannot be moved")
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    actor.require(Role.UNIT_ADMIN, new_parent, f"unit {new_parent.name}")
    if new_parent.path.startswith(unit.path):
        raise ProvisioningError(f"unit {unit.name} cannot move under itself or its own subunit {new_parent.name}")
    require_no_climbing_in(session, actor, unit, f"unit {unit.name}")
    before = _unit_snapshot(unit)
    _reparent(session, unit, new_parent)
    session.flush()
    sync.enqueue(session, "sync_unit", unit.id)
    changelog.record(
        session,
        actor,
        "unit.move",
        "unit",
        unit.id,
        target_label=unit.name,
        unit_id=unit.id,
        before=before,
        after=_unit_snapshot(unit),
    )


def merge_units(session: Session, actor: Actor, source: Unit, target: Unit) -> int:
    """Merge ``source`` into ``target``: its staff, mailboxes and subunits move to ``target``, then
    ``source`` is removed. Returns how many mailboxes moved. Nothing is lost: addresses stay."""
    if source.id == target.id:
        raise ProvisioningError("a unit cannot be merged into itself")
    if source.parent is None:
        raise ProvisioningError("the province root cannot be merged into another unit")
    actor.require(Role.UNIT_ADMIN, source, f"unit {source.name}")
    actor.require(Role.UNIT_ADMIN, target, f"unit {target.name}")
    if target.path.startswith(source.path):
        raise ProvisioningError(f"unit {source.name} cannot merge into its own subunit {target.name}")
    require_no_climbing_in(session, actor, source, f"unit {source.name}")
    before = _unit_snapshot(source)
    children = list(session.scalars(select(Unit).where(Unit.parent_id == source.id)))
    for child in children:
        _reparent(session, child, target)
        sync.enqueue(session, "sync_unit", child.id)
    staff = list(session.scalars(select(Staff).where(Staff.unit_id == source.id)))
    for person in staff:
        person.unit = target
        sync.enqueue(session, "sync_staff", person.id)
    session.flush()
    sync.enqueue(session, "sync_list", target.id)
    # Removing the old entry comes after the moves above (jobs run in order): it is empty by then.
    sync.enqueue(session, "delete_unit", None, dn=source.directory_dn or "", code=source.code)
    changelog.record(
        session,
        actor,
        "unit.merge",
        "unit",
        source.id,
        target_label=f"{source.name} → {target.name}",
        unit_id=target.id,
        before=before,
        after={"merged_into": target.id, "moved_staff": len(staff), "moved_units": [c.id for c in children]},
    )
    # Audit entries of the old unit keep their unit_id; detach them so the row can go.
    session.execute(
        changelog.ChangeEntry.__table__.update().where(changelog.ChangeEntry.unit_id == source.id).values(unit_id=None)
    )
    session.delete(source)
    session.flush()
    return len(staff)


def change_mail_domain(
    session: Session,
    actor: Actor,
    unit: Unit,
    new_domain: str,
    default_domain: str,
    *,
    rules: AddressRules | None = None,
) -> int:
    """Give every mailbox of the unit's subtree that uses the unit's current domain an address in
    ``new_domain``; the old address is kept as an alias so mail to it still arrives. Returns the count.
    The domain must be a DNS name; a unit admin may only pick one of their subtree's domains."""
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    domain = check_unit_domain(session, actor, new_domain, rules or AddressRules(default_domain=default_domain))
    require_no_climbing_in(session, actor, unit, f"the mail domain of unit {unit.name}")
    old_domain = unit.effective_mail_domain(default_domain)
    if domain == old_domain:
        raise ProvisioningError(f"unit {unit.name} already uses {domain}")
    before = _unit_snapshot(unit)
    unit.mail_domain = domain
    session.flush()
    changed = 0
    for member in _subtree(session, unit):
        if member.effective_mail_domain(default_domain) != domain:
            continue  # a subunit with its own domain keeps it
        for person in session.scalars(select(Staff).where(Staff.unit_id == member.id)):
            local, _, current = person.email.partition("@")
            if current != old_domain:
                continue
            new_address = f"{local}@{domain}"
            taken = session.scalar(select(Staff.id).where(Staff.email == new_address))
            alias_taken = session.scalar(select(MailAlias.staff_id).where(MailAlias.address == new_address))
            if (taken and taken != person.id) or (alias_taken and alias_taken != person.id):
                raise ProvisioningError(
                    f"{person.email}: the new address {new_address} already belongs to someone else; "
                    "give one of them another address first"
                )
            if alias_taken == person.id:
                person.aliases = [a for a in person.aliases if a.address != new_address]
                session.flush()
            person.aliases.append(MailAlias(address=person.email, reason=f"domain change to {domain}"))
            person.email = new_address
            sync.enqueue(session, "sync_staff", person.id)
            changed += 1
    session.flush()
    changelog.record(
        session,
        actor,
        "unit.change_domain",
        "unit",
        unit.id,
        target_label=unit.name,
        unit_id=unit.id,
        before=before | {"domain": old_domain},
        after=_unit_snapshot(unit) | {"mailboxes_changed": changed},
    )
    return changed
