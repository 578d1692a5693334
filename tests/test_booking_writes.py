"""What a booking's fewer round trips must still guarantee, against a database of its own: the change trail
stays one chain under simultaneous writers, a hold refused by the database (a booking committed after the
check) leaves nothing behind and names the busy point, and a pooled connection the server ended is replaced
without a failed request."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

import meetings.operations.bookings as bookings
from core import changelog
from core.actors import SYSTEM
from core.db import make_engine, unit_of_work
from core.outbox import MailJob
from meetings.errors import MeetingConflict
from meetings.models import Meeting, MeetingPoint
from meetings.operations.bookings import MeetingDraft, book_meeting
from tests.conftest import database_kind

# A database of its own with three points (the fixture), and the meetings' settings.
from tests.test_meetings_concurrency import ENV, TZ, factory  # noqa: F401
from tests.threads import run_at_once

PG_ONLY = pytest.mark.skipif(database_kind() != "postgresql", reason="PostgreSQL's exclusion constraint and pool")


def _draft(title: str, point_ids: list[int], start: dt.datetime) -> MeetingDraft:
    return MeetingDraft(title, start, start + dt.timedelta(hours=1), point_ids[0], point_ids)


def test_simultaneous_writers_keep_one_chain(factory: sessionmaker[Session]) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for k in range(5):
                with unit_of_work(factory) as session:
                    changelog.record(
                        session,
                        SYSTEM,
                        "test.write",
                        "thing",
                        f"{n}-{k}",
                        target_label=f"Người ghi {n} — lần {k}",
                        before=None if k % 2 else {"giá trị": k, "lồng": {"a": [1, "b"]}},
                        after={"at": dt.datetime(2027, 1, 2, 3, 4, tzinfo=dt.UTC), "ok": True},
                    )
                    if k == 4:
                        changelog.record_many(
                            session,
                            SYSTEM,
                            [("test.many", "thing", f"{n}-m{i}", "", None, None, None) for i in range(3)],
                        )
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    run_at_once(writer, 6)
    assert errors == []
    with unit_of_work(factory) as session:
        result = changelog.verify(session)
        assert result.ok, result.problem
        written = session.scalar(
            select(func.count()).select_from(changelog.ChangeEntry).where(changelog.ChangeEntry.action.like("test.%"))
        )
        assert written == 6 * (5 + 3)
        head = session.get(changelog.ChangeHead, 1)
        newest = session.scalars(select(changelog.ChangeEntry).order_by(changelog.ChangeEntry.id.desc())).first()
        assert head is not None
        assert newest is not None
        assert (head.last_entry_id, head.last_hash) == (newest.id, newest.entry_hash)


def test_the_entry_returned_is_the_row_written(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        entry = changelog.record(session, SYSTEM, "test.one", "thing", 7, target_label="Xã Ia Grai", after={"n": 1})
        assert entry in session
        assert entry.compute_hash() == entry.entry_hash
        stored = session.execute(text("SELECT id, entry_hash FROM audit_entries ORDER BY id DESC LIMIT 1")).one()
        assert tuple(stored) == (entry.id, entry.entry_hash)


@pytest.mark.parametrize(
    "past_the_check",
    [pytest.param(False, id="seen-by-the-check"), pytest.param(True, id="refused-by-the-constraint", marks=PG_ONLY)],
)
def test_a_busy_point_refuses_the_booking_leaves_nothing_and_names_it(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, past_the_check: bool
) -> None:
    start = dt.datetime(2027, 5, 12, 8, 0, tzinfo=TZ)
    with unit_of_work(factory) as session:
        book_meeting(session, SYSTEM, ENV, _draft("Họp trước", [1], start))
    if past_the_check:
        # As if the other booking committed between this booking's check and its insert: the check in the
        # statement sees nothing, and the exclusion constraint refuses the hold on point 1 (but not on 2).
        monkeypatch.setattr(bookings, "_BUSY_PG", "busy AS (SELECT WHERE false)")
    with unit_of_work(factory) as session:
        jobs_before = session.scalar(select(func.count()).select_from(MailJob))
        entries_before = session.scalar(select(func.count()).select_from(changelog.ChangeEntry))
        with pytest.raises(MeetingConflict) as refused:
            book_meeting(session, SYSTEM, ENV, _draft("Họp sau", [2, 1], start + dt.timedelta(minutes=20)))
        assert [c.point_name for c in refused.value.conflicts] == ["Điểm cầu 0"]
        assert refused.value.conflicts[0].meeting_title == "Họp trước"
        # A caller that goes on and commits keeps nothing of the refused booking.
    with unit_of_work(factory) as session:
        assert session.scalar(select(func.count()).select_from(Meeting).where(Meeting.title == "Họp sau")) == 0
        assert session.scalar(select(func.count()).select_from(MeetingPoint)) == 1
        assert session.scalar(select(func.count()).select_from(MailJob)) == jobs_before
        assert session.scalar(select(func.count()).select_from(changelog.ChangeEntry)) == entries_before


@PG_ONLY
def test_a_pooled_connection_the_server_ended_is_replaced(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        pid = session.scalar(text("SELECT pg_backend_pid()"))
    engine = factory.kw["bind"]
    other = make_engine(engine.url.render_as_string(hide_password=False))
    with other.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})  # waits for its end
    other.dispose()
    # The next unit of work gets the pool's connection back, finds it ended and takes a new one.
    with unit_of_work(factory) as session:
        assert session.scalar(text("SELECT pg_backend_pid()")) != pid
