"""The largest merged city on one installation: 300,000 mailboxes, from the import to the console.

    .venv/bin/python bench/city_bench.py [--mailboxes 300000] [--batch 50000] [--days 3] [--pg-url URL]
        [--work DIR] [--seconds 8] [--keep]

On PostgreSQL (a scratch database of its own, dropped afterwards unless ``--keep``) and a slapd, Dovecot and
Postfix of its own, one after the other:

1. **The city**: one province-level unit, 168 wards and communes, 40 departments (a merged city of 2025).
2. **Import** in batches of ``--batch`` rows (a CSV naming each row's unit, applied at the city: parsing,
   validation, database, audit, directory), each batch in a process of its own: its seconds, rows/s and peak
   RSS (memory must not grow with the batches), and after it the directory's answer to Dovecot's own
   ``pass_filter`` for 500 random addresses (median and p95) against a search on an attribute left unindexed
   (``telephoneNumber``), the baseline that shows what the indexes do. Then ``ldapadd -f`` of one batch's
   entries under a sibling unit, against the last batch's import, at the city's size.
   Then ``VACUUM ANALYZE``, as autovacuum would after such a load (this machine's server runs without it),
   and again after the logs.
3. **The directory**: its entries, the size of its database file, the indexes configured.
4. **A tenth of a month of logs**: the first ``--days`` days of October 2026 for every mailbox, written by the
   project's simulator (``demo/maillogs.py``); ``dovecot.log`` split by day, each day ingested in a process of
   its own (lines/s, peak RSS, the rows ``usage_days`` held before: the rate must stay flat as the table
   grows), the first day also read by the bare tally (``bench/bare_tally.py``) in the same run; then
   ``mail.log`` and Roundcube's log whole.
5. **The monthly report** for October against the one SQL aggregate of bench/report_bench.py (median of 3).
6. **The console**: gunicorn ``-w 2``, locust with 20 clients signed in through the login form (as
   bench/console_load.py runs it): a person's page and the staff search against a static file, p95 ratios.

Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_db  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from audit.ingest import ingest_file  # noqa: E402
from core.actors import SYSTEM  # noqa: E402
from core.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from core.tabular import read_table  # noqa: E402
from demo.names import highlands_name, kinh_name  # noqa: E402
from provisioning.directory import Directory, DirectoryConfig  # noqa: E402
from provisioning.importing import apply  # noqa: E402
from provisioning.models import Staff, Unit, UnitKind  # noqa: E402
from provisioning.operations import MailboxPolicy, create_unit  # noqa: E402
from provisioning.sync import apply_pending  # noqa: E402
from services.common import ServiceConfig, free_port  # noqa: E402
from services.supervisor import Services  # noqa: E402

BASE = "dc=hcm,dc=gov,dc=vn"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PW = "bench-admin-pw"
DOMAIN = "tphcm.gov.vn"
WARDS, DEPARTMENTS = 168, 40
MONTH = "2026-10"
PASS_FILTER = "(&(objectClass=congvuMailbox)(|(mail={0})(congvuMailAlias={0}))(congvuMailStatus=active))"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _unit_codes() -> list[str]:
    return [f"P{i:03d}" for i in range(1, WARDS + 1)] + [f"S{i:02d}" for i in range(1, DEPARTMENTS + 1)]


def build_city(url: str) -> None:
    factory = make_session_factory(make_engine(url))
    with unit_of_work(factory) as session:
        city = create_unit(session, SYSTEM, code="HCM", name="UBND Thành phố Hồ Chí Minh", kind="province", parent=None)
        for code in _unit_codes():
            ward = code.startswith("P")
            name = f"{'UBND phường' if ward else 'Sở'} {code[1:]}"
            kind = UnitKind.COMMUNE if ward else UnitKind.DEPARTMENT
            create_unit(session, SYSTEM, code=code, name=name, kind=kind, parent=city)


def batch_csv(first: int, rows: int) -> bytes:
    """Rows ``first`` … ``first + rows - 1`` of the city's staff list, each naming its unit."""
    rng = random.Random(first)
    codes = _unit_codes()
    out = io.StringIO()
    out.write("mã_cán_bộ,họ_và_tên,chức_vụ,điện_thoại,mã_đơn_vị\n")
    for i in range(first, first + rows):
        name = highlands_name(rng) if rng.random() < 0.1 else kinh_name(rng)
        out.write(f"C{i:07d},{name},Chuyên viên,09{i:08d},{codes[i % len(codes)]}\n")
    return out.getvalue().encode("utf-8")


def _directory(ldap_url: str) -> Directory:
    return Directory(DirectoryConfig(ldap_url, BASE, ADMIN_DN, ADMIN_PW, 600))


def batch_child(url: str, ldap_url: str, first: int, rows: int) -> None:
    """One batch, end to end, in this process; prints its figures as JSON."""
    data = batch_csv(first, rows)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    directory = _directory(ldap_url)
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        city = session.scalars(select(Unit).where(Unit.code == "HCM")).one()
        apply(session, SYSTEM, city, read_table(io.BytesIO(data), "city.csv"), MailboxPolicy(DOMAIN))
    database = time.perf_counter() - started
    result = apply_pending(factory, directory, BASE, "k" * 40, default_domain=DOMAIN, limit=10**9)
    total = time.perf_counter() - started
    directory.close()
    engine.dispose()
    if result.pending or result.failed:
        raise RuntimeError(f"directory jobs left over: {result}")
    print(json.dumps({"database": database, "directory": total - database, "total": total, "rss_mb": _rss_mb()}))


def _child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def lookups(ldap_url: str, mails: list[str], phones: list[str]) -> tuple[float, float, float]:
    """Median and p95 ms of Dovecot's pass_filter for ``mails``, and the median of the unindexed baseline."""
    import ldap3
    from ldap3.utils.conv import escape_filter_chars

    conn = ldap3.Connection(ldap3.Server(ldap_url), ADMIN_DN, ADMIN_PW, auto_bind=True)
    times = []
    for mail in mails:
        started = time.perf_counter()
        conn.search(BASE, PASS_FILTER.format(escape_filter_chars(mail)), attributes=["mail"])
        times.append((time.perf_counter() - started) * 1000)
        assert len(conn.entries) == 1, mail
    slow = []
    for phone in phones:
        started = time.perf_counter()
        conn.search(BASE, f"(&(objectClass=congvuMailbox)(telephoneNumber={phone}))", attributes=["mail"])
        slow.append((time.perf_counter() - started) * 1000)
    conn.unbind()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], statistics.median(slow)


def import_city(url: str, svc: Services, mailboxes: int, batch: int, work: Path) -> None:
    engine = make_engine(url)
    print(f"import in batches of {batch:,} (each in a process of its own), PostgreSQL:", flush=True)
    print("  batch  staff before  database s  directory s  rows/s  peak RSS MB   pass_filter ms p50/p95  unindexed ms")
    rng = random.Random(3)
    last: dict[str, float] = {}
    for first in range(0, mailboxes, batch):
        rows = min(batch, mailboxes - first)
        with engine.connect() as conn:
            before = conn.execute(select(func.count(Staff.id))).scalar_one()
        last = _child("--batch-child", url, svc.ldap_url, str(first), str(rows))
        with engine.connect() as conn:
            ids = conn.execute(select(Staff.email, Staff.phone)).all()
        sample = rng.sample(ids, 500)
        p50, p95, slow = lookups(svc.ldap_url, [m for m, _ in sample], [p for _, p in sample[:10]])
        print(
            f"  {first // batch + 1:5d}  {before:12,}  {last['database']:10.1f}  {last['directory']:11.1f}  "
            f"{rows / last['total']:6.0f}  {last['rss_mb']:11.0f}   {p50:8.2f} / {p95:6.2f}   {slow:12.1f}",
            flush=True,
        )
    engine.dispose()
    theirs = ldapadd_batch(svc, batch, work)
    print(
        f"  ldapadd -f of {batch:,} entries under a sibling unit, at the city's size: {theirs:.1f} s = "
        f"{batch / theirs:.0f} entries/s; the last batch's import {last['total']:.1f} s: "
        f"ratio {theirs / last['total']:.2f}×",
        flush=True,
    )


def ldapadd_batch(svc: Services, rows: int, work: Path) -> float:
    from import_bench import ldif_for

    ldif = ldif_for(batch_csv(10**7, rows), "LDAPADD").replace("gialai.gov.vn", DOMAIN)
    ldif = ldif.replace("dc=gialai,dc=gov,dc=vn", BASE)
    path = work / "batch.ldif"
    path.write_text(ldif, encoding="utf-8")
    started = time.perf_counter()
    subprocess.run(
        ["ldapadd", "-x", "-H", svc.ldap_url, "-D", ADMIN_DN, "-w", ADMIN_PW, "-f", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def describe_directory(svc: Services, work: Path) -> None:
    import ldap3

    conn = ldap3.Connection(ldap3.Server(svc.ldap_url), ADMIN_DN, ADMIN_PW, auto_bind=True)
    entries = conn.extend.standard.paged_search(
        BASE, "(objectClass=congvuMailbox)", attributes=["1.1"], paged_size=1000, generator=True
    )
    count = sum(1 for _ in entries)
    conn.unbind()
    data = sorted(work.rglob("data.mdb"))
    size = sum(p.stat().st_blocks * 512 for p in data) / 2**20
    config = (ROOT / "config/ldap/slapd.ldif.in").read_text()
    indexes = [line.split(":", 1)[1].strip() for line in config.splitlines() if line.startswith("olcDbIndex:")]
    limit = next(line.split(":", 1)[1].strip() for line in config.splitlines() if line.startswith("olcDbMaxSize:"))
    print(
        f"directory: {count:,} mailboxes; data.mdb {size:,.0f} MiB used of olcDbMaxSize {int(limit) / 2**20:,.0f} MiB; "
        f"indexes: {'; '.join(indexes)}",
        flush=True,
    )


def split_days(path: Path, out: Path) -> list[Path]:
    """``dovecot.log`` cut at each day (its lines begin with the date), one file per day."""
    files: list[Path] = []
    current, fh = "", None
    with path.open("rb") as src:
        for line in src:
            day = line[:10].decode()
            if day != current:
                if fh is not None:
                    fh.close()
                current = day
                files.append(out / f"dovecot-{day}.log")
                fh = files[-1].open("wb")
            assert fh is not None
            fh.write(line)
    if fh is not None:
        fh.close()
    return files


def ingest_child(url: str, path: str) -> None:
    import zoneinfo

    engine = make_engine(url)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM usage_days")).scalar_one()
    factory = make_session_factory(engine)
    started, cpu = time.perf_counter(), time.process_time()
    result = ingest_file(factory, Path(path), tz=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu + result.worker_seconds
    engine.dispose()
    figures = {"lines": result.lines, "wall": wall, "cpu": cpu, "rss_mb": _rss_mb(), "rows_before": before}
    print(json.dumps(figures))


def logs(url: str, work: Path, days: int) -> None:
    import datetime as dt

    from bare_tally import BARE

    from demo.maillogs import write_month

    engine = make_engine(url)
    with engine.begin() as conn:  # the city's staff were there before October (imported today, as the bench runs)
        conn.execute(text("UPDATE staff SET created_at = :t"), {"t": dt.datetime(2026, 9, 1, tzinfo=dt.UTC)})
        conn.execute(
            text("UPDATE staff_status_changes SET changed_at = :t"), {"t": dt.datetime(2026, 9, 1, tzinfo=dt.UTC)}
        )
        addresses = list(conn.execute(select(Staff.email).order_by(Staff.id)).scalars())
    engine.dispose()
    folder = work / "logs"
    started = time.perf_counter()
    counts = write_month(addresses, dt.date(2026, 10, 1), folder, seed=1, days=days)
    print(
        f"logs: the first {days} days of October for {len(addresses):,} mailboxes, written in "
        f"{time.perf_counter() - started:.0f} s: " + ", ".join(f"{name} {n:,} lines" for name, n in counts.items()),
        flush=True,
    )
    day_files = split_days(folder / "dovecot.log", folder)
    (folder / "dovecot.log").unlink()
    started = time.perf_counter()
    lines, _ = BARE["dovecot.log"](day_files[0])
    bare = lines / (time.perf_counter() - started)
    print(f"  bare tally of {day_files[0].name}: {bare:,.0f} lines/s (one process)")
    print("  file                      lines  usage_days before   wall s   lines/s  ratio to bare  CPU s  peak RSS MB")
    for path in [*day_files, folder / "mail.log", folder / "roundcube-logins.log"]:
        f = _child("--ingest-child", url, str(path))
        rate = f["lines"] / f["wall"]
        ratio = f"{rate / bare:12.2f}×" if path in day_files else " " * 13
        print(
            f"  {path.name:<24} {f['lines']:>9,}  {f['rows_before']:>17,}  {f['wall']:7.1f}  {rate:8,.0f}  {ratio}"
            f"  {f['cpu']:5.1f}  {f['rss_mb']:11.0f}",
            flush=True,
        )


def report(url: str) -> None:
    from report_bench import run_baseline, run_report

    engine = make_engine(url)
    factory = make_session_factory(engine)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    base, ours = [], []
    for _ in range(3):
        seconds, sums = run_baseline(engine, MONTH)
        base.append(seconds)
        seconds, data = run_report(factory, MONTH)
        ours.append(seconds)
    engine.dispose()
    agree = {m: data["province"][m] for m in sums} == sums
    print(
        f"monthly report {MONTH} for {sums['counted']:,} counted mailboxes (median of 3): build_report "
        f"{statistics.median(ours):.2f} s, one SQL aggregate {statistics.median(base):.2f} s: "
        f"ratio {statistics.median(ours) / statistics.median(base):.2f}× (figures agree: {'yes' if agree else 'NO'})",
        flush=True,
    )


def console(url: str, work: Path, seconds: int) -> None:
    from console_data import ADMIN, PASSWORD
    from console_load import STATIC, drain, gunicorn, locust, sign_in

    from provisioning.operations import create_local_admin

    with unit_of_work(make_session_factory(make_engine(url))) as session:
        create_local_admin(session, SYSTEM, ADMIN, PASSWORD)
        staff_ids = list(session.scalars(select(Staff.id)))
    rng = random.Random(5)
    words = ["Nguyễn Văn", "trần", "Thị Hoa", "C00012", "hoa", "Lê", "minh", "P045"]
    search = [f"/staff?q={w}" for w in words] + ["/staff?q=Nguyễn&status=active", "/staff?q=thi&page=2"]
    out = work / "console"
    out.mkdir()
    plan = out / "plan.json"
    with gunicorn(url, work / "instance", 2, out / "gunicorn.log") as base:
        pages = {"person": [f"/staff/{rng.choice(staff_ids)}" for _ in range(200)], "staff search": search}
        urls = {"static": [STATIC], **pages}
        plan.write_text(json.dumps({"cookies": sign_in(base, 20), "urls": urls}, ensure_ascii=False))
        print(f"console at {len(staff_ids):,} mailboxes: gunicorn -w 2, locust 20 clients, {seconds} s a run")
        for page in pages:
            locust(base, page, plan, 20, 3, out)
            drain(base, 2)
            static = locust(base, "static", plan, 20, seconds, out)
            drain(base, 2)
            figures = locust(base, page, plan, 20, seconds, out)
            drain(base, 2)
            print(
                f"  {page:<13} p50 {figures['p50']:6.0f} ms  p95 {figures['p95']:6.0f} ms  static p95 "
                f"{static['p95']:4.0f} ms  ratio {figures['p95'] / static['p95']:5.1f}×  "
                f"({figures['failures']} failed; load {os.getloadavg()[0]:.2f})",
                flush=True,
            )


def vacuum(url: str) -> None:
    """What autovacuum does after such a load, which a server with autovacuum off (this machine's) leaves
    undone: statistics for the planner and the dead rows of the updates cleared."""
    started = time.perf_counter()
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.0f} s", flush=True)


@contextlib.contextmanager
def city_services(work: Path) -> Iterator[Services]:
    svc = Services(
        ServiceConfig(
            work / "services",
            BASE,
            ADMIN_DN,
            ADMIN_PW,
            ldap_port=free_port(),
            imap_port=free_port(),
            pop3_port=free_port(),
        )
    )
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=3, help="days of October's logs (3: a tenth of the month)")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--work", type=Path, help="folder for the servers and logs (default: a temporary one)")
    parser.add_argument("--seconds", type=int, default=8, help="each locust run")
    parser.add_argument("--keep", action="store_true", help="keep the database and the folder")
    parser.add_argument("--batch-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--ingest-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch_child:
        url, ldap_url, first, rows = args.batch_child
        batch_child(url, ldap_url, int(first), int(rows))
        return
    if args.ingest_child:
        ingest_child(*args.ingest_child)
        return
    server = bench_db.pg_server(args.pg_url)
    if server is None:
        sys.exit("no PostgreSQL server answers at --pg-url: the city is measured on PostgreSQL")
    work = args.work or Path(tempfile.mkdtemp(prefix="congvu-city-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    database: contextlib.AbstractContextManager[str] = (
        contextlib.nullcontext(bench_db.new_database(server, "congvu_city"))
        if args.keep  # outlives the process
        else bench_db.scratch_database(server, "congvu_city")
    )
    url = database.__enter__()
    started = time.perf_counter()
    try:
        from admin_app.migrate import upgrade

        upgrade(url)
        with city_services(work) as svc:
            build_city(url)
            factory = make_session_factory(make_engine(url))
            apply_pending(factory, _directory(svc.ldap_url), BASE, "k" * 40, default_domain=DOMAIN)
            import_city(url, svc, args.mailboxes, args.batch, work)
            vacuum(url)
            describe_directory(svc, work)
            logs(url, work, args.days)
            vacuum(url)
            report(url)
            console(url, work, args.seconds)
        print(f"all in {time.perf_counter() - started:.0f} s")
    finally:
        if args.keep:
            print(f"kept: database {url}, folder {work}")
        else:
            database.__exit__(None, None, None)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
