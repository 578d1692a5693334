"""The main pages of each role in a real Chromium, saved as screenshots: into ``SCREENSHOTS_DIR`` when set
(``docs/screenshots/`` for the README), else the test's own folder. Each page must load whole, in Vietnamese,
without anything fetched from outside the console."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.db import make_engine, make_session_factory, unit_of_work
from provisioning.models import AccountStatus, Staff
from tests.test_browser import _sign_in, live_url, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

PAGES = {
    "system_admin": [("dashboard", "/"), ("mailboxes", "/staff"), ("person", "PERSON"), ("units", "/units")],
    "unit_admin": [("dashboard", "/"), ("mailboxes", "/staff?idle=30")],
    "secretary": [("dashboard", "/"), ("meetings-week", "/meetings"), ("booking", "/meetings/new")],
    "auditor": [("dashboard", "/"), ("reports", "/reports")],
}


def test_main_pages_of_each_role(page: Any, live_url: str, demo_logins: Any, database_url: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        person = session.scalar(
            select(Staff.id).where(Staff.status == AccountStatus.ACTIVE).order_by(Staff.id).offset(5).limit(1)
        )
    engine.dispose()
    taken = []
    for role, pages in PAGES.items():
        key = next(k for k in demo_logins if k.startswith(role))
        page.context.clear_cookies()
        _sign_in(page, live_url, demo_logins[key])
        for name, path in pages:
            page.goto(live_url + (f"/staff/{person}" if path == "PERSON" else path))
            assert page.locator("html").get_attribute("lang") == "vi"
            assert page.locator("h1").count() >= 1, (role, path)
            assert "Internal Server Error" not in page.content()
            target = folder / f"{name}-{role.replace('_', '-')}.png"
            page.screenshot(path=str(target), full_page=True)
            taken.append(target)
    assert all(p.stat().st_size > 5000 for p in taken)
    assert all(url.startswith(live_url) for url in page.congvu_requests), page.congvu_requests
