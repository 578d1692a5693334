"""Mailbox lifecycle against the real slapd and Dovecot: what an IMAP client notices."""

import unicodedata

import pytest

from core.actors import SYSTEM
from provisioning import accounts
from provisioning.entries import list_dn, staff_dn
from provisioning.models import AccountStatus, Role, Staff
from provisioning.operations import ProvisioningError
from provisioning.units import change_mail_domain, merge_units, move_unit
from tests.factories import PASSWORD, csrf_token, sign_in
from tests.mail_helpers import imap_login


def test_created_mailbox_logs_in_disabled_is_refused_enabled_again_reset_changes_password(
    db, runtime, services, create_staff, commit_and_sync
) -> None:
    person = create_staff(full_name="Kpă Thuyên", staff_number="T-LIFE-1")
    first = accounts.reset_password(db, SYSTEM, person, secret_key=runtime.secret_key)
    commit_and_sync()
    assert person.email == "thuyenk@gialai.gov.vn" or person.email.startswith("thuyenk")
    assert imap_login(services.config.imap_port, person.email, first)

    accounts.disable(db, SYSTEM, person, "nghỉ hưu")
    commit_and_sync()
    assert not imap_login(services.config.imap_port, person.email, first)

    accounts.enable(db, SYSTEM, person)
    commit_and_sync()
    assert imap_login(services.config.imap_port, person.email, first)

    second = accounts.reset_password(db, SYSTEM, person, secret_key=runtime.secret_key)
    commit_and_sync()
    assert second != first
    assert not imap_login(services.config.imap_port, person.email, first)
    assert imap_login(services.config.imap_port, person.email, second)


def test_reset_password_must_be_changed_at_first_use(db, runtime, directory, create_staff, commit_and_sync) -> None:
    person = create_staff(full_name="Nay Blum", staff_number="T-PWD-1")
    accounts.reset_password(db, SYSTEM, person, secret_key=runtime.secret_key)
    commit_and_sync()
    assert directory.must_change(staff_dn(person, runtime.settings.ldap_base_dn))
    accounts.set_password(db, SYSTEM, person, "Chosen-Pass-2026!", secret_key=runtime.secret_key, min_length=10)
    commit_and_sync()
    assert not directory.must_change(staff_dn(person, runtime.settings.ldap_base_dn))
    stored = directory.read(staff_dn(person, runtime.settings.ldap_base_dn), ["userPassword"])
    assert stored["userPassword"][0].startswith("{ARGON2}")


@pytest.mark.parametrize(
    ("password", "problem"),
    [("Short1!", "at least 10"), ("alllowercase1", "three of"), ("Blum-Secret-2026", "Blum")],
)
def test_password_policy_names_the_rule(db, runtime, create_staff, password: str, problem: str) -> None:
    person = create_staff(full_name="Nay Blum", staff_number="T-PWD-2")
    with pytest.raises(ProvisioningError, match=problem):
        accounts.set_password(db, SYSTEM, person, password, secret_key=runtime.secret_key, min_length=10)


def test_archived_address_is_never_reissued(db, create_unit, create_staff) -> None:
    unit = create_unit()
    first = create_staff(unit, full_name="Đặng Đức Đạt", staff_number="T-ARC-1")
    accounts.archive(db, SYSTEM, first, "chuyển công tác")
    second = create_staff(unit, full_name="Đặng Đức Đạt", staff_number="T-ARC-2")
    assert first.email.split("@")[0].startswith("datdd")
    assert second.email != first.email
    assert first.status == AccountStatus.ARCHIVED


def test_archive_leaves_directory_after_retention(db, runtime, directory, create_staff, commit_and_sync) -> None:
    import datetime as dt

    person = create_staff(full_name="Siu H'Mai", staff_number="T-ARC-3")
    commit_and_sync()
    dn = staff_dn(person, runtime.settings.ldap_base_dn)
    accounts.archive(db, SYSTEM, person, "nghỉ việc")
    commit_and_sync()
    assert directory.read(dn, ["congvuMailStatus"])["congvuMailStatus"] == ["archived"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=91)
    assert accounts.expire_archives(db, SYSTEM, dt.timedelta(days=90), now=later) == 1
    commit_and_sync()
    assert directory.read(dn, ["mail"]) is None
    assert db.get(Staff, person.id).email == person.email  # the record and the address stay


SPECIAL = ' Nguyễn, Văn+ "An" \\ <Bình> ; * ( ) = #'
# Every Vietnamese vowel letter with every tone, both cases (144 letters), and Đ/đ.
ALL_VOWELS = (
    "".join(
        unicodedata.normalize("NFC", base + tone)
        for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
        for tone in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
    )
    + "Đđ"
)


def test_ldap_special_characters_and_every_diacritic_round_trip(
    runtime, directory, create_unit, create_staff, commit_and_sync, client_as
) -> None:
    unit = create_unit()
    tricky = create_staff(unit, full_name=SPECIAL, staff_number="T-SPEC-1", local_part="spec.one")
    vowels = create_staff(unit, full_name=f"Trần {ALL_VOWELS} Đức", staff_number="T-SPEC-2", local_part="spec.two")
    commit_and_sync()
    assert tricky.full_name == SPECIAL.strip()  # stored as typed (outer spaces trimmed)
    for person in (tricky, vowels):
        entry = directory.read(staff_dn(person, runtime.settings.ldap_base_dn), ["cn"])
        assert entry["cn"] == [person.full_name]
    client = client_as(Role.SYSTEM_ADMIN)
    page = client.get("/staff", query_string={"q": "<Bình>"}).get_data(as_text=True)
    assert "&lt;Bình&gt;" in page  # shown escaped, found by its odd characters
    star = client.get("/staff", query_string={"q": "*"}).get_data(as_text=True)
    assert "spec.one@gialai.gov.vn" in star
    assert "spec.two@gialai.gov.vn" not in star  # '*' is a character, not a wildcard
    assert ALL_VOWELS in client.get(f"/staff/{vowels.id}").get_data(as_text=True)
    # The directory is shared by the whole test session: other tests' entries may also hold a literal '*'.
    found = directory.search(runtime.settings.ldap_base_dn, "(cn=*\\2a*)", ["mail", "cn"])
    mails = {attrs["mail"][0] for _, attrs in found}
    assert "spec.one@gialai.gov.vn" in mails
    assert "spec.two@gialai.gov.vn" not in mails
    assert all("*" in attrs["cn"][0] for _, attrs in found)  # '*' matched as a character, not as a wildcard


def test_domain_change_keeps_old_address_as_alias(
    db, runtime, directory, services, create_unit, create_staff, commit_and_sync
) -> None:
    district = create_unit("T-DOMAIN", name="Huyện Thử Tên Miền", kind="district")
    person = create_staff(district, full_name="Đinh Văn Hyun", staff_number="T-DOM-1")
    password = accounts.reset_password(db, SYSTEM, person, secret_key=runtime.secret_key)
    commit_and_sync()
    old = person.email
    changed = change_mail_domain(
        db, SYSTEM, district, "kbang.gialai.gov.vn", "gialai.gov.vn", alias_days=runtime.settings.reorg_alias_days
    )
    commit_and_sync()
    assert changed >= 1
    assert person.email == old.replace("@gialai.gov.vn", "@kbang.gialai.gov.vn")
    assert old in [a.address for a in person.aliases]
    entry = directory.read(staff_dn(person, runtime.settings.ldap_base_dn), ["mail", "congvuMailAlias"])
    assert entry["mail"] == [person.email]
    assert old in entry["congvuMailAlias"]
    assert imap_login(services.config.imap_port, person.email, password)
    # The unit's distribution list moves to the new domain too.
    from provisioning.entries import list_dn

    listed = directory.read(list_dn(district, runtime.settings.ldap_base_dn), ["mail"])
    assert listed["mail"] == ["dl-t-domain@kbang.gialai.gov.vn"]


def test_move_and_merge_lose_no_mailbox(db, runtime, directory, create_unit, create_staff, commit_and_sync) -> None:
    a = create_unit("T-MERGE-A", name="Phòng Thử A")
    b = create_unit("T-MERGE-B", name="Phòng Thử B")
    sub = create_unit("T-MERGE-A1", name="Tổ Thử A1", parent=a)
    people = [
        create_staff(unit, full_name=name, staff_number=f"T-MRG-{i}")
        for i, (unit, name) in enumerate([(a, "Lê Thị Hoa"), (sub, "Puih Nhứ"), (a, "Ksor Y Phước")])
    ]
    commit_and_sync()
    move_unit(db, SYSTEM, sub, b)
    commit_and_sync()
    assert sub.path.startswith(b.path)
    assert directory.read(staff_dn(people[1], runtime.settings.ldap_base_dn), ["mail"]) is not None
    moved = merge_units(db, SYSTEM, a, b)
    commit_and_sync()
    assert moved == 2
    base = runtime.settings.ldap_base_dn
    for person in people:
        db.refresh(person)
        assert person.unit_id in (b.id, sub.id)
        assert directory.read(staff_dn(person, base), ["mail"])["mail"] == [person.email]
    assert directory.search(base, "(congvuUnitCode=T-MERGE-A)", ["ou"]) == []


def test_unit_distribution_list_follows_its_mailboxes(
    db, runtime, directory, create_unit, create_staff, commit_and_sync
) -> None:
    unit = create_unit("T-LIST", name="Phòng Danh sách")
    one = create_staff(unit, full_name="Rah Lan Chung", staff_number="T-DL-1")
    two = create_staff(unit, full_name="Hồ Thị Lan", staff_number="T-DL-2")
    commit_and_sync()
    dn = list_dn(unit, runtime.settings.ldap_base_dn)
    members = directory.read(dn, ["member", "mail"])
    assert len(members["member"]) == 2
    assert members["mail"] == ["dl-t-list@gialai.gov.vn"]
    accounts.disable(db, SYSTEM, two, "nghỉ phép dài hạn")
    commit_and_sync()
    assert directory.read(dn, ["member"])["member"] == [staff_dn(one, runtime.settings.ldap_base_dn)]
    member_of = directory.read(staff_dn(one, runtime.settings.ldap_base_dn), ["memberOf"])
    # Computed by slapd's dynlist from the list's members, as slapd normalises the DN (its ou in lower case):
    # DNs compare without regard to case here (caseIgnoreMatch), so that is the same list.
    assert [value.lower() for value in member_of["memberOf"]] == [dn.lower()]
    gone = directory.read(staff_dn(two, runtime.settings.ldap_base_dn), ["memberOf"])
    assert gone.get("memberOf", []) == []  # the disabled one is no longer a member of it


def test_console_disable_needs_a_reason_and_archive_a_confirmation(db, create_unit, create_staff, client_as) -> None:
    district = create_unit(name="Huyện Chư Păh", kind="district")
    person = create_staff(district, full_name="Rơ Mah Hlăm")
    client = client_as(Role.UNIT_ADMIN, district)
    url = f"/staff/{person.id}/action"
    token = csrf_token(client, f"/staff/{person.id}")
    no_reason = client.post(url, data={"verb": "disable", "reason": "", "csrf_token": token})
    assert no_reason.status_code == 422
    no_confirm = client.post(url, data={"verb": "archive", "reason": "x", "csrf_token": token})
    assert no_confirm.status_code == 422
    assert db.get(Staff, person.id).status == "active"
    done = client.post(url, data={"verb": "disable", "reason": "nghỉ hưu", "csrf_token": token})
    assert done.status_code == 302
    db.expire_all()
    assert db.get(Staff, person.id).status == "disabled"
    page = client.post(url, data={"verb": "reset_password", "csrf_token": token})
    assert page.headers["Cache-Control"] == "no-store"
    assert 'id="one-time-password"' in page.get_data(as_text=True)


def test_unit_admin_cannot_touch_accounts_outside_their_subtree(
    client, db, create_unit, create_staff, token_for, client_for
) -> None:
    own = create_unit(name="Huyện Chư Păh", kind="district")
    iapa = create_unit(name="Huyện Ia Pa", kind="district")
    outsider = create_staff(iapa, full_name="Ksor Y Phước")
    admin = create_staff(own, full_name="Rơ Châm H'Yao", role=Role.UNIT_ADMIN, password=PASSWORD)
    headers = {"Authorization": f"Bearer {token_for(admin)}"}
    assert client.get(f"/api/v1/accounts/{outsider.id}", headers=headers).status_code == 403
    assert (
        client.post(f"/api/v1/accounts/{outsider.id}/disable", headers=headers, json={"reason": "x"}).status_code == 403
    )
    assert client.post(f"/api/v1/accounts/{outsider.id}/reset-password", headers=headers).status_code == 403
    created = client.post("/api/v1/accounts", headers=headers, json={"unit_id": iapa.id, "full_name": "Nay Blum"})
    assert created.status_code == 403
    ok = client.post("/api/v1/accounts", headers=headers, json={"unit_id": own.id, "full_name": "Nay Blum"})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["one_time_password"]
    browser = client_for(admin)
    token = csrf_token(browser, "/")
    assert (
        browser.post(
            f"/staff/{outsider.id}/action", data={"verb": "disable", "reason": "x", "csrf_token": token}
        ).status_code
        == 403
    )
    assert browser.get(f"/units/{iapa.id}/staff/new").status_code == 403
    assert browser.get(f"/units/{iapa.id}/import").status_code == 403
    db.expire_all()
    assert db.get(Staff, outsider.id).status == "active"


def test_after_a_reset_the_owner_must_change_the_password_first(
    client, db, runtime, services, create_staff, commit_and_sync
) -> None:
    person = create_staff(full_name="Rcom Thăm", staff_number="T-FIRST-1")
    one_time = accounts.reset_password(db, SYSTEM, person, secret_key=runtime.secret_key)
    commit_and_sync()
    response = sign_in(client, person.email, one_time)
    assert response.headers["Location"] == "/password"
    assert client.get("/").headers["Location"] == "/password"  # nothing else until it is changed
    page = client.get("/password").get_data(as_text=True)
    assert "Mật khẩu của bạn đã được đặt lại" in page
    token = csrf_token(client, "/password")
    weak = client.post(
        "/password",
        data={"old_password": one_time, "new_password": "thamr123", "repeat": "thamr123", "csrf_token": token},
    )
    assert weak.status_code == 422
    new = "Mua-xuan-2026!"
    done = client.post(
        "/password", data={"old_password": one_time, "new_password": new, "repeat": new, "csrf_token": token}
    )
    assert done.status_code == 302, done.get_data(as_text=True)[-1500:]
    assert client.get("/").status_code == 200
    assert imap_login(services.config.imap_port, person.email, new)
    assert not imap_login(services.config.imap_port, person.email, one_time)
