"""The people part of a plan: where each person of an ended unit goes (the staff sheet, the merge target, the
dissolved unit's successor), who else the staff sheet moves, mailboxes and list members per unit before and
after, and every address that changes because a person's effective mail domain does (numbered on collision,
as a new mailbox is). Reads the database, changes nothing; memory grows with the people who move, not the
file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.bulk import chunked
from provisioning.models import AccountKind, AccountStatus, MailAlias, Staff
from provisioning.names import unique_local_part
from provisioning.reorg.plan import (
    DISSOLVE,
    MERGE,
    NEW_CODE,
    NEW_UNIT,
    STAFF_NUMBER,
    AddressChange,
    PersonMove,
    PlanFile,
    PlanIssue,
    Resolved,
)

LIST_KINDS = (AccountKind.PERSONAL, AccountKind.FUNCTIONAL)
_COLUMNS = (Staff.id, Staff.staff_number, Staff.unit_id, Staff.status, Staff.kind, Staff.email, Staff.full_name)


def _people(session: Session, column: Any, values: Iterable[Any]) -> list[Any]:
    found: list[Any] = []
    for chunk in chunked(values, 500):
        found.extend(session.execute(select(*_COLUMNS).where(column.in_(chunk))).all())
    return found


def resolve_people(session: Session, plan: PlanFile, resolved: Resolved) -> None:
    """Fill ``resolved`` with the moves, counts and address changes, adding every problem to its issues."""
    nodes = resolved.nodes
    key_of = {n.unit_id: k for k, n in nodes.items() if n.unit_id is not None}
    by_code = {n.code: k for k, n in nodes.items()} | {k: k for k in nodes}
    issue = resolved.issues.append
    sheet = plan.staff_sheet

    placed: dict[int, str] = {}
    seen_rows: dict[str, int] = {}
    rows = {r.staff_number: r for r in plan.staff}
    people = {p.staff_number: p for p in _people(session, Staff.staff_number, rows)}
    for row in plan.staff:
        if row.staff_number in seen_rows:
            issue(
                PlanIssue(
                    sheet,
                    row.row,
                    STAFF_NUMBER,
                    f"{row.staff_number} is placed twice (row {seen_rows[row.staff_number]})",
                )
            )
            continue
        seen_rows[row.staff_number] = row.row
        person = people.get(row.staff_number)
        target = by_code.get(row.unit_code)
        if person is None:
            issue(PlanIssue(sheet, row.row, STAFF_NUMBER, f"no mailbox has the staff number {row.staff_number}"))
        elif target is None:
            issue(PlanIssue(sheet, row.row, NEW_UNIT, f"no unit has the code {row.unit_code}"))
        elif nodes[target].is_ended:
            issue(PlanIssue(sheet, row.row, NEW_UNIT, f"unit {row.unit_code} is merged or dissolved by this plan"))
        elif person.unit_id not in key_of:
            issue(PlanIssue(sheet, row.row, STAFF_NUMBER, f"{row.staff_number} is in a unit that has ended"))
        else:
            placed[person.id] = target

    ended = {k: n for k, n in nodes.items() if n.is_ended and n.unit_id is not None}
    leaving = _people(session, Staff.unit_id, [n.unit_id for n in ended.values()])
    all_people = {p.id: p for p in leaving} | {p.id: p for p in people.values() if p.id in placed}
    destination: dict[int, str] = {}
    unplaced: dict[str, list[Any]] = {}
    for person in sorted(leaving, key=lambda p: p.id):
        node = ended[key_of[person.unit_id]]
        to = placed.get(person.id) or (node.merge_into if node.end_kind == MERGE else node.successor)
        if to is None:
            unplaced.setdefault(node.key, []).append(person)
        else:
            destination[person.id] = to
    for key, left in unplaced.items():
        received = Counter(destination[p.id] for p in leaving if p.id in destination and key_of[p.unit_id] == key)
        active = [p for p in left if p.status == AccountStatus.ACTIVE]
        if received and not active:
            for person in left:  # disabled or archived: they go where most of their colleagues went
                destination[person.id] = received.most_common(1)[0][0]
            continue
        numbers = ", ".join(p.staff_number or p.email for p in left[:5])
        issue(
            PlanIssue(
                plan.units_sheet,
                ended[key].rows.get(DISSOLVE, 0),
                NEW_CODE,
                f"{len(left)} people of unit {key} are not placed (the staff sheet or a successor in "
                f"{NEW_CODE} must place them): {numbers}",
            )
        )
    for staff_id, to in placed.items():
        destination.setdefault(staff_id, to)

    for staff_id in sorted(destination):
        person = all_people[staff_id]
        from_key, to_key = key_of[person.unit_id], destination[staff_id]
        if from_key == to_key:
            continue
        when = nodes[from_key].ended_on or resolved.effective_on
        if when is None:
            continue
        resolved.moves.append(PersonMove(staff_id, from_key, to_key, when))
    for key in ended:
        resolved.receivers[key] = list(dict.fromkeys(m.to_key for m in resolved.moves if m.from_key == key))
    _counts(session, resolved, key_of, all_people)
    _addresses(session, resolved, key_of, all_people)


def _counts(session: Session, resolved: Resolved, key_of: dict[int, str], movers: dict[int, Any]) -> None:
    rows = session.execute(
        select(Staff.unit_id, Staff.status, Staff.kind, func.count(Staff.id)).group_by(
            Staff.unit_id, Staff.status, Staff.kind
        )
    ).all()
    for key in resolved.nodes:
        for table in (resolved.mailboxes_before, resolved.members_before):
            table[key] = 0

    def count(table: dict[str, int], key: str, status: str, kind: str, n: int, *, members: bool) -> None:
        if members and (status != AccountStatus.ACTIVE or kind not in LIST_KINDS):
            return
        if not members and status == AccountStatus.ARCHIVED:
            return
        table[key] = table.get(key, 0) + n

    for unit_id, status, kind, n in rows:
        key = key_of.get(unit_id)
        if key is not None:
            count(resolved.mailboxes_before, key, status, kind, n, members=False)
            count(resolved.members_before, key, status, kind, n, members=True)
    resolved.mailboxes_after = dict(resolved.mailboxes_before)
    resolved.members_after = dict(resolved.members_before)
    for move in resolved.moves:
        person = movers[move.staff_id]
        for sign, key in ((-1, move.from_key), (1, move.to_key)):
            count(resolved.mailboxes_after, key, person.status, person.kind, sign, members=False)
            count(resolved.members_after, key, person.status, person.kind, sign, members=True)


def before_domain(resolved: Resolved, key: str) -> str:
    """A unit's effective mail domain today."""
    seen: set[str] = set()
    current: str | None = key
    while current is not None and current not in seen:
        seen.add(current)
        node = resolved.nodes[current]
        if node.created_on is not None:
            return resolved.final_domain(key)
        if node.before_domain:
            return node.before_domain
        current = node.before_parent
    return resolved.default_domain


def _addresses(session: Session, resolved: Resolved, key_of: dict[int, str], movers: dict[int, Any]) -> None:
    nodes = resolved.nodes
    changed_units = [
        n.unit_id
        for k, n in nodes.items()
        if n.unit_id is not None and not n.is_ended and before_domain(resolved, k) != resolved.final_domain(k)
    ]
    stayers = {p.id: p for p in _people(session, Staff.unit_id, changed_units)}
    final_unit = {m.staff_id: m.to_key for m in resolved.moves}
    candidates = stayers | {i: movers[i] for i in final_unit}
    changes: list[tuple[Any, str, str]] = []  # (person, local part, new domain)
    for staff_id in sorted(candidates):
        person = candidates[staff_id]
        from_key = key_of[person.unit_id]
        local, _, domain = person.email.partition("@")
        old_domain = before_domain(resolved, from_key)
        new_domain = resolved.final_domain(final_unit.get(staff_id, from_key))
        if domain == old_domain and new_domain != domain:
            changes.append((person, local, new_domain))
    owners = _owners(session, {d for _, _, d in changes})
    given: set[str] = set()

    def taken_by_other(address: str, staff_id: int) -> bool:
        return address in given or owners.get(address, staff_id) != staff_id

    for person, local, domain in changes:
        wanted = f"{local}@{domain}"
        new = wanted
        if taken_by_other(wanted, person.id):
            new = (
                f"{unique_local_part(local, lambda lp, p=person, d=domain: taken_by_other(f'{lp}@{d}', p.id))}@{domain}"
            )
        given.add(new)
        collision = None if new == wanted else f"{wanted} already belongs to another mailbox; numbered {new}"
        resolved.addresses.append(AddressChange(person.id, person.full_name, person.email, new, collision))


def _owners(session: Session, domains: set[str]) -> dict[str, int]:
    """Every address in these domains (primary or alias, archived mailboxes and expired aliases included: an
    address once used is never given to anyone else) → its mailbox."""
    owners: dict[str, int] = {}
    for domain in domains:
        pattern = f"%@{domain}"
        owners.update(session.execute(select(Staff.email, Staff.id).where(Staff.email.like(pattern))).all())
        owners.update(
            session.execute(select(MailAlias.address, MailAlias.staff_id).where(MailAlias.address.like(pattern))).all()
        )
    return owners
