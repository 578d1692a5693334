"""JSON API under /api/v1 with bearer tokens. The OpenAPI document is built from the registered routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request

from admin_app import db
from meetings.operations import MeetingConflict, MeetingsError
from meetings.recurrence import RecurrenceError
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


# -- accounts (mailboxes) ----------------------------------------------------------------------------

SCHEMAS["AccountInput"] = {
    "type": "object",
    "required": ["unit_id", "full_name"],
    "properties": {
        "unit_id": {"type": "integer"},
        "full_name": {"type": "string"},
        "staff_number": {"type": "string"},
        "title": {"type": "string"},
        "phone": {"type": "string"},
        "kind": {"type": "string", "enum": ["personal", "functional", "service", "test"]},
        "local_part": {"type": "string", "description": "instead of the address generated from the name"},
    },
}
SCHEMAS["AccountChange"] = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in ("full_name", "title", "phone", "staff_number", "kind")}
    | {"quota_mb": {"type": "integer"}},
}
SCHEMAS["Reason"] = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}
SCHEMAS["OneTimePassword"] = {
    "type": "object",
    "properties": {"email": {"type": "string"}, "one_time_password": {"type": "string"}},
}
SCHEMAS["ImportResult"] = {
    "type": "object",
    "properties": {
        "applied": {"type": "boolean"},
        "total": {"type": "integer"},
        "creates": {"type": "integer"},
        "updates": {"type": "integer"},
        "unchanged": {"type": "integer"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


def _settings() -> Any:
    from admin_app import runtime_of

    return runtime_of().settings


def _account(account_id: int) -> Staff:
    person = get_staff_for(db(), actor(), account_id)
    if person is None:
        raise ApiError(404, "not_found", f"account {account_id} does not exist")
    return person


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key, "")
    if required and not value:
        raise ApiError(422, "invalid", f"missing field {key!r}")
    if not isinstance(value, str):
        raise ApiError(422, "invalid", f"field {key!r} must be a string")
    return value


@endpoint(
    "/accounts",
    summary="Mailboxes the caller may see",
    response=_json_list("Staff"),
    params=[
        ("q", "query", "string", "name, address or staff number contains"),
        ("unit_id", "query", "integer", "only this unit's subtree"),
    ],
)
def list_accounts() -> Any:
    return list_staff()


@endpoint(
    "/accounts",
    "POST",
    summary="Create a mailbox (address from the name unless local_part is given)",
    response="OneTimePassword",
    body="AccountInput",
)
def create_account() -> Any:
    from admin_app import runtime_of
    from provisioning.accounts import reset_password
    from provisioning.operations import StaffInput, create_staff

    data = _body()
    if not isinstance(data.get("unit_id"), int):
        raise ApiError(422, "invalid", "field 'unit_id' must be an integer")
    unit = db().get(Unit, data["unit_id"])
    if unit is None:
        raise ApiError(422, "invalid", f"field 'unit_id': unit {data['unit_id']} does not exist")
    s = _settings()
    person = create_staff(
        db(),
        actor(),
        unit,
        StaffInput(
            _text(data, "full_name", required=True),
            _text(data, "title"),
            _text(data, "staff_number") or None,
            _text(data, "phone"),
            _text(data, "kind") or "personal",
            _text(data, "local_part") or None,
            s.default_quota_mb,
        ),
        s.mail_domain,
        s.address_policy,
    )
    password = reset_password(db(), actor(), person, secret_key=runtime_of().secret_key)
    response = jsonify({**staff_json(person), "one_time_password": password})
    response.status_code = 201
    return response


@endpoint(
    "/accounts/<int:account_id>",
    summary="One mailbox",
    response="Staff",
    params=[("account_id", "path", "integer", "account id")],
)
def get_account(account_id: int) -> Any:
    return jsonify(staff_json(_account(account_id)) | {"aliases": [a.address for a in _account(account_id).aliases]})


@endpoint(
    "/accounts/<int:account_id>",
    "PATCH",
    summary="Change record fields or quota",
    response="Staff",
    params=[("account_id", "path", "integer", "account id")],
    body="AccountChange",
)
def patch_account(account_id: int) -> Any:
    from provisioning.accounts import set_quota, update_staff

    person = _account(account_id)
    data = _body()
    quota = data.pop("quota_mb", None)
    for key, value in data.items():
        if value is not None and not isinstance(value, str):
            raise ApiError(422, "invalid", f"field {key!r} must be a string")
    update_staff(db(), actor(), person, data)
    if quota is not None:
        if not isinstance(quota, int):
            raise ApiError(422, "invalid", "field 'quota_mb' must be an integer")
        set_quota(db(), actor(), person, quota)
    return jsonify(staff_json(person))


def _lifecycle_endpoint(verb_name: str, needs_reason: bool) -> Callable[[int], Any]:
    def view(account_id: int) -> Any:
        from provisioning import accounts

        person = _account(account_id)
        verb = getattr(accounts, verb_name)
        if needs_reason:
            verb(db(), actor(), person, _text(_body(), "reason", required=True))
        else:
            verb(db(), actor(), person)
        return jsonify(staff_json(person))

    view.__name__ = f"account_{verb_name}"
    return view


for _verb, _reason in (("disable", True), ("enable", False), ("archive", True)):
    endpoint(
        f"/accounts/<int:account_id>/{_verb}",
        "POST",
        summary=f"{_verb.capitalize()} a mailbox",
        response="Staff",
        params=[("account_id", "path", "integer", "account id")],
        body="Reason" if _reason else None,
    )(_lifecycle_endpoint(_verb, _reason))


@endpoint(
    "/accounts/<int:account_id>/reset-password",
    "POST",
    response="OneTimePassword",
    summary="A one-time password, returned once; must be changed at first use",
    params=[("account_id", "path", "integer", "account id")],
)
def reset_account_password(account_id: int) -> Any:
    from admin_app import runtime_of
    from provisioning.accounts import reset_password

    person = _account(account_id)
    password = reset_password(db(), actor(), person, secret_key=runtime_of().secret_key)
    return jsonify({"email": person.email, "one_time_password": password})


@endpoint(
    "/accounts/import",
    "POST",
    response="ImportResult",
    summary="Preview (default) or apply a CSV/XLSX staff list (multipart: file, unit_id, apply=true)",
)
def import_accounts() -> Any:
    from provisioning.importing import ImportError_, ImportRefused, apply, preview
    from provisioning.tabular import read_table

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "invalid", "send the staff list as multipart field 'file'")
    unit_id = request.form.get("unit_id", type=int)
    unit = db().get(Unit, unit_id) if unit_id else None
    if unit is None:
        raise ApiError(422, "invalid", "field 'unit_id': give the id of an existing unit")
    s = _settings()
    options = {"default_domain": s.mail_domain, "policy": s.address_policy, "default_quota": s.default_quota_mb}
    content = upload.read()
    import io

    try:
        result = preview(db(), actor(), unit, read_table(io.BytesIO(content), upload.filename), **options)
        if request.form.get("apply") == "true" and result.is_clean:
            result = apply(
                db(),
                actor(),
                unit,
                read_table(io.BytesIO(content), upload.filename),
                batch_label=upload.filename,
                **options,
            )
            return jsonify({"applied": True, **result.as_dict()})
    except ImportRefused as exc:
        return jsonify({"applied": False, **exc.preview.as_dict()}), 422
    except ImportError_ as exc:
        raise ApiError(422, "invalid", f"{upload.filename}: {exc}") from None
    return jsonify({"applied": False, **result.as_dict()}), (422 if result.errors else 200)
