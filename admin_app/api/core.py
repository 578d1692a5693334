"""The API core: the /api/v1 blueprint, bearer-token authentication, errors, and the OpenAPI document built
from the registered routes. Each domain's endpoints live in a module beside this one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request

from admin_app.context import db
from core.actors import Actor, PermissionDenied
from core.validation import MAX_ID, InputError, check_json, check_strings, clean_int
from meetings.errors import MeetingConflict, MeetingsError
from meetings.recurrence import RecurrenceError
from provisioning.operations import ProvisioningError
from provisioning.signin import actor_for_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# A parameter: (name, in, type or JSON Schema, description).
Param = tuple[str, str, "str | dict[str, Any]", str]
# What every authenticated operation may answer besides its success.
COMMON_ERRORS = {
    400: "malformed request: the body is not a JSON object, or a query parameter is out of bounds (named)",
    401: "missing, unknown, expired or revoked token",
    403: "outside the caller's role or unit scope",
    404: "no such object (or not visible to the caller)",
    422: "a field is missing or invalid (named in the message)",
}
OTHER_ERRORS = {409: "the change conflicts with existing bookings (each busy point and meeting is listed)"}


@dataclass
class Route:
    rule: str
    method: str
    summary: str
    response: str
    params: list[Param] = field(default_factory=list)
    body: str | None = None
    is_public: bool = False
    status: int = 200
    errors: tuple[int, ...] = ()
    is_body_required: bool = True
    # False where the domain's own parser reads the body and names the field itself (meetings/inputs.py).
    is_body_checked: bool = True

    def param_schema(self, kind: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(kind, dict):
            return kind
        if kind == "integer":
            return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        return {"type": "string", "maxLength": 200}


ROUTES: list[Route] = []

UNIT_KINDS = ["province", "office", "department", "district", "commune"]
ACCOUNT_KINDS = ["personal", "functional", "service", "test"]
ACCOUNT_STATUSES = ["active", "disabled", "archived"]

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
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
            "kind": {"type": "string", "enum": UNIT_KINDS},
            "parent_id": {"type": ["integer", "null"]},
            "mail_domain": {"type": ["string", "null"]},
        },
    },
    "UnitInput": {
        "type": "object",
        "required": ["code", "name", "kind", "parent_id"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "maxLength": 40, "description": "A–Z, digits and '-'"},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "short_name": {"type": "string", "maxLength": 100},
            "kind": {"type": "string", "enum": UNIT_KINDS},
            "parent_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            "mail_domain": {"type": "string", "maxLength": 253, "description": "a DNS name of the province"},
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
            "kind": {"type": "string", "enum": ACCOUNT_KINDS},
            "status": {"type": "string", "enum": ACCOUNT_STATUSES},
            "aliases": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Document": {"type": "object"},
    "Me": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["staff", "local", "system"]},
            "roles": {"type": "array", "items": {"type": "array", "items": {"type": ["string", "null"]}}},
        },
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
    params: list[Param] | None = None,
    body: str | None = None,
    is_public: bool = False,
    status: int = 200,
    errors: tuple[int, ...] = (),
    is_body_required: bool = True,
    is_body_checked: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view under /api/v1 and describe it for the OpenAPI document. The query parameters and the
    body are checked against the same schemas the document shows before the view runs."""
    route = Route(rule, method, summary, response, _path_params(rule, params or []), body, is_public, status, errors)
    route.is_body_required, route.is_body_checked = is_body_required, is_body_checked

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                if not is_public:
                    g.api_actor = _authenticate()
                _check_request(route)
                result = fn(*args, **kwargs)
                if isinstance(result, Response) and result.status_code == 200:
                    result.status_code = status  # the success status the document declares (201, 202…)
                return result
            except ApiError as exc:
                return _error(exc.status, exc.code, exc.message)
            except InputError as exc:
                return _error(422, "invalid", str(exc))
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
        ROUTES.append(route)
        return wrapped

    return decorator


def _path_params(rule: str, params: list[Param]) -> list[Param]:
    """The rule's ``<int:…>`` parameters that ``params`` does not describe (``unit_id``: "unit id"), then ``params``."""
    described = {name for name, *_rest in params}
    ids = [name for name in re.findall(r"<int:(\w+)>", rule) if name not in described]
    return [(name, "path", "integer", name.replace("_", " ")) for name in ids] + params


def fields_of(obj: object, *names: str) -> dict[str, Any]:
    """The named attributes of ``obj`` as a JSON object, in that order."""
    return {name: getattr(obj, name) for name in names}


def found(obj: T | None, what: str) -> T:
    """``obj``, or the 404 answer naming what does not exist (``what``: "unit 7")."""
    if obj is None:
        raise ApiError(404, "not_found", f"{what} does not exist")
    return obj


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


def _check_request(route: Route) -> None:
    """Query parameters within their bounds (400 naming the parameter), the body a JSON object (400) that
    matches the operation's schema (422 naming the field); a string that cannot be stored is refused too."""
    for name, where, kind, _description in route.params:
        raw = request.args.get(name) if where == "query" else None
        if not raw:
            continue
        schema = route.param_schema(kind)
        try:
            if schema.get("type") == "integer":
                clean_int(raw, name, minimum=schema.get("minimum", 1), maximum=schema.get("maximum", MAX_ID))
            else:
                check_json(schema, raw, name)
        except InputError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None
    if route.body is None or (not route.is_body_required and not request.get_data()):
        g.api_body = {}
        return
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    check_strings(data)
    if route.is_body_checked:
        check_json(SCHEMAS[route.body], data, "")
    g.api_body = data


def _body() -> dict[str, Any]:
    """The request's body, already checked against the operation's schema."""
    data = g.get("api_body")
    if isinstance(data, dict):
        return dict(data)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    check_strings(data)
    return data


@endpoint("/me", summary="Who the token speaks for", response="Me")
def me() -> Any:
    a = actor()
    return jsonify({"name": a.name, "kind": a.kind, "roles": sorted([r, p] for r, p in a.roles)})


def _schema_ref(name: str) -> dict[str, Any]:
    if name.startswith("list:"):
        return {"type": "array", "items": {"$ref": f"#/components/schemas/{name[5:]}"}}
    return {"$ref": f"#/components/schemas/{name}"}


def _content(response: str) -> dict[str, Any]:
    if response.startswith("file:"):  # a download in one of these media types
        return {mime: {"schema": {"type": "string", "format": "binary"}} for mime in response[5:].split(",")}
    return {"application/json": {"schema": _schema_ref(response)}}


def _operation(route: Route) -> dict[str, Any]:
    slug = route.rule.strip("/").replace("/", "_").replace("<int:", "").replace("<", "").replace(">", "")
    responses: dict[str, Any] = {str(route.status): {"description": "OK", "content": _content(route.response)}}
    if not route.is_public:
        codes = {**COMMON_ERRORS, **{c: OTHER_ERRORS[c] for c in route.errors}}
        for code, description in sorted(codes.items()):
            responses[str(code)] = {"description": description, "content": _content("Error")}
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": f"{route.method.lower()}_{slug}".replace(".", "_"),
        "parameters": [
            {"name": n, "in": where, "required": where == "path", "description": d, "schema": route.param_schema(t)}
            for n, where, t, d in route.params
        ],
        "responses": responses,
    }
    if route.body:
        op["requestBody"] = {
            "required": route.is_body_required,
            "content": {"application/json": {"schema": _schema_ref(route.body)}},
        }
    if route.is_public:
        op["security"] = []
    return op


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 built from ROUTES, so the document cannot drift from the code: every status an operation
    can answer with its body, and the same schemas the requests are checked against."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        path = "/api/v1" + route.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        paths.setdefault(path, {})[route.method.lower()] = _operation(route)
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
