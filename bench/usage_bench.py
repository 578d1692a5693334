"""Usage-audit benchmark: ingesting a month of logs for 30,000 mailboxes, against `pflogsumm` on the same
Postfix log, and building the monthly report, on SQLite and PostgreSQL.

    .venv/bin/python bench/usage_bench.py [--mailboxes 30000] [--month 2026-10] [--logs DIR] [--no-pg]

1. Generates the month's logs with bench/mail_logs.py (or reuses --logs DIR): Dovecot, Postfix, Roundcube.
2. Builds a database with a province of units and the mailboxes (one per generated address).
3. Times, in one run, ``pflogsumm`` (Debian's /usr/sbin/pflogsumm) reading mail.log, and congvu ingesting
   the same mail.log end to end (parse, tally, upsert into the database, offset): lines per second and the
   ratio. Then ingests the Dovecot and Roundcube logs too and reports their rates.
4. Peak memory of ingestion, each in a fresh process: the first half of mail.log, and all of it.
5. Times building the monthly report (median of 5) for all mailboxes (from the monthly rollups that ingestion
   kept), and the single SQL aggregate of bench/report_bench.py over the ingested days: the ratio.

Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from admin_app.migrate import upgrade  # noqa: E402
from audit.ingest import ingest_file  # noqa: E402
from audit.report import Definitions, build_report  # noqa: E402
from core.actors import SYSTEM  # noqa: E402
from core.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from demo.names import highlands_name, kinh_name  # noqa: E402
from provisioning.models import Staff, UnitKind  # noqa: E402
from provisioning.names import search_key_of, split_name, staff_sort_key  # noqa: E402
from provisioning.operations import create_unit  # noqa: E402

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
HOLIDAYS = frozenset({dt.date(2026, 9, 2), dt.date(2026, 9, 1)})


def generate_logs(folder: Path, mailboxes: int, month: str) -> None:
    from mail_logs import synthetic_addresses, write_month

    started = time.perf_counter()
    counts = write_month(synthetic_addresses(mailboxes), dt.datetime.strptime(month, "%Y-%m").date(), folder)
    print(
        f"  logs generated in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{k} {v:,} lines" for k, v in counts.items())
    )


def build_database(url: str, mailboxes: int) -> None:
    """A province with 17 districts of 10 communes each and 19 departments; mailboxes spread over them."""
    from mail_logs import synthetic_addresses

    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with unit_of_work(factory) as session:
        province = create_unit(
            session, SYSTEM, code="BENCH", name="Tỉnh Gia Lai (đo hiệu năng)", kind=UnitKind.PROVINCE, parent=None
        )
        leaves = []
        for d in range(17):
            district = create_unit(
                session, SYSTEM, code=f"H-{d:02d}", name=f"Huyện {d:02d}", kind=UnitKind.DISTRICT, parent=province
            )
            leaves.append(district.id)
            for c in range(10):
                leaves.append(
                    create_unit(
                        session,
                        SYSTEM,
                        code=f"X-{d:02d}-{c}",
                        name=f"Xã {d:02d}-{c}",
                        kind=UnitKind.COMMUNE,
                        parent=district,
                    ).id
                )
        for s in range(19):
            leaves.append(
                create_unit(
                    session, SYSTEM, code=f"S-{s:02d}", name=f"Sở {s:02d}", kind=UnitKind.DEPARTMENT, parent=province
                ).id
            )
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rng = random.Random(7)
    rows = []
    for i, address in enumerate(synthetic_addresses(mailboxes)):
        # names as the province's are (a tenth of the Highlands' peoples), with the keys the console sorts and
        # searches by, as provisioning.models writes them for every person it stores
        name = highlands_name(rng) if rng.random() < 0.1 else kinh_name(rng)
        parts = split_name(name)
        rows.append(
            {
                "unit_id": leaves[i % len(leaves)],
                "full_name": name,
                "email": address,
                "kind": "personal" if i % 50 else "functional",
                "status": "active",
                "status_reason": "",
                "quota_mb": 2048,
                "created_at": created,
                "updated_at": created,
                "family_name": parts.family,
                "middle_name": parts.middle,
                "given_name": parts.given,
                "sort_key": staff_sort_key(parts.given, parts.family, parts.middle),
                "search_key": search_key_of(name, address),
                "staff_number": f"C{i:06d}",
                "title": "Chuyên viên",
                "phone": "",
            }
        )
    engine = make_engine(url)
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Staff), rows[start : start + 5000])
    engine.dispose()


def pflogsumm(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["/usr/sbin/pflogsumm", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def ingest_timed(url: str, path: Path) -> tuple[float, int]:
    factory = make_session_factory(make_engine(url))
    started = time.perf_counter()
    result = ingest_file(factory, path, tz=TZ)
    return time.perf_counter() - started, result.lines


def memory_child(url: str, path: str) -> None:
    """Run in a fresh process: ingest ``path``; print the peak RSS (MiB)."""
    factory = make_session_factory(make_engine(url))
    ingest_file(factory, Path(path), tz=TZ)
    print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def peak_memory(url: str, path: Path) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", url, str(path)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_mib"]


def report_times(url: str, month: str, runs: int = 5) -> tuple[float, dict[str, object]]:
    factory = make_session_factory(make_engine(url))
    times = []
    data: dict[str, object] = {}
    for _ in range(runs):
        started = time.perf_counter()
        with unit_of_work(factory) as session:
            data = build_report(session, month, Definitions(10, HOLIDAYS, TZ))
        times.append(time.perf_counter() - started)
    return statistics.median(times), data


def run_on(label: str, url: str, logs: Path, mailboxes: int, month: str, tmp: Path) -> None:
    from report_bench import run_baseline

    print(f"{label}:")
    build_database(url, mailboxes)
    mail_log = logs / "mail.log"
    lines = count_lines(mail_log)
    shutil.copyfile(mail_log, tmp / "mail.copy.log")  # warm the page cache for both readers
    t_pflog = pflogsumm(mail_log)
    t_ours, ours_lines = ingest_timed(url, mail_log)
    print(f"  mail.log: {lines:,} lines")
    print(f"  pflogsumm          {t_pflog:7.2f} s   {lines / t_pflog:>12,.0f} lines/s")
    print(
        f"  congvu ingest      {t_ours:7.2f} s   {ours_lines / t_ours:>12,.0f} lines/s   ratio {t_pflog / t_ours:.2f}×"
    )
    for name in ("dovecot.log", "roundcube-logins.log"):
        path = logs / name
        if path.exists():
            seconds, n = ingest_timed(url, path)
            print(f"  congvu ingest {name:<22} {n:>12,} lines in {seconds:6.1f} s   {n / seconds:>10,.0f} lines/s")
    median, data = report_times(url, month)
    province = data["province"]  # type: ignore[index]
    engine = make_engine(url)
    baseline = statistics.median(run_baseline(engine, month)[0] for _ in range(5))
    engine.dispose()
    print(
        f"  monthly report for {mailboxes:,} mailboxes: median {median:.2f} s (5 runs); counted "
        f"{province['counted']:,}, active {province['active_share']}, regular {province['regular_share']}; "  # type: ignore[index]
        f"the one SQL aggregate of bench/report_bench.py {baseline:.2f} s: ratio {median / baseline:.2f}×"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", type=int, default=30_000)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--logs", type=Path, help="reuse logs generated before (bench/mail_logs.py --out DIR)")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return

    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        logs = args.logs
        if logs is None or not (logs / "mail.log").exists():
            logs = logs or tmp / "logs"
            print("generating logs…")
            generate_logs(logs, args.mailboxes, args.month)

        run_on("SQLite", f"sqlite:///{tmp / 'usage.db'}", logs, args.mailboxes, args.month, tmp)

        # Memory: a fresh database each, the first half of mail.log then all of it.
        mail_log = logs / "mail.log"
        half = tmp / "mail.half.log"
        with mail_log.open("rb") as src, half.open("wb") as dst:
            total = count_lines(mail_log)
            for n, line in enumerate(src):
                if n >= total // 2:
                    break
                dst.write(line)
        for label, path in (("first half", half), ("whole file", mail_log)):
            url = f"sqlite:///{tmp / f'mem-{uuid.uuid4().hex[:6]}.db'}"
            build_database(url, args.mailboxes)
            print(f"  peak memory ingesting mail.log, {label}: {peak_memory(url, path):.0f} MiB")

        if not args.no_pg:
            try:
                admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    name = f"congvu_usage_{uuid.uuid4().hex[:8]}"
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:
                print(f"PostgreSQL skipped: {exc}")
                return
            url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
            try:
                run_on("PostgreSQL", url, logs, args.mailboxes, args.month, tmp)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    os.environ.pop("_", None)


if __name__ == "__main__":
    main()
