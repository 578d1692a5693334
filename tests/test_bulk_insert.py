"""core.bulk writes rows as the ORM writes them: the same stored text for times and JSON on SQLite (where a
time compares as text, so a differently written one would sort wrongly against every other row), the same
values read back, and the rows found by the queries that look for them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.bulk import insert_returning, insert_rows
from core.outbox import MailJob
from provisioning.errors import ProvisioningError
from provisioning.models import Staff
from provisioning.staff_rows import write_columns

# A local time (Gia Lai, +07:00) with microseconds: both have to be written the same way as the ORM does.
WHEN = dt.datetime(2026, 3, 9, 8, 30, 15, 250, tzinfo=dt.timezone(dt.timedelta(hours=7)))
PARAMS = {"type": "invitation", "who": {"name": "Nguyễn Thị Ánh", "id": "point-3"}, "meetings": [7]}


def _row(recipient: str) -> dict[str, object]:
    return {
        "kind": "invitation",
        "recipient": recipient,
        "subject": "Mời họp trực tuyến",
        "params": PARAMS,
        "created_at": WHEN,
        "next_attempt_at": WHEN,
    }


def _stored(db: Session, job_id: int) -> tuple[object, ...]:
    query = text("SELECT created_at, next_attempt_at, params, status, attempts FROM mail_jobs WHERE id = :id")
    stored = db.execute(query, {"id": job_id}).one()
    return tuple(stored)


def test_bulk_rows_are_stored_as_the_orm_stores_them(db: Session) -> None:
    by_orm = MailJob(**_row("orm@gialai.gov.vn"))
    db.add(by_orm)
    db.flush()
    bulk_ids = insert_rows(
        db, MailJob.__table__, [_row(f"bulk{n}@gialai.gov.vn") for n in range(3)], returning_ids=True
    )

    assert len(bulk_ids) == 3
    for job_id in bulk_ids:
        assert _stored(db, job_id) == _stored(db, by_orm.id)
    db.expire_all()
    for job in db.scalars(select(MailJob).where(MailJob.id.in_(bulk_ids))):
        assert job.created_at == WHEN
        assert job.params == PARAMS
        assert job.status == by_orm.status
    # Found by a time comparison, as the sender's "due now" query finds them.
    due = db.scalars(select(MailJob.id).where(MailJob.next_attempt_at <= WHEN, MailJob.recipient.like("bulk%")))
    assert sorted(due) == sorted(bulk_ids)


def test_returning_names_each_new_row(db: Session) -> None:
    rows = [_row(f"r{n}@gialai.gov.vn") for n in range(250)]
    returned = insert_returning(db, MailJob.__table__, rows, ("id", "recipient"))
    assert sorted(r for _id, r in returned) == sorted(str(r["recipient"]) for r in rows)
    recipients = dict(
        db.execute(select(MailJob.id, MailJob.recipient).where(MailJob.recipient.like("r%@gialai.gov.vn"))).all()
    )
    assert recipients == dict(returned)


def test_last_seen_written_in_bulk_is_stored_as_the_orm_stores_it(db: Session, create_unit, create_staff) -> None:
    from audit.models import LastSeen
    from audit.usage_upserts import upsert_last_seen

    unit = create_unit()
    one, two = create_staff(unit, full_name="Nguyễn Văn Một"), create_staff(unit, full_name="Trần Thị Hai")
    db.add(LastSeen(staff_id=one.id, channel="imap", at=WHEN))
    db.flush()
    upsert_last_seen(db, [(two.id, "imap", WHEN)])
    stored = dict(db.execute(text("SELECT staff_id, at FROM usage_last_seen WHERE channel = 'imap'")).all())
    assert stored[two.id] == stored[one.id]
    # Moved only forward, by a time comparison that holds against rows the ORM wrote.
    upsert_last_seen(
        db, [(one.id, "imap", WHEN - dt.timedelta(minutes=1)), (two.id, "imap", WHEN + dt.timedelta(seconds=1))]
    )
    db.expire_all()
    seen = {r.staff_id: r.at for r in db.scalars(select(LastSeen).where(LastSeen.channel == "imap"))}
    assert seen[one.id] == WHEN
    assert seen[two.id] == WHEN + dt.timedelta(seconds=1)


def test_columns_written_in_bulk_are_stored_as_the_orm_stores_them(db: Session, create_unit, create_staff) -> None:
    unit, other = create_unit(), create_unit()
    by_orm, *bulk = (create_staff(unit, full_name=f"Lê Văn Người {n}") for n in range(4))
    by_orm.unit_id, by_orm.title = other.id, "Chuyên viên"
    db.flush()
    write_columns(db, [(s, {"unit_id": other.id, "title": "Chuyên viên"}) for s in bulk])

    def stored(staff_id: int) -> tuple[object, ...]:
        # SQLite keeps a time as text, which must be written the way the ORM writes it (its length, with every
        # digit of the microseconds); PostgreSQL keeps a typed value, whose text drops trailing zeros.
        written = "length(updated_at)" if db.get_bind().dialect.name == "sqlite" else "pg_typeof(updated_at)::text"
        query = text(f"SELECT unit_id, title, {written} FROM staff WHERE id = :id")
        return tuple(db.execute(query, {"id": staff_id}).one())

    for staff in bulk:
        assert stored(staff.id) == stored(by_orm.id)
    db.expire_all()
    moved = db.scalars(select(Staff).where(Staff.unit_id == other.id)).all()
    assert sorted(s.id for s in moved) == sorted(s.id for s in [by_orm, *bulk])
    assert all(s.updated_at >= by_orm.updated_at for s in bulk)


def test_an_address_taken_in_a_bulk_write_refuses_the_whole_batch(db: Session, create_unit, create_staff) -> None:
    unit = create_unit()
    one, two, taken = (create_staff(unit, full_name=f"Phạm Thị Người {n}") for n in range(3))
    before = (one.email, two.email)
    with pytest.raises(ProvisioningError, match="đã có người dùng"):
        write_columns(
            db, [(one, {"email": "moi.mot@gialai.gov.vn"}), (two, {"email": taken.email})], refused="đã có người dùng"
        )
    emails = dict(
        db.execute(text("SELECT id, email FROM staff WHERE id IN (:a, :b)"), {"a": one.id, "b": two.id}).all()
    )
    assert (emails[one.id], emails[two.id]) == before
