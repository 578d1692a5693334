"""Read queries limited to what an actor may see. Views, API and CLI share them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import AliasedClass

from core.actors import Actor, PermissionDenied
from provisioning.models import Role, Staff, Unit
from provisioning.names import normalize_text
from provisioning.people import search_words, starts_a_word

READ_ROLES = (Role.UNIT_ADMIN, Role.AUDITOR)


def read_paths(actor: Actor) -> list[str] | None:
    """Unit paths the actor may read (None = all). Unit admins and auditors read within their scope."""
    if actor.is_system_admin:
        return None
    paths: list[str] = []
    for role in READ_ROLES:
        if not actor.has_role(role):
            continue
        scope = actor.scope_paths(role)
        if scope is None:
            return None
        paths.extend(scope)
    return paths


def _in_paths(column: object, paths: list[str]) -> object:
    if not paths:
        return False
    return or_(*[column.startswith(p) for p in paths])  # type: ignore[attr-defined]


def visible_units(actor: Actor) -> Select[tuple[Unit]]:
    """Today's units the actor may read (a unit a reorganisation ended is history, not part of the tree)."""
    stmt = select(Unit).where(Unit.ended_on.is_(None)).order_by(Unit.path)
    paths = read_paths(actor)
    return stmt if paths is None else stmt.where(_in_paths(Unit.path, paths))


@dataclass(frozen=True, slots=True)
class UnitChoice:
    """A unit as a list to choose from shows it (its id, name, code, depth), read as a plain row: a province's
    367 units as ORM objects cost a page more than writing them."""

    id: int
    name: str
    code: str
    path: str

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


def unit_choices(session: Session, actor: Actor) -> list[UnitChoice]:
    """:func:`visible_units` as plain rows, in the tree's order."""
    columns = visible_units(actor).with_only_columns(Unit.id, Unit.name, Unit.code, Unit.path)
    return [UnitChoice(*row) for row in session.execute(columns)]


def visible_staff(actor: Actor, search: str = "", unit: Unit | None = None) -> Select[tuple[Staff]]:
    term = normalize_text(search.strip())
    # With a search, the same order by an expression no index has: PostgreSQL would otherwise walk the name
    # index to the first fifty matches and, names starting with the family name, read most of it for "Nguyễn"
    # (105 ms at 300,000 mailboxes) instead of sorting the few the trigram index finds (2 ms).
    name = Staff.full_name.concat("") if term else Staff.full_name
    stmt = select(Staff).join(Staff.unit).order_by(name, Staff.id)
    paths = read_paths(actor)
    if paths is not None:
        stmt = stmt.where(_in_paths(Unit.path, paths))
    if unit is not None:
        stmt = stmt.where(Unit.path.startswith(unit.path))
    if term:
        stmt = stmt.where(staff_matching(term))
    return stmt


def staff_in_scope(actor: Actor, *columns: Any) -> Select[Any]:
    """``select(*columns)`` over the staff ``actor`` may read, for counting: joined to their units only when the
    actor's scope is some subtrees (a province-wide reader's counts are answered from the staff table's own
    indexes: by status, 1.8 ms for 30,000 mailboxes on SQLite instead of 5.9 ms through the join)."""
    stmt = select(*columns).select_from(Staff)
    paths = read_paths(actor)
    if paths is not None:
        stmt = stmt.join(Staff.unit).where(_in_paths(Unit.path, paths))
    return stmt


def staff_matching(term: str) -> ColumnElement[bool]:
    """People a search finds: every word typed at the start of a word of their name or address, case and
    diacritics ignored ("nguyen van" and "NGUYỄN Văn" find "Nguyễn Văn An", the same search as
    ``provisioning.people``); a search with digits also by staff number; one with other characters ("@",
    "<", "*") also by the name or address holding it as typed. ``%``, ``_`` and ``*`` are characters, never
    wildcards. On PostgreSQL every branch is answered by the trigram index (migration 0018)."""
    words = search_words(term)
    branches = [and_(*[starts_a_word(word) for word in words])] if words else []
    if any(ch.isdigit() for ch in term):
        branches.append(Staff.staff_number.contains(term.upper(), autoescape=True))
        if term.upper() != term:
            branches.append(Staff.staff_number.contains(term, autoescape=True))
    if not words or any(not (ch.isalnum() or ch.isspace()) for ch in term):
        branches.append(Staff.full_name.contains(term, autoescape=True))
        branches.append(Staff.email.contains(term.lower(), autoescape=True))
    return or_(*branches)


def first_matches(stmt: Select[tuple[Staff]], cap: int) -> AliasedClass[Staff]:
    """The first ``cap + 1`` people ``stmt`` finds, in the order the database finds them, to select from: a
    broad search ("Nguyễn": a third of a city) then orders and counts that many rows instead of every match,
    and its page says there are more than ``cap``."""
    return aliased(Staff, stmt.order_by(None).limit(cap + 1).subquery())


def can_read_unit(actor: Actor, unit: Unit) -> bool:
    paths = read_paths(actor)
    return paths is None or any(unit.path.startswith(p) for p in paths)


def get_unit_for(session: Session, actor: Actor, unit_id: int) -> Unit | None:
    """The unit if it exists; PermissionDenied if the actor may not read it."""
    unit = session.get(Unit, unit_id)
    if unit is not None and not can_read_unit(actor, unit):
        raise PermissionDenied(f"{actor.name} may not see unit {unit_id}")
    return unit


def get_staff_for(session: Session, actor: Actor, staff_id: int) -> Staff | None:
    staff = session.get(Staff, staff_id)
    if staff is not None and not can_read_unit(actor, staff.unit):
        raise PermissionDenied(f"{actor.name} may not see staff {staff_id}")
    return staff
