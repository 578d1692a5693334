"""What a resolved plan would do, as the JSON the console, the API and the CLI show: the resulting tree with
mailboxes before and after, every address that changes, the lists that change, the participants' sections
(bridge points), the roles on units that end, and the counts. Reads only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.models import AccountStatus, RoleGrant, Staff
from provisioning.reorg.participants import EndedUnit, Participant, UnitMapping
from provisioning.reorg.people import before_domain
from provisioning.reorg.plan import Resolved


def mapping_for(resolved: Resolved, *, reorganisation_id: int | None = None, label: str = "") -> UnitMapping:
    """The ended units and their single successors (ids known once the successors exist)."""
    ended: dict[int, EndedUnit] = {}
    for key, node in resolved.nodes.items():
        if not node.is_ended or node.unit_id is None or node.ended_on is None:
            continue
        heir = resolved.successor_of(key)
        heir_node = resolved.nodes[heir] if heir is not None else None
        ended[node.unit_id] = EndedUnit(
            node.unit_id,
            node.before_code,
            node.before_name,
            node.ended_on,
            heir_node.code if heir_node else None,
            heir_node.name if heir_node else None,
            heir_node.unit_id if heir_node else None,
        )
    return UnitMapping(ended, reorganisation_id, label)


def tree(resolved: Resolved) -> list[dict[str, Any]]:
    """Every unit of the resulting tree, depth first, with the ended ones at their place of today."""
    nodes = resolved.nodes
    children: dict[str | None, list[str]] = {}
    for key, node in nodes.items():
        parent = node.before_parent if node.is_ended else node.parent
        children.setdefault(parent if parent in nodes else None, []).append(key)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def walk(key: str, depth: int) -> None:
        if key in seen:
            return
        seen.add(key)
        node = nodes[key]
        parent = node.before_parent if node.is_ended else node.parent
        out.append(
            {
                "code": node.code,
                "name": node.name,
                "kind": node.kind,
                "parent_code": nodes[parent].code if parent in nodes else None,
                "depth": depth,
                "status": node.status,
                "mailboxes_before": resolved.mailboxes_before.get(key, 0),
                "mailboxes_after": resolved.mailboxes_after.get(key, 0),
            }
        )
        for child in sorted(children.get(key, []), key=lambda k: (nodes[k].is_ended, nodes[k].name, k)):
            walk(child, depth + 1)

    for root in sorted(children.get(None, [])):
        walk(root, 0)
    for key in nodes:  # a cycle (already an error) is still shown
        walk(key, 0)
    return out


def lists(resolved: Resolved) -> list[dict[str, Any]]:
    """Distribution lists (``dl-<code>``) created, removed, or whose members change."""
    touched = {m.from_key for m in resolved.moves} | {m.to_key for m in resolved.moves}
    final_unit = {m.staff_id: m.to_key for m in resolved.moves}
    readdressed = set(final_unit.get(a.staff_id, "") for a in resolved.addresses)
    out: list[dict[str, Any]] = []
    for key, node in resolved.nodes.items():
        before = (
            f"dl-{node.before_code.lower()}@{before_domain(resolved, key)}"
            if node.created_on is None and resolved.members_before.get(key, 0)
            else None
        )
        after = (
            f"dl-{node.code.lower()}@{resolved.final_domain(key)}"
            if not node.is_ended and resolved.members_after.get(key, 0)
            else None
        )
        if before and before != after:
            out.append({"address": before, "change": "removed"})
        if after and after != before:
            out.append({"address": after, "change": "created"})
        if before and before == after and (key in touched or key in readdressed):
            out.append({"address": after, "change": "members"})
    return out


def roles(session: Session, resolved: Resolved) -> list[dict[str, Any]]:
    """Roles granted on units that end: moved to the single successor, else revoked."""
    ended = {n.unit_id: k for k, n in resolved.nodes.items() if n.is_ended and n.unit_id is not None}
    rows = session.execute(
        select(Staff.email, Staff.status, RoleGrant.role, RoleGrant.unit_id)
        .join(RoleGrant, RoleGrant.staff_id == Staff.id)
        .where(RoleGrant.unit_id.in_(list(ended)))
        .order_by(Staff.email, RoleGrant.role)
    ).all()
    out: list[dict[str, Any]] = []
    for email, status, role, unit_id in rows:
        key = ended[unit_id]
        heir = resolved.successor_of(key) if status == AccountStatus.ACTIVE else None
        out.append(
            {
                "person": email,
                "role": role,
                "unit": resolved.nodes[key].before_code,
                "action": "move" if heir is not None else "revoke",
                "new_unit": resolved.nodes[heir].code if heir is not None else None,
            }
        )
    return out


def build(session: Session, resolved: Resolved, participants: Sequence[Participant]) -> dict[str, Any]:
    """The preview JSON (see :mod:`provisioning.reorg.tasks`); only ``errors`` when the plan has any."""
    effective = resolved.effective_on.isoformat() if resolved.effective_on else None
    result: dict[str, Any] = {
        "errors": [i.as_dict() for i in sorted(resolved.issues, key=lambda i: (i.sheet, i.row, i.column))],
        "effective_on": effective,
    }
    if resolved.issues:
        return result
    mapping = mapping_for(resolved)
    role_rows = roles(session, resolved)
    counts = {
        "units_changed": sum(1 for n in resolved.nodes.values() if n.status != "unchanged"),
        "staff_moved": len(resolved.moves),
        "addresses_changed": len(resolved.addresses),
        "roles_revoked": sum(1 for r in role_rows if r["action"] == "revoke"),
        "roles_moved": sum(1 for r in role_rows if r["action"] == "move"),
    }
    result |= {
        "tree": tree(resolved),
        "addresses": [
            {"staff_id": a.staff_id, "name": a.name, "old": a.old, "new": a.new, "collision": a.collision}
            for a in resolved.addresses
        ],
        "lists": lists(resolved),
        "roles": role_rows,
    }
    for participant in participants:
        section = participant.preview(session, mapping)
        result[participant.key] = section
        counts |= participant.counts(section)
    result["counts"] = counts
    return result
