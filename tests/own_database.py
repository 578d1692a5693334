"""A database of its own, committed, for tests that run real ``congvu worker`` processes against it (the
shared test database is one rolled-back transaction, which another process cannot see), and the procedure
those tests share: a worker killed while slapd is frozen half-way through a task's directory phase, then a
second worker that takes the task up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app import create_app
from admin_app.migrate import upgrade
from admin_app.runtime import Runtime
from core.actors import SYSTEM
from core.db import READ_ONLY
from core.tasks import Task
from provisioning.models import Unit
from provisioning.operations import create_unit
from tests.conftest import app_overrides, drop_database, fresh_database_url

WORKER = [sys.executable, "-c", "from admin_app.cli import main; main()", "worker"]
TASK_SECONDS = 120  # how long a worker may take to reach a phase or finish a task on a busy machine


def process_environment(overrides: dict[str, Any]) -> dict[str, str]:
    """The environment of a ``congvu`` process with these settings: this one's, less any ``CONGVU_`` variable
    of its own (a developer's shell may set some), plus a ``CONGVU_`` variable for each setting."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONGVU_")}
    return env | {f"CONGVU_{key.upper()}": str(value) for key, value in overrides.items()}


class OwnDatabase:
    """A migrated database of its own with the session's slapd; ``apps`` app instances on it (several web
    workers), the first one's runtime as ``runtime``. ``close()`` disposes of them and drops the database."""

    def __init__(self, tmp: Path, services: Any, label: str, apps: int = 1) -> None:
        self.url = fresh_database_url(tmp, label)
        upgrade(self.url)
        self.overrides = app_overrides(tmp / "instance", self.url, services) | {"task_timeout_seconds": 2}
        self.apps: list[Flask] = [create_app(dict(self.overrides)) for _ in range(apps)]
        self.runtime: Runtime = self.apps[0].extensions["congvu"]

    @staticmethod
    def province(session: Session) -> Unit:
        """The province root: the one a database of its own already holds (another test's), or a new one."""
        root = session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
        if root is None:
            root = create_unit(session, SYSTEM, code="TINH", name="Tỉnh Gia Lai", kind="province", parent=None)
        return root

    def environment(self) -> dict[str, str]:
        """The environment a ``congvu`` process needs to run against this database and the session's slapd."""
        return process_environment(self.overrides)

    def task(self, task_id: int) -> Task:
        """The task as a page would read it: a read-only transaction, which on SQLite never waits for a writer."""
        token = READ_ONLY.set(True)
        try:
            with self.runtime.session_factory() as session:
                task = session.get(Task, task_id)
                assert task is not None
                session.expunge(task)
                return task
        finally:
            READ_ONLY.reset(token)

    def close(self) -> None:
        for app in self.apps:
            runtime: Runtime = app.extensions["congvu"]
            runtime.directory.close()
            runtime.engine.dispose()
        drop_database(self.url)


def kill_a_worker_in_the_directory_phase(world: OwnDatabase, services: Any, task_id: int) -> Path:
    """Start a worker on ``task_id``; once the task's rows are committed and the worker writes them to slapd,
    freeze slapd so the worker is caught in the middle of that, and kill the worker with no goodbye. Returns
    the workers' log."""
    log = Path(world.overrides["instance_path"]) / "worker.log"
    with log.open("wb") as out:
        first = subprocess.Popen(WORKER, env=world.environment(), stdout=out, stderr=subprocess.STDOUT)
    slapd = next(s.pid for s in services.status() if s.name == "slapd")
    try:
        deadline = time.monotonic() + TASK_SECONDS
        while time.monotonic() < deadline and world.task(task_id).phase != "directory":
            assert world.task(task_id).status != "done", "the worker finished before it could be stopped"
            time.sleep(0.01)
        os.kill(slapd, signal.SIGSTOP)
        try:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            os.kill(slapd, signal.SIGCONT)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    return log


def a_second_worker_finishes(world: OwnDatabase, task_id: int, log: Path) -> Task:
    """Start another worker, which takes the abandoned task up; the task as it is once done (never failed)."""
    with log.open("ab") as out:
        second = subprocess.Popen(WORKER, env=world.environment(), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + TASK_SECONDS
        while world.task(task_id).status != "done" and time.monotonic() < deadline:
            assert world.task(task_id).status != "failed", world.task(task_id).error
            time.sleep(0.2)
    finally:
        second.terminate()
        second.wait(timeout=30)
    task = world.task(task_id)
    assert task.status == "done", log.read_text(errors="replace")
    return task
