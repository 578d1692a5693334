"""Log ingestion against its baselines, in one run on the same generated files, on SQLite and PostgreSQL.

    .venv/bin/python bench/ingest_bench.py [--mailboxes 5000] [--month 2026-10] [--dovecot 2.3|2.4]
        [--dir DIR] [--workers 1,2] [--rounds 3] [--own-sessions] [--no-pg] [--no-memory]

Generates a month of logs with the project's simulator (``demo/maillogs.py``; reused from ``--dir`` when it
already holds them for these parameters), warms the page cache, then times by the wall clock:

* the **bare tally** of each file (``bench/bare_tally.py``): one single-threaded Python loop over the lines with
  a few regular expressions, counting the same fields per address and day — logins per channel, failures and
  fetched bodies for ``dovecot.log``; submissions (logins) and sent messages by queue id for ``mail.log``;
  webmail logins and failures for ``roundcube-logins.log``. It writes nothing anywhere;
* ``pflogsumm`` (Debian's ``/usr/sbin/pflogsumm``) on ``mail.log``, in the same alternating rounds;
* ``congvu`` ingesting each file end to end (``audit.ingest.ingest_file``: read, parse, tally, address → staff,
  upsert into the database with the offset) into a database holding the mailboxes, once per ``--workers``
  value (1 = the sequential path), the usage tables emptied before each run. After each run the stored
  counters are compared with the first run's: the parallel path must store exactly what the sequential one does.

Prints lines/s and the ratios (target: ingestion at least as fast as the bare tally for each file, and Postfix
at least 6× pflogsumm), then the peak RSS of a fresh process ingesting the first half of ``dovecot.log`` and
all of it (memory must not grow with lines). Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bare_tally import BARE  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from audit.ingest import ingest_file  # noqa: E402
from core.db import make_engine, make_session_factory  # noqa: E402

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
PFLOGSUMM = "/usr/sbin/pflogsumm"
FILES = ("dovecot.log", "mail.log", "roundcube-logins.log")
USAGE_TABLES = ("usage_days", "usage_unknown_days", "usage_last_seen", "usage_log_sources")


def logs_dir(args: argparse.Namespace) -> Path:
    """The month's logs, generated unless the folder already holds them for these parameters."""
    name = f"congvu-ingest-bench-{args.mailboxes}-{args.month}-{args.seed}-dovecot{args.dovecot}"
    folder = args.dir or Path(tempfile.gettempdir()) / name
    stamp = folder / "generated.json"
    wanted = {"mailboxes": args.mailboxes, "month": args.month, "seed": args.seed, "dovecot": args.dovecot}
    if stamp.exists() and json.loads(stamp.read_text())["parameters"] == wanted:
        return folder
    from mail_logs import synthetic_addresses, write_month

    print(f"generating {args.mailboxes:,} mailboxes, {args.month}, in {folder} …", flush=True)
    started = time.perf_counter()
    month = dt.datetime.strptime(args.month, "%Y-%m").date()
    counts = write_month(synthetic_addresses(args.mailboxes), month, folder, seed=args.seed, dovecot=args.dovecot)
    stamp.write_text(json.dumps({"parameters": wanted, "lines": counts}))
    print(f"  generated in {time.perf_counter() - started:.0f} s: {counts}", flush=True)
    return folder


def warm(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(8 << 20):
            pass


OWN_SESSIONS = False  # --own-sessions: each worker in a session (so a scheduling group) of its own


def ingest(url: str, path: Path, workers: int) -> tuple[float, float, int, Any]:
    """Wall seconds, CPU seconds (this process and the workers) and lines of one end-to-end ingestion."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started, cpu = time.perf_counter(), time.process_time()
    pool = None
    try:
        if workers > 1 and OWN_SESSIONS:
            from audit.parallel import make_pool

            pool = make_pool(workers, initializer=os.setsid)
        result = ingest_file(factory, path, tz=TZ, workers=workers, executor=pool)  # type: ignore[call-arg]
    except TypeError:  # the code before the parallel path (for "before" figures): sequential only
        if workers != 1:
            raise
        result = ingest_file(factory, path, tz=TZ)
    finally:
        if pool is not None:
            pool.shutdown()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu + getattr(result, "worker_seconds", 0.0)
    engine.dispose()  # outside the timing (closing SQLite's last connection checkpoints its WAL)
    return wall, cpu, result.lines, result


def empty_usage(url: str) -> None:
    """Empty the usage tables and their monthly rollups between runs, outside the timing.

    Not ``DELETE FROM usage_days`` alone: its triggers (migration 0014) would take each day out of its month one
    row at a time on SQLite, and on PostgreSQL it leaves the dead rows and index entries of the run before for
    the next run's upserts to step over. PostgreSQL truncates; SQLite empties the months first (the days'
    delete trigger then finds no month to change) and the days after."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(('usage_months', *USAGE_TABLES))}"))
        else:
            for table in ("usage_months", *USAGE_TABLES):
                conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


def stored_digest(url: str) -> str:
    """A hash of every stored counter (per staff and day, unknown addresses, last-seen, offsets)."""
    engine = create_engine(url)
    digest = hashlib.sha256()
    queries = (
        "SELECT * FROM usage_days ORDER BY staff_id, day",
        "SELECT * FROM usage_unknown_days ORDER BY address, day",
        "SELECT staff_id, channel, at FROM usage_last_seen ORDER BY staff_id, channel",
        'SELECT identity, "offset", lines, events, malformed, first_event_at, last_event_at '
        "FROM usage_log_sources ORDER BY identity",
    )
    with engine.connect() as conn:
        for query in queries:
            for row in conn.execute(text(query)):
                digest.update(repr(tuple(str(v) for v in row)).encode())
    engine.dispose()
    return digest.hexdigest()[:12]


def pflogsumm(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one pflogsumm run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([PFLOGSUMM, str(path)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bare(name: str, path: Path) -> tuple[float, float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    lines, _ = BARE[name](path)
    return time.perf_counter() - started, time.process_time() - cpu, lines


def run_database(label: str, url: str, folder: Path, mailboxes: int, workers: list[int], rounds: int) -> None:
    """Each file: the bare tally and each worker count, alternating, ``rounds`` times; the best time of each.

    Wall time is what the targets speak of; CPU time (this process plus the workers) is shown too, since the
    machine may be shared: a core busy with someone else's work makes wall time, not CPU time, grow.
    """
    from usage_bench import build_database

    build_database(url, mailboxes)
    print(f"\n{label} (best of {rounds} alternating rounds; load average {os.getloadavg()[0]:.1f} at the start)")
    print(
        f"  {'file':22}{'lines':>11}  {'bare tally wall/CPU':>22}   "
        "congvu by workers: wall lines/s (ratio to bare), CPU lines/s (ratio), what it stored"
    )
    for name in FILES:
        path = folder / name
        warm(path)
        base_wall = base_cpu = float("inf")
        walls = dict.fromkeys(workers, float("inf"))
        cpus = dict.fromkeys(workers, float("inf"))
        digests: dict[int, str] = {}
        lines = 0
        pf_wall = pf_cpu = float("inf")
        for _ in range(rounds):
            wall, cpu, lines = bare(name, path)
            base_wall, base_cpu = min(base_wall, wall), min(base_cpu, cpu)
            if name == "mail.log":  # in the same rounds, so it meets the same load as the others
                wall, cpu = pflogsumm(path)
                pf_wall, pf_cpu = min(pf_wall, wall), min(pf_cpu, cpu)
            for n in workers:
                empty_usage(url)
                wall, cpu, _, _ = ingest(url, path, n)
                walls[n], cpus[n] = min(walls[n], wall), min(cpus[n], cpu)
                digests.setdefault(n, stored_digest(url))
        first = digests[workers[0]]
        print(f"  {name:22}{lines:>11,}  {lines / base_wall:>10,.0f}/{lines / base_cpu:>10,.0f}")
        for n in workers:
            same = "same rows" if digests[n] == first else f"DIFFERENT ({digests[n]} vs {first})"
            print(
                f"  {'':22}{'':>11}  {n} worker{'s' if n > 1 else ' '}: {lines / walls[n]:>10,.0f}/s "
                f"({base_wall / walls[n]:.2f}×)  CPU {lines / cpus[n]:>10,.0f}/s ({base_cpu / cpus[n]:.2f}×)  {same}"
            )
        if name == "mail.log":
            best, best_cpu = min(walls.values()), min(cpus.values())
            print(
                f"  {'':22}{'':>11}  pflogsumm {lines / pf_wall:>10,.0f}/s (CPU {lines / pf_cpu:,.0f}/s); "
                f"best congvu {lines / best:,.0f}/s: {pf_wall / best:.2f}× pflogsumm (target ≥ 6×), "
                f"CPU {pf_cpu / best_cpu:.2f}×"
            )
    print(f"  load average at the end {os.getloadavg()[0]:.1f}")


def memory_child(url: str, path: str, workers: int) -> None:
    """Run in a fresh process: ingest ``path``; print the peak RSS of this process and of its workers (MiB)."""
    _, _, _, result = ingest(url, Path(path), workers)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"main_mib": own, "worker_mib": getattr(result, "worker_peak_kib", 0) / 1024}))


def peak_memory(folder: Path, mailboxes: int, workers: int, tmp: Path) -> None:
    from usage_bench import build_database

    source = folder / "dovecot.log"
    half = tmp / "dovecot.half.log"
    size = source.stat().st_size
    with source.open("rb") as src, half.open("wb") as dst:
        data = src.read(size // 2)
        dst.write(data[: data.rfind(b"\n") + 1])
    print(f"\npeak RSS ingesting dovecot.log (SQLite, fresh process each, {workers} worker(s)):")
    for label, path in (("first half", half), ("whole file", source)):
        url = f"sqlite:///{tmp / f'mem-{uuid.uuid4().hex[:6]}.db'}"
        build_database(url, mailboxes)
        with path.open("rb") as fh:
            lines = sum(block.count(b"\n") for block in iter(lambda fh=fh: fh.read(8 << 20), b""))
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", url, str(path), str(workers)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        print(
            f"  {label:10} {lines:>12,} lines: main {figures['main_mib']:6.0f} MiB, "
            f"largest worker {figures['worker_mib']:6.0f} MiB"
        )


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--mailboxes", type=int, default=5000)
    cli.add_argument("--month", default="2026-10")
    cli.add_argument("--seed", type=int, default=1)
    cli.add_argument("--dovecot", choices=("2.3", "2.4"), default="2.3")
    cli.add_argument("--dir", type=Path)
    cli.add_argument("--workers", default="1,2", help="comma-separated worker counts; 1 is the sequential path")
    cli.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    cli.add_argument("--no-pg", action="store_true")
    cli.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best time of each is kept")
    cli.add_argument(
        "--own-sessions",
        action="store_true",
        help="start each worker in a session of its own: where the kernel shares CPU between sessions "
        "(autogroup) and other sessions are busy, workers of one session share that session's one share",
    )
    cli.add_argument("--no-memory", action="store_true")
    cli.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = cli.parse_args(argv)
    if args.memory_child:
        url, path, workers = args.memory_child
        memory_child(url, path, int(workers))
        return 0
    workers = [int(n) for n in args.workers.split(",")]
    global OWN_SESSIONS
    OWN_SESSIONS = args.own_sessions
    folder = logs_dir(args)
    for name in FILES:
        print(f"{name}: {(folder / name).stat().st_size / 2**20:,.0f} MiB")
    with tempfile.TemporaryDirectory(dir=folder) as tmp_text:
        tmp = Path(tmp_text)
        run_database("SQLite", f"sqlite:///{tmp / 'ingest.db'}", folder, args.mailboxes, workers, args.rounds)
        if not args.no_pg:
            admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
            name = f"congvu_ingest_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
            try:
                run_database("PostgreSQL", url, folder, args.mailboxes, workers, args.rounds)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        if not args.no_memory:
            peak_memory(folder, args.mailboxes, max(workers), tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
