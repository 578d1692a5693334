"""/api/v1/people: find people in the directory by name, address or unit, diacritics optional — the search
behind "invite by name" when booking a meeting."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from admin_app.api.core import SCHEMAS, _json_list, actor, endpoint
from admin_app.context import db
from provisioning.people import MAX_RESULTS, Person, search_people

SCHEMAS["Person"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "description": "full name from the directory"},
        "email": {"type": "string"},
        "title": {"type": "string"},
        "unit": {"type": "string"},
    },
}


def person_json(person: Person) -> dict[str, Any]:
    return {"id": person.id, "name": person.name, "email": person.email, "title": person.title, "unit": person.unit}


@endpoint(
    "/people",
    summary="People whose name, address or unit has words starting with each word of q (diacritics optional)",
    response=_json_list("Person"),
    params=[
        ("q", "query", {"type": "string", "maxLength": 200}, "words to find, e.g. 'nguyen van an'"),
        ("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS}, "at most this many (10)"),
    ],
)
def find_people() -> Any:
    query = request.args.get("q", "")
    limit = int(request.args.get("limit") or "10")  # checked against the schema above; empty means the default
    return jsonify([person_json(p) for p in search_people(db(), actor(), query, limit)])
