"""The tree and its people on any day: recorded when units and people change, read by reports of earlier months.

Writers (the reorganisation, ``move_staff``, the unit verbs) call ``remember_unit`` *before* changing a unit,
``remember_placement`` before moving a person and ``record_succession`` when one unit becomes another; readers
ask ``units_on(day)`` and ``placements_on(day)``. The current rows are the state from the last change on; the
history tables hold every earlier state with the day it stopped being true (exclusive).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.bulk import insert_rows
from provisioning.history_models import StaffPlacement, UnitSuccession, UnitVersion
from provisioning.models import Staff, Unit


@dataclass(frozen=True)
class UnitState:
    """A unit as it was on one day."""

    id: int
    parent_id: int | None
    code: str
    name: str
    short_name: str
    kind: str
    mail_domain: str | None


# What a unit's state is made of: the fields a UnitVersion keeps, as a UnitState shows them.
_STATE = tuple(f.name for f in fields(UnitState) if f.name != "id")


def _state_of(unit: Unit | UnitVersion) -> dict[str, object]:
    return {name: getattr(unit, name) for name in _STATE}


def remember_unit(session: Session, unit: Unit, until: dt.date, reorganisation_id: int | None = None) -> None:
    """Keep the unit's present state as valid until ``until``; call before renaming, moving or ending it.
    A second call for the same day keeps the first (the state before that day's changes)."""
    exists = session.scalar(
        select(UnitVersion.id).where(UnitVersion.unit_id == unit.id, UnitVersion.valid_until == until)
    )
    if exists is None:
        session.add(
            UnitVersion(unit_id=unit.id, valid_until=until, reorganisation_id=reorganisation_id, **_state_of(unit))
        )


def remember_placement(
    session: Session, staff_id: int, unit_id: int, until: dt.date, reorganisation_id: int | None = None
) -> None:
    """Keep that the person was in ``unit_id`` until ``until``; call before moving them. Idempotent per day."""
    remember_placements(session, [(staff_id, unit_id)], until, reorganisation_id)


PLACEMENT_BATCH = 500  # people per query


def remember_placements(
    session: Session, placements: Sequence[tuple[int, int]], until: dt.date, reorganisation_id: int | None = None
) -> None:
    """:func:`remember_placement` for many (staff id, unit id) at once (a reorganisation moves thousands): who
    has a placement ending that day already is read in one query per :data:`PLACEMENT_BATCH`; the first given
    for a person counts (the state before that day's changes)."""
    first = dict(reversed(placements))  # staff id -> the first unit given for them
    ids = list(first)
    for start in range(0, len(ids), PLACEMENT_BATCH):
        chunk = ids[start : start + PLACEMENT_BATCH]
        kept = session.scalars(
            select(StaffPlacement.staff_id).where(
                StaffPlacement.staff_id.in_(chunk), StaffPlacement.valid_until == until
            )
        )
        for staff_id in kept:
            first.pop(staff_id, None)
    rows = [
        {"staff_id": staff_id, "unit_id": unit_id, "valid_until": until, "reorganisation_id": reorganisation_id}
        for staff_id, unit_id in first.items()
    ]
    insert_rows(session, StaffPlacement.__table__, rows)  # type: ignore[arg-type]


def record_succession(
    session: Session,
    predecessor_id: int,
    successor_id: int,
    kind: str,
    effective_on: dt.date,
    reorganisation_id: int | None = None,
) -> None:
    exists = session.scalar(
        select(UnitSuccession.id).where(
            UnitSuccession.predecessor_id == predecessor_id,
            UnitSuccession.successor_id == successor_id,
            UnitSuccession.effective_on == effective_on,
        )
    )
    if exists is None:
        session.add(
            UnitSuccession(
                predecessor_id=predecessor_id,
                successor_id=successor_id,
                kind=kind,
                effective_on=effective_on,
                reorganisation_id=reorganisation_id,
            )
        )


def units_on(session: Session, day: dt.date) -> dict[int, UnitState]:
    """Every unit that existed on ``day``, as it was then."""
    earliest: dict[int, UnitVersion] = {}
    for version in session.scalars(
        select(UnitVersion).where(UnitVersion.valid_until > day).order_by(UnitVersion.valid_until.desc())
    ):
        earliest[version.unit_id] = version  # descending: the last seen is the earliest still valid
    states: dict[int, UnitState] = {}
    for unit in session.scalars(select(Unit)):
        if unit.started_on is not None and unit.started_on > day:
            continue
        if unit.ended_on is not None and unit.ended_on <= day:
            continue
        source: Unit | UnitVersion = earliest.get(unit.id, unit)
        states[unit.id] = UnitState(id=unit.id, **_state_of(source))  # type: ignore[arg-type]
    return states


def placements_on(session: Session, day: dt.date) -> dict[int, int]:
    """staff id → the unit they were in on ``day`` (people not yet created are included with today's unit;
    callers that count mailboxes decide who existed)."""
    placed = dict(session.execute(select(Staff.id, Staff.unit_id)).all())
    earlier: dict[int, int] = {}
    for staff_id, unit_id in session.execute(
        select(StaffPlacement.staff_id, StaffPlacement.unit_id)
        .where(StaffPlacement.valid_until > day)
        .order_by(StaffPlacement.valid_until.desc())
    ):
        earlier[staff_id] = unit_id  # descending: the last seen is the earliest still valid
    placed.update(earlier)
    return placed


def predecessors(session: Session, unit_id: int, since: dt.date) -> set[int]:
    """Units that became ``unit_id`` (directly or through a chain) on or after ``since``."""
    found: set[int] = set()
    frontier = {unit_id}
    while frontier:
        rows = session.execute(
            select(UnitSuccession.predecessor_id).where(
                UnitSuccession.successor_id.in_(frontier), UnitSuccession.effective_on >= since
            )
        ).scalars()
        frontier = {p for p in rows if p not in found and p != unit_id}
        found |= frontier
    return found
