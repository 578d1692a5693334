"""Console pages for meetings: the board of all points, a point's day/week calendar, booking (with "find a
time"), a meeting's page (points, people, links, planned versus attended), change and cancel; bridge points.
Also the endpoints Jitsi's event-sync component posts attendance to (bearer token, no cookies)."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin_app import db, runtime_of
from admin_app.auth import current_actor, login_required
from core.actors import Actor, PermissionDenied
from meetings import invitations
from meetings.attendance import EventRejected, handle_event, point_attendance
from meetings.inputs import changes_from, draft_from, parse_date, parse_int, parse_search_range, point_ids_from
from meetings.jitsi import join_link, person_participant
from meetings.models import BridgePoint, Meeting
from meetings.operations import (
    POINT_GROUPS,
    MeetingConflict,
    MeetingsError,
    book_meeting,
    cancel_meeting,
    change_meeting,
    create_bridge_point,
    find_free_slots,
    load_meeting,
    update_bridge_point,
    visible_meetings,
)
from meetings.recurrence import RecurrenceError
from provisioning.models import Role, Unit
from provisioning.queries import visible_units

bp = Blueprint("meetings", __name__)
events_bp = Blueprint("events", __name__, url_prefix="/events")
WEEKDAY_KEYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
GROUP_LABELS = {
    "district": _l("All district points"),
    "department": _l("All department points"),
    "commune": _l("All commune points"),
    "province": _l("Province-level points"),
}


def _actor() -> Actor:
    actor = current_actor()
    if actor is None:
        abort(401)
    return actor


def _may_book(actor: Actor) -> bool:
    return actor.is_system_admin or any(r == Role.SECRETARY for r, _p in actor.roles)


def _points() -> list[BridgePoint]:
    return list(db().scalars(select(BridgePoint).options(selectinload(BridgePoint.unit)).order_by(BridgePoint.name)))


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _day_arg(name: str = "date") -> dt.date:
    raw = request.args.get(name)
    if raw:
        try:
            return parse_date(raw, name)
        except MeetingsError:
            abort(400)
    return dt.datetime.now(runtime_of().settings.tz).date()


def _local_range(first: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    tz = runtime_of().settings.tz
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    return start, start + dt.timedelta(days=days)


@bp.route("/meetings")
@login_required
def board() -> Any:
    """All points × the days of a week: who holds which point when."""
    monday = _monday(_day_arg("week"))
    start, end = _local_range(monday, 7)
    meetings = visible_meetings(db(), start, end)
    tz = runtime_of().settings.tz
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    grid: dict[tuple[int, dt.date], list[Meeting]] = {}
    for meeting in meetings:
        if meeting.is_cancelled:
            continue
        day = meeting.starts_at.astimezone(tz).date()
        for mp in meeting.points:
            grid.setdefault((mp.point_id, day), []).append(meeting)
    return render_template(
        "meetings_board.html",
        points=[p for p in _points() if p.is_active],
        days=days,
        grid=grid,
        meetings=meetings,
        monday=monday,
        prev_week=monday - dt.timedelta(days=7),
        next_week=monday + dt.timedelta(days=7),
        may_book=_may_book(_actor()),
    )


@bp.route("/points/<int:point_id>/calendar")
@login_required
def point_calendar(point_id: int) -> Any:
    point = db().get(BridgePoint, point_id)
    if point is None:
        abort(404)
    view = "day" if request.args.get("view") == "day" else "week"
    day = _day_arg()
    first = day if view == "day" else _monday(day)
    count = 1 if view == "day" else 7
    start, end = _local_range(first, count)
    meetings = [m for m in visible_meetings(db(), start, end, point_id=point.id) if not m.is_cancelled]
    cancelled = [m for m in visible_meetings(db(), start, end, point_id=point.id) if m.is_cancelled]
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


def _meeting(meeting_id: int) -> Meeting:
    meeting = load_meeting(db(), meeting_id)
    if meeting is None:
        abort(404)
    return meeting


@bp.route("/meetings/<int:meeting_id>")
@login_required
def meeting_detail(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    actor = _actor()
    runtime = runtime_of()
    may_book = _may_book(actor)
    links: list[tuple[str, str, str]] = []  # (who, role, link)
    link_error = None
    if may_book and not meeting.is_cancelled:
        try:
            for r in invitations.recipients(meeting) + _contactless(meeting):
                links.append((r.name or r.email, r.role, join_link(runtime.meeting_env.jitsi, meeting, r.who)))
        except ValueError as exc:
            link_error = str(exc)
    attendance = point_attendance(meeting)
    people = [a for a in meeting.attendance if a.point_id is None]
    siblings = meeting.series.occurrences if meeting.series is not None else []
    return render_template(
        "meeting_detail.html",
        meeting=meeting,
        attendance=attendance,
        people=people,
        links=links,
        link_error=link_error,
        may_book=may_book,
        siblings=siblings,
        attended_count=sum(a.attended for a in attendance),
    )


def _contactless(meeting: Meeting) -> list[invitations.Recipient]:
    """Points without a contact mailbox still need their link (the secretary passes it on)."""
    from meetings.jitsi import point_participant

    return [
        invitations.Recipient("", mp.point.name, point_participant(meeting, mp.point), "point")
        for mp in meeting.points
        if not mp.point.contact_email
    ]


@bp.route("/meetings/<int:meeting_id>.ics")
@login_required
def meeting_ics(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    if not _may_book(_actor()):
        abort(403)
    env = runtime_of().meeting_env
    r = invitations.Recipient(
        meeting.organiser_email,
        meeting.organiser_name,
        person_participant(meeting, meeting.organiser_email or "organiser@invalid", meeting.organiser_name),
        "organiser",
    )
    occurrences = list(meeting.series.occurrences) if meeting.series is not None else [meeting]
    text = invitations.series_calendar(occurrences, env, r)
    return Response(
        text,
        mimetype="text/calendar",
        headers={"Content-Disposition": f"attachment; filename=meeting-{meeting.id}.ics"},
    )


def _form_context(form: Any, error: str | None = None, conflicts: list[Any] | None = None) -> dict[str, Any]:
    units = list(db().scalars(select(Unit).where(Unit.id.in_(select(BridgePoint.unit_id))).order_by(Unit.name)))
    return {
        "points": [p for p in _points() if p.is_active],
        "groups": {key: GROUP_LABELS.get(key, key) for key in POINT_GROUPS},
        "units": units,
        "form": form,
        "error": error,
        "conflicts": conflicts or [],
        "default_buffer": runtime_of().settings.meeting_buffer_minutes,
        "weekday_keys": WEEKDAY_KEYS,
    }


def _form_data() -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {k: form.get(k, "") for k in form}
    data["point_ids"] = form.getlist("point_ids")
    data["groups"] = [g for g in form.getlist("groups") if g] + (
        [f"unit:{form.get('unit_group')}"] if form.get("unit_group") else []
    )
    data["weekdays"] = form.getlist("weekdays")
    return data


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting() -> Any:
    actor = _actor()
    if not _may_book(actor):
        abort(403)
    if request.method == "GET":
        return render_template("meeting_new.html", **_form_context(request.args))
    runtime = runtime_of()
    try:
        draft = draft_from(db(), runtime.meeting_env, _form_data(), organiser=(actor.name, _actor_email(actor)))
        created = book_meeting(db(), actor, runtime.meeting_env, draft)
    except PermissionDenied:
        abort(403)
    except MeetingConflict as exc:
        return render_template(
            "meeting_new.html", **_form_context(request.form, _("Some bridge points are busy."), exc.conflicts)
        ), 409
    except (MeetingsError, RecurrenceError) as exc:
        return render_template("meeting_new.html", **_form_context(request.form, str(exc))), 422
    flash(
        _("Meeting booked (%(n)d occurrences); invitations are being sent.", n=len(created))
        if len(created) > 1
        else _("Meeting booked; invitations are being sent."),
        "success",
    )
    return redirect(url_for("meetings.meeting_detail", meeting_id=created[0].id))


def _actor_email(actor: Actor) -> str:
    return actor.name if "@" in actor.name else ""


@bp.route("/meetings/<int:meeting_id>/change", methods=["POST"])
@login_required
def change(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    actor = _actor()
    runtime = runtime_of()
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "scope") and v != ""}
    try:
        changes = changes_from(db(), runtime.meeting_env, data, meeting.starts_at)
        change_meeting(db(), actor, runtime.meeting_env, meeting, changes, scope=request.form.get("scope", "one"))
    except PermissionDenied:
        abort(403)
    except MeetingsError as exc:
        db().rollback()  # a series change may have touched some occurrences before the refusal: keep none
        flash(str(exc), "error")
        return redirect(url_for("meetings.meeting_detail", meeting_id=meeting_id))
    flash(_("Meeting changed; updates are being sent."), "success")
    return redirect(url_for("meetings.meeting_detail", meeting_id=meeting.id))


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["POST"])
@login_required
def cancel(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the cancellation."), "error")
        return redirect(url_for("meetings.meeting_detail", meeting_id=meeting.id))
    try:
        cancel_meeting(
            db(),
            _actor(),
            runtime_of().meeting_env,
            meeting,
            scope=request.form.get("scope", "one"),
            reason=request.form.get("reason", ""),
        )
    except PermissionDenied:
        abort(403)
    except MeetingsError as exc:
        db().rollback()
        flash(str(exc), "error")
        return redirect(url_for("meetings.meeting_detail", meeting_id=meeting_id))
    flash(_("Meeting cancelled; everyone is being told."), "success")
    return redirect(url_for("meetings.meeting_detail", meeting_id=meeting.id))


@bp.route("/meetings/find-time", methods=["GET", "POST"])
@login_required
def find_time() -> Any:
    if not _may_book(_actor()):
        abort(403)
    slots = None
    error = None
    form: Any = request.form if request.method == "POST" else request.args
    if request.method == "POST":
        try:
            data = _form_data()
            ids = point_ids_from(db(), data["point_ids"], data["groups"])
            if not ids:
                raise MeetingsError(_("points: choose at least one bridge point or group"))
            minutes = parse_int(form.get("duration"), "duration", 60) or 60
            first, last = parse_search_range(form.get("from"), form.get("to"))
            slots = find_free_slots(
                db(),
                runtime_of().meeting_env,
                ids,
                dt.timedelta(minutes=minutes),
                first,
                last,
                buffer_minutes=parse_int(form.get("buffer_minutes"), "set-up buffer"),
                not_before=dt.datetime.now(dt.UTC),
                limit=8,
            )
            chosen = ids
        except MeetingsError as exc:
            error = str(exc)
            chosen = []
    else:
        chosen = []
    return render_template("find_time.html", slots=slots, chosen=chosen, **_form_context(form, error))


@bp.route("/points", methods=["GET", "POST"])
@login_required
def points() -> Any:
    actor = _actor()
    error = None
    if request.method == "POST":
        try:
            unit = db().get(Unit, request.form.get("unit_id", type=int) or 0)
            if unit is None:
                raise MeetingsError("unit: choose the unit the point belongs to")
            create_bridge_point(
                db(),
                actor,
                name=request.form.get("name", ""),
                unit=unit,
                location=request.form.get("location", ""),
                capacity=request.form.get("capacity", type=int) or 0,
                contact_email=request.form.get("contact_email", ""),
                equipment=request.form.get("equipment", ""),
            )
        except PermissionDenied:
            abort(403)
        except MeetingsError as exc:
            error = str(exc)
        else:
            flash(_("Bridge point added."), "success")
            return redirect(url_for("meetings.points"))
    admin_units = [u for u in db().scalars(visible_units(actor)) if actor.can(Role.UNIT_ADMIN, u)]
    return render_template("points.html", points=_points(), admin_units=admin_units, error=error, form=request.form), (
        422 if error else 200
    )


@bp.route("/points/<int:point_id>", methods=["POST"])
@login_required
def point_update(point_id: int) -> Any:
    point = db().get(BridgePoint, point_id)
    if point is None:
        abort(404)
    try:
        update_bridge_point(
            db(),
            _actor(),
            point,
            location=request.form.get("location", point.location),
            contact_email=request.form.get("contact_email", point.contact_email),
            capacity=request.form.get("capacity", type=int) if request.form.get("capacity") else point.capacity,
            equipment=request.form.get("equipment", point.equipment),
            is_active=request.form.get("is_active") == "yes",
        )
    except PermissionDenied:
        abort(403)
    except MeetingsError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Bridge point saved."), "success")
    return redirect(url_for("meetings.points"))


# -- Jitsi event-sync -------------------------------------------------------------------------------------


@events_bp.route("/<path:kind>", methods=["POST"])
def jitsi_event(kind: str) -> Any:
    """Room and occupant events from Jitsi's event-sync component, guarded by the configured bearer token."""
    expected = runtime_of().settings.events_token
    if not expected:
        return jsonify(error={"code": "not_configured", "message": "events_token is not set"}), 503
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        return jsonify(error={"code": "unauthorized", "message": "a valid bearer token is required"}), 401
    body = request.get_json(silent=True)
    if body is None:
        return jsonify(error={"code": "bad_request", "message": "body: a JSON object is required"}), 400
    try:
        outcome = handle_event(db(), kind, body)
    except EventRejected as exc:
        return jsonify(error={"code": "rejected", "message": exc.message}), exc.status
    return jsonify(meeting_id=outcome.meeting_id, result=outcome.message)
