"""The tree a month's report shows, read from history (``provisioning.history``): the units as they were on the
month's last day, each mailbox in the unit it was in then, and what became of the units that no longer exist.

A report for a month before a reorganisation, generated afterwards, shows the districts of that month with
their people of that month. The figures of an earlier month (the change column, a unit's 12-month trend) are
placed in the same tree by the same rule, so a commune compares with the people who make it up (see
``audit.definitions.COMPARISON_EN``). Everything is read in a few queries per report, never one per unit.

A unit id outside the month's tree (a mailbox left in a unit that had ended, a bridge point re-homed to a unit
created later) is resolved to a unit of the tree: an ended unit to its one successor, else to its parent; a
unit created later to its predecessor, or the lowest unit above all its predecessors, else to its parent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.mailbox_figures import Mailboxes
from provisioning.history import UnitState, units_on
from provisioning.history_models import StaffPlacement, UnitSuccession
from provisioning.models import Unit

Shape = list[tuple[int, int | None, str]]  # (unit id, parent id, path) as audit.mailbox_figures sums them
MOST_NAMED = 3  # successors named in a label; the others counted


@dataclass
class UnitLife:
    """What a unit row says today: where it hangs, when it started and ended."""

    parent_id: int | None
    started_on: dt.date | None
    ended_on: dt.date | None


@dataclass
class MonthTree:
    """The units of the day ``day`` (a month's last day) and the way into them from any unit or mailbox."""

    day: dt.date
    units: dict[int, UnitState]
    paths: dict[int, str]
    lives: dict[int, UnitLife]
    successors: dict[int, list[int]]
    predecessors: dict[int, list[int]]
    placed: dict[int, int]  # staff id → unit on ``day``, for those moved since (the others are where they are)
    _resolved: dict[int, int | None] = field(default_factory=dict)

    def shape(self) -> Shape:
        return [(uid, self.units[uid].parent_id, path) for uid, path in self.paths.items()]

    def unit_of(self, unit_id: int | None) -> int | None:
        """The unit of this tree that ``unit_id`` stands for (itself when it is one)."""
        if unit_id is None or unit_id in self.units:
            return unit_id
        if unit_id not in self._resolved:
            self._resolved[unit_id] = None  # while resolving: a cycle of successions ends here
            self._resolved[unit_id] = self._resolve(unit_id)
        return self._resolved[unit_id]

    def _resolve(self, unit_id: int) -> int | None:
        life = self.lives.get(unit_id)
        if life is None:
            return None
        if life.ended_on is not None and life.ended_on <= self.day:
            after = self.successors.get(unit_id, [])
            if len(after) == 1:
                return self.unit_of(after[0])
        elif life.started_on is not None and life.started_on > self.day:
            before = {u for u in (self.unit_of(p) for p in self.predecessors.get(unit_id, [])) if u is not None}
            if before:
                return self.lowest_above(before)
        return self.unit_of(life.parent_id)

    def lowest_above(self, unit_ids: set[int]) -> int:
        """The deepest unit whose subtree holds all of ``unit_ids`` (the first by path if they share no root)."""
        paths = sorted(self.paths.get(u, f"/{u}/") for u in unit_ids)  # no path yet while hanging the tree
        common = paths[0].strip("/").split("/")
        for path in paths[1:]:
            parts = path.strip("/").split("/")
            n = 0
            while n < min(len(common), len(parts)) and common[n] == parts[n]:
                n += 1
            common = common[:n]
        return int(common[-1]) if common else int(paths[0].strip("/").split("/")[-1])

    def place(self, mailboxes: Mailboxes) -> Mailboxes:
        """The mailboxes with the unit each was in on ``day``, in this tree (unit None when none can be found)."""
        if not self.placed and all(row[0] in self.units for row in mailboxes.values()):
            return mailboxes  # nobody moved since and every unit still stands: the usual month
        out: Mailboxes = {}
        for staff_id, (unit_id, kind, email, name) in mailboxes.items():
            out[staff_id] = (self.unit_of(self.placed.get(staff_id, unit_id)), kind, email, name)  # type: ignore[assignment]
        return out


def month_tree(session: Session, day: dt.date) -> MonthTree:
    """The tree of ``day`` with everything needed to place mailboxes and bridge points in it: four queries."""
    states = units_on(session, day)
    lives = {
        uid: UnitLife(parent, started, ended)
        for uid, parent, started, ended in session.execute(
            select(Unit.id, Unit.parent_id, Unit.started_on, Unit.ended_on)
        )
    }
    successors: dict[int, list[int]] = {}
    predecessors: dict[int, list[int]] = {}
    for before, after in session.execute(
        select(UnitSuccession.predecessor_id, UnitSuccession.successor_id).order_by(UnitSuccession.id)
    ):
        successors.setdefault(before, []).append(after)
        predecessors.setdefault(after, []).append(before)
    # A person's unit on a day: their earliest placement still valid after it, else where they are now (as
    # provisioning.history.placements_on; only the moved are read, the others come with the mailbox rows).
    placed: dict[int, int] = {}
    for staff_id, unit_id in session.execute(
        select(StaffPlacement.staff_id, StaffPlacement.unit_id)
        .where(StaffPlacement.valid_until > day)
        .order_by(StaffPlacement.valid_until.desc())
    ):
        placed[staff_id] = unit_id
    tree = MonthTree(day, states, {}, lives, successors, predecessors, placed)
    _hang(tree)
    return tree


def _hang(tree: MonthTree) -> None:
    """Paths of the month's tree ("/1/4/9/", as ``Unit.path``); a unit whose parent was not there that day hangs
    under the unit its parent stands for (a root if none)."""
    units = tree.units
    for uid, state in list(units.items()):
        if state.parent_id is not None and state.parent_id not in units:
            parent = tree.unit_of(state.parent_id)
            units[uid] = replace(state, parent_id=parent if parent != uid else None)

    def path_of(uid: int, depth: int = 0) -> str:
        if uid in tree.paths:
            return tree.paths[uid]
        parent = units[uid].parent_id
        # 64: deeper than any government; a cycle of parents stops there.
        path = f"/{uid}/" if parent is None or depth > 64 else f"{path_of(parent, depth + 1)}{uid}/"
        tree.paths[uid] = path
        return path

    for uid in units:
        path_of(uid)


# -- what became of a unit --------------------------------------------------------------------------------


def unit_fates(session: Session, units: Iterable[tuple[int, str]]) -> dict[int, dict[str, Any]]:
    """For units given as (id, name in the report's month): those that no longer stand as they did, today.

    ``{"kind": "merge" | "split" | "dissolve" | "ended", "into": [names]}`` for an ended unit (the kind of its
    succession; ``ended`` when it has none), ``{"kind": "renamed", "now": name}`` for one that stands renamed.
    """
    wanted = dict(units)
    if not wanted:
        return {}
    rows = {u.id: u for u in session.execute(select(Unit.id, Unit.name, Unit.ended_on))}
    ended = {uid for uid in wanted if uid in rows and rows[uid].ended_on is not None}
    after: dict[int, list[tuple[str, int]]] = {}
    if ended:
        for before, successor, kind in session.execute(
            select(UnitSuccession.predecessor_id, UnitSuccession.successor_id, UnitSuccession.kind).order_by(
                UnitSuccession.id
            )
        ):
            if before in ended:
                after.setdefault(before, []).append((kind, successor))
    fates: dict[int, dict[str, Any]] = {}
    for uid, name in wanted.items():
        row = rows.get(uid)
        if row is None:
            continue
        if uid in ended:
            into = after.get(uid, [])
            kinds = {k for k, _ in into}
            kind = "merge" if kinds == {"merge"} else "dissolve" if len(into) == 1 else "split" if into else "ended"
            names = [rows[s].name for _k, s in into if s in rows]
            fates[uid] = {"kind": kind, "into": names}
        elif row.name != name:
            fates[uid] = {"kind": "renamed", "now": row.name}
    return fates


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MOST_NAMED])
    return shown + (f" và {len(names) - MOST_NAMED} đơn vị khác" if len(names) > MOST_NAMED else "")


def fate_label(fate: dict[str, Any] | None) -> str:
    """A unit's fate as the exports and the PDF print it beside its name, in Vietnamese ("" for none)."""
    if not fate:
        return ""
    kind, into = fate["kind"], fate.get("into") or []
    if kind == "renamed":
        return f"(nay là {fate['now']})"
    if kind == "merge" and into:
        return f"(đã sáp nhập vào {_names(into)})"
    if kind == "split" and into:
        return f"(đã chia tách, nhân sự chuyển về {_names(into)})"
    if kind == "dissolve" and into:
        return f"(đã giải thể, nhân sự chuyển về {_names(into)})"
    return "(đã giải thể)"


def with_fates(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """The snapshot ``data`` with each unit's fate as of today (a snapshot made before a reorganisation learns
    that its districts have since merged). A shallow copy; the stored snapshot is not changed."""
    fates = unit_fates(session, ((u["id"], u["name"]) for u in data["units"]))
    return {**data, "units": [{**u, "fate": fates.get(u["id"])} for u in data["units"]]}


def labelled(data: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with each unit's fate written after its name, for the files (XLSX, CSV, PDF)."""
    if not any(u.get("fate") for u in data["units"]):
        return data
    units = [{**u, "name": f"{u['name']} {fate_label(u['fate'])}"} if u.get("fate") else u for u in data["units"]]
    return {**data, "units": units}
