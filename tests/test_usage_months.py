"""The monthly rollups (usage_months, migration 0014) stay the sums of the days whatever writes the days: the ORM,
the ingestion upsert (SQLite's executemany, PostgreSQL's COPY and INSERT … SELECT), updates, moves, deletes and a
mailbox's removal; the migration's backfill gives the same rows; and the report's reading of them gives what the
days give, for any calendar of holidays."""

from __future__ import annotations

import datetime as dt
import importlib.util
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, delete, func, select, text
from sqlalchemy.orm import Session

from audit.ingest import ingest_file, store_tally
from audit.models import UsageDay, UsageMonth, UsageMonthWriter
from audit.tally import COUNTERS
from audit.usage_months import day_mask, month_usage
from meetings.availability import working_days
from provisioning.models import Staff

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = [dt.date(2026, 10, d) for d in range(1, 32)]
LOGINS = ("imap_logins", "pop3_logins", "webmail_logins", "smtp_logins")


def _from_days(db: Session, staff_ids: set[int]) -> dict[tuple[int, dt.date], tuple[int, ...]]:
    """What each (mailbox, month) should hold, summed here from the days."""
    out: dict[tuple[int, dt.date], list[int]] = {}
    for row in db.scalars(select(UsageDay).where(UsageDay.staff_id.in_(staff_ids))):
        key = (row.staff_id, row.day.replace(day=1))
        sums = out.setdefault(key, [0] * (len(COUNTERS) + 1))
        for i, name in enumerate(COUNTERS):
            sums[i] += getattr(row, name)
        if sum(getattr(row, name) for name in LOGINS) > 0:
            sums[-1] |= 1 << (row.day.day - 1)
    return {key: tuple(sums) for key, sums in out.items()}


def _rollups(db: Session, staff_ids: set[int]) -> dict[tuple[int, dt.date], tuple[int, ...]]:
    db.flush()
    db.expire_all()
    return {
        (m.staff_id, m.month): (*(getattr(m, name) for name in COUNTERS), m.active_days)
        for m in db.scalars(select(UsageMonth).where(UsageMonth.staff_id.in_(staff_ids)))
    }


def _agree(db: Session, staff_ids: set[int]) -> dict[tuple[int, dt.date], tuple[int, ...]]:
    rollups = _rollups(db, staff_ids)
    assert rollups == _from_days(db, staff_ids)
    return rollups


def usage_from_days(
    session: Session, first: dt.date, last: dt.date, work: list[dt.date], only: Collection[int] | None = None
) -> dict[int, tuple[int, ...]]:
    """The reference, from the days themselves (as the report read them before the months): per mailbox
    (active, working days active, sent messages, imap, pop3, webmail, smtp logins, failed).
    With ``only``, those mailboxes'."""
    any_login = UsageDay.imap_logins + UsageDay.pop3_logins + UsageDay.webmail_logins + UsageDay.smtp_logins
    active_work_day = case((and_(UsageDay.day.in_(work), any_login > 0), UsageDay.day), else_=None)
    query = (
        select(
            UsageDay.staff_id,
            func.sum(any_login),
            func.count(func.distinct(active_work_day)),
            func.sum(UsageDay.sent_messages),
            func.sum(UsageDay.imap_logins),
            func.sum(UsageDay.pop3_logins),
            func.sum(UsageDay.webmail_logins),
            func.sum(UsageDay.smtp_logins),
            func.sum(UsageDay.failed_logins),
        )
        .where(UsageDay.day >= first, UsageDay.day <= last)
        .group_by(UsageDay.staff_id)
    )
    return {
        row[0]: tuple(int(v or 0) for v in row[1:]) for row in session.execute(query) if only is None or row[0] in only
    }


def test_rollups_follow_every_write_to_the_days(db: Session, create_staff: Any) -> None:
    an, binh = create_staff(full_name="Nguyễn Văn Gộp"), create_staff(full_name="Trần Thị Gộp")
    ids = {an.id, binh.id}
    db.add_all(
        [
            UsageDay(
                staff_id=an.id, day=dt.date(2026, 10, 1), imap_logins=3, sent_messages=1, sent_bytes=5_000_000_000
            ),
            UsageDay(staff_id=an.id, day=dt.date(2026, 10, 2), failed_logins=4),  # no login: not an active day
            UsageDay(staff_id=an.id, day=dt.date(2026, 9, 30), webmail_logins=1),
            UsageDay(staff_id=binh.id, day=dt.date(2026, 10, 31), smtp_logins=2),
        ]
    )
    rollups = _agree(db, ids)
    assert rollups[an.id, dt.date(2026, 10, 1)][-1] == 0b1  # day 1 active, day 2 not
    assert rollups[an.id, dt.date(2026, 10, 1)][COUNTERS.index("sent_bytes")] == 5_000_000_000
    assert rollups[binh.id, dt.date(2026, 10, 1)][-1] == 1 << 30

    day = db.get(UsageDay, (an.id, dt.date(2026, 10, 2)))
    assert day is not None
    day.pop3_logins = 2  # the day becomes active
    _agree(db, ids)
    first = db.get(UsageDay, (an.id, dt.date(2026, 10, 1)))
    assert first is not None
    first.imap_logins = 0  # and this one no longer is
    assert _agree(db, ids)[an.id, dt.date(2026, 10, 1)][-1] == 0b10
    first.day = dt.date(2026, 11, 3)  # a day moved: out of October, into November
    first.imap_logins = 1
    _agree(db, ids)
    db.execute(
        delete(UsageDay).where(UsageDay.staff_id == an.id, UsageDay.day >= OCTOBER[0], UsageDay.day <= OCTOBER[-1])
    )
    rollups = _agree(db, ids)
    assert (an.id, dt.date(2026, 10, 1)) not in rollups  # a month left without days goes
    db.add_all(
        UsageDay(staff_id=binh.id, day=day, imap_logins=1) for day in (dt.date(2027, 2, 28), dt.date(2027, 3, 1))
    )
    db.flush()
    db.execute(delete(UsageDay).where(UsageDay.staff_id == binh.id, UsageDay.day == dt.date(2027, 2, 28)))
    rollups = _agree(db, ids)  # February goes; the first of March is not February's
    assert (binh.id, dt.date(2027, 2, 1)) not in rollups
    assert (binh.id, dt.date(2027, 3, 1)) in rollups
    db.execute(delete(Staff).where(Staff.id == binh.id))  # its days go by cascade, and its months
    assert _agree(db, ids) == _rollups(db, {an.id})
    assert not _rollups(db, {binh.id})


@dataclass
class _Tally:
    days: dict[tuple[str, dt.date], list[int]]
    last_seen: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)
    first: dt.datetime | None = None
    last: dt.datetime | None = None


def test_the_ingestion_upsert_moves_the_months_with_the_days(db: Session, create_staff: Any) -> None:
    people = [create_staff(full_name=f"Lê Văn Nhập {i}") for i in range(3)]
    ids = {p.id for p in people}
    book = {p.email: p.id for p in people}
    rng = random.Random(7)

    def tally() -> _Tally:
        days = {}
        for p in people:
            for day in rng.sample([*OCTOBER, dt.date(2026, 11, 1)], 8):
                days[p.email, day] = [rng.choice((0, 0, 1, 5)) for _ in COUNTERS]
        return _Tally(days)

    for _ in range(3):  # inserts, then upserts onto days already there (the DO UPDATE path)
        store_tally(db, tally(), book)
        _agree(db, ids)
    db.add(UsageDay(staff_id=people[0].id, day=dt.date(2026, 12, 1), imap_logins=1))  # then another writer
    _agree(db, ids)


def test_a_log_ingested_twice_counts_once_in_the_month(
    db: Session, runtime: Any, create_staff: Any, tmp_path: Path
) -> None:
    person = create_staff(full_name="Phạm Văn Đọc")
    log = tmp_path / "dovecot.log"
    log.write_text(
        "".join(
            f"2026-10-{d:02d} 09:00:0{i} imap-login: Info: Login: user=<{person.email}>, method=PLAIN, "
            f"rip=10.1.0.9, lip=10.0.0.1, mpid={d * 10 + i}, secured, session=<M{d:02d}{i}>\n"
            for d in (5, 6, 7)
            for i in range(2)
        ),
        encoding="utf-8",
    )
    for _ in range(2):
        ingest_file(runtime.session_factory, log, tz=runtime.settings.tz)
    rollups = _agree(db, {person.id})
    month = rollups[person.id, dt.date(2026, 10, 1)]
    assert month[COUNTERS.index("imap_logins")] == 6
    assert month[-1] == day_mask([dt.date(2026, 10, d) for d in (5, 6, 7)])
    assert not db.scalars(select(UsageMonthWriter)).all()  # the triggers are back for every other writer


def test_the_report_reads_from_the_months_what_the_days_say(db: Session, create_staff: Any) -> None:
    people = [create_staff(full_name=f"Võ Thị Đếm {i}") for i in range(12)]
    rng = random.Random(3)
    for p in people:
        for day in rng.sample(OCTOBER, rng.randint(0, 25)):
            logins = [rng.choice((0, 0, 2)) for _ in LOGINS]
            db.add(
                UsageDay(
                    staff_id=p.id,
                    day=day,
                    **dict(zip(LOGINS, logins, strict=True)),
                    failed_logins=rng.choice((0, 3)),
                    sent_messages=rng.choice((0, 1)),
                )
            )
    db.flush()
    ids = {p.id for p in people}
    first, last = OCTOBER[0], OCTOBER[-1]
    for holidays in (frozenset(), frozenset({dt.date(2026, 10, 1), dt.date(2026, 10, 20), dt.date(2026, 9, 2)})):
        work = working_days(first, last, holidays)
        expected = usage_from_days(db, first, last, work, ids)
        assert month_usage(db, first, work, ids) == expected
        assert {k: v for k, v in month_usage(db, first, work).items() if k in ids} == expected


def test_the_migration_backfills_the_months_the_days_had(db: Session, create_staff: Any) -> None:
    person = create_staff(full_name="Đặng Văn Cũ")
    for d in (1, 2, 15):
        db.add(UsageDay(staff_id=person.id, day=dt.date(2026, 9, d), imap_logins=d % 2, sent_messages=1))
    db.add(UsageDay(staff_id=person.id, day=dt.date(2026, 10, 9), webmail_logins=1))
    db.flush()
    spec = importlib.util.spec_from_file_location(
        "usage_months_migration", ROOT / "admin_app/migrations/versions/0014_usage_months.py"
    )
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.execute(delete(UsageMonth))  # the test's transaction is rolled back afterwards
    db.execute(text(migration._backfill(db.get_bind().dialect.name)))
    assert _agree(db, {person.id})[person.id, dt.date(2026, 9, 1)][-1] == day_mask(
        [dt.date(2026, 9, 1), dt.date(2026, 9, 15)]
    )
