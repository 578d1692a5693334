"""Meetings at commune scale: a 135-point booking whose 137 invitations are rendered by the sender after the
commit and reach the real Postfix, each with its own link and a token today's Jitsi accepts; a sender killed
mid-way and restarted sends every message once with the same Message-ID; availability before booking."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import icalendar
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from admin_app.migrate import upgrade
from admin_app.runtime import Runtime
from core import outbox
from core.actors import SYSTEM
from core.db import make_engine, make_session_factory, unit_of_work
from core.outbox import MailJob, MailStatus, SmtpConfig, send_pending
from meetings.env import MeetingEnv
from meetings.jitsi import JitsiConfig, bare_room, join_link, point_participant, prosody_config
from meetings.mail_content import render_meeting_mail
from meetings.models import BridgePoint
from meetings.operations.bookings import MeetingDraft, book_meeting
from meetings.operations.points import create_bridge_point
from provisioning.models import UnitKind
from provisioning.operations import create_unit
from tests.conftest import drop_database, fresh_database_url
from tests.jitsi_verifier import ProsodyTokenRules, affiliation, enters_directly, features
from tests.mail_helpers import wait_for_mail

ROOT = Path(__file__).resolve().parent.parent
TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DAY = dt.date(2027, 9, 13)  # a Monday
DELIVERY_TIMEOUT = 30.0  # a booking's 137 invitations go through the one private Postfix


def at(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=TZ)


@pytest.fixture
def communes(create_unit: Any, create_point: Any) -> Callable[[int], list[BridgePoint]]:
    """``communes(n)``: n commune units with one bridge point each, every point with its own contact mailbox."""

    def _communes(n: int) -> list[BridgePoint]:
        token = uuid.uuid4().hex[:6]
        points = []
        for i in range(n):
            unit = create_unit(name=f"Xã Thử {i:03d} {token}", kind=UnitKind.COMMUNE)
            points.append(
                create_point(unit, name=f"Điểm cầu xã {i:03d} {token}", contact=f"xa{i:03d}.{token}@gialai.gov.vn")
            )
        return points

    return _communes


def _prosody_rules(runtime: Runtime, config_text: str) -> ProsodyTokenRules:
    return ProsodyTokenRules(
        app_secret=runtime.settings.jitsi_app_secret,
        accepted_issuers=tuple(re.findall(r'asap_accepted_issuers = \{ "([^"]+)" \}', config_text)),
        accepted_audiences=tuple(re.findall(r'asap_accepted_audiences = \{ "([^"]+)" \}', config_text)),
        domain=re.search(r'VirtualHost "([^"]+)"', config_text).group(1),  # type: ignore[union-attr]
    )


def test_a_135_point_meeting_reaches_postfix_with_a_token_per_recipient(
    db: Session, runtime: Runtime, services: Any, communes: Any, create_point: Any, create_unit: Any
) -> None:
    env = runtime.meeting_env
    token = uuid.uuid4().hex[:6]
    hall = create_point(
        create_unit(name=f"UBND tỉnh {token}", kind=UnitKind.PROVINCE),
        name=f"Hội trường UBND tỉnh {token}",
        contact=f"hoitruong.{token}@gialai.gov.vn",
    )
    points = [hall, *communes(150)]
    organiser, guest = f"vanphong.{token}@gialai.gov.vn", f"khach.{token}@gialai.gov.vn"
    start = at(DAY, "08:00")
    (meeting,) = book_meeting(
        db,
        SYSTEM,
        env,
        MeetingDraft(
            title="Hội nghị trực tuyến toàn tỉnh với 135 xã, phường",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=3),
            host_point_id=hall.id,
            point_ids=[p.id for p in points[1:136]],
            invitees=[(guest, "Nay Blum")],
            organiser_name="Văn phòng UBND tỉnh",
            organiser_email=organiser,
        ),
    )
    assert len(meeting.points) == 136

    # The booking's transaction holds one small row per recipient and nothing rendered: no body, no calendar,
    # no attachment, no token anywhere in the row.
    jobs = db.scalars(select(MailJob).where(MailJob.subject_ref == f"meeting:{meeting.id}")).all()
    assert len(jobs) == 138  # 136 point contacts, the invited person, the organiser
    for job in jobs:
        assert (job.body, job.calendar, job.attachment, job.renderer) == ("", "", None, "meeting")
        assert "jwt" not in json.dumps(job.params)
        assert "eyJ" not in json.dumps(job.params)
    db.commit()
    result = runtime.send_mail(ids=[j.id for j in jobs])
    assert result.sent == 138

    config_text = prosody_config(env.jitsi, runtime.settings.public_url)
    rules = _prosody_rules(runtime, config_text)
    modules = set(re.findall(r'"([a-z_]+)";', config_text))
    during = (start + dt.timedelta(minutes=30)).timestamp()
    seen_tokens: set[str] = set()
    expected = {p.contact_email: p for p in points[:136]}
    for address, point in expected.items():
        (mail,) = wait_for_mail(services, address, 1, DELIVERY_TIMEOUT)
        text = mail.get_body(("plain",)).get_content()
        link = re.search(r"https://(\S+?)/(\S+?)\?jwt=(\S+)", text)
        assert link is not None, text[:500]
        assert link.group(1) == env.jitsi.host
        assert link.group(2) == meeting.room_name
        seen_tokens.add(link.group(3))
        claims = rules.verify(link.group(3), meeting.room_name, now=during)
        assert claims["context"]["user"]["id"] == f"point-{point.id}"
        assert claims["context"]["user"]["name"] == point.name
        is_host = point.id == hall.id
        assert affiliation(claims) == ("owner" if is_host else "member")
        assert enters_directly(claims, lobby_on=True, modules=modules)  # bridge points skip the lobby
        assert features(claims, ()) is None  # no features configured: the client's defaults
        calendar = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
        (event,) = icalendar.Calendar.from_ical(calendar.get_content()).walk("VEVENT")
        assert int(event["SEQUENCE"]) == 0
        assert mail["Message-ID"] == f"<congvu-mail-{next(j.id for j in jobs if j.recipient == address)}@gialai.gov.vn>"
    assert len(seen_tokens) == 136  # each point its own link
    (organiser_mail,) = wait_for_mail(services, organiser, 1, DELIVERY_TIMEOUT)
    organiser_claims = rules.verify(
        re.search(r"\?jwt=(\S+)", organiser_mail.get_body(("plain",)).get_content()).group(1),  # type: ignore[union-attr]
        meeting.room_name,
        now=during,
    )
    assert affiliation(organiser_claims) == "owner"
    assert enters_directly(organiser_claims, lobby_on=True, modules=modules)
    (guest_mail,) = wait_for_mail(services, guest, 1, DELIVERY_TIMEOUT)
    guest_claims = rules.verify(
        re.search(r"\?jwt=(\S+)", guest_mail.get_body(("plain",)).get_content()).group(1),  # type: ignore[union-attr]
        meeting.room_name,
        now=during,
    )
    assert affiliation(guest_claims) == "member"
    assert not enters_directly(guest_claims, lobby_on=True, modules=modules)  # invited people wait in the lobby
    for module in ("token_verification", "token_affiliation", "token_lobby_bypass", "muc_size", "muc_lobby_rooms"):
        assert module in modules, module
    assert '"event_sync_component"' in config_text
    assert 'api_headers = { ["Authorization"] = "Bearer " .. (os.getenv("CONGVU_EVENTS_TOKEN")' in config_text
    assert runtime.settings.events_token not in config_text


def test_tenant_features_and_lobby_settings_shape_links_and_tokens(
    db: Session, runtime: Runtime, create_meeting: Any
) -> None:
    env = runtime.meeting_env
    meeting = create_meeting(start=at(DAY, "14:00"))
    point = meeting.host_point
    tenant = JitsiConfig(
        env.jitsi.host,
        env.jitsi.app_id,
        env.jitsi.app_secret,
        env.jitsi.audience,
        env.jitsi.domain,
        tenant="gialai",
        lobby_bypass=frozenset({"organiser"}),
        features=("recording", "screen-sharing"),
    )
    link = join_link(tenant, meeting, point_participant(meeting, point))
    assert link.startswith(f"https://{env.jitsi.host}/gialai/{meeting.room_name}?jwt=")
    rules = ProsodyTokenRules(env.jitsi.app_secret, (env.jitsi.app_id,), (env.jitsi.audience,), env.jitsi.domain)
    claims = rules.verify(
        link.rsplit("=", 1)[1], meeting.room_name.upper(), now=at(DAY, "14:10").timestamp(), tenant="gialai"
    )
    assert claims["sub"] == "gialai"
    assert "lobby_bypass" not in claims["context"]["user"]  # points do not skip the lobby with this setting
    known = ("recording", "screen-sharing", "livestreaming", "transcription")
    assert features(claims, known) == {
        "recording": True,
        "screen-sharing": True,
        "livestreaming": False,
        "transcription": False,
    }
    assert len(claims["context"]["features"]) == 16  # complete: every Jitsi feature named
    # Event-sync's room_name: the lower-case, tenant-prefixed node.
    assert bare_room(tenant, f"[gialai]{meeting.room_name.upper()}@conference.{env.jitsi.domain}") == meeting.room_name
    assert bare_room(tenant, f"[kontum]{meeting.room_name}") is None
    assert bare_room(env.jitsi, f"[gialai]{meeting.room_name}") is None


# -- the sender killed mid-way ---------------------------------------------------------------------------

KILLER = """
import json, os, signal, smtplib, sys, zoneinfo
cfg = json.loads(sys.argv[1])
from core.db import make_engine, make_session_factory
from core.outbox import SmtpConfig, send_pending
from meetings.env import MeetingEnv
from meetings.jitsi import JitsiConfig
from meetings.mail_content import render_meeting_mail
env = MeetingEnv(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"), "Asia/Ho_Chi_Minh", JitsiConfig(*cfg["jitsi"]))
real, count = smtplib.SMTP.send_message, [0]
def send(self, *args, **kwargs):
    count[0] += 1
    if count[0] > cfg["kill_after"]:
        os.kill(os.getpid(), signal.SIGKILL)  # dies with this message claimed and not handed over
    return real(self, *args, **kwargs)
smtplib.SMTP.send_message = send
factory = make_session_factory(make_engine(cfg["url"]))
renderers = {"meeting": lambda session, job: render_meeting_mail(session, env, job)}
send_pending(factory, SmtpConfig("127.0.0.1", cfg["port"], cfg["sender"]), renderers=renderers)
"""


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    url = fresh_database_url(tmp_path, "sender")
    upgrade(url)
    engine = make_engine(url)
    try:
        yield url, make_session_factory(engine)
    finally:
        engine.dispose()
        drop_database(url)


def test_a_sender_killed_mid_way_and_restarted_sends_each_message_once(
    own_database: tuple[str, sessionmaker[Session]], services: Any
) -> None:
    url, factory = own_database
    jitsi = ("meet.test", "congvu", "k" * 40, "congvu", "meet.test")
    env = MeetingEnv(TZ, "Asia/Ho_Chi_Minh", JitsiConfig(*jitsi))
    token = uuid.uuid4().hex[:6]
    with unit_of_work(factory) as session:
        province = create_unit(session, SYSTEM, code="T", name="Tỉnh thử", kind=UnitKind.PROVINCE, parent=None)
        ids = [
            create_bridge_point(
                session, SYSTEM, name=f"Điểm cầu {n}", unit=province, contact_email=f"dc{n}.{token}@gialai.gov.vn"
            ).id
            for n in range(40)
        ]
        (meeting,) = book_meeting(
            session,
            SYSTEM,
            env,
            MeetingDraft("Giao ban", at(DAY, "08:00"), at(DAY, "09:00"), host_point_id=ids[0], point_ids=ids),
        )
        meeting_id = meeting.id
    config = {"url": url, "port": services.config.smtp_port, "sender": "congvu@gialai.gov.vn", "kill_after": 12}
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, json.dumps({**config, "jitsi": jitsi})],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    with unit_of_work(factory) as session:
        jobs = session.scalars(select(MailJob).where(MailJob.subject_ref == f"meeting:{meeting_id}")).all()
        states = sorted(j.status for j in jobs)
        assert states.count(MailStatus.SENT) == 12
        assert MailStatus.SENDING in states  # claimed by the dead sender
        first_render = {
            j.id: outbox.render(session, j, {"meeting": lambda s, j: render_meeting_mail(s, env, j)}) for j in jobs
        }

    renderers = {"meeting": lambda session, job: render_meeting_mail(session, env, job)}
    again = send_pending(
        factory, SmtpConfig("127.0.0.1", services.config.smtp_port, "congvu@gialai.gov.vn"), renderers=renderers
    )
    assert again.sent == 28
    assert (
        send_pending(
            factory, SmtpConfig("127.0.0.1", services.config.smtp_port, "congvu@gialai.gov.vn"), renderers=renderers
        ).sent
        == 0
    )
    with unit_of_work(factory) as session:
        jobs = session.scalars(select(MailJob).where(MailJob.subject_ref == f"meeting:{meeting_id}")).all()
        assert {j.status for j in jobs} == {MailStatus.SENT}
        for job in jobs:
            (mail,) = wait_for_mail(services, job.recipient, 1, DELIVERY_TIMEOUT)  # exactly one each
            assert mail["Message-ID"] == f"<congvu-mail-{job.id}@gialai.gov.vn>"
            calendar = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
            assert calendar.get_content().replace("\r\n", "\n") == first_render[job.id].calendar.replace("\r\n", "\n")
    time.sleep(1)
    assert all(len(services.received(f"dc{n}.{token}@gialai.gov.vn")) == 1 for n in range(40))


# -- availability before booking -------------------------------------------------------------------------


def test_availability_names_the_busy_point_its_meeting_and_the_nearest_free_slot(
    db: Session,
    client: FlaskClient,
    create_point: Any,
    create_meeting: Any,
    create_local_admin: Any,
    client_for: Any,
    token_for: Any,
) -> None:
    a, b, c = create_point(), create_point(), create_point()
    create_meeting([a, b], at(DAY, "08:00"), at(DAY, "10:00"), title="Giao ban khối xã")
    admin = create_local_admin()
    body = {
        "date": DAY.isoformat(),
        "start": "09:00",
        "end": "10:00",
        "host_point_id": c.id,
        "point_ids": [a.id, c.id],
        "buffer_minutes": 30,
    }
    api = client
    answer = api.post(
        "/api/v1/meetings/availability", json=body, headers={"Authorization": f"Bearer {token_for(admin)}"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = answer.get_json()
    assert data["free"] is False
    assert [(x["point_name"], x["meeting_title"]) for x in data["busy"]] == [(a.name, "Giao ban khối xã")]
    # 10:00 + 30 minutes of set-up: the earliest common hour is 10:30–11:30 the same day.
    assert data["nearest"]["start"] == at(DAY, "10:30").isoformat()
    free = api.post(
        "/api/v1/meetings/availability",
        json={**body, "start": "14:00", "end": "15:00"},
        headers={"Authorization": f"Bearer {token_for(admin)}"},
    ).get_json()
    assert free == {"free": True, "points": 2, "busy": [], "nearest": None}

    console = client_for(admin.username)
    page = console.get(
        "/meetings/availability",
        query_string={
            "date": DAY.strftime("%d/%m/%Y"),
            "start": "09:00",
            "end": "10:00",
            "host_point_id": c.id,
            "point_ids": [a.id, b.id],
        },
    ).get_data(as_text=True)
    assert a.name in page
    assert b.name in page
    assert "Giao ban khối xã" in page
    assert 'data-date="2027-09-13" data-start="10:30" data-end="11:30"' in page
    form = console.get("/meetings/new").get_data(as_text=True)
    assert 'src="/static/booking.js"' in form
    assert 'id="availability"' in form
