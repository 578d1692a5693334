"""A unit IT admin sees and changes only their own subtree, by page and by API."""

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from core.changelog import ChangeEntry
from provisioning.models import Role, Staff, Unit
from tests.factories import PASSWORD


@dataclass
class Districts:
    """Two districts, each with a commune and people; a department beside them; the first district's IT admin."""

    own: Unit
    own_commune: Unit
    other: Unit
    other_commune: Unit
    department: Unit
    insider: Staff
    outsider: Staff
    admin: Staff


@pytest.fixture
def districts(create_unit, create_staff) -> Districts:
    own = create_unit(name="Huyện Chư Păh", kind="district")
    own_commune = create_unit(name="Xã Ia Ka", kind="commune", parent=own)
    other = create_unit(name="Huyện Ia Pa", kind="district")
    other_commune = create_unit(name="Xã Pờ Tó", kind="commune", parent=other)
    department = create_unit(name="Sở Thông tin và Truyền thông", kind="department")
    create_staff(own_commune, full_name="Rơ Châm H'Yao")
    create_staff(other_commune, full_name="Nay Blum")
    create_staff(department, full_name="Trần Thị Bình")
    return Districts(
        own=own,
        own_commune=own_commune,
        other=other,
        other_commune=other_commune,
        department=department,
        insider=create_staff(own, full_name="Kpă Thuyên"),
        outsider=create_staff(other, full_name="Ksor Y Phước"),
        admin=create_staff(own, full_name="Siu H'Mai", role=Role.UNIT_ADMIN, password=PASSWORD),
    )


def test_district_admin_gets_403_on_another_districts_pages(districts, client_for) -> None:
    client = client_for(districts.admin)
    assert client.get(f"/units/{districts.own.id}").status_code == 200
    assert client.get(f"/units/{districts.other.id}").status_code == 403
    assert client.get(f"/staff/{districts.insider.id}").status_code == 200
    assert client.get(f"/staff/{districts.outsider.id}").status_code == 403
    # A commune under the other district is out of scope too.
    assert client.get(f"/units/{districts.other_commune.id}").status_code == 403


def test_district_admin_lists_only_their_subtree(districts, client_for) -> None:
    client = client_for(districts.admin)
    page = client.get("/units").get_data(as_text=True)
    assert districts.own.name in page
    assert districts.other.name not in page
    outsider = districts.outsider
    staff_page = client.get("/staff", query_string={"q": outsider.email}).get_data(as_text=True)
    assert f"<td>{outsider.email}</td>" not in staff_page
    insider = districts.insider
    own_page = client.get("/staff", query_string={"q": insider.email}).get_data(as_text=True)
    assert f"<td>{insider.email}</td>" in own_page


def test_district_admin_gets_403_on_another_districts_api_objects(client, db, districts, token_for) -> None:
    headers = {"Authorization": f"Bearer {token_for(districts.admin)}"}
    own, other = districts.own, districts.other
    assert client.get(f"/api/v1/units/{own.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/units/{other.id}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/staff/{districts.outsider.id}", headers=headers).status_code == 403
    listed = {u["code"] for u in client.get("/api/v1/units", headers=headers).get_json()}
    assert own.code in listed
    assert other.code not in listed
    assert districts.department.code not in listed
    staff = client.get("/api/v1/staff", headers=headers, query_string={"limit": 1000}).get_json()
    assert staff
    assert {s["unit_id"] for s in staff} <= {
        u.id for u in db.scalars(select(Unit).where(Unit.path.startswith(own.path)))
    }


def test_district_admin_creates_only_inside_their_subtree(client, db, districts, token_for) -> None:
    headers = {"Authorization": f"Bearer {token_for(districts.admin)}"}
    own, other = districts.own, districts.other
    refused = client.post(
        "/api/v1/units",
        headers=headers,
        json={"code": "X-TEST-1", "name": "Xã Thử", "kind": "commune", "parent_id": other.id},
    )
    assert refused.status_code == 403
    assert db.scalar(select(Unit).where(Unit.code == "X-TEST-1")) is None
    created = client.post(
        "/api/v1/units",
        headers=headers,
        json={"code": "X-TEST-2", "name": "Xã Ia Thử", "kind": "commune", "parent_id": own.id},
    )
    assert created.status_code == 201, created.get_json()
    unit = db.scalar(select(Unit).where(Unit.code == "X-TEST-2"))
    assert unit is not None
    entry = db.scalar(
        select(ChangeEntry).where(ChangeEntry.action == "unit.create", ChangeEntry.target_id == str(unit.id))
    )
    assert entry is not None
    assert entry.after["name"] == "Xã Ia Thử"
    assert entry.actor.startswith("staff:")


def test_api_rejects_missing_bad_and_malformed(client, token_as) -> None:
    assert client.get("/api/v1/units").status_code == 401
    assert client.get("/api/v1/units", headers={"Authorization": "Bearer nope"}).status_code == 401
    headers = {"Authorization": f"Bearer {token_as(Role.SYSTEM_ADMIN)}"}
    bad = client.post("/api/v1/units", headers=headers, data="not json", content_type="application/json")
    assert bad.status_code == 400
    missing = client.post("/api/v1/units", headers=headers, json={"code": "X", "name": "Y", "kind": "commune"})
    assert missing.status_code == 422
    assert "parent_id" in missing.get_json()["error"]["message"]


def test_secretary_has_no_unit_administration(districts, client_as) -> None:
    client = client_as(Role.SECRETARY)
    assert client.get(f"/units/{districts.own.id}").status_code == 403
    assert client.get("/units").status_code == 403
