"""Reports across a reorganisation: a month's report shows that month's tree, even when generated later, and the
change against the previous month and a unit's 12-month trend compare the same people (merged and split units).

The world, built straight through provisioning.history: in June 2025 the districts A, B and C under an office;
on 1 July 2025 A and B merge into a new commune (Xã Hợp), C is split by person between two new communes (C1 gets
c1 and c2, C2 gets c3 and c4; c5 left C in June and stays behind), and the office is renamed. The last test goes
through a real reorganisation plan."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit.definitions import COMPARISON_EN, COMPARISON_VI, Definitions
from audit.exports import to_csv, to_pdf, to_xlsx
from audit.models import UsageDay
from audit.report import build_report, generate
from audit.unit_trend import unit_trend
from core.actors import SYSTEM
from core.tasks import Task
from provisioning import accounts, history
from provisioning.history_models import Reorganisation
from provisioning.models import Role, Staff, StaffStatusChange, Unit, UnitKind
from provisioning.reorg import tasks as reorg_tasks
from tests.plans import plan_workbook

REORGANISED_ON = dt.date(2025, 7, 1)
TZ = dt.timezone(dt.timedelta(hours=7))


def _definitions(runtime: Runtime) -> Definitions:
    return Definitions(regular_days=3, holidays=frozenset(), tz=runtime.settings.tz)


def _working_days(year: int, month: int) -> list[dt.date]:
    first = dt.date(year, month, 1)
    days = (first + dt.timedelta(days=i) for i in range(31))
    return [d for d in days if d.month == month and d.weekday() < 5]


def _use(db: Session, person: Staff, year: int, month: int, days: int, sent: int = 0) -> None:
    """``days`` working days of IMAP logins in the month (3 or more: regular), ``sent`` messages on the first."""
    for i, day in enumerate(_working_days(year, month)[:days]):
        db.add(UsageDay(staff_id=person.id, day=day, imap_logins=2, sent_messages=sent if i == 0 else 0))


def _move(db: Session, person: Staff, unit: Unit) -> None:
    history.remember_placement(db, person.id, person.unit_id, REORGANISED_ON)
    person.unit_id = unit.id


@pytest.fixture
def world(db: Session, create_unit: Any, create_staff: Any) -> dict[str, Any]:
    return build_world(db, create_unit, create_staff)


def build_world(db: Session, create_unit: Any, create_staff: Any) -> dict[str, Any]:
    """The districts of June and the communes of July (the module's docstring), with their usage."""
    parent = create_unit(name="Vùng Thử lịch sử", kind=UnitKind.OFFICE)
    a = create_unit(name="Huyện Thử Ia Hrung", kind=UnitKind.DISTRICT, parent=parent)
    b = create_unit(name="Huyện Thử Chư Bă", kind=UnitKind.DISTRICT, parent=parent)
    c = create_unit(name="Huyện Thử Krông Chro", kind=UnitKind.DISTRICT, parent=parent)
    people = {
        key: create_staff(unit, full_name=name)
        for key, unit, name in (
            ("a1", a, "Nguyễn Văn Một"),
            ("a2", a, "Kpă Thuyên"),
            ("b1", b, "Siu H'Mai"),
            ("b2", b, "Trần Thị Bốn"),
            ("c1", c, "Nay Blum"),
            ("c2", c, "Rơ Châm H'Yao"),
            ("c3", c, "Ksor Y Phước"),
            ("c4", c, "Lê Văn Tám"),
            ("c5", c, "Đinh Thị Chín"),
        )
    }
    for person in people.values():
        person.created_at = dt.datetime(2025, 1, 1, tzinfo=TZ)
    accounts.disable(db, SYSTEM, people["c5"], "nghỉ hưu")
    db.flush()
    change = db.query(StaffStatusChange).filter_by(staff_id=people["c5"].id).one()
    change.changed_at = dt.datetime(2025, 6, 20, 9, tzinfo=TZ)

    # June (22 working days): A 1 of 2 regular, B 1 of 2, C 2 of 5 (c1 and c2; c3 once; c4 and c5 never).
    # May: a1 and b1 regular, a2 once.
    for key, days in (("a1", 5), ("b1", 4), ("b2", 1), ("c1", 6), ("c2", 3), ("c3", 1)):
        _use(db, people[key], 2025, 6, days, sent=1 if key == "a1" else 0)
    for key, days in (("a1", 4), ("a2", 1), ("b1", 3)):
        _use(db, people[key], 2025, 5, days)

    # 1 July 2025: A and B merge into Xã Hợp (new); C is split by person into C1 and C2 (new).
    merged = create_unit(name="Xã Thử Hợp Nhất", kind=UnitKind.COMMUNE, parent=parent)
    c1 = create_unit(name="Xã Thử Chư Mố", kind=UnitKind.COMMUNE, parent=parent)
    c2 = create_unit(name="Phường Thử Ayun", kind=UnitKind.COMMUNE, parent=parent)
    for unit in (merged, c1, c2):
        unit.started_on = REORGANISED_ON
    for key, unit in (("a1", merged), ("a2", merged), ("b1", merged), ("b2", merged)):
        _move(db, people[key], unit)
    for key, unit in (("c1", c1), ("c2", c1), ("c3", c2), ("c4", c2)):
        _move(db, people[key], unit)
    for old, new, kind in ((a, merged, "merge"), (b, merged, "merge"), (c, c1, "split"), (c, c2, "split")):
        history.record_succession(db, old.id, new.id, kind, REORGANISED_ON)
    for unit in (a, b, c):
        history.remember_unit(db, unit, REORGANISED_ON)
        unit.ended_on = REORGANISED_ON
    history.remember_unit(db, parent, REORGANISED_ON)  # the office above is renamed the same day
    parent.name = "Vùng Thử lịch sử (mới)"

    # July (23 working days): Xã Hợp 3 of 4 regular; C1 1 of 2 (c1); C2 2 of 2 (c3 and c4).
    for key, days in (("a1", 5), ("a2", 3), ("b1", 4), ("c1", 3), ("c2", 1), ("c3", 4), ("c4", 3)):
        _use(db, people[key], 2025, 7, days)
    db.flush()
    return {"parent": parent, "a": a, "b": b, "c": c, "merged": merged, "split1": c1, "split2": c2, **people}


def _row(data: dict[str, Any], unit: Unit) -> dict[str, Any] | None:
    return next((r for r in data["units"] if r["id"] == unit.id), None)


def _figures(row: dict[str, Any] | None, part: str = "subtree") -> tuple[int, int, int, int]:
    assert row is not None
    f = row[part]
    return f["counted"], f["active"], f["regular"], f["engaged"]


def test_june_report_generated_later_shows_the_districts_of_june(
    db: Session, runtime: Runtime, world: dict[str, Any]
) -> None:
    june = generate(db, SYSTEM, "2025-06", _definitions(runtime)).data
    assert {r["code"] for r in june["units"]} >= {world[k].code for k in ("a", "b", "c")}
    for key in ("merged", "split1", "split2"):
        assert _row(june, world[key]) is None  # created in July: not in June's tree
    assert _figures(_row(june, world["a"])) == (2, 1, 1, 1)
    assert _figures(_row(june, world["b"])) == (2, 2, 1, 0)
    assert _figures(_row(june, world["c"])) == (5, 3, 2, 0)  # c5 counted: enabled until 20 June
    parent = _row(june, world["parent"])
    assert _figures(parent) == (9, 6, 4, 1)
    assert _row(june, world["a"])["parent_id"] == world["parent"].id  # type: ignore[index]
    assert parent["name"] == "Vùng Thử lịch sử"  # type: ignore[index]  # its name in June
    assert parent["fate"] == {"kind": "renamed", "now": "Vùng Thử lịch sử (mới)"}  # type: ignore[index]
    # The districts are gone today: each says what became of it.
    assert _row(june, world["a"])["fate"] == {"kind": "merge", "into": ["Xã Thử Hợp Nhất"]}  # type: ignore[index]
    assert _row(june, world["c"])["fate"] == {  # type: ignore[index]
        "kind": "split",
        "into": ["Xã Thử Chư Mố", "Phường Thử Ayun"],
    }
    # The June mailboxes without activity are listed under their June unit.
    inactive = {r["email"]: r for r in june["inactive"]}
    assert inactive[world["a2"].email]["unit"] == "Huyện Thử Ia Hrung"
    assert inactive[world["a2"].email]["unit_id"] == world["a"].id
    assert june["definitions"]["comparison"] == COMPARISON_VI
    assert june["definitions"]["comparison_en"] == COMPARISON_EN


def test_july_report_shows_the_communes_and_compares_with_their_predecessors(
    db: Session, runtime: Runtime, world: dict[str, Any]
) -> None:
    july = build_report(db, "2025-07", _definitions(runtime))
    for key in ("a", "b", "c"):
        assert _row(july, world[key]) is None  # ended on 1 July
    merged, c1, c2 = (_row(july, world[k]) for k in ("merged", "split1", "split2"))
    assert _figures(merged) == (4, 3, 3, 0)
    assert _figures(c1) == (2, 2, 1, 0)
    assert _figures(c2) == (2, 2, 2, 0)
    # June of the same people: Xã Hợp = A + B (4 counted, 2 regular); C1 = c1, c2 (both regular); C2 = c3, c4
    # (neither). Not the whole of district C (2 of 5) for each: c5 left in June and belongs to neither.
    assert _figures(merged, "previous") == (4, 3, 2, 1)
    assert _figures(c1, "previous") == (2, 2, 2, 0)
    assert _figures(c2, "previous") == (2, 1, 0, 0)
    assert merged["change"]["regular_share"] == 0.25  # type: ignore[index]  # 75 % against 50 %
    assert c1["change"]["regular_share"] == -0.5  # type: ignore[index]  # 50 % against 100 %
    assert c2["change"]["regular_share"] == 1.0  # type: ignore[index]  # 100 % against 0 %
    assert _row(july, world["parent"])["name"] == "Vùng Thử lịch sử (mới)"  # type: ignore[index]
    assert _row(july, world["parent"])["fate"] is None  # type: ignore[index]
    # The office above keeps June's whole: c5 counts there, not in a commune.
    assert _figures(_row(july, world["parent"]), "previous") == (9, 6, 4, 1)
    assert _figures(_row(july, world["parent"])) == (8, 7, 6, 0)


def test_twelve_month_trend_of_a_merged_commune_reaches_before_it_existed(
    db: Session, runtime: Runtime, world: dict[str, Any]
) -> None:
    july = build_report(db, "2025-07", _definitions(runtime))
    points = unit_trend(db, july, world["merged"].id, _definitions(runtime))
    assert [p["month"] for p in points] == [f"2024-{m:02d}" for m in range(8, 13)] + [
        f"2025-{m:02d}" for m in range(1, 8)
    ]
    by_month = {p["month"]: p for p in points}
    assert by_month["2025-07"]["figures"]["regular_share"] == 0.75
    assert by_month["2025-07"]["before_unit"] is False
    assert by_month["2025-06"]["figures"]["regular_share"] == 0.5  # A and B's people in June
    assert by_month["2025-05"]["figures"]["regular"] == 2  # a1 and b1
    assert by_month["2025-05"]["figures"]["counted"] == 4
    assert by_month["2025-06"]["before_unit"]
    assert by_month["2025-05"]["before_unit"]
    assert by_month["2024-12"]["figures"]["counted"] == 0  # the mailboxes were created in January 2025
    # The trend agrees with the report's own figures for July and June.
    merged = _row(july, world["merged"])
    assert _figures(merged) == tuple(
        by_month["2025-07"]["figures"][k] for k in ("counted", "active", "regular", "engaged")
    )
    assert _figures(merged, "previous") == tuple(
        by_month["2025-06"]["figures"][k] for k in ("counted", "active", "regular", "engaged")
    )
    # A split commune's trend follows its own people only.
    c2 = unit_trend(db, july, world["split2"].id, _definitions(runtime))
    assert {p["month"]: p["figures"]["counted"] for p in c2}["2025-06"] == 2


def test_june_files_name_the_old_units_and_their_fate(db: Session, runtime: Runtime, world: dict[str, Any]) -> None:
    june = build_report(db, "2025-06", _definitions(runtime))
    text = to_csv(june).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    names = {r[0]: r[1].strip() for r in rows if r}
    assert names[world["a"].code] == "Huyện Thử Ia Hrung (đã sáp nhập vào Xã Thử Hợp Nhất)"
    assert names[world["c"].code] == (
        "Huyện Thử Krông Chro (đã chia tách, nhân sự chuyển về Xã Thử Chư Mố, Phường Thử Ayun)"
    )
    assert world["merged"].code not in names
    assert COMPARISON_VI in text  # the definitions, in both languages
    assert COMPARISON_EN in text
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(june)))["Đơn vị"]
    cells = {r[0]: r[1] for r in sheet.iter_rows(values_only=True)}
    assert cells[world["b"].code].strip() == "Huyện Thử Chư Bă (đã sáp nhập vào Xã Thử Hợp Nhất)"
    pdf = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf(june))).pages)
    flat = re.sub(r"\s+", " ", pdf)
    for name in ("Huyện Thử Ia Hrung", "Huyện Thử Chư Bă", "Huyện Thử Krông Chro"):
        assert name in flat
    assert "đã sáp nhập vào" in flat
    assert "Xã Thử Chư Mố" not in flat.replace("chuyển về Xã Thử Chư Mố", "")  # only in C's fate, no row of its own


def test_report_pages_show_the_tree_of_their_month(
    db: Session, runtime: Runtime, world: dict[str, Any], client_as: Any
) -> None:
    june = generate(db, SYSTEM, "2025-06", _definitions(runtime))
    july = generate(db, SYSTEM, "2025-07", _definitions(runtime))
    db.commit()
    client = client_as(Role.AUDITOR)
    page = client.get(f"/reports/{june.id}").get_data(as_text=True)
    row = re.search(rf'<tr data-code="{world["a"].code}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "Huyện Thử Ia Hrung" in row.group(1)
    assert "Xã Thử Hợp Nhất" in re.sub(r"<[^>]+>", "", row.group(1))  # its fate, in the page's language
    assert f'data-code="{world["merged"].code}"' not in page
    assert 'id="definition-comparison"' in page

    page = client.get(f"/reports/{july.id}?unit={world['merged'].id}").get_data(as_text=True)
    assert f'data-code="{world["merged"].code}"' in page
    assert f'data-code="{world["a"].code}"' not in page
    trend = re.search(r'<table id="unit-trend-table">(.*?)</table>', page, re.S)
    assert trend is not None
    june_cells = re.search(r'<tr data-month="2025-06">(.*?)</tr>', trend.group(1), re.S)
    assert june_cells is not None
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", june_cells.group(1))]
    assert cells[1:4] == ["4", "3", "2"]  # counted, active, regular: A and B's people in June
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/{june.id}.xlsx").data))
    codes = {r[0]: r[1] for r in workbook["Đơn vị"].iter_rows(values_only=True)}
    assert codes[world["a"].code].strip().startswith("Huyện Thử Ia Hrung (đã sáp nhập vào")


def test_moving_a_person_leaves_last_months_report_unchanged(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any
) -> None:
    today = dt.datetime.now(runtime.settings.tz).date()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    month = f"{last_month:%Y-%m}"
    here = create_unit(name="Phòng Thử Ở Lại")
    there = create_unit(name="Phòng Thử Chuyển Đến")
    mover = create_staff(here, full_name="Nguyễn Thị Chuyển")
    stayer = create_staff(here, full_name="Trần Văn Ở")
    for person in (mover, stayer):
        person.created_at = dt.datetime(last_month.year - 1, 1, 1, tzinfo=TZ)
    _use(db, mover, last_month.year, last_month.month, 5)
    db.flush()
    before = build_report(db, month, _definitions(runtime))

    accounts.move_staff(db, SYSTEM, mover, there)
    db.flush()
    after = build_report(db, month, _definitions(runtime))
    for unit in (here, there):
        assert _row(after, unit)["subtree"] == _row(before, unit)["subtree"]  # type: ignore[index]
    assert _figures(_row(after, here)) == (2, 1, 1, 0)
    assert _figures(_row(after, there)) == (0, 0, 0, 0)
    # The unit's trend on last month's report still counts the mover, who is elsewhere now (read by placement).
    trend = {p["month"]: p["figures"] for p in unit_trend(db, after, here.id, _definitions(runtime))}
    assert (trend[month]["counted"], trend[month]["active"]) == (2, 1)
    assert {p["month"]: p["figures"]["counted"] for p in unit_trend(db, after, there.id, _definitions(runtime))}[
        month
    ] == 0
    # This month's report has the mover where they are now, and compares them with their own last month.
    now = build_report(db, f"{today:%Y-%m}", _definitions(runtime))
    assert _figures(_row(now, there), "previous") == (1, 1, 1, 0)


def _run(runtime: Runtime, task_id: int) -> None:
    task = runtime.task_worker("test-report-history").run_one(task_id)
    assert task is not None
    with runtime.session_factory() as session:
        stored = session.get(Task, task_id)
        assert stored is not None
        assert stored.status == "done", stored.error


def test_reports_across_a_real_reorganisation_plan(
    db: Session, runtime: Runtime, province: Unit, create_unit: Any, create_staff: Any, commit_and_sync: Any
) -> None:
    """June 2025: districts H-A (A1 regular, A2 not) and H-B (B1, B2 regular; B3 not). The plan, applied as the
    reorganisation job: H-A merges into the new Xã Một on 1 July; H-B is dissolved, B1 to Xã Một, B2 and B3 to
    the new Phường Hai."""
    tag = uuid.uuid4().hex[:6].upper()
    ha = create_unit(f"H-A{tag}", name=f"Huyện Kế Hoạch A {tag}", kind=UnitKind.DISTRICT)
    hb = create_unit(f"H-B{tag}", name=f"Huyện Kế Hoạch B {tag}", kind=UnitKind.DISTRICT)
    people = {
        key: create_staff(unit, full_name=name, staff_number=f"{key}{tag}", local_part=f"{key.lower()}{tag.lower()}")
        for key, unit, name in (
            ("A1", ha, "Nguyễn Văn An"),
            ("A2", ha, "Trần Thị Bình"),
            ("B1", hb, "Ksor Y Phước"),
            ("B2", hb, "Siu H'Mai"),
            ("B3", hb, "Kpă Thuyên"),
        )
    }
    for person in people.values():
        person.created_at = dt.datetime(2025, 1, 1, tzinfo=TZ)
    for key, days in (("A1", 4), ("B1", 3), ("B2", 5), ("B3", 1)):
        _use(db, people[key], 2025, 6, days)
    for key, days in (("A1", 3), ("A2", 3), ("B1", 3), ("B2", 1)):
        _use(db, people[key], 2025, 7, days)
    commit_and_sync()
    july_1 = dt.datetime(2025, 7, 1)
    content = plan_workbook(
        [
            ["tạo mới", "", f"XA-1{tag}", f"Xã Một {tag}", "xã", province.code, "", july_1],
            ["tạo mới", "", f"XA-2{tag}", f"Phường Hai {tag}", "phường", province.code, "", july_1],
            ["sáp nhập", f"H-A{tag}", f"XA-1{tag}", "", "", "", "", july_1],
            ["giải thể", f"H-B{tag}", "", "", "", "", "", july_1],
        ],
        [[f"B1{tag}", f"XA-1{tag}"], [f"B2{tag}", f"XA-2{tag}"], [f"B3{tag}", f"XA-2{tag}"]],
    )
    reorg = reorg_tasks.upload(db, SYSTEM, "to-chuc-lai.xlsx", content)
    db.commit()
    _run(runtime, reorg.task_id)  # type: ignore[arg-type]
    db.expire_all()
    task = reorg_tasks.queue_apply(db, SYSTEM, db.get(Reorganisation, reorg.id))  # type: ignore[arg-type]
    db.commit()
    _run(runtime, task.id)
    db.expire_all()
    xa1 = db.scalars(select(Unit).where(Unit.code == f"XA-1{tag}")).one()
    xa2 = db.scalars(select(Unit).where(Unit.code == f"XA-2{tag}")).one()

    june = build_report(db, "2025-06", _definitions(runtime))
    assert _row(june, xa1) is None
    assert _row(june, xa2) is None
    assert _figures(_row(june, ha)) == (2, 1, 1, 0)
    assert _figures(_row(june, hb)) == (3, 3, 2, 0)
    assert _row(june, ha)["fate"] == {"kind": "merge", "into": [f"Xã Một {tag}"]}  # type: ignore[index]
    assert _row(june, hb)["fate"]["kind"] == "split"  # type: ignore[index]

    july = build_report(db, "2025-07", _definitions(runtime))
    assert _row(july, ha) is None
    assert _row(july, hb) is None
    one, two = _row(july, xa1), _row(july, xa2)
    assert _figures(one) == (3, 3, 3, 0)
    assert _figures(two) == (2, 1, 0, 0)
    assert _figures(one, "previous") == (3, 2, 2, 0)  # A1, A2 and B1 in June
    assert _figures(two, "previous") == (2, 2, 1, 0)  # B2 and B3 in June
    assert one["change"]["regular_share"] == round(1 - 2 / 3, 4)  # type: ignore[index]
    assert two["change"]["regular_share"] == -0.5  # type: ignore[index]


def test_a_mailbox_disabled_after_the_month_still_counts_in_it(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any
) -> None:
    """Regenerating June after someone left in August keeps them in June (and in the trend's June)."""
    unit = create_unit(name="Phòng Thử Nghỉ Sau")
    leaver = create_staff(unit, full_name="Phạm Thị Nghỉ")
    leaver.created_at = dt.datetime(2025, 1, 1, tzinfo=TZ)
    _use(db, leaver, 2025, 6, 4)
    accounts.disable(db, SYSTEM, leaver, "chuyển công tác")
    db.flush()
    change = db.query(StaffStatusChange).filter_by(staff_id=leaver.id).one()
    change.changed_at = dt.datetime(2025, 8, 12, 9, tzinfo=TZ)
    june = build_report(db, "2025-06", _definitions(runtime))
    assert _figures(_row(june, unit)) == (1, 1, 1, 0)
    september = build_report(db, "2025-09", _definitions(runtime))
    assert _figures(_row(september, unit)) == (0, 0, 0, 0)
    trend = {p["month"]: p["figures"]["counted"] for p in unit_trend(db, september, unit.id, _definitions(runtime))}
    assert (trend["2025-06"], trend["2025-08"], trend["2025-09"]) == (1, 1, 0)
