"""Meetings through the console, the JSON API, the command line and Jitsi's event-sync posts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.models import Attendance, BridgePoint, Meeting
from meetings.operations.points import points_of_group
from provisioning.models import Role, Unit, UnitKind
from tests.conftest import csrf_token
from tests.factories import unique

DAY = "2027-04-05"  # a Monday


@dataclass
class Points:
    """The bridge points a test books: the province hall (host) and three district points."""

    hall: BridgePoint
    districts: list[BridgePoint]

    @property
    def chupah(self) -> BridgePoint:
        return self.districts[0]

    @property
    def iapa(self) -> BridgePoint:
        return self.districts[1]


@pytest.fixture
def points(create_unit: Callable[..., Unit], create_point: Callable[..., BridgePoint]) -> Points:
    """The province office's hall and three district points, each with its contact mailbox (the technician on
    duty), as the demo registers them."""

    def with_contact(unit: Unit, name: str) -> BridgePoint:
        return create_point(unit, name=unique(name), contact=f"diemcau.{unit.code.lower()}@gialai.gov.vn")

    office = create_unit(name="Văn phòng UBND tỉnh (thử)", kind=UnitKind.OFFICE)
    districts = [
        with_contact(create_unit(name=f"UBND huyện {name} (thử)", kind=UnitKind.DISTRICT), f"Điểm cầu H. {name} ")
        for name in ("Chư Păh", "Ia Pa", "Đak Đoa")
    ]
    return Points(with_contact(office, "Hội trường UBND tỉnh "), districts)


def _planned(db: Session, points: Points) -> list[BridgePoint]:
    """What a booking of the hall with the "district" group holds: the hall and every active district point,
    the test's own among them."""
    group = points_of_group(db, "district")
    assert set(points.districts) <= set(group)
    return [points.hall, *group]


@pytest.fixture
def secretary(client_as: Callable[..., FlaskClient], points: Points) -> FlaskClient:
    """A province-wide secretary of the province office, signed in."""
    return client_as(Role.SECRETARY, points.hall.unit)


def _book_form(client: FlaskClient, hall: BridgePoint, **extra: Any) -> Any:
    data = {
        "csrf_token": csrf_token(client, "/meetings/new"),
        "title": "Hội nghị triển khai nhiệm vụ năm 2027",
        "agenda": "Quán triệt; thảo luận; kết luận",
        "date": DAY,
        "start": "08:00",
        "end": "11:00",
        "host_point_id": str(hall.id),
        "groups": "district",
        "invitees": "Kpă Hoa <kpa.hoa@gialai.gov.vn>, rcom.h@gialai.gov.vn",
        "buffer_minutes": "30",
    }
    data.update(extra)
    return client.post("/meetings/new", data=data)


def test_secretary_books_for_all_districts_and_sees_the_meeting(
    secretary: FlaskClient, points: Points, db: Session
) -> None:
    client = secretary
    response = _book_form(client, points.hall)
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "Hội nghị triển khai nhiệm vụ năm 2027" in page
    assert points.chupah.name in page
    assert points.iapa.name in page
    assert page.count("?jwt=") >= len(_planned(db, points)) + 2  # every point and both invited people: a link each
    assert "05/04/2027 08:00" in page
    assert "07:30" in page
    board = client.get("/meetings?week=2027-04-05").get_data(as_text=True)
    assert f"/meetings/{meeting_id}" in board

    # The same slot again: refused, every busy point listed with the meeting holding it.
    again = _book_form(
        client, points.hall, title="Họp trùng giờ", groups="", point_ids=[str(p.id) for p in points.districts[:3]]
    )
    assert again.status_code == 409
    text = again.get_data(as_text=True)
    for point in points.districts[:3]:
        assert point.name in text
    assert "Hội nghị triển khai nhiệm vụ năm 2027" in text
    assert db.scalar(select(Meeting).where(Meeting.title == "Họp trùng giờ")) is None


def test_bad_form_names_the_field_and_books_nothing(secretary: FlaskClient, points: Points, db: Session) -> None:
    client = secretary
    response = _book_form(client, points.hall, title="Họp lỗi giờ", start="11:00", end="10:00")
    assert response.status_code == 422
    assert "end" in response.get_data(as_text=True)
    response = _book_form(client, points.hall, title="Họp lỗi ngày", date="31/02/2027")
    assert response.status_code == 422
    assert "date" in response.get_data(as_text=True)
    assert db.scalar(select(Meeting).where(Meeting.title.like("Họp lỗi%"))) is None


def test_auditor_sees_the_board_but_cannot_book(client_as: Callable[..., FlaskClient]) -> None:
    client = client_as(Role.AUDITOR)
    assert client.get("/meetings").status_code == 200
    assert client.get("/meetings/new").status_code == 403
    assert client.get("/meetings/find-time").status_code == 403


def test_cancel_needs_confirmation_and_frees_the_points(secretary: FlaskClient, points: Points, db: Session) -> None:
    client = secretary
    meeting_id = int(_book_form(client, points.hall).headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(client, f"/meetings/{meeting_id}")
    client.post(f"/meetings/{meeting_id}/cancel", data={"csrf_token": token, "reason": "Hoãn"})
    assert db.get(Meeting, meeting_id).is_cancelled is False  # type: ignore[union-attr]
    client.post(f"/meetings/{meeting_id}/cancel", data={"csrf_token": token, "reason": "Hoãn", "confirm": "yes"})
    db.expire_all()
    assert db.get(Meeting, meeting_id).is_cancelled is True  # type: ignore[union-attr]
    assert _book_form(client, points.hall, title="Họp thay thế").status_code == 302


def _events(app: Flask) -> tuple[FlaskClient, dict[str, str]]:
    token = app.extensions["congvu"].settings.events_token
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def test_event_sync_posts_become_attended_points_and_minutes(
    app: Flask, secretary: FlaskClient, points: Points, db: Session
) -> None:
    client = secretary
    meeting_id = int(_book_form(client, points.hall).headers["Location"].rsplit("/", 1)[1])
    meeting = db.get(Meeting, meeting_id)
    assert meeting is not None
    room = meeting.room_name
    start = int(meeting.starts_at.timestamp())
    chupah, hall = points.chupah, points.hall
    jitsi, headers = _events(app)

    def post(kind: str, body: Any, hdrs: dict[str, str] | None = None) -> Any:
        return jitsi.post(f"/events/{kind}", json=body, headers=hdrs if hdrs is not None else headers)

    assert (
        post(
            "room/created", {"room_name": f"{room}@conference.meet.gialai.gov.vn", "created_at": start - 1200}
        ).status_code
        == 200
    )
    host = {
        "occupant_jid": f"{room}@conference/abc1",
        "name": hall.name,
        "id": f"point-{hall.id}",
        "email": "",
        "joined_at": start - 900,
    }
    assert post("occupant/joined", {"room_name": room, "occupant": host}).status_code == 200
    # A district point whose device has no token identity: matched by its contact mailbox.
    district = {
        "occupant_jid": f"{room}@conference/def2",
        "name": "Chư Păh",
        "email": chupah.contact_email,
        "joined_at": start + 60,
    }
    assert post("occupant/joined", {"room_name": room, "occupant": district}).status_code == 200
    assert post("occupant/joined", {"room_name": room, "occupant": district}).status_code == 200  # repeated: once
    person = {
        "occupant_jid": f"{room}@conference/ghi3",
        "name": "Kpă Hoa",
        "id": "person-kpa.hoa@gialai.gov.vn",
        "joined_at": start,
    }
    assert post("occupant/joined", {"room_name": room, "occupant": person}).status_code == 200
    assert (
        post(
            "occupant/left", {"room_name": room, "occupant": {**district, "left_at": start + 60 + 45 * 60}}
        ).status_code
        == 200
    )
    assert post("room/destroyed", {"room_name": room, "destroyed_at": start + 3 * 3600}).status_code == 200

    # Refusals change nothing.
    before = db.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id)).all()
    assert post("occupant/joined", {"room_name": "cvnosuchroom", "occupant": host}).status_code == 404
    bad = post("occupant/joined", {"room_name": room, "occupant": {**host, "joined_at": "yesterday"}})
    assert bad.status_code == 400
    assert "occupant.joined_at" in bad.get_json()["error"]["message"]
    assert (
        post("occupant/joined", {"room_name": room, "occupant": {**host, "joined_at": start * 1000}}).status_code == 400
    )
    assert (
        post("room/created", {"room_name": room, "created_at": start}, {"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    assert jitsi.post("/events/room/created", data="not json", headers=headers).status_code == 400
    # A leave whose join has not arrived (event-sync posts are unordered) is kept, but makes nobody present.
    assert (
        post(
            "occupant/left", {"room_name": room, "occupant": {**person, "occupant_jid": "x@y/z", "left_at": start}}
        ).status_code
        == 200
    )
    db.expire_all()
    assert len(db.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id)).all()) == len(before) == 3

    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    planned = len(_planned(db, points))
    assert re.search(rf"planned {planned}, attended 2|kế hoạch {planned}, tham dự 2", page), page[:3000]
    row = re.search(
        re.escape(chupah.name) + r"</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td class=\"num\">(.*?)</td>", page
    )
    assert row is not None
    assert row.group(3) == "45"
    hall_row = re.search(
        re.escape(hall.name) + r" <span class=\"muted\">.*?</span></td>\s*<td>.*?</td>"
        r"\s*<td>(.*?)</td>\s*<td class=\"num\">(.*?)</td>",
        page,
    )
    assert hall_row is not None
    assert hall_row.group(2) == "195"
    assert "Kpă Hoa" in page


def test_api_books_refuses_conflicts_finds_time_and_cancels(
    client: FlaskClient, token_as: Callable[..., str], points: Points, db: Session
) -> None:
    headers = {"Authorization": f"Bearer {token_as(Role.SECRETARY, points.hall.unit)}"}
    hall = points.hall
    planned = len(_planned(db, points))
    body = {
        "title": "Giao ban trực tuyến tháng 4",
        "date": "06/04/2027",
        "start": "14:00",
        "end": "16:00",
        "host_point_id": hall.id,
        "groups": ["district"],
        "invitees": ["annv@gialai.gov.vn"],
    }
    created = client.post("/api/v1/meetings", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    meeting = created.get_json()[0]
    assert meeting["starts_at"] == "2027-04-06T14:00:00+07:00"
    assert meeting["setup_from"] == "2027-04-06T13:30:00+07:00"
    assert len(meeting["point_ids"]) == planned

    clash = client.post(
        "/api/v1/meetings", json={**body, "title": "Trùng", "start": "15:30", "end": "16:30"}, headers=headers
    )
    assert clash.status_code == 409
    conflicts = clash.get_json()["error"]["conflicts"]
    assert len(conflicts) == planned
    assert {c["meeting_id"] for c in conflicts} == {meeting["id"]}

    for field, value, named in (
        ("point_ids", {"a": 1}, "points: a list is required"),
        ("groups", [7], "groups: 7 is not a group name"),
        ("groups", ["all-of-them"], "unknown group"),
        ("invitees", 42, "invitees"),
        ("date", "2027-02-30", "date"),
    ):
        refused = client.post("/api/v1/meetings", json={**body, field: value}, headers=headers)
        assert refused.status_code == 422, (field, refused.get_json())
        assert named in refused.get_json()["error"]["message"]
    odd = client.post(
        "/api/v1/meetings/find-time", json={"point_ids": 3.5, "from": "2027-04-06", "to": "2027-04-07"}, headers=headers
    )
    assert odd.status_code == 422
    bad = client.post("/api/v1/meetings", json={**body, "host_point_id": "one"}, headers=headers)
    assert bad.status_code == 422
    assert "host point" in bad.get_json()["error"]["message"]

    slots = client.post(
        "/api/v1/meetings/find-time",
        json={
            "groups": ["district"],
            "point_ids": [hall.id],
            "duration": 120,
            "from": "2027-04-06",
            "to": "2027-04-07",
        },
        headers=headers,
    ).get_json()
    assert slots[0] == {"start": "2027-04-06T07:30:00+07:00", "end": "2027-04-06T09:30:00+07:00"}
    assert all(not (s["start"] < "2027-04-06T16:30" and s["end"] > "2027-04-06T13:30") for s in slots)

    cancelled = client.post(f"/api/v1/meetings/{meeting['id']}/cancel", json={"reason": "Hoãn"}, headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.get_json()[0]["is_cancelled"] is True
    auditor = {"Authorization": f"Bearer {token_as(Role.AUDITOR)}"}
    assert client.post("/api/v1/meetings", json=body, headers=auditor).status_code == 403
    assert "/meetings" in str(client.get("/api/v1/openapi.json").get_json()["paths"].keys())


def test_cli_books_lists_and_cancels(cli: Callable[..., Any], points: Points) -> None:
    hall, chupah_group = points.hall, f"unit:{points.chupah.unit.code}"
    booked = cli(
        [
            "meetings", "book", "--title", "Họp Ban chỉ đạo chuyển đổi số", "--date", "07/04/2027",
            "--start", "09:00", "--end", "10:30", "--host", hall.name, "--group", chupah_group,
            "--repeat", "weekly", "--count", "3",
        ]
    )  # fmt: skip
    assert booked.exit_code == 0, booked.output
    assert "and 2 more occurrences" in booked.output
    listed = cli(["meetings", "list", "--from", "07/04/2027", "--to", "21/04/2027"])
    assert listed.output.count("Họp Ban chỉ đạo chuyển đổi số") == 3
    meeting_id = int(booked.output.split("meeting ")[1].split()[0])
    clash = cli(
        ["meetings", "book", "--title", "Trùng", "--date", "2027-04-14", "--start", "09:00", "--end", "10:00",
         "--host", str(hall.id)]
    )  # fmt: skip
    assert clash.exit_code != 0
    assert hall.name in clash.output
    cancelled = cli(["meetings", "cancel", str(meeting_id), "--scope", "series", "--yes"])
    assert "cancelled: 3 occurrence(s)" in cancelled.output
    found = cli(["meetings", "find-time", "--group", chupah_group, "--from", "07/04/2027", "--to", "07/04/2027"])
    assert "07/04/2027 07:30" in found.output
    config = cli(["meetings", "jitsi-config"])
    assert 'authentication = "token"' in config.output


def test_reminders_are_queued_once(app: Flask, db: Session, secretary: FlaskClient, points: Points) -> None:
    from core.outbox import MailJob
    from meetings.invitations import queue_reminders

    client = secretary
    meeting_id = int(_book_form(client, points.hall, title="Họp nhắc lịch").headers["Location"].rsplit("/", 1)[1])
    meeting = db.get(Meeting, meeting_id)
    assert meeting is not None
    env = app.extensions["congvu"].meeting_env
    before_start = meeting.starts_at - dt.timedelta(minutes=50)
    first = queue_reminders(db, env, now=before_start, lead=dt.timedelta(minutes=60))
    second = queue_reminders(db, env, now=before_start + dt.timedelta(minutes=1), lead=dt.timedelta(minutes=60))
    assert meeting_id in first
    assert meeting_id not in second
    reminders = db.scalars(
        select(MailJob).where(MailJob.kind == "reminder", MailJob.subject_ref == f"meeting:{meeting_id}")
    ).all()
    assert len(reminders) == len(_planned(db, points)) + 2 + 1  # every point, both invited people, the organiser
    assert all(r.subject.startswith("Nhắc lịch họp: Họp nhắc lịch") for r in reminders)


def test_bridge_point_pages_follow_who_may_manage_points(
    db: Session, client_as: Any, create_unit: Any, create_point: Any
) -> None:
    mine, other = create_unit(kind="district"), create_unit(kind="district")
    own, foreign = create_point(mine), create_point(other)
    admin = client_as("unit_admin", mine)
    page = admin.get("/points").get_data(as_text=True)
    assert f'action="/points/{own.id}"' in page  # the service toggle is offered for the admin's own point only
    assert f'action="/points/{foreign.id}"' not in page
    token = csrf_token(admin, "/points")
    assert admin.post(f"/points/{foreign.id}", data={"csrf_token": token, "is_active": "no"}).status_code == 403
    added = admin.post("/points", data={"csrf_token": token, "name": "Điểm cầu ngoài phạm vi", "unit_id": other.id})
    assert added.status_code == 403
    assert admin.post(f"/points/{own.id}", data={"csrf_token": token, "is_active": "no"}).status_code == 302
    db.expire_all()
    assert (own.is_active, foreign.is_active) == (False, True)
    assert db.scalar(select(BridgePoint).where(BridgePoint.name == "Điểm cầu ngoài phạm vi")) is None


def test_links_changes_and_find_time_follow_who_may_book(
    db: Session,
    client: FlaskClient,
    client_as: Any,
    token_as: Any,
    create_unit: Any,
    create_point: Any,
    create_meeting: Any,
) -> None:
    host = create_point(contact="hoitruong.thu@gialai.gov.vn")
    meeting = create_meeting([host, create_point()])
    secretary = client_as("secretary")
    page = secretary.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert page.count("?jwt=") == 2  # the host's link and the contactless point's, which the secretary passes on
    assert meeting.room_name in page
    assert f'action="/meetings/{meeting.id}/change"' in page
    assert secretary.get(f"/meetings/{meeting.id}.ics").status_code == 200

    auditor = client_as("auditor")
    page = auditor.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "?jwt=" not in page
    assert meeting.room_name not in page
    assert f'action="/meetings/{meeting.id}/change"' not in page
    assert auditor.get(f"/meetings/{meeting.id}.ics").status_code == 403

    # A secretary of another unit sees the links to pass on but may not change a meeting hosted elsewhere.
    elsewhere = client_as("secretary", role_unit=create_unit(kind="district"))
    page = elsewhere.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert page.count("?jwt=") == 2
    assert f'action="/meetings/{meeting.id}/change"' not in page
    token = csrf_token(elsewhere, f"/meetings/{meeting.id}")
    refused = elsewhere.post(f"/meetings/{meeting.id}/cancel", data={"csrf_token": token, "confirm": "yes"})
    assert refused.status_code == 403
    db.expire_all()
    assert db.get(Meeting, meeting.id).is_cancelled is False  # type: ignore[union-attr]

    day = meeting.starts_at.astimezone(dt.UTC).date().isoformat()
    search = {"point_ids": [host.id], "duration": 30, "from": day, "to": day}
    for role, status in (("auditor", 403), ("secretary", 200)):
        headers = {"Authorization": f"Bearer {token_as(role)}"}
        assert client.post("/api/v1/meetings/find-time", json=search, headers=headers).status_code == status, role


def test_attendance_says_not_yet_held_before_and_in_progress_during_the_meeting(
    db: Session, client_as: Any, create_point: Any, create_meeting: Any
) -> None:
    meeting = create_meeting([create_point(), create_point()])
    secretary = client_as("secretary")

    def cells() -> list[str]:
        page = secretary.get(f"/meetings/{meeting.id}").get_data(as_text=True)
        return [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r'<td><span class="attended">(.*?)</span></td>', page)
        ]

    assert cells() == ["chưa diễn ra", "chưa diễn ra"]  # next week: nobody is absent yet
    now = dt.datetime.now(dt.UTC)
    meeting.starts_at, meeting.ends_at = now - dt.timedelta(minutes=10), now + dt.timedelta(minutes=50)
    db.flush()
    assert cells() == ["đang diễn ra", "đang diễn ra"]
    meeting.starts_at, meeting.ends_at = now - dt.timedelta(hours=2), now - dt.timedelta(hours=1)
    db.flush()
    assert cells() == ["Không", "Không"]  # over, and Jitsi saw neither point


def test_the_week_board_shows_a_meeting_that_began_the_night_before(
    client_as: Callable[..., FlaskClient], create_meeting: Callable[..., Meeting], points: Points, db: Session
) -> None:
    """The board asks only for meetings that began at most MAX_MEETING_HOURS before the week (no meeting lasts
    longer): the longest meeting allowed, from Sunday 19:00 to Monday 07:00, is in the week's list and in Monday's
    cells of its two points; one that ended as the week began is not."""
    tz = dt.timezone(dt.timedelta(hours=7))
    sunday = dt.datetime(2027, 4, 4, 19, 0, tzinfo=tz)
    night = create_meeting(
        [points.hall, points.chupah], start=sunday, end=sunday + dt.timedelta(hours=12), title="Trực ban đêm"
    )
    ended = create_meeting([points.iapa], start=sunday - dt.timedelta(hours=4), end=sunday + dt.timedelta(hours=5))
    db.flush()
    board = client_as(Role.AUDITOR).get(f"/meetings?week={DAY}").get_data(as_text=True)
    listed = board.split("<h2>")[-1]
    assert f'href="/meetings/{night.id}">Trực ban đêm</a>' in listed
    assert "04/04/2027 19:00–07:00" in listed
    assert f"/meetings/{ended.id}" not in board
    cells = board.split("<h2>")[0]
    assert cells.count(f'href="/meetings/{night.id}" title="Trực ban đêm">19:00–07:00</a>') == 2
    assert f'class="slot host" href="/meetings/{night.id}"' in cells  # the hall hosts it
