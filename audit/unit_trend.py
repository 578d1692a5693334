"""A unit's 12-month trend that compares like with like across a reorganisation: for a unit of a report's month,
each earlier month's figures are those of the mailboxes that are in the unit (its subunits included) in the
report's month (audit.definitions.COMPARISON_EN). A commune formed on 1 July from two districts has values for
the months before it existed: those of the districts' people who make it up.

Every unit's trend is worked out once, when a report version is generated (:func:`unit_trends`, stored by
audit.report_store beside the snapshot's other parts), so a unit's page reads one row. :func:`unit_trend` works
out one unit's from the database as it is now: for snapshots stored before the trends were, and to check the
stored ones. Both go through :func:`_trends`: the mailboxes (all, or those that can be the unit's), the month's
tree, and the usage of all the months from the monthly rollups.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.definitions import Definitions
from audit.mailbox_figures import (
    MEASURES,
    enabled_among,
    mailbox_rows,
    subtree_unit_ids,
    unit_figures,
    with_shares,
)
from audit.months import month_bounds, month_span, months_until
from audit.report_history import month_tree
from audit.usage_months import months_usage
from meetings.availability import working_days
from provisioning.models import AccountKind, Unit

TREND_MONTHS = 12


def unit_trend(
    session: Session, data: dict[str, Any], unit_id: int, definitions: Definitions, months: int = TREND_MONTHS
) -> list[dict[str, Any]]:
    """For the unit ``unit_id`` of the report ``data`` (a snapshot): the ``months`` months ending with the
    report's, oldest first, each ``{"month", "figures", "before_unit"}`` (``before_unit``: the unit did not
    exist yet, the figures are its people's in their units of then). "Regular" keeps the snapshot's number of
    days, so the report's month reads as in the report; holidays and the time zone are ``definitions``'."""
    return _trends(session, data, definitions, months, unit_id)[unit_id]


def unit_trends(
    session: Session, data: dict[str, Any], definitions: Definitions, months: int = TREND_MONTHS
) -> dict[int, list[dict[str, Any]]]:
    """:func:`unit_trend` of every unit of the snapshot ``data`` at once (unit id → its points): every mailbox
    and the months' whole rollups read once, each mailbox's figures added to the units it counts in."""
    return _trends(session, data, definitions, months, None)


def _trends(
    session: Session, data: dict[str, Any], definitions: Definitions, months: int, only: int | None
) -> dict[int, list[dict[str, Any]]]:
    month = data["month"]
    _first, last = month_bounds(month)
    _start, end = month_span(month, definitions.tz)
    regular_days = int(data["definitions"].get("regular_days", definitions.regular_days))
    wanted = [only] if only is not None else [u["id"] for u in data["units"]]
    inside = {unit_id: subtree_unit_ids(data["units"], unit_id) for unit_id in wanted}
    counting = set().union(*inside.values())  # the units whose people count in a wanted trend
    tree = month_tree(session, last)
    if only is None:
        known = mailbox_rows(session, end)
        started: dict[int, Any] = {uid: began for uid, began in session.execute(select(Unit.id, Unit.started_on))}
    else:
        # Only the mailboxes that can be the unit's: now in a unit that this month's tree counts inside it, or
        # placed in one that month (the test below picks the members among them).
        homes = {u for u in tree.lives if tree.unit_of(u) in counting}
        known = mailbox_rows(session, end, units=homes, ids=[s for s, u in tree.placed.items() if u in homes])
        unit = session.get(Unit, only)
        started = {only: unit.started_on if unit is not None else None}
    # Each personal mailbox's unit in the report's month, for those who count in a wanted trend.
    home: dict[int, int] = {}
    for staff_id, unit_id, kind, *_rest in known.rows:
        if kind == AccountKind.PERSONAL:
            placed = tree.unit_of(tree.placed.get(staff_id, unit_id))
            if placed in counting:
                home[staff_id] = placed
    known.rows[:] = [row for row in known.rows if row[0] in home]
    span = months_until(month, months)
    bounds = [month_bounds(m) for m in span]
    work = [day for first, final in bounds for day in working_days(first, final, definitions.holidays)]
    usages = months_usage(session, [first for first, _final in bounds], work, home)
    out: dict[int, list[dict[str, Any]]] = {unit_id: [] for unit_id in wanted}
    for m, (first, final) in zip(span, bounds, strict=True):
        start, stop = month_span(m, definitions.tz)
        personal = {sid: (home[sid], *rest) for sid, (_u, *rest) in enabled_among(known, start, stop)[0].items()}
        direct = unit_figures(personal, usages[first], regular_days)
        for unit_id in wanted:
            figures = dict.fromkeys(MEASURES, 0)
            for member in inside[unit_id] & direct.keys():
                for measure, value in direct[member].items():
                    figures[measure] += value
            began = started.get(unit_id)
            out[unit_id].append(
                {"month": m, "figures": with_shares(figures), "before_unit": began is not None and began > final}
            )
    return out


def trend_points(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trend as the console's line chart takes it (``{"month", "province": figures}``)."""
    return [{"month": p["month"], "province": p["figures"] if p["figures"]["counted"] else None} for p in points]
