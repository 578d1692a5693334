"""The people's console, checked against the complaints it was built for: an organiser who books through the
console or the API appears by their full name (not ``x@… <x@…>``) on the page, in their mail, token and calendar;
a busy bridge point is refused in Vietnamese on the booking form and on the change form; the meeting page never
calls a meeting's title "Chức vụ"; a meeting not yet held shows nobody absent in red."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from pathlib import Path
from typing import Any

import icalendar
import jwt
import openpyxl
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit.models import LastSeen, UsageDay
from audit.report import generate
from core import outbox
from core.actors import SYSTEM
from core.outbox import MailJob
from core.tasks import Task
from meetings.models import Meeting
from provisioning.models import AccountKind, AccountStatus, Role, Staff
from provisioning.slips import CredentialSlip
from tests.conftest import csrf_token
from tests.test_usage_report import _definitions, _ingest_all, _write_fixture_logs, fixture_units  # noqa: F401

ORGANISER = "Lê Xuân Thắng"


def _organiser_cell(page: str) -> str:
    found = re.search(r"<dt>Người tổ chức</dt><dd>(.*?)</dd>", page, re.S)
    assert found is not None
    return html.unescape(found.group(1))


def _organiser_sees_their_name(db: Session, runtime: Runtime, meeting: Meeting, email: str) -> None:
    """The organiser's own invitation: greeting, token and calendar name them from the directory."""
    mail = db.scalar(select(MailJob).where(MailJob.subject_ref == f"meeting:{meeting.id}", MailJob.recipient == email))
    assert mail is not None
    rendered = outbox.render(db, mail, runtime.mail_renderers)
    assert f"Kính gửi {ORGANISER}," in rendered.body
    token = re.search(r"\?jwt=([\w.-]+)", rendered.body)
    assert token is not None
    assert jwt.decode(token.group(1), options={"verify_signature": False})["context"]["user"]["name"] == ORGANISER
    (event,) = icalendar.Calendar.from_ical(rendered.calendar).walk("VEVENT")
    assert event["ORGANIZER"].params["CN"] == ORGANISER


def test_an_organiser_booking_in_the_console_appears_by_their_full_name(
    db: Session, runtime: Runtime, client_as: Any, create_point: Any
) -> None:
    secretary = client_as(Role.SECRETARY, full_name=ORGANISER)
    host, other = create_point(), create_point()
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    form = {
        "csrf_token": csrf_token(secretary, "/meetings/new"),
        "title": "Họp xem tên người tổ chức",
        "date": day,
        "start": "08:00",
        "end": "09:00",
        "host_point_id": str(host.id),
        "point_ids": [str(other.id)],
        "invitees": "khach@example.org",
    }
    booked = secretary.post("/meetings/new", data=form)
    assert booked.status_code == 302, booked.get_data(as_text=True)
    meeting = db.get(Meeting, int(booked.headers["Location"].rsplit("/", 1)[1]))
    assert meeting is not None
    email = meeting.organiser_email
    assert "@" in email
    page = secretary.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert _organiser_cell(page) == f"{ORGANISER} <{email}>"  # never "x@… <x@…>"
    assert f"<li>{'khach@example.org'}</li>" in page  # an outside guest: the address alone, no empty name
    _organiser_sees_their_name(db, runtime, meeting, email)


def test_an_organiser_booking_through_the_api_appears_by_their_full_name(
    db: Session, runtime: Runtime, client: FlaskClient, client_as: Any, token_as: Any, create_point: Any
) -> None:
    headers = {"Authorization": f"Bearer {token_as(Role.SECRETARY, full_name=ORGANISER)}"}
    body = {
        "title": "Họp đặt qua API xem tên",
        "date": (dt.date.today() + dt.timedelta(days=11)).isoformat(),
        "start": "08:00",
        "end": "09:00",
        "host_point_id": create_point().id,
    }
    answer = client.post("/api/v1/meetings", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    meeting = db.get(Meeting, answer.get_json()[0]["id"])
    assert meeting is not None
    assert meeting.organiser_name == ORGANISER
    page = client_as(Role.SECRETARY).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert _organiser_cell(page) == f"{ORGANISER} <{meeting.organiser_email}>"
    _organiser_sees_their_name(db, runtime, meeting, meeting.organiser_email)


def _alerts(page: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", "", m)).strip()
        for m in re.findall(r'class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    ]


def test_a_busy_point_is_refused_in_vietnamese_when_booking_and_when_changing(
    db: Session, runtime: Runtime, client_as: Any, create_point: Any, create_meeting: Any
) -> None:
    secretary = client_as(Role.SECRETARY)
    host, busy = create_point(), create_point(name="Điểm cầu xã Ia Bận (thử)")
    held = create_meeting([host, busy], title="Giao ban giữ điểm cầu")
    local = held.starts_at.astimezone(runtime.meeting_env.tz)  # 08:00 a week from now
    form = {
        "csrf_token": csrf_token(secretary, "/meetings/new"),
        "title": "Họp trùng giờ (thử)",
        "date": f"{local:%Y-%m-%d}",
        "start": "08:00",
        "end": "09:00",
        "host_point_id": str(create_point().id),
        "point_ids": [str(busy.id)],
    }
    refused = secretary.post("/meetings/new", data=form)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert _alerts(page) == ["Một số điểm cầu đã có lịch."]
    table = re.search(r'<table class="conflicts" role="alert">(.*?)</table>', page, re.S)
    assert table is not None
    assert "Các điểm cầu sau đã có lịch:" in table.group(1)
    assert "Giao ban giữ điểm cầu" in table.group(1)
    assert "is held by" not in page
    assert "bridge points busy" not in page

    # Moving another meeting of that point onto the same hour, on the meeting's page.
    later = create_meeting([create_point(), busy], title="Họp sau", start=held.starts_at + dt.timedelta(hours=3))
    token = csrf_token(secretary, f"/meetings/{later.id}")
    change = {"csrf_token": token, "date": form["date"], "start": "08:00", "end": "09:00"}
    moved = secretary.post(f"/meetings/{later.id}/change", data=change, follow_redirects=True)
    alerts = _alerts(moved.get_data(as_text=True))
    when = f"{local:%d/%m/%Y} 08:00–09:00"
    assert f"Điểm cầu đang bận: Điểm cầu xã Ia Bận (thử) đã có lịch họp “Giao ban giữ điểm cầu” ({when})" in alerts
    db.expire_all()
    assert db.get(Meeting, later.id).starts_at > held.starts_at  # type: ignore[union-attr]  # nothing moved


def test_the_meeting_page_and_its_change_form_call_the_title_tieu_de(
    client_as: Any, create_point: Any, create_meeting: Any
) -> None:
    secretary = client_as(Role.SECRETARY)
    meeting = create_meeting([create_point(), create_point()], title="Họp xem nhãn tiêu đề")
    page = secretary.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f'action="/meetings/{meeting.id}/change"' in page  # the change form is there
    assert "Chức vụ" not in page
    assert "Tiêu đề" in page


def test_a_meeting_not_yet_held_shows_nobody_absent_in_red(
    client_as: Any, create_point: Any, create_meeting: Any
) -> None:
    meeting = create_meeting([create_point(), create_point(), create_point()])
    page = client_as(Role.SECRETARY).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    cells = re.findall(r'<td><span class="attended">(.*?)</span></td>', page)
    assert len(cells) == 3
    assert all("chưa diễn ra" in c and 'class="red"' not in c for c in cells), cells
    assert ">Không<" not in page


def test_the_staff_list_filters_by_kind_and_subtree_and_shows_the_last_sign_in(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    district = create_unit(name="Huyện Lọc Thử", kind="district")
    commune = create_unit(name="Xã Lọc Thử Con", kind="commune", parent=district)
    reader = create_staff(commune, full_name="Nguyễn Văn Đọc")
    idle = create_staff(district, full_name="Trần Thị Nghỉ")
    desk = create_staff(district, full_name="Văn thư Huyện Lọc", kind=AccountKind.FUNCTIONAL, local_part="vanthu.loc")
    seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    db.add(LastSeen(staff_id=reader.id, channel="imap", at=seen_at))
    db.flush()
    admin = client_as("unit_admin", unit=district)

    def names(query: str) -> list[str]:
        return re.findall(r'href="/staff/\d+">([^<]+)</a>', admin.get(f"/staff?{query}").get_data(as_text=True))

    assert set(names(f"unit={district.id}")) >= {reader.full_name, idle.full_name, desk.full_name}  # the subtree
    assert reader.full_name in names(f"unit={commune.id}")
    assert idle.full_name not in names(f"unit={commune.id}")
    assert names(f"unit={district.id}&kind=functional") == [desk.full_name]
    assert desk.full_name not in names(f"unit={district.id}&kind=personal")
    idle_30 = names(f"unit={district.id}&idle=30")
    assert idle.full_name in idle_30
    assert reader.full_name not in idle_30  # signed in two days ago
    page = admin.get(f"/staff?unit={commune.id}").get_data(as_text=True)
    row = re.search(rf'href="/staff/{reader.id}">.*?<td class="last-seen">([^<]*)</td>', page, re.S)
    assert row is not None
    assert row.group(1) == f"{seen_at.astimezone(runtime.settings.tz):%d/%m/%Y}"

    token = csrf_token(admin, "/staff")
    exported = admin.post("/staff/bulk", data={"csrf_token": token, "action": "export", "staff_id": [reader.id]})
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[1][4:] == ["Đang hoạt động", f"{seen_at.astimezone(runtime.settings.tz):%d/%m/%Y %H:%M}"]


def test_bulk_enable_and_move_go_through_a_preview_and_a_task(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, client_as: Any, commit_and_sync: Any
) -> None:
    old, new = create_unit(name="Xã Cũ Thử", kind="commune"), create_unit(name="Phường Mới Thử", kind="commune")
    people = [create_staff(old, full_name=f"Lê Văn Chuyển {i}") for i in range(3)]
    people[0].status = AccountStatus.DISABLED
    people[0].status_reason = "Nghỉ phép dài"
    commit_and_sync()
    admin = client_as("system_admin")
    token = csrf_token(admin, "/staff")
    worker = runtime.task_worker("test-bulk-audit")

    def run(action: str, **extra: Any) -> str:
        chosen = {"csrf_token": token, "action": action, "staff_id": [p.id for p in people], **extra}
        preview = admin.post("/staff/bulk", data=chosen)
        assert preview.status_code == 200, preview.get_data(as_text=True)
        queued = admin.post("/staff/bulk/apply", data=chosen | {"confirm": "yes"})
        assert queued.status_code == 302
        assert worker.run_one(int(queued.headers["Location"].rstrip("/").rsplit("/", 1)[1])) is not None
        db.expire_all()
        return preview.get_data(as_text=True)

    shown = run("enable")
    assert shown.count("mở lại") == 1  # exactly what will change: the one disabled
    assert shown.count("không thay đổi: đang hoạt động") == 2
    assert [db.get(Staff, p.id).status for p in people] == ["active"] * 3  # type: ignore[union-attr]
    shown = run("move", unit_id=str(new.id))
    assert shown.count("chuyển từ Xã Cũ Thử sang Phường Mới Thử") == 3
    assert {db.get(Staff, p.id).unit_id for p in people} == {new.id}  # type: ignore[union-attr]


def test_a_persons_page_shows_roles_list_failures_and_moves_them(
    db: Session, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    home, other = create_unit(name="Xã Nhà Thử", kind="commune"), create_unit(name="Xã Chuyển Đến", kind="commune")
    person = create_staff(home, full_name="Ksor H'Chuyển", role=Role.SECRETARY)
    db.add(UsageDay(staff_id=person.id, day=dt.date.today(), failed_logins=4))
    db.flush()
    admin = client_as("system_admin", full_name="Phan Thị Quản Trị")
    page = admin.get(f"/staff/{person.id}").get_data(as_text=True)
    roles = re.search(r'<dd id="roles">(.*?)</dd>', page, re.S)
    assert roles is not None
    assert "Thư ký (văn phòng)" in roles.group(1), roles.group(1)
    lists = re.search(r'<dd id="lists">(.*?)</dd>', page, re.S)
    assert lists is not None
    assert "@" in lists.group(1)
    failures = re.search(r'<td data-channel="smtp">.*?</td><td class="num">([^<]+)</td>', page, re.S)
    assert failures is not None
    assert failures.group(1) == "4"

    token = csrf_token(admin, f"/staff/{person.id}")
    moved = admin.post(f"/staff/{person.id}/action", data={"csrf_token": token, "verb": "move", "unit_id": other.id})
    assert moved.status_code in (200, 302), moved.get_data(as_text=True)
    db.expire_all()
    assert db.get(Staff, person.id).unit_id == other.id  # type: ignore[union-attr]
    page = admin.get(f"/staff/{person.id}").get_data(as_text=True)
    assert "Xã Chuyển Đến" in page
    assert "staff.move" in page  # in the history of changes to them
    history = re.search(r'<section id="history">(.*?)</section>', page, re.S)
    assert history is not None
    assert "Phan Thị Quản Trị" in history.group(1)  # who moved them, by name (their address beside)


def test_a_reset_across_two_units_gives_a_slip_per_unit_with_the_configured_settings(
    db: Session, runtime: Runtime, services: Any, create_unit: Any, create_staff: Any, client_as: Any,
    commit_and_sync: Any,
) -> None:  # fmt: skip
    first, second = create_unit(name="Xã Phiếu Một", kind="commune"), create_unit(name="Xã Phiếu Hai", kind="commune")
    people = [create_staff(first, full_name="Đinh Văn Một"), create_staff(second, full_name="Rơ Mah Hai")]
    commit_and_sync()
    admin = client_as("system_admin")
    token = csrf_token(admin, "/staff")
    chosen = {"csrf_token": token, "action": "reset_password", "staff_id": [p.id for p in people], "confirm": "yes"}
    queued = admin.post("/staff/bulk/apply", data=chosen)
    task_id = int(queued.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert runtime.task_worker("test-slips-audit").run_one(task_id) is not None
    db.expire_all()
    slip_ids = db.get(Task, task_id).result["slips"]  # type: ignore[union-attr]
    assert len(slip_ids) == 2  # one PDF per unit
    settings = runtime.settings
    for slip_id in slip_ids:
        pdf = admin.post(f"/slips/{slip_id}.pdf", data={"csrf_token": token})
        assert pdf.status_code == 200
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
        slip = db.get(CredentialSlip, slip_id)
        assert slip is not None
        unit, person = (first, people[0]) if slip.unit_id == first.id else (second, people[1])
        assert unit.name in text
        assert person.full_name in text
        assert (people[1] if person is people[0] else people[0]).full_name not in text  # only that unit's
        for shown in (settings.webmail_url, settings.mail_client_imap, settings.mail_client_smtp):
            assert shown
            assert shown in text  # where to sign in, from the configuration
        db.expire_all()
        assert db.get(CredentialSlip, slip_id).content is None  # type: ignore[union-attr]  # deleted once taken


def test_the_reports_failed_sign_in_hot_spots_name_the_person_on_the_page_and_in_the_xlsx(
    db: Session, runtime: Runtime, fixture_units: dict[str, Any], client_as: Any, tmp_path: Path
) -> None:
    _ingest_all(runtime, list(_write_fixture_logs(tmp_path).values()))
    report = generate(db, SYSTEM, "2026-12", _definitions(runtime))
    chau = fixture_units["chau"]
    client = client_as(Role.AUDITOR)
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert f"<td>Ksor Châu &lt;{chau.email}&gt;</td>" in page
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/{report.id}.xlsx").data))["Đăng nhập lỗi"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[chau.email][1:] == (1, "có", "Ksor Châu")
