"""In a real Chromium: the booking form shows a busy bridge point, with the meeting holding it and the nearest
common free time, while it is filled in and before anything is submitted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.actors import SYSTEM
from core.db import make_engine, make_session_factory, unit_of_work
from core.outbox import MailJob
from meetings.models import BridgePoint, Meeting
from meetings.operations.bookings import MeetingDraft, book_meeting
from tests.test_browser import _sign_in, live_url, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
DAY = dt.date(2028, 7, 3)  # a Monday
TITLE = "Họp chuyên đề giữ điểm cầu (thử trình duyệt)"


@pytest.fixture
def blocking_meeting(base_app: Any, database_url: str, demo_logins: Any) -> Any:
    """A committed meeting holding one district point 08:00–10:00 on DAY; removed afterwards."""
    env = base_app.extensions["congvu"].meeting_env
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    start = dt.datetime.combine(DAY, dt.time(8, 0), tzinfo=env.tz)
    with unit_of_work(factory) as session:
        hall = session.scalar(select(BridgePoint).where(BridgePoint.name == "Hội trường UBND tỉnh"))
        busy = session.scalar(select(BridgePoint).where(BridgePoint.name == "Điểm cầu H. Chư Păh"))
        assert hall is not None
        assert busy is not None
        other_host = session.scalar(select(BridgePoint).where(BridgePoint.name == "Phòng họp trực tuyến Sở TT&TT"))
        assert other_host is not None
        (meeting,) = book_meeting(
            session,
            SYSTEM,
            env,
            MeetingDraft(TITLE, start, start + dt.timedelta(hours=2), host_point_id=other_host.id, point_ids=[busy.id]),
        )
        meeting_id = meeting.id
    try:
        yield meeting_id
    finally:
        with unit_of_work(factory) as session:
            for job in session.scalars(select(MailJob).where(MailJob.subject_ref == f"meeting:{meeting_id}")):
                session.delete(job)
            found = session.get(Meeting, meeting_id)
            if found is not None:
                session.delete(found)
        engine.dispose()


def test_the_booking_form_shows_a_busy_point_before_submission(
    page: Any,
    live_url: str,
    demo_logins: Any,
    blocking_meeting: int,
    database_url: str,
    tmp_path: Path,
) -> None:
    _sign_in(page, live_url, demo_logins["secretary"])
    page.goto(f"{live_url}/meetings/new")
    page.fill("#title", "Giao ban thử trình duyệt")
    page.fill("input[name=date]", DAY.isoformat())
    page.fill("input[name=start]", "09:00")
    page.fill("input[name=end]", "10:00")
    page.select_option("#host", label="Hội trường UBND tỉnh")
    page.fill("#point-filter", "chư păh")
    assert page.locator("label.point:visible").count() == 1  # the filter narrows 20 points to one
    page.check("label.point:visible input")
    busy = page.wait_for_selector("#availability table.conflicts tr.busy-point")
    text = page.locator("#availability").inner_text()
    assert "Điểm cầu H. Chư Păh" in text
    assert TITLE in text
    assert "Đang bận vào thời gian này: 1 trên 2 điểm cầu đã chọn" in text
    assert "Thời gian gần nhất mà tất cả đều trống" in text
    assert busy.query_selector("a").get_attribute("href") == f"/meetings/{blocking_meeting}"
    page.screenshot(path=str(tmp_path / "availability.png"), full_page=True)
    # Taking the proposed time clears the warning, still without submitting anything.
    page.click("#availability button.use-slot")
    page.wait_for_selector("#availability [data-state=free]")
    assert page.input_value("input[name=start]") == "10:30"
    assert all(url.startswith(live_url) for url in page.congvu_requests), page.congvu_requests
    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            assert session.scalar(select(func.count()).where(Meeting.title == "Giao ban thử trình duyệt")) == 0
    finally:
        engine.dispose()


def test_invitees_are_picked_by_name_as_chips_and_the_meeting_shows_them(
    page: Any, live_url: str, demo_logins: Any, database_url: str, tmp_path: Path
) -> None:
    from provisioning.models import AccountKind, AccountStatus, Staff
    from provisioning.names import fold_ascii

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        person = session.scalar(
            select(Staff)
            .where(Staff.status == AccountStatus.ACTIVE, Staff.kind == AccountKind.PERSONAL)
            .where(Staff.full_name.like("% % %"))
            .order_by(Staff.id)
        )
        assert person is not None
        name, email = person.full_name, person.email
        second = session.scalar(
            select(Staff)
            .where(Staff.status == AccountStatus.ACTIVE, Staff.kind == AccountKind.PERSONAL, Staff.id != person.id)
            .order_by(Staff.id.desc())
        )
        assert second is not None
        other_name, other_email = second.full_name, second.email
    typed = " ".join(fold_ascii(w) for w in name.split())  # "nguyen van an": no diacritics
    title = "Họp mời theo tên (thử trình duyệt)"
    try:
        _sign_in(page, live_url, demo_logins["secretary"])
        page.goto(f"{live_url}/meetings/new")
        page.fill("#title", title)
        page.fill("input[name=date]", (DAY + dt.timedelta(days=2)).isoformat())
        page.fill("input[name=start]", "14:00")
        page.fill("input[name=end]", "15:00")
        page.fill("#people-search", typed)
        page.wait_for_selector(f".people-results button.person:has-text('{name}')")
        page.click(f".people-results button.person:has-text('{name}')")
        chip = page.wait_for_selector(f".people-chips .chip[data-email='{email}']")
        assert name in chip.inner_text()
        # A second person picked, then taken off again with the chip's ×: not invited.
        page.fill("#people-search", other_email)
        page.click(f".people-results button.person:has-text('{other_name}')")
        page.wait_for_selector(f".people-chips .chip[data-email='{other_email}']")
        page.click(f".people-chips .chip[data-email='{other_email}'] button.chip-remove")
        assert page.locator(f".people-chips .chip[data-email='{other_email}']").count() == 0
        assert page.locator(f".people-chips .chip[data-email='{email}']").count() == 1
        page.fill("#people-search", "khong co ai ten nay")  # nobody: the list empties, the chip stays
        page.fill("#invitees", "khach.moi@example.org")  # an external address still goes in the box
        page.screenshot(path=str(tmp_path / "invite-by-name.png"), full_page=True)
        page.click("form.booking button[type=submit]")
        page.wait_for_selector("h1")
        text = page.locator("body").inner_text()
        assert title in text
        assert name in text
        assert "khach.moi@example.org" in text
        with unit_of_work(factory) as session:
            meeting = session.scalar(select(Meeting).where(Meeting.title == title))
            assert meeting is not None
            assert {i.email: i.name for i in meeting.invitees}[email] == name
            assert other_email not in {i.email for i in meeting.invitees}
    finally:
        with unit_of_work(factory) as session:
            for meeting in session.scalars(select(Meeting).where(Meeting.title == title)):
                for job in session.scalars(select(MailJob).where(MailJob.subject_ref == f"meeting:{meeting.id}")):
                    session.delete(job)
                session.delete(meeting)
        engine.dispose()
