"""Reorganisations as durable background tasks: an uploaded plan is previewed, then applied, by a worker.

As with imports (:mod:`provisioning.import_tasks`), the plan and each step live in the database. Applying
is one unit of work: every unit, person, address, role and bridge point of the plan, or none; the plan is
marked applied in that same transaction, so a task taken up again after its worker stopped never applies it
twice: the worker first applies the directory jobs (and mail) that transaction committed, then the handler
finds the plan applied and finishes. A plan whose content was applied before changes nothing.

``Reorganisation.preview`` (rendered by the console and the API)::

    {"errors": [{"sheet", "row", "column", "message"}], "effective_on": "YYYY-MM-DD",
     "tree": [{"code", "name", "kind", "parent_code", "depth", "status", "mailboxes_before", "mailboxes_after"}],
     "addresses": [{"staff_id", "name", "old", "new", "collision"}], "lists": [{"address", "change"}],
     "points": [{"point", "unit", "action", "successor", "bookings": [{"meeting", "starts_at", "action"}]}],
     "roles": [{"person", "role", "unit", "action", "new_unit"}], "counts": {…}}

Error messages are English, like an import's row errors; status ``new|renamed|moved|merged|dissolved|domain|
unchanged``; ``already_applied`` (the id of the earlier plan) when the same content was applied before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from core.boundary import UnitOfWork
from core.db import utcnow
from core.tabular import FileFormatError
from core.tasks import Task, TaskContext, TaskFailed, submit
from provisioning.errors import ProvisioningError
from provisioning.file_tasks import applying, file_problem, previewing, upload_name
from provisioning.history_models import Reorganisation
from provisioning.operations import MailboxPolicy
from provisioning.reorg.apply import ApplyOptions, apply_plan
from provisioning.reorg.participants import Participant
from provisioning.reorg.preview import build
from provisioning.reorg.resolve import resolve
from provisioning.reorg.sheets import read_plan

PREVIEW, APPLY = "reorg.preview", "reorg.apply"
MAX_FILE_BYTES = 16 * 1024 * 1024
COUNTS = ("units_changed", "staff_moved", "addresses_changed", "roles_revoked", "points_rehomed", "points_retired")


@dataclass(frozen=True)
class ReorgSetup:
    """What the handlers need from the installation (built by the composition root)."""

    policy: MailboxPolicy
    alias_days: int = 365
    participants: Sequence[Participant] = field(default_factory=tuple)


def _require(actor: Actor) -> None:
    if not actor.is_system_admin:
        raise PermissionDenied(f"{actor.name} may not reorganise the unit tree; a system admin can")


def upload(session: Session, actor: Actor, filename: str, content: bytes) -> Reorganisation:
    """Keep an uploaded plan and queue its preview. A reorganisation spans the tree: system admins only."""
    _require(actor)
    hint = "use a .xlsx file (or a .csv of the units sheet)"
    name = upload_name(filename, content, (".csv", ".xlsx"), hint, MAX_FILE_BYTES)
    if not content:
        raise ProvisioningError(f"{name}: the file is empty")
    digest = hashlib.sha256(content).hexdigest()
    reorg = Reorganisation(filename=name, content=content, digest=digest, actor=actor.label, status="uploaded")
    session.add(reorg)
    session.flush()
    changelog.record(
        session,
        actor,
        "reorganisation.upload",
        "reorganisation",
        reorg.id,
        target_label=name,
        after={"bytes": len(content), "digest": digest},
    )
    task = submit(session, actor, PREVIEW, {"reorganisation_id": reorg.id})
    reorg.task_id, reorg.status = task.id, "previewing"
    return reorg


def queue_apply(session: Session, actor: Actor, reorg: Reorganisation) -> Task:
    """Queue the application of a previewed plan without errors."""
    _require(actor)
    if reorg.status != "previewed" or reorg.preview.get("errors") or "counts" not in reorg.preview:
        raise ProvisioningError(f"{reorg.filename}: only a previewed plan without errors can be applied")
    task = submit(session, actor, APPLY, {"reorganisation_id": reorg.id})
    reorg.task_id, reorg.status = task.id, "applying"
    return task


def applied_before(session: Session, reorg: Reorganisation) -> Reorganisation | None:
    """An earlier plan with the same content that was applied."""
    return session.scalar(
        select(Reorganisation)
        .where(Reorganisation.digest == reorg.digest, Reorganisation.status == "applied", Reorganisation.id != reorg.id)
        .order_by(Reorganisation.id)
        .limit(1)
    )


def nothing_to_do(earlier: Reorganisation) -> dict[str, Any]:
    return {
        "errors": [],
        "effective_on": earlier.effective_on.isoformat() if earlier.effective_on else None,
        "already_applied": earlier.id,
        "tree": [],
        "addresses": [],
        "lists": [],
        "points": [],
        "roles": [],
        "counts": dict.fromkeys(COUNTS, 0),
    }


def _load(ctx: TaskContext) -> tuple[Reorganisation, Reorganisation | None]:
    with ctx.boundary.unit(apply=False) as session:
        reorg = session.get(Reorganisation, ctx.params.get("reorganisation_id"))
        if reorg is None:
            raise TaskFailed("Kế hoạch tổ chức lại không còn tồn tại.")
        earlier = applied_before(session, reorg)
        session.expunge_all()
    return reorg, earlier


def run_preview(ctx: TaskContext, setup: ReorgSetup) -> dict[str, Any]:
    """The preview task: read, resolve and show the whole plan; changes nothing."""
    reorg, earlier = _load(ctx)
    ctx.progress(0, 1, "preview")
    with previewing(ctx) as session:
        if earlier is not None:
            preview = nothing_to_do(earlier)
        else:
            plan = _read(ctx, reorg)
            preview = build(session, resolve(session, plan, setup.policy.default_domain), setup.participants)
    _finish(ctx, "previewed", preview)
    ctx.progress(1, 1, "preview")
    return {"errors": len(preview["errors"]), **preview.get("counts", {})}


def run_apply(ctx: TaskContext, setup: ReorgSetup) -> dict[str, Any]:
    """The apply task: the whole plan in one unit of work, then the directory with progress."""
    reorg, earlier = _load(ctx)
    if reorg.status == "applied":
        return dict(reorg.summary)  # applied before the worker stopped; its directory jobs were resumed
    if earlier is not None:
        summary = {"nothing_to_change": True, "already_applied": earlier.id}
        _finish(ctx, "applied", None, summary)
        return summary
    plan = _read(ctx, reorg)
    ctx.progress(0, 1, "database")
    with applying(ctx) as work:
        try:
            summary = _apply(ctx, setup, work, reorg, plan)
        except (ValueError, PermissionDenied) as exc:
            work.rollback()
            _fail(ctx, f"Không áp dụng được kế hoạch {reorg.filename}: {exc}")
    return summary


def _apply(ctx: TaskContext, setup: ReorgSetup, work: UnitOfWork, reorg: Reorganisation, plan: Any) -> dict[str, Any]:
    resolved = resolve(work.session, plan, setup.policy.default_domain)
    if not resolved.is_clean:
        preview = build(work.session, resolved, setup.participants)
        work.rollback()
        _finish(ctx, "previewed", preview)
        raise TaskFailed(f"Kế hoạch {reorg.filename} có {len(preview['errors'])} lỗi; không thay đổi nào được áp dụng.")
    row = work.session.get(Reorganisation, reorg.id)
    assert row is not None
    options = ApplyOptions(
        setup.policy, setup.alias_days, setup.participants, lambda d, t: ctx.progress(d, t, "database")
    )
    summary = apply_plan(work.session, ctx.actor, row, resolved, options)
    row = work.session.get(Reorganisation, reorg.id)
    assert row is not None
    # In the same transaction as the changes: a worker that stops after this commit never applies them again.
    row.status, row.summary, row.applied_at = "applied", summary, utcnow()
    row.effective_on = resolved.effective_on
    return summary


def _read(ctx: TaskContext, reorg: Reorganisation) -> Any:
    try:
        return read_plan(reorg.content, reorg.filename)
    except FileFormatError as exc:
        _fail(ctx, file_problem(reorg.filename, exc, ".xlsx hoặc .csv"))


def _finish(
    ctx: TaskContext, status: str, preview: dict[str, Any] | None, summary: dict[str, Any] | None = None
) -> None:
    with ctx.boundary.unit(apply=False) as session:
        reorg = session.get(Reorganisation, ctx.params["reorganisation_id"])
        if reorg is None:
            return
        reorg.status = status
        if preview is not None:
            reorg.preview = preview
            if preview.get("effective_on"):
                reorg.effective_on = dt.date.fromisoformat(preview["effective_on"])
        if summary is not None:
            reorg.summary = summary
        if status == "applied":
            reorg.applied_at = utcnow()


def _fail(ctx: TaskContext, message: str) -> NoReturn:
    _finish(ctx, "failed", None, {"error": message})
    raise TaskFailed(message)
