"""My meetings: what any member of staff who signs in sees of their own meetings (invited, organising, or as
the contact of a bridge point), with their own join link and calendar file, and private calendar feeds that
calendar programs subscribe to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from core.actors import PermissionDenied
from core.db import utcnow
from core.validation import InputError, clean_int
from meetings.mail_content import series_calendar
from meetings.mine import (
    feed_by_token,
    feed_calendar,
    issue_feed,
    live_feed,
    meetings_of_person,
    meetings_of_point,
    revoke_feeds,
)
from meetings.models import BridgePoint
from provisioning.models import Staff

bp = Blueprint("mine", __name__)


def _me() -> Staff:
    actor = signed_in_actor()
    staff = db().get(Staff, actor.id) if actor.kind == "staff" and actor.id is not None else None
    if staff is None:
        abort(404)  # the break-glass administrator has no mailbox and no meetings of their own
    return staff


def _my_points(staff: Staff) -> list[BridgePoint]:
    from sqlalchemy import select

    return list(
        db().scalars(
            select(BridgePoint)
            .where(BridgePoint.contact_email == staff.email, BridgePoint.is_active.is_(True))
            .order_by(BridgePoint.name)
        )
    )


def _page(staff: Staff, new_feed: str = "", new_feed_for: str = "") -> Any:
    env = runtime_of().meeting_env
    now = utcnow()
    items = meetings_of_person(db(), env, staff, since=now - dt.timedelta(days=7))
    points = [(p, live_feed(db(), point=p)) for p in _my_points(staff)]
    return render_template(
        "my_meetings.html",
        items=items,
        now=now,
        feed=live_feed(db(), staff=staff),
        points=points,
        new_feed=new_feed,
        new_feed_for=new_feed_for,
    )


@bp.route("/my/meetings")
@login_required
def my_meetings() -> Any:
    return _page(_me())


@bp.route("/my/meetings/<int:meeting_id>.ics")
@login_required
def my_meeting_ics(meeting_id: int) -> Any:
    staff = _me()
    env = runtime_of().meeting_env
    far = dt.timedelta(days=3650)
    mine = [
        i for i in meetings_of_person(db(), env, staff, utcnow() - far, utcnow() + far) if i.meeting.id == meeting_id
    ]
    if not mine:
        abort(404)
    text = series_calendar([mine[0].meeting], env, mine[0].recipient)
    return Response(
        text,
        mimetype="text/calendar",
        headers={"Content-Disposition": f"attachment; filename=meeting-{meeting_id}.ics"},
    )


@bp.route("/my/feed", methods=["POST"])
@login_required
def my_feed() -> Any:
    staff = _me()
    actor = signed_in_actor()
    point = None
    raw_point = request.form.get("point_id", "")
    if raw_point:
        try:
            point_id = clean_int(raw_point, "point_id")
        except InputError:
            abort(400)
        point = db().get(BridgePoint, point_id)
        if point is None:
            abort(404)
    owner: dict[str, Any] = {"point": point} if point is not None else {"staff": staff}
    try:
        if request.form.get("action") == "revoke":
            if request.form.get("confirm") != "yes":
                abort(400)  # the form's box says what stopping does; it must be ticked
            revoke_feeds(db(), actor, **owner)
            return _page(staff)
        token = issue_feed(db(), actor, **owner)
    except PermissionDenied:
        abort(403)
    url = url_for("mine.feed", token=token, _external=True)
    return _page(staff, new_feed=url, new_feed_for=point.name if point is not None else _("my meetings"))


@bp.route("/feeds/<token>.ics")
def feed(token: str) -> Any:
    """The subscribed calendar: no sign-in (calendar programs cannot), the secret in the URL is the key."""
    found = feed_by_token(db(), token)
    if found is None:
        abort(404)
    env = runtime_of().meeting_env
    if found.staff_id is not None:
        staff = db().get(Staff, found.staff_id)
        if staff is None or not staff.is_active:
            abort(404)
        text = feed_calendar(env, meetings_of_person(db(), env, staff), staff.full_name)
    else:
        point = db().get(BridgePoint, found.point_id)
        if point is None:
            abort(404)
        text = feed_calendar(env, meetings_of_point(db(), env, point), point.name)
    return Response(text, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})
