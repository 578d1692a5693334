"""The monthly report for 30,000 mailboxes against the single SQL aggregate that computes the same per-mailbox
figures (counted, active, regular, engaged), on the same database in the same run, on SQLite and PostgreSQL.

    .venv/bin/python bench/report_bench.py [--mailboxes 30000] [--month 2026-10] [--runs 5] [--no-pg]
                                           [--sqlite FILE] [--pg-keep NAME] [--profile] [--upsert-cost]

1. Builds the province of bench/usage_bench.py (17 districts of 10 communes, 19 departments, 30,000 mailboxes)
   and three months of use (September to November 2026) written into ``usage_days`` as
   bench/report_history_bench.py does (1.13 million rows; the monthly rollups follow by the triggers of migration
   0014); ``--sqlite FILE`` and ``--pg-keep NAME`` keep the databases and reuse them when they exist (upgraded).
2. The baseline: ONE SQL statement through the driver that returns, per counted mailbox of the month, whether it
   was active, regular and engaged, as the report defines them (audit/report.py; audit/definitions.py): personal
   mailboxes enabled at any time in the month (their status at the month's start from the recorded status changes,
   or becoming active during it), joined with the month's ``usage_days`` aggregated per mailbox (any interactive
   login; distinct working days with one; sent messages).
3. ``build_report`` for the month (the whole report: the month's tree, both months' figures for the change
   column, meetings, channels, inactive list, hot spots), each run in a fresh unit of work.
4. Alternating runs of the two (median of ``--runs`` each), the ratio report / baseline, and a check that the
   report's province figures are the sums of the baseline's rows.
5. Every unit's 12-month trend for the month (``audit.unit_trend.unit_trends``, median of 3): what generating a
   version adds to ``build_report`` since the trends are stored with it (not in the ratio, which is the report's).
6. With ``--upsert-cost``: what keeping the months adds to ingestion's upsert of the days (``store_tally`` of ten
   days for every mailbox, with the months and without them, in transactions rolled back).

Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import and_, case, create_engine, exists, func, literal, or_, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from admin_app.migrate import upgrade  # noqa: E402
from audit import ingest  # noqa: E402
from audit.ingest import address_book, store_tally  # noqa: E402
from audit.models import UsageDay  # noqa: E402
from audit.months import month_bounds, month_span  # noqa: E402
from audit.report import Definitions, build_report  # noqa: E402
from audit.unit_trend import unit_trends  # noqa: E402
from audit.usage_months import month_rows  # noqa: E402
from core.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from meetings.availability import working_days  # noqa: E402
from provisioning.models import AccountKind, AccountStatus, Staff, StaffStatusChange  # noqa: E402

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DEFINITIONS = Definitions(10, frozenset({dt.date(2026, 9, 2), dt.date(2026, 9, 1)}), TZ)


def baseline_query(month: str, definitions: Definitions) -> Any:
    """The one statement: per counted mailbox of ``month``, (id, active, regular, engaged) as 0/1."""
    first, last = month_bounds(month)
    start, end = month_span(month, definitions.tz)
    work = working_days(first, last, definitions.holidays)
    logins = UsageDay.imap_logins + UsageDay.pop3_logins + UsageDay.webmail_logins + UsageDay.smtp_logins
    usage = (
        select(
            UsageDay.staff_id.label("staff_id"),
            func.sum(logins).label("logins"),
            func.count(func.distinct(case((and_(UsageDay.day.in_(work), logins > 0), UsageDay.day)))).label("days"),
            func.sum(UsageDay.sent_messages).label("sent"),
        )
        .where(UsageDay.day >= first, UsageDay.day <= last)
        .group_by(UsageDay.staff_id)
        .subquery()
    )
    changes = select(StaffStatusChange.id).where(StaffStatusChange.staff_id == Staff.id)
    status_at_start = (
        select(StaffStatusChange.status)
        .where(StaffStatusChange.staff_id == Staff.id, StaffStatusChange.changed_at < start)
        .order_by(StaffStatusChange.changed_at.desc(), StaffStatusChange.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    enabled_during = exists(
        changes.where(StaffStatusChange.changed_at >= start, StaffStatusChange.changed_at < end).where(
            StaffStatusChange.status == AccountStatus.ACTIVE
        )
    )
    enabled = or_(
        and_(~exists(changes), or_(Staff.status == AccountStatus.ACTIVE, Staff.created_at >= start)),
        and_(
            exists(changes),
            or_(
                func.coalesce(status_at_start, literal(AccountStatus.ACTIVE.value)) == AccountStatus.ACTIVE,
                enabled_during,
            ),
        ),
    )
    flag = lambda condition: case((condition, 1), else_=0)  # noqa: E731
    return (
        select(
            Staff.id,
            flag(func.coalesce(usage.c.logins, 0) > 0),
            flag(func.coalesce(usage.c.days, 0) >= definitions.regular_days),
            flag(func.coalesce(usage.c.sent, 0) > 0),
        )
        .outerjoin(usage, usage.c.staff_id == Staff.id)
        .where(Staff.kind == AccountKind.PERSONAL, Staff.created_at < end, enabled)
    )


def run_baseline(engine: Engine, month: str) -> tuple[float, dict[str, int]]:
    query = baseline_query(month, DEFINITIONS)
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    seconds = time.perf_counter() - started
    return seconds, {
        "counted": len(rows),
        "active": sum(r[1] for r in rows),
        "regular": sum(r[2] for r in rows),
        "engaged": sum(r[3] for r in rows),
    }


def run_report(factory: Any, month: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        data = build_report(session, month, DEFINITIONS)
    return time.perf_counter() - started, data


@dataclass
class Tally:
    """Counters as ingestion hands them to ``store_tally`` (audit.ingest.Counted)."""

    days: dict[tuple[str, dt.date], list[int]]
    last_seen: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)
    first: dt.datetime | None = None
    last: dt.datetime | None = None


def upsert_cost(engine: Engine, days: int = 10) -> None:
    """What keeping the months costs ingestion: ``store_tally`` of ``days`` days for every mailbox (new days, then
    the same again onto them: the insert and the update paths) as ingestion runs it, and the same with the months
    left out (the rollup triggers dropped or disabled, the months SQLite's ingestion adds itself not added: the
    upsert of the days alone, as before migration 0014), each in a transaction rolled back afterwards;
    alternating, best of two."""
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        book = address_book(session)
    rng = random.Random(5)
    emails = sorted({e for e in book if "@" in e})
    tally = Tally(
        {
            (email, dt.date(2026, 12, d)): [rng.randint(1, 20), 0, rng.randint(0, 1), 0, 0, 1, 1, 3000, 2, 9000]
            for email in emails
            for d in range(1, days + 1)
        }
    )
    best: dict[bool, list[float]] = {}
    for _ in range(2):
        for months in (True, False):
            session = factory()
            try:
                if not months:
                    ingest.month_rows = lambda _known: []  # type: ignore[assignment]
                    if engine.dialect.name == "postgresql":
                        session.execute(text("ALTER TABLE usage_days DISABLE TRIGGER USER"))
                    else:  # SQLite's DDL is transactional: the rollback brings them back
                        for (name,) in session.execute(
                            text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'usage_days'")
                        ).all():
                            session.execute(text(f'DROP TRIGGER "{name}"'))
                times = []
                for _pass in range(2):
                    started = time.perf_counter()
                    store_tally(session, tally, book)
                    session.flush()
                    times.append(time.perf_counter() - started)
            finally:
                ingest.month_rows = month_rows
                session.rollback()
                session.close()
            if months not in best or sum(times) < sum(best[months]):
                best[months] = times
    kept, alone = best[True], best[False]
    print(
        f"  ingestion upsert of {len(tally.days):,} mailbox-days (store_tally; new days / the same again onto them):\n"
        f"    days and their months      {kept[0]:6.2f} s / {kept[1]:6.2f} s\n"
        f"    the days alone             {alone[0]:6.2f} s / {alone[1]:6.2f} s\n"
        f"    cost of keeping the months {sum(kept) / sum(alone):6.2f}× the upsert of the days alone"
    )


def build(url: str, mailboxes: int) -> None:
    from report_history_bench import write_usage
    from usage_bench import build_database

    started = time.perf_counter()
    build_database(url, mailboxes)
    rows = write_usage(url)
    print(f"  built: {mailboxes:,} mailboxes, {rows:,} usage rows, in {time.perf_counter() - started:.0f} s")


def run_on(label: str, url: str, month: str, runs: int, profile: bool, upsert: bool) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    run_baseline(engine, month)  # warm both (page cache, statement caches) before timing
    run_report(factory, month)
    base_times, report_times = [], []
    for _ in range(runs):
        seconds, sums = run_baseline(engine, month)
        base_times.append(seconds)
        seconds, data = run_report(factory, month)
        report_times.append(seconds)
    base, ours = statistics.median(base_times), statistics.median(report_times)
    province = {m: data["province"][m] for m in sums}
    print(
        f"{label}: report {month} for {sums['counted']:,} counted mailboxes, median of {runs} alternating runs\n"
        f"  baseline (one SQL aggregate)  {base:6.3f} s   (runs {', '.join(f'{t:.2f}' for t in base_times)})\n"
        f"  build_report                  {ours:6.3f} s   (runs {', '.join(f'{t:.2f}' for t in report_times)})\n"
        f"  ratio report / baseline       {ours / base:6.2f}×  (target ≤ 2×)\n"
        f"  figures agree: {'yes' if province == sums else f'NO: report {province}, baseline {sums}'} "
        f"(active {sums['active']:,}, regular {sums['regular']:,}, engaged {sums['engaged']:,})"
    )
    trend_times = []
    for _ in range(3):
        started = time.perf_counter()
        with unit_of_work(factory) as session:
            trends = unit_trends(session, data, DEFINITIONS)
        trend_times.append(time.perf_counter() - started)
    print(
        f"  every unit's 12-month trend   {statistics.median(trend_times):6.3f} s   ({len(trends)} units; part of "
        f"generating a version, not of build_report: audit.report.generate stores them with it)"
    )
    if upsert:
        upsert_cost(engine)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_report(factory, month)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", type=int, default=30_000)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite", type=Path, help="keep the SQLite database in FILE (reused when it exists)")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--pg-keep", metavar="NAME", help="keep the PostgreSQL database NAME (reused when it exists)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--profile", action="store_true", help="then print a profile of one build_report")
    parser.add_argument(
        "--upsert-cost",
        action="store_true",
        help="then time ingestion's upsert of the days with their months and without",
    )
    args = parser.parse_args()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            path = args.sqlite or Path(tmp) / "report.db"
            url = f"sqlite:///{path}"
            print("SQLite:")
            if path.exists():
                upgrade(url)  # a database kept from before a migration: brought up to date (0014 sums the days)
            else:
                build(url, args.mailboxes)
            run_on("SQLite", url, args.month, args.runs, args.profile, args.upsert_cost)
    if args.no_pg:
        return
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    name = args.pg_keep or f"congvu_report_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        exists_already = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is not None
        if not exists_already:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
        print("PostgreSQL:")
        if exists_already:
            upgrade(url)
        else:
            build(url, args.mailboxes)
            with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text("VACUUM ANALYZE"))
        run_on("PostgreSQL", url, args.month, args.runs, args.profile, args.upsert_cost)
    finally:
        if not args.pg_keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
