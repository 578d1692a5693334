"""Scheduled jobs: a registry of names to callables, and the wrapper that runs one as a unit of work.

The job store keeps only a textual reference (``admin_app.jobs:run_job`` with the job name), so jobs
survive scheduler restarts and any process can queue one.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any

from admin_app.runtime import Runtime
from core.db import unit_of_work, utcnow
from core.lease import JobRun

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

    with runtime.unit_of_work("job:directory.reconcile") as session:
        drifts = find_drift(session, runtime.directory, runtime.settings.ldap_base_dn)
    for drift in drifts[:200]:
        log.warning("directory drift: %s", drift)
    kinds = {k: sum(d.kind == k for d in drifts) for k in ("missing", "extra", "differs")}
    return f"drifts={len(drifts)} " + " ".join(f"{k}={v}" for k, v in kinds.items())


def _expire_archives(runtime: Runtime) -> str:
    """Nightly: archived mailboxes past the retention leave the directory (records and addresses stay)."""
    import datetime as dt

    from core.actors import SYSTEM
    from provisioning.accounts import expire_archives

    with runtime.unit_of_work("job:accounts.expire_archives") as session:
        count = expire_archives(session, SYSTEM, dt.timedelta(days=runtime.settings.archive_retention_days))
    return f"removed={count}"


def _expire_aliases(runtime: Runtime) -> str:
    """Nightly: aliases past their expiry (old addresses a reorganisation replaced) leave the directory."""
    from core.actors import SYSTEM
    from provisioning.aliases import expire_aliases

    with runtime.unit_of_work("job:aliases.expire") as session:
        count = expire_aliases(session, SYSTEM)
    return f"removed={count}"


def _send_mail(runtime: Runtime) -> str:
    result = runtime.send_mail()
    return f"sent={result.sent} failed={result.failed} pending={result.pending} unavailable={result.unavailable}"


def _queue_meeting_mail(runtime: Runtime, origin: str, queue: Callable[..., Sized], **options: Any) -> tuple[int, str]:
    """Run ``queue(session, meeting_env, now=…, **options)`` in one unit of work whose commit sends the mail it
    queued: how many it queued, and " sent=N" when the mail went out then ("" when it is left to the mail job)."""
    work = runtime.boundary.begin(origin)
    try:
        queued = queue(work.session, runtime.meeting_env, now=utcnow(), **options)
    except BaseException:
        work.rollback()
        raise
    sent = work.commit().get("mail")
    return len(queued), (f" sent={sent.sent}" if sent else "")


def _meeting_reminders(runtime: Runtime) -> str:
    """Every minute: remind the people and points of meetings starting within the reminder lead, once each."""
    import datetime as dt

    from meetings.invitations import queue_reminders

    lead = dt.timedelta(minutes=runtime.settings.meeting_reminder_minutes)
    reminded, sent = _queue_meeting_mail(runtime, "job:meetings.reminders", queue_reminders, lead=lead)
    return f"reminded={reminded}{sent}"


def _poll_rooms(runtime: Runtime) -> str:
    """Every minute: ask Prosody (mod_muc_size) who is in the room of each meeting under way, to fill in what
    Jitsi's event-sync posts lost."""
    from meetings.room_poll import poll_rooms

    config = runtime.meeting_env.jitsi
    if not config.room_api_url:
        return "no jitsi_room_api_url configured"
    polled, failed = poll_rooms(lambda: runtime.unit_of_work("job:meetings.poll_rooms"), config, utcnow())
    return f"polled={polled} failed={failed}"


def _attendance_summaries(runtime: Runtime) -> str:
    """Every 5 minutes: mail each organiser the attendance of their meeting once it has ended (once each)."""
    from meetings.attendance_summary import queue_attendance_summaries

    queued, sent = _queue_meeting_mail(runtime, "job:meetings.attendance_summary", queue_attendance_summaries)
    return f"summaries={queued}{sent}"


def _follow_logs(runtime: Runtime) -> str:
    """Every 5 minutes: read what is new in the configured mail-server logs (rotation and truncation safe)."""
    from pathlib import Path

    from audit.ingest import follow
    from config import split_list

    paths = [Path(p) for p in split_list(runtime.settings.usage_log_files)]
    if not paths:
        return "no usage_log_files configured"
    results = follow(runtime.session_factory, paths, tz=runtime.settings.tz)
    lines = sum(r.lines for r in results)
    malformed = sum(r.malformed for r in results)
    return f"files={len(results)} lines={lines} malformed={malformed}"


def _monthly_report(runtime: Runtime) -> str:
    """The 1st of each month at 06:00: build last month's report and mail it (summary + XLSX) to the recipients."""
    import datetime as dt

    from audit.definitions import definitions_from
    from audit.exports import to_xlsx
    from audit.report import generate, previous_month, summary_text
    from config import split_list
    from core import outbox
    from core.actors import SYSTEM

    today = dt.datetime.now(runtime.settings.tz).date()
    month = previous_month(f"{today:%Y-%m}")
    recipients = split_list(runtime.settings.report_recipients)
    work = runtime.boundary.begin("job:report.monthly")
    try:
        session = work.session
        report = generate(session, SYSTEM, month, definitions_from(runtime.settings))
        attachment = (
            f"bao-cao-thu-dien-tu-{month}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            to_xlsx(report.data),
        )
        for address in recipients:
            outbox.enqueue(
                session,
                kind="report",
                subject_ref=f"report:{report.id}",
                recipient=address,
                subject=f"Báo cáo sử dụng thư điện tử công vụ tháng {month[5:]}/{month[:4]}",
                body=summary_text(report.data, runtime.settings.public_url.rstrip("/") + f"/reports/{report.id}"),
                attachment=attachment,
            )
        label = f"{month} v{report.version}"
    except BaseException:
        work.rollback()
        raise
    sent = work.commit().get("mail")
    return f"report={label} recipients={len(recipients)}" + (f" sent={sent.sent}" if sent else "")


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
        JobSpec(
            "aliases.expire",
            _expire_aliases,
            "Take aliases past their expiry out of the directory: they stop receiving and signing in (03:15)",
            "cron",
            (("hour", 3), ("minute", 15)),
        ),
        JobSpec(
            "logs.follow", _follow_logs, "Ingest new lines of the configured mail logs", "interval", (("minutes", 5),)
        ),
        JobSpec(
            "report.monthly",
            _monthly_report,
            "Build last month's usage report and mail it to the recipients (1st of the month, 06:00)",
            "cron",
            (("day", 1), ("hour", 6), ("minute", 0)),
        ),
        JobSpec("mail.send", _send_mail, "Send queued mail (retries with backoff)", "interval", (("seconds", 60),)),
        JobSpec(
            "meetings.reminders",
            _meeting_reminders,
            f"Remind meetings starting within {s.meeting_reminder_minutes} minutes (once each)",
            "interval",
            (("seconds", 60),),
        ),
        JobSpec(
            "meetings.poll_rooms",
            _poll_rooms,
            "Poll the Jitsi room of each meeting under way for its participants (fills lost event-sync posts)",
            "interval",
            (("seconds", 60),),
        ),
        JobSpec(
            "meetings.attendance_summary",
            _attendance_summaries,
            "Mail each organiser the attendance summary (with PDF) of their ended meeting, once",
            "interval",
            (("minutes", 5),),
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
        stored.finished_at = run.finished_at = utcnow()
        stored.is_ok = run.is_ok = is_ok
        stored.message = run.message = message[:2000]
    return run
