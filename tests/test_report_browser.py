"""The report page in a real headless Chromium, in Vietnamese: figures as Vietnamese writes them (``87,1 %``),
the data range in dd/mm/yyyy, the unit tree expanding and collapsing, the inactive list a page at a time."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from audit.ingest import ingest_file
from audit.models import LastSeen, LogSource, MonthlyReport, UsageDay
from core.db import make_engine, make_session_factory, unit_of_work
from provisioning.models import AccountKind, AccountStatus, Staff
from tests.test_browser import _sign_in, live_url, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
MONTH = "2028-06"
JUNE = [dt.date(2028, 6, 1) + dt.timedelta(days=i) for i in range(30)]
WORKING = [d for d in JUNE if d.weekday() < 5]


@pytest.fixture
def june_usage(database_url: str, demo_logins: Any, tmp_path: Path) -> Any:
    """87 demo mailboxes read mail by IMAP on 12 working days of June 2028 (through the real ingestion, committed
    for the live server); everything it wrote is removed afterwards."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        emails = session.scalars(
            select(Staff.email)
            .where(Staff.kind == AccountKind.PERSONAL, Staff.status == AccountStatus.ACTIVE)
            .order_by(Staff.id)
            .limit(87)
        ).all()
        kept = [(r.staff_id, r.channel, r.at) for r in session.scalars(select(LastSeen))]
    log = tmp_path / "dovecot-june.log"
    lines = []
    for d, day in enumerate(WORKING[:12]):
        for i, email in enumerate(emails):
            n = d * 1000 + i
            lines.append(
                f"{day:%Y-%m-%d} 08:{i % 60:02d}:{d:02d} imap-login: Info: Login: user=<{email}>, method=PLAIN, "
                f"rip=10.1.0.{i % 250}, lip=10.0.0.1, mpid={n}, secured, session=<J{n:010d}>"
            )
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest_file(factory, log, tz=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))
    try:
        yield factory
    finally:
        with unit_of_work(factory) as session:
            session.execute(delete(MonthlyReport).where(MonthlyReport.month == MONTH))
            session.execute(delete(UsageDay).where(UsageDay.day >= JUNE[0], UsageDay.day <= JUNE[-1]))
            session.execute(delete(LogSource).where(LogSource.path == str(log)))
            session.execute(delete(LastSeen))
            session.add_all(LastSeen(staff_id=s, channel=c, at=at) for s, c, at in kept)
        engine.dispose()


def _hidden_rows(page: Any) -> int:
    return page.evaluate("Array.from(document.querySelectorAll('#unit-tree tbody tr')).filter(r => r.hidden).length")


def test_vietnamese_report_page_tree_and_inactive_pages(
    page: Any, live_url: str, demo_logins: Any, june_usage: Any, tmp_path: Path
) -> None:
    _sign_in(page, live_url, demo_logins["auditor"])
    page.goto(f"{live_url}/reports")
    page.fill("#month", MONTH)
    page.click("form.row button[type=submit]")
    page.wait_for_selector("#unit-tree")
    with unit_of_work(june_usage) as session:
        data = session.scalar(select(MonthlyReport.data).where(MonthlyReport.month == MONTH))
    assert data is not None
    share = data["province"]["regular_share"]
    assert 0 < share < 1

    # Figures as Vietnamese writes them: decimal comma, a space before %, dd/mm/yyyy.
    shown = page.locator("#province [data-measure=regular_share]").inner_text().strip()
    assert re.fullmatch(r"\d{1,3},\d %", shown), shown
    assert shown == f"{share * 100:.1f}".replace(".", ",") + " %"
    body = page.locator("body").inner_text()
    assert not re.search(r"\d\.\d%", body)  # no English-style share anywhere
    assert "01/06/2028" in page.locator("#data-range").inner_text()
    assert "2028-06-01" not in body

    # The unit tree: the province and the units under it show; a unit's button shows and hides its subunits.
    assert _hidden_rows(page) > 0
    parent = page.locator("#unit-tree td.unit.depth-1.has-children").first
    parent_id = parent.get_attribute("data-id")
    children = page.locator(f"#unit-tree tbody tr:has(td.unit[data-parent='{parent_id}'])")
    assert children.count() > 0
    assert not children.first.is_visible()
    parent.locator("button.toggle").click()
    assert children.first.is_visible()
    assert parent.locator("button.toggle").get_attribute("aria-expanded") == "true"
    parent.locator("button.toggle").click()
    assert not children.first.is_visible()
    page.click(".tree-toolbar button.expand-all")
    assert _hidden_rows(page) == 0
    page.click(".tree-toolbar button.collapse-all")
    assert _hidden_rows(page) > 0
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

    # The inactive list: 50 a page, the next page, one unit's subtree.
    rows = page.locator("#inactive-list tbody tr")
    assert rows.count() == 50
    first_page = rows.first.inner_text()
    page.click("#inactive a[rel=next]")
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator("#inactive-list tbody tr").count() > 0
    assert page.locator("#inactive-list tbody tr").first.inner_text() != first_page
    assert "trang 2/" in page.locator("#inactive-count").inner_text()
    unit = next(u for u in data["units"] if u["depth"] == 1 and u["subtree"]["counted"] > u["subtree"]["active"])
    page.select_option("#inactive-unit", str(unit["id"]))
    page.click("#inactive-filter button[type=submit]")
    page.wait_for_url(re.compile(rf"unit={unit['id']}"))
    expected = unit["subtree"]["counted"] - unit["subtree"]["active"]
    assert page.locator("#inactive-count").inner_text().startswith(f"{expected} hộp thư")
    assert page.locator("#inactive-list tbody tr").count() == min(expected, 50)
    assert all(url.startswith(live_url) for url in page.congvu_requests), page.congvu_requests
