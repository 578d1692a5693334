"""The main pages of each role in a real Chromium, saved as screenshots: into ``SCREENSHOTS_DIR`` when set
(``docs/screenshots/`` for the README), else the test's own folder. Each page must load whole, in Vietnamese,
without anything fetched from outside the console."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from audit.models import MonthlyReport
from core.db import make_engine, make_session_factory, unit_of_work
from provisioning.models import AccountStatus, Staff
from tests.test_browser import _sign_in, live_url, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
REPORT_MONTH = "2028-08"

# Every screenshot the README shows (PERSON stands for a demo mailbox, REPORT for a monthly report built on the page).
PAGES = {
    "system_admin": [
        ("dashboard", "/"),
        ("mailboxes", "/staff"),
        ("person", "PERSON"),
        ("units", "/units"),
        ("reorganisations", "/units/reorganisations"),
    ],
    "unit_admin": [("dashboard", "/"), ("mailboxes", "/staff?idle=30")],
    "secretary": [
        ("dashboard", "/"),
        ("meetings-week", "/meetings"),
        ("booking", "/meetings/new"),
        ("my-meetings", "/my/meetings"),
    ],
    "auditor": [("dashboard", "/"), ("reports", "/reports"), ("report", "REPORT")],
}


def test_main_pages_of_each_role(page: Any, live_url: str, demo_logins: Any, database_url: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        person = session.scalar(
            select(Staff.id).where(Staff.status == AccountStatus.ACTIVE).order_by(Staff.id).offset(5).limit(1)
        )
    taken = []
    try:
        for role, pages in PAGES.items():
            key = next(k for k in demo_logins if k.startswith(role))
            page.context.clear_cookies()
            _sign_in(page, live_url, demo_logins[key])
            for name, path in pages:
                if path == "REPORT":  # the tests' demo stores no report: the auditor builds one on the page
                    page.goto(f"{live_url}/reports")
                    page.fill("#month", REPORT_MONTH)
                    page.click("form.row button[type=submit]")
                    page.wait_for_selector("#unit-tree")
                else:
                    page.goto(live_url + (f"/staff/{person}" if path == "PERSON" else path))
                assert page.locator("html").get_attribute("lang") == "vi"
                assert page.locator("h1").count() >= 1, (role, path)
                assert "Internal Server Error" not in page.content()
                target = folder / f"{name}-{role.replace('_', '-')}.png"
                page.screenshot(path=str(target), full_page=True)
                taken.append(target)
    finally:
        with unit_of_work(make_session_factory(engine)) as session:  # leave the shared database as it was
            session.execute(delete(MonthlyReport).where(MonthlyReport.month == REPORT_MONTH))
        engine.dispose()
    assert all(p.stat().st_size > 5000 for p in taken)
    assert all(url.startswith(live_url) for url in page.congvu_requests), page.congvu_requests
