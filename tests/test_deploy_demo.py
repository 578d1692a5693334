"""The README's demo command serves the console as production does: gunicorn web workers, and the scheduler
with its background-task worker beside them; Ctrl-C stops all of them.

``scripts/demo.sh`` runs whole (bootstrap, private servers on free ports, a small demo province) in an instance
folder of its own; the private servers are stopped afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from services.common import free_port, port_open
from tests.conftest import database_kind

pytestmark = pytest.mark.skipif(
    database_kind() != "sqlite", reason="the demo keeps its own SQLite database: the SQLite run tests it once"
)
ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _session_members(sid: int) -> list[int]:
    members = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
                members.append(int(proc.name))
    return members


def _free_ports() -> dict[str, int]:
    """Ports for the demo's servers, all different. The private POP3 port is the IMAP port minus 33
    (admin_app/cli/services.py): it must be free too, and not one of the others (the kernel hands out free
    ports close together, so IMAP − 33 can be the port just given to LDAP)."""
    names = ("demo", "ldap", "smtp", "submission")
    while True:
        ports = {name: free_port() for name in names}
        imap = free_port()
        taken = set(ports.values())
        if (
            len(taken) == len(names)
            and imap > 1100
            and {imap, imap - 33}.isdisjoint(taken)
            and not port_open(imap - 33)
        ):
            return ports | {"imap": imap}


@pytest.fixture
def demo_env() -> Iterator[dict[str, str]]:
    instance = Path(tempfile.mkdtemp(prefix="congvu-demo-"))  # Dovecot's 'mail' user must reach it: not tmp_path
    instance.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONGVU_")}
    ports = _free_ports()
    env |= {
        "CONGVU_INSTANCE_PATH": str(instance),
        "CONGVU_DEMO_STAFF": "200",
        "CONGVU_DEMO_PORT": str(ports["demo"]),
        "CONGVU_DEMO_WORKERS": str(WORKERS),
        "CONGVU_LDAP_URL": f"ldap://127.0.0.1:{ports['ldap']}",
        "CONGVU_IMAP_PORT": str(ports["imap"]),
        "CONGVU_SMTP_PORT": str(ports["smtp"]),
        "CONGVU_SUBMISSION_PORT": str(ports["submission"]),
    }
    try:
        yield env
    finally:
        stop_env = {k: v for k, v in env.items() if not k.startswith("CONGVU_DEMO_")}
        subprocess.run([str(ROOT / ".venv/bin/congvu"), "services", "stop"], env=stop_env, capture_output=True)
        shutil.rmtree(instance, ignore_errors=True)


def test_the_demo_answers_from_gunicorn_workers_with_the_scheduler_beside_them(demo_env: dict[str, str]) -> None:
    instance = Path(demo_env["CONGVU_INSTANCE_PATH"])
    port = int(demo_env["CONGVU_DEMO_PORT"])
    output = instance / "demo.out"
    with output.open("wb") as out:
        demo = subprocess.Popen(
            [str(ROOT / "scripts/demo.sh")], cwd=ROOT, env=demo_env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while "Console: " not in output.read_text(errors="replace") or not port_open(port):
            assert demo.poll() is None, output.read_text(errors="replace")
            assert time.monotonic() < deadline, output.read_text(errors="replace")
            time.sleep(0.5)
        text = output.read_text(errors="replace")
        master = int(re.search(r"gunicorn workers, pid (\d+)", text)[1])  # type: ignore[index]
        scheduler = int(re.search(r"background worker: pid (\d+)", text)[1])  # type: ignore[index]
        deadline = time.monotonic() + 60
        while len(_children(master)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = set(_children(master))
        assert len(workers) == WORKERS

        def get(n: int) -> int:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login?probe={n}", timeout=30) as response:
                assert "csrf_token" in response.read().decode()
                return response.status

        # Workers load the application lazily: the first one booted may take every request of a burst while the
        # others still import. Bursts go on (a minute at most) until several workers have answered.
        answered: set[int] = set()
        deadline = time.monotonic() + 60
        burst = 0
        while len(answered) < 2 and time.monotonic() < deadline:
            with ThreadPoolExecutor(6) as pool:
                assert set(pool.map(get, range(burst * 60, burst * 60 + 60))) == {200}
            burst += 1
            log = (instance / "access.log").read_text()
            answered = {int(pid) for pid in re.findall(r"GET /login\?probe=\d+ HTTP/1.1\" 200 .* worker=<(\d+)>", log)}
            assert answered <= workers, (answered, workers)
        assert len(answered) >= 2, answered  # several workers answered, not one process
        deadline = time.monotonic() + 60
        while "running jobs" not in (instance / "scheduler.log").read_text(errors="replace"):
            assert time.monotonic() < deadline, (instance / "scheduler.log").read_text(errors="replace")
            time.sleep(0.5)
        assert scheduler in _children(demo.pid)

        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole foreground group
        demo.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _session_members(demo.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _session_members(demo.pid) == []  # gunicorn, its workers and the scheduler are gone
        assert not port_open(port)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=30)
