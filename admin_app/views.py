"""Console pages: dashboard, units, staff, audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext
from sqlalchemy import func, select

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from admin_app.dashboard import admin_health, headline, is_admin, meetings_between, scope_unit_ids, sparkline
from admin_app.lookups import staff_or_abort, unit_or_abort
from admin_app.staff_list_rows import staff_rows
from admin_app.trail_pages import CURSOR_ARGS, TrailFilters, known_actions, trail_page, trail_query
from admin_app.url_patterns import addresses
from audit.models import LastSeen
from audit.person_activity import activity_of, last_seen_many
from core.actors import SYSTEM, Actor
from core.validation import InputError, clean_int, clean_text
from meetings.models import BridgePoint, Meeting
from provisioning.actors import actor_for_staff
from provisioning.entries import list_address
from provisioning.models import AccountKind, AccountStatus, DirectoryJob, DirectoryJobStatus, Role, Staff
from provisioning.people import actor_names
from provisioning.queries import first_matches, get_unit_for, read_paths, unit_choices, visible_staff, visible_units
from provisioning.roles import DELEGABLE, holds_equal_or_wider, visible_grants
from provisioning.second_factor import has_second_factor

bp = Blueprint("console", __name__)
PAGE_SIZE = 100
SEARCH_CAP = 1000  # matches a search counts and orders (ten pages)


def _week_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    local = now.astimezone(runtime_of().settings.tz)
    monday = (local - dt.timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday, monday + dt.timedelta(days=7)


@bp.route("/")
@login_required
def dashboard() -> Any:
    actor = signed_in_actor()
    session = db()
    # Headline counts are not sensitive: roles without a unit scope (secretaries) see the province's.
    scope = actor if read_paths(actor) != [] else SYSTEM
    units = visible_units(scope).subquery()
    unit_count = session.scalar(select(func.count()).select_from(units))
    point_count = session.scalar(select(func.count(BridgePoint.id)).where(BridgePoint.is_active.is_(True)))
    start, end = _week_bounds(dt.datetime.now(dt.UTC))
    meeting_count = session.scalar(
        select(func.count(Meeting.id)).where(
            Meeting.starts_at >= start, Meeting.starts_at < end, Meeting.is_cancelled.is_(False)
        )
    )
    pending = session.scalar(select(func.count(DirectoryJob.id)).where(DirectoryJob.status != DirectoryJobStatus.DONE))
    now = dt.datetime.now(dt.UTC)
    local_today = now.astimezone(runtime_of().settings.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    is_secretary = actor.has_role(Role.SECRETARY) or actor.is_system_admin
    paths = read_paths(actor)
    # A unit admin (or an auditor of some units) sees the figures of their subtree, the province's readers its own.
    mine = scope_unit_ids(session, paths) if paths else None
    figures = headline(session, local_today.strftime("%Y-%m"), mine, runtime_of().snapshots) if paths != [] else None
    health = admin_health(session, actor, now) if is_admin(actor) else None
    if health is not None and scope is actor:  # the same mailboxes: the health counted them by status
        mailbox_count = health.by_status.get(AccountStatus.ACTIVE, 0)
    else:
        active = visible_staff(scope).where(Staff.status == AccountStatus.ACTIVE).order_by(None).subquery()
        mailbox_count = session.scalar(select(func.count()).select_from(active))
    return render_template(
        "dashboard.html",
        health=health,
        today=meetings_between(session, local_today, local_today + dt.timedelta(days=1)) if is_secretary else None,
        this_week=meetings_between(session, start, end) if is_secretary else None,
        meeting_url=addresses("meetings.meeting_detail", "meeting_id"),
        figures=figures,
        spark=sparkline([v for _m, v in figures["trend"]]) if figures else "",
        show_ranking=actor.has_role(Role.AUDITOR) or actor.is_system_admin,
        mailbox_count=mailbox_count,
        unit_count=unit_count,
        point_count=point_count,
        meeting_count=meeting_count,
        week_start=start,
        week_end=end - dt.timedelta(days=1),
        pending=pending,
        actor=actor,
    )


@bp.route("/units")
@login_required
def units() -> Any:
    actor = signed_in_actor()
    if read_paths(actor) == []:
        abort(403)
    rows = db().scalars(visible_units(actor)).all()
    counts = dict(db().execute(select(Staff.unit_id, func.count(Staff.id)).group_by(Staff.unit_id)).all())
    return render_template("units.html", units=rows, counts=counts)


@bp.route("/units/<int:unit_id>")
@login_required
def unit_detail(unit_id: int) -> Any:
    actor = signed_in_actor()
    unit = unit_or_abort(unit_id)
    staff = db().scalars(visible_staff(actor, unit=unit).limit(PAGE_SIZE)).all()
    can_admin = actor.can(Role.UNIT_ADMIN, unit)
    grants = db().scalars(visible_grants(actor, unit).limit(500)).all() if can_admin else []
    return render_template(
        "unit.html",
        unit=unit,
        staff=staff,
        can_admin=can_admin,
        grants=grants,
        role_choices=role_choices(actor) if can_admin else [],
    )


@bp.route("/staff")
@login_required
def staff_list() -> Any:
    actor = signed_in_actor()
    if read_paths(actor) == []:
        abort(403)
    args = request.args
    q = clean_text(args.get("q", ""), "q", max_length=200)
    status = args.get("status", "") if args.get("status", "") in {s.value for s in AccountStatus} else ""
    kind = args.get("kind", "") if args.get("kind", "") in {k.value for k in AccountKind} else ""
    sort = args.get("sort", "") if args.get("sort", "") in ("given", "last_seen") else ""
    try:
        idle = clean_int(args["idle"], "idle", maximum=36_500) if args.get("idle") else None
        unit_id = clean_int(args["unit"], "unit") if args.get("unit") else None
    except InputError:
        abort(400)
    unit = get_unit_for(db(), actor, unit_id) if unit_id else None
    page = _page()
    stmt = visible_staff(actor, q, unit)
    if status:
        stmt = stmt.where(Staff.status == status)
    if kind:
        stmt = stmt.where(Staff.kind == kind)
    last = select(LastSeen.staff_id, func.max(LastSeen.at).label("at")).group_by(LastSeen.staff_id).subquery()
    if idle is not None:  # inactive for N days: no sign-in on any channel since then, or never
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=idle)
        # signed in since on some channel: any of their rows is that recent (no need to find each one's latest)
        stmt = stmt.where(~Staff.id.in_(select(LastSeen.staff_id).where(LastSeen.at >= since)))
    row: Any = Staff
    if q:  # a search orders and counts its first thousand matches (in one query); a broader one asks for more words
        row = first_matches(stmt, SEARCH_CAP)
        stmt = select(row).order_by(row.full_name.concat(""), row.id)
    counted = stmt  # an order changes no count: the count never joins the last sign-ins
    if sort == "given":  # Vietnamese order: by given name, then family and middle name (the key sorts bytewise)
        key = row.sort_key.collate("C") if db().get_bind().dialect.name == "postgresql" else row.sort_key
        stmt = stmt.order_by(None).order_by(key, row.id)
    elif sort == "last_seen":
        stmt = (
            stmt.outerjoin(last, last.c.staff_id == row.id)
            .order_by(None)
            .order_by(last.c.at.is_(None), last.c.at, row.id)
        )
    offset = (page - 1) * PAGE_SIZE
    if q:
        found = db().execute(stmt.add_columns(func.count().over()).offset(offset).limit(PAGE_SIZE)).all()
        if found or offset == 0:
            matched = found[0][1] if found else 0
        else:  # a page past the matches: count them for the pager
            matched = db().scalar(select(func.count()).select_from(row)) or 0
        total, more = min(matched, SEARCH_CAP), matched > SEARCH_CAP
        rows = [person for person, _ in found][: max(0, total - offset)]
    else:
        total, more = db().scalar(select(func.count()).select_from(counted.order_by(None).subquery())) or 0, False
        rows = db().scalars(stmt.offset(offset).limit(PAGE_SIZE)).all()
    filters = {"q": q, "status": status, "kind": kind, "idle": idle or "", "unit": unit_id or "", "sort": sort}
    units = unit_choices(db(), actor)
    admin_units = [u for u in units if actor.can(Role.UNIT_ADMIN, u)]
    return render_template(
        "staff.html",
        staff=rows,
        q=q,
        page=page,
        total=total,
        more=more,
        page_size=PAGE_SIZE,
        filters=filters,
        last_seen=last_seen_many(db(), [p.id for p in rows]),
        units=units,
        unit_names={u.id: u.name for u in units},  # the rows' units without a lazy load each
        move_targets=admin_units,
        can_bulk=bool(admin_units),
        # what each row would translate or build again: its box's label, its page's address (status words are
        # translated once per request by admin_app.filters.status_label itself)
        choose_label=gettext("Choose %(name)s"),
        person_url=addresses("console.staff_detail", "staff_id"),
        staff_rows=staff_rows,
    )


@bp.route("/staff/<int:staff_id>")
@login_required
def staff_detail(staff_id: int) -> Any:
    person = staff_or_abort(staff_id)
    return render_template("staff_detail.html", person=person, **staff_page_context(signed_in_actor(), person))


@bp.app_template_global("role_label")
def role_label(role: str) -> str:
    from flask_babel import gettext as _

    labels = {
        Role.SYSTEM_ADMIN.value: _("System admin"),
        Role.UNIT_ADMIN.value: _("Unit IT admin"),
        Role.SECRETARY.value: _("Secretary"),
        Role.AUDITOR.value: _("Auditor"),
    }
    return labels.get(role, role)


def role_choices(actor: Actor) -> list[str]:
    """The roles the actor may give somewhere (the forms offer no more)."""
    if actor.is_system_admin:
        return [r.value for r in Role]
    return sorted(DELEGABLE) if actor.has_role(Role.UNIT_ADMIN) else []


def staff_page_context(actor: Actor, person: Staff) -> dict[str, Any]:
    """What a mailbox's page needs besides the person: may the actor change it (not someone with a role as
    wide as theirs), where it may move, the roles it holds and the roles the actor may give."""
    can_admin = actor.can(Role.UNIT_ADMIN, person.unit) and not holds_equal_or_wider(actor, person)
    admin_units = [u for u in unit_choices(db(), actor) if actor.can(Role.UNIT_ADMIN, u)] if can_admin else []
    return {
        "can_admin": can_admin,
        "move_targets": [u for u in admin_units if u.id != person.unit_id],
        "role_units": admin_units,
        "role_choices": role_choices(actor) if can_admin or actor.is_system_admin else [],
        "is_system_admin": actor.is_system_admin,
        "has_second_factor": has_second_factor(db(), actor_for_staff(person)),
        "activity": activity_of(db(), person, dt.datetime.now(runtime_of().settings.tz).date()),
        "list_address": list_address(person.unit, runtime_of().settings.mail_domain),
    }


def _page() -> int:
    """The ``page`` query argument (1 if absent); a page beyond any list is refused by name, not a 500."""
    return clean_int(request.args["page"], "page", maximum=100_000) if request.args.get("page") else 1


@bp.route("/audit")
@login_required
def audit_trail() -> Any:
    actor = signed_in_actor()
    paths = read_paths(actor)
    if paths == []:
        abort(403)
    session = db()
    filters = TrailFilters.from_args(request.args)
    before = clean_int(request.args["before"], "before") if request.args.get("before") else None
    after = clean_int(request.args["after"], "after") if request.args.get("after") else None
    stmt = trail_query(session, paths, filters, runtime_of().settings.tz)
    page = trail_page(session, stmt, before=before, after=after, size=PAGE_SIZE)
    return render_template(
        "audit.html",
        entries=page.entries,
        actor_names=actor_names(session, {e.actor for e in page.entries}),
        page=page,
        actions=known_actions(session),
        units=unit_choices(session, actor),
        filters=filters.form_values(),
        kept={k: v for k, v in request.args.items() if k not in CURSOR_ARGS},
    )
