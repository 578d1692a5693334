"""Console pages for meetings: the board of all points, booking (with "find a time"), a meeting's page (points,
people, links, planned versus attended), change and cancel; the bridge point pages are ``admin_app.points_views``,
registered here on the same blueprint. Also the endpoints Jitsi's event-sync component posts attendance to
(bearer token, no cookies).

The operations check permissions themselves: a refusal (PermissionDenied) becomes the 403 page for every view of
this blueprint. The pages ask the same ``meetings.permissions`` rules only to show or hide what is offered."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from admin_app.error_words import domain_message
from admin_app.points_views import (
    day_arg,
    local_range,
    monday_of,
    point_calendar,
    point_rows,
    point_sections,
    point_update,
    points,
)
from admin_app.url_patterns import addresses
from admin_app.week_board import BoardLine, board_rows, meeting_rows, week_lines
from core.actors import Actor, PermissionDenied
from core.db import utcnow
from meetings import invitations
from meetings.attendance import EventRejected, handle_event, point_attendance
from meetings.availability_inputs import AvailabilityQuery, availability_query_from
from meetings.errors import MeetingConflict, MeetingsError
from meetings.inputs import changes_from, draft_from, parse_int, parse_search_range, point_ids_from
from meetings.models import BridgePoint, Meeting
from meetings.operations.bookings import book_meeting
from meetings.operations.changes import cancel_meeting, change_meeting
from meetings.operations.points import POINT_GROUPS
from meetings.operations.roll_call import mark_roll_call
from meetings.operations.suggestions import Availability, check_availability, find_free_slots
from meetings.permissions import can_book, can_change, can_find_time, can_see_links
from meetings.queries import load_meeting
from meetings.recurrence import RecurrenceError
from provisioning.models import Unit

bp = Blueprint("meetings", __name__)
events_bp = Blueprint("events", __name__, url_prefix="/events")
bp.add_url_rule("/points", view_func=points, methods=["GET", "POST"])
bp.add_url_rule("/points/<int:point_id>", view_func=point_update, methods=["POST"])
bp.add_url_rule("/points/<int:point_id>/calendar", view_func=point_calendar)
WEEKDAY_KEYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
GROUP_LABELS = {
    "district": _l("All district points"),
    "department": _l("All department points"),
    "commune": _l("All commune points"),
    "province": _l("Province-level points"),
}
SECTION_LABELS = {
    "province": _l("Province"),
    "department": _l("Departments"),
    "district": _l("Districts"),
    "commune": _l("Communes and wards"),
}


@bp.errorhandler(PermissionDenied)
def _refused(_exc: PermissionDenied) -> Any:
    """An operation refused the actor: answer with the console's own 403 page (the request then rolls back)."""
    return current_app.handle_http_exception(Forbidden())


@bp.route("/meetings")
@login_required
def board() -> Any:
    """All points × the days of a week, in sections by kind (province, departments, communes), optionally one kind
    or names containing some text: who holds which point when."""
    monday = monday_of(day_arg("week"))
    kind = request.args.get("kind", "")
    text = request.args.get("q", "")
    start, end = local_range(monday, 7)
    tz = runtime_of().settings.tz
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    every_point = point_rows()
    lines = week_lines(db(), start, end, tz, {p.id: p.name for p in every_point})
    grid: dict[tuple[int, dt.date], list[BoardLine]] = {}
    for line in lines:
        if line.is_cancelled:
            continue
        day = line.day
        while day <= line.last_day:  # each day of the meeting, past midnight too
            for point_id in line.point_ids:
                grid.setdefault((point_id, day), []).append(line)
            day += dt.timedelta(days=1)
    return render_template(
        "meetings_board.html",
        sections=point_sections([p for p in every_point if p.is_active], kind, text),
        section_labels=SECTION_LABELS,
        kind=kind,
        q=text,
        days=days,
        grid=grid,
        meetings=lines,
        monday=monday,
        prev_week=monday - dt.timedelta(days=7),
        next_week=monday + dt.timedelta(days=7),
        may_book=can_book(signed_in_actor()),
        calendar_url=addresses("meetings.point_calendar", "point_id", date=monday.isoformat()),
        board_rows=board_rows,
        meeting_rows=meeting_rows,
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
    actor = signed_in_actor()
    may_see_links = can_see_links(actor)
    links: list[tuple[str, str, str]] = []  # (who, role, link)
    link_error = None
    if may_see_links and not meeting.is_cancelled:
        try:
            links = invitations.meeting_links(actor, runtime_of().meeting_env, meeting)
        except ValueError as exc:
            link_error = domain_message(exc)
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
        may_see_links=may_see_links,
        may_change=can_change(actor, meeting),
        siblings=siblings,
        attended_count=sum(a.attended for a in attendance),
        phase=meeting.phase(utcnow()),
    )


@bp.route("/meetings/<int:meeting_id>.ics")
@login_required
def meeting_ics(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    text = invitations.organiser_calendar(signed_in_actor(), runtime_of().meeting_env, meeting)
    return Response(
        text,
        mimetype="text/calendar",
        headers={"Content-Disposition": f"attachment; filename=meeting-{meeting.id}.ics"},
    )


def _form_context(form: Any, error: str | None = None, conflicts: list[Any] | None = None) -> dict[str, Any]:
    units = list(
        db().scalars(
            select(Unit).where(Unit.id.in_(select(BridgePoint.unit_id)), Unit.ended_on.is_(None)).order_by(Unit.name)
        )
    )
    points = [p for p in point_rows() if p.is_active]
    return {
        "points": points,
        "point_sections": point_sections(points),
        "section_labels": SECTION_LABELS,
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
    actor = signed_in_actor()
    if not can_book(actor):  # the form is only for those who may book somewhere; book_meeting checks the host
        abort(403)
    if request.method == "GET":
        return render_template("meeting_new.html", **_form_context(request.args))
    runtime = runtime_of()
    try:
        draft = draft_from(db(), runtime.meeting_env, _form_data(), organiser=(actor.name, _actor_email(actor)))
        created = book_meeting(db(), actor, runtime.meeting_env, draft)
    except MeetingConflict as exc:
        return render_template(
            "meeting_new.html", **_form_context(request.form, _("Some bridge points are busy."), exc.conflicts)
        ), 409
    except (MeetingsError, RecurrenceError) as exc:
        return render_template("meeting_new.html", **_form_context(request.form, domain_message(exc))), 422
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
    runtime = runtime_of()
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "scope") and v != ""}
    try:
        changes = changes_from(db(), runtime.meeting_env, data, meeting.starts_at)
        change_meeting(
            db(), signed_in_actor(), runtime.meeting_env, meeting, changes, scope=request.form.get("scope", "one")
        )
    except MeetingsError as exc:
        db().rollback()  # a series change may have touched some occurrences before the refusal: keep none
        flash(domain_message(exc), "error")
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
            signed_in_actor(),
            runtime_of().meeting_env,
            meeting,
            scope=request.form.get("scope", "one"),
            reason=request.form.get("reason", ""),
        )
    except MeetingsError as exc:
        db().rollback()
        flash(domain_message(exc), "error")
        return redirect(url_for("meetings.meeting_detail", meeting_id=meeting_id))
    flash(_("Meeting cancelled; everyone is being told."), "success")
    return redirect(url_for("meetings.meeting_detail", meeting_id=meeting.id))


@bp.route("/meetings/find-time", methods=["GET", "POST"])
@login_required
def find_time() -> Any:
    actor = signed_in_actor()
    if not can_find_time(actor):  # the form is only for those who may search; find_free_slots checks again
        abort(403)
    slots = None
    error = None
    chosen: list[int] = []
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
                actor,
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
            error = domain_message(exc)
    page = render_template("find_time.html", slots=slots, chosen=chosen, **_form_context(form, error))
    return page, (422 if error else 200)  # a refused search names its field, as the booking form does


def availability_for(actor: Actor, data: Mapping[str, Any]) -> tuple[AvailabilityQuery, Availability]:
    """The question the booking form asks, for its fragment and for ``/api/v1/meetings/availability`` alike: the
    query read from ``data``, and which of its points are busy then (with the nearest common free slot)."""
    env = runtime_of().meeting_env
    query = availability_query_from(db(), env, data)
    result = check_availability(
        db(),
        actor,
        env,
        query.point_ids,
        query.starts_at,
        query.ends_at,
        buffer_minutes=query.buffer_minutes,
        ignore_meeting_ids=query.ignore_meeting_ids,
    )
    return query, result


@bp.route("/meetings/availability")
@login_required
def availability() -> Any:
    """The booking form asks while it is filled in: a fragment naming each busy point with the meeting holding
    it, and the nearest common free slot (the same check as ``/api/v1/meetings/availability``)."""
    args = request.args
    data: dict[str, Any] = {k: args.get(k, "") for k in args}
    data["point_ids"] = args.getlist("point_ids")
    data["groups"] = [g for g in args.getlist("groups") if g] + (
        [f"unit:{args.get('unit_group')}"] if args.get("unit_group") else []
    )
    try:
        query, result = availability_for(signed_in_actor(), data)
    except MeetingsError as exc:
        return render_template("_availability.html", result=None, error=domain_message(exc), count=0)
    return render_template("_availability.html", result=result, error=None, count=len(query.point_ids))


@bp.route("/meetings/<int:meeting_id>/roll-call", methods=["POST"])
@login_required
def roll_call(meeting_id: int) -> Any:
    """The host's secretary marks a point present or absent by hand (or clears the mark); audited."""
    meeting = _meeting(meeting_id)
    choice = request.form.get("present", "")
    present = {"yes": True, "no": False, "": None}.get(choice)
    try:
        if choice not in ("yes", "no", ""):
            raise MeetingsError("present: choose present, absent or clear")
        point_id = parse_int(request.form.get("point_id"), "point_id") or 0
        mark_roll_call(db(), signed_in_actor(), meeting, point_id, present, request.form.get("note", ""))
    except MeetingsError as exc:
        db().rollback()
        flash(domain_message(exc), "error")
    else:
        flash(_("Roll call saved."), "success")
    return redirect(url_for("meetings.meeting_detail", meeting_id=meeting_id) + "#attendance")


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
        outcome = handle_event(db(), kind, body, tenant=runtime_of().settings.jitsi_tenant)
    except EventRejected as exc:
        return jsonify(error={"code": "rejected", "message": exc.message}), exc.status
    return jsonify(meeting_id=outcome.meeting_id, result=outcome.message)
