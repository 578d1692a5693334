"""Meetings benchmark: booking and "find a time" at commune scale against two years of history, each beside a
baseline that does the same database work straight through the driver, and a 150-invitation send.

    .venv/bin/python bench/meetings_bench.py [--meetings 50000] [--points 160] [--runs 100] [--pg-url URL | --no-pg]

Builds a database with ``--points`` bridge points (5 province, 20 department, the rest communes) and ``--meetings``
meetings over two years (non-overlapping per point, buffers included; most join 1–6 points, some 17 or 135), then
measures, in the same run:

* booking a 17-point and a 135-point meeting through ``book_meeting`` (permission, checks, conflict query, the
  meeting, its holds, the change-trail entry and one mail intent per recipient) in its own committed transaction,
  against a baseline through the DB-API driver (the overlap query, insert the meeting, insert its holds, commit);
* ``find_slots`` for 135 points over 10 working days, against the raw driver query that fetches those holds;
* sending 150 invitations (rendered by the sender: token, iCalendar, text) through a private Postfix started for
  the run (``services``), messages per second handed over.

Runs on SQLite and, if a PostgreSQL server answers (--pg-url or 127.0.0.1:5432), on a fresh PostgreSQL database.
Prints medians, 95th percentiles and the ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_db import pg_server, province_session, scratch_database  # noqa: E402
from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from core.actors import SYSTEM  # noqa: E402
from core.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from core.outbox import SmtpConfig, send_pending  # noqa: E402
from meetings.availability import LOOKBACK, find_slots  # noqa: E402
from meetings.env import MeetingEnv  # noqa: E402
from meetings.jitsi import JitsiConfig, new_room_name  # noqa: E402
from meetings.mail_content import render_meeting_mail  # noqa: E402
from meetings.models import Meeting, MeetingPoint  # noqa: E402
from meetings.operations.bookings import MeetingDraft, book_meeting  # noqa: E402
from meetings.operations.points import create_bridge_point  # noqa: E402
from provisioning.models import UnitKind  # noqa: E402
from provisioning.operations import create_unit  # noqa: E402

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
ENV = MeetingEnv(TZ, "Asia/Ho_Chi_Minh", JitsiConfig("meet.bench", "congvu", "b" * 40, "congvu", "meet.bench"))
WORKING = [(dt.time(7, 30), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0))]
FIRST_DAY = dt.date(2026, 1, 1)
DAYS = 730


def build(url: str, meetings: int, points: int, seed: int = 7) -> list[int]:
    """Units, points and ``meetings`` meetings over two years, inserted in bulk. Returns the point ids."""
    with province_session(url, "Tỉnh đo hiệu năng") as (session, province):
        ids = []
        for n in range(points):
            unit = create_unit(
                session,
                SYSTEM,
                code=f"U-{n:03d}",
                name=f"Đơn vị {n:03d}",
                kind=UnitKind.PROVINCE if n < 5 else UnitKind.DEPARTMENT if n < 25 else UnitKind.COMMUNE,
                parent=province,
            )
            ids.append(
                create_bridge_point(
                    session, SYSTEM, name=f"Điểm cầu {n:03d}", unit=unit, contact_email=f"dc{n:03d}@gialai.gov.vn"
                ).id
            )
    rng = random.Random(seed)
    busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {p: [] for p in ids}
    meeting_rows: list[dict[str, object]] = []
    point_rows: list[dict[str, object]] = []
    per_day = meetings / DAYS
    made = 0
    for day_n in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=day_n)
        target = int(per_day * (day_n + 1)) - made
        for p in busy:
            busy[p] = []
        tries = 0
        while target > 0 and tries < target * 60:
            tries += 1
            roll = rng.random()
            size = 135 if roll < 0.005 else 17 if roll < 0.03 else rng.choice([1, 1, 1, 2, 2, 3, 3, 4, 6])
            chosen = rng.sample(ids, min(size, len(ids)))
            start = dt.datetime.combine(day, dt.time(7, 0), tzinfo=TZ) + dt.timedelta(minutes=30 * rng.randrange(0, 20))
            end = start + dt.timedelta(minutes=rng.choice([60, 90, 120, 180]))
            block = start - dt.timedelta(minutes=30)
            if any(b < end and block < e for p in chosen for b, e in busy[p]):
                continue
            for p in chosen:
                busy[p].append((block, end))
            mid = len(meeting_rows) + 1
            meeting_rows.append(_meeting_row(mid, chosen[0], start, end))
            for p in chosen:
                point_rows.append(
                    {
                        "meeting_id": mid,
                        "point_id": p,
                        "block_start": block.astimezone(dt.UTC),
                        "block_end": end.astimezone(dt.UTC),
                        "is_active": True,
                    }
                )
            made += 1
            target -= 1
    engine = make_engine(url)
    with engine.begin() as conn:
        for start_i in range(0, len(meeting_rows), 5000):
            conn.execute(insert(Meeting), meeting_rows[start_i : start_i + 5000])
        for start_i in range(0, len(point_rows), 10000):
            conn.execute(insert(MeetingPoint), point_rows[start_i : start_i + 10000])
        if url.startswith("postgresql"):
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('meetings', 'id'), (SELECT max(id) FROM meetings))")
            )
        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"  built: {len(meeting_rows):,} meetings, {len(point_rows):,} point holds, {points} points")
    return ids


def _meeting_row(mid: int, host: int, start: dt.datetime, end: dt.datetime) -> dict[str, object]:
    return {
        "id": mid,
        "title": f"Cuộc họp {mid}",
        "agenda": "",
        "host_point_id": host,
        "organiser_name": "bench",
        "organiser_email": "",
        "starts_at": start.astimezone(dt.UTC),
        "ends_at": end.astimezone(dt.UTC),
        "buffer_minutes": 30,
        "room_name": new_room_name(),
        "uid": f"{uuid.uuid4()}@congvu",
        "sequence": 0,
        "is_cancelled": False,
        "created_by": "bench",
        "created_at": start.astimezone(dt.UTC),
        "updated_at": start.astimezone(dt.UTC),
    }


class Driver:
    """The baseline: the same statements straight through the DB-API connection (no ORM, no checks)."""

    def __init__(self, engine: Engine) -> None:
        self.is_pg = engine.dialect.name == "postgresql"
        self.raw = engine.raw_connection()
        self.mark = "%s" if self.is_pg else "?"

    def value(self, when: dt.datetime) -> object:
        # As the UTCDateTime column stores it: aware on PostgreSQL, ISO text on SQLite.
        utc = when.astimezone(dt.UTC)
        return utc if self.is_pg else utc.replace(tzinfo=None).isoformat(" ")

    def holds(self, ids: list[int], lo: dt.datetime, hi: dt.datetime) -> list[tuple[object, ...]]:
        cur = self.raw.cursor()
        marks = ",".join([self.mark] * len(ids))
        cur.execute(
            "SELECT point_id, block_start, block_end, meeting_id FROM meeting_points WHERE point_id IN "
            f"({marks}) AND is_active AND block_start < {self.mark} AND block_start > {self.mark} "
            f"AND block_end > {self.mark} ORDER BY block_start",
            [*ids, self.value(hi), self.value(lo - LOOKBACK), self.value(lo)],
        )
        rows = cur.fetchall()
        cur.close()
        return rows

    def book(self, ids: list[int], start: dt.datetime, end: dt.datetime) -> None:
        block = start - dt.timedelta(minutes=30)
        if not self.is_pg:
            # core.db hands SQLite connections over in autocommit mode (it issues BEGIN itself): without this
            # every statement, each hold too, would be a transaction of its own with its own commit.
            self.raw.driver_connection.execute("BEGIN IMMEDIATE")
        self.holds(ids, block, end)
        row = _meeting_row(0, ids[0], start, end)
        del row["id"]
        cols = list(row)
        values = [self.value(v) if isinstance(v, dt.datetime) else v for v in row.values()]
        cur = self.raw.cursor()
        cur.execute(
            f"INSERT INTO meetings ({', '.join(cols)}) VALUES ({', '.join([self.mark] * len(cols))}) RETURNING id",
            values,
        )
        (mid,) = cur.fetchone()
        m = self.mark
        cur.executemany(
            "INSERT INTO meeting_points (meeting_id, point_id, block_start, block_end, is_active) "
            f"VALUES ({m}, {m}, {m}, {m}, {m})",
            [(mid, p, self.value(block), self.value(end), True) for p in ids],
        )
        cur.close()
        self.raw.commit()


def _evening(rng: random.Random, used: set[int]) -> dt.date:
    n = rng.choice([d for d in range(DAYS) if d not in used])
    used.add(n)
    return FIRST_DAY + dt.timedelta(days=n)


def measure(url: str, ids: list[int], runs: int = 100, seed: int = 11) -> dict[str, list[float]]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    driver = Driver(engine)
    rng = random.Random(seed)
    out: dict[str, list[float]] = {}
    used: set[int] = set()
    statements: list[str] = []  # what congvu sends per booking (the driver's: the query and two inserts)
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_rest: statements.append(sql))
    for size in (17, 135):
        ours, base = [], []
        for n in range(runs):
            # Evenings of distinct days (history ends by 19:30): congvu books 20:00, the baseline 22:00.
            day = _evening(rng, used)
            chosen = rng.sample(ids, size)
            start = dt.datetime.combine(day, dt.time(20, 0), tzinfo=TZ)
            draft = MeetingDraft(f"Họp đo {size}-{n}", start, start + dt.timedelta(minutes=90), chosen[0], chosen)
            statements.clear()
            t0 = time.perf_counter()
            with unit_of_work(factory) as session:
                book_meeting(session, SYSTEM, ENV, draft)
            ours.append((time.perf_counter() - t0) * 1000)
            if n == runs - 1:
                print(f"  book {size} points: {len(statements)} statements (the driver's: 3), BEGIN and COMMIT aside")
            late = start + dt.timedelta(hours=2)
            t0 = time.perf_counter()
            driver.book(chosen, late, late + dt.timedelta(minutes=90))
            base.append((time.perf_counter() - t0) * 1000)
        out[f"book{size}"], out[f"book{size}_base"] = ours, base
    out["find135"], out["find135_base"] = _finding(factory, driver, ids, rng, runs)
    driver.raw.close()
    engine.dispose()
    return out


def _finding(
    factory: sessionmaker[Session], driver: Driver, ids: list[int], rng: random.Random, runs: int
) -> tuple[list[float], list[float]]:
    ours, base = [], []
    found = 0
    for _ in range(runs):
        first = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS - 20))
        days, last = 0, first
        while True:  # 10 working days
            if last.weekday() < 5:
                days += 1
            if days == 10:
                break
            last += dt.timedelta(days=1)
        chosen = rng.sample(ids, 135)
        t0 = time.perf_counter()
        with unit_of_work(factory) as session:
            slots = find_slots(
                session, chosen, dt.timedelta(minutes=120), first, last, tz=TZ, working_hours=WORKING,
                buffer=dt.timedelta(minutes=30), limit=5,
            )  # fmt: skip
        ours.append((time.perf_counter() - t0) * 1000)
        found += bool(slots)
        lo = dt.datetime.combine(first, dt.time(0), tzinfo=TZ) - dt.timedelta(minutes=30)
        hi = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=TZ)
        t0 = time.perf_counter()
        driver.holds(chosen, lo, hi)
        driver.raw.commit()
        base.append((time.perf_counter() - t0) * 1000)
    print(f"  find a time (135 points, 120 min, buffer 30 min): slots found in {found}/{runs} searches")
    return ours, base


def report(label: str, results: dict[str, list[float]]) -> None:
    for key, name in (
        ("book17", "book a 17-point meeting"),
        ("book135", "book a 135-point meeting"),
        ("find135", "find 2 h for 135 points, 10 days"),
    ):
        ours, base = sorted(results[key]), sorted(results[key + "_base"])
        p95 = ours[int(len(ours) * 0.95) - 1]
        ratio = statistics.median(ours) / statistics.median(base)
        print(
            f"  {label:<10} {name:<34} median {statistics.median(ours):7.2f} ms (p95 {p95:7.2f})   "
            f"driver baseline {statistics.median(base):6.2f} ms   ratio {ratio:4.2f}×   target ≤ 3×"
        )


def mail(url: str, ids: list[int], count: int = 150) -> None:
    """Book one meeting with ``count`` recipients and send its invitations through a private Postfix."""
    from services.common import ServiceConfig, free_port
    from services.supervisor import Services

    state = Path(tempfile.mkdtemp(prefix="congvu-bench-mail-"))
    state.chmod(0o755)
    services = Services(
        ServiceConfig(
            state_dir=state, base_dn="dc=bench,dc=gov,dc=vn", admin_dn="cn=admin,dc=bench,dc=gov,dc=vn",
            admin_password="bench-" + state.name, ldap_port=free_port(), imap_port=free_port(),
            pop3_port=free_port(), smtp_port=free_port(), submission_port=free_port(),
        )
    )  # fmt: skip
    services.start()
    try:
        factory = make_session_factory(make_engine(url))
        start = dt.datetime.combine(FIRST_DAY + dt.timedelta(days=DAYS + 10), dt.time(8, 0), tzinfo=TZ)
        draft = MeetingDraft(
            "Hội nghị gửi 150 giấy mời", start, start + dt.timedelta(hours=2), ids[0], ids[: count - 1],
            organiser_name="Văn phòng", organiser_email="vanphong@gialai.gov.vn",
        )  # fmt: skip
        t0 = time.perf_counter()
        with unit_of_work(factory) as session:
            (meeting,) = book_meeting(session, SYSTEM, ENV, draft)
            meeting_id = meeting.id
        booked = time.perf_counter() - t0
        with unit_of_work(factory) as session:
            ref = {"r": f"meeting:{meeting_id}"}
            job_ids = list(session.scalars(text("SELECT id FROM mail_jobs WHERE subject_ref = :r"), ref))
        renderers = {"meeting": lambda s, j: render_meeting_mail(s, ENV, j)}
        t0 = time.perf_counter()
        result = send_pending(
            factory,
            SmtpConfig("127.0.0.1", services.config.smtp_port, "congvu@gialai.gov.vn"),
            ids=job_ids,
            renderers=renderers,
        )
        took = time.perf_counter() - t0
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline
            and sum(len(services.received(f"dc{n:03d}@gialai.gov.vn")) for n in range(count - 1)) < count - 1
        ):
            time.sleep(0.2)
        delivered = time.perf_counter() - t0
        print(
            f"  mail: booking with {len(job_ids)} recipients {booked * 1000:.1f} ms; sent {result.sent} "
            f"(rendered by the sender) in {took:.2f} s = {result.sent / took:.0f} messages/s handed to Postfix; "
            f"all in the maildirs after {delivered:.2f} s"
        )
    finally:
        services.stop()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=50_000)
    parser.add_argument("--points", type=int, default=160)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--no-mail", action="store_true", help="skip the 150-invitation send")
    parser.add_argument("--pg-url", help="PostgreSQL server URL (a database is created and dropped)")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        print("SQLite:")
        t0 = time.perf_counter()
        ids = build(url, args.meetings, args.points)
        print(f"  build took {time.perf_counter() - t0:.1f} s")
        report("SQLite", measure(url, ids, args.runs))
        if not args.no_mail:
            mail(url, ids)

    server = None if args.no_pg else pg_server(args.pg_url)
    if server:
        with scratch_database(server, "congvu_bench") as url:
            print("PostgreSQL:")
            ids = build(url, args.meetings, args.points)
            report("PostgreSQL", measure(url, ids, args.runs))


if __name__ == "__main__":
    main()
