"""Booking meetings across bridge points: conflicts (buffer included), series, find a time, Jitsi tokens."""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import icalendar
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from core import outbox
from core.actors import SYSTEM, Actor, PermissionDenied
from core.outbox import MailJob
from meetings import invitations
from meetings.availability import find_slots
from meetings.errors import MeetingConflict, MeetingsError
from meetings.jitsi import person_participant, point_participant, prosody_config, token_for
from meetings.models import BridgePoint, Meeting
from meetings.operations.bookings import MeetingDraft, book_meeting
from meetings.operations.changes import MeetingChanges, cancel_meeting, change_meeting
from meetings.operations.points import points_of_group, update_bridge_point
from meetings.operations.suggestions import find_free_slots
from meetings.queries import visible_meetings
from meetings.recurrence import Recurrence
from provisioning.actors import actor_for_staff
from provisioning.models import Role, Staff, Unit, UnitKind
from tests.factories import PASSWORD, unique
from tests.jitsi_verifier import ProsodyTokenRules, Refused

DAY = dt.date(2027, 3, 1)  # a Monday


@pytest.fixture
def env(runtime: Runtime) -> Any:
    return runtime.meeting_env


def at(env: Any, day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=env.tz)


@dataclass
class Points:
    """The bridge points a test books: the province hall (host), a department's room and some district points."""

    hall: BridgePoint
    ict: BridgePoint
    districts: list[BridgePoint]


DISTRICT_POINTS = 6


@pytest.fixture
def points(create_unit: Callable[..., Unit], create_point: Callable[..., BridgePoint]) -> Points:
    """The province office's hall, the ICT department's room and six district points, each with its contact
    mailbox (the technician on duty), as the demo registers them."""

    def with_contact(unit: Unit, name: str) -> BridgePoint:
        return create_point(unit, name=unique(name), contact=f"diemcau.{unit.code.lower()}@gialai.gov.vn")

    office = create_unit(name="Văn phòng UBND tỉnh (thử)", kind=UnitKind.OFFICE)
    ict = create_unit(name="Sở Thông tin và Truyền thông (thử)", kind=UnitKind.DEPARTMENT)
    districts = [
        with_contact(create_unit(name=f"UBND huyện thử {n}", kind=UnitKind.DISTRICT), f"Điểm cầu H. Thử {n} ")
        for n in range(1, DISTRICT_POINTS + 1)
    ]
    return Points(with_contact(office, "Hội trường UBND tỉnh "), with_contact(ict, "Phòng họp trực tuyến "), districts)


@pytest.fixture
def secretary_staff(create_staff: Callable[..., Staff], points: Points) -> Staff:
    """A province-wide secretary of the province office, with a password to sign in."""
    return create_staff(points.hall.unit, full_name="Trần Thị Thư", role=Role.SECRETARY, password=PASSWORD)


@pytest.fixture
def secretary(secretary_staff: Staff) -> Actor:
    return actor_for_staff(secretary_staff)


@pytest.fixture
def actor_as(create_staff: Callable[..., Staff], points: Points) -> Callable[[str], Actor]:
    """``actor_as(role)``: a new person holding ``role``; a unit admin administers the first district."""

    def _actor_as(role: str) -> Actor:
        unit = points.districts[0].unit if role == Role.UNIT_ADMIN else None
        return actor_for_staff(create_staff(unit, role=role))

    return _actor_as


def draft(host: BridgePoint, env: Any, start: str, end: str, joining: list[BridgePoint], **extra: Any) -> MeetingDraft:
    day = extra.pop("day", DAY)
    return MeetingDraft(
        title=extra.pop("title", "Giao ban trực tuyến"),
        starts_at=at(env, day, start),
        ends_at=at(env, day, end),
        host_point_id=host.id,
        point_ids=[p.id for p in joining],
        **extra,
    )


def test_district_group_is_every_active_district_point(
    db: Session, points: Points, create_unit: Callable[..., Unit], create_point: Callable[..., BridgePoint]
) -> None:
    retired = create_point(create_unit(kind=UnitKind.DISTRICT), name=unique("Điểm cầu H. Ngừng "))
    update_bridge_point(db, SYSTEM, retired, is_active=False)
    group = points_of_group(db, "district")
    names = [p.name for p in group]
    assert len(set(points.districts) & set(group)) == DISTRICT_POINTS
    assert points.districts[0].name in names
    # Only active district points: not the hall, not a department's room, not a point out of service.
    assert {points.hall, points.ict, retired}.isdisjoint(group)
    assert all(p.is_active and p.unit.kind == UnitKind.DISTRICT for p in group)


def test_booking_holds_every_point_and_a_clash_names_each_busy_point(
    db: Session, env: Any, secretary: Actor, points: Points
) -> None:
    hall, districts = points.hall, points.districts
    (meeting,) = book_meeting(db, secretary, env, draft(hall, env, "08:00", "10:00", districts))
    assert {mp.point_id for mp in meeting.points} == {hall.id, *(p.id for p in districts)}
    assert meeting.block_start == at(env, DAY, "07:30")  # the default 30-minute set-up buffer
    assert len(meeting.room_name) >= 30
    assert meeting.room_name.isalnum()

    # Another meeting at 10:15 with two of the same districts: its buffer (09:45) overlaps the first meeting.
    two = [districts[0], districts[5]]
    with pytest.raises(MeetingConflict) as refused:
        book_meeting(db, secretary, env, draft(points.ict, env, "10:15", "11:00", two, title="Họp chuyên đề"))
    conflicts = refused.value.conflicts
    assert {c.point_name for c in conflicts} == {districts[0].name, districts[5].name}
    assert all(c.meeting_id == meeting.id for c in conflicts)
    message = str(refused.value)
    assert districts[0].name in message
    assert "Giao ban trực tuyến" in message
    assert "08:00" in message

    # With no buffer the same slot is free.
    again = draft(points.ict, env, "10:15", "11:00", two, title="Họp chuyên đề", buffer_minutes=0)
    (second,) = book_meeting(db, secretary, env, again)
    assert second.id != meeting.id


def test_bad_drafts_name_the_field(db: Session, env: Any, secretary: Actor, points: Points) -> None:
    hall = points.hall
    with pytest.raises(MeetingsError, match="end: must be after the start"):
        book_meeting(db, secretary, env, draft(hall, env, "10:00", "09:00", []))
    with pytest.raises(MeetingsError, match="title"):
        book_meeting(db, secretary, env, draft(hall, env, "10:00", "11:00", [], title="  "))
    with pytest.raises(MeetingsError, match="invited people: 'not-an-address'"):
        book_meeting(db, secretary, env, draft(hall, env, "10:00", "11:00", [], invitees=[("not-an-address", "")]))
    assert db.scalar(select(Meeting).where(Meeting.title == "Giao ban trực tuyến")) is None


def test_only_secretaries_and_system_admins_book(
    db: Session, env: Any, points: Points, actor_as: Callable[[str], Actor]
) -> None:
    for role in (Role.AUDITOR, Role.UNIT_ADMIN):
        with pytest.raises(PermissionDenied):
            book_meeting(db, actor_as(role), env, draft(points.hall, env, "13:00", "14:00", []))
    (ok,) = book_meeting(db, actor_as(Role.SYSTEM_ADMIN), env, draft(points.hall, env, "13:00", "14:00", []))
    assert ok.id


def test_weekly_series_with_one_cancelled_occurrence(
    db: Session,
    env: Any,
    secretary: Actor,
    secretary_staff: Staff,
    points: Points,
    client_for: Callable[..., Any],
    runtime: Runtime,
) -> None:
    rule = Recurrence("weekly", 1, (0, 3), None, 6)  # Mondays and Thursdays, six times
    some = points.districts[:3]
    series = book_meeting(db, secretary, env, draft(points.hall, env, "14:00", "15:00", some, recurrence=rule))
    local_days = [m.starts_at.astimezone(env.tz).strftime("%a %d/%m %H:%M") for m in series]
    assert local_days == [
        "Mon 01/03 14:00",
        "Thu 04/03 14:00",
        "Mon 08/03 14:00",
        "Thu 11/03 14:00",
        "Mon 15/03 14:00",
        "Thu 18/03 14:00",
    ]
    assert len({m.room_name for m in series}) == 6
    cancel_meeting(db, secretary, env, series[2], scope="one", reason="Trùng lịch tiếp dân")

    # The calendar of the week of 08/03 shows Thursday only; the slot on Monday is free again.
    week = visible_meetings(db, at(env, dt.date(2027, 3, 8), "00:00"), at(env, dt.date(2027, 3, 15), "00:00"))
    shown = [m for m in week if m.series_id == series[0].series_id and not m.is_cancelled]
    assert [m.starts_at.astimezone(env.tz).day for m in shown] == [11]
    (other,) = book_meeting(
        db,
        secretary,
        env,
        draft(points.hall, env, "14:00", "15:00", some, day=dt.date(2027, 3, 8), title="Họp đột xuất"),
    )
    assert other.id

    # The same on the point's week calendar page.
    page = (
        client_for(secretary_staff)
        .get(f"/points/{some[0].id}/calendar?view=week&date=2027-03-08")
        .get_data(as_text=True)
    )
    week_part, _, cancelled_part = page.partition("Đã hủy trong khoảng này")
    assert "Họp đột xuất" in week_part
    assert week_part.count("Giao ban trực tuyến") == 1
    assert "08/03/2027 14:00 Giao ban trực tuyến" in cancelled_part

    # The series' iCalendar: RRULE with the cancelled date excluded, five remaining occurrences.
    contact = invitations.Recipient(
        "an@gialai.gov.vn", "An", person_participant(series[0], "an@gialai.gov.vn", "An"), "invitee"
    )
    cal = icalendar.Calendar.from_ical(invitations.series_calendar(series, env, contact))
    events = [c for c in cal.walk("VEVENT")]
    master = next(e for e in events if "RRULE" in e)
    assert master["RRULE"]["FREQ"] == ["WEEKLY"]
    assert master["RRULE"]["BYDAY"] == ["MO", "TH"]
    exdates = [d.dt for ex in _as_list(master.get("EXDATE")) for d in ex.dts]
    assert [d.strftime("%d/%m %H:%M") for d in exdates] == ["08/03 14:00"]
    assert str(exdates[0].tzinfo) == "Asia/Ho_Chi_Minh"
    overrides = sorted(e["RECURRENCE-ID"].dt for e in events if "RECURRENCE-ID" in e)
    assert [d.strftime("%d/%m") for d in overrides] == ["01/03", "04/03", "11/03", "15/03", "18/03"]

    # The cancellation mail for that occurrence is METHOD:CANCEL with its RECURRENCE-ID.
    cancels = db.scalars(
        select(MailJob).where(MailJob.kind == "cancel", MailJob.subject_ref == f"meeting:{series[2].id}")
    ).all()
    assert cancels, "point contacts get the cancellation"
    rendered = outbox.render(db, cancels[0], runtime.mail_renderers)
    cancel = icalendar.Calendar.from_ical(rendered.calendar)
    assert cancel["METHOD"] == "CANCEL"
    (vevent,) = cancel.walk("VEVENT")
    assert vevent["RECURRENCE-ID"].dt == at(env, dt.date(2027, 3, 8), "14:00")
    assert "Trùng lịch tiếp dân" in rendered.body


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def test_change_one_occurrence_raises_sequence_and_checks_conflicts(
    db: Session, env: Any, secretary: Actor, points: Points
) -> None:
    rule = Recurrence("daily", 1, (), DAY + dt.timedelta(days=2), None)
    series = book_meeting(
        db, secretary, env, draft(points.hall, env, "09:00", "10:00", points.districts[:2], recurrence=rule)
    )
    assert len(series) == 3
    (moved,) = change_meeting(
        db,
        secretary,
        env,
        series[1],
        MeetingChanges(starts_at=at(env, DAY + dt.timedelta(days=1), "15:00")),
        scope="one",
    )
    assert moved.starts_at == at(env, DAY + dt.timedelta(days=1), "15:00")
    assert moved.ends_at == at(env, DAY + dt.timedelta(days=1), "16:00")
    assert moved.sequence == 1
    assert series[0].sequence == 0
    assert moved.occurrence_start == at(env, DAY + dt.timedelta(days=1), "09:00")  # RECURRENCE-ID unchanged
    # Moving it onto the third occurrence's day and time clashes with the series itself.
    with pytest.raises(MeetingConflict):
        change_meeting(
            db, secretary, env, series[1], MeetingChanges(starts_at=at(env, DAY + dt.timedelta(days=2), "09:30"))
        )
    # Whole series: new title everywhere.
    changed = change_meeting(db, secretary, env, series[0], MeetingChanges(title="Giao ban tuần"), scope="series")
    assert {m.title for m in changed} == {"Giao ban tuần"}


def test_find_a_time_skips_busy_points_weekends_and_holidays(
    db: Session, env: Any, secretary: Actor, points: Points
) -> None:
    hall, some = points.hall, points.districts[:4]
    # Thursday 31/12/2026 and Friday 01/01/2027 are holidays in the test settings.
    thursday = dt.date(2026, 12, 31)
    book_meeting(db, secretary, env, draft(hall, env, "07:30", "10:00", some[:1], day=dt.date(2026, 12, 30)))
    book_meeting(db, secretary, env, draft(hall, env, "10:30", "11:30", some[2:3], day=dt.date(2026, 12, 30)))
    working = [(dt.time(7, 30), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0))]
    slots = find_slots(
        db,
        [hall.id] + [p.id for p in some],
        dt.timedelta(hours=1),
        dt.date(2026, 12, 30),
        dt.date(2027, 1, 5),
        tz=env.tz,
        working_hours=working,
        holidays=frozenset({thursday, dt.date(2027, 1, 1)}),
        buffer=dt.timedelta(minutes=30),
        limit=4,
    )
    shown = [f"{s.start:%a %d/%m %H:%M}-{s.end:%H:%M}" for s in slots]
    # 30/12: held 07:00–10:00 and 10:00–11:30 (with buffers), so the afternoon; then Monday 04/01.
    assert shown == [
        "Wed 30/12 13:30-14:30",
        "Wed 30/12 14:30-15:30",
        "Wed 30/12 15:30-16:30",
        "Mon 04/01 07:30-08:30",
    ]


def test_tokens_follow_jitsi_rules(db: Session, env: Any, secretary: Actor, points: Points, runtime: Runtime) -> None:
    hall = points.hall
    (meeting,) = book_meeting(
        db,
        secretary,
        env,
        draft(
            hall,
            env,
            "08:00",
            "09:00",
            points.districts[:1],
            organiser_email="thuky@gialai.gov.vn",
            organiser_name="Thư ký",
        ),
    )
    config_text = prosody_config(env.jitsi, runtime.settings.public_url)
    rules = ProsodyTokenRules(
        app_secret=runtime.settings.jitsi_app_secret,
        accepted_issuers=tuple(re.findall(r'asap_accepted_issuers = \{ "([^"]+)" \}', config_text)),
        accepted_audiences=tuple(re.findall(r'asap_accepted_audiences = \{ "([^"]+)" \}', config_text)),
        domain=re.search(r'VirtualHost "([^"]+)"', config_text).group(1),  # type: ignore[union-attr]
    )
    assert rules.accepted_issuers == (env.jitsi.app_id,)
    during = at(env, DAY, "08:30").timestamp()
    host_token = token_for(env.jitsi, meeting, point_participant(meeting, hall))
    claims = rules.verify(host_token, meeting.room_name, now=during)
    assert claims["context"]["user"] == {
        "id": f"point-{hall.id}",
        "name": hall.name,
        "email": hall.contact_email,
        "moderator": True,
        "affiliation": "owner",
        "lobby_bypass": True,
    }
    assert hall.name.startswith("Hội trường UBND tỉnh")
    assert hall.contact_email
    assert "moderator" not in claims  # Jitsi reads only context.user
    assert claims["nbf"] == int(at(env, DAY, "07:30").timestamp())  # start of the set-up buffer
    assert claims["exp"] == int(at(env, DAY, "09:00").timestamp()) + 60 * env.jitsi.grace_minutes
    district = points.districts[0]
    district_claims = rules.verify(
        token_for(env.jitsi, meeting, point_participant(meeting, district)), meeting.room_name, now=during
    )
    assert district_claims["context"]["user"]["moderator"] is False
    assert district_claims["context"]["user"]["affiliation"] == "member"
    organiser = rules.verify(
        token_for(env.jitsi, meeting, person_participant(meeting, "thuky@gialai.gov.vn", "Thư ký")),
        meeting.room_name,
        now=during,
    )
    assert organiser["context"]["user"]["moderator"] is True

    with pytest.raises(Refused, match="room"):
        rules.verify(host_token, "cvanotherroom", now=during)
    with pytest.raises(Refused, match="expired"):
        rules.verify(host_token, meeting.room_name, now=at(env, DAY, "09:15").timestamp())
    with pytest.raises(Refused, match="not yet valid"):
        rules.verify(host_token, meeting.room_name, now=at(env, DAY, "07:29").timestamp())
    forged = ProsodyTokenRules("another-secret", rules.accepted_issuers, rules.accepted_audiences, rules.domain)
    with pytest.raises(Refused, match="signature"):
        forged.verify(host_token, meeting.room_name, now=during)
    assert "app_secret = os.getenv" in config_text
    assert runtime.settings.jitsi_app_secret not in config_text


def test_invitations_queue_one_mail_per_recipient_with_its_link(
    db: Session, env: Any, secretary: Actor, points: Points, runtime: Runtime
) -> None:
    hall, some = points.hall, points.districts[:2]
    (meeting,) = book_meeting(
        db, secretary, env, draft(hall, env, "08:00", "09:00", some, invitees=[("kpa.hoa@gialai.gov.vn", "Kpă Hoa")])
    )
    mails = db.scalars(select(MailJob).where(MailJob.subject_ref == f"meeting:{meeting.id}")).all()
    recipients = sorted(m.recipient for m in mails)
    assert recipients == sorted([hall.contact_email, *(p.contact_email for p in some), "kpa.hoa@gialai.gov.vn"])
    for mail in mails:
        assert mail.subject == "Mời họp trực tuyến: Giao ban trực tuyến – 08:00 01/03/2027"
        assert mail.body == ""  # rendered by the sender after the commit
        link = re.search(r"https://\S+\?jwt=\S+", outbox.render(db, mail, runtime.mail_renderers).body)
        assert link
        assert meeting.room_name in link.group(0)


def test_only_those_who_book_find_a_time_and_get_links(
    db: Session, env: Any, secretary: Actor, points: Points, actor_as: Callable[[str], Actor]
) -> None:
    hall = points.hall
    (meeting,) = book_meeting(db, secretary, env, draft(hall, env, "08:00", "09:00", points.districts[:2]))
    auditor = actor_as(Role.AUDITOR)
    window = (dt.timedelta(hours=1), DAY, DAY)
    with pytest.raises(PermissionDenied):
        find_free_slots(db, auditor, env, [hall.id], *window)
    with pytest.raises(PermissionDenied):
        invitations.meeting_links(auditor, env, meeting)
    with pytest.raises(PermissionDenied):
        invitations.organiser_calendar(auditor, env, meeting)
    assert find_free_slots(db, secretary, env, [hall.id], *window)
    links = invitations.meeting_links(secretary, env, meeting)
    assert len(links) == 3  # the host and both district points, each with its own link
    assert all(f"/{meeting.room_name}?jwt=" in link for _who, _role, link in links)
    assert "BEGIN:VCALENDAR" in invitations.organiser_calendar(secretary, env, meeting)
    for role in (Role.AUDITOR, Role.UNIT_ADMIN):
        with pytest.raises(PermissionDenied):
            cancel_meeting(db, actor_as(role), env, meeting)
    assert not meeting.is_cancelled


def _meetings_imports(path: Path, modules: set[str]) -> set[str]:
    """The meetings modules ``path`` imports anywhere in it: at the top, inside functions, under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found.update(name for name in names if name in modules)
    return found


def test_meetings_modules_import_no_circle_and_stay_small() -> None:
    root = Path(__file__).resolve().parent.parent
    paths = {
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (root / "meetings").rglob("*.py")
    }
    graph = {name: _meetings_imports(path, set(paths)) - {name} for name, path in paths.items()}
    circles: list[list[str]] = []
    done: set[str] = set()

    def walk(name: str, trail: list[str]) -> None:
        if name in trail:
            circles.append([*trail[trail.index(name) :], name])
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            if not target.startswith(name + "."):  # a package's own modules are not a circle with it
                walk(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        walk(name, [])
    assert not circles, circles
    pages = ["meetings_views.py", "points_views.py", "api/meetings.py", "cli/meetings.py"]
    sizes = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines()) for p in paths.values()}
    sizes |= {f"admin_app/{p}": len((root / "admin_app" / p).read_text(encoding="utf-8").splitlines()) for p in pages}
    assert {path: n for path, n in sizes.items() if n >= 400} == {}
