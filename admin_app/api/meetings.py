"""/api/v1 routes for bridge points and meetings: the same operations as the console and `congvu meetings`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from admin_app.api.core import SCHEMAS, ApiError, _body, _json_list, actor, endpoint, fields_of, found
from admin_app.context import db, runtime_of
from meetings.attendance import point_attendance
from meetings.inputs import (
    changes_from,
    draft_from,
    parse_buffer,
    parse_date,
    parse_duration,
    parse_int,
    parse_search_range,
    point_ids_from,
)
from meetings.models import BridgePoint, Meeting
from meetings.operations.bookings import book_meeting
from meetings.operations.changes import cancel_meeting, change_meeting
from meetings.operations.roll_call import mark_roll_call
from meetings.operations.suggestions import find_free_slots
from meetings.queries import load_meeting, visible_meetings

# What a booking names, and a change of it may name again.
MEETING_FIELDS: dict[str, Any] = {
    "title": {"type": "string"},
    "agenda": {"type": "string"},
    "date": {"type": "string", "description": "dd/mm/yyyy or yyyy-mm-dd, local"},
    "start": {"type": "string", "description": "HH:MM local"},
    "end": {"type": "string", "description": "HH:MM local"},
    "point_ids": {"type": "array", "items": {"type": "integer"}},
    "invitees": {"type": "array", "items": {"type": "string"}},
}
POINT_GROUPS = {
    "type": "array",
    "items": {"type": "string"},
    "description": "district | department | commune | province | unit:<code>",
}

SCHEMAS.update(
    {
        "BridgePoint": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "unit_id": {"type": "integer"},
                "unit_kind": {"type": "string"},
                "location": {"type": "string"},
                "capacity": {"type": "integer"},
                "contact_email": {"type": "string"},
                "equipment": {"type": "string"},
                "is_active": {"type": "boolean"},
            },
        },
        "Meeting": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "title": {"type": "string"},
                "agenda": {"type": "string"},
                "starts_at": {"type": "string", "format": "date-time"},
                "ends_at": {"type": "string", "format": "date-time"},
                "setup_from": {"type": "string", "format": "date-time"},
                "host_point_id": {"type": "integer"},
                "point_ids": {"type": "array", "items": {"type": "integer"}},
                "invitees": {"type": "array", "items": {"type": "string"}},
                "series_id": {"type": ["integer", "null"]},
                "is_cancelled": {"type": "boolean"},
                "sequence": {"type": "integer"},
                "attendance": {"type": "array", "items": {"type": "object"}},
            },
        },
        "MeetingInput": {
            "type": "object",
            "required": ["title", "date", "start", "end", "host_point_id"],
            "properties": {
                **MEETING_FIELDS,
                "host_point_id": {"type": "integer"},
                "groups": POINT_GROUPS,
                "buffer_minutes": {"type": "integer"},
                "repeat": {"type": "string", "enum": ["daily", "weekly", "monthly_date", "monthly_weekday"]},
                "weekdays": {"type": "array", "items": {"type": "integer"}, "description": "0 = Monday"},
                "interval": {"type": "integer"},
                "until": {"type": "string"},
                "count": {"type": "integer"},
            },
        },
        "MeetingChange": {
            "type": "object",
            "properties": {"scope": {"type": "string", "enum": ["one", "following", "series"]}, **MEETING_FIELDS},
        },
        "FindTimeInput": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {
                "point_ids": MEETING_FIELDS["point_ids"],
                "groups": POINT_GROUPS,
                "duration": {"type": "integer", "description": "minutes"},
                "from": {"type": "string"},
                "to": {"type": "string"},
                "buffer_minutes": {"type": "integer"},
                "limit": {"type": "integer"},
            },
        },
        "RollCallInput": {
            "type": "object",
            "required": ["point_id", "present"],
            "properties": {
                "point_id": {"type": "integer"},
                "present": {"type": ["boolean", "null"]},
                "note": {"type": "string"},
            },
        },
        "Slot": {
            "type": "object",
            "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
        },
    }
)


def point_json(point: BridgePoint) -> dict[str, Any]:
    fields = ("id", "name", "unit_id", "location", "capacity", "contact_email", "equipment", "is_active")
    return fields_of(point, *fields) | {"unit_kind": point.unit.kind}


def meeting_json(meeting: Meeting, *, detail: bool = False) -> dict[str, Any]:
    tz = runtime_of().settings.tz
    out: dict[str, Any] = {
        "id": meeting.id,
        "title": meeting.title,
        "agenda": meeting.agenda,
        "starts_at": meeting.starts_at.astimezone(tz).isoformat(),
        "ends_at": meeting.ends_at.astimezone(tz).isoformat(),
        "setup_from": meeting.block_start.astimezone(tz).isoformat(),
        "host_point_id": meeting.host_point_id,
        "point_ids": sorted(mp.point_id for mp in meeting.points),
        "series_id": meeting.series_id,
        "is_cancelled": meeting.is_cancelled,
        "sequence": meeting.sequence,
    }
    if detail:
        out["invitees"] = [i.email for i in meeting.invitees]
        out["attendance"] = [
            {
                "point_id": a.point_id,
                "name": a.name,
                "attended": a.attended,
                "minutes": a.minutes,
                "seen_by_jitsi": a.seen_by_jitsi,
                "roll_call": a.roll_call,
            }
            for a in point_attendance(meeting)
        ]
    return out


def _organiser() -> tuple[str, str]:
    a = actor()
    return a.name, a.name if "@" in a.name else ""


def _meeting(meeting_id: int) -> Meeting:
    return found(load_meeting(db(), meeting_id), f"meeting {meeting_id}")


@endpoint("/bridge-points", summary="All bridge points", response=_json_list("BridgePoint"))
def list_points() -> Any:
    return jsonify([point_json(p) for p in db().scalars(select(BridgePoint).order_by(BridgePoint.name))])


@endpoint(
    "/meetings",
    summary="Meetings overlapping a period (default: this week)",
    response=_json_list("Meeting"),
    params=[
        ("from", "query", "string", "first day (local), yyyy-mm-dd"),
        ("to", "query", "string", "last day (local), yyyy-mm-dd"),
        ("point_id", "query", "integer", "only meetings holding this point"),
    ],
)
def list_meetings() -> Any:
    tz = runtime_of().settings.tz
    today = dt.datetime.now(tz).date()
    first = (
        parse_date(request.args["from"], "from") if request.args.get("from") else today - dt.timedelta(today.weekday())
    )
    last = parse_date(request.args["to"], "to") if request.args.get("to") else first + dt.timedelta(days=6)
    if (last - first).days > 400:
        raise ApiError(422, "invalid", "to: at most 400 days per request")
    start = dt.datetime.combine(first, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    point_id = parse_int(request.args.get("point_id"), "point_id")
    return jsonify([meeting_json(m) for m in visible_meetings(db(), start, end, point_id)])


@endpoint(
    "/meetings",
    "POST",
    summary="Book a meeting or a series",
    response=_json_list("Meeting"),
    body="MeetingInput",
    status=201,
    errors=(409,),
    is_body_checked=False,
)
def create_meeting() -> Any:
    env = runtime_of().meeting_env
    draft = draft_from(db(), env, _body(), organiser=_organiser())
    created = book_meeting(db(), actor(), env, draft)
    return jsonify([meeting_json(m) for m in created])


@endpoint(
    "/meetings/<int:meeting_id>",
    summary="One meeting with invitees and planned-versus-attended points",
    response="Meeting",
)
def get_meeting(meeting_id: int) -> Any:
    return jsonify(meeting_json(_meeting(meeting_id), detail=True))


@endpoint(
    "/meetings/<int:meeting_id>",
    "PATCH",
    summary="Change one occurrence, the following ones or the whole series (sends updates)",
    response=_json_list("Meeting"),
    body="MeetingChange",
    errors=(409,),
    is_body_checked=False,
)
def patch_meeting(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    data = _body()
    env = runtime_of().meeting_env
    changes = changes_from(db(), env, {k: v for k, v in data.items() if k != "scope"}, meeting.starts_at)
    changed = change_meeting(db(), actor(), env, meeting, changes, scope=str(data.get("scope") or "one"))
    return jsonify([meeting_json(m) for m in changed])


@endpoint(
    "/meetings/<int:meeting_id>/cancel",
    "POST",
    summary="Cancel one occurrence, the following ones or the whole series (sends METHOD:CANCEL)",
    response=_json_list("Meeting"),
    body="MeetingChange",
    is_body_required=False,
    is_body_checked=False,
)
def cancel(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    cancelled = cancel_meeting(
        db(),
        actor(),
        runtime_of().meeting_env,
        meeting,
        scope=str(data.get("scope") or "one"),
        reason=str(data.get("reason") or ""),
    )
    return jsonify([meeting_json(m) for m in cancelled])


@endpoint(
    "/meetings/find-time",
    "POST",
    summary="Earliest slots when every chosen point is free",
    response=_json_list("Slot"),
    body="FindTimeInput",
    is_body_checked=False,
)
def find_time() -> Any:
    data = _body()
    ids = point_ids_from(db(), data.get("point_ids") or [], data.get("groups") or [])
    if not ids:
        raise ApiError(422, "invalid", "point_ids: choose at least one bridge point or group")
    first, last = parse_search_range(data.get("from"), data.get("to"))
    slots = find_free_slots(
        db(),
        actor(),
        runtime_of().meeting_env,
        ids,
        parse_duration(data.get("duration")),
        first,
        last,
        buffer_minutes=parse_buffer(data.get("buffer_minutes"), "buffer_minutes"),
        limit=parse_int(data.get("limit"), "limit", 5, minimum=1, maximum=20) or 5,
    )
    return jsonify([{"start": x.start.isoformat(), "end": x.end.isoformat()} for x in slots])


@endpoint(
    "/meetings/<int:meeting_id>/roll-call",
    "POST",
    summary="Mark a bridge point present or absent by hand (present: true, false, or null to clear); audited",
    response="Meeting",
    body="RollCallInput",
    is_body_checked=False,
)
def roll_call(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    data = _body()
    present = data.get("present")
    if present not in (True, False, None):
        raise ApiError(422, "invalid", "present: true, false or null is required")
    point_id = parse_int(data.get("point_id"), "point_id")
    if point_id is None:
        raise ApiError(422, "invalid", "point_id: the bridge point to mark is required")
    mark_roll_call(db(), actor(), meeting, point_id, present, str(data.get("note") or ""))
    return jsonify(meeting_json(meeting, detail=True))
