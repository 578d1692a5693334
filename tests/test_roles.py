"""Roles given and taken away through the console, the CLI and the API take effect at once; a unit admin
delegates only inside their subtree and cannot climb."""

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from core.changelog import ChangeEntry
from provisioning.models import DirectoryJob, Role, RoleGrant, Staff, Unit
from tests.factories import PASSWORD, csrf_token


@dataclass
class Department:
    """The department where the system admins sit, its IT admin, a subunit, a person, and a unit elsewhere."""

    unit: Unit
    subunit: Unit
    elsewhere: Unit
    it_admin: Staff
    system_admin: Staff
    person: Staff


@pytest.fixture
def dept(create_unit, create_staff) -> Department:
    unit = create_unit(name="Sở Khoa học và Công nghệ")
    subunit = create_unit(name="Trung tâm Chuyển đổi số", kind="office", parent=unit)
    elsewhere = create_unit(name="Xã Ia Hrú", kind="commune")
    return Department(
        unit=unit,
        subunit=subunit,
        elsewhere=elsewhere,
        it_admin=create_staff(unit, full_name="Siu H'Mai", role=Role.UNIT_ADMIN, password=PASSWORD),
        system_admin=create_staff(unit, full_name="Nguyễn Văn Quản", role=Role.SYSTEM_ADMIN, password=PASSWORD),
        person=create_staff(subunit, full_name="Kpă Thuyên", password=PASSWORD),
    )


def _grants(db, person: Staff) -> set[tuple[str, int | None]]:
    db.expire_all()
    return {(g.role, g.unit_id) for g in db.scalars(select(RoleGrant).where(RoleGrant.staff_id == person.id))}


def test_cli_grant_and_revoke_take_effect_at_once(cli, client_for, db, dept) -> None:
    client = client_for(dept.person)
    assert client.get(f"/units/{dept.subunit.id}").status_code == 403
    db.commit()
    granted = cli(["roles", "grant", dept.person.email, "unit_admin", "--unit", dept.subunit.code])
    assert granted.exit_code == 0, granted.output
    assert client.get(f"/units/{dept.subunit.id}").status_code == 200  # the same session, at its next request
    listed = cli(["roles", "list", "--unit", dept.subunit.code])
    assert f"{dept.person.email}\tunit_admin\t{dept.subunit.code}\tyes" in listed.output
    revoked = cli(["roles", "revoke", dept.person.email, "unit_admin", "--unit", dept.subunit.code])
    assert revoked.exit_code == 0, revoked.output
    assert client.get(f"/units/{dept.subunit.id}").status_code == 403
    actions = db.scalars(
        select(ChangeEntry.action).where(
            ChangeEntry.target_type == "staff", ChangeEntry.target_id == str(dept.person.id)
        )
    ).all()
    assert "role.grant" in actions
    assert "role.revoke" in actions


def test_console_grant_on_the_unit_page_and_revoke_on_the_persons_page(client_for, db, dept) -> None:
    admin = client_for(dept.it_admin)
    page = admin.get(f"/units/{dept.subunit.id}").get_data(as_text=True)
    assert 'id="grant-form"' in page
    token = csrf_token(admin, f"/units/{dept.subunit.id}")
    given = admin.post(
        f"/units/{dept.subunit.id}/roles",
        data={"csrf_token": token, "verb": "grant", "email": dept.person.email, "role": "secretary"},
    )
    assert given.status_code == 302
    assert ("secretary", dept.subunit.id) in _grants(db, dept.person)
    assert dept.person.email in admin.get(f"/units/{dept.subunit.id}").get_data(as_text=True)
    taken = admin.post(
        f"/staff/{dept.person.id}/roles",
        data={"csrf_token": token, "verb": "revoke", "role": "secretary", "unit_id": dept.subunit.id},
    )
    assert taken.status_code == 302
    assert _grants(db, dept.person) == set()


def test_api_grant_list_and_revoke(client, db, dept, token_for) -> None:
    headers = {"Authorization": f"Bearer {token_for(dept.it_admin)}"}
    created = client.post(
        "/api/v1/roles",
        headers=headers,
        json={"email": dept.person.email, "role": "unit_admin", "unit_id": dept.subunit.id},
    )
    assert created.status_code == 201, created.get_json()
    grant = created.get_json()
    assert grant["is_effective"] is True
    listed = client.get("/api/v1/roles", headers=headers, query_string={"unit_id": dept.subunit.id}).get_json()
    assert grant["id"] in {g["id"] for g in listed}
    person_headers = {"Authorization": f"Bearer {token_for(dept.person)}"}
    assert client.get(f"/api/v1/units/{dept.subunit.id}", headers=person_headers).status_code == 200
    assert client.delete(f"/api/v1/roles/{grant['id']}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/units/{dept.subunit.id}", headers=person_headers).status_code == 403


@pytest.mark.parametrize(
    ("role", "where"),
    [("system_admin", None), ("auditor", None), ("unit_admin", "elsewhere"), ("secretary", "elsewhere")],
)
def test_unit_admin_cannot_grant_wider_roles_or_outside_their_subtree(client, db, dept, token_for, role, where) -> None:
    headers = {"Authorization": f"Bearer {token_for(dept.it_admin)}"}
    body = {"email": dept.person.email, "role": role}
    if where:
        body["unit_id"] = dept.elsewhere.id
    refused = client.post("/api/v1/roles", headers=headers, json=body)
    assert refused.status_code == 403, refused.get_json()
    assert dept.person.email in refused.get_json()["error"]["message"]
    assert _grants(db, dept.person) == set()


def test_unit_admin_cannot_grant_to_someone_outside_their_subtree(cli, client_for, create_staff, db, dept) -> None:
    outsider = create_staff(dept.elsewhere, full_name="Rơ Mah Hiền")
    admin = client_for(dept.it_admin)
    token = csrf_token(admin, f"/units/{dept.unit.id}")
    refused = admin.post(
        f"/units/{dept.unit.id}/roles",
        data={"csrf_token": token, "verb": "grant", "email": outsider.email, "role": "secretary"},
    )
    assert refused.status_code == 403
    assert _grants(db, outsider) == set()


def test_unit_admin_cannot_reset_disable_or_rename_a_system_admin_of_their_unit(client, db, dept, token_for) -> None:
    headers = {"Authorization": f"Bearer {token_for(dept.it_admin)}"}
    target = dept.system_admin
    jobs_before = db.scalar(select(DirectoryJob.id).order_by(DirectoryJob.id.desc()).limit(1))
    for method, path, body in (
        ("post", f"/api/v1/accounts/{target.id}/reset-password", None),
        ("post", f"/api/v1/accounts/{target.id}/disable", {"reason": "thử leo quyền"}),
        ("post", f"/api/v1/accounts/{target.id}/archive", {"reason": "thử leo quyền"}),
        ("patch", f"/api/v1/accounts/{target.id}", {"full_name": "Tên Khác"}),
        ("post", f"/api/v1/accounts/{target.id}/aliases", {"address": f"khac@{target.email.split('@')[1]}"}),
    ):
        response = getattr(client, method)(path, headers=headers, json=body)
        assert response.status_code == 403, (path, response.get_json())
        assert "only a system admin" in response.get_json()["error"]["message"]
    db.expire_all()
    assert db.get(Staff, target.id).status == "active"
    assert db.get(Staff, target.id).full_name == "Nguyễn Văn Quản"
    assert db.scalar(select(DirectoryJob.id).order_by(DirectoryJob.id.desc()).limit(1)) == jobs_before


def test_console_refuses_the_climb_too(client_for, create_unit, db, dept) -> None:
    create_unit(name="Trung tâm Thông tin", kind="office", parent=dept.unit, mail_domain="ttcds.gialai.gov.vn")
    admin = client_for(dept.it_admin)
    page = admin.get(f"/staff/{dept.system_admin.id}").get_data(as_text=True)
    assert 'value="reset_password"' not in page
    token = csrf_token(admin, f"/staff/{dept.person.id}")
    for verb in ("reset_password", "disable"):
        refused = admin.post(
            f"/staff/{dept.system_admin.id}/action", data={"csrf_token": token, "verb": verb, "reason": "thử"}
        )
        assert refused.status_code == 403
    renamed = admin.post(
        f"/units/{dept.unit.id}/manage",
        data={"csrf_token": token, "verb": "domain", "domain": "ttcds.gialai.gov.vn", "confirm": "yes"},
    )
    assert renamed.status_code == 403
    db.expire_all()
    assert db.get(Staff, dept.system_admin.id).status == "active"
    assert db.get(Staff, dept.system_admin.id).email.endswith("@gialai.gov.vn")


def test_system_admin_may_do_what_a_unit_admin_may_not(client, db, dept, token_for) -> None:
    headers = {"Authorization": f"Bearer {token_for(dept.system_admin)}"}
    assert client.post(f"/api/v1/accounts/{dept.it_admin.id}/reset-password", headers=headers).status_code == 200
    created = client.post("/api/v1/roles", headers=headers, json={"email": dept.person.email, "role": "auditor"})
    assert created.status_code == 201


def test_disabling_a_mailbox_ends_its_roles_effect_at_once(cli, client, client_for, db, dept, token_for) -> None:
    api = {"Authorization": f"Bearer {token_for(dept.it_admin)}"}
    console = client_for(dept.it_admin)
    assert client.get("/api/v1/units", headers=api).status_code == 200
    db.commit()
    result = cli(["accounts", "disable", dept.it_admin.email, "--reason", "chuyển công tác"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/units", headers=api).status_code == 401
    assert console.get(f"/units/{dept.unit.id}").status_code == 302
    listed = cli(["roles", "list", "--unit", dept.unit.code])
    assert f"{dept.it_admin.email}\tunit_admin\t{dept.unit.code}\tno (disabled)" in listed.output
