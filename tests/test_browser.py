"""A real headless Chromium (Debian's) signs in and sees the dashboard in Vietnamese."""

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from werkzeug.serving import make_server

from admin_app import create_app
from provisioning.models import SignInThrottle
from tests.conftest import app_overrides

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture
def live_url(tmp_path: Path, database_url: str, services, demo_logins) -> Iterator[str]:
    app = create_app(app_overrides(tmp_path / "instance", database_url, services))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        runtime = app.extensions["congvu"]
        with runtime.unit_of_work() as session:  # leave the database as we found it
            session.execute(delete(SignInThrottle))
        runtime.directory.close()
        runtime.engine.dispose()


@pytest.fixture
def page(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        page.congvu_requests = requests  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()


def test_sign_in_and_see_the_vietnamese_dashboard(page, live_url: str, demo_logins, tmp_path: Path) -> None:
    login = demo_logins["auditor"]
    page.goto(f"{live_url}/")
    assert page.url.startswith(f"{live_url}/login")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    page.fill("#login", login.login)
    page.fill("#password", login.password)
    page.click("button[type=submit].primary")
    page.wait_for_selector("#mailbox-count")
    assert page.locator("h1").inner_text() == "Tổng quan"
    body = page.locator("body").inner_text()
    assert "Hộp thư đang hoạt động" in body
    assert "Điểm cầu" in body
    assert page.locator("#point-count").inner_text() == "20"
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    # Nothing was loaded from outside the console.
    assert all(url.startswith(live_url) for url in page.congvu_requests), page.congvu_requests


def test_wrong_password_shows_the_vietnamese_error(page, live_url: str, demo_logins) -> None:
    login = demo_logins["auditor"]
    page.goto(f"{live_url}/login")
    page.fill("#login", login.login)
    page.fill("#password", "sai-mat-khau")
    page.click("button[type=submit].primary")
    assert "Sai địa chỉ thư hoặc mật khẩu" in page.locator("[role=alert]").inner_text()
