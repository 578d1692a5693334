"""/api/v1/meetings/availability: which chosen bridge points are busy at a proposed time, with the meeting
holding each, and the nearest common free slot (the same question the booking form asks while it is filled in)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify

from admin_app.api.core import SCHEMAS, _body, actor, endpoint
from admin_app.context import db, runtime_of
from meetings.availability_inputs import availability_query_from
from meetings.operations.suggestions import Availability, check_availability

SCHEMAS.update(
    {
        "AvailabilityInput": {
            "type": "object",
            "required": ["date", "start", "end"],
            "properties": {
                "date": {"type": "string", "description": "dd/mm/yyyy or yyyy-mm-dd, local"},
                "start": {"type": "string", "description": "HH:MM local"},
                "end": {"type": "string", "description": "HH:MM local"},
                "buffer_minutes": {"type": "integer"},
                "host_point_id": {"type": "integer"},
                "point_ids": {"type": "array", "items": {"type": "integer"}},
                "groups": {"type": "array", "items": {"type": "string"}},
                "meeting_id": {"type": "integer", "description": "a meeting being changed: its own holds are free"},
            },
        },
        "Availability": {
            "type": "object",
            "properties": {
                "free": {"type": "boolean"},
                "points": {"type": "integer"},
                "busy": {"type": "array", "items": {"type": "object"}},
                "nearest": {"type": ["object", "null"]},
            },
        },
    }
)


def availability_json(result: Availability, points: int, tz: dt.tzinfo) -> dict[str, Any]:
    return {
        "free": result.is_free,
        "points": points,
        "busy": [
            {
                "point_id": c.point_id,
                "point_name": c.point_name,
                "meeting_id": c.meeting_id,
                "meeting_title": c.meeting_title,
                "starts_at": c.starts_at.astimezone(tz).isoformat(),
                "ends_at": c.ends_at.astimezone(tz).isoformat(),
            }
            for c in result.busy
        ],
        "nearest": None
        if result.nearest is None
        else {"start": result.nearest.start.isoformat(), "end": result.nearest.end.isoformat()},
    }


@endpoint(
    "/meetings/availability",
    "POST",
    summary="Which chosen points are busy at a proposed time (and by which meeting), and the nearest free slot",
    response="Availability",
    body="AvailabilityInput",
)
def availability() -> Any:
    env = runtime_of().meeting_env
    query = availability_query_from(db(), env, _body())
    result = check_availability(
        db(),
        actor(),
        env,
        query.point_ids,
        query.starts_at,
        query.ends_at,
        buffer_minutes=query.buffer_minutes,
        ignore_meeting_ids=query.ignore_meeting_ids,
    )
    return jsonify(availability_json(result, len(query.point_ids), env.tz))
