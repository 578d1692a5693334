"""Reorganisations: rename, move, merge, dissolve units, and change a unit's mail domain without losing an
address. A unit that ends is kept (``ended_on``, its successors recorded) for the reports of earlier months."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from core.db import utcnow
from provisioning import history, sync
from provisioning.accounts import move_staff_many
from provisioning.addresses import AddressRules, check_unit_domain
from provisioning.aliases import alias_expiry, keep_as_alias
from provisioning.errors import flush_or_refuse
from provisioning.models import MailAlias, Role, Staff, Unit
from provisioning.operations import UNIT_CODE_CHARS, ProvisioningError, _unit_snapshot, unit_name
from provisioning.roles import require_no_climbing_in


def _subtree(session: Session, unit: Unit) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.path.startswith(unit.path)).order_by(Unit.path)))


def _today(effective_on: dt.date | None) -> dt.date:
    return effective_on or utcnow().date()


def rename_unit(
    session: Session,
    actor: Actor,
    unit: Unit,
    *,
    name: str,
    short_name: str | None = None,
    code: str | None = None,
    effective_on: dt.date | None = None,
    reorganisation_id: int | None = None,
) -> None:
    """New Vietnamese name, and (for a system admin, in a reorganisation) a new code: the directory entry, named
    by the code, moves with its subtree. The earlier name is kept in the unit's history until ``effective_on``."""
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    before = _unit_snapshot(unit)
    history.remember_unit(session, unit, _today(effective_on), reorganisation_id)
    unit.name = unit_name(name, "unit name", 200)
    if short_name is not None:
        unit.short_name = unit_name(short_name, "short name", 100, required=False)
    old_list = None
    if code is not None and code.strip().upper() != unit.code:
        if not actor.is_system_admin:
            raise PermissionDenied(f"{actor.name} may not change the code of unit {unit.name}")
        new_code = code.strip().upper()
        if not new_code or not set(new_code) <= UNIT_CODE_CHARS or len(new_code) > 40:
            raise ProvisioningError(f"unit code {new_code[:50]!r}: use 1–40 letters A–Z, digits or '-'")
        old_list = unit.code
        unit.code = new_code
    flush_or_refuse(session, f"unit code {unit.code!r} is taken")
    sync.enqueue(session, "sync_unit", unit.id)
    if old_list is not None:
        # The list entry is named by the code too: the old one (moved along with the unit) goes.
        sync.enqueue(session, "delete_list", unit.id, code=old_list)
        sync.enqueue(session, "sync_list", unit.id)
    changelog.record_of(session, actor, "unit.rename", unit, before=before, after=_unit_snapshot(unit))


def _reparent(session: Session, unit: Unit, parent: Unit) -> None:
    old_prefix = unit.path
    new_prefix = f"{parent.path}{unit.id}/"
    for member in _subtree(session, unit):
        member.path = new_prefix + member.path[len(old_prefix) :]
    unit.parent = parent


def move_unit(
    session: Session,
    actor: Actor,
    unit: Unit,
    new_parent: Unit,
    *,
    effective_on: dt.date | None = None,
    reorganisation_id: int | None = None,
) -> None:
    """Put ``unit`` (with its subtree, staff and mailboxes) under ``new_parent``; its earlier place is kept in
    its history until ``effective_on``."""
    if unit.parent is None:
        raise ProvisioningError("the province root cannot be moved")
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    actor.require(Role.UNIT_ADMIN, new_parent, f"unit {new_parent.name}")
    if new_parent.path.startswith(unit.path):
        raise ProvisioningError(f"unit {unit.name} cannot move under itself or its own subunit {new_parent.name}")
    if new_parent.ended_on is not None:
        raise ProvisioningError(f"unit {new_parent.name} has ended; choose another parent")
    require_no_climbing_in(session, actor, unit, f"unit {unit.name}")
    before = _unit_snapshot(unit)
    history.remember_unit(session, unit, _today(effective_on), reorganisation_id)
    _reparent(session, unit, new_parent)
    session.flush()
    sync.enqueue(session, "sync_unit", unit.id)
    changelog.record_of(session, actor, "unit.move", unit, before=before, after=_unit_snapshot(unit))


def _live_children(session: Session, unit: Unit) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.parent_id == unit.id, Unit.ended_on.is_(None))))


def merge_units(
    session: Session,
    actor: Actor,
    source: Unit,
    target: Unit,
    *,
    effective_on: dt.date | None = None,
    reorganisation_id: int | None = None,
) -> int:
    """Merge ``source`` into ``target``: its staff, mailboxes and subunits move to ``target``, then ``source``
    ends on ``effective_on`` (kept, with ``target`` as its successor, so reports of earlier months still show
    it). Returns how many mailboxes moved. Nothing is lost: addresses stay."""
    if source.id == target.id:
        raise ProvisioningError("a unit cannot be merged into itself")
    if source.parent is None:
        raise ProvisioningError("the province root cannot be merged into another unit")
    if source.ended_on is not None or target.ended_on is not None:
        raise ProvisioningError(f"unit {(source if source.ended_on else target).name} has ended already")
    actor.require(Role.UNIT_ADMIN, source, f"unit {source.name}")
    actor.require(Role.UNIT_ADMIN, target, f"unit {target.name}")
    if target.path.startswith(source.path):
        raise ProvisioningError(f"unit {source.name} cannot merge into its own subunit {target.name}")
    require_no_climbing_in(session, actor, source, f"unit {source.name}")
    day = _today(effective_on)
    before = _unit_snapshot(source)
    children = _live_children(session, source)
    for child in children:
        history.remember_unit(session, child, day, reorganisation_id)
        _reparent(session, child, target)
        sync.enqueue(session, "sync_unit", child.id)
    staff = list(session.scalars(select(Staff).where(Staff.unit_id == source.id)))
    moved = move_staff_many(
        session, actor, [(p, target) for p in staff], effective_on=day, reorganisation_id=reorganisation_id
    )
    _end_unit(session, source, day, [(target, "merge")], reorganisation_id)
    changelog.record_of(
        session,
        actor,
        "unit.merge",
        source,
        before=before,
        after={
            "merged_into": target.id,
            "moved_staff": moved,
            "moved_units": [c.id for c in children],
            "ended_on": day,
        },
        label=f"{source.name} → {target.name}",
        unit_id=target.id,
    )
    return moved


def _end_unit(
    session: Session, unit: Unit, day: dt.date, successors: list[tuple[Unit, str]], reorganisation_id: int | None
) -> None:
    unit.ended_on = day
    for successor, kind in successors:
        history.record_succession(session, unit.id, successor.id, kind, day, reorganisation_id)
    session.flush()
    # Removing the old entry comes after the moves (jobs run in order): it is empty by then, but for its list.
    sync.enqueue(session, "delete_unit", None, dn=unit.directory_dn or "", code=unit.code)


def dissolve_unit(
    session: Session,
    actor: Actor,
    unit: Unit,
    successors: list[Unit],
    *,
    effective_on: dt.date | None = None,
    reorganisation_id: int | None = None,
) -> None:
    """End a unit whose people and subunits have all gone elsewhere (moved first, each with their own verb).
    ``successors`` are the units that received them: one is the unit it dissolved into, several a split."""
    if unit.parent is None:
        raise ProvisioningError("the province root cannot be dissolved")
    if unit.ended_on is not None:
        raise ProvisioningError(f"unit {unit.name} has ended already")
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    left = session.scalar(select(func.count(Staff.id)).where(Staff.unit_id == unit.id)) or 0
    if left or _live_children(session, unit):
        raise ProvisioningError(f"unit {unit.name} still has mailboxes or subunits; move them first")
    day = _today(effective_on)
    kind = "dissolve" if len(successors) == 1 else "split"
    before = _unit_snapshot(unit)
    _end_unit(session, unit, day, [(s, kind) for s in successors], reorganisation_id)
    changelog.record_of(
        session,
        actor,
        "unit.dissolve",
        unit,
        before=before,
        after={"ended_on": day, "successors": [s.id for s in successors]},
    )


def change_mail_domain(
    session: Session,
    actor: Actor,
    unit: Unit,
    new_domain: str,
    default_domain: str,
    *,
    alias_days: int,
    rules: AddressRules | None = None,
) -> int:
    """Give every mailbox of the unit's subtree that uses the unit's current domain an address in
    ``new_domain``; the old address is kept as an alias for ``alias_days`` (CONGVU_REORG_ALIAS_DAYS), so mail
    to it still arrives and it still signs in until the ``aliases.expire`` job takes it out. Returns the count.
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
    expires_at = alias_expiry(alias_days)
    changed = 0
    for member in _subtree(session, unit):
        if member.effective_mail_domain(default_domain) != domain:
            continue  # a subunit with its own domain keeps it
        sync.enqueue(session, "sync_list", member.id)  # its list's address dl-…@ changes with the domain
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
            keep_as_alias(session, person, person.email, reason=f"domain change to {domain}", expires_at=expires_at)
            person.email = new_address
            sync.enqueue(session, "sync_staff", person.id)
            changed += 1
    session.flush()
    changelog.record_of(
        session,
        actor,
        "unit.change_domain",
        unit,
        before=before | {"domain": old_domain},
        after=_unit_snapshot(unit) | {"mailboxes_changed": changed, "aliases_expire_at": expires_at},
    )
    return changed
