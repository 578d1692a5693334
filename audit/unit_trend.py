"""A unit's 12-month trend that compares like with like across a reorganisation: for a unit of a report's month,
each earlier month's figures are those of the mailboxes that are in the unit (its subunits included) in the
report's month (audit.definitions.COMPARISON_EN). A commune formed on 1 July from two districts has values for
the months before it existed: those of the districts' people who make it up.

Read when a unit's page asks for it, never while building a report: a few queries for the unit's mailboxes (by
their units) and the history, then the usage of all the months from the monthly rollups, asked by id.
"""

from __future__ import annotations

from typing import Any

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
    month = data["month"]
    _first, last = month_bounds(month)
    _start, end = month_span(month, definitions.tz)
    regular_days = int(data["definitions"].get("regular_days", definitions.regular_days))
    inside = subtree_unit_ids(data["units"], unit_id)
    tree = month_tree(session, last)
    # Only the mailboxes that can be the unit's: now in a unit that this month's tree counts inside it, or placed
    # in one that month (the same test as below picks the members among them).
    homes = {u for u in tree.lives if tree.unit_of(u) in inside}
    known = mailbox_rows(session, end, units=homes, ids=[s for s, u in tree.placed.items() if u in homes])
    members = {
        staff_id
        for staff_id, unit, kind, *_rest in known.rows
        if kind == AccountKind.PERSONAL and tree.unit_of(tree.placed.get(staff_id, unit)) in inside
    }
    known.rows[:] = [row for row in known.rows if row[0] in members]
    unit = session.get(Unit, unit_id)
    started = unit.started_on if unit is not None else None
    points = []
    span = months_until(month, months)
    bounds = [month_bounds(m) for m in span]
    work = [day for first, final in bounds for day in working_days(first, final, definitions.holidays)]
    usages = months_usage(session, [first for first, _final in bounds], work, members)
    for m, (first, final) in zip(span, bounds, strict=True):
        start, stop = month_span(m, definitions.tz)
        personal = {sid: (unit_id, *rest) for sid, (_u, *rest) in enabled_among(known, start, stop)[0].items()}
        usage = usages[first]
        figures = unit_figures(personal, usage, regular_days).get(unit_id, dict.fromkeys(MEASURES, 0))
        points.append(
            {
                "month": m,
                "figures": with_shares(figures),
                "before_unit": started is not None and started > final,
            }
        )
    return points


def trend_points(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trend as the console's line chart takes it (``{"month", "province": figures}``)."""
    return [{"month": p["month"], "province": p["figures"] if p["figures"]["counted"] else None} for p in points]
