"""JSON API under /api/v1 with bearer tokens. The OpenAPI document is built from the registered routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request

from admin_app import db
from provisioning.actors import Actor, PermissionDenied
from provisioning.models import Staff, Unit
from provisioning.operations import ProvisioningError, create_unit
from provisioning.queries import get_staff_for, get_unit_for, read_paths, visible_staff, visible_units
from provisioning.signin import actor_for_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Route:
    rule: str
    method: str
    summary: str
    response: str
    params: list[tuple[str, str, str, str]] = field(default_factory=list)  # (name, in, type, description)
    body: str | None = None
    is_public: bool = False


ROUTES: list[Route] = []

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "Unit": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "code": {"type": "string"},
            "name": {"type": "string"},
            "short_name": {"type": "string"},
            "kind": {"type": "string", "enum": ["province", "office", "department", "district", "commune"]},
            "parent_id": {"type": ["integer", "null"]},
            "mail_domain": {"type": ["string", "null"]},
        },
    },
    "UnitInput": {
        "type": "object",
        "required": ["code", "name", "kind", "parent_id"],
        "properties": {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "short_name": {"type": "string"},
            "kind": {"type": "string"},
            "parent_id": {"type": "integer"},
            "mail_domain": {"type": "string"},
        },
    },
    "Staff": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "full_name": {"type": "string"},
            "email": {"type": "string"},
            "unit_id": {"type": "integer"},
            "title": {"type": "string"},
            "staff_number": {"type": ["string", "null"]},
            "kind": {"type": "string"},
            "status": {"type": "string"},
        },
    },
    "Document": {"type": "object"},
    "Me": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "kind": {"type": "string"}, "roles": {"type": "array"}},
    },
}


def _json_list(schema: str) -> str:
    return f"list:{schema}"


def endpoint(
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    response: str,
    params: list[tuple[str, str, str, str]] | None = None,
    body: str | None = None,
    is_public: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view under /api/v1 and describe it for the OpenAPI document."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                if not is_public:
                    g.api_actor = _authenticate()
                return fn(*args, **kwargs)
            except ApiError as exc:
                return _error(exc.status, exc.code, exc.message)
            except PermissionDenied as exc:
                return _error(403, "forbidden", str(exc))
            except ProvisioningError as exc:
                return _error(422, "invalid", str(exc))

        bp.add_url_rule(rule, f"{fn.__name__}_{method.lower()}", wrapped, methods=[method])
        ROUTES.append(Route(rule, method, summary, response, params or [], body, is_public))
        return wrapped

    return decorator


def _error(status: int, code: str, message: str) -> Any:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="congvu"'
    return response


def _authenticate() -> Actor:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "unauthenticated", "send 'Authorization: Bearer <token>'")
    actor = actor_for_token(db(), secret.strip(), request.remote_addr or "")
    if actor is None:
        raise ApiError(401, "unauthenticated", "the token is unknown, expired or revoked")
    return actor


def actor() -> Actor:
    return g.api_actor


def unit_json(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "parent_id": unit.parent_id,
        "mail_domain": unit.mail_domain,
    }


def staff_json(staff: Staff) -> dict[str, Any]:
    return {
        "id": staff.id,
        "full_name": staff.full_name,
        "email": staff.email,
        "unit_id": staff.unit_id,
        "title": staff.title,
        "staff_number": staff.staff_number,
        "kind": staff.kind,
        "status": staff.status,
    }


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return data


@endpoint("/me", summary="Who the token speaks for", response="Me")
def me() -> Any:
    a = actor()
    return jsonify({"name": a.name, "kind": a.kind, "roles": sorted([r, p] for r, p in a.roles)})


@endpoint("/units", summary="Units the caller may see", response=_json_list("Unit"))
def list_units() -> Any:
    if read_paths(actor()) == []:
        raise ApiError(403, "forbidden", "no role that reads units")
    return jsonify([unit_json(u) for u in db().scalars(visible_units(actor()))])


@endpoint(
    "/units/<int:unit_id>",
    summary="One unit",
    response="Unit",
    params=[("unit_id", "path", "integer", "unit id")],
)
def get_unit(unit_id: int) -> Any:
    unit = get_unit_for(db(), actor(), unit_id)
    if unit is None:
        raise ApiError(404, "not_found", f"unit {unit_id} does not exist")
    return jsonify(unit_json(unit))


@endpoint(
    "/units",
    "POST",
    summary="Create a unit under a parent the caller administers",
    response="Unit",
    body="UnitInput",
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
    )
    response = jsonify(unit_json(unit))
    response.status_code = 201
    return response


@endpoint(
    "/staff",
    summary="Staff the caller may see",
    response=_json_list("Staff"),
    params=[
        ("q", "query", "string", "name, address or staff number contains"),
        ("unit_id", "query", "integer", "only this unit's subtree"),
        ("limit", "query", "integer", "at most this many (default 100, max 1000)"),
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
        unit = get_unit_for(db(), a, unit_id)
        if unit is None:
            raise ApiError(404, "not_found", f"unit {unit_id} does not exist")
    limit = min(max(request.args.get("limit", 100, type=int) or 100, 1), 1000)
    rows = db().scalars(visible_staff(a, request.args.get("q", ""), unit).limit(limit))
    return jsonify([staff_json(s) for s in rows])


@endpoint(
    "/staff/<int:staff_id>",
    summary="One member of staff",
    response="Staff",
    params=[("staff_id", "path", "integer", "staff id")],
)
def get_staff(staff_id: int) -> Any:
    person = get_staff_for(db(), actor(), staff_id)
    if person is None:
        raise ApiError(404, "not_found", f"staff {staff_id} does not exist")
    return jsonify(staff_json(person))


def _schema_ref(name: str) -> dict[str, Any]:
    if name.startswith("list:"):
        return {"type": "array", "items": {"$ref": f"#/components/schemas/{name[5:]}"}}
    return {"$ref": f"#/components/schemas/{name}"}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 built from ROUTES, so the document cannot drift from the code."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        path = "/api/v1" + route.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        slug = route.rule.strip("/").replace("/", "_").replace("<int:", "").replace(">", "")
        op: dict[str, Any] = {
            "summary": route.summary,
            "operationId": f"{route.method.lower()}_{slug}",
            "parameters": [
                {"name": n, "in": where, "required": where == "path", "description": d, "schema": {"type": t}}
                for n, where, t, d in route.params
            ],
            "responses": {
                "200" if route.method == "GET" else "201": {
                    "description": "OK",
                    "content": {"application/json": {"schema": _schema_ref(route.response)}},
                },
                "401": {
                    "description": "missing or bad token",
                    "content": {"application/json": {"schema": _schema_ref("Error")}},
                },
                "403": {
                    "description": "outside the caller's scope",
                    "content": {"application/json": {"schema": _schema_ref("Error")}},
                },
            },
        }
        if route.body:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(route.body)}},
            }
        if route.is_public:
            op["security"] = []
        paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "congvu API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


@endpoint("/openapi.json", summary="This document", response="Document", is_public=True)
def openapi() -> Any:
    return jsonify(openapi_document())


@bp.errorhandler(404)
def not_found(_exc: Exception) -> Any:
    return _error(404, "not_found", "no such endpoint")
