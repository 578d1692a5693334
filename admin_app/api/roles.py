"""/api/v1/roles: who holds which role where; give and take away roles (the same verbs as the console and
``congvu roles``, with the same limits: a unit admin only inside their subtree, never system admin or auditor)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from admin_app.api.core import SCHEMAS, ApiError, _body, _json_list, actor, endpoint, found
from admin_app.context import db
from core.validation import MAX_ID
from provisioning import roles
from provisioning.models import Role, RoleGrant, Staff, Unit
from provisioning.queries import get_unit_for

SCHEMAS["RoleGrant"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "staff_id": {"type": "integer"},
        "email": {"type": "string"},
        "role": {"type": "string", "enum": [r.value for r in Role]},
        "unit_id": {"type": ["integer", "null"], "description": "null: the whole province"},
        "unit_code": {"type": ["string", "null"]},
        "is_effective": {"type": "boolean", "description": "false while the holder's mailbox is not active"},
    },
}
SCHEMAS["RoleGrantInput"] = {
    "type": "object",
    "required": ["email", "role"],
    "additionalProperties": False,
    "properties": {
        "email": {"type": "string", "maxLength": 254, "description": "the holder's mailbox address"},
        "role": {"type": "string", "enum": [r.value for r in Role]},
        "unit_id": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_ID,
            "description": "the unit whose subtree the role covers; absent or null for the whole province",
        },
    },
}


def grant_json(grant: RoleGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "staff_id": grant.staff_id,
        "email": grant.staff.email,
        "role": grant.role,
        "unit_id": grant.unit_id,
        "unit_code": grant.unit.code if grant.unit is not None else None,
        "is_effective": grant.staff.is_active,
    }


def _may_manage_roles() -> None:
    if not (actor().is_system_admin or actor().has_role(Role.UNIT_ADMIN)):
        raise ApiError(403, "forbidden", "roles are managed by system admins and unit IT admins")


@endpoint(
    "/roles",
    summary="Role grants the caller may see (system admins: all; unit admins: their subtree)",
    response=_json_list("RoleGrant"),
    params=[("unit_id", "query", "integer", "only grants of people or units in this unit's subtree")],
)
def list_roles() -> Any:
    _may_manage_roles()
    unit = None
    if request.args.get("unit_id"):
        unit = found(get_unit_for(db(), actor(), int(request.args["unit_id"])), f"unit {request.args['unit_id']}")
    return jsonify([grant_json(g) for g in db().scalars(roles.visible_grants(actor(), unit).limit(5000))])


@endpoint(
    "/roles",
    "POST",
    summary="Give a role; takes effect at the holder's next request",
    response="RoleGrant",
    body="RoleGrantInput",
    status=201,
)
def post_role() -> Any:
    _may_manage_roles()
    data = _body()
    person = db().scalar(select(Staff).where(Staff.email == data["email"].strip().lower()))
    if person is None:
        raise ApiError(422, "invalid", f"email: no mailbox {data['email'][:80]!r}")
    unit = None
    if data.get("unit_id") is not None:
        unit = db().get(Unit, data["unit_id"])
        if unit is None:
            raise ApiError(422, "invalid", f"unit_id: unit {data['unit_id']} does not exist")
    grant = roles.grant_role(db(), actor(), person, data["role"], unit)
    return jsonify(grant_json(grant))


@endpoint(
    "/roles/<int:grant_id>",
    "DELETE",
    summary="Take a role away; takes effect at the holder's next request",
    response="RoleGrant",
    params=[("grant_id", "path", "integer", "role grant id")],
)
def delete_role(grant_id: int) -> Any:
    _may_manage_roles()
    grant = db().get(RoleGrant, grant_id)
    if grant is None or not (
        actor().is_system_admin or db().scalar(roles.visible_grants(actor()).where(RoleGrant.id == grant_id))
    ):
        raise ApiError(404, "not_found", f"role grant {grant_id} does not exist")
    shown = grant_json(grant)
    roles.revoke_role(db(), actor(), grant.staff, grant.role, grant.unit)
    return jsonify(shown)
