"""Demo activity on top of the demo province: meetings (a weekly briefing series with attendance from
simulated Jitsi event-sync posts, a conference for all districts next week) and three months of mail-server
logs for every demo mailbox, ingested through the real pipeline, with a monthly report for each month."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, update

from admin_app.runtime import Runtime
from audit.definitions import definitions_from
from audit.ingest import ingest_file
from audit.report import generate, previous_month
from core.actors import Actor
from demo.maillogs import write_month
from meetings.attendance import handle_event
from meetings.models import BridgePoint
from meetings.operations.bookings import MeetingDraft, book_meeting
from meetings.operations.points import points_of_group
from meetings.recurrence import Recurrence
from provisioning.models import AccountStatus, Staff

DEMO_ACTOR = Actor("system", None, "demo")


def _hall(session: object) -> BridgePoint:
    hall = session.scalar(select(BridgePoint).where(BridgePoint.name == "Hội trường UBND tỉnh"))  # type: ignore[attr-defined]
    assert hall is not None
    return hall


def load_meetings(runtime: Runtime, progress: Callable[[str], None] = print, seed: int = 2025) -> None:
    env = runtime.meeting_env
    tz = env.tz
    rng = random.Random(seed)
    today = dt.datetime.now(tz).date()
    monday = today - dt.timedelta(days=today.weekday())
    with runtime.unit_of_work() as session:
        hall = _hall(session)
        districts = points_of_group(session, "district")
        ict = session.scalar(select(BridgePoint).where(BridgePoint.name == "Phòng họp trực tuyến Sở TT&TT"))
        first = dt.datetime.combine(monday - dt.timedelta(weeks=8), dt.time(7, 30), tzinfo=tz)
        series = book_meeting(
            session,
            DEMO_ACTOR,
            env,
            MeetingDraft(
                title="Giao ban trực tuyến UBND tỉnh với các huyện",
                starts_at=first,
                ends_at=first + dt.timedelta(hours=2),
                host_point_id=hall.id,
                point_ids=[p.id for p in districts],
                agenda="Tình hình kinh tế – xã hội trong tuần; nhiệm vụ trọng tâm tuần tới.",
                organiser_name="Văn phòng UBND tỉnh",
                organiser_email=f"vanphong@{runtime.settings.mail_domain}",
                recurrence=Recurrence("weekly", 1, (0,), None, 12),
            ),
        )
        conference = dt.datetime.combine(monday + dt.timedelta(days=9), dt.time(8, 0), tzinfo=tz)
        book_meeting(
            session,
            DEMO_ACTOR,
            env,
            MeetingDraft(
                title="Hội nghị trực tuyến triển khai chuyển đổi số năm 2027",
                starts_at=conference,
                ends_at=conference + dt.timedelta(hours=3, minutes=30),
                host_point_id=hall.id,
                point_ids=[p.id for p in districts] + ([ict.id] if ict else []),
                agenda="Quán triệt kế hoạch; tham luận của các huyện; kết luận của Chủ tịch UBND tỉnh.",
                organiser_name="Văn phòng UBND tỉnh",
                organiser_email=f"vanphong@{runtime.settings.mail_domain}",
            ),
        )
        # Attendance for the occurrences already held, as Jitsi's event-sync component would have posted it.
        now = dt.datetime.now(dt.UTC)
        held = 0
        for meeting in series:
            if meeting.ends_at > now:
                continue
            held += 1
            opened = int(meeting.block_start.timestamp()) + 300
            handle_event(session, "room/created", {"room_name": meeting.room_name, "created_at": opened})
            for mp in meeting.points:
                if mp.point_id != hall.id and rng.random() < 0.12:
                    continue  # a district that did not connect this week
                joined = opened + rng.randint(0, 40 * 60)
                jid = f"{meeting.room_name}@conference.{runtime.settings.jitsi_domain}/{mp.point_id:04x}{held:02x}"
                occupant = {
                    "occupant_jid": jid,
                    "name": mp.point.name,
                    "id": f"point-{mp.point_id}",
                    "joined_at": joined,
                }
                handle_event(session, "occupant/joined", {"room_name": meeting.room_name, "occupant": occupant})
                left = int(meeting.ends_at.timestamp()) - rng.randint(0, 20 * 60)
                handle_event(
                    session,
                    "occupant/left",
                    {"room_name": meeting.room_name, "occupant": {**occupant, "left_at": left}},
                )
            handle_event(
                session,
                "room/destroyed",
                {"room_name": meeting.room_name, "destroyed_at": int(meeting.ends_at.timestamp())},
            )
    progress(f"meetings: a weekly briefing series ({held} held, with attendance) and a conference next week")


def load_usage(runtime: Runtime, progress: Callable[[str], None] = print, months: int = 3, seed: int = 2025) -> None:
    """Simulated Dovecot, Postfix and Roundcube logs for the last ``months`` months, ingested and reported."""
    s = runtime.settings
    folder = s.instance_path / "demo-logs"
    with runtime.unit_of_work() as session:
        addresses = list(session.scalars(select(Staff.email).where(Staff.status == AccountStatus.ACTIVE)))
        # The demo's staff were just created; in the story they have had their mailboxes for years.
        session.execute(update(Staff).values(created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))
    today = dt.datetime.now(s.tz).date()
    wanted = [previous_month(f"{today:%Y-%m}")]
    while len(wanted) < months:
        wanted.append(previous_month(wanted[-1]))
    definitions = definitions_from(s)
    for n, month in enumerate(reversed(wanted)):
        out = folder / month
        first = dt.datetime.strptime(month, "%Y-%m").date()
        counts = write_month(addresses, first, out, seed=seed + n)
        lines = 0
        for name in sorted(counts):
            lines += ingest_file(runtime.session_factory, Path(out / name), tz=s.tz).lines
        with runtime.unit_of_work() as session:
            report = generate(session, DEMO_ACTOR, month, definitions)
            share = report.data["province"]["regular_share"]
        progress(f"usage {month}: {lines:,} log lines ingested; regular use {share * 100 if share else 0:.1f}%")
