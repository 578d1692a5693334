"""The console under load: six pages (the report with and without a unit chosen) at 20 concurrent clients against
a static file served by the same gunicorn.

    .venv/bin/python bench/console_load.py [--data DIR] [--no-pg] [--seconds 20] [--users 20] [--workers 2]
        [--pages PAGE ...] [--gc-freeze]

1. Builds (once; reused from ``--data``, default /root/logs/HLOAD/data) a database of a province's size: the
   30,000 mailboxes of bench/usage_bench.py, the 50,000 meetings of bench/meetings_bench.py on 160 bridge points,
   a year of ``usage_days`` (December 2025 to November 2026, as bench/report_history_bench.py writes them) with
   each person's last sign-in and a few failed sign-ins, 100,000 change-trail entries (a valid hash chain:
   ``congvu changes verify`` holds), November's monthly report and a break-glass admin. SQLite, and PostgreSQL
   if a server answers at --pg-url.
2. Starts the console as production does: ``gunicorn -w N 'admin_app:create_app()'`` on a free loopback port.
3. Signs in 20 times through the login form (CSRF token, password, redirect) and keeps the session cookies the
   console issued. For each page, runs locust headless (FastHttpUser, 20 users, one cookie each, no think time:
   the load is bounded by the clients) for --seconds, asking for the page over and over with varying arguments
   (searches, filters, people, weeks, older trail pages), after a 3-second warm-up that is not counted. Right
   before each page the same clients ask for a static file (/static/congvu.css) for as long: that run is the
   page's baseline, measured under the same conditions. Between runs it waits until the requests the last run
   left queued are answered.
4. Prints p50 and p95 per page, the static file's, the ratio p95(page) / p95(static) and the load average (1 min).

``--gc-freeze`` runs the workers with ``gc.freeze()`` once the app is loaded (a gunicorn hook): not production's
configuration, it shows what Python's full collections over the loaded app cost each page.

Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import hashlib
import http.cookiejar
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from console_data import ADMIN, PASSWORD, TZ, is_built, prepare  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.changelog import ChangeEntry  # noqa: E402
from core.db import make_engine  # noqa: E402
from provisioning.models import Staff, Unit  # noqa: E402

STATIC = "/static/congvu.css"
PAGES = ("dashboard", "staff list", "person", "week board", "report", "report unit", "change trail")

# The load, run by locust in its own process (gevent): one user class; the page it asks for comes from the plan.
LOCUSTFILE = r"""
import json, os, random, time
import gevent
from locust import constant, events
from locust.contrib.fasthttp import FastHttpUser
from locust import task

PLAN = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())
URLS = PLAN["urls"][os.environ["LOAD_PAGE"]]


@events.test_start.add_listener
def _stop_later(environment, **_kw):
    # Not --run-time: its timer comes from gevent's loop clock, which here ran early by the seconds that importing
    # took; this one reads the real clock.
    deadline = time.monotonic() + float(os.environ["LOAD_SECONDS"])

    def stop():
        while time.monotonic() < deadline:
            gevent.sleep(0.2)
        environment.runner.quit()

    gevent.spawn(stop)


class Client(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        # The cookie of a session that signing in through the login form gave (bench/console_load.py: sign_in).
        self.headers = {"Cookie": random.choice(PLAN["cookies"])} if os.environ["LOAD_PAGE"] != "static" else {}

    @task
    def page(self):
        with self.client.get(random.choice(URLS), name=os.environ["LOAD_PAGE"], headers=self.headers,
                             catch_response=True, allow_redirects=False) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
"""


# --- the load ----------------------------------------------------------------------------------------------------


def _plan(url: str, path: Path, cookies: list[str]) -> None:
    """The URLs each page's clients ask for, drawn from the database (so every one answers 200)."""
    rng = random.Random(5)
    engine = make_engine(url)
    with engine.connect() as conn:
        staff_ids = list(conn.execute(select(Staff.id)).scalars())
        districts = list(conn.execute(select(Unit.id).where(Unit.kind == "district")).scalars())
        report_id = conn.execute(text("SELECT max(id) FROM monthly_reports")).scalar_one()
        head = conn.execute(select(func.max(ChangeEntry.id))).scalar_one()
    engine.dispose()
    today = dt.datetime.now(TZ).date()
    weeks = [today + dt.timedelta(weeks=w) for w in range(-8, 3)]
    # as people search: a family and middle name, a family name typed without its marks, a middle and given name,
    # a staff number's beginning, a given name, an address's beginning (the names are drawn as a province's are)
    words = ["Nguyễn Văn", "tran", "Thị Hoa", "C00004", "hoa", "user0004"]
    staff = ["/staff", "/staff?status=active", "/staff?kind=functional", "/staff?sort=given", "/staff?idle=30"]
    staff += [f"/staff?q={w}" for w in words] + [f"/staff?unit={u}" for u in districts[:5]]
    staff += ["/staff?page=3", "/staff?q=Nguyễn&status=active&page=2", "/staff?sort=last_seen"]
    trail = ["/audit", "/audit?action=staff.update", "/audit?action=meeting.book", "/audit?actor=it3@"]
    trail += [f"/audit?unit={u}" for u in districts[:3]] + ["/audit?from=2026-06-01&to=2026-06-30"]
    trail += [f"/audit?before={rng.randrange(1000, head)}" for _ in range(6)]
    trail += [f"/audit?action=staff.disable&before={rng.randrange(1000, head)}" for _ in range(3)]
    plan = {
        "cookies": cookies,
        "urls": {
            "static": [STATIC],
            "dashboard": ["/"],
            "staff list": staff,
            "person": [f"/staff/{rng.choice(staff_ids)}" for _ in range(200)],
            "week board": ["/meetings"] + [f"/meetings?week={w.isoformat()}" for w in weeks],
            "report": [f"/reports/{report_id}", f"/reports/{report_id}?page=2"],
            # a unit chosen: the same page with the unit's 12-month trend (audit.unit_trend) and its inactive list
            "report unit": [f"/reports/{report_id}?unit={u}" for u in districts[:4]],
            "change trail": trail,
        },
    }
    path.write_text(json.dumps(plan, ensure_ascii=False))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str, instance: Path, workers: int, log: Path, gc_freeze: bool = False) -> Iterator[str]:
    instance.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONGVU_")},
        "CONGVU_INSTANCE_PATH": str(instance),
        "CONGVU_DATABASE_URL": url,
        "CONGVU_SECRET_KEY": hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
    }
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    cmd += ["--no-control-socket", "--error-logfile", str(log)]
    if gc_freeze:  # not production's configuration (config/deploy/congvu-web.service): what the collector costs
        hooks = instance / "gc_freeze.py"
        hooks.write_text("import gc\n\n\ndef post_worker_init(worker):\n    gc.freeze()\n")
        cmd += ["--config", str(hooks)]
    cmd += ["admin_app:create_app()"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        answered = 0  # the master listens before its workers have imported the app: wait for answers
        while answered < 2 * workers:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"gunicorn did not answer on {base}; see {log}")
            try:
                with urllib.request.urlopen(base + "/login", timeout=60) as answer:
                    answered += answer.status == 200
            except OSError:
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def drain(base: str, workers: int) -> None:
    """Wait for the requests a finished run left queued (sync workers answer them after their clients left): once
    the static file comes back to each worker in turn, the next run starts on an idle server."""
    answered = 0
    while answered < 2 * workers:
        try:
            with urllib.request.urlopen(base + STATIC, timeout=300) as answer:
                answered += answer.status == 200
        except OSError:
            time.sleep(0.5)


def locust(base: str, page: str, plan: Path, users: int, seconds: int, out: Path) -> dict[str, float]:
    """One headless locust run of ``users`` clients on one page; its p50, p95, count and failures."""
    locustfile = out / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = out / page.replace(" ", "_")
    env = {**os.environ, "LOAD_PLAN": str(plan), "LOAD_PAGE": page, "LOAD_SECONDS": str(seconds)}
    cmd = [str(ROOT / ".venv/bin/locust"), "-f", str(locustfile), "--headless", "-H", base, "-u", str(users)]
    cmd += [
        "-r",
        str(users),
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "5",
    ]
    cmd += ["--loglevel", "INFO"]
    with (out / "locust.log").open("a") as log:
        subprocess.run(cmd, env=env, stdout=log, stderr=log, check=False)
    with (prefix.parent / f"{prefix.name}_stats.csv").open(encoding="utf-8") as fh:
        row = next((r for r in csv.DictReader(fh) if r["Name"] == page), None)
    if row is None:  # no request finished in the time
        return {"p50": float("nan"), "p95": float("nan"), "count": 0, "failures": 0}
    return {
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
        "count": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
    }


def sign_in(base: str, clients: int) -> list[str]:
    """Sign in ``clients`` times through the login form (its CSRF token, the password, the redirect); the
    session cookies the console issued, one per load client."""
    cookies = []
    for _ in range(clients):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
        form = opener.open(base + "/login", timeout=60).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        assert token is not None, "no CSRF token on the login form"
        body = urllib.parse.urlencode({"csrf_token": token.group(1), "login": ADMIN, "password": PASSWORD})
        try:
            opener.open(base + "/login", data=body.encode(), timeout=60)
        except urllib.error.HTTPError as answer:
            if answer.code != 302:
                raise
        session = [c for c in jar if c.name == "congvu_session"]
        assert session, "signing in gave no session cookie"
        cookies.append(f"congvu_session={session[0].value}")
    return cookies


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def run_on(label: str, url: str, data: Path, args: argparse.Namespace) -> None:
    print(f"{label}:", flush=True)
    prepare(label, url, data)
    out = data / f"run-{label}"
    out.mkdir(exist_ok=True)
    plan = out / "plan.json"
    with gunicorn(url, data / f"instance-{label}", args.workers, out / "gunicorn.log", args.gc_freeze) as base:
        _plan(url, plan, sign_in(base, args.users))
        frozen = " (gc.freeze() in each worker once the app is loaded)" if args.gc_freeze else ""
        print(
            f"  gunicorn -w {args.workers}{frozen} on {base}; locust {args.users} users, {args.seconds} s per run; "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        print(f"  {'page':<14} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}   static p95 ms   ratio p95/static   load")
        for page in args.pages:
            locust(base, page, plan, args.users, 3, out)  # a warm-up, not counted: caches, first connections
            drain(base, args.workers)
            static = locust(base, "static", plan, args.users, args.seconds, out)
            drain(base, args.workers)
            figures = locust(base, page, plan, args.users, args.seconds, out)
            drain(base, args.workers)
            failed = f"   {figures['failures']:.0f} FAILED" if figures["failures"] else ""
            load = os.getloadavg()[0]
            print(
                f"  {page:<14} {figures['p50']:8.0f} {figures['p95']:8.0f} {figures['count'] / args.seconds:7.1f}"
                f"   {static['p95']:13.0f}   {figures['p95'] / static['p95']:6.1f}×   {load:5.2f}{failed}",
                flush=True,
            )


def pg_database(admin_url: str, name: str, fresh: bool) -> str | None:
    """The URL of database ``name`` on the server, created if missing (dropped first if ``fresh``: a build
    cut short); None if no server answers."""
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if fresh:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:
        print(f"PostgreSQL: not measured ({exc.__class__.__name__}: {exc})")
        return None
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/root/logs/HLOAD/data"), help="built databases, runs")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-database", default="congvu_console_load")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--seconds", type=int, default=20, help="each locust run (a page, its static baseline)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="move what the app holds once loaded out of the collector's reach (gc.freeze() in a gunicorn hook), to "
        "measure what the full collections cost; not how production runs",
    )
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    if not args.no_sqlite:
        db_file = args.data / "console.db"
        if not is_built(args.data, "SQLite"):
            db_file.unlink(missing_ok=True)
        run_on("SQLite", f"sqlite:///{db_file}", args.data, args)
    if not args.no_pg:
        url = pg_database(args.pg_url, args.pg_database, fresh=not is_built(args.data, "PostgreSQL"))
        if url is not None:
            run_on("PostgreSQL", url, args.data, args)


if __name__ == "__main__":
    main()
