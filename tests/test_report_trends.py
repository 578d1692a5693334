"""Every unit's 12-month trend is worked out when a report version is generated and stored with it
(audit.report_store.ReportTrend): a unit's page reads one row instead of a year of monthly rollups. The stored
trend is what the page worked out before, unit by unit, across a merge and a split; it stays the version's, as
its figures do, when later logs arrive; a version stored without trends still shows one."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit import report_store
from audit.report import generate
from audit.unit_trend import unit_trend, unit_trends
from core.actors import SYSTEM
from provisioning.models import Role
from tests.test_console_speed_report import statements
from tests.test_report_history import _definitions, _use, build_world


def _trend_rows(html: str) -> dict[str, list[str]]:
    """The unit trend table's cells, by month."""
    table = re.search(r'<table id="unit-trend-table">(.*?)</table>', html, re.S)
    assert table is not None
    return {
        month: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for month, row in re.findall(r'<tr data-month="([0-9-]+)">(.*?)</tr>', table.group(1), re.S)
    }


def test_every_units_stored_trend_is_the_one_worked_out_for_it_alone(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any
) -> None:
    world = build_world(db, create_unit, create_staff)
    for month in ("2025-06", "2025-07"):
        report = generate(db, SYSTEM, month, _definitions(runtime))
        units = [u["id"] for u in report.data["units"]]
        for unit_id in units:
            stored = report_store.stored_trend(db, report.id, unit_id)
            assert stored == unit_trend(db, report.data, unit_id, _definitions(runtime)), (month, unit_id)
        assert unit_trends(db, report.data, _definitions(runtime)).keys() == set(units)
    assert {world[k].id for k in ("parent", "merged", "split1", "split2")} <= set(units)  # July's communes
    # The merged commune's June is its people's in their districts of June: 4 counted, 3 active, 2 regular.
    merged = {p["month"]: p for p in report_store.stored_trend(db, report.id, world["merged"].id) or []}
    assert (merged["2025-06"]["figures"]["counted"], merged["2025-06"]["figures"]["regular"]) == (4, 2)
    assert merged["2025-06"]["before_unit"]
    assert not merged["2025-07"]["before_unit"]


def test_a_units_page_reads_its_stored_trend_and_keeps_it_when_later_logs_arrive(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    world = build_world(db, create_unit, create_staff)
    july = generate(db, SYSTEM, "2025-07", _definitions(runtime))
    db.commit()
    client = client_as(Role.AUDITOR)
    url = f"/reports/{july.id}?unit={world['merged'].id}"
    with statements(runtime.engine) as seen:
        html = client.get(url).get_data(as_text=True)
    assert not [s for s in seen if "usage_months" in s or "staff_status_changes" in s]
    assert _trend_rows(html)["2025-06"][1:4] == ["4", "3", "2"]  # counted, active, regular

    # June's logs of a2, arriving late, make a2 regular in June: this version's trend stays as generated, as its
    # figures do; the next version counts them.
    _use(db, world["a2"], 2025, 6, 4)
    db.commit()
    assert _trend_rows(client.get(url).get_data(as_text=True))["2025-06"][1:4] == ["4", "3", "2"]
    again = generate(db, SYSTEM, "2025-07", _definitions(runtime))
    db.commit()
    newer = client.get(f"/reports/{again.id}?unit={world['merged'].id}").get_data(as_text=True)
    assert _trend_rows(newer)["2025-06"][1:4] == ["4", "4", "3"]

    # A version stored without trends (before migration 0019) works its trend out when its unit page is asked.
    db.execute(delete(report_store.ReportTrend).where(report_store.ReportTrend.report_id == again.id))
    db.commit()
    assert report_store.stored_trend(db, again.id, world["merged"].id) is None
    assert _trend_rows(client.get(f"/reports/{again.id}?unit={world['merged'].id}").get_data(as_text=True)) == (
        _trend_rows(newer)
    )
