"""/api/v1/accounts: official mailboxes (create, change, lifecycle, passwords, import)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request

from admin_app import db
from admin_app.api.core import SCHEMAS, ApiError, _body, _json_list, actor, endpoint
from admin_app.api.units import list_staff, staff_json
from provisioning.models import Staff, Unit
from provisioning.queries import get_staff_for

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
    from core.tabular import read_table
    from provisioning.importing import ImportError_, ImportRefused, apply, preview

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
