"""Console pages timed in process, one client: where a page's own time goes, without gunicorn, locust or the
queue of twenty clients (bench/console_load.py measures those).

    .venv/bin/python bench/page_times.py [--data DIR] URL [URL ...] [--runs 15] [--profile] [--sql] [--database-url URL]

Opens the console on the database bench/console_load.py built (``--data``, default /root/logs/HLOAD/data), signs
in through the login form as its break-glass admin, asks for each URL three times to warm up, then ``--runs``
times, and prints the median and fastest request and the page's size. ``--profile`` adds a cProfile of ten
requests per URL (``SORT`` in the environment: ``cumulative`` or ``tottime``); ``--sql`` the statements of one
request, slowest first, with their time. Run it from a checkout (the code measured is the one in the current
directory) to compare two trees on the same database.

Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import sys
import time
from typing import Any

ADMIN, PASSWORD = "loadadmin", "bench-load-password-1"  # bench/console_data.py's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--data", default="/root/logs/HLOAD/data")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sql", action="store_true")
    parser.add_argument(
        "--database-url", help="another database console_load.py built (its PostgreSQL one: …/congvu_console_load)"
    )
    args = parser.parse_args()
    os.environ["CONGVU_INSTANCE_PATH"] = f"{args.data}/instance-SQLite"
    os.environ["CONGVU_DATABASE_URL"] = args.database_url or f"sqlite:///{args.data}/console.db"
    os.environ.setdefault("CONGVU_SECRET_KEY", "bench-page-times-" + "0" * 48)
    sys.path.insert(0, os.getcwd())
    from admin_app import create_app

    app = create_app()
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token is not None, "no CSRF token on the login form"
    signed = client.post("/login", data={"csrf_token": token.group(1), "login": ADMIN, "password": PASSWORD})
    assert signed.status_code == 302, f"signing in answered {signed.status_code}"
    for url in args.urls:
        for _ in range(3):
            client.get(url)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            answer = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"{url:60s} {answer.status_code} median {statistics.median(times):7.1f} ms  fastest {min(times):7.1f} ms"
            f"  {len(answer.get_data()) // 1024} KiB"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(10):
                client.get(url)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(35)
    if args.sql:
        from sqlalchemy import event

        seen: list[tuple[float, str]] = []

        def before(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
            context._bench_started = time.perf_counter()

        def after(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
            seen.append(((time.perf_counter() - context._bench_started) * 1000, " ".join(statement.split())))

        engine = app.extensions["congvu"].engine
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        for url in args.urls:
            seen.clear()
            client.get(url)
            print(f"{url}: {sum(t for t, _ in seen):.1f} ms in {len(seen)} statements")
            for took, statement in sorted(seen, reverse=True)[:8]:
                print(f"  {took:7.2f} ms  {statement[:200]}")


if __name__ == "__main__":
    main()
