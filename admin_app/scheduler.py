"""``congvu scheduler``: APScheduler 3 in its own process, job store in the project database.

Only the holder of the database lease runs jobs. A second scheduler waits, renewing nothing, and takes
over when the first stops renewing (crash, shutdown, network loss).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from admin_app.jobs import bind_runtime, holder_name, registry
from admin_app.runtime import Runtime
from core.db import unit_of_work
from core.lease import release_lease, try_acquire_lease

log = logging.getLogger(__name__)
LEASE = "scheduler"
JOB_REF = "admin_app.jobs:run_job"


def make_scheduler(runtime: Runtime) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=runtime.engine, tablename="apscheduler_jobs")},
        timezone=runtime.settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )


def install_jobs(scheduler: BackgroundScheduler, runtime: Runtime) -> None:
    for spec in registry(runtime).values():
        if spec.trigger == "none":
            continue
        scheduler.add_job(
            JOB_REF,
            spec.trigger,
            args=[spec.name],
            id=spec.name,
            name=spec.description,
            replace_existing=True,
            **dict(spec.trigger_args),
        )


def schedule_once(runtime: Runtime, name: str, at: dt.datetime) -> str:
    """Queue a one-off run of job ``name`` at ``at`` in the shared job store; the leader runs it."""
    if name not in registry(runtime):
        raise KeyError(f"unknown job {name!r}")
    scheduler = make_scheduler(runtime)
    job_id = f"{name}@{at.isoformat()}"
    scheduler.add_job(JOB_REF, "date", run_date=at, args=[name], id=job_id, replace_existing=True)
    # Not started: add_job on a stopped scheduler is kept pending; start paused to write it to the store.
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    return job_id


def run_scheduler(runtime: Runtime, stop: threading.Event | None = None) -> None:
    """Wait for the lease, run jobs while holding it, go back to waiting if it is lost."""
    stop = stop or threading.Event()
    holder = holder_name()
    ttl = dt.timedelta(seconds=runtime.settings.scheduler_lease_seconds)
    beat = max(1.0, ttl.total_seconds() / 3)
    bind_runtime(runtime)
    scheduler: BackgroundScheduler | None = None
    announced_wait = False
    try:
        while not stop.is_set():
            with unit_of_work(runtime.session_factory) as session:
                is_holder = try_acquire_lease(session, LEASE, holder, ttl)
            if is_holder and scheduler is None:
                log.info("scheduler %s holds the lease; starting jobs", holder)
                print(f"scheduler {holder}: running jobs", flush=True)
                scheduler = make_scheduler(runtime)
                scheduler.start(paused=True)
                install_jobs(scheduler, runtime)
                scheduler.resume()
            elif not is_holder and scheduler is not None:
                log.warning("scheduler %s lost the lease; stopping jobs", holder)
                scheduler.shutdown(wait=True)
                scheduler = None
            elif not is_holder and not announced_wait:
                print(f"scheduler {holder}: another scheduler holds the lease; waiting", flush=True)
                announced_wait = True
            if scheduler is not None:
                scheduler.wakeup()  # picks up one-off jobs queued by other processes
            stop.wait(beat)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
            with unit_of_work(runtime.session_factory) as session:
                release_lease(session, LEASE, holder)
