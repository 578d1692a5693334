"""The second factor (TOTP) for role holders and the break-glass admin, with recovery codes."""

import dataclasses
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from core.changelog import ChangeEntry
from provisioning.models import Role, SignInThrottle
from tests.factories import PASSWORD, csrf_token, sign_in


@pytest.fixture
def required(runtime, monkeypatch):
    """CONGVU_REQUIRE_2FA=on for this test (it is off in testing unless set)."""
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, require_2fa="on"))
    return runtime


def _enrol(client, path: str = "/account/second-factor") -> tuple[str, list[str]]:
    """Set up TOTP on the page the sign-in sent us to: read the key, answer with a code; returns both."""
    page = client.get(path).get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    assert 'src="data:image/svg+xml' in page  # the QR code is drawn here, nothing is fetched
    done = client.post(path, data={"csrf_token": csrf_token(client, path), "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_data(as_text=True)
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def _code_page(client, code: str):
    return client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"), "code": code})


def test_role_holder_without_a_second_factor_is_sent_to_enrol(required, client, create_staff) -> None:
    admin = create_staff(full_name="Siu H'Mai", role=Role.UNIT_ADMIN, password=PASSWORD)
    response = sign_in(client, admin.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/second-factor"
    assert client.get("/").status_code == 302  # not signed in before the second factor works
    _enrol(client)
    assert client.get("/").status_code == 200


def test_wrong_code_is_refused_and_counts_as_a_failure(required, app, db, create_staff) -> None:
    admin = create_staff(full_name="Nay Blum", role=Role.SECRETARY, password=PASSWORD)
    first = app.test_client()
    sign_in(first, admin.email, PASSWORD)
    secret, _codes = _enrol(first)
    client = app.test_client()
    assert sign_in(client, admin.email, PASSWORD).headers["Location"] == "/login/code"
    wrong = _code_page(client, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert wrong.status_code == 401
    assert "Mã không đúng" in wrong.get_data(as_text=True)
    assert client.get("/").status_code == 302
    db.expire_all()
    row = db.scalar(select(SignInThrottle).where(SignInThrottle.login == admin.email))
    assert row is not None
    assert row.failures == 1


def test_a_code_works_once(db, runtime, create_staff) -> None:
    from provisioning.actors import actor_for_staff
    from provisioning.second_factor import enrol, new_secret, verify_code

    owner = actor_for_staff(create_staff(full_name="Nay Blum", role=Role.SECRETARY))
    secret = new_secret()
    enrol(db, owner, secret, pyotp.TOTP(secret).now(), runtime.secret_key)
    later = time.time() + 30
    code = pyotp.TOTP(secret).at(later)
    assert verify_code(db, owner, code, runtime.secret_key, now=later)
    assert not verify_code(db, owner, code, runtime.secret_key, now=later)  # replayed
    assert not verify_code(db, owner, "123", runtime.secret_key, now=later)


def test_recovery_codes_work_once_each(required, app, create_staff) -> None:
    person = create_staff(full_name="Kpă Thuyên", role=Role.AUDITOR, password=PASSWORD)
    first = app.test_client()
    sign_in(first, person.email, PASSWORD)
    _secret, codes = _enrol(first)
    client = app.test_client()
    sign_in(client, person.email, PASSWORD)
    assert _code_page(client, codes[0]).status_code == 302
    assert client.get("/").status_code == 200
    again = app.test_client()
    sign_in(again, person.email, PASSWORD)
    assert _code_page(again, codes[0]).status_code == 401
    assert _code_page(again, codes[1].upper()).status_code == 302


def test_break_glass_admin_has_a_second_factor_too(required, client, create_local_admin) -> None:
    admin = create_local_admin()
    response = sign_in(client, admin.username, PASSWORD)
    assert response.headers["Location"] == "/account/second-factor"
    _enrol(client)
    assert client.get("/units").status_code == 200


def test_staff_without_a_role_sign_in_with_the_password_alone(required, client, create_staff) -> None:
    person = create_staff(full_name="Trần Thị Bình", password=PASSWORD)
    assert sign_in(client, person.email, PASSWORD).headers["Location"] == "/"


def test_a_system_admin_resets_a_second_factor_and_it_is_audited(required, app, cli, db, create_staff) -> None:
    person = create_staff(full_name="Rơ Châm H'Yao", role=Role.SECRETARY, password=PASSWORD)
    client = app.test_client()
    sign_in(client, person.email, PASSWORD)
    _enrol(client)
    assert client.get("/").status_code == 200
    db.commit()
    result = cli(["second-factor", "reset", person.email])
    assert result.exit_code == 0, result.output
    assert client.get("/").status_code == 302  # the reset ended the session
    entry = db.scalar(select(ChangeEntry).where(ChangeEntry.action == "second_factor.reset"))
    assert entry is not None
    assert entry.target_label == person.email
    fresh = app.test_client()
    assert sign_in(fresh, person.email, PASSWORD).headers["Location"] == "/account/second-factor"


def test_the_reset_button_is_for_system_admins(required, app, client_for, create_staff) -> None:
    person = create_staff(full_name="Ksor Y Phước", role=Role.SECRETARY, password=PASSWORD)
    client = app.test_client()
    sign_in(client, person.email, PASSWORD)
    _enrol(client)
    unit_admin = create_staff(person.unit, full_name="Nay Thị Lan", role=Role.UNIT_ADMIN, password=PASSWORD)
    other = app.test_client()
    sign_in(other, unit_admin.email, PASSWORD)
    _enrol(other)
    token = csrf_token(other, "/")
    refused = other.post(f"/staff/{person.id}/security", data={"csrf_token": token, "verb": "reset_second_factor"})
    assert refused.status_code == 403
