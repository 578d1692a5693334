"""The dashboard per role: an IT admin sees failing directory jobs, idle mailboxes and failed-login hot spots in
their scope; a secretary today's meetings with their points' attendance; an auditor the headline figures in
the Vietnamese form, their 12-month trend and the units ranked."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.orm import Session

from audit.models import MonthlyReport, UsageDay
from provisioning.models import DirectoryJob


def _figure(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert found is not None, element_id
    return found.group(1)


def test_an_admin_sees_failures_idle_mailboxes_and_hot_spots_of_their_scope(
    db: Session, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    mine, other = create_unit(kind="commune"), create_unit(kind="commune")
    idle_here = create_staff(mine, full_name="Nguyễn Văn Nhàn")
    create_staff(other, full_name="Trần Thị Khác")
    admin = client_as("unit_admin", unit=mine)  # signing in syncs the directory: the failure comes after
    db.add(DirectoryJob(action="sync_staff", object_id=idle_here.id, status="failed", last_error="slapd said no"))
    db.add(UsageDay(staff_id=idle_here.id, day=dt.date.today(), failed_logins=7))
    db.flush()
    page = admin.get("/").get_data(as_text=True)
    assert _figure(page, "jobs-failed") == "1"
    inactive = int(_figure(page, "inactive-30").replace(".", ""))
    assert inactive >= 2  # the idle person and the admin, both in this commune; not the other commune's
    assert "Nguyễn Văn Nhàn" in re.search(r'<ul id="hot-spots">(.*?)</ul>', page, re.S).group(1)  # type: ignore[union-attr]
    other_admin = client_as("unit_admin", unit=other)
    db.add(DirectoryJob(action="sync_staff", object_id=idle_here.id, status="failed", last_error="slapd said no"))
    db.flush()
    elsewhere = other_admin.get("/").get_data(as_text=True)
    assert _figure(elsewhere, "jobs-failed") == "0"
    assert 'id="hot-spots"' not in elsewhere


def test_a_secretary_sees_todays_meetings_with_attendance(
    db: Session, runtime: Any, client_as: Any, create_point: Any, create_meeting: Any
) -> None:
    now = dt.datetime.now(runtime.meeting_env.tz)
    start = now.replace(hour=23, minute=0, second=0, microsecond=0) if now.hour < 23 else now
    create_meeting(
        [create_point(), create_point()], start=start, end=start + dt.timedelta(minutes=30), title="Họp hôm nay"
    )
    page = client_as("secretary").get("/").get_data(as_text=True)
    today = re.search(r'<section id="todays-meetings">(.*?)</section>', page, re.S)
    assert today is not None
    assert "Họp hôm nay" in today.group(1)
    assert "0 / 2" in today.group(1)
    week = re.search(r'<ul id="week-meetings">(.*?)</ul>', page, re.S)  # this week's, today's among them
    assert week is not None
    assert "Họp hôm nay" in week.group(1)
    assert "2 điểm cầu" in week.group(1)


def test_a_meeting_under_way_shows_its_points_attended_in_the_weeks_list(
    db: Session, runtime: Any, client_as: Any, create_point: Any, create_meeting: Any
) -> None:
    from core.actors import SYSTEM
    from meetings.operations.roll_call import mark_roll_call

    now = dt.datetime.now(runtime.meeting_env.tz).replace(second=0, microsecond=0)
    present, absent = create_point(), create_point()
    meeting = create_meeting(
        [present, absent],
        start=max(now - dt.timedelta(minutes=20), now.replace(hour=0, minute=0)),  # begun, and today: this week
        end=now + dt.timedelta(minutes=40),
        title="Họp đang diễn ra",
    )
    mark_roll_call(db, SYSTEM, meeting, present.id, True)
    db.flush()
    page = client_as("secretary").get("/").get_data(as_text=True)
    week = re.search(r'<ul id="week-meetings">(.*?)</ul>', page, re.S)
    assert week is not None
    line = next(li for li in week.group(1).split("<li>") if "Họp đang diễn ra" in li)
    assert "1 / 2 điểm cầu tham gia" in line  # the one the host's secretary marked present, of the two planned


def test_the_lists_count_attended_points_as_the_meetings_page_does(
    db: Session, runtime: Any, client_as: Any, create_point: Any, create_meeting: Any
) -> None:
    """Seen by Jitsi, seen but marked absent, marked present unseen, neither: two of four attended, on the
    dashboard as on the meeting's own page (meetings.attendance.point_attendance)."""
    from core.actors import SYSTEM
    from meetings.attendance import point_attendance, points_attended
    from meetings.models import Attendance
    from meetings.operations.roll_call import mark_roll_call

    now = dt.datetime.now(runtime.meeting_env.tz).replace(second=0, microsecond=0)
    seen, seen_absent, marked, nothing = (create_point() for _ in range(4))
    meeting = create_meeting(
        [seen, seen_absent, marked, nothing],
        start=max(now - dt.timedelta(minutes=20), now.replace(hour=0, minute=0)),
        end=now + dt.timedelta(minutes=40),
        title="Họp bốn điểm cầu",
    )
    for point in (seen, seen_absent):
        db.add(Attendance(meeting_id=meeting.id, point_id=point.id, occupant_jid=f"p{point.id}", joined_at=now))
    db.flush()
    mark_roll_call(db, SYSTEM, meeting, seen_absent.id, False)
    mark_roll_call(db, SYSTEM, meeting, marked.id, True)
    db.flush()
    db.expire(meeting)
    assert [p.attended for p in point_attendance(meeting)].count(True) == 2
    assert points_attended(db, [meeting.id]) == {meeting.id: (4, 2)}
    page = client_as("secretary").get("/").get_data(as_text=True)
    week = re.search(r'<ul id="week-meetings">(.*?)</ul>', page, re.S)
    assert week is not None
    line = next(li for li in week.group(1).split("<li>") if "Họp bốn điểm cầu" in li)
    assert "2 / 4 điểm cầu tham gia" in line


def test_an_auditor_sees_the_figures_the_trend_and_the_units_ranked(
    db: Session, client_as: Any, create_unit: Any
) -> None:
    this_month = dt.date.today().replace(day=1)
    months = []
    day = this_month
    for _ in range(3):
        day = (day - dt.timedelta(days=1)).replace(day=1)
        months.append(day.strftime("%Y-%m"))
    units = [
        {"depth": 1, "name": "Xã Ít Dùng", "subtree": {"counted": 40, "regular_share": 0.25}},
        {"depth": 1, "name": "Phường Dùng Nhiều", "subtree": {"counted": 60, "regular_share": 0.9}},
    ]
    for i, month in enumerate(sorted(months)):
        province = {"counted": 2067, "active_share": 0.871, "regular_share": 0.5 + i / 10}
        db.add(MonthlyReport(month=month, version=1, data={"province": province, "units": units}))
    db.flush()
    page = client_as("auditor").get("/").get_data(as_text=True)
    assert re.fullmatch(r"87,1\s%", _figure(page, "kpi-active"))  # the Vietnamese form, a (narrow) space before %
    assert "<polyline" in page
    ranked = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td>", page)
    assert ranked[:2] == [("1", "Phường Dùng Nhiều"), ("2", "Xã Ít Dùng")]


def test_a_unit_admin_sees_the_figures_and_trend_of_their_subtree_not_the_provinces(
    db: Session, client_as: Any, create_unit: Any
) -> None:
    mine, other = create_unit(kind="commune"), create_unit(kind="commune")
    month = dt.date.today().replace(day=1)
    months = []
    for _ in range(3):
        month = (month - dt.timedelta(days=1)).replace(day=1)
        months.append(month.strftime("%Y-%m"))
    for i, m in enumerate(sorted(months)):
        ours = {"counted": 40, "active": 30, "regular": 8 + i, "active_share": 0.75, "regular_share": (8 + i) / 40}
        theirs = {"counted": 60, "active": 60, "regular": 60, "active_share": 1.0, "regular_share": 1.0}
        units = [
            {"id": mine.id, "depth": 1, "name": mine.name, "subtree": ours},
            {"id": other.id, "depth": 1, "name": other.name, "subtree": theirs},
        ]
        province = {"counted": 100, "active": 90, "active_share": 0.9, "regular_share": 0.7}
        db.add(MonthlyReport(month=m, version=9, data={"province": province, "units": units}))
    db.flush()
    page = client_as("unit_admin", unit=mine).get("/").get_data(as_text=True)
    assert re.fullmatch(r"25,0\s%", _figure(page, "kpi-regular"))  # 10 of their 40 this month
    assert re.fullmatch(r"75,0\s%", _figure(page, "kpi-active"))  # 30 of their 40, not the province's 90 %
    assert 'id="kpi-scope"' in page
    spark = re.search(r'<polyline points="([^"]+)"', page)
    assert spark is not None
    assert len(spark.group(1).split()) == 3  # their share in each of the three months
    assert 'id="units-ranked"' not in page
    province_reader = client_as("auditor").get("/").get_data(as_text=True)
    assert re.fullmatch(r"90,0\s%", _figure(province_reader, "kpi-active"))
    assert 'id="kpi-scope"' not in province_reader


def test_a_system_admin_sees_waiting_jobs_mail_last_sync_and_mailboxes_by_status(
    db: Session, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    from core.outbox import MailJob

    admin = client_as("system_admin")
    before = admin.get("/").get_data(as_text=True)
    waiting = int(_figure(before, "jobs-pending").replace(".", ""))
    person = create_staff(create_unit(kind="commune"))
    person.status = "disabled"
    db.add(DirectoryJob(action="sync_staff", object_id=person.id, status="pending"))
    db.add(MailJob(kind="test", recipient="a@example.org", subject="x", status="failed"))
    db.flush()
    page = admin.get("/").get_data(as_text=True)
    assert int(_figure(page, "jobs-pending").replace(".", "")) >= waiting + 1
    _pending, failed = (int(x.replace(".", "")) for x in _figure(page, "mail-queue").split(" / "))
    assert failed >= 1
    by_status = re.search(r'<p class="muted" id="by-status">(.*?)</p>', page, re.S)
    assert by_status is not None
    assert re.search(r"Đã khóa: [\d.]+", by_status.group(1))  # mailboxes by status
    assert "lần ghi thư mục gần nhất" in page  # the last successful sync, in Vietnamese


def test_a_unit_admin_counts_mailboxes_by_status_and_idle_in_their_subtree_only(
    db: Session, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    """The mailbox counts of a unit admin's dashboard are their subtree's (a commune under their district
    included), a province-wide admin's the whole province's."""
    from audit.models import LastSeen

    district = create_unit(kind="district")
    commune = create_unit(kind="commune", parent=district)
    elsewhere = create_unit(kind="district")
    seen, idle, locked = create_staff(district), create_staff(commune), create_staff(commune)
    locked.status = "disabled"
    outside = [create_staff(elsewhere) for _ in range(3)]
    now = dt.datetime.now(dt.UTC)
    db.add(LastSeen(staff_id=seen.id, channel="imap", at=now - dt.timedelta(days=2)))
    db.add(LastSeen(staff_id=idle.id, channel="imap", at=now - dt.timedelta(days=45)))
    db.flush()
    page = client_as("unit_admin", unit=district).get("/").get_data(as_text=True)  # the admin sits in the district
    assert _figure(page, "inactive-30") == "2"  # idle and the admin (no mail sign-in); not seen, not the three
    by_status = re.search(r'<p class="muted" id="by-status">(.*?)</p>', page, re.S)
    assert by_status is not None
    assert re.sub(r"\s+", " ", by_status.group(1)).strip() == "Đang hoạt động: 3 · Đã khóa: 1"
    province = client_as("system_admin").get("/").get_data(as_text=True)
    assert int(_figure(province, "inactive-30").replace(".", "")) >= 1 + len(outside)


def test_the_province_wide_idle_count_is_every_active_mailbox_without_a_recent_sign_in(
    db: Session, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    """The province's count is worked out as the active mailboxes less those signed in since (plus back those of
    them not active): it equals counting each active mailbox without a sign-in on any channel for 30 days, with a
    mailbox locked after signing in, one seen on two channels (one of them long ago), one never seen."""
    from sqlalchemy import func, select

    from audit.models import LastSeen
    from provisioning.models import Staff

    unit = create_unit(kind="commune")
    recent, two_channels, old, _never, locked = (create_staff(unit) for _ in range(5))
    locked.status = "disabled"
    now = dt.datetime.now(dt.UTC)
    for person, channel, days in (
        (recent, "imap", 1),
        (two_channels, "imap", 90),
        (two_channels, "webmail", 3),
        (old, "pop3", 31),
        (locked, "smtp", 2),
    ):
        db.add(LastSeen(staff_id=person.id, channel=channel, at=now - dt.timedelta(days=days)))
    db.flush()
    page = client_as("system_admin").get("/").get_data(as_text=True)
    since = now - dt.timedelta(days=30)
    signed_in = select(LastSeen.staff_id).where(LastSeen.at >= since)
    expected = db.scalar(select(func.count()).where(Staff.status == "active", ~Staff.id.in_(signed_in)))
    assert int(_figure(page, "inactive-30").replace(".", "")) == expected
    assert expected >= 2  # "old" and "never" at least (and the admin, who never signed in to mail)
