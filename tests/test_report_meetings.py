"""Meetings in the report counted for each unit through its bridge points: a district's row counts the meetings
its point took part in, not only those it hosted; a subtree counts a meeting once."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit.definitions import definitions_from
from audit.exports import to_csv
from audit.report import build_report, generate
from core.actors import SYSTEM
from meetings.attendance import handle_event
from meetings.operations.changes import cancel_meeting
from meetings.operations.roll_call import mark_roll_call
from meetings.queries import load_meeting
from provisioning.models import Role, UnitKind

DAY = dt.date(2027, 10, 5)  # a Tuesday


def _at(runtime: Runtime, hhmm: str) -> dt.datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=runtime.settings.tz)


def _present(db: Session, meeting: Any, point: Any, start: dt.datetime, minutes: int) -> None:
    """Jitsi's event-sync: the point's device joined and left after ``minutes``."""
    occupant = {"occupant_jid": f"p{point.id}@meet/{start:%H%M}", "id": f"point-{point.id}", "name": point.name}
    joined = int(start.timestamp())
    room = {"room_name": meeting.room_name}
    handle_event(db, "occupant/joined", {**room, "occupant": {**occupant, "joined_at": joined}})
    handle_event(db, "occupant/left", {**room, "occupant": {**occupant, "left_at": joined + minutes * 60}})


def _row(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(u for u in data["units"] if u["code"] == code)


def test_a_district_row_counts_the_meetings_its_point_took_part_in(
    db: Session,
    runtime: Runtime,
    create_unit: Any,
    create_point: Any,
    create_meeting: Any,
    client_as: Any,
) -> None:
    office = create_unit(name="Văn phòng UBND tỉnh (thử)", kind=UnitKind.OFFICE)
    district = create_unit(name="UBND huyện Chư Păh (thử)", kind=UnitKind.DISTRICT)
    commune = create_unit(name="UBND xã Ia Ly (thử)", kind=UnitKind.COMMUNE, parent=district)
    hall, district_point, commune_point = create_point(office), create_point(district), create_point(commune)

    # The province's conference: hosted by the office, the district's point joins for an hour.
    conference = create_meeting([hall, district_point], _at(runtime, "08:00"), _at(runtime, "10:00"))
    _present(db, conference, district_point, _at(runtime, "08:00"), 60)
    # The district's own meeting with its commune: the district's point connects 30 minutes; the commune dials in
    # by phone, Jitsi never sees it, the host's secretary marks it present.
    own = create_meeting([district_point, commune_point], _at(runtime, "14:00"), _at(runtime, "15:00"))
    _present(db, own, district_point, _at(runtime, "14:00"), 30)
    loaded = load_meeting(db, own.id)
    assert loaded is not None
    mark_roll_call(db, SYSTEM, loaded, commune_point.id, True)
    # A cancelled meeting with the district's point counts nowhere.
    cancelled = create_meeting([hall, district_point], _at(runtime, "16:00"), _at(runtime, "17:00"))
    cancel_meeting(db, SYSTEM, runtime.meeting_env, cancelled, reason="hoãn")

    data = build_report(db, f"{DAY:%Y-%m}", definitions_from(runtime.settings))
    district_row, commune_row, office_row = (_row(data, u.code)["meetings"] for u in (district, commune, office))
    assert district_row == {
        "held": 1,  # its own meeting
        "hours": 1.0,
        "took_part": 2,  # the conference through its point, its own meeting once (two of its points were in it)
        "planned_points": 3,
        "attended_points": 3,
        "minutes": 90.0,
    }
    assert commune_row == {
        "held": 0,
        "hours": 0,
        "took_part": 1,
        "planned_points": 1,
        "attended_points": 1,  # by roll call
        "minutes": 0,  # Jitsi saw no connection
    }
    assert office_row["held"] == 1
    assert (office_row["took_part"], office_row["planned_points"], office_row["attended_points"]) == (1, 1, 0)
    # Per unit through points adds up to the province's totals.
    root = next(u for u in data["units"] if u["parent_id"] is None)["meetings"]
    province = data["meetings"]
    assert (root["held"], root["planned_points"], root["attended_points"]) == (
        province["held"],
        province["planned_points"],
        province["attended_points"],
    )

    # The page and the CSV show the district's row so.
    report = generate(db, SYSTEM, f"{DAY:%Y-%m}", definitions_from(runtime.settings))
    page = client_as(Role.AUDITOR).get(f"/reports/{report.id}").get_data(as_text=True)
    row = re.search(rf'<tr data-code="{district.code}">(.*?)</tr>', page, re.S)
    assert row is not None
    cells = {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in re.findall(r'data-figure="(\w+)">(.*?)</td>', row[1])}
    assert cells == {"took_part": "2", "points": "3/3", "minutes": "90"}
    rows = list(csv.DictReader(io.StringIO(to_csv(report.data).decode("utf-8-sig"))))
    district_csv = next(r for r in rows if r["Mã đơn vị"] == district.code)
    assert int(district_csv["Cuộc họp tham gia (qua điểm cầu)"]) == 2
    assert (int(district_csv["Điểm cầu kế hoạch"]), int(district_csv["Điểm cầu tham dự"])) == (3, 3)
    assert float(district_csv["Phút tham dự"]) == 90.0
    assert district_csv["Mã đơn vị cấp trên"] == next(u for u in data["units"] if u["id"] == district.parent_id)["code"]
