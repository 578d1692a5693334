"""The app migrates and serves on the suite's database (SQLite, then PostgreSQL)."""

from sqlalchemy import inspect

from provisioning.models import Role
from tests.conftest import database_kind


def test_migrated_schema_is_complete(db) -> None:
    from admin_app import models_registry  # noqa: F401
    from core.db import Base

    tables = set(inspect(db.connection()).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert db.get_bind().dialect.name == database_kind()


def test_sign_in_page_is_vietnamese_and_self_contained(client) -> None:
    response = client.get("/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page
    assert "http://" not in page
    assert "https://" not in page
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    with client.get("/static/congvu.css") as css:
        assert css.status_code == 200
        assert "url(http" not in css.get_data(as_text=True)


def test_english_is_a_switch(client_as) -> None:
    client = client_as(Role.SECRETARY)
    from tests.factories import csrf_token

    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "Dashboard" in page
    assert "Active mailboxes" in page
    client.post("/lang/vi", data={"csrf_token": csrf_token(client, "/"), "next": "/"})
    assert "Hộp thư đang hoạt động" in client.get("/").get_data(as_text=True)


def test_dashboard_shows_the_headline_figures(db, create_unit, create_point, create_staff, client_as) -> None:
    from sqlalchemy import func, select

    from meetings.models import BridgePoint
    from provisioning.models import Staff

    before = db.scalar(select(func.count(BridgePoint.id)))  # the demo's, if a demo test loaded it earlier
    hall = create_unit("T-VPUBND", name="Văn phòng UBND tỉnh", kind="office")
    for name in ("Hội trường thử A", "Hội trường thử B", "Hội trường thử C"):
        create_point(hall, name=name)
    for name in ("Kpă Thuyên", "Nay Blum"):
        create_staff(hall, full_name=name)
    client = client_as(Role.SYSTEM_ADMIN)
    page = client.get("/").get_data(as_text=True)
    staff = db.scalar(select(func.count(Staff.id)).where(Staff.status == "active"))
    points = db.scalar(select(func.count(BridgePoint.id)))
    assert points == before + 3
    assert f'id="point-count">{points}<' in page
    assert f'id="mailbox-count">{staff:,}<'.replace(",", ".") in page
    assert "Cuộc họp trong tuần" in page


def test_dates_are_shown_day_month_year(client_as) -> None:
    import re

    client = client_as(Role.SYSTEM_ADMIN)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"\(\d{2}/\d{2}/\d{4} – \d{2}/\d{2}/\d{4}\)", page)


def test_openapi_document_is_generated_from_the_routes(client) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/units/{unit_id}" in doc["paths"]
    assert "post" in doc["paths"]["/api/v1/units"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    from admin_app.api.core import ROUTES

    assert sum(len(v) for v in doc["paths"].values()) == len(ROUTES)


def test_unknown_page_is_a_vietnamese_404(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.get_data(as_text=True)


def test_every_message_has_a_vietnamese_translation() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "scripts/i18n.py", "--check"], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
