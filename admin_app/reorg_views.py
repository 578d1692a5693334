"""Console pages of a reorganisation plan (Đơn vị → Tổ chức lại): upload, the preview, a confirmed apply, progress
and history.

The preview and the application run as background tasks (:mod:`provisioning.reorg.tasks`); these pages only queue
them and show their state, which lives in the database, so every web worker shows the same page. The verbs check
the actor; a page that only reads shows system admins the plans and everyone else the refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from sqlalchemy import select

from admin_app.auth import login_required, signed_in_actor
from admin_app.context import db, runtime_of
from admin_app.filters import datetime_filter, unit_kind_label
from core.actors import PermissionDenied
from core.db import utcnow
from core.tabular import FileFormatError, write_csv
from core.tasks import Task
from provisioning.errors import ProvisioningError
from provisioning.history_models import Reorganisation
from provisioning.reorg import tasks as reorg_tasks
from provisioning.reorg.sheets import workbook_from_csv

bp = Blueprint("reorg", __name__, url_prefix="/units/reorganisations")
SHOWN = 100  # rows of a long table on the page; the whole table is a CSV download
TREE_SHOWN = 400
HISTORY = 200
PLAN_TYPES = (".xlsx", ".csv")


def _refusal() -> Any:
    message = _("Only system administrators can reorganise units.")
    return render_template("error.html", code=403, title=_("Not allowed"), message=message), 403


def _may_read() -> bool:
    return signed_in_actor().is_system_admin


def labels() -> dict[str, dict[str, str]]:
    """Every coded value of a plan and its preview, in the page's language."""
    return {
        "status": {
            "uploaded": pgettext("reorganisation", "uploaded"),
            "previewing": pgettext("reorganisation", "previewing"),
            "previewed": pgettext("reorganisation", "previewed"),
            "applying": pgettext("reorganisation", "applying"),
            "applied": pgettext("reorganisation", "applied"),
            "failed": pgettext("reorganisation", "failed"),
        },
        "tree": {
            "new": pgettext("reorganisation", "new"),
            "renamed": pgettext("reorganisation", "renamed"),
            "moved": pgettext("reorganisation", "moved"),
            "merged": pgettext("reorganisation", "merged"),
            "dissolved": pgettext("reorganisation", "dissolved"),
            "domain": pgettext("reorganisation", "new mail domain"),
            "unchanged": pgettext("reorganisation", "unchanged"),
        },
        "point": {
            "rehome": pgettext("reorganisation", "moves to the successor unit"),
            "retire": pgettext("reorganisation", "retired"),
        },
        "booking": {
            "move": pgettext("reorganisation", "kept, with the point"),
            "cancel": pgettext("reorganisation", "cancelled with notices"),
        },
        "role": {
            "revoke": pgettext("reorganisation", "revoked"),
            "move": pgettext("reorganisation", "moved to the successor"),
        },
        "list": {
            "created": pgettext("reorganisation", "new list"),
            "removed": pgettext("reorganisation", "removed"),
            "members": pgettext("reorganisation", "members change"),
        },
    }


@bp.app_template_global("reorg_when")
def when(value: str | None) -> str:
    """A booking's ISO start as the console writes times (dd/mm/yyyy HH:MM, local)."""
    try:
        return datetime_filter(dt.datetime.fromisoformat(value or ""))
    except ValueError:
        return value or ""


@bp.app_template_global("reorg_who")
def who(label: str) -> str:
    """The uploader as people know them (``staff:an@…`` → ``an@…``)."""
    return label.split(":", 1)[1] if label.startswith(("staff:", "local:")) else label


def summary_labels() -> dict[str, str]:
    """What applying did, by the keys of ``Reorganisation.summary``."""
    return {
        "units_created": _("units created"),
        "units_renamed": _("units renamed"),
        "units_moved": _("units moved"),
        "units_merged": _("units merged"),
        "units_dissolved": _("units dissolved"),
        "domains_changed": _("mail domains changed"),
        "staff_moved": _("mailboxes moved"),
        "addresses_changed": _("addresses changed"),
        "roles_revoked": _("roles revoked"),
        "roles_moved": _("roles moved"),
        "points_rehomed": _("bridge points re-homed"),
        "points_retired": _("bridge points retired"),
        "meetings_cancelled": _("meetings cancelled"),
        "meetings_changed": _("meetings changed"),
    }


def impact(reorg: Reorganisation) -> dict[str, int]:
    """What applying changes, as the preview counted it (or, once applied, as applying did)."""
    preview: dict[str, Any] = reorg.preview or {}
    counts: dict[str, Any] = {**(preview.get("counts") or {}), **(reorg.summary or {})}

    def n(*keys: str) -> int:
        return sum(int(counts.get(k) or 0) for k in keys if isinstance(counts.get(k, 0), int))

    points = preview.get("points") or []
    return {
        "units": n("units_changed")
        if "units_changed" in counts
        else n("units_created", "units_renamed", "units_moved", "units_merged", "units_dissolved", "domains_changed"),
        "moved": n("staff_moved"),
        "addresses": n("addresses_changed"),
        "points": n("points_rehomed", "points_retired"),
        "cancelled": sum(1 for p in points for b in p.get("bookings") or [] if b.get("action") == "cancel"),
        "roles": n("roles_revoked", "roles_moved"),
    }


def _reorg(reorg_id: int) -> Reorganisation:
    reorg = db().get(Reorganisation, reorg_id)
    if reorg is None:
        abort(404)
    return reorg


def _task(reorg: Reorganisation) -> Task | None:
    return db().get(Task, reorg.task_id) if reorg.task_id else None


def _history() -> list[Reorganisation]:
    return list(db().scalars(select(Reorganisation).order_by(Reorganisation.id.desc()).limit(HISTORY)))


def plan_file(plan: tuple[str, bytes], staff: tuple[str, bytes] | None) -> tuple[str, bytes]:
    """The file to store: an XLSX plan as it is; a CSV plan (and a CSV staff sheet) as one workbook, as the CLI
    stores it. Raises :class:`ProvisioningError` in the page's language."""
    name, content = plan
    if not name.lower().endswith(PLAN_TYPES):
        raise ProvisioningError(_("%(file)s: the plan is a .xlsx or .csv file.", file=name))
    if staff is not None and not staff[0].lower().endswith(".csv"):
        raise ProvisioningError(_("%(file)s: the staff sheet is a .csv file.", file=staff[0]))
    if not name.lower().endswith(".csv"):
        if staff is not None:
            raise ProvisioningError(_('An XLSX plan carries its staff sheet itself (sheet "Nhân sự").'))
        return name, content
    try:
        return name.rsplit(".", 1)[0] + ".xlsx", workbook_from_csv(content, staff[1] if staff else None)
    except FileFormatError as exc:
        if exc.reason == "empty":
            raise ProvisioningError(_("%(file)s is empty.", file=name)) from None
        detail = _('save it from Excel as "CSV UTF-8"')
        raise ProvisioningError(
            _("%(file)s cannot be read (%(detail)s): %(reason)s", file=name, detail=detail, reason=str(exc))
        ) from None


def _read_upload(field: str) -> tuple[str, bytes] | None:
    file = request.files.get(field)
    if file is None or not file.filename:
        return None
    return file.filename, file.read()


@bp.route("", methods=["GET", "POST"])
@login_required
def plans() -> Any:
    """The upload form and the history of plans."""
    if request.method == "GET" and not _may_read():
        return _refusal()
    error = None
    if request.method == "POST":
        try:
            plan = _read_upload("file")
            if plan is None:
                raise ProvisioningError(_("Choose the plan: an XLSX or CSV file."))
            name, content = plan_file(plan, _read_upload("staff"))
            reorg = reorg_tasks.upload(db(), signed_in_actor(), name, content)
        except PermissionDenied:
            return _refusal()
        except ProvisioningError as exc:
            error = str(exc)
        else:
            return redirect(url_for("reorg.plan", reorg_id=reorg.id))
        if not _may_read():  # the answer to a bad file lists the plans: only to those who may read them
            return _refusal()
    page = render_template("reorg_list.html", plans=_history(), error=error, labels=labels(), impact=impact)
    return page, (422 if error else 200)


@bp.route("/<int:reorg_id>")
@login_required
def plan(reorg_id: int) -> Any:
    """One plan: progress while a task runs, then its errors or its preview, or what applying did."""
    if not _may_read():
        return _refusal()
    reorg = _reorg(reorg_id)
    task = _task(reorg)
    preview: dict[str, Any] = reorg.preview or {}
    return render_template(
        "reorg_detail.html",
        reorg=reorg,
        task=task,
        is_running=task is not None and not task.is_finished,
        preview=preview,
        errors=preview.get("errors") or [],
        impact=impact(reorg),
        labels=labels(),
        summary_labels=summary_labels(),
        shown=SHOWN,
        tree_shown=TREE_SHOWN,
        can_apply=reorg.status == "previewed" and not preview.get("errors"),
    )


@bp.route("/<int:reorg_id>/apply", methods=["GET", "POST"])
@login_required
def apply(reorg_id: int) -> Any:
    """The confirmation that names what changes, then the application as a task."""
    if not _may_read():
        return _refusal()
    reorg = _reorg(reorg_id)
    if reorg.status != "previewed" or (reorg.preview or {}).get("errors"):
        flash(_("Only a previewed plan without errors can be applied."), "error")
        return redirect(url_for("reorg.plan", reorg_id=reorg.id))
    error = None
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            error = _("Tick the box to confirm.")
        else:
            try:
                reorg_tasks.queue_apply(db(), signed_in_actor(), reorg)
            except PermissionDenied:
                return _refusal()
            except ProvisioningError as exc:
                error = str(exc)
            else:
                flash(_("The plan is being applied."), "success")
                return redirect(url_for("reorg.plan", reorg_id=reorg.id))
    alias_days = runtime_of().settings.reorg_alias_days
    page = render_template("reorg_confirm.html", reorg=reorg, impact=impact(reorg), error=error, alias_days=alias_days)
    return page, (422 if error else 200)


# -- the preview's tables as CSV (cells never become formulas) ------------------------------------------------


def _tree_rows(p: dict[str, Any], lab: dict[str, dict[str, str]]) -> Iterable[list[Any]]:
    for u in p.get("tree") or []:
        yield [
            u.get("code"),
            u.get("name"),
            unit_kind_label(u.get("kind") or ""),
            u.get("parent_code"),
            lab["tree"].get(u.get("status"), u.get("status")),
            u.get("mailboxes_before"),
            u.get("mailboxes_after"),
        ]


def _address_rows(p: dict[str, Any], _lab: dict[str, dict[str, str]]) -> Iterable[list[Any]]:
    for a in p.get("addresses") or []:
        yield [a.get("staff_id"), a.get("name"), a.get("old"), a.get("new"), a.get("collision") or ""]


def _list_rows(p: dict[str, Any], lab: dict[str, dict[str, str]]) -> Iterable[list[Any]]:
    for item in p.get("lists") or []:
        yield [item.get("address"), lab["list"].get(item.get("change"), item.get("change"))]


def _point_rows(p: dict[str, Any], lab: dict[str, dict[str, str]]) -> Iterable[list[Any]]:
    for point in p.get("points") or []:
        head = [
            point.get("point"),
            point.get("unit"),
            lab["point"].get(point.get("action"), point.get("action")),
            point.get("successor") or "",
        ]
        bookings = point.get("bookings") or []
        if not bookings:
            yield [*head, "", "", ""]
        for b in bookings:
            yield [
                *head,
                b.get("meeting"),
                when(b.get("starts_at")),
                lab["booking"].get(b.get("action"), b.get("action")),
            ]


def _role_rows(p: dict[str, Any], lab: dict[str, dict[str, str]]) -> Iterable[list[Any]]:
    for r in p.get("roles") or []:
        yield [
            r.get("person"),
            r.get("role"),
            r.get("unit"),
            lab["role"].get(r.get("action"), r.get("action")),
            r.get("new_unit") or "",
        ]


def _error_rows(p: dict[str, Any], _lab: dict[str, dict[str, str]]) -> Iterable[list[Any]]:
    for e in p.get("errors") or []:
        yield [e.get("sheet"), e.get("row"), e.get("column"), e.get("message")]


def _parts() -> dict[str, tuple[list[str], Callable[[dict[str, Any], dict[str, dict[str, str]]], Iterable[list[Any]]]]]:
    return {
        "tree": (
            [_("Code"), _("Name"), _("Kind"), _("Parent"), _("Change"), _("Mailboxes before"), _("Mailboxes after")],
            _tree_rows,
        ),
        "addresses": (
            [_("Staff id"), _("Full name"), _("Old address"), _("New address"), _("Collision")],
            _address_rows,
        ),
        "lists": ([_("Distribution list"), _("Change")], _list_rows),
        "points": (
            [_("Bridge point"), _("Unit"), _("Action"), _("Successor"), _("Meeting"), _("Starts at"), _("Booking")],
            _point_rows,
        ),
        "roles": ([_("Person"), _("Role"), _("Unit"), _("Action"), _("New unit")], _role_rows),
        "errors": ([_("Sheet"), _("Row"), _("Column"), _("Problem")], _error_rows),
    }


@bp.route("/<int:reorg_id>/<part>.csv")
@login_required
def download(reorg_id: int, part: str) -> Any:
    """One table of the preview, whole, as CSV (UTF-8 with BOM for Excel)."""
    if not _may_read():
        return _refusal()
    reorg = _reorg(reorg_id)
    parts = _parts()
    if part not in parts:
        abort(404)
    header, rows = parts[part]
    data = write_csv(header, rows(reorg.preview or {}, labels()))
    name = f"to-chuc-lai-{reorg.id}-{part}-{utcnow():%Y%m%d}.csv"
    return Response(
        data, mimetype="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
