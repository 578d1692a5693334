"""Scheduled jobs: a registry of names to callables, and the wrapper that runs one as a unit of work.

The job store keeps only a textual reference (``admin_app.jobs:run_job`` with the job name), so jobs
survive scheduler restarts and any process can queue one.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from admin_app.runtime import Runtime
from provisioning.db import unit_of_work, utcnow
from provisioning.scheduling import JobRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[Runtime], str]
    description: str
    trigger: str = "interval"  # interval | cron | none (only on demand)
    trigger_args: tuple[tuple[str, int | str], ...] = ()


def _directory_sync(runtime: Runtime) -> str:
    result = runtime.sync_directory()
    return f"applied={result.applied} failed={result.failed} pending={result.pending} unavailable={result.unavailable}"


def registry(runtime: Runtime) -> dict[str, JobSpec]:
    s = runtime.settings
    specs = [
        JobSpec(
            "directory.sync",
            _directory_sync,
            "Apply pending directory changes to slapd",
            "interval",
            (("seconds", s.directory_sync_seconds),),
        ),
    ]
    return {spec.name: spec for spec in specs}


_RUNTIME: Runtime | None = None


def bind_runtime(runtime: Runtime) -> None:
    """The scheduler process sets its runtime once; job references in the store carry only the name."""
    global _RUNTIME
    _RUNTIME = runtime


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(name: str) -> None:
    """Run one job by name and record the run (start, end, outcome)."""
    runtime = _RUNTIME
    if runtime is None:
        raise RuntimeError("run_job called outside a scheduler process")
    execute(runtime, name)


def execute(runtime: Runtime, name: str) -> JobRun:
    spec = registry(runtime).get(name)
    if spec is None:
        raise KeyError(f"unknown job {name!r}")
    with unit_of_work(runtime.session_factory) as session:
        run = JobRun(job_id=name, holder=holder_name(), started_at=utcnow())
        session.add(run)
    try:
        message = spec.func(runtime)
        is_ok = True
    except Exception as exc:
        log.exception("job %s failed", name)
        message, is_ok = f"{type(exc).__name__}: {exc}", False
    with unit_of_work(runtime.session_factory) as session:
        stored = session.get(JobRun, run.id)
        assert stored is not None
        stored.finished_at = utcnow()
        stored.is_ok = is_ok
        stored.message = message[:2000]
    return run
