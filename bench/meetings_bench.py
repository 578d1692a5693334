"""Meetings benchmark: booking and "find a time" against two years of history.

    .venv/bin/python bench/meetings_bench.py [--meetings 50000] [--points 40] [--database-url URL ...]

Builds a database with ``--points`` bridge points and ``--meetings`` meetings over two years (non-overlapping
per point, buffers included; most meetings join 1–3 points, some a whole district group), then measures:

* booking a 17-point meeting through ``book_meeting`` (permission, conflict check, insert of the meeting, its
  17 holds, the audit entry and the queued invitations) in its own committed transaction, 200 times;
* ``find_slots`` for 20 points over 10 working days, 200 times at random dates.

Runs on SQLite (a file) and, when a PostgreSQL server URL is given or answers on 127.0.0.1:5432, on a fresh
PostgreSQL database. Prints medians and 95th percentiles; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from admin_app.migrate import upgrade  # noqa: E402
from core.actors import SYSTEM  # noqa: E402
from core.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from meetings.availability import find_slots  # noqa: E402
from meetings.env import MeetingEnv  # noqa: E402
from meetings.jitsi import JitsiConfig, new_room_name  # noqa: E402
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
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with unit_of_work(factory) as session:
        province = create_unit(
            session, SYSTEM, code="BENCH", name="Tỉnh đo hiệu năng", kind=UnitKind.PROVINCE, parent=None
        )
        ids = []
        for n in range(points):
            unit = create_unit(
                session, SYSTEM, code=f"H-{n:02d}", name=f"Huyện {n:02d}", kind=UnitKind.DISTRICT, parent=province
            )
            ids.append(
                create_bridge_point(
                    session, SYSTEM, name=f"Điểm cầu {n:02d}", unit=unit, contact_email=f"diemcau{n:02d}@bench.gov.vn"
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
            size = rng.choice([1, 1, 1, 2, 2, 3, 3, 4, 6]) if rng.random() > 0.03 else 17
            chosen = rng.sample(ids, size)
            start = dt.datetime.combine(day, dt.time(7, 0), tzinfo=TZ) + dt.timedelta(minutes=30 * rng.randrange(0, 20))
            end = start + dt.timedelta(minutes=rng.choice([60, 90, 120, 180]))
            block = start - dt.timedelta(minutes=30)
            if any(b < end and block < e for p in chosen for b, e in busy[p]):
                continue
            for p in chosen:
                busy[p].append((block, end))
            mid = len(meeting_rows) + 1
            meeting_rows.append(
                {
                    "id": mid,
                    "title": f"Cuộc họp {mid}",
                    "agenda": "",
                    "host_point_id": chosen[0],
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
            )
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
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"  built: {len(meeting_rows):,} meetings, {len(point_rows):,} point holds, {points} points")
    return ids


def measure(url: str, ids: list[int], runs: int = 200, seed: int = 11) -> dict[str, list[float]]:
    factory = make_session_factory(make_engine(url))
    rng = random.Random(seed)
    booking: list[float] = []
    days = rng.sample(range(DAYS), runs)
    for n in range(runs):
        # Evenings (the history ends by 19:30) of distinct days over the two years: every booking succeeds
        # after the full check against that day's holds.
        day = FIRST_DAY + dt.timedelta(days=days[n])
        start = dt.datetime.combine(day, dt.time(20, 0), tzinfo=TZ)
        chosen = rng.sample(ids, 17)
        draft = MeetingDraft(
            title=f"Họp đo {n}",
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=90),
            host_point_id=chosen[0],
            point_ids=chosen,
        )
        t0 = time.perf_counter()
        with unit_of_work(factory) as session:
            book_meeting(session, SYSTEM, ENV, draft)
        booking.append((time.perf_counter() - t0) * 1000)
    out = {"book": booking}
    for key, minutes, buffer in (("find", 120, 30),):
        out[key] = _finding(factory, ids, rng, runs, minutes, buffer)
    return out


def _finding(
    factory: sessionmaker[Session], ids: list[int], rng: random.Random, runs: int, minutes: int, buffer: int
) -> list[float]:
    finding: list[float] = []
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
        chosen = rng.sample(ids, 20)
        t0 = time.perf_counter()
        with unit_of_work(factory) as session:
            slots = find_slots(
                session,
                chosen,
                dt.timedelta(minutes=minutes),
                first,
                last,
                tz=TZ,
                working_hours=WORKING,
                buffer=dt.timedelta(minutes=buffer),
                limit=5,
            )
        finding.append((time.perf_counter() - t0) * 1000)
        found += bool(slots)
    print(f"  find a time ({minutes} min, buffer {buffer} min): slots found in {found}/{runs} searches")
    return finding


def report(label: str, results: dict[str, list[float]]) -> None:
    for key, name, target in (
        ("book", "book a 17-point meeting", 20),
        ("find", "find 2 h for 20 points, 10 days", 200),
    ):
        values = sorted(results[key])
        p95 = values[int(len(values) * 0.95) - 1]
        print(
            f"  {label:<10} {name:<34} median {statistics.median(values):7.2f} ms   p95 {p95:7.2f} ms   "
            f"max {values[-1]:7.2f} ms   target < {target} ms"
        )


def pg_server(explicit: str | None) -> str | None:
    url = explicit or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return url
    except Exception:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meetings", type=int, default=50_000)
    parser.add_argument("--points", type=int, default=40)
    parser.add_argument("--runs", type=int, default=200)
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

    server = None if args.no_pg else pg_server(args.pg_url)
    if server:
        name = f"congvu_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        try:
            print("PostgreSQL:")
            ids = build(url, args.meetings, args.points)
            report("PostgreSQL", measure(url, ids, args.runs))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
