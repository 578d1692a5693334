"""/api/v1/meetings/availability: which chosen bridge points are busy at a proposed time, with the meeting
holding each, and the nearest common free slot (the same question the booking form asks while it is filled in)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify

from admin_app.api.core import SCHEMAS, _body, actor, endpoint
from admin_app.api.meetings import MEETING_FIELDS, POINT_GROUPS
from admin_app.context import runtime_of
from admin_app.meetings_views import availability_for
from meetings.operations.suggestions import Availability

SCHEMAS.update(
    {
        "AvailabilityInput": {
            "type": "object",
            "required": ["date", "start", "end"],
            "properties": {
                **{name: MEETING_FIELDS[name] for name in ("date", "start", "end", "point_ids")},
                "buffer_minutes": {"type": "integer"},
                "host_point_id": {"type": "integer"},
                "groups": POINT_GROUPS,
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
    query, result = availability_for(actor(), _body())
    return jsonify(availability_json(result, len(query.point_ids), runtime_of().meeting_env.tz))
