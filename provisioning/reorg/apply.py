"""Applying a resolved plan in the caller's unit of work, through the verbs the console uses: ``create_unit``,
``rename_unit``, ``move_unit``, ``move_staff_many`` (in batches), ``merge_units``, ``dissolve_unit``,
``change_mail_domain``, ``readdress_many``, the role verbs, and the participants (bridge points). Each verb
records its history, change-trail entries and directory jobs; this module only orders them:

units created (parents first) → renamed → moved (shallowest first) → people moved → units ended (deepest
first) → numbered addresses → domain changes → the other addresses → roles → participants.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import changelog
from core.actors import Actor
from core.bulk import chunked
from core.db import utcnow
from provisioning import sync
from provisioning.accounts import move_staff_many
from provisioning.aliases import alias_expiry
from provisioning.history import remember_unit
from provisioning.history_models import Reorganisation
from provisioning.models import AccountStatus, RoleGrant, Staff, Unit
from provisioning.operations import MailboxPolicy, create_unit
from provisioning.reorg.participants import Participant
from provisioning.reorg.plan import MERGE, AddressChange, Resolved
from provisioning.reorg.preview import mapping_for
from provisioning.reorg.readdress import readdress_many, set_alias_expiry
from provisioning.roles import grant_role, revoke_role
from provisioning.units import change_mail_domain, dissolve_unit, merge_units, move_unit, rename_unit

BATCH = 500


@dataclass(frozen=True)
class ApplyOptions:
    policy: MailboxPolicy
    alias_days: int
    participants: Sequence[Participant] = ()
    progress: Callable[[int, int], None] | None = None


class _Applier:
    def __init__(
        self, session: Session, actor: Actor, reorg: Reorganisation, resolved: Resolved, options: ApplyOptions
    ) -> None:
        self.session, self.actor, self.reorg, self.resolved, self.options = session, actor, reorg, resolved, options
        self.units: dict[str, Unit] = {u.code: u for u in session.scalars(select(Unit).where(Unit.ended_on.is_(None)))}
        self.moved_staff: set[int] = set()
        self.done = 0
        self.reported_at = time.monotonic()
        self.total = len(resolved.nodes) + len(resolved.moves) + 2 * len(resolved.addresses) + 1
        self.summary: dict[str, Any] = {}
        effective = resolved.effective_on or utcnow().date()
        start = dt.datetime.combine(effective, dt.time(), dt.UTC)
        self.expires_at = alias_expiry(options.alias_days, max(start, utcnow()))
        self.reason = f"reorganisation {reorg.filename}"[:200]

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        # Every few seconds: on SQLite the progress write waits for this very transaction's write lock.
        if self.options.progress is not None and now - self.reported_at >= 3:
            self.reported_at = now
            self.options.progress(min(self.done, self.total), self.total)

    def count(self, name: str, n: int = 1) -> None:
        self.summary[name] = self.summary.get(name, 0) + n

    def run(self) -> dict[str, Any]:
        for phase in (
            self.create,
            self.rename,
            self.move_units,
            self.move_people,
            self.end_units,
            self.numbered_addresses,
            self.domains,
            self.addresses,
            self.roles,
            self.participants,
        ):
            phase()
        return self.summary

    @property
    def rid(self) -> int:
        return self.reorg.id

    # -- units -----------------------------------------------------------------------------------------

    def create(self) -> None:
        nodes = self.resolved.nodes
        created = sorted((k for k, n in nodes.items() if n.created_on), key=self.resolved.final_depth)
        for key in created:
            node = nodes[key]
            unit = create_unit(
                self.session,
                self.actor,
                code=node.code,
                name=node.name,
                kind=node.kind,
                parent=self.units[node.parent] if node.parent else None,
                mail_domain=node.domain,
                rules=self.options.policy.rules,
            )
            unit.started_on = node.created_on
            node.unit_id = unit.id
            self.units[key] = unit
            self.count("units_created")
            self.step()

    def rename(self) -> None:
        for key, node in self.resolved.nodes.items():
            if node.renamed_on is None:
                continue
            unit = self.units[key]
            rename_unit(
                self.session,
                self.actor,
                unit,
                name=node.name,
                code=node.code if node.code != key else None,
                effective_on=node.renamed_on,
                reorganisation_id=self.rid,
            )
            self.count("units_renamed")
            self.step()

    def move_units(self) -> None:
        nodes = self.resolved.nodes
        moving = [
            k
            for k, n in nodes.items()
            if n.moved_on is not None and n.created_on is None and not n.is_ended and n.follows != MERGE
        ]
        for key in sorted(moving, key=self.resolved.final_depth):
            node = nodes[key]
            move_unit(
                self.session,
                self.actor,
                self.units[key],
                self.units[node.parent],  # type: ignore[index]
                effective_on=node.moved_on,
                reorganisation_id=self.rid,
            )
            self.count("units_moved")
            self.step()

    def move_people(self) -> None:
        # The lists of units that end go first: slapd then has no group to rewrite as each member moves out.
        ending = [n for n in self.resolved.nodes.values() if n.is_ended and n.unit_id is not None]
        for node in ending:
            sync.enqueue(self.session, "delete_list", node.unit_id, code=node.before_code)
        groups: dict[tuple[str, dt.date], list[int]] = {}
        for move in self.resolved.moves:
            groups.setdefault((move.to_key, move.effective_on), []).append(move.staff_id)
        for (to_key, day), ids in groups.items():
            target = self.units[to_key]
            for chunk in chunked(ids, BATCH):
                people = self.session.scalars(select(Staff).where(Staff.id.in_(chunk))).all()
                moved = move_staff_many(
                    self.session,
                    self.actor,
                    [(p, target) for p in people],
                    effective_on=day,
                    reorganisation_id=self.rid,
                )
                self.moved_staff.update(chunk)
                self.count("staff_moved", moved)
                self.step(len(chunk))
                for person in people:
                    self.session.expunge(person)  # the session (and memory) stays small on 12,000 moves

    def end_units(self) -> None:
        nodes = self.resolved.nodes
        ended = sorted((k for k, n in nodes.items() if n.is_ended), key=lambda k: -nodes[k].before_depth)
        for key in ended:
            node, unit = nodes[key], self.units[key]
            if node.end_kind == MERGE:
                merge_units(
                    self.session,
                    self.actor,
                    unit,
                    self.units[node.merge_into],  # type: ignore[index]
                    effective_on=node.ended_on,
                    reorganisation_id=self.rid,
                )
                self.count("units_merged")
            else:
                heirs = self.resolved.receivers.get(key) or ([node.successor] if node.successor else [])
                dissolve_unit(
                    self.session,
                    self.actor,
                    unit,
                    [self.units[h] for h in heirs],
                    effective_on=node.ended_on,
                    reorganisation_id=self.rid,
                )
                self.count("units_dissolved")
            self.step()

    # -- addresses -------------------------------------------------------------------------------------

    def _readdress(self, changes: Sequence[AddressChange]) -> None:
        for chunk in chunked(changes, BATCH):
            people = {
                p.id: p
                for p in self.session.scalars(
                    select(Staff).options(selectinload(Staff.aliases)).where(Staff.id.in_([c.staff_id for c in chunk]))
                )
            }
            pending = [(people[c.staff_id], c.new) for c in chunk if people[c.staff_id].email != c.new]
            already = [(people[c.staff_id], c.old) for c in chunk if people[c.staff_id].email == c.new]
            n = readdress_many(
                self.session,
                self.actor,
                pending,
                reason=self.reason,
                expires_at=self.expires_at,
                queued=self.moved_staff,
            )
            set_alias_expiry(self.session, already, reason=self.reason, expires_at=self.expires_at)
            self.session.flush()
            self.count("addresses_changed", n + len(already))
            self.step(len(chunk))
            for person in people.values():
                self.session.expunge(person)

    def numbered_addresses(self) -> None:
        """Collisions first: numbered addresses are given before a domain change would refuse them."""
        self._readdress([a for a in self.resolved.addresses if a.collision])

    def domains(self) -> None:
        policy = self.options.policy
        for key, node in self.resolved.nodes.items():
            if node.domain_on is None or node.is_ended or node.domain is None:
                continue
            unit = self.units[key]
            remember_unit(self.session, unit, node.domain_on, self.rid)
            if unit.effective_mail_domain(policy.default_domain) == node.domain:
                unit.mail_domain = node.domain  # inherited already: the unit only holds it as its own now
                self.session.flush()
            else:
                change_mail_domain(
                    self.session,
                    self.actor,
                    unit,
                    node.domain,
                    policy.default_domain,
                    alias_days=self.options.alias_days,
                    rules=policy.rules,
                )
            # The lists of the subtree are addressed in the domain too (change_mail_domain leaves them).
            subtree = self.session.scalars(select(Unit.id).where(Unit.path.startswith(unit.path))).all()
            sync.enqueue_many(self.session, [("sync_list", unit_id) for unit_id in subtree])
            self.count("domains_changed")
            self.step()
        # change_mail_domain left Staff objects with their aliases in the session; the rest goes in batches.
        self.session.flush()
        self.session.expunge_all()
        self.units = {u.code: u for u in self.session.scalars(select(Unit))}

    def addresses(self) -> None:
        self._readdress([a for a in self.resolved.addresses if not a.collision])
        self.summary["addresses_changed"] = len(self.resolved.addresses)

    # -- roles and participants ------------------------------------------------------------------------

    def roles(self) -> None:
        ended = {n.unit_id: k for k, n in self.resolved.nodes.items() if n.is_ended and n.unit_id is not None}
        grants = self.session.scalars(select(RoleGrant).where(RoleGrant.unit_id.in_(list(ended)))).all()
        for grant in grants:
            staff, role, old_unit = grant.staff, grant.role, grant.unit
            heir_key = self.resolved.successor_of(ended[grant.unit_id])  # type: ignore[index]
            revoke_role(self.session, self.actor, staff, role, old_unit)
            if heir_key is None or staff.status != AccountStatus.ACTIVE:
                self.count("roles_revoked")
                continue
            heir = self.units[self.resolved.nodes[heir_key].code]
            if not any(g.role == role and g.unit_id == heir.id for g in staff.roles):
                grant_role(self.session, self.actor, staff, role, heir)
            self.count("roles_moved")

    def participants(self) -> None:
        mapping = mapping_for(self.resolved, reorganisation_id=self.rid, label=self.reorg.filename)
        for participant in self.options.participants:
            for name, n in participant.apply(self.session, self.actor, mapping).items():
                self.count(name, n)
        self.step()


def apply_plan(
    session: Session, actor: Actor, reorg: Reorganisation, resolved: Resolved, options: ApplyOptions
) -> dict[str, Any]:
    """Carry out a clean resolved plan in the caller's transaction; one change-trail entry for the plan (the
    verbs write one per changed object). Returns the counts of what was done."""
    actor.require("system_admin", None, "the unit tree")
    if not resolved.is_clean:
        raise ValueError("only a plan without errors can be applied")
    summary = _Applier(session, actor, reorg, resolved, options).run()
    reorg = session.get(Reorganisation, reorg.id) or reorg
    changelog.record(
        session,
        actor,
        "reorganisation.apply",
        "reorganisation",
        reorg.id,
        target_label=reorg.filename,
        after={"effective_on": resolved.effective_on.isoformat() if resolved.effective_on else None, **summary},
    )
    return summary
