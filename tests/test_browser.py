"""A real headless Chromium (Debian's) signs in and sees the dashboard in Vietnamese."""

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select
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
    # As deployed: a background worker beside the web server takes the tasks the pages queue (reports).
    stop = threading.Event()
    worker = threading.Thread(
        target=app.extensions["congvu"].task_worker("browser-worker").run_forever, args=(stop, 0.2), daemon=True
    )
    worker.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        stop.set()
        worker.join(30)
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
    # Gia Lai's 20 and Bình Định's 13, all still in use after 2025 (the district halls now the communes').
    assert page.locator("#point-count").inner_text() == "33"
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


def _sign_in(page, live_url: str, login) -> None:
    page.goto(f"{live_url}/login")
    page.fill("#login", login.login)
    page.fill("#password", login.password)
    page.click("button[type=submit].primary")
    page.wait_for_selector("#mailbox-count")


def _delete_where(database_url: str, model: type, condition: object) -> None:
    from core.db import make_engine, make_session_factory, unit_of_work

    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            for row in session.scalars(select(model).where(condition)):
                session.delete(row)
    finally:
        engine.dispose()


def test_secretary_books_all_communes_and_wards_in_the_browser(
    page, live_url: str, demo_logins, database_url: str, tmp_path: Path
) -> None:
    from meetings.models import Meeting

    _sign_in(page, live_url, demo_logins["secretary"])
    page.goto(f"{live_url}/meetings/new")
    assert page.locator("h1").inner_text() == "Đặt lịch họp"
    page.fill("#title", "Hội nghị trực tuyến thử nghiệm trình duyệt")
    page.fill("input[name=date]", "2028-06-05")
    page.fill("input[name=start]", "08:00")
    page.fill("input[name=end]", "10:30")
    page.select_option("#host", label="Hội trường UBND tỉnh")
    page.check("input[name=groups][value=commune]")
    page.click("button[type=submit].primary")
    page.wait_for_selector("table.links")
    booked_id = int(page.url.rsplit("/", 1)[-1])
    body = page.locator("body").inner_text()
    # The halls of the 28 old district-level units, now the points of the communes at their seats, and the host.
    # (a meeting not yet held shows no attendance: "tham dự 0" or, in the newer wording, "chưa diễn ra")
    assert re.search(r"Điểm cầu: kế hoạch 29(, tham dự 0| chưa diễn ra)", body), [
        line for line in body.splitlines() if "kế hoạch" in line
    ]
    assert "Hội trường UBND tỉnh" in body
    assert "Điểm cầu H. Chư Păh" in body
    assert "Điểm cầu TP Quy Nhơn" in body
    assert page.locator("table.links input.link").count() >= 29
    page.screenshot(path=str(tmp_path / "meeting.png"), full_page=True)
    page.goto(f"{live_url}/meetings?week=2028-06-05")
    assert page.locator("a.slot.host").count() == 1
    assert all(url.startswith(live_url) for url in page.congvu_requests), page.congvu_requests

    # The live server committed it: remove it so the shared database stays as it was (its audit entries stay).
    from core.outbox import MailJob

    _delete_where(database_url, Meeting, Meeting.title == "Hội nghị trực tuyến thử nghiệm trình duyệt")
    _delete_where(database_url, MailJob, MailJob.subject_ref == f"meeting:{booked_id}")


def test_auditor_reads_the_report_page_offline(page, live_url: str, demo_logins, database_url: str) -> None:
    from audit.models import MonthlyReport

    _sign_in(page, live_url, demo_logins["auditor"])
    page.goto(f"{live_url}/reports")
    page.fill("#month", "2028-05")
    page.click("form.row button[type=submit]")
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart").count() == 2
    assert "Định nghĩa" in page.locator("body").inner_text()
    assert all(url.startswith(live_url) for url in page.congvu_requests), page.congvu_requests
    _delete_where(database_url, MonthlyReport, MonthlyReport.month == "2028-05")
