"""The demo's months of use, in the order they happened: meetings (each province's monthly briefing with its
districts until June 2025, then the new province's with its communes and wards, and a weekly one in the last
weeks; attendance from simulated Jitsi event-sync posts) and mail-server logs for every mailbox of the time,
ingested through the real pipeline, with each month's report generated at its end. The last few months are
simulated in full, earlier months thinly (the same mix of people, in fewer lines) to keep ``demo load`` quick."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sqlalchemy import select

from admin_app.runtime import Runtime
from audit.definitions import definitions_from
from audit.ingest import ingest_file
from audit.report import generate, month_bounds
from demo.maillogs import write_month
from demo.world import DEMO_ACTOR
from meetings.attendance import handle_event
from meetings.models import BridgePoint, Meeting
from meetings.operations.bookings import MeetingDraft, book_meeting
from meetings.operations.points import points_of_group
from meetings.recurrence import Recurrence
from provisioning.models import AccountStatus, Staff

HALL = "Hội trường UBND tỉnh"


def months(first: str, last: str) -> list[str]:
    """YYYY-MM from ``first`` to ``last`` inclusive."""
    out, year, month = [], int(first[:4]), int(first[5:])
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def load_usage(
    runtime: Runtime,
    wanted: Sequence[str],
    progress: Callable[[str], None] = print,
    *,
    full: Sequence[str] = (),
    seed: int = 2025,
) -> None:
    """Simulated Dovecot, Postfix and Roundcube logs of each month in ``wanted`` for the mailboxes active now,
    ingested, then the month's report generated. Months in ``full`` are simulated in full, the others thinly."""
    s = runtime.settings
    folder = s.instance_path / "demo-logs"
    definitions = definitions_from(s)
    with runtime.unit_of_work() as session:
        addresses = list(session.scalars(select(Staff.email).where(Staff.status == AccountStatus.ACTIVE)))
    # The logs are written by a second process, a month or more ahead of the ingestion here.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as writer:
        pending = []
        for month in wanted:
            first = month_bounds(month)[0]
            seed_of_month = seed + first.year * 12 + first.month
            pending.append(
                (
                    month,
                    writer.submit(
                        write_month, addresses, first, folder / month, seed=seed_of_month, thin=month not in full
                    ),
                )
            )
        for month, written in pending:
            _ingest_month(runtime, month, folder / month, written.result(), definitions, progress)
            if month not in full:  # a thin month's logs are not worth keeping on disk (a full one's are)
                shutil.rmtree(folder / month)


def _ingest_month(
    runtime: Runtime,
    month: str,
    out: Path,
    counts: dict[str, int],
    definitions: object,
    progress: Callable[[str], None],
) -> None:
    tz = runtime.settings.tz
    # As logrotate leaves them: written until the month's end (that fixes the year of syslog lines).
    ended = dt.datetime.combine(month_bounds(month)[1], dt.time(23, 59), tzinfo=tz).timestamp()
    lines = 0
    for name in sorted(counts):
        os.utime(out / name, (ended, ended))
        lines += ingest_file(runtime.session_factory, out / name, tz=tz).lines
    with runtime.unit_of_work() as session:
        report = generate(session, DEMO_ACTOR, month, definitions)  # type: ignore[arg-type]
        share = report.data["province"]["regular_share"]
    progress(f"usage {month}: {lines:,} log lines ingested; regular use {share * 100 if share else 0:.1f}%")


def _points(session: object, names: Sequence[str]) -> list[BridgePoint]:
    found = session.scalars(select(BridgePoint).where(BridgePoint.name.in_(list(names))))  # type: ignore[attr-defined]
    return sorted(found, key=lambda p: p.name)


def briefing(
    runtime: Runtime,
    title: str,
    host_name: str,
    point_names: Sequence[str] | None,
    starts_at: dt.datetime,
    rule: Recurrence,
    rng: random.Random,
) -> int:
    """A series of briefings from ``starts_at`` under ``rule``, hosted by ``host_name`` with the named points (None:
    every commune and ward point), and the attendance of the occurrences already held; how many were held."""
    env = runtime.meeting_env
    with runtime.unit_of_work() as session:
        host = _points(session, [host_name])[0]
        points = points_of_group(session, "commune") if point_names is None else _points(session, point_names)
        series = book_meeting(
            session,
            DEMO_ACTOR,
            env,
            MeetingDraft(
                title=title,
                starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(hours=2),
                host_point_id=host.id,
                point_ids=[p.id for p in points if p.id != host.id],
                agenda="Tình hình kinh tế – xã hội; nhiệm vụ trọng tâm thời gian tới.",
                organiser_name="Văn phòng UBND tỉnh",
                organiser_email=f"vanphong@{runtime.settings.mail_domain}",
                recurrence=rule,
            ),
        )
        return _attend(runtime, session, series, host.id, rng)


def first_monday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 1)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def _attend(runtime: Runtime, session: object, series: Sequence[Meeting], host_id: int, rng: random.Random) -> int:
    """Attendance of the occurrences already held, as Jitsi's event-sync component would have posted it."""
    now = dt.datetime.now(dt.UTC)
    held = 0
    for meeting in series:
        if meeting.ends_at > now:
            continue
        held += 1
        opened = int(meeting.block_start.timestamp()) + 300
        handle_event(session, "room/created", {"room_name": meeting.room_name, "created_at": opened})  # type: ignore[arg-type]
        for mp in meeting.points:
            if mp.point_id != host_id and rng.random() < 0.12:
                continue  # a district or commune that did not connect this week
            joined = opened + rng.randint(0, 40 * 60)
            jid = f"{meeting.room_name}@conference.{runtime.settings.jitsi_domain}/{mp.point_id:04x}{held:02x}"
            occupant = {"occupant_jid": jid, "name": mp.point.name, "id": f"point-{mp.point_id}", "joined_at": joined}
            handle_event(session, "occupant/joined", {"room_name": meeting.room_name, "occupant": occupant})  # type: ignore[arg-type]
            left = int(meeting.ends_at.timestamp()) - rng.randint(0, 20 * 60)
            handle_event(
                session,  # type: ignore[arg-type]
                "occupant/left",
                {"room_name": meeting.room_name, "occupant": {**occupant, "left_at": left}},
            )
        handle_event(
            session,  # type: ignore[arg-type]
            "room/destroyed",
            {"room_name": meeting.room_name, "destroyed_at": int(meeting.ends_at.timestamp())},
        )
    return held


def conference_next_week(runtime: Runtime) -> None:
    """The conference on digital transformation in 2027, for every commune and ward, next week."""
    env = runtime.meeting_env
    today = dt.datetime.now(env.tz).date()
    monday = today - dt.timedelta(days=today.weekday())
    start = dt.datetime.combine(monday + dt.timedelta(days=9), dt.time(8, 0), tzinfo=env.tz)
    with runtime.unit_of_work() as session:
        hall = _points(session, [HALL])[0]
        ict = _points(session, ["Phòng họp trực tuyến Sở TT&TT"])
        book_meeting(
            session,
            DEMO_ACTOR,
            env,
            MeetingDraft(
                title="Hội nghị trực tuyến triển khai chuyển đổi số năm 2027",
                starts_at=start,
                ends_at=start + dt.timedelta(hours=3, minutes=30),
                host_point_id=hall.id,
                point_ids=[p.id for p in points_of_group(session, "commune")] + [p.id for p in ict],
                agenda="Quán triệt kế hoạch; tham luận của các xã, phường; kết luận của Chủ tịch UBND tỉnh.",
                organiser_name="Văn phòng UBND tỉnh",
                organiser_email=f"vanphong@{runtime.settings.mail_domain}",
            ),
        )
