"""A unit IT admin sees and changes only their own subtree, by page and by API."""

from sqlalchemy import select

from core.changelog import ChangeEntry
from provisioning.models import Staff, Unit


def _unit(db, code: str) -> Unit:
    unit = db.scalar(select(Unit).where(Unit.code == code))
    assert unit is not None
    return unit


def _someone_in(db, unit: Unit) -> Staff:
    staff = db.scalar(select(Staff).join(Staff.unit).where(Unit.path.startswith(unit.path)).limit(1))
    assert staff is not None
    return staff


def test_district_admin_gets_403_on_another_districts_pages(sign_in_as, db) -> None:
    client = sign_in_as("unit_admin")  # Chư Păh
    own, other = _unit(db, "H-CHUPAH"), _unit(db, "H-IAPA")
    assert client.get(f"/units/{own.id}").status_code == 200
    assert client.get(f"/units/{other.id}").status_code == 403
    assert client.get(f"/staff/{_someone_in(db, own).id}").status_code == 200
    assert client.get(f"/staff/{_someone_in(db, other).id}").status_code == 403
    # A commune under the other district is out of scope too.
    commune = db.scalar(select(Unit).where(Unit.parent_id == other.id).limit(1))
    assert client.get(f"/units/{commune.id}").status_code == 403


def test_district_admin_lists_only_their_subtree(sign_in_as, db) -> None:
    client = sign_in_as("unit_admin")
    page = client.get("/units").get_data(as_text=True)
    assert _unit(db, "H-CHUPAH").name in page
    assert _unit(db, "H-IAPA").name not in page
    outsider = _someone_in(db, _unit(db, "H-IAPA"))
    staff_page = client.get("/staff", query_string={"q": outsider.email}).get_data(as_text=True)
    assert f"<td>{outsider.email}</td>" not in staff_page
    insider = _someone_in(db, _unit(db, "H-CHUPAH"))
    own_page = client.get("/staff", query_string={"q": insider.email}).get_data(as_text=True)
    assert f"<td>{insider.email}</td>" in own_page


def test_district_admin_gets_403_on_another_districts_api_objects(client, db, api_token) -> None:
    headers = {"Authorization": f"Bearer {api_token('unit_admin')}"}
    own, other = _unit(db, "H-CHUPAH"), _unit(db, "H-IAPA")
    assert client.get(f"/api/v1/units/{own.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/units/{other.id}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/staff/{_someone_in(db, other).id}", headers=headers).status_code == 403
    listed = {u["code"] for u in client.get("/api/v1/units", headers=headers).get_json()}
    assert "H-CHUPAH" in listed
    assert "H-IAPA" not in listed
    assert "STTTT" not in listed
    staff = client.get("/api/v1/staff", headers=headers, query_string={"limit": 1000}).get_json()
    assert staff
    assert {s["unit_id"] for s in staff} <= {
        u.id for u in db.scalars(select(Unit).where(Unit.path.startswith(own.path)))
    }


def test_district_admin_creates_only_inside_their_subtree(client, db, api_token) -> None:
    headers = {"Authorization": f"Bearer {api_token('unit_admin')}"}
    own, other = _unit(db, "H-CHUPAH"), _unit(db, "H-IAPA")
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
    unit = _unit(db, "X-TEST-2")
    entry = db.scalar(
        select(ChangeEntry).where(ChangeEntry.action == "unit.create", ChangeEntry.target_id == str(unit.id))
    )
    assert entry is not None
    assert entry.after["name"] == "Xã Ia Thử"
    assert entry.actor.startswith("staff:")


def test_api_rejects_missing_bad_and_malformed(client, api_token, db) -> None:
    assert client.get("/api/v1/units").status_code == 401
    assert client.get("/api/v1/units", headers={"Authorization": "Bearer nope"}).status_code == 401
    headers = {"Authorization": f"Bearer {api_token('system_admin')}"}
    bad = client.post("/api/v1/units", headers=headers, data="not json", content_type="application/json")
    assert bad.status_code == 400
    missing = client.post("/api/v1/units", headers=headers, json={"code": "X", "name": "Y", "kind": "commune"})
    assert missing.status_code == 422
    assert "parent_id" in missing.get_json()["error"]["message"]


def test_secretary_has_no_unit_administration(sign_in_as, db) -> None:
    client = sign_in_as("secretary")
    assert client.get(f"/units/{_unit(db, 'H-CHUPAH').id}").status_code == 403
    assert client.get("/units").status_code == 403
