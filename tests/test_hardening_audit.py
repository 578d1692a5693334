"""Issue 11, audited point by point: what its other tests left out. A unit admin cannot move a system admin
nor change a peer's mailbox; archiving ends a role at once; a session ends at its maximum age however busy;
the second factor is required by default in production only; far years, huge titles and ids too large for a
table are refused by name in the console's forms and the CLI too, and nothing is written."""

import dataclasses
import datetime as dt

from sqlalchemy import func, select

from core.tasks import Task
from meetings.models import BridgePoint, Meeting
from provisioning.models import ConsoleSession, Role, Staff
from tests.factories import PASSWORD, csrf_token, sign_in

HUGE = 2**64 + 1
TOO_BIG_FOR_INTEGER = 2**40  # fits SQLite's 64 bits, not PostgreSQL's INTEGER column


def test_a_unit_admin_cannot_move_a_system_admin_nor_change_a_peer_but_may_a_narrower_admin(
    client, client_for, create_unit, create_staff, db, token_for
) -> None:
    unit = create_unit(name="Sở Khoa học và Công nghệ")
    office = create_unit(name="Trung tâm Chuyển đổi số", kind="office", parent=unit)
    it_admin = create_staff(unit, full_name="Siu H'Mai", role=Role.UNIT_ADMIN, password=PASSWORD)
    peer = create_staff(unit, full_name="Rơ Châm H'Yao", role=Role.UNIT_ADMIN)
    narrower = create_staff(office, full_name="Nay Blum", role=Role.UNIT_ADMIN)
    system_admin = create_staff(unit, full_name="Nguyễn Văn Quản", role=Role.SYSTEM_ADMIN)
    console = client_for(it_admin)
    token = csrf_token(console, f"/staff/{system_admin.id}")
    moved = console.post(
        f"/staff/{system_admin.id}/action", data={"csrf_token": token, "verb": "move", "unit_id": office.id}
    )
    assert moved.status_code == 403
    headers = {"Authorization": f"Bearer {token_for(it_admin)}"}
    refused = client.post(f"/api/v1/accounts/{peer.id}/reset-password", headers=headers)
    assert refused.status_code == 403, refused.get_json()
    assert "only a system admin" in refused.get_json()["error"]["message"]
    assert client.post(f"/api/v1/accounts/{narrower.id}/reset-password", headers=headers).status_code == 200
    db.expire_all()
    assert db.get(Staff, system_admin.id).unit_id == unit.id


def test_archiving_a_mailbox_ends_its_roles_effect_at_once(cli, client, create_unit, create_staff, db, token_for):
    unit = create_unit()
    admin = create_staff(unit, full_name="Kpă Thuyên", role=Role.UNIT_ADMIN)
    headers = {"Authorization": f"Bearer {token_for(admin)}"}
    assert client.get(f"/api/v1/units/{unit.id}", headers=headers).status_code == 200
    db.commit()
    result = cli(["accounts", "archive", admin.email, "--reason", "nghỉ hưu", "--yes"])
    assert result.exit_code == 0, result.output
    assert client.get(f"/api/v1/units/{unit.id}", headers=headers).status_code == 401


def test_a_session_ends_at_its_maximum_age_however_busy(client, db, create_staff) -> None:
    person = create_staff(full_name="Ksor Y Phước", role=Role.SECRETARY, password=PASSWORD)
    assert sign_in(client, person.email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    row = db.scalar(select(ConsoleSession).where(ConsoleSession.staff_id == person.id))
    assert row is not None
    row.created_at -= dt.timedelta(hours=13)  # the default maximum is 12 hours; it was used a moment ago
    db.commit()
    assert client.get("/").status_code == 302


def test_the_second_factor_is_required_by_default_in_production_only(runtime) -> None:
    settings = runtime.settings
    assert dataclasses.replace(settings, env="production", require_2fa="").is_2fa_required
    assert not dataclasses.replace(settings, env="production", require_2fa="off").is_2fa_required
    assert not dataclasses.replace(settings, env="development", require_2fa="").is_2fa_required
    assert dataclasses.replace(settings, env="development", require_2fa="on").is_2fa_required


def _meeting_rows(db) -> tuple[int, int]:
    return db.scalar(select(func.count(Meeting.id))), db.scalar(select(func.count(Task.id)))


def test_the_consoles_forms_refuse_far_years_and_huge_titles_by_name(client_as, create_point, create_meeting, db):
    host = create_point()
    meeting = create_meeting(points=[host])
    starts_at = meeting.starts_at
    secretary = client_as(Role.SECRETARY)
    auditor = client_as(Role.SYSTEM_ADMIN)
    before = _meeting_rows(db)
    for year in ("9999", "0001"):
        form = {"title": "Họp", "date": f"{year}-06-01", "start": "08:00", "end": "09:00", "host_point_id": host.id}
        booked = secretary.post("/meetings/new", data=form | {"csrf_token": csrf_token(secretary, "/meetings/new")})
        assert booked.status_code == 422
        assert "Date" in booked.get_data(as_text=True)
        search = {"point_ids": host.id, "from": f"{year}-01-01", "to": f"{year}-01-02"}
        found = secretary.post(
            "/meetings/find-time", data=search | {"csrf_token": csrf_token(secretary, "/meetings/find-time")}
        )
        assert found.status_code == 422
        assert "From" in found.get_data(as_text=True)
        calendar = secretary.get(f"/points/{host.id}/calendar", query_string={"date": f"{year}-01-01"})
        assert calendar.status_code == 400
        assert "date" in calendar.get_data(as_text=True)
        board = secretary.get("/meetings", query_string={"week": f"{year}-01-01"})
        assert board.status_code == 400
        assert "week" in board.get_data(as_text=True)
        changed = secretary.post(
            f"/meetings/{meeting.id}/change",
            data={"csrf_token": csrf_token(secretary, f"/meetings/{meeting.id}"), "date": f"{year}-06-01"},
            follow_redirects=True,
        )
        assert "Date" in changed.get_data(as_text=True)
        report = auditor.post(
            "/reports",
            data={"csrf_token": csrf_token(auditor, "/reports"), "month": f"{year}-12"},
            follow_redirects=True,
        )
        assert "month" in report.get_data(as_text=True)
    form = {"title": "x" * 1_000_000, "date": "2027-03-02", "start": "08:00", "end": "09:00", "host_point_id": host.id}
    huge = secretary.post("/meetings/new", data=form | {"csrf_token": csrf_token(secretary, "/meetings/new")})
    assert huge.status_code == 422
    assert "300" in huge.get_data(as_text=True)
    assert _meeting_rows(db) == before
    db.refresh(meeting)
    assert meeting.starts_at == starts_at


def test_console_ids_too_large_for_a_table_are_refused(client_as, create_point, create_unit, db) -> None:
    host = create_point()
    unit = create_unit()
    admin = client_as(Role.SYSTEM_ADMIN)
    token = csrf_token(admin, "/points")
    points_before = db.scalar(select(func.count(BridgePoint.id)))
    for path in (f"/staff/{HUGE}/action", f"/staff/{HUGE}/roles", f"/units/{HUGE}/roles", f"/meetings/{HUGE}/cancel"):
        assert admin.post(path, data={"csrf_token": token}).status_code == 404, path
    for number in (HUGE, TOO_BIG_FOR_INTEGER):
        added = admin.post("/points", data={"csrf_token": token, "unit_id": number, "name": "Điểm cầu thử"})
        assert added.status_code in (400, 422), number
        big = admin.post(
            "/points", data={"csrf_token": token, "unit_id": unit.id, "name": "Điểm cầu thử", "capacity": number}
        )
        assert big.status_code in (400, 422), number
        assert admin.post("/my/feed", data={"csrf_token": token, "point_id": number}).status_code in (400, 404)
        saved = admin.post(f"/points/{host.id}", data={"csrf_token": token, "capacity": number})
        assert saved.status_code in (302, 400, 422)
    assert db.scalar(select(func.count(BridgePoint.id))) == points_before
    db.refresh(host)
    assert host.capacity < 10**6


def test_the_cli_refuses_far_years_and_huge_ids_by_name(cli, create_point) -> None:
    host = create_point()
    book = ["meetings", "book", "--title", "Họp", "--start", "08:00", "--end", "09:00"]
    for args, named in (
        (["meetings", "list", "--from", "9999-12-31"], "--from"),
        (["meetings", "list", "--to", "0001-01-01"], "--to"),
        (["meetings", "list", "--point", str(HUGE)], "--point"),
        ([*book, "--date", "9999-06-01", "--host", str(host.id)], "date"),
        ([*book, "--date", "2027-03-02", "--host", str(HUGE)], "--host"),
        ([*book, "--date", "2027-03-02", "--host", str(host.id), "--point", str(HUGE)], "--point"),
        (["meetings", "cancel", str(HUGE)], "MEETING_ID"),
        (["token", "create", "someone@gialai.gov.vn", "--days", str(HUGE)], "--days"),
    ):
        result = cli(args)
        assert result.exit_code in (1, 2), (args, result.output, result.exception)
        assert isinstance(result.exception, SystemExit), (args, result.exception)
        assert named in result.output, (args, result.output)


def test_configured_reserved_names_and_domains_hold_too(
    client, client_for, create_unit, create_staff, db, monkeypatch, runtime, token_as, token_for
) -> None:
    policy = runtime.mailbox_policy
    rules = dataclasses.replace(policy.rules, extra_reserved=("vanthu",), extra_domains=("binhdinh.gov.vn",))
    monkeypatch.setitem(runtime.__dict__, "mailbox_policy", dataclasses.replace(policy, rules=rules))
    district = create_unit(name="Huyện Chư Păh", kind="district")
    commune = create_unit(name="Xã Ia Ly", kind="commune", parent=district)
    it_admin = create_staff(district, full_name="Siu H'Mai", role=Role.UNIT_ADMIN, password=PASSWORD)
    person = create_staff(commune, full_name="Kpă Thuyên")
    admin_api = {"Authorization": f"Bearer {token_for(it_admin)}"}
    body = {"unit_id": district.id, "full_name": "Văn thư", "kind": "functional", "local_part": "vanthu"}
    refused = client.post("/api/v1/accounts", headers=admin_api, json=body)
    assert refused.status_code == 422
    assert "reserved" in refused.get_json()["error"]["message"]
    # A configured domain is the province's, but not a unit admin's unless their subtree has it.
    aliased = client.post(
        f"/api/v1/accounts/{person.id}/aliases", headers=admin_api, json={"address": "kpa@binhdinh.gov.vn"}
    )
    assert aliased.status_code == 422
    assert "unit you administer" in aliased.get_json()["error"]["message"]
    system = {"Authorization": f"Bearer {token_as(Role.SYSTEM_ADMIN)}"}
    given = client.post(
        f"/api/v1/accounts/{person.id}/aliases", headers=system, json={"address": "kpa@binhdinh.gov.vn"}
    )
    assert given.status_code == 201, given.get_json()
    unknown = client.post(
        f"/api/v1/accounts/{person.id}/aliases", headers=system, json={"address": "kpa@quangngai.gov.vn"}
    )
    assert unknown.status_code == 422
    assert "province's mail domains" in unknown.get_json()["error"]["message"]
    # A unit admin cannot give a unit of their subtree a domain of their own choosing.
    console = client_for(it_admin)
    token = csrf_token(console, f"/units/{commune.id}/manage")
    changed = console.post(
        f"/units/{commune.id}/manage",
        data={"csrf_token": token, "verb": "domain", "domain": "ialy.example.vn", "confirm": "yes"},
    )
    assert changed.status_code == 422
    assert "ialy.example.vn" in changed.get_data(as_text=True)
    db.expire_all()
    assert db.get(type(commune), commune.id).mail_domain is None
