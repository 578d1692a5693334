"""The API core: the /api/v1 blueprint, bearer-token authentication, errors, and the OpenAPI document built
from the registered routes. Each domain's endpoints live in a module beside this one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request

from admin_app.context import db
from core.actors import Actor, PermissionDenied
from meetings.errors import MeetingConflict, MeetingsError
from meetings.recurrence import RecurrenceError
from provisioning.operations import ProvisioningError
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
            except MeetingConflict as exc:
                response = jsonify(error={"code": "conflict", "message": str(exc), "conflicts": conflicts_json(exc)})
                response.status_code = 409
                return response
            except (MeetingsError, RecurrenceError) as exc:
                return _error(422, "invalid", str(exc))

        bp.add_url_rule(rule, f"{fn.__name__}_{method.lower()}", wrapped, methods=[method])
        ROUTES.append(Route(rule, method, summary, response, params or [], body, is_public))
        return wrapped

    return decorator


def conflicts_json(exc: MeetingConflict) -> list[dict[str, Any]]:
    return [
        {
            "point_id": c.point_id,
            "point_name": c.point_name,
            "meeting_id": c.meeting_id,
            "meeting_title": c.meeting_title,
            "starts_at": c.starts_at.isoformat(),
            "ends_at": c.ends_at.isoformat(),
        }
        for c in exc.conflicts
    ]


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


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return data


@endpoint("/me", summary="Who the token speaks for", response="Me")
def me() -> Any:
    a = actor()
    return jsonify({"name": a.name, "kind": a.kind, "roles": sorted([r, p] for r, p in a.roles)})


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
