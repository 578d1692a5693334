"""Imports as durable background tasks: an uploaded staff list is previewed, then applied, by a worker.

The upload and each step are recorded in the database (the batch and its task), so any web worker shows the
same progress and a worker that is killed half-way is replaced by another that finishes the job. Applying
is one unit of work (every row or none); the batch is marked applied in that same transaction, so a
resumed task never applies the file twice: it only finishes giving slapd the directory jobs that were
committed (the worker applies a resumed task's own intents before calling the handler again).
"""

from __future__ import annotations

import io
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from core.db import READ_ONLY, utcnow
from core.tabular import FileFormatError, read_table
from core.tasks import Task, TaskContext, TaskFailed, submit
from provisioning.import_plan import ImportError_, Preview
from provisioning.importing import ImportRefused, apply, preview
from provisioning.models import DirectoryJob, ImportBatch, Role, Unit
from provisioning.operations import MailboxPolicy, ProvisioningError

PREVIEW, APPLY = "import.preview", "import.apply"
MAX_FILE_BYTES = 64 * 1024 * 1024


def upload(session: Session, actor: Actor, unit: Unit, filename: str, content: bytes) -> ImportBatch:
    """Keep an uploaded staff list for ``unit`` and queue its preview."""
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    name = (filename or "").strip()[:300]
    if not name.lower().endswith((".csv", ".xlsx")):
        raise ProvisioningError(f"{name or 'the file'}: use a .csv or .xlsx file")
    if len(content) > MAX_FILE_BYTES:
        raise ProvisioningError(f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    batch = ImportBatch(unit_id=unit.id, filename=name, content=content, actor=actor.label, status="uploaded")
    session.add(batch)
    session.flush()
    changelog.record(
        session,
        actor,
        "import.upload",
        "import_batch",
        batch.id,
        target_label=name,
        unit_id=unit.id,
        after={"bytes": len(content)},
    )
    queue(session, actor, batch, do_apply=False)
    return batch


def queue(session: Session, actor: Actor, batch: ImportBatch, *, do_apply: bool) -> Task:
    """Queue the preview, or (for a previewed file without bad rows) the application, of ``batch``."""
    actor.require(Role.UNIT_ADMIN, batch.unit, f"unit {batch.unit.name}")
    if do_apply and (batch.status != "previewed" or batch.summary.get("errors")):
        raise ProvisioningError(f"{batch.filename}: only a previewed file without bad rows can be applied")
    task = submit(session, actor, APPLY if do_apply else PREVIEW, {"batch_id": batch.id})
    batch.task_id = task.id
    batch.status = "applying" if do_apply else "previewing"
    return task


def run(ctx: TaskContext, policy: MailboxPolicy) -> dict[str, Any]:
    """The task handler for both steps."""
    do_apply = ctx.kind == APPLY
    with ctx.boundary.unit(apply=False) as session:
        batch = session.get(ImportBatch, ctx.params.get("batch_id"))
        if batch is None:
            raise TaskFailed("Tệp nhập không còn tồn tại.")
        if do_apply and batch.status == "applied":
            return dict(batch.summary)  # applied before the worker stopped; its directory jobs are resumed
        content, filename, unit_id = batch.content, batch.filename, batch.unit_id
    try:
        total = sum(1 for _ in read_table(io.BytesIO(content), filename))
    except FileFormatError as exc:
        _fail(ctx, _file_problem(filename, exc))
    ctx.progress(0, total, "preview" if not do_apply else "database")
    options: dict[str, Any] = {
        "policy": policy,
        "progress": lambda n: ctx.progress(n, total, "preview" if not do_apply else "database"),
    }
    try:
        if do_apply:
            result = _apply(ctx, unit_id, content, filename, options)
        else:
            result = _preview(ctx, unit_id, content, filename, options)
    except ImportRefused as exc:
        _finish(ctx, "previewed", exc.preview.as_dict(), total)
        raise TaskFailed(
            f"Tệp {filename} có {len(exc.preview.errors)} dòng lỗi; không dòng nào được áp dụng."
        ) from None
    except FileFormatError as exc:
        _fail(ctx, _file_problem(filename, exc))
    except (ImportError_, ProvisioningError) as exc:
        _fail(ctx, f"Không nhập được tệp {filename}: {exc}")
    except PermissionDenied as exc:
        _fail(ctx, f"Không có quyền: {exc}")
    return result.as_dict()


def _preview(ctx: TaskContext, unit_id: int, content: bytes, filename: str, options: dict[str, Any]) -> Preview:
    token = READ_ONLY.set(True)  # a preview only reads: on SQLite it never takes the write lock
    try:
        with ctx.boundary.unit(apply=False) as session:
            unit = session.get(Unit, unit_id)
            if unit is None:
                raise TaskFailed("Đơn vị của tệp nhập không còn tồn tại.")
            result = preview(session, ctx.actor, unit, read_table(io.BytesIO(content), filename), **options)
            session.rollback()
    finally:
        READ_ONLY.reset(token)
    _finish(ctx, "previewed", result.as_dict(), result.total)
    return result


def _apply(ctx: TaskContext, unit_id: int, content: bytes, filename: str, options: dict[str, Any]) -> Preview:
    work = ctx.boundary.begin(ctx.origin)
    try:
        unit = work.session.get(Unit, unit_id)
        if unit is None:
            raise TaskFailed("Đơn vị của tệp nhập không còn tồn tại.")
        result = apply(
            work.session, ctx.actor, unit, read_table(io.BytesIO(content), filename), batch_label=filename, **options
        )
        batch = work.session.get(ImportBatch, ctx.params["batch_id"])
        assert batch is not None
        # In the same transaction as the rows: a worker that stops after this commit never applies them again.
        batch.status, batch.summary, batch.total_rows = "applied", result.as_dict(), result.total
        batch.done_rows, batch.finished_at = result.total, utcnow()
    except BaseException:
        work.rollback()
        raise
    recorded = work.recorded
    work.commit(apply=False)
    ctx.progress(0, recorded.count(DirectoryJob), "directory")
    ctx.apply_intents(recorded, "directory")
    return result


def _finish(ctx: TaskContext, status: str, summary: dict[str, Any], total: int) -> None:
    with ctx.boundary.unit(apply=False) as session:
        batch = session.get(ImportBatch, ctx.params["batch_id"])
        if batch is not None:
            batch.status, batch.summary, batch.total_rows = status, summary, total
            batch.done_rows, batch.finished_at = total, utcnow()


def _fail(ctx: TaskContext, message: str) -> NoReturn:
    _finish(ctx, "failed", {"error": message}, 0)
    raise TaskFailed(message)


def _file_problem(filename: str, exc: FileFormatError) -> str:
    words = {
        "empty": f"Tệp {filename} trống: không có dòng tiêu đề nào.",
        "no_sheet": f"Tệp {filename} không có trang tính nào.",
        "not_xlsx": f"Tệp {filename} không phải là bảng tính XLSX đọc được (có thể là tệp loại khác đổi tên).",
        "type": f"Tệp {filename}: chỉ nhận tệp .csv hoặc .xlsx.",
    }
    return words.get(exc.reason, f"Không đọc được tệp {filename}: {exc}")
