"""Two `congvu scheduler` processes: one runs jobs, the other waits; a job runs once, not twice."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from admin_app.migrate import upgrade
from core.db import make_engine, make_session_factory
from core.lease import JobRun
from tests.conftest import drop_database, fresh_database_url

CONGVU = [sys.executable, "-c", "from admin_app.cli import main; main()"]


@pytest.fixture
def scheduler_env(tmp_path: Path, services):
    url = fresh_database_url(tmp_path, "sched")
    upgrade(url)
    env = {
        **os.environ,
        "CONGVU_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONGVU_DATABASE_URL": url,
        "CONGVU_ENV": "testing",
        "CONGVU_LDAP_URL": services.ldap_url,
        "CONGVU_LDAP_BASE_DN": services.config.base_dn,
        "CONGVU_LDAP_BIND_DN": services.config.admin_dn,
        "CONGVU_LDAP_BIND_PASSWORD": services.config.admin_password,
        "CONGVU_SCHEDULER_LEASE_SECONDS": "3",
        "CONGVU_DIRECTORY_SYNC_SECONDS": "3600",  # keep the recurring job out of the way
    }
    yield url, env
    drop_database(url)


def _runs(url: str, job: str) -> list[JobRun]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(JobRun).where(JobRun.job_id == job)))
    finally:
        engine.dispose()


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def test_two_schedulers_run_a_job_once(scheduler_env) -> None:
    url, env = scheduler_env
    queued = subprocess.run(
        [*CONGVU, "jobs", "schedule", "directory.sync", "--in", "4"], env=env, capture_output=True, text=True
    )
    assert queued.returncode == 0, queued.stderr
    procs = [
        subprocess.Popen([*CONGVU, "scheduler"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    try:
        assert _wait_for(lambda: len(_runs(url, "directory.sync")) >= 1, 30), "the queued job never ran"
        time.sleep(3)  # give a second, wrong run the chance to happen
        runs = _runs(url, "directory.sync")
        assert len(runs) == 1
        assert runs[0].is_ok, runs[0].message
    finally:
        for proc in procs:
            proc.terminate()
        outputs = [proc.communicate(timeout=20)[0] for proc in procs]
    assert sum("running jobs" in out for out in outputs) == 1, outputs
    assert sum("waiting" in out for out in outputs) == 1, outputs


def test_waiting_scheduler_takes_over_when_the_leader_stops(scheduler_env) -> None:
    url, env = scheduler_env
    leader = subprocess.Popen(
        [*CONGVU, "scheduler"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    time.sleep(3)
    follower = subprocess.Popen(
        [*CONGVU, "scheduler"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        time.sleep(2)
        leader.kill()  # no clean release: the lease must expire
        leader.communicate(timeout=10)
        queued = subprocess.run(
            [*CONGVU, "jobs", "schedule", "directory.sync", "--in", "1"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert queued.returncode == 0, queued.stderr
        assert _wait_for(lambda: len(_runs(url, "directory.sync")) == 1, 30)
        assert _runs(url, "directory.sync")[0].holder.endswith(f":{follower.pid}")
    finally:
        follower.terminate()
        follower.communicate(timeout=20)


def test_nightly_jobs_run_and_report(app, runtime, db) -> None:
    from admin_app.jobs import execute, registry

    assert {"directory.sync", "directory.reconcile", "accounts.expire_archives"} <= set(registry(runtime))
    run = execute(runtime, "directory.reconcile")
    db.expire_all()
    stored = db.get(JobRun, run.id)
    assert stored.is_ok, stored.message
    assert stored.message.startswith("drifts=")
    run = execute(runtime, "accounts.expire_archives")
    assert db.get(JobRun, run.id).message == "removed=0"
