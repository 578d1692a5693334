"""Console pages for bridge points: the list (add one, take one out of service or back) and a point's day or
week calendar. They are registered on the meetings blueprint (``admin_app.meetings_views``), so their endpoints
stay ``meetings.points``, ``meetings.point_update`` and ``meetings.point_calendar``. The operations check who may
change a point; the list asks the same rule (``can_manage_points``) only to offer the forms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from admin_app.error_words import domain_message
from core.validation import clean_date, clean_int
from meetings.errors import MeetingsError
from meetings.models import BridgePoint
from meetings.operations.points import create_bridge_point, update_bridge_point
from meetings.permissions import can_manage_points
from meetings.queries import visible_meetings
from provisioning.models import Unit
from provisioning.queries import visible_units

# More people than any hall holds; a larger number is a typing slip (and would not fit the column).
MAX_CAPACITY = 100_000


def all_points() -> list[BridgePoint]:
    return list(db().scalars(select(BridgePoint).options(selectinload(BridgePoint.unit)).order_by(BridgePoint.name)))


@dataclass(frozen=True, slots=True)
class PointRow:
    """A bridge point as the week board and the point picker show it, read as a plain row (160 points and their
    units as objects cost the board a third of its time)."""

    id: int
    name: str
    is_active: bool
    unit_kind: str


def point_rows() -> list[PointRow]:
    """Every bridge point, by name, with its unit's kind."""
    stmt = (
        select(BridgePoint.id, BridgePoint.name, BridgePoint.is_active, Unit.kind)
        .join(Unit, Unit.id == BridgePoint.unit_id)
        .order_by(BridgePoint.name, BridgePoint.id)
    )
    return [PointRow(*row) for row in db().execute(stmt)]


# The board and the point picker list points in these sections (the province hall first, communes last).
SECTIONS = (
    ("province", ("province", "office")),
    ("department", ("department",)),
    ("district", ("district",)),
    ("commune", ("commune",)),
)


def point_sections(points: list[PointRow], kind: str = "", text: str = "") -> list[tuple[str, list[PointRow]]]:
    """Points grouped by the kind of their unit (province, departments, districts, communes), optionally only one
    kind and only names containing ``text`` (case and diacritics as typed)."""
    folded = text.strip().casefold()
    out = []
    for key, kinds in SECTIONS:
        if kind and kind != key:
            continue
        chosen = [p for p in points if p.unit_kind in kinds and (not folded or folded in p.name.casefold())]
        if chosen:
            out.append((key, chosen))
    return out


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def day_arg(name: str = "date") -> dt.date:
    """The local day named by the query argument ``name`` (400 naming it if unreadable), else today."""
    raw = request.args.get(name)
    if raw:
        return clean_date(raw, name)  # InputError: the console's 400 page says which argument and why
    return dt.datetime.now(runtime_of().settings.tz).date()


def local_range(first: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    tz = runtime_of().settings.tz
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    return start, start + dt.timedelta(days=days)


@login_required
def point_calendar(point_id: int) -> Any:
    point = db().get(BridgePoint, point_id)
    if point is None:
        abort(404)
    view = "day" if request.args.get("view") == "day" else "week"
    day = day_arg()
    first = day if view == "day" else monday_of(day)
    count = 1 if view == "day" else 7
    start, end = local_range(first, count)
    held = visible_meetings(db(), start, end, point_id=point.id)
    meetings = [m for m in held if not m.is_cancelled]
    cancelled = [m for m in held if m.is_cancelled]
    tz = runtime_of().settings.tz
    days = [first + dt.timedelta(days=i) for i in range(count)]
    by_day = {d: [m for m in meetings if m.starts_at.astimezone(tz).date() == d] for d in days}
    step = dt.timedelta(days=count)
    return render_template(
        "point_calendar.html",
        point=point,
        view=view,
        days=days,
        by_day=by_day,
        cancelled=cancelled,
        prev=first - step,
        next=first + step,
        day=day,
    )


def _capacity(raw: str) -> int:
    return clean_int(raw, "capacity", minimum=0, maximum=MAX_CAPACITY, error=MeetingsError)


@login_required
def points() -> Any:
    actor = signed_in_actor()
    error = None
    if request.method == "POST":
        try:
            unit_id = clean_int(request.form.get("unit_id") or "0", "unit", minimum=0, error=MeetingsError)
            unit = db().get(Unit, unit_id) if unit_id else None
            if unit is None:
                raise MeetingsError("unit: choose the unit the point belongs to")
            create_bridge_point(
                db(),
                actor,
                name=request.form.get("name", ""),
                unit=unit,
                location=request.form.get("location", ""),
                capacity=_capacity(request.form.get("capacity") or "0"),
                contact_email=request.form.get("contact_email", ""),
                equipment=request.form.get("equipment", ""),
            )
        except MeetingsError as exc:
            error = domain_message(exc)
        else:
            flash(_("Bridge point added."), "success")
            return redirect(url_for("meetings.points"))
    admin_units = [u for u in db().scalars(visible_units(actor)) if can_manage_points(actor, u)]
    return render_template(
        "points.html", points=all_points(), admin_units=admin_units, error=error, form=request.form
    ), (422 if error else 200)


@login_required
def point_update(point_id: int) -> Any:
    point = db().get(BridgePoint, point_id)
    if point is None:
        abort(404)
    try:
        capacity = _capacity(request.form["capacity"]) if request.form.get("capacity") else point.capacity
        update_bridge_point(
            db(),
            signed_in_actor(),
            point,
            location=request.form.get("location", point.location),
            contact_email=request.form.get("contact_email", point.contact_email),
            capacity=capacity,
            equipment=request.form.get("equipment", point.equipment),
            is_active=request.form.get("is_active") == "yes",
        )
    except MeetingsError as exc:
        flash(domain_message(exc), "error")
    else:
        flash(_("Bridge point saved."), "success")
    return redirect(url_for("meetings.points"))
