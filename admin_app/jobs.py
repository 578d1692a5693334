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


def _directory_reconcile(runtime: Runtime) -> str:
    """Nightly: report drift between the database and the directory (repairs are an admin's decision)."""
    from provisioning.reconcile import find_drift

    with runtime.unit_of_work() as session:
        drifts = find_drift(session, runtime.directory, runtime.settings.ldap_base_dn)
    for drift in drifts[:200]:
        log.warning("directory drift: %s", drift)
    kinds = {k: sum(d.kind == k for d in drifts) for k in ("missing", "extra", "differs")}
    return f"drifts={len(drifts)} " + " ".join(f"{k}={v}" for k, v in kinds.items())


def _expire_archives(runtime: Runtime) -> str:
    """Nightly: archived mailboxes past the retention leave the directory (records and addresses stay)."""
    import datetime as dt

    from provisioning.accounts import expire_archives
    from provisioning.actors import SYSTEM

    with runtime.unit_of_work() as session:
        count = expire_archives(session, SYSTEM, dt.timedelta(days=runtime.settings.archive_retention_days))
    runtime.sync_directory()
    return f"removed={count}"


def _send_mail(runtime: Runtime) -> str:
    result = runtime.send_mail()
    return f"sent={result.sent} failed={result.failed} pending={result.pending} unavailable={result.unavailable}"


def _meeting_reminders(runtime: Runtime) -> str:
    """Every minute: remind the people and points of meetings starting within the reminder lead, once each."""
    import datetime as dt

    from meetings.invitations import queue_reminders

    lead = dt.timedelta(minutes=runtime.settings.meeting_reminder_minutes)
    with runtime.unit_of_work() as session:
        reminded = queue_reminders(session, runtime.meeting_env, now=utcnow(), lead=lead)
    sent = runtime.send_mail() if reminded else None
    return f"reminded={len(reminded)}" + (f" sent={sent.sent}" if sent else "")


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
        JobSpec(
            "directory.reconcile",
            _directory_reconcile,
            "Report drift between the database and the directory (nightly, 02:30)",
            "cron",
            (("hour", 2), ("minute", 30)),
        ),
        JobSpec(
            "accounts.expire_archives",
            _expire_archives,
            "Remove archived mailboxes past the retention from the directory (nightly, 03:00)",
            "cron",
            (("hour", 3), ("minute", 0)),
        ),
        JobSpec("mail.send", _send_mail, "Send queued mail (retries with backoff)", "interval", (("seconds", 60),)),
        JobSpec(
            "meetings.reminders",
            _meeting_reminders,
            f"Remind meetings starting within {s.meeting_reminder_minutes} minutes (once each)",
            "interval",
            (("seconds", 60),),
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
