"""My meetings: a member of staff with no role signs in and sees the meetings they are invited to and those of
the bridge points they are the contact of, each with their own join link and calendar file, and subscribes to
a private calendar feed that an independent iCalendar parser reads and that stops when revoked."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from typing import Any

import icalendar
from flask import Flask
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from core.changelog import ChangeEntry
from tests.conftest import csrf_token
from tests.factories import PASSWORD
from tests.jitsi_verifier import ProsodyTokenRules, affiliation


def test_a_person_without_a_role_sees_their_meetings_with_links_jitsi_accepts(
    db: Session, app: Flask, runtime: Runtime, create_staff: Any, client_for: Any, create_point: Any,
    create_meeting: Any,
) -> None:  # fmt: skip
    person = create_staff(full_name="Rơ Châm Thư", password=PASSWORD)
    hall = create_point()
    commune = create_point(contact=person.email)
    invited = create_meeting([hall], title="Họp mời cá nhân", invitees=[(person.email, "")])
    as_contact = create_meeting(
        [hall, commune], title="Họp có điểm cầu của tôi", start=invited.starts_at + dt.timedelta(hours=3)
    )
    elsewhere = create_meeting(
        [create_point()], title="Họp không liên quan", start=invited.starts_at + dt.timedelta(hours=6)
    )
    db.commit()
    client = client_for(person)

    page = client.get("/my/meetings").get_data(as_text=True)
    assert "Họp mời cá nhân" in page
    assert "Họp có điểm cầu của tôi" in page
    assert elsewhere.title not in page
    env = runtime.meeting_env
    rules = ProsodyTokenRules(env.jitsi.app_secret, (env.jitsi.app_id,), (env.jitsi.audience,), env.jitsi.domain)
    rows = dict(re.findall(r'<tr data-meeting="(\d+)".*?<a class="join" href="([^"]+)"', page, re.S))
    for meeting, who in ((invited, f"person-{person.email}"), (as_contact, f"point-{commune.id}")):
        link = unescape(rows[str(meeting.id)])
        assert link.startswith(f"https://{env.jitsi.host}/{meeting.room_name}?jwt=")
        at = meeting.starts_at.timestamp() + 60
        claims = rules.verify(link.rsplit("=", 1)[1], meeting.room_name, now=at)
        assert claims["context"]["user"]["id"] == who
        assert affiliation(claims) == "member"
    assert "contact of" in page or "đầu mối của" in page

    ics = client.get(f"/my/meetings/{invited.id}.ics")
    assert ics.status_code == 200
    (event,) = icalendar.Calendar.from_ical(ics.data).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Họp mời cá nhân"
    assert client.get(f"/my/meetings/{elsewhere.id}.ics").status_code == 404


def test_a_private_calendar_feed_parses_and_stops_when_revoked(
    db: Session, app: Flask, create_staff: Any, client_for: Any, create_point: Any, create_meeting: Any
) -> None:
    person = create_staff(full_name="Lê Thị Hoa", password=PASSWORD)
    meeting = create_meeting([create_point()], title="Giao ban tuần (lịch đăng ký)", invitees=[(person.email, "")])
    db.commit()
    client = client_for(person)
    token = csrf_token(client, "/my/meetings")
    assert client.post("/my/feed", data={"action": "new"}).status_code == 400  # no CSRF token: refused
    page = client.post("/my/feed", data={"csrf_token": token, "action": "new"}).get_data(as_text=True)
    url = unescape(re.search(r'<code class="feed-url">([^<]+)</code>', page).group(1))  # type: ignore[union-attr]
    path = url.split("://", 1)[1].split("/", 1)[1]

    anonymous = app.test_client()  # calendar programs do not sign in: the secret URL is the key
    answer = anonymous.get(f"/{path}")
    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(answer.data)
    assert str(calendar["X-WR-CALNAME"]) == "Lê Thị Hoa"
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == meeting.title
    assert "?jwt=" in str(event["URL"])

    # A new address stops the old one; revoking stops the new one too.
    page = client.post("/my/feed", data={"csrf_token": token, "action": "new"}).get_data(as_text=True)
    second = unescape(re.search(r'<code class="feed-url">([^<]+)</code>', page).group(1))  # type: ignore[union-attr]
    assert anonymous.get(f"/{path}").status_code == 404
    second_path = second.split("://", 1)[1].split("/", 1)[1]
    assert anonymous.get(f"/{second_path}").status_code == 200
    assert client.post("/my/feed", data={"csrf_token": token, "action": "revoke"}).status_code == 400  # unconfirmed
    assert client.post("/my/feed", data={"csrf_token": token, "action": "revoke", "confirm": "yes"}).status_code == 200
    assert anonymous.get(f"/{second_path}").status_code == 404
    assert anonymous.get("/feeds/not-a-token.ics").status_code == 404
    assert anonymous.get("/feeds/" + "x" * 5000 + ".ics").status_code == 404
    db.expire_all()
    actions = [e.action for e in db.query(ChangeEntry).filter(ChangeEntry.target_type == "calendar_feed")]
    assert actions.count("calendar_feed.issue") == 2
    assert "calendar_feed.revoke" in actions


def test_a_point_feed_is_for_its_contact_or_who_manages_points(
    db: Session, create_staff: Any, client_for: Any, create_point: Any, create_meeting: Any
) -> None:
    contact = create_staff(password=PASSWORD)
    stranger = create_staff(full_name="Trần Văn Lạ", password=PASSWORD)
    point = create_point(contact=contact.email)
    create_meeting([create_point(), point], title="Họp của điểm cầu xã")
    db.commit()
    mine = client_for(contact)
    token = csrf_token(mine, "/my/meetings")
    page = mine.post("/my/feed", data={"csrf_token": token, "point_id": point.id}).get_data(as_text=True)
    url = unescape(re.search(r'<code class="feed-url">([^<]+)</code>', page).group(1))  # type: ignore[union-attr]
    feed = mine.get("/" + url.split("://", 1)[1].split("/", 1)[1])
    (event,) = icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Họp của điểm cầu xã"
    other = client_for(stranger)
    token = csrf_token(other, "/my/meetings")
    assert other.post("/my/feed", data={"csrf_token": token, "point_id": point.id}).status_code == 403
    assert other.post("/my/feed", data={"csrf_token": token, "point_id": "9" * 40}).status_code == 400
