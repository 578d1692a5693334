"""The console's directory search, asked by the booking form's "invite by name" field as you type."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db
from core.actors import PermissionDenied
from provisioning.people import search_people

bp = Blueprint("people", __name__)


@bp.route("/people/search")
@login_required
def search() -> Any:
    query = request.args.get("q", "")[:200]
    try:
        found = search_people(db(), signed_in_actor(), query, limit=10)
    except PermissionDenied:
        abort(403)
    return jsonify([{"name": p.name, "email": p.email, "title": p.title, "unit": p.unit} for p in found])
