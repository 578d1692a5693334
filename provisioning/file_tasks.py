"""What the tasks of an uploaded file share: a staff list (:mod:`provisioning.import_tasks`), an LDIF export
(:mod:`provisioning.ldif_tasks`) and a reorganisation plan (:mod:`provisioning.reorg.tasks`).

Each is uploaded (checked here by name and size), previewed in a unit of work that only reads, then applied
in one unit of work; once that commits, its directory jobs go to slapd with their own progress. The staff
list and the LDIF export are kept as an :class:`~provisioning.models.ImportBatch`, whose loading and end
states are here too.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from core.actors import Actor, PermissionDenied
from core.boundary import UnitOfWork
from core.db import READ_ONLY, utcnow
from core.tabular import FileFormatError, sheet_names
from core.tasks import Task, TaskContext, TaskFailed, submit
from provisioning.errors import ProvisioningError
from provisioning.models import DirectoryJob, ImportBatch, Unit

MAX_FILE_BYTES = 64 * 1024 * 1024


def upload_name(
    filename: str, content: bytes, endings: tuple[str, ...], hint: str, max_bytes: int = MAX_FILE_BYTES
) -> str:
    """The name an upload is kept under; refuses a file of another type (``hint`` says which to use) or too large."""
    name = (filename or "").strip()[:300]
    if not name.lower().endswith(endings):
        raise ProvisioningError(f"{name or 'the file'}: {hint}")
    if len(content) > max_bytes:
        raise ProvisioningError(f"{name}: larger than {max_bytes // (1024 * 1024)} MB")
    if name.lower().endswith(".xlsx"):
        # Cheap (read-only mode opens the workbook part only): a workbook that cannot hold a table is refused now,
        # not stored to fail in its preview.
        try:
            has_sheet = bool(sheet_names(io.BytesIO(content)))
        except FileFormatError as exc:
            raise ProvisioningError(file_problem(name, exc, ", ".join(endings))) from None
        if not has_sheet:
            raise ProvisioningError(file_problem(name, FileFormatError("no worksheet", "no_sheet"), ""))
    return name


@contextmanager
def previewing(ctx: TaskContext) -> Iterator[Session]:
    """A unit of work for a preview: it only reads (on SQLite it never takes the write lock) and is rolled back."""
    token = READ_ONLY.set(True)
    try:
        with ctx.boundary.unit(apply=False) as session:
            yield session
            session.rollback()
    finally:
        READ_ONLY.reset(token)


@contextmanager
def applying(ctx: TaskContext) -> Iterator[UnitOfWork]:
    """The apply step's one unit of work: rolled back on any error; once committed, the directory jobs it
    recorded are applied under the phase ``directory`` (a resumed task's are applied by the worker)."""
    work = ctx.boundary.begin(ctx.origin)
    try:
        yield work
    except BaseException:
        work.rollback()
        raise
    recorded = work.recorded
    work.commit(apply=False)
    ctx.progress(0, recorded.count(DirectoryJob), "directory")
    ctx.apply_intents(recorded, "directory")


def file_problem(filename: str, exc: FileFormatError, accepted: str) -> str:
    """Why ``filename`` cannot be read, for the person who uploaded it; ``accepted`` names the file types."""
    words = {
        "empty": f"Tệp {filename} trống: không có dòng tiêu đề nào.",
        "no_sheet": f"Tệp {filename} không có trang tính nào.",
        "not_xlsx": f"Tệp {filename} không phải là bảng tính XLSX đọc được (có thể là tệp loại khác đổi tên).",
        "type": f"Tệp {filename}: chỉ nhận tệp {accepted}.",
    }
    return words.get(exc.reason, f"Không đọc được tệp {filename}: {exc}")


def queue_batch(
    session: Session, actor: Actor, batch: ImportBatch, kind: str, params: dict[str, Any], *, do_apply: bool
) -> Task:
    """Submit the preview or apply task ``kind`` of ``batch`` and mark the batch with it."""
    task = submit(session, actor, kind, params)
    batch.task_id = task.id
    batch.status = "applying" if do_apply else "previewing"
    return task


@dataclass(frozen=True)
class BatchStep:
    """The upload a task works on, and which of its two steps this is."""

    batch: ImportBatch
    applying: bool

    @property
    def phase(self) -> str:
        return "database" if self.applying else "preview"

    @property
    def done_before(self) -> bool:
        """Applied before the worker stopped (that commit held the rows): only its directory jobs are resumed."""
        return self.applying and self.batch.status == "applied"


def begin_step(ctx: TaskContext, apply_kind: str) -> BatchStep:
    return BatchStep(load_batch(ctx), ctx.kind == apply_kind)


@contextmanager
def batch_failures(ctx: TaskContext, filename: str, *refusals: type[Exception]) -> Iterator[None]:
    """A refused file or a refused actor ends the batch as failed, the reason in Vietnamese on its page.
    ``refusals``: more errors of the step's own that mean the file was refused."""
    try:
        yield
    except (ProvisioningError, *refusals) as exc:
        fail_batch(ctx, f"Không nhập được tệp {filename}: {exc}")
    except PermissionDenied as exc:
        fail_batch(ctx, f"Không có quyền: {exc}")


def load_batch(ctx: TaskContext) -> ImportBatch:
    """The task's upload, detached from the unit of work that read it."""
    with ctx.boundary.unit(apply=False) as session:
        batch = session.get(ImportBatch, ctx.params.get("batch_id"))
        if batch is None:
            raise TaskFailed("Tệp nhập không còn tồn tại.")
        session.expunge(batch)
    return batch


def batch_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise TaskFailed("Đơn vị của tệp nhập không còn tồn tại.")
    return unit


def finish_batch(ctx: TaskContext, status: str, summary: dict[str, Any], total: int) -> None:
    """Write the batch's end state in a unit of its own (a failed step's was rolled back)."""
    with ctx.boundary.unit(apply=False) as session:
        batch = session.get(ImportBatch, ctx.params["batch_id"])
        if batch is not None:
            batch.status, batch.summary, batch.total_rows = status, summary, total
            batch.done_rows, batch.finished_at = total, utcnow()


def fail_batch(ctx: TaskContext, message: str) -> NoReturn:
    finish_batch(ctx, "failed", {"error": message}, 0)
    raise TaskFailed(message)
