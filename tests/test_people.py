"""People by name: the directory search (diacritics optional) behind "invite by name", and invitees given by
address appearing everywhere by their full name from the directory — page, greeting, token, calendar."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import icalendar
import jwt
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from core import outbox
from core.actors import PermissionDenied
from core.outbox import MailJob
from meetings.models import Meeting
from provisioning.actors import actor_for_staff as actor_of
from provisioning.models import AccountStatus, Role
from provisioning.people import search_people


@pytest.fixture
def people(db: Session, create_unit: Any, create_staff: Any) -> dict[str, Any]:
    chupah = create_unit(name="Xã Chư Păh", kind="commune")
    other = create_unit(name="Phường Quy Nhơn Đông", kind="commune")
    return {
        "an": create_staff(chupah, full_name="Nguyễn Văn An", title="Chuyên viên"),
        "anh": create_staff(other, full_name="Nguyễn Thị Ánh"),
        "dung": create_staff(other, full_name="Đặng Quốc Dũng"),
        "gone": create_staff(chupah, full_name="Nguyễn Văn Ẩn"),
        "chupah": chupah,
    }


def test_search_finds_people_without_diacritics_by_name_address_and_unit(
    db: Session, people: dict[str, Any], create_staff: Any
) -> None:
    people["gone"].status = AccountStatus.DISABLED
    db.flush()
    secretary = actor_of(create_staff(role=Role.SECRETARY))

    def names(query: str) -> set[str]:
        return {p.name for p in search_people(db, secretary, query)}

    assert "Nguyễn Văn An" in names("nguyen van an")
    assert "Nguyễn Văn An" in names("NGUYỄN an")
    assert "Nguyễn Văn Ẩn" not in names("nguyen van")  # disabled: not offered
    assert "Đặng Quốc Dũng" in names("dang dung")  # đ folds to d
    assert names("chu pah nguyen") >= {"Nguyễn Văn An"}  # by unit, diacritics optional
    assert "Nguyễn Thị Ánh" not in names("chu pah")
    assert names(people["an"].email) == {"Nguyễn Văn An"}  # by address
    assert names("%") == set()  # wildcards are letters, not patterns
    assert names("_ ' \\") == set()
    assert names("%@%") == set()
    assert names("x" * 5000) == set()


def test_search_is_for_those_who_book_or_administer(db: Session, people: dict[str, Any], create_staff: Any) -> None:
    nobody = actor_of(create_staff())
    with pytest.raises(PermissionDenied):
        search_people(db, nobody, "nguyen")


def test_api_and_console_search(client: FlaskClient, client_as: Any, token_as: Any, people: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {token_as(Role.SECRETARY)}"}
    found = client.get("/api/v1/people?q=nguyen%20van%20an", headers=headers)
    assert found.status_code == 200
    assert {"name": "Nguyễn Văn An", "email": people["an"].email} == {
        k: v for k, v in found.get_json()[0].items() if k in ("name", "email")
    }
    assert client.get("/api/v1/people?q=a&limit=999", headers=headers).status_code == 400
    assert client.get("/api/v1/people?q=" + "a" * 300, headers=headers).status_code == 400
    nobody = {"Authorization": f"Bearer {token_as(None)}"}
    assert client.get("/api/v1/people?q=nguyen", headers=nobody).status_code == 403
    secretary = client_as(Role.SECRETARY)
    answer = secretary.get("/people/search?q=dang%20quoc")
    assert answer.status_code == 200
    assert [p["name"] for p in answer.get_json()] == ["Đặng Quốc Dũng"]


def test_invitees_given_by_address_appear_by_their_full_name_everywhere(
    db: Session,
    runtime: Runtime,
    client: FlaskClient,
    client_as: Any,
    token_as: Any,
    people: dict[str, Any],
    create_point: Any,
) -> None:
    host = create_point()
    an, dung = people["an"], people["dung"]
    headers = {"Authorization": f"Bearer {token_as(Role.SECRETARY)}"}
    day = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    body = {
        "title": "Họp giao ban theo tên",
        "date": day,
        "start": "08:00",
        "end": "09:00",
        "host_point_id": host.id,
        "invitees": [an.email, {"email": dung.email, "name": dung.email}, "khach@example.org"],
    }
    answer = client.post("/api/v1/meetings", json=body, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    meeting = db.scalar(select(Meeting).where(Meeting.title == "Họp giao ban theo tên"))
    assert meeting is not None
    assert {i.email: i.name for i in meeting.invitees} == {
        an.email: "Nguyễn Văn An",
        dung.email: "Đặng Quốc Dũng",
        "khach@example.org": "",
    }

    page = client_as(Role.SECRETARY).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Nguyễn Văn An" in page
    assert "Đặng Quốc Dũng" in page

    mail = db.scalar(
        select(MailJob).where(MailJob.subject_ref == f"meeting:{meeting.id}", MailJob.recipient == an.email)
    )
    assert mail is not None
    rendered = outbox.render(db, mail, runtime.mail_renderers)
    assert "Kính gửi Nguyễn Văn An," in rendered.body
    token = re.search(r"\?jwt=([\w.-]+)", rendered.body)
    assert token is not None
    claims = jwt.decode(token.group(1), options={"verify_signature": False})
    assert claims["context"]["user"]["name"] == "Nguyễn Văn An"
    (event,) = icalendar.Calendar.from_ical(rendered.calendar).walk("VEVENT")
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    by_address = {str(a).lower().removeprefix("mailto:"): a.params.get("CN") for a in attendees}
    assert by_address[an.email] == "Nguyễn Văn An"
