"""Attendance that holds: event-sync posts replayed in any order, twice, with a move into a breakout room, a
reconnect under a new occupant JID and a lost "joined" that the scheduler's polls of a fake ``mod_muc_size``
``/room`` fill in; the roll call; the organiser's attendance summary."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit.definitions import definitions_from
from audit.report import generate
from core import outbox
from core.actors import SYSTEM
from core.changelog import ChangeEntry
from core.outbox import MailJob
from meetings.attendance import handle_event, point_attendance
from meetings.attendance_summary import queue_attendance_summaries
from meetings.models import Meeting
from meetings.operations.roll_call import mark_roll_call
from meetings.queries import load_meeting
from meetings.room_poll import poll_rooms

DAY = dt.date(2027, 10, 4)  # a Monday


def at(env: Any, hhmm: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=env.tz)


class FakeRoomApi:
    """Answers ``GET /room?room=…&domain=…`` as Prosody's mod_muc_size does, from who is in each room now."""

    def __init__(self) -> None:
        self.rooms: dict[str, list[dict[str, str]]] = {}
        self.asked: list[dict[str, list[str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                api.asked.append(query)
                room = query.get("room", [""])[0]
                if url.path != "/room" or room not in api.rooms:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps(api.rooms[room]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def room_api() -> Iterator[FakeRoomApi]:
    api = FakeRoomApi()
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    yield api
    api.server.shutdown()
    api.server.server_close()
    thread.join(5)


def _truth(env: Any, points: dict[str, Any], person: str) -> dict[str, list[tuple[str, str, dt.datetime, dt.datetime]]]:
    """Who was really where: participant → (occupant JID, room part, from, to). ``main`` or a breakout id."""
    return {
        f"point-{points['host'].id}": [("h1", "main", at(env, "07:45"), at(env, "10:00"))],
        # a reconnect: a new occupant JID for the same token identity
        f"point-{points['p1'].id}": [
            ("p1a", "main", at(env, "08:00"), at(env, "08:30")),
            ("p1b", "main", at(env, "08:31"), at(env, "09:30")),
        ],
        # half an hour in a breakout room, then back
        f"point-{points['p2'].id}": [
            ("p2", "main", at(env, "08:00"), at(env, "08:40")),
            ("p2", "br1", at(env, "08:40"), at(env, "09:10")),
            ("p2", "main", at(env, "09:10"), at(env, "09:50")),
        ],
        # its "joined" is lost; polls see it from 08:06
        f"point-{points['p3'].id}": [
            ("p3", "main", at(env, "08:05") + dt.timedelta(seconds=20), at(env, "09:00") + dt.timedelta(seconds=30))
        ],
        f"person-{person}": [("x1", "main", at(env, "08:10"), at(env, "08:50"))],
    }


def _posts(
    room: str, truth: dict[str, Any], identities: dict[str, tuple[str, str]], lost: set[str]
) -> list[tuple[str, dict[str, Any]]]:
    posts: list[tuple[str, dict[str, Any]]] = []
    for key, spans in truth.items():
        name, email = identities[key]
        for jid, part, start, end in spans:
            occupant = {"occupant_jid": f"{jid}@meet.test/{jid}", "name": name, "email": email, "id": key}
            extra = {"is_breakout": True, "breakout_room_id": part} if part != "main" else {"is_breakout": False}
            base = {"room_name": room.upper(), **extra}  # Jitsi's node may come in another case
            if key not in lost:
                posts.append(
                    ("occupant/joined", {**base, "occupant": {**occupant, "joined_at": int(start.timestamp())}})
                )
            posts.append(
                (
                    "occupant/left",
                    {
                        **base,
                        "occupant": {**occupant, "joined_at": int(start.timestamp()), "left_at": int(end.timestamp())},
                    },
                )
            )
    return posts


def test_shuffled_duplicated_event_sync_with_breakouts_reconnects_and_polls_gives_the_minutes(
    db: Session, runtime: Runtime, create_point: Any, create_meeting: Any, room_api: FakeRoomApi
) -> None:
    env = runtime.meeting_env
    token = uuid.uuid4().hex[:6]
    points = {
        k: create_point(name=f"Điểm cầu {k} {token}", contact=f"{k}.{token}@gialai.gov.vn")
        for k in ("host", "p1", "p2", "p3", "p4")
    }
    person = f"nguoi.{token}@gialai.gov.vn"
    identities = {f"point-{p.id}": (p.name, p.contact_email) for p in points.values()} | {
        f"person-{person}": ("Ksor Y Phước", person)
    }
    config = replace(env.jitsi, room_api_url=room_api.url)
    meetings = [
        create_meeting(
            list(points.values()), at(env, "08:00", day), at(env, "10:00", day), invitees=[(person, "Ksor Y Phước")]
        )
        for day in (DAY, DAY + dt.timedelta(days=1))
    ]
    for n, meeting in enumerate(meetings):
        shift = dt.timedelta(days=n)
        truth = {
            k: [(j, part, s + shift, e + shift) for j, part, s, e in v] for k, v in _truth(env, points, person).items()
        }
        lost = {f"point-{points['p3'].id}"}
        posts = _posts(meeting.room_name, truth, identities, lost)
        rng = random.Random(n)
        posts += rng.sample(posts, 6)  # Jitsi retried some
        rng.shuffle(posts)
        polls = [at(env, "08:00") + shift + dt.timedelta(minutes=m) for m in range(0, 121)]
        # Interleave: the polls happen in time order, the posts arrive whenever, in any order.
        order = [("poll", t) for t in polls] + [("post", p) for p in posts]
        positions = sorted(rng.sample(range(len(order)), len(posts)))
        merged: list[Any] = []
        poll_iter, post_iter = iter(order[: len(polls)]), iter(order[len(polls) :])
        for i in range(len(order)):
            merged.append(next(post_iter) if i in positions else next(poll_iter))
        outcomes = []
        for what, item in merged:
            if what == "post":
                outcomes.append(handle_event(db, item[0], item[1]).message)
                continue
            room_api.rooms = {
                m.room_name: [
                    {
                        "jid": f"{m.room_name}@conference.meet.test/{key[-6:]}",
                        "email": identities[key][1],
                        "display_name": identities[key][0],
                    }
                    for key, spans in truth.items()
                    if m.id == meeting.id and any(part == "main" and s <= item < e for _j, part, s, e in spans)
                ]
                for m in meetings
            }
            poll_rooms(lambda: nullcontext(db), config, item)
        assert outcomes.count("already recorded") == 6
        handle_event(
            db,
            "room/destroyed",
            {"room_name": meeting.room_name, "destroyed_at": int((at(env, "10:05") + shift).timestamp())},
        )
        db.expire_all()
        loaded = load_meeting(db, meeting.id)
        assert loaded is not None
        minutes = {a.name: (a.attended, a.minutes) for a in point_attendance(loaded)}
        assert minutes == {
            points["host"].name: (True, 135.0),
            points["p1"].name: (True, 89.0),  # 30 + 59 over two occupant JIDs
            points["p2"].name: (True, 110.0),  # the breakout room counts as present
            points["p3"].name: (True, 54.5),  # from the first poll that saw it (08:06) to its "left"
            points["p4"].name: (False, 0.0),
        }, n
        people = [a for a in loaded.attendance if a.point_id is None]
        assert [(a.invitee_email, a.minutes) for a in people] == [(person, 40.0)]
    assert {q["domain"][0] for q in room_api.asked} == {env.jitsi.domain}


def test_unknown_and_foreign_tenant_rooms_are_refused_and_change_nothing(db: Session, create_meeting: Any) -> None:
    meeting = create_meeting()
    occupant = {"occupant_jid": "a@b/c", "id": "point-1", "joined_at": int(meeting.starts_at.timestamp())}
    from meetings.attendance import EventRejected

    with pytest.raises(EventRejected) as refused:
        handle_event(db, "occupant/joined", {"room_name": f"[kontum]{meeting.room_name}", "occupant": occupant})
    assert refused.value.status == 404
    outcome = handle_event(
        db,
        "occupant/joined",
        {"room_name": f"[gialai]{meeting.room_name}@conference.x", "occupant": occupant},
        tenant="gialai",
    )
    assert outcome.message == "joined"


def test_roll_call_is_audited_shown_on_the_page_and_counted_in_the_report(
    db: Session, runtime: Runtime, create_point: Any, create_meeting: Any, create_local_admin: Any, client_for: Any
) -> None:
    env = runtime.meeting_env
    host, phone = create_point(), create_point(name=f"Điểm cầu xã Ia Hrú {uuid.uuid4().hex[:4]}")
    meeting = create_meeting([host, phone], at(env, "14:00"), at(env, "15:00"))
    start = int(meeting.starts_at.timestamp())
    occupant = {"occupant_jid": "h@m/1", "id": f"point-{host.id}", "name": host.name}
    handle_event(db, "occupant/joined", {"room_name": meeting.room_name, "occupant": {**occupant, "joined_at": start}})
    handle_event(
        db, "occupant/left", {"room_name": meeting.room_name, "occupant": {**occupant, "left_at": start + 3600}}
    )
    month = f"{DAY:%Y-%m}"
    definitions = definitions_from(runtime.settings)
    before = generate(db, SYSTEM, month, definitions).data["meetings"]

    admin = create_local_admin()
    console = client_for(admin.username)
    page = console.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "kế hoạch 2, tham dự 1" in page
    answer = console.post(
        f"/meetings/{meeting.id}/roll-call",
        data={"csrf_token": _csrf(page), "point_id": phone.id, "present": "yes", "note": "tham dự qua điện thoại"},
    )
    assert answer.status_code == 302
    page = console.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "kế hoạch 2, tham dự 2" in page
    assert "Điểm danh: có mặt" in page
    assert admin.username in page

    db.expire_all()
    entry = db.scalar(
        select(ChangeEntry).where(ChangeEntry.action == "meeting.roll_call", ChangeEntry.target_id == str(meeting.id))
    )
    assert entry is not None
    assert admin.username in entry.actor
    assert entry.before is None
    assert entry.after == {"present": True, "note": "tham dự qua điện thoại"}
    after = generate(db, SYSTEM, month, definitions).data["meetings"]
    assert after["attended_points"] == before["attended_points"] + 1
    assert after["roll_call_marks"] == before["roll_call_marks"] + 1

    # Marked absent, the host Jitsi saw no longer counts; a mark on a point not in the meeting is refused.
    loaded = load_meeting(db, meeting.id)
    assert loaded is not None
    mark_roll_call(db, SYSTEM, loaded, host.id, False)
    assert [a.attended for a in point_attendance(loaded)] == [False, True]
    from meetings.errors import MeetingsError

    with pytest.raises(MeetingsError, match="not planned"):
        mark_roll_call(db, SYSTEM, loaded, create_point().id, True)


def _csrf(page: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_the_organiser_gets_the_attendance_summary_with_a_pdf_once(
    db: Session, runtime: Runtime, services: Any, create_point: Any, create_meeting: Any
) -> None:
    env = runtime.meeting_env
    token = uuid.uuid4().hex[:6]
    organiser = f"thuky.{token}@gialai.gov.vn"
    host, other = create_point(name=f"Hội trường {token}"), create_point(name=f"Điểm cầu Chư Sê {token}")
    start = dt.datetime.now(env.tz).replace(microsecond=0) - dt.timedelta(hours=3)
    meeting = create_meeting([host, other], start, start + dt.timedelta(hours=1))
    meeting.organiser_email, meeting.organiser_name = organiser, "Thư ký Văn phòng"
    occupant = {"occupant_jid": "h@m/1", "id": f"point-{host.id}", "name": host.name}
    handle_event(
        db,
        "occupant/joined",
        {"room_name": meeting.room_name, "occupant": {**occupant, "joined_at": int(start.timestamp())}},
    )
    handle_event(
        db,
        "occupant/left",
        {"room_name": meeting.room_name, "occupant": {**occupant, "left_at": int(start.timestamp()) + 50 * 60}},
    )
    now = dt.datetime.now(dt.UTC)
    assert queue_attendance_summaries(db, env, now=now) == [meeting.id]
    assert queue_attendance_summaries(db, env, now=now) == []  # once
    (job,) = db.scalars(
        select(MailJob).where(MailJob.kind == "attendance", MailJob.subject_ref == f"meeting:{meeting.id}")
    ).all()
    assert job.body == ""
    first, second = (outbox.render(db, job, runtime.mail_renderers) for _ in range(2))
    assert first == second  # the same message each time it is built
    assert first.attachment is not None
    assert first.attachment[2].startswith(b"%PDF")
    assert f"{host.name}: Có mặt, 50 phút" in first.body
    assert f"{other.name}: Vắng, 0 phút" in first.body
    db.commit()
    assert runtime.send_mail(ids=[job.id]).sent == 1
    import time

    deadline = time.monotonic() + 15
    while not services.received(organiser) and time.monotonic() < deadline:
        time.sleep(0.2)
    (mail,) = services.received(organiser)
    assert mail["Subject"].startswith(f"Kết quả tham dự: {meeting.title}")
    pdf = next(p for p in mail.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_content().startswith(b"%PDF")
    stored = db.get(Meeting, meeting.id)
    assert stored is not None
    assert stored.summary_sent_at is not None
