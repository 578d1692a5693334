"""The mailbox side of the monthly report: who is counted in a month, how each mailbox used mail, and the
figures per unit (counted, active, regular, engaged) summed up the government tree; the inactive list a page at
a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from provisioning.models import AccountKind, AccountStatus, Staff, StaffStatusChange

MEASURES = ("counted", "active", "regular", "engaged")
FEW = 900  # mailboxes asked for by id in one IN (…): below SQLite's bound on parameters
Mailboxes = dict[int, tuple[int, str, str, str]]  # staff id -> (unit id, kind, email, name)


def rows_by_id(session: Session, query: Select[Any], column: Any, keys: Collection[int]) -> list[Any]:
    """The rows of ``query`` whose ``column`` is one of ``keys``, asked ``FEW`` keys at a time (in key order, so
    a query ordered by ``column`` comes back in that order)."""
    wanted = sorted(keys)
    return [
        row
        for start in range(0, len(wanted), FEW)
        for row in session.execute(query.where(column.in_(wanted[start : start + FEW])))
    ]


@dataclass(frozen=True)
class MailboxRows:
    """Every mailbox created before some instant, with all its recorded status changes: enough to tell who was
    enabled in any month before that instant (:func:`enabled_among`)."""

    rows: list[tuple[int, int, str, str, str, str, dt.datetime]]  # id, unit, kind, email, name, status, created
    changes: dict[int, list[tuple[dt.datetime, str]]]


def mailbox_rows(
    session: Session, end: dt.datetime, *, units: Collection[int] | None = None, ids: Collection[int] = ()
) -> MailboxRows:
    """The mailboxes created before ``end`` and their status changes (all of them: one made after a month still
    says the mailbox was created active, whatever its status now): two queries. With ``units``, only the
    mailboxes now in those units and those of ``ids`` (a unit's page: a few queries of ``FEW`` at a time)."""
    columns = (Staff.id, Staff.unit_id, Staff.kind, Staff.email, Staff.full_name, Staff.status, Staff.created_at)
    query = select(*columns).where(Staff.created_at < end)
    changes_query = select(StaffStatusChange.staff_id, StaffStatusChange.status, StaffStatusChange.changed_at)
    in_order = (StaffStatusChange.staff_id, StaffStatusChange.changed_at)
    found: Iterable[Any]
    if units is None:
        rows = session.execute(query).all()
        found = session.execute(changes_query.order_by(*in_order))
    else:
        by_id = {r[0]: r for r in rows_by_id(session, query, Staff.unit_id, units)}
        by_id.update((r[0], r) for r in rows_by_id(session, query, Staff.id, ids))
        rows = list(by_id.values())
        found = rows_by_id(session, changes_query.order_by(*in_order), StaffStatusChange.staff_id, by_id)
    changes: dict[int, list[tuple[dt.datetime, str]]] = {}
    for staff_id, status, at in found:
        changes.setdefault(staff_id, []).append((at, status))
    return MailboxRows(rows, changes)  # type: ignore[arg-type]


def enabled_among(known: MailboxRows, start: dt.datetime, end: dt.datetime) -> tuple[Mailboxes, Mailboxes]:
    """Of ``known``, those enabled at any time in [start, end): (personal, others).

    A mailbox exists from its creation; its status follows the recorded status changes. It counts when an
    active stretch overlaps the month: active at the start, or becoming active during it.
    """
    personal: Mailboxes = {}
    others: Mailboxes = {}
    for staff_id, unit_id, kind, email, name, status, created in known.rows:
        if created >= end:
            continue
        history = known.changes.get(staff_id)
        if history is None:
            # No recorded change: the status it was created with (active), unless the current status was set
            # without a record (older data) and says otherwise.
            enabled = status == AccountStatus.ACTIVE or created >= start
        else:
            state_at_start = AccountStatus.ACTIVE
            for at, new in history:
                if at < start:
                    state_at_start = new
            enabled = state_at_start == AccountStatus.ACTIVE or any(
                start <= at < end and new == AccountStatus.ACTIVE for at, new in history
            )
        if enabled:
            (personal if kind == AccountKind.PERSONAL else others)[staff_id] = (unit_id, kind, email, name)
    return personal, others


def enabled_in(session: Session, start: dt.datetime, end: dt.datetime) -> tuple[Mailboxes, Mailboxes]:
    """Mailboxes enabled at any time in [start, end): (personal, others) as id → (unit id, kind, email, name)."""
    return enabled_among(mailbox_rows(session, end), start, end)


def unit_figures(
    personal: Mailboxes, usage: dict[int, tuple[int, ...]], regular_days: int
) -> dict[int, dict[str, int]]:
    """Per unit (direct members only): counted, active, regular, engaged."""
    per_unit: dict[int, dict[str, int]] = {}
    for staff_id, (unit_id, _kind, _email, _name) in personal.items():
        row = per_unit.setdefault(unit_id, dict.fromkeys(MEASURES, 0))
        row["counted"] += 1
        use = usage.get(staff_id)
        if use is None:
            continue
        logins, work_days, sent = use[0], use[1], use[2]
        if logins > 0:
            row["active"] += 1
        if work_days >= regular_days:
            row["regular"] += 1
        if sent > 0:
            row["engaged"] += 1
    return per_unit


def with_shares(counts: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = dict(counts)
    counted = counts.get("counted", 0)
    for measure in MEASURES[1:]:
        out[f"{measure}_share"] = round(counts.get(measure, 0) / counted, 4) if counted else None
    return out


def subtree_totals(
    units: list[tuple[int, int | None, str]], direct: dict[int, dict[str, int]]
) -> dict[int, dict[str, int]]:
    """Direct figures summed up the tree (deepest first): each unit's row covers its whole subtree."""
    totals = {uid: dict(direct.get(uid, dict.fromkeys(MEASURES, 0))) for uid, _p, _path in units}
    for uid, parent, _path in sorted(units, key=lambda u: -u[2].count("/")):
        if parent is not None and parent in totals:
            for key, value in totals[uid].items():
                totals[parent][key] = totals[parent].get(key, 0) + value
    return totals


# -- the counted mailboxes with no activity, a page at a time ----------------------------------------------

INACTIVE_PAGE_SIZE = 50


@dataclass(frozen=True)
class InactivePage:
    """One page of a snapshot's inactive list, filtered to a unit's subtree (all units when ``unit_id`` is None)."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    unit_id: int | None


def subtree_unit_ids(units: list[dict[str, Any]], unit_id: int) -> set[int]:
    """The ids of a unit and everything under it, from a snapshot's unit rows (tree order, parents first)."""
    inside = {unit_id}
    for row in units:
        if row.get("parent_id") in inside:
            inside.add(row["id"])
    return inside


def inactive_rows(data: dict[str, Any], unit_id: int | None = None) -> list[dict[str, Any]]:
    """The snapshot's inactive mailboxes, those of ``unit_id``'s subtree if given. Snapshots made before the
    rows carried their unit's id are matched by the unit's name."""
    rows: list[dict[str, Any]] = data.get("inactive", [])
    if unit_id is None:
        return rows
    inside = subtree_unit_ids(data["units"], unit_id)
    names = {u["name"] for u in data["units"] if u["id"] in inside}
    return [r for r in rows if (r["unit_id"] in inside if "unit_id" in r else r["unit"] in names)]


def inactive_page(
    data: dict[str, Any], unit_id: int | None = None, page: int = 1, per_page: int = INACTIVE_PAGE_SIZE
) -> InactivePage:
    """Page ``page`` (from 1; beyond the last gives the last) of :func:`inactive_rows`."""
    rows = inactive_rows(data, unit_id)
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(page, 1), pages)
    return InactivePage(rows[(page - 1) * per_page : page * per_page], len(rows), page, pages, unit_id)
