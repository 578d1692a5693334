"""/api/v1/accounts: official mailboxes (create, change, lifecycle, passwords, import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request

from admin_app.api.core import SCHEMAS, ApiError, _body, _json_list, actor, endpoint, fields_of, found
from admin_app.api.units import list_staff, staff_json
from admin_app.context import db
from core.tasks import Task
from core.validation import MAX_ID
from provisioning.models import ImportBatch, Role, Staff, Unit
from provisioning.queries import get_staff_for

SCHEMAS["AccountInput"] = {
    "type": "object",
    "required": ["unit_id", "full_name"],
    "additionalProperties": False,
    "properties": {
        "unit_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "full_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "staff_number": {"type": "string", "maxLength": 40},
        "title": {"type": "string", "maxLength": 200},
        "phone": {"type": "string", "maxLength": 40},
        "kind": {"type": "string", "enum": ["personal", "functional", "service", "test"]},
        "local_part": {
            "type": "string",
            "maxLength": 64,
            "description": "instead of the address generated from the name",
        },
    },
}
SCHEMAS["AccountChange"] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "full_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "title": {"type": ["string", "null"], "maxLength": 200},
        "phone": {"type": ["string", "null"], "maxLength": 40},
        "staff_number": {"type": ["string", "null"], "maxLength": 40},
        "kind": {"type": "string", "enum": ["personal", "functional", "service", "test"]},
        "quota_mb": {"type": "integer", "minimum": 1, "maximum": 1_048_576},
    },
}
SCHEMAS["Reason"] = {
    "type": "object",
    "required": ["reason"],
    "additionalProperties": False,
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
}
SCHEMAS["AliasInput"] = {
    "type": "object",
    "required": ["address"],
    "additionalProperties": False,
    "properties": {"address": {"type": "string", "maxLength": 254}, "reason": {"type": "string", "maxLength": 200}},
}
SCHEMAS["OneTimePassword"] = {
    "type": "object",
    "properties": {"email": {"type": "string"}, "one_time_password": {"type": "string"}},
}
SCHEMAS["Import"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "unit_id": {"type": "integer"},
        "filename": {"type": "string"},
        "status": {"type": "string", "enum": ["uploaded", "previewing", "previewed", "applying", "applied", "failed"]},
        "summary": {"type": "object"},
        "task": {
            "type": ["object", "null"],
            "properties": {
                "id": {"type": "integer"},
                "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "phase": {"type": "string"},
                "done": {"type": "integer"},
                "total": {"type": "integer"},
                "error": {"type": "string"},
            },
        },
    },
}


def _account(account_id: int) -> Staff:
    return found(get_staff_for(db(), actor(), account_id), f"account {account_id}")


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
    status=201,
)
def create_account() -> Any:
    from admin_app.context import runtime_of
    from provisioning.accounts import create_mailbox
    from provisioning.operations import StaffInput

    data = _body()
    if not isinstance(data.get("unit_id"), int):
        raise ApiError(422, "invalid", "field 'unit_id' must be an integer")
    unit = db().get(Unit, data["unit_id"])
    if unit is None:
        raise ApiError(422, "invalid", f"field 'unit_id': unit {data['unit_id']} does not exist")
    person, password = create_mailbox(
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
        ),
        runtime_of().mailbox_policy,
    )
    return jsonify({**staff_json(person), "one_time_password": password})


@endpoint(
    "/accounts/<int:account_id>",
    summary="One mailbox",
    response="Staff",
)
def get_account(account_id: int) -> Any:
    return jsonify(staff_json(_account(account_id)) | {"aliases": [a.address for a in _account(account_id).aliases]})


@endpoint(
    "/accounts/<int:account_id>",
    "PATCH",
    summary="Change record fields or quota",
    response="Staff",
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
    update_staff(db(), actor(), person, data)  # the schema has bounded every field
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
        body="Reason" if _reason else None,
    )(_lifecycle_endpoint(_verb, _reason))


@endpoint(
    "/accounts/<int:account_id>/reset-password",
    "POST",
    response="OneTimePassword",
    summary="A one-time password, returned once; must be changed at first use",
)
def reset_account_password(account_id: int) -> Any:
    from admin_app.context import runtime_of
    from provisioning.accounts import reset_password

    person = _account(account_id)
    password = reset_password(db(), actor(), person, secret_key=runtime_of().secret_key)
    return jsonify({"email": person.email, "one_time_password": password})


@endpoint(
    "/accounts/<int:account_id>/aliases",
    "POST",
    response="Staff",
    summary="Another address for the mailbox (a domain of the caller's units; reserved names are refused)",
    body="AliasInput",
    status=201,
)
def post_alias(account_id: int) -> Any:
    from admin_app.context import runtime_of
    from provisioning.accounts import add_alias

    person = _account(account_id)
    data = _body()
    add_alias(
        db(), actor(), person, data["address"], str(data.get("reason") or ""), rules=runtime_of().mailbox_policy.rules
    )
    return jsonify(staff_json(person) | {"aliases": [a.address for a in person.aliases]})


def import_json(batch: ImportBatch) -> dict[str, Any]:
    task = db().get(Task, batch.task_id) if batch.task_id else None
    return {
        "id": batch.id,
        "unit_id": batch.unit_id,
        "filename": batch.filename,
        "status": batch.status,
        "summary": batch.summary,
        "task": None if task is None else fields_of(task, "id", "status", "phase", "done", "total", "error"),
    }


def _import(import_id: int) -> ImportBatch:
    batch = db().get(ImportBatch, import_id)
    if batch is None or not actor().can(Role.UNIT_ADMIN, batch.unit):
        raise ApiError(404, "not_found", f"import {import_id} does not exist")
    return batch


@endpoint(
    "/imports",
    "POST",
    response="Import",
    summary="Upload a CSV/XLSX staff list (multipart: file, unit_id); its preview runs as a background task",
    status=202,
)
def post_import() -> Any:
    from provisioning import import_tasks

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "invalid", "send the staff list as multipart field 'file'")
    raw_unit = request.form.get("unit_id", "")
    unit_id = int(raw_unit) if raw_unit.isdigit() and len(raw_unit) < 19 else None
    unit = db().get(Unit, unit_id) if unit_id else None
    if unit is None:
        raise ApiError(422, "invalid", "field 'unit_id': give the id of an existing unit")
    batch = import_tasks.upload(db(), actor(), unit, upload.filename, upload.read())
    return jsonify(import_json(batch))


@endpoint(
    "/imports/<int:import_id>",
    response="Import",
    summary="An import: its preview (rows to create, change, bad rows) and its task's progress",
)
def get_import(import_id: int) -> Any:
    return jsonify(import_json(_import(import_id)))


@endpoint(
    "/imports/<int:import_id>/apply",
    "POST",
    response="Import",
    summary="Apply a previewed import without bad rows (all rows or none), as a background task",
    status=202,
)
def apply_import(import_id: int) -> Any:
    from provisioning import import_tasks

    batch = _import(import_id)
    import_tasks.queue(db(), actor(), batch, do_apply=True)
    return jsonify(import_json(batch))
