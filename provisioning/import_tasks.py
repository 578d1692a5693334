"""Imports as durable background tasks: an uploaded staff list is previewed, then applied, by a worker.

The upload and each step are recorded in the database (the batch and its task), so any web worker shows the
same progress and a worker that is killed half-way is replaced by another that finishes the job. Applying
is one unit of work (every row or none); the batch is marked applied in that same transaction, so a
resumed task never applies the file twice: it only finishes giving slapd the directory jobs that were
committed (the worker applies a resumed task's own intents before calling the handler again).
"""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor
from core.db import utcnow
from core.tabular import FileFormatError, read_table
from core.tasks import Task, TaskContext, TaskFailed
from provisioning.file_tasks import (
    applying,
    batch_failures,
    batch_unit,
    begin_step,
    fail_batch,
    file_problem,
    finish_batch,
    previewing,
    queue_batch,
    upload_name,
)
from provisioning.import_plan import ImportError_, Preview
from provisioning.importing import ImportRefused, apply, preview
from provisioning.models import ImportBatch, Role, Unit
from provisioning.operations import MailboxPolicy, ProvisioningError

PREVIEW, APPLY = "import.preview", "import.apply"


def upload(session: Session, actor: Actor, unit: Unit, filename: str, content: bytes) -> ImportBatch:
    """Keep an uploaded staff list for ``unit`` and queue its preview."""
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    name = upload_name(filename, content, (".csv", ".xlsx"), "use a .csv or .xlsx file")
    batch = ImportBatch(unit_id=unit.id, filename=name, content=content, actor=actor.label, status="uploaded")
    session.add(batch)
    session.flush()
    changelog.record_of(session, actor, "import.upload", batch, after={"bytes": len(content)})
    queue(session, actor, batch, do_apply=False)
    return batch


def queue(session: Session, actor: Actor, batch: ImportBatch, *, do_apply: bool) -> Task:
    """Queue the preview, or (for a previewed file without bad rows) the application, of ``batch``."""
    actor.require(Role.UNIT_ADMIN, batch.unit, f"unit {batch.unit.name}")
    if do_apply and (batch.status != "previewed" or batch.summary.get("errors")):
        raise ProvisioningError(f"{batch.filename}: only a previewed file without bad rows can be applied")
    return queue_batch(session, actor, batch, APPLY if do_apply else PREVIEW, {"batch_id": batch.id}, do_apply=do_apply)


def run(ctx: TaskContext, policy: MailboxPolicy) -> dict[str, Any]:
    """The task handler for both steps."""
    step = begin_step(ctx, APPLY)
    if step.done_before:
        return dict(step.batch.summary)
    content, filename, unit_id = step.batch.content, step.batch.filename, step.batch.unit_id
    try:
        total = sum(1 for _ in read_table(io.BytesIO(content), filename))
    except FileFormatError as exc:
        fail_batch(ctx, file_problem(filename, exc, ".csv hoặc .xlsx"))
    ctx.progress(0, total, step.phase)
    options: dict[str, Any] = {"policy": policy, "progress": lambda n: ctx.progress(n, total, step.phase)}
    with batch_failures(ctx, filename, ImportError_):
        try:
            if step.applying:
                result = _apply(ctx, unit_id, content, filename, options)
            else:
                result = _preview(ctx, unit_id, content, filename, options)
        except ImportRefused as exc:
            finish_batch(ctx, "previewed", exc.preview.as_dict(), total)
            raise TaskFailed(
                f"Tệp {filename} có {len(exc.preview.errors)} dòng lỗi; không dòng nào được áp dụng."
            ) from None
        except FileFormatError as exc:
            fail_batch(ctx, file_problem(filename, exc, ".csv hoặc .xlsx"))
    return result.as_dict()


def _preview(ctx: TaskContext, unit_id: int, content: bytes, filename: str, options: dict[str, Any]) -> Preview:
    with previewing(ctx) as session:
        unit = batch_unit(session, unit_id)
        result = preview(session, ctx.actor, unit, read_table(io.BytesIO(content), filename), **options)
    finish_batch(ctx, "previewed", result.as_dict(), result.total)
    return result


def _apply(ctx: TaskContext, unit_id: int, content: bytes, filename: str, options: dict[str, Any]) -> Preview:
    with applying(ctx) as work:
        unit = batch_unit(work.session, unit_id)
        result = apply(
            work.session, ctx.actor, unit, read_table(io.BytesIO(content), filename), batch_label=filename, **options
        )
        batch = work.session.get(ImportBatch, ctx.params["batch_id"])
        assert batch is not None
        # In the same transaction as the rows: a worker that stops after this commit never applies them again.
        batch.status, batch.summary, batch.total_rows = "applied", result.as_dict(), result.total
        batch.done_rows, batch.finished_at = result.total, utcnow()
    return result
