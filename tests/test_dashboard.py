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
