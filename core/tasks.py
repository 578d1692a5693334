"""Durable background work: a task is a row, claimed exactly once by a worker process, with its progress,
result and failure in the database, so every web worker shows the same page and a killed worker's task is
taken up again.

Claiming is one short transaction: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``, on SQLite the write
lock that every writing transaction takes first (``BEGIN IMMEDIATE``). A running task renews its heartbeat;
one whose heartbeat is older than the timeout is claimed again. A handler is written so that running it
again after a crash finishes the work without doing any of it twice: its database work is one unit of work
(all or nothing), and the intents that unit recorded carry the task's origin, so a resumed task first
applies what its earlier run committed but did not get to apply.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Index, String, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.actors import Actor
from core.boundary import Boundary, Recorded
from core.db import READ_ONLY, Base, one_of, unit_of_work, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


class TaskStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Task(Base):
    """One piece of background work (an import's preview or application, a reorganisation, a report)."""

    __tablename__ = "tasks"
    __table_args__ = (
        one_of("status", TaskStatus),
        Index("ix_tasks_claim", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Who started it, as resolved then: the task acts with those rights.
    actor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.QUEUED)
    phase: Mapped[str] = mapped_column(String(40), default="")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(String(2000), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.kind} {self.status} {self.done}/{self.total}>"

    @property
    def is_finished(self) -> bool:
        return self.status in (TaskStatus.DONE, TaskStatus.FAILED)

    @property
    def origin(self) -> str:
        return f"task:{self.id}"


class TaskFailed(Exception):
    """A handler's way to end its task as failed with a message for the person who started it."""


def actor_record(actor: Actor) -> dict[str, Any]:
    return {
        "kind": actor.kind,
        "id": actor.id,
        "name": actor.name,
        "roles": sorted([r, p] for r, p in actor.roles),
        "client_address": actor.client_address,
    }


def actor_from_record(data: Mapping[str, Any]) -> Actor:
    roles = frozenset((str(r), p) for r, p in data.get("roles", []))
    return Actor(str(data["kind"]), data.get("id"), str(data["name"]), roles, str(data.get("client_address", "")))


def submit(session: Session, actor: Actor, kind: str, params: Mapping[str, Any], *, total: int = 0) -> Task:
    """Queue a task in the caller's transaction; a worker claims it after the commit."""
    task = Task(kind=kind, params=dict(params), actor=actor_record(actor), total=total)
    session.add(task)
    session.flush()
    return task


@dataclass
class TaskContext:
    """What a handler gets: its task (as claimed), the actor, the boundary, and a progress reporter."""

    task_id: int
    kind: str
    params: dict[str, Any]
    actor: Actor
    attempt: int
    boundary: Boundary
    _progress: Callable[[int, int, str], None]

    @property
    def origin(self) -> str:
        return f"task:{self.task_id}"

    def progress(self, done: int, total: int, phase: str = "") -> None:
        self._progress(done, total, phase)

    def apply_intents(self, recorded: Recorded, phase: str) -> dict[str, Any]:
        """Apply intents this task recorded, reporting progress under ``phase``."""
        return self.boundary.apply(recorded, lambda done, total: self.progress(done, total, phase))


Handler = Callable[[TaskContext], dict[str, Any]]
# Applies every pending intent whose origin is the given one (for a resumed task).
OriginApplier = Callable[[str, Callable[[int, int], None] | None], None]


class Worker:
    """Claims and runs tasks. ``run_one`` does one; ``run_forever`` loops until ``stop`` is set."""

    def __init__(
        self,
        boundary: Boundary,
        handlers: Mapping[str, Handler],
        *,
        name: str,
        timeout: dt.timedelta,
        resume: OriginApplier | None = None,
        side_factory: Callable[[], sessionmaker[Session]] | None = None,
    ) -> None:
        self.boundary = boundary
        # Heartbeats and progress go through their own sessions; on SQLite a factory whose connections give
        # up quickly on a busy database (the task itself may hold the single write lock).
        self.side_factory = side_factory
        self.handlers = dict(handlers)
        self.name = name
        self.timeout = timeout
        self.resume = resume

    # -- claiming ------------------------------------------------------------------------------------

    def claim(self, now: dt.datetime | None = None, *, only: int | None = None) -> Task | None:
        """Take the oldest queued task (or task ``only``), or a running one whose worker stopped renewing its
        heartbeat."""
        now = now or utcnow()
        stale = now - self.timeout
        with self.boundary.unit(apply=False) as session:
            query = (
                select(Task)
                .where(
                    or_(
                        Task.status == TaskStatus.QUEUED,
                        (Task.status == TaskStatus.RUNNING) & (Task.heartbeat_at < stale),
                    )
                )
                .order_by(Task.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            task = session.scalar(query if only is None else query.where(Task.id == only))
            if task is None:
                return None
            task.status = TaskStatus.RUNNING
            task.claimed_by = self.name
            task.heartbeat_at = now
            task.attempts += 1
            task.started_at = task.started_at or now
            session.flush()
            session.expunge(task)
        return task

    # -- running -------------------------------------------------------------------------------------

    def run_one(self, only: int | None = None) -> Task | None:
        """Claim one task (or task ``only``) and run it to its end (done or failed). None if there was nothing
        to do."""
        task = self.claim(only=only)
        if task is None:
            return None
        self.run(task)
        return task

    def run(self, task: Task) -> None:
        stop_beat = threading.Event()
        beat = threading.Thread(target=self._beat, args=(task.id, stop_beat), daemon=True, name=f"beat-{task.id}")
        beat.start()
        try:
            outcome, result, error = self._execute(task)
        finally:
            stop_beat.set()
            beat.join()
        with self.boundary.unit(apply=False) as session:
            session.execute(
                update(Task)
                .where(Task.id == task.id, Task.claimed_by == self.name)
                .values(status=outcome, result=result, error=error[:2000], finished_at=utcnow(), heartbeat_at=utcnow())
            )

    def _execute(self, task: Task) -> tuple[str, dict[str, Any], str]:
        handler = self.handlers.get(task.kind)
        if handler is None:
            return TaskStatus.FAILED, {}, f"Không có bộ xử lý cho loại tác vụ {task.kind!r}."
        if task.attempts > MAX_ATTEMPTS:
            return TaskStatus.FAILED, {}, f"Tác vụ đã dừng giữa chừng {MAX_ATTEMPTS} lần; không thử lại nữa."
        context = TaskContext(
            task.id,
            task.kind,
            dict(task.params),
            actor_from_record(task.actor),
            task.attempts,
            self.boundary,
            self._reporter(task.id),
        )
        try:
            if task.attempts > 1 and self.resume is not None:
                # A worker stopped while running this task: first finish applying what its earlier run
                # committed (directory jobs, mail), then let the handler see what is left.
                self.resume(task.origin, lambda done, total: context.progress(done, total, "resume"))
            result = handler(context)
        except TaskFailed as exc:
            return TaskStatus.FAILED, {}, str(exc)
        except Exception as exc:
            log.exception("task %s (%s) failed", task.id, task.kind)
            return TaskStatus.FAILED, {}, f"Lỗi không lường trước ({type(exc).__name__}): {exc}"
        return TaskStatus.DONE, result, ""

    def _reporter(self, task_id: int) -> Callable[[int, int, str], None]:
        last = {"at": 0.0, "phase": ""}

        def report(done: int, total: int, phase: str) -> None:
            now = time.monotonic()
            if now - last["at"] < 0.3 and done < total and phase == last["phase"]:
                return  # a few writes a second are enough for a progress bar; a new phase is always shown
            last["at"], last["phase"] = now, phase
            self._write(task_id, done=done, total=total, phase=phase[:40])

        return report

    def _beat(self, task_id: int, stop: threading.Event) -> None:
        interval = max(0.5, self.timeout.total_seconds() / 4)
        while not stop.wait(interval):
            self._write(task_id, heartbeat_at=utcnow())

    def _write(self, task_id: int, **values: Any) -> None:
        """A short transaction of its own; skipped when the database is busy (SQLite's single writer may be
        the task itself, holding its write transaction)."""
        token = READ_ONLY.set(False)
        try:
            if self.side_factory is None:
                with self.boundary.unit(apply=False) as session:
                    session.execute(
                        update(Task).where(Task.id == task_id, Task.claimed_by == self.name).values(**values)
                    )
            else:
                with unit_of_work(self.side_factory()) as session:
                    session.execute(
                        update(Task).where(Task.id == task_id, Task.claimed_by == self.name).values(**values)
                    )
        except OperationalError:
            log.debug("task %s: progress not written (database busy)", task_id)
        finally:
            READ_ONLY.reset(token)

    def run_forever(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        while not stop.is_set():
            try:
                task = self.run_one()
            except OperationalError as exc:
                log.warning("task worker %s: database unavailable: %s", self.name, exc)
                task = None
            if task is None:
                stop.wait(idle_seconds)
