"""/api/v1/units and /api/v1/staff: the organisation tree and the people the caller may see."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from admin_app.api.core import ApiError, _body, _json_list, actor, endpoint, fields_of, found
from admin_app.context import db, runtime_of
from provisioning.models import Staff, Unit
from provisioning.operations import create_unit
from provisioning.queries import get_staff_for, get_unit_for, read_paths, visible_staff, visible_units


def unit_json(unit: Unit) -> dict[str, Any]:
    return fields_of(unit, "id", "code", "name", "short_name", "kind", "parent_id", "mail_domain")


def staff_json(staff: Staff) -> dict[str, Any]:
    return fields_of(staff, "id", "full_name", "email", "unit_id", "title", "staff_number", "kind", "status")


@endpoint("/units", summary="Units the caller may see", response=_json_list("Unit"))
def list_units() -> Any:
    if read_paths(actor()) == []:
        raise ApiError(403, "forbidden", "no role that reads units")
    return jsonify([unit_json(u) for u in db().scalars(visible_units(actor()))])


@endpoint("/units/<int:unit_id>", summary="One unit", response="Unit")
def get_unit(unit_id: int) -> Any:
    return jsonify(unit_json(found(get_unit_for(db(), actor(), unit_id), f"unit {unit_id}")))


@endpoint(
    "/units",
    "POST",
    summary="Create a unit under a parent the caller administers",
    response="Unit",
    body="UnitInput",
    status=201,
)
def post_unit() -> Any:
    data = _body()
    missing = [k for k in ("code", "name", "kind", "parent_id") if k not in data]
    if missing:
        raise ApiError(422, "invalid", f"missing field {missing[0]!r}")
    if not isinstance(data["parent_id"], int):
        raise ApiError(422, "invalid", "field 'parent_id' must be an integer")
    parent = db().get(Unit, data["parent_id"])
    if parent is None:
        raise ApiError(422, "invalid", f"field 'parent_id': unit {data['parent_id']} does not exist")
    for key in ("code", "name", "kind", "short_name", "mail_domain"):
        if key in data and not isinstance(data[key], str):
            raise ApiError(422, "invalid", f"field {key!r} must be a string")
    unit = create_unit(
        db(),
        actor(),
        code=data["code"],
        name=data["name"],
        kind=data["kind"],
        parent=parent,
        short_name=data.get("short_name", ""),
        mail_domain=data.get("mail_domain"),
        rules=runtime_of().mailbox_policy.rules,
    )
    return jsonify(unit_json(unit))


@endpoint(
    "/staff",
    summary="Staff the caller may see",
    response=_json_list("Staff"),
    params=[
        ("q", "query", "string", "name, address or staff number contains"),
        ("unit_id", "query", "integer", "only this unit's subtree"),
        ("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, "at most this many (default 100)"),
    ],
)
def list_staff() -> Any:
    a = actor()
    if read_paths(a) == []:
        raise ApiError(403, "forbidden", "no role that reads staff")
    unit = None
    if request.args.get("unit_id"):
        unit_id = request.args.get("unit_id", type=int)
        if unit_id is None:
            raise ApiError(400, "bad_request", "query parameter 'unit_id' must be an integer")
        unit = found(get_unit_for(db(), a, unit_id), f"unit {unit_id}")
    limit = min(max(request.args.get("limit", 100, type=int) or 100, 1), 1000)
    rows = db().scalars(visible_staff(a, request.args.get("q", ""), unit).limit(limit))
    return jsonify([staff_json(s) for s in rows])


@endpoint("/staff/<int:staff_id>", summary="One member of staff", response="Staff")
def get_staff(staff_id: int) -> Any:
    return jsonify(staff_json(found(get_staff_for(db(), actor(), staff_id), f"staff {staff_id}")))
