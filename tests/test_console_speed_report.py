"""The report page and the dashboard read a stored report's parts (audit.report_store), never the whole snapshot:
the province's figures, the unit rows and one page of the inactive list. The parts say what the snapshot says,
for a report generated now, for one stored in the form of older snapshots, and for one stored before migration
0016 split them."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from admin_app.migrate import upgrade
from admin_app.runtime import Runtime
from audit import mailbox_figures, report_store
from audit.models import MonthlyReport
from audit.report import trend
from core.db import make_engine, make_session_factory
from provisioning.models import Role
from tests.conftest import drop_database, fresh_database_url
from tests.test_report_inactive import _world as inactive_world

WHOLE = re.compile(r"\bmonthly_reports\.data\b")  # the snapshot's column (not data_from, data_to)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _world(db: Session, runtime: Runtime, create_unit: Any, create_staff: Any) -> dict[str, Any]:
    """The inactive-list tests' department and offices, with a third unit in another department."""
    return inactive_world(db, runtime, create_unit, create_staff, other_unit=True)


def _same_pages(db: Session, report: MonthlyReport, unit_ids: list[int | None]) -> None:
    """Every page of the inactive list, whole or by unit, read from the parts as from the snapshot."""
    data = report.data
    units = report_store.page_data(db, report.id)["units"]
    for unit_id in unit_ids:
        whole = mailbox_figures.inactive_page(data, unit_id, 1, 10)
        for page in range(1, whole.pages + 2):  # and one beyond the last, which gives the last
            want = mailbox_figures.inactive_page(data, unit_id, page, 10)
            got = report_store.inactive_page(db, report.id, units, unit_id, page, 10)
            keys = ("email", "name", "unit")
            assert [[r[k] for k in keys] for r in got.rows] == [[r[k] for k in keys] for r in want.rows]
            assert (got.total, got.page, got.pages, got.unit_id) == (want.total, want.page, want.pages, want.unit_id)


def test_the_parts_of_a_generated_report_say_what_its_snapshot_says(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any
) -> None:
    world = _world(db, runtime, create_unit, create_staff)
    report = world["report"]
    data = report.data
    parts = report_store.page_data(db, report.id)
    assert parts == {**{k: v for k, v in data.items() if k != "inactive"}, "inactive_count": len(data["inactive"])}
    assert len(data["inactive"]) >= 65
    _same_pages(db, report, [None, world["department"].id, world["second"].id, world["other"].id])
    assert trend(db, report.month)[-1] == {"month": report.month, "province": data["province"]}


def test_a_snapshot_of_the_older_form_is_paged_by_unit_name_as_before(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any
) -> None:
    world = _world(db, runtime, create_unit, create_staff)
    data = json.loads(json.dumps(world["report"].data))
    for row in data["inactive"]:  # snapshots made before the rows carried their unit's id
        del row["unit_id"]
    old = MonthlyReport(month="2019-01", version=1, data=data)
    db.add(old)
    db.flush()
    _same_pages(db, old, [None, world["department"].id, world["first"].id])


def test_the_report_page_and_the_dashboard_read_no_whole_snapshot(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    world = _world(db, runtime, create_unit, create_staff)
    report = world["report"]
    client = client_as(Role.AUDITOR)
    url = f"/reports/{report.id}"
    for path in (url, f"{url}?page=2", f"{url}?unit={world['department'].id}&page=2", "/"):
        with statements(runtime.engine) as seen:
            page = client.get(path)
        assert page.status_code == 200
        reads = [s for s in seen if WHOLE.search(s)]
        assert reads == [], path
        inactive = [s for s in seen if s.startswith("SELECT monthly_report_inactive.")]
        assert all(" LIMIT " in s for s in inactive), path
    # what the page shows is the snapshot's: one page of the department's list, the count of the whole list
    html = client.get(f"{url}?unit={world['department'].id}&page=2").get_data(as_text=True)
    want = mailbox_figures.inactive_page(report.data, world["department"].id, 2)
    assert [r["email"] for r in want.rows]
    assert all(f"<td>{r['email']}</td>" in html for r in want.rows)
    assert f"{len(report.data['inactive'])}</h2>" in html.split('id="inactive"')[1].split("<form")[0]

    admin = client_as(Role.UNIT_ADMIN, unit=world["second"])
    with statements(runtime.engine) as seen:
        assert admin.get("/").status_code == 200
    assert [s for s in seen if WHOLE.search(s)] == []
    assert any("monthly_report_units" in s for s in seen)  # their units' rows, from the parts


def test_migration_0016_splits_the_snapshots_stored_before(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "parts")
    try:
        upgrade(url, "0015")
        units = [
            {"id": 1, "name": "Tỉnh", "parent_id": None, "depth": 0, "subtree": {"counted": 3}},
            {"id": 2, "name": "Xã Một", "parent_id": 1, "depth": 1, "subtree": {"counted": 2}},
            {"id": 3, "name": "Xã Hai", "parent_id": 1, "depth": 1, "subtree": {"counted": 1}},
        ]
        inactive = [
            {"email": "a@x.vn", "name": "A", "unit": "Xã Một", "unit_code": "X1", "unit_id": 2},
            {"email": "b@x.vn", "name": "B", "unit": "Xã Hai", "unit_code": "X2", "unit_id": 3},
            {"email": "c@x.vn", "name": "C", "unit": "Xã Một", "unit_code": "X1"},  # of the older form
        ]
        data = {"month": "2025-05", "province": {"counted": 3}, "units": units, "inactive": inactive}
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO monthly_reports (month, version, created_at, created_by, definitions, data) "
                    "VALUES ('2025-05', 1, :at, 'test', '{}', :data)"
                ),
                {"at": dt.datetime(2025, 6, 1, tzinfo=dt.UTC), "data": json.dumps(data)},
            )
        upgrade(url)
        with make_session_factory(engine)() as session:
            report_id = session.query(MonthlyReport.id).scalar()
            parts = report_store.page_data(session, report_id)
            assert parts == {"month": "2025-05", "province": {"counted": 3}, "units": units, "inactive_count": 3}
            page = report_store.inactive_page(session, report_id, parts["units"], 2)
            assert [r["email"] for r in page.rows] == ["a@x.vn", "c@x.vn"]
            assert report_store.inactive_page(session, report_id, parts["units"], 3).total == 1
            assert report_store.provinces(session, [report_id]) == {report_id: {"counted": 3}}
        engine.dispose()
    finally:
        drop_database(url)
