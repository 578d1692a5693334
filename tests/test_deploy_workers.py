"""Several web workers, one scheduler, proven: gunicorn with three workers and two ``congvu scheduler``
processes on PostgreSQL, as the deployment section describes.

Every request is a new connection, so the kernel hands it to whichever worker is free; gunicorn's access log
names the worker (pid) that answered each one. Sign-in, throttling, an import's progress and a report behave
the same whichever worker answers; imports and reports run on the schedulers' task-worker threads; killing
the leading scheduler hands the lease (and the jobs) to the other within the lease.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from admin_app.migrate import upgrade
from core.actors import SYSTEM
from core.db import make_session_factory, unit_of_work
from provisioning.directory import Directory, DirectoryConfig
from provisioning.operations import create_local_admin, create_unit
from services.common import free_port, port_open
from tests.conftest import app_overrides, database_kind, drop_database, fresh_database_url
from tests.conftest_services import ensure_slapd
from tests.own_database import process_environment
from tests.test_tasks import staff_list

pytestmark = pytest.mark.skipif(
    database_kind() != "postgresql", reason="several processes on one database: the PostgreSQL run tests it"
)
ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3
LEASE_SECONDS = 3
PASSWORD = "Mat-khau-rat-dai-2026"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PROGRESS = re.compile(r'<progress id="import-progress" max="(\d+)" value="(\d+)">')


class Deployment:
    """gunicorn (3 workers) and two schedulers on a fresh PostgreSQL database, against the session's slapd."""

    def __init__(self, tmp: Path, services: Any) -> None:
        self.services = services
        self.url = fresh_database_url(tmp, "deploy")
        upgrade(self.url, "heads")
        self.dir = tmp
        self.settings = app_overrides(tmp / "instance", self.url, services) | {
            "secret_key": "shared-by-every-web-worker-" + uuid.uuid4().hex,
            "scheduler_lease_seconds": LEASE_SECONDS,
        }
        self.env = process_environment(self.settings)
        self.engine = create_engine(self.url)
        self.admin = f"qt-{uuid.uuid4().hex[:6]}"
        self.code = f"T-DEP-{uuid.uuid4().hex[:6].upper()}"
        with unit_of_work(make_session_factory(self.engine)) as session:
            root = create_unit(session, SYSTEM, code="TINH", name="Tỉnh Gia Lai", kind="province", parent=None)
            unit = create_unit(session, SYSTEM, code=self.code, name="Sở Triển khai", kind="department", parent=root)
            create_local_admin(session, SYSTEM, self.admin, PASSWORD)
            self.unit_id = unit.id
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.access_log = tmp / "access.log"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with (self.dir / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.dir / f"{name}.log").read_text(errors="replace")

    def start(self) -> None:
        # The access log line carries the probe number each request sends, and the pid of the worker.
        gunicorn = [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(WORKERS), "--bind", f"127.0.0.1:{self.port}"]
        gunicorn += ["--access-logfile", str(self.access_log)]
        gunicorn += [
            "--access-logformat",
            "%(m)s %(U)s %(s)s probe=%({x-probe}i)s worker=%(p)s",
            "admin_app:create_app()",
        ]
        self.spawn("gunicorn", gunicorn)
        for name in ("scheduler-a", "scheduler-b"):
            self.spawn(name, [str(ROOT / ".venv/bin/congvu"), "scheduler"])
        deadline = time.monotonic() + 60
        while not port_open(self.port):
            assert self.processes["gunicorn"].poll() is None, self.log("gunicorn")
            assert time.monotonic() < deadline, self.log("gunicorn")
            time.sleep(0.2)

    def lease_holder(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT holder FROM scheduler_lease WHERE name = 'scheduler' AND expires_at > now()")
            ).scalar()

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        # The import wrote 2000 mailboxes to the session's slapd: take them away with their unit, so later tests
        # may give the same names the same addresses.
        ensure_slapd(self.services, "after the workers' deployment")
        s = self.settings
        directory = Directory(
            DirectoryConfig(s["ldap_url"], s["ldap_base_dn"], s["ldap_bind_dn"], s["ldap_bind_password"], 5)
        )
        try:
            for dn, _ in directory.search(s["ldap_base_dn"], f"(&(objectClass=congvuUnit)(ou={self.code}))", ["1.1"]):
                directory.delete_tree(dn)
        finally:
            directory.close()
        self.engine.dispose()
        drop_database(self.url)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, services: Any) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path_factory.mktemp("deploy"), services)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.close()


class Browser:
    """One person's browser: a cookie jar; every request is a new connection with a probe number."""

    counter = 0

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[requests.Response, str]:
        Browser.counter += 1
        probe = f"{uuid.uuid4().hex[:8]}-{Browser.counter}"
        headers = {"Connection": "close", "X-Probe": probe, "Accept-Language": "en"}
        response = self.session.request(
            method, self.deployment.base + path, headers=headers, allow_redirects=False, timeout=60, **kwargs
        )
        return response, probe

    def csrf(self, path: str) -> str:
        response, _ = self.request("GET", path)
        match = CSRF.search(response.text)
        assert match, f"no CSRF token on {path}: {response.status_code}"
        return match.group(1)

    def sign_in(self, login: str, password: str) -> requests.Response:
        token = self.csrf("/login")
        response, _ = self.request("POST", "/login", data={"login": login, "password": password, "csrf_token": token})
        return response


def workers_of(deployment: Deployment, probes: list[str]) -> dict[str, int]:
    """probe → pid of the worker that answered it, from gunicorn's access log."""
    wanted = set(probes)
    deadline = time.monotonic() + 10
    while True:
        found = dict(re.findall(r"probe=(\S+) worker=<(\d+)>", deployment.access_log.read_text()))
        if wanted <= set(found) or time.monotonic() > deadline:
            return {p: int(found[p]) for p in probes if p in found}
        time.sleep(0.1)


def many(browser: Browser, path: str, n: int = 30) -> list[tuple[requests.Response, str]]:
    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(lambda _i: browser.request("GET", path), range(n)))


def test_a_sign_in_holds_on_every_worker_and_failures_count_across_them(deployment: Deployment) -> None:
    browser = Browser(deployment)
    assert browser.sign_in(deployment.admin, PASSWORD).status_code == 302
    answers = many(browser, "/")
    assert {r.status_code for r, _ in answers} == {200}  # signed in on whichever worker answers
    assert len(set(workers_of(deployment, [p for _, p in answers]).values())) >= 2

    victim = f"qt-locked-{uuid.uuid4().hex[:6]}"
    with unit_of_work(make_session_factory(deployment.engine)) as session:
        create_local_admin(session, SYSTEM, victim, PASSWORD)
    attacker = Browser(deployment)
    token = attacker.csrf("/login")

    def fail(_i: int) -> tuple[requests.Response, str]:
        return attacker.request(
            "POST", "/login", data={"login": victim, "password": "sai-mat-khau", "csrf_token": token}
        )

    # Sent together, so several workers are busy at once: which one accepts a connection is the kernel's choice,
    # and one idle worker may take every request sent one after the other.
    with ThreadPoolExecutor(5) as pool:
        failures = list(pool.map(fail, range(5)))
    assert {r.status_code for r, _ in failures} == {401}
    assert len(set(workers_of(deployment, [p for _, p in failures]).values())) >= 2  # they reached several workers
    refused = attacker.sign_in(victim, PASSWORD)
    assert refused.status_code != 302  # locked, although the password is right
    assert "locked" in refused.text


def _progress(text_: str) -> tuple[int, int] | None:
    match = PROGRESS.search(text_)
    return (int(match.group(2)), int(match.group(1))) if match else None


def _wait(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_an_imports_progress_is_the_same_on_every_worker(deployment: Deployment) -> None:
    browser = Browser(deployment)
    assert browser.sign_in(deployment.admin, PASSWORD).status_code == 302
    form = f"/units/{deployment.unit_id}/import"
    token = browser.csrf(form)
    upload, _ = browser.request(
        "POST", form, data={"csrf_token": token}, files={"file": ("ds.csv", staff_list("T-DW-", 2000), "text/csv")}
    )
    assert upload.status_code == 302, upload.text
    batch = upload.headers["Location"].removeprefix(deployment.base)
    _wait(lambda: 'id="creates">2.000<' in browser.request("GET", batch)[0].text, "the preview (a scheduler's task)")
    token = browser.csrf(batch)
    assert browser.request("POST", batch + "/apply", data={"csrf_token": token, "confirm": "yes"})[0].status_code == 302

    def moving() -> bool:
        progress = _progress(browser.request("GET", batch)[0].text)
        return progress is not None and 0 < progress[0] < progress[1]

    _wait(moving, "the import moving")
    schedulers = [deployment.processes[n] for n in ("scheduler-a", "scheduler-b")]
    for process in schedulers:  # freeze the task where it is: every worker must then show the same bar
        process.send_signal(signal.SIGSTOP)
    try:
        time.sleep(0.5)
        answers = many(browser, batch)
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGCONT)
    seen = {_progress(r.text) for r, _ in answers}
    assert len(seen) == 1, seen
    assert next(iter(seen)) is not None
    assert len(set(workers_of(deployment, [p for _, p in answers]).values())) >= 2
    _wait(lambda: _progress(browser.request("GET", batch)[0].text) is None, "the import finishing")
    for response, _ in many(browser, batch, 12):
        assert 'id="creates">2.000<' in response.text
        assert _progress(response.text) is None


def test_a_report_built_by_a_scheduler_is_shown_by_every_worker(deployment: Deployment) -> None:
    browser = Browser(deployment)
    assert browser.sign_in(deployment.admin, PASSWORD).status_code == 302
    token = browser.csrf("/reports")
    queued, _ = browser.request("POST", "/reports", data={"csrf_token": token, "month": "2026-11"})
    assert queued.status_code == 302
    task_page = queued.headers["Location"].removeprefix(deployment.base)
    done: list[str] = []

    def finished() -> bool:
        response, _ = browser.request("GET", task_page)
        if response.status_code == 302:
            done.append(response.headers["Location"].removeprefix(deployment.base))
        return bool(done)

    _wait(finished, "the report task")
    report = done[0]
    assert re.fullmatch(r"/reports/\d+", report), report
    answers = many(browser, report, 12)
    assert {r.status_code for r, _ in answers} == {200}
    assert all("2026" in r.text for r, _ in answers)
    assert len(set(workers_of(deployment, [p for _, p in answers]).values())) >= 2


def test_killing_the_leading_scheduler_hands_the_lease_to_the_other(deployment: Deployment) -> None:
    _wait(lambda: deployment.lease_holder() is not None, "a scheduler holding the lease", 30)
    holder = deployment.lease_holder()
    assert holder is not None
    pids = {p.pid: name for name, p in deployment.processes.items() if name.startswith("scheduler")}
    leader_pid = int(holder.rsplit(":", 1)[1])
    assert leader_pid in pids
    other = next(name for pid, name in pids.items() if pid != leader_pid)
    deployment.processes[pids[leader_pid]].send_signal(signal.SIGKILL)  # no goodbye: the lease just expires
    killed_at = time.monotonic()
    _wait(lambda: (deployment.lease_holder() or "").endswith(f":{deployment.processes[other].pid}"), "handover", 30)
    handover = time.monotonic() - killed_at
    # Within the lease: it expires at most LEASE_SECONDS after the leader's last renewal, which came before the
    # kill, and the waiting scheduler asks every third of the lease (at least every second; admin_app/scheduler.py).
    assert handover < LEASE_SECONDS + max(1.0, LEASE_SECONDS / 3) + 2.0, handover
    _wait(lambda: "running jobs" in deployment.log(other), "the new leader running jobs", 10)
    # A job queued now by another process (an operator's `congvu jobs schedule`) is run by the new leader.
    queued = subprocess.run(
        [str(ROOT / ".venv/bin/congvu"), "jobs", "schedule", "directory.sync", "--in", "1"],
        cwd=ROOT,
        env=deployment.env,
        capture_output=True,
        text=True,
    )
    assert queued.returncode == 0, queued.stderr
    new_holder = deployment.lease_holder()

    def ran() -> bool:
        with deployment.engine.connect() as conn:
            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM job_runs WHERE job_id = 'directory.sync' AND holder = :holder AND is_ok"
                    ),
                    {"holder": new_holder},
                ).scalar()
            )

    _wait(ran, "the queued job run by the new leader", 30)
