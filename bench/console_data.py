"""The database of bench/console_load.py: a province's size, built once and reused.

30,000 mailboxes (bench/usage_bench.py), 50,000 meetings on 160 points (bench/meetings_bench.py), a year of
``usage_days`` (bench/report_history_bench.py's habits) with last sign-ins and a few failed ones, 100,000
change-trail entries chained as core.changelog chains them, November's report and a break-glass admin.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from admin_app.migrate import upgrade
from audit.models import LastSeen, UsageDay
from core.actors import SYSTEM, Actor
from core.changelog import ChangeEntry, ChangeHead
from core.db import make_engine, make_session_factory, unit_of_work
from provisioning.models import Staff, Unit

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
MAILBOXES = 30_000
MEETINGS = 50_000
POINTS = 160
TRAIL = 100_000
USAGE_MONTHS = tuple(f"{y}-{m:02d}" for y, m in [(2025, 12)] + [(2026, m) for m in range(1, 12)])
REPORT_MONTH = "2026-11"
ADMIN, PASSWORD = "loadadmin", "bench-load-password-1"
# bump when what is built changes, so a cached database is built again (3: names as a province has them, with
# the search and sort keys the console reads)
BUILD_VERSION = 3


def _build(url: str) -> None:
    import meetings_bench
    import report_history_bench
    from usage_bench import build_database

    started = time.perf_counter()
    build_database(url, MAILBOXES)
    print(f"  {MAILBOXES:,} mailboxes ({time.perf_counter() - started:.0f} s)", flush=True)
    _meetings(url, meetings_bench)
    report_history_bench.MONTHS = USAGE_MONTHS  # the same habits over a year instead of three months
    print(f"  {report_history_bench.write_usage(url):,} usage days over {len(USAGE_MONTHS)} months", flush=True)
    print(f"  {_failures(url):,} days with failed sign-ins", flush=True)
    _last_seen(url)
    _trail(url, TRAIL)
    _report_and_admin(url)
    # As autovacuum leaves a table that has settled (the console reads a settled province): on PostgreSQL the
    # visibility map too, so counts are answered from the indexes alone (by status: 6 → 1.4 ms for 30,000).
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    engine.dispose()
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)


def _meetings(url: str, meetings_bench: Any) -> None:
    """bench/meetings_bench.py's 50,000 meetings, its points in units under the province already built (the
    script makes a province ``BENCH`` of its own: handed the one that exists instead)."""
    from provisioning.operations import create_unit

    @contextlib.contextmanager
    def existing_province(url: str, _name: str) -> Iterator[tuple[Session, Unit]]:
        with unit_of_work(make_session_factory(make_engine(url))) as session:
            yield session, session.scalars(select(Unit).where(Unit.code == "BENCH")).one()

    def create_unit_but_province(session: Session, actor: Actor, *, code: str, **kwargs: Any) -> Unit:
        if code == "BENCH":
            return session.scalars(select(Unit).where(Unit.code == "BENCH")).one()
        return create_unit(session, actor, code=code, **kwargs)

    meetings_bench.province_session = existing_province
    meetings_bench.create_unit = create_unit_but_province
    meetings_bench.build(url, MEETINGS, POINTS)


def _failures(url: str) -> int:
    """A few failed sign-ins, as every month has some (a mistyped password, a phone with an old one): one mailbox
    in 40 on a given day of the last two months, so the dashboard's week of failures has something to find."""
    engine = make_engine(url)
    dom = "CAST(substr(day, 9, 2) AS INTEGER)" if engine.dialect.name == "sqlite" else "extract(day FROM day)::int"
    with engine.begin() as conn:
        changed = conn.execute(
            text(
                f"UPDATE usage_days SET failed_logins = 1 + staff_id % 7 "
                f"WHERE day >= :since AND (staff_id + {dom}) % 40 = 0"
            ),
            {"since": dt.date(2026, 10, 1)},
        ).rowcount
    engine.dispose()
    return changed


def _last_seen(url: str) -> None:
    """What ingestion keeps beside the day counters: each person's last IMAP sign-in (the staff list shows it)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        rows = conn.execute(select(UsageDay.staff_id, func.max(UsageDay.day)).group_by(UsageDay.staff_id)).all()
        seen = [
            {"staff_id": sid, "channel": "imap", "at": dt.datetime.combine(day, dt.time(8, 30), TZ)}
            for sid, day in rows
        ]
        for start in range(0, len(seen), 5000):
            conn.execute(insert(LastSeen), seen[start : start + 5000])
    engine.dispose()


def _trail(url: str, count: int) -> None:
    """``count`` change-trail entries over the year, chained on from the head as core.changelog chains them."""
    rng = random.Random(3)
    engine = make_engine(url)
    with engine.begin() as conn:
        staff = conn.execute(select(Staff.id, Staff.email, Staff.unit_id)).all()
        units = conn.execute(select(Unit.id, Unit.name)).all()
        head = conn.execute(select(ChangeHead.last_entry_id, ChangeHead.last_hash)).one()
        last_id, prev_hash = head
        at = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)
        step = (dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC) - at) / count
        admins = [f"staff:it{n}@gialai.gov.vn" for n in range(40)] + ["local:admin", "system:system"]
        rows: list[dict[str, object]] = []
        for n in range(count):
            roll = rng.random()
            sid, email, unit_id = rng.choice(staff)
            if roll < 0.45:
                action, kind, target, label = "staff.update", "staff", sid, email
                before, after = {"title": "Chuyên viên"}, {"title": "Phó trưởng phòng"}
            elif roll < 0.6:
                action, kind, target, label = "staff.disable", "staff", sid, email
                before, after = {"status": "active"}, {"status": "disabled"}
            elif roll < 0.7:
                action, kind, target, label = "staff.quota", "staff", sid, email
                before, after = {"quota_mb": 2048}, {"quota_mb": 4096}
            elif roll < 0.9:
                mid = rng.randrange(1, MEETINGS)
                action, kind, target, label = "meeting.book", "meeting", mid, f"Cuộc họp {mid}"
                before, after = None, {"title": label, "points": rng.randrange(1, 17)}
            else:
                unit_id, name = rng.choice(units)
                action, kind, target, label = "unit.update", "unit", unit_id, name
                before, after = {"name": name}, {"name": name + " (mới)"}
            entry = ChangeEntry(
                id=last_id + 1,
                occurred_at=at + step * n,
                actor=rng.choice(admins),
                client_address=f"10.20.0.{rng.randrange(1, 250)}",
                action=action,
                target_type=kind,
                target_id=str(target),
                target_label=label,
                unit_id=unit_id,
                before=before,
                after=after,
                prev_hash=prev_hash,
            )
            entry.entry_hash = entry.compute_hash()
            rows.append({c: getattr(entry, c) for c in ChangeEntry.__table__.columns.keys()})  # noqa: SIM118
            last_id, prev_hash = entry.id, entry.entry_hash
            if len(rows) == 10_000:
                conn.execute(insert(ChangeEntry), rows)
                rows = []
        if rows:
            conn.execute(insert(ChangeEntry), rows)
        conn.execute(update(ChangeHead).where(ChangeHead.id == 1).values(last_entry_id=last_id, last_hash=prev_hash))
        if url.startswith("postgresql"):
            conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_entries', 'id'), :v)"), {"v": last_id})
    engine.dispose()
    print(f"  {count:,} change-trail entries (chain head {last_id})", flush=True)


def _report_and_admin(url: str) -> None:
    from audit.definitions import Definitions
    from audit.report import generate
    from provisioning.operations import create_local_admin

    factory = make_session_factory(make_engine(url))
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        holidays = frozenset({dt.date(2026, 9, 2), dt.date(2026, 9, 1)})
        generate(session, SYSTEM, REPORT_MONTH, Definitions(10, holidays, TZ))
        create_local_admin(session, SYSTEM, ADMIN, PASSWORD)
    print(f"  report {REPORT_MONTH} stored ({time.perf_counter() - started:.1f} s); admin {ADMIN}", flush=True)


def _marker(data: Path, label: str) -> Path:
    return data / f"built-{label}.json"


WANTED = {"version": BUILD_VERSION, "mailboxes": MAILBOXES, "meetings": MEETINGS, "trail": TRAIL}


def is_built(data: Path, label: str) -> bool:
    """Whether a database of this size was built to its end before (a build cut short leaves no marker)."""
    marker = _marker(data, label)
    return marker.exists() and json.loads(marker.read_text()) == WANTED


def prepare(label: str, url: str, data: Path) -> None:
    """Reuse the database built before (migrated to the newest schema), or build it in the empty one at ``url``."""
    if is_built(data, label):
        print(f"  reusing the database built before ({_marker(data, label)}); migrating it to the newest schema")
        upgrade(url)
        return
    _build(url)
    _marker(data, label).write_text(json.dumps(WANTED))
