"""Input that used to reach a server error now gets a 4xx naming the field, and nothing is written; the
address namespace is closed to unit admins."""

import io
import zipfile

import pytest
from sqlalchemy import func, select

from core.changelog import ChangeEntry
from provisioning.models import ImportBatch, MailAlias, Role, Staff, Unit
from tests.factories import csrf_token

HUGE = 2**64 + 1


@pytest.fixture
def admin_headers(token_as) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_as(Role.SYSTEM_ADMIN)}"}


def _counts(db) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count(Staff.id))),
        db.scalar(select(func.count(Unit.id))),
        db.scalar(select(func.count(ChangeEntry.id))),
    )


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/units/{HUGE}",
        f"/api/v1/staff/{HUGE}",
        f"/api/v1/accounts/{HUGE}",
        f"/api/v1/meetings/{HUGE}",
        f"/api/v1/reports/{HUGE}",
        f"/api/v1/tasks/{HUGE}",
        f"/api/v1/imports/{HUGE}",
    ],
)
def test_ids_beyond_64_bits_are_not_found(client, admin_headers, path) -> None:
    response = client.get(path, headers=admin_headers)
    assert response.status_code == 404


def test_ids_beyond_64_bits_in_console_pages_and_queries(client_as) -> None:
    client = client_as(Role.SYSTEM_ADMIN)
    assert client.get(f"/units/{HUGE}").status_code == 404
    assert client.get(f"/staff/{HUGE}").status_code == 404
    refused = client.get("/audit", query_string={"unit": str(HUGE)})
    assert refused.status_code == 400
    assert "unit" in refused.get_data(as_text=True)
    assert client.get("/staff", query_string={"page": str(HUGE)}).status_code == 400


def test_query_parameters_out_of_bounds_name_the_parameter(client, admin_headers) -> None:
    for params, name in (
        ({"unit_id": str(HUGE)}, "unit_id"),
        ({"unit_id": "true"}, "unit_id"),
        ({"q": "an\x00"}, "q"),
        ({"limit": "5000"}, "limit"),
    ):
        response = client.get("/api/v1/staff", headers=admin_headers, query_string=params)
        assert response.status_code == 400, (params, response.get_json())
        assert name in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"from": "9999-12-31"}, "from"), ({"from": "0001-01-01"}, "from"), ({"to": "9999-12-31"}, "to")],
)
def test_far_years_in_meeting_lists_are_refused(client, token_as, query, field) -> None:
    headers = {"Authorization": f"Bearer {token_as(Role.SECRETARY)}"}
    response = client.get("/api/v1/meetings", headers=headers, query_string=query)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["message"]


def test_far_years_in_bookings_find_a_time_and_reports(client, db, create_point, token_as, admin_headers) -> None:
    host = create_point()
    headers = {"Authorization": f"Bearer {token_as(Role.SECRETARY)}"}
    before = _counts(db)
    for year in ("9999", "0001"):
        booking = {"title": "Họp", "date": f"{year}-06-01", "start": "08:00", "end": "09:00", "host_point_id": host.id}
        refused = client.post("/api/v1/meetings", headers=headers, json=booking)
        assert refused.status_code == 422, refused.get_json()
        assert "date" in refused.get_json()["error"]["message"]
        search = {"point_ids": [host.id], "from": f"{year}-01-01", "to": f"{year}-01-02"}
        assert client.post("/api/v1/meetings/find-time", headers=headers, json=search).status_code == 422
        report = client.post("/api/v1/reports", headers=admin_headers, json={"month": f"{year}-12"})
        assert report.status_code == 422
        assert "month" in report.get_json()["error"]["message"]
    assert _counts(db) == before


def test_far_years_in_the_week_board_are_refused(client_as) -> None:
    console = client_as(Role.SECRETARY)
    for week in ("9999-12-31", "0001-01-01"):
        assert console.get("/meetings", query_string={"week": week}).status_code == 400


def test_booking_beyond_the_horizon_and_huge_titles_are_refused(client, create_point, token_as) -> None:
    host = create_point()
    headers = {"Authorization": f"Bearer {token_as(Role.SECRETARY)}"}
    base = {"title": "Họp", "date": "2031-06-02", "start": "08:00", "end": "09:00", "host_point_id": host.id}
    far = client.post("/api/v1/meetings", headers=headers, json=base)
    assert far.status_code == 422
    assert "date" in far.get_json()["error"]["message"]
    big = client.post("/api/v1/meetings", headers=headers, json=base | {"date": "2027-03-02", "title": "x" * 1_000_000})
    assert big.status_code == 422
    assert "title" in big.get_json()["error"]["message"]
    long_find = {"point_ids": [host.id], "from": "2027-03-01", "to": "2027-03-02", "duration": 10**12}
    refused = client.post("/api/v1/meetings/find-time", headers=headers, json=long_find)
    assert refused.status_code == 422
    assert "duration" in refused.get_json()["error"]["message"]


def test_names_too_long_or_with_nul_are_refused(client, db, create_unit, admin_headers, client_as) -> None:
    unit = create_unit()
    before = _counts(db)
    for name, field in (("A" * 201, "full_name"), ("Nguyễn\x00Văn An", "full_name")):
        response = client.post("/api/v1/accounts", headers=admin_headers, json={"unit_id": unit.id, "full_name": name})
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["error"]["message"]
    console = client_as(Role.SYSTEM_ADMIN)
    page = console.post(
        f"/units/{unit.id}/staff/new",
        data={"csrf_token": csrf_token(console, f"/units/{unit.id}/staff/new"), "full_name": "Trần " * 100},
    )
    assert page.status_code == 422
    assert "200" in page.get_data(as_text=True)
    assert _counts(db)[0] == before[0] + 1  # the console's signed-in admin only


def test_lone_surrogates_and_booleans_are_refused_by_name(client, db, create_unit, admin_headers) -> None:
    unit = create_unit()
    before = _counts(db)
    raw = '{"unit_id": UNIT, "full_name": "An \\ud800"}'.replace("UNIT", str(unit.id))
    response = client.post("/api/v1/accounts", headers=admin_headers, data=raw, content_type="application/json")
    assert response.status_code == 422
    assert "full_name" in response.get_json()["error"]["message"]
    flag = client.post("/api/v1/accounts", headers=admin_headers, json={"unit_id": True, "full_name": "Nguyễn Văn An"})
    assert flag.status_code == 422
    assert "unit_id" in flag.get_json()["error"]["message"]
    unit_body = {"code": "X-T", "name": "Xã", "kind": "commune", "parent_id": True}
    assert client.post("/api/v1/units", headers=admin_headers, json=unit_body).status_code == 422
    assert _counts(db) == before


def test_an_xlsx_without_a_worksheet_is_refused(client, db, runtime, create_unit, admin_headers) -> None:
    unit = create_unit()
    before = db.scalar(select(func.count()).select_from(ImportBatch))
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
    response = client.post(
        "/api/v1/imports",
        headers=admin_headers,
        data={"unit_id": str(unit.id), "file": (io.BytesIO(data.getvalue()), "danh-sach.xlsx")},
        content_type="multipart/form-data",
    )
    # Refused at upload, naming the file and what is wrong with it; nothing stored, no task queued.
    assert response.status_code == 422, response.get_data(as_text=True)
    message = response.get_json()["error"]["message"]
    assert message.startswith("Tệp danh-sach.xlsx ")  # the file, and in Vietnamese why it cannot be read
    assert "trang tính" in message or "không phải là bảng tính XLSX" in message
    assert db.scalar(select(func.count()).select_from(ImportBatch)) == before


def test_a_unit_mail_domain_must_be_a_dns_name(client, db, province, admin_headers) -> None:
    before = _counts(db)
    for domain in ("<b>x</b>..vn", "gialai..gov.vn", "-x.vn", "a" * 64 + ".vn", "vn", "x y.vn"):
        body = {
            "code": "X-DOMAIN",
            "name": "Xã Thử",
            "kind": "commune",
            "parent_id": province.id,
            "mail_domain": domain,
        }
        response = client.post("/api/v1/units", headers=admin_headers, json=body)
        assert response.status_code == 422, domain
        assert "mail domain" in response.get_json()["error"]["message"]
    assert _counts(db) == before
    body = {"code": "X-IDN", "name": "Xã Thử", "kind": "commune", "parent_id": province.id, "mail_domain": "Ia-Pa.VN"}
    created = client.post("/api/v1/units", headers=admin_headers, json=body)
    assert created.status_code == 201
    assert created.get_json()["mail_domain"] == "ia-pa.vn"


@pytest.fixture
def unit_admin(create_unit, create_staff) -> Staff:
    return create_staff(create_unit(name="Huyện Chư Păh", kind="district"), full_name="Siu H'Mai", role=Role.UNIT_ADMIN)


@pytest.mark.parametrize(
    "local", ["postmaster", "abuse", "hostmaster", "webmaster", "root", "noreply", "congvu", "dl-chupah"]
)
def test_reserved_local_parts_are_a_system_admins(client, db, unit_admin, token_for, local) -> None:
    headers = {"Authorization": f"Bearer {token_for(unit_admin)}"}
    body = {"unit_id": unit_admin.unit_id, "full_name": "Hộp thư chung", "kind": "functional", "local_part": local}
    refused = client.post("/api/v1/accounts", headers=headers, json=body)
    assert refused.status_code == 422
    assert "reserved" in refused.get_json()["error"]["message"]
    alias = client.post(
        f"/api/v1/accounts/{unit_admin.id}/aliases", headers=headers, json={"address": f"{local}@gialai.gov.vn"}
    )
    assert alias.status_code == 422  # their own mailbox is theirs to change, reserved names are not
    assert "reserved" in alias.get_json()["error"]["message"]
    assert db.scalar(select(Staff).where(Staff.email == f"{local}@gialai.gov.vn")) is None


def test_aliases_only_in_the_domains_of_ones_subtree(client, db, unit_admin, create_staff, token_for) -> None:
    person = create_staff(unit_admin.unit, full_name="Kpă Thuyên")
    headers = {"Authorization": f"Bearer {token_for(unit_admin)}"}
    for address in ("kpa@gmail.com", "kpa@<b>x</b>.vn", "kpa@other.gov.vn"):
        refused = client.post(f"/api/v1/accounts/{person.id}/aliases", headers=headers, json={"address": address})
        assert refused.status_code == 422, address
    ok = client.post(f"/api/v1/accounts/{person.id}/aliases", headers=headers, json={"address": "kpa.t@gialai.gov.vn"})
    assert ok.status_code == 201, ok.get_json()
    assert db.scalar(select(func.count(MailAlias.id)).where(MailAlias.staff_id == person.id)) == 1


def test_another_units_bridge_point_contact_is_refused(
    client, create_point, create_unit, unit_admin, token_for
) -> None:
    create_point(create_unit(name="Sở Tài chính"), contact="diemcau.stc@gialai.gov.vn")
    headers = {"Authorization": f"Bearer {token_for(unit_admin)}"}
    body = {"unit_id": unit_admin.unit_id, "full_name": "Điểm cầu", "kind": "functional", "local_part": "diemcau.stc"}
    refused = client.post("/api/v1/accounts", headers=headers, json=body)
    assert refused.status_code == 422
    assert "bridge point" in refused.get_json()["error"]["message"]


def test_a_system_admin_may_use_reserved_names(client, db, create_unit, admin_headers) -> None:
    unit = create_unit()
    body = {"unit_id": unit.id, "full_name": "Bưu tá", "kind": "functional", "local_part": "postmaster"}
    response = client.post("/api/v1/accounts", headers=admin_headers, json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["email"].startswith("postmaster@")
