"""Real concurrency against a database of its own: simultaneous bookings of one point, reminders from two
schedulers. Each thread has its own connection and commits, as two web workers or schedulers would."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from admin_app.migrate import upgrade
from core.actors import SYSTEM
from core.db import make_engine, make_session_factory, unit_of_work
from core.outbox import MailJob
from meetings.env import MeetingEnv
from meetings.errors import MeetingConflict
from meetings.invitations import queue_reminders
from meetings.jitsi import JitsiConfig
from meetings.models import Meeting, MeetingPoint
from meetings.operations.points import create_bridge_point
from provisioning.models import UnitKind
from provisioning.operations import create_unit
from tests.conftest import database_kind, drop_database, fresh_database_url
from tests.factories import book
from tests.threads import run_at_once

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
ENV = MeetingEnv(
    tz=TZ,
    tzid="Asia/Ho_Chi_Minh",
    jitsi=JitsiConfig("meet.test", "congvu", "x" * 40, "congvu", "meet.test"),
    buffer_minutes=30,
)


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = fresh_database_url(tmp_path, "concurrency")
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        province = create_unit(session, SYSTEM, code="T", name="Tỉnh thử", kind=UnitKind.PROVINCE, parent=None)
        for n in range(3):
            create_bridge_point(
                session, SYSTEM, name=f"Điểm cầu {n}", unit=province, contact_email=f"diemcau{n}@test.gov.vn"
            )
    try:
        yield factory
    finally:
        engine.dispose()
        drop_database(url)


def _book(factory: sessionmaker[Session], title: str, point_ids: list[int], start: dt.datetime) -> int:
    """Book in a transaction of its own, committed, as one web worker does."""
    with unit_of_work(factory) as session:
        return book(session, ENV, point_ids, start, title=title).id


def test_twenty_simultaneous_bookings_of_one_point_one_wins(factory: sessionmaker[Session]) -> None:
    start = dt.datetime(2027, 5, 10, 8, 0, tzinfo=TZ)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            # Each books point 1 (shared by all) with its own host among the others, at slightly different times
            # that all overlap.
            _book(factory, f"Họp {n}", [1, 2 + n % 2], start + dt.timedelta(minutes=n))
            result = "booked"
        except MeetingConflict as exc:
            result = "conflict:" + ",".join(sorted({c.point_name for c in exc.conflicts}))
        except Exception as exc:
            result = f"error:{type(exc).__name__}:{exc}"
        with lock:
            outcomes.append(result)

    run_at_once(attempt, 20)
    assert len(outcomes) == 20
    assert outcomes.count("booked") == 1, outcomes
    refused = [o for o in outcomes if o != "booked"]
    assert all(o.startswith("conflict:") and "Điểm cầu 0" in o for o in refused), refused
    with unit_of_work(factory) as session:
        held = session.scalar(select(func.count()).select_from(MeetingPoint).where(MeetingPoint.point_id == 1))
        assert held == 1


def test_the_database_refuses_an_overlap_even_past_the_check(factory: sessionmaker[Session]) -> None:
    """The last line of defence: on PostgreSQL an exclusion constraint; elsewhere the check under the write lock."""
    if database_kind() != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL; SQLite serialises writers instead")
    from sqlalchemy.exc import IntegrityError

    start = dt.datetime(2027, 5, 11, 8, 0, tzinfo=TZ)
    _book(factory, "Họp gốc", [1], start)
    other_id = _book(factory, "Họp khác", [2], start)
    # Bypass the booking check: add point 1 to the other meeting by hand, overlapping the first.
    with pytest.raises(IntegrityError, match="no_overlap"), unit_of_work(factory) as session:
        session.add(
            MeetingPoint(
                meeting_id=other_id,
                point_id=1,
                block_start=start - dt.timedelta(minutes=10),
                block_end=start + dt.timedelta(minutes=10),
            )
        )


def test_reminder_sent_once_by_two_schedulers(factory: sessionmaker[Session]) -> None:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=40)
    meeting_id = _book(factory, "Họp nhắc lịch", [1, 2, 3], start.astimezone(TZ))
    results: list[list[int]] = []

    def scheduler(_n: int) -> None:
        with unit_of_work(factory) as session:
            results.append(queue_reminders(session, ENV, now=dt.datetime.now(dt.UTC), lead=dt.timedelta(hours=1)))

    run_at_once(scheduler, 2, timeout=60)
    assert sorted(len(r) for r in results) == [0, 1]
    # A restarted scheduler later finds nothing left to remind.
    with unit_of_work(factory) as session:
        assert queue_reminders(session, ENV, now=dt.datetime.now(dt.UTC), lead=dt.timedelta(hours=1)) == []
        sent = session.scalars(select(MailJob.recipient).where(MailJob.kind == "reminder")).all()
        assert sorted(sent) == ["diemcau0@test.gov.vn", "diemcau1@test.gov.vn", "diemcau2@test.gov.vn"]
        assert session.get(Meeting, meeting_id).reminder_sent_at is not None  # type: ignore[union-attr]
