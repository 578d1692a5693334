"""Sign-in against the real slapd: bind as the person, throttling, the break-glass admin."""

import pytest
from sqlalchemy import select, update

from provisioning.models import AccountStatus, Role, Staff
from tests.factories import PASSWORD, csrf_token, sign_in


@pytest.fixture
def secretary(create_staff) -> Staff:
    """A secretary of the provincial office whose directory password is :data:`PASSWORD`."""
    return create_staff(full_name="Rơ Châm H'Yao", role=Role.SECRETARY, password=PASSWORD)


@pytest.fixture
def auditor(create_staff) -> Staff:
    return create_staff(full_name="Kpă Thuyên", role=Role.AUDITOR, password=PASSWORD)


def test_staff_signs_in_with_their_directory_password(client, secretary) -> None:
    response = sign_in(client, secretary.email, PASSWORD)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Tổng quan" in page
    assert secretary.email in page


def test_wrong_password_is_refused(client, auditor) -> None:
    response = sign_in(client, auditor.email, PASSWORD + "x")
    assert response.status_code == 401
    assert "Sai địa chỉ thư hoặc mật khẩu" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_unknown_address_gets_the_same_answer(client) -> None:
    response = sign_in(client, "nobody@gialai.gov.vn", "whatever-password")
    assert response.status_code == 401
    assert "Sai địa chỉ thư hoặc mật khẩu" in response.get_data(as_text=True)


def test_sixth_wrong_attempt_in_a_row_is_locked_out(client, create_staff) -> None:
    admin = create_staff(full_name="Nay Blum", role=Role.UNIT_ADMIN, password=PASSWORD)
    for _ in range(5):
        page = sign_in(client, admin.email, "wrong-password").get_data(as_text=True)
        assert "Sai địa chỉ thư hoặc mật khẩu" in page
    sixth = sign_in(client, admin.email, "wrong-password")
    assert sixth.status_code == 401
    assert "tạm khóa" in sixth.get_data(as_text=True)
    # Locked means locked: the right password is refused too until the lock expires.
    right = sign_in(client, admin.email, PASSWORD)
    assert "tạm khóa" in right.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_success_resets_the_failure_count(client, auditor) -> None:
    for _ in range(4):
        sign_in(client, auditor.email, "wrong-password")
    assert sign_in(client, auditor.email, PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for _ in range(4):
        sign_in(client, auditor.email, "wrong-password")
    assert sign_in(client, auditor.email, PASSWORD).status_code == 302


def test_break_glass_admin_signs_in_without_the_directory(client, create_local_admin) -> None:
    admin = create_local_admin()
    assert "@" not in admin.username  # a local name, checked by argon2 in the database, never by slapd
    assert sign_in(client, admin.username, PASSWORD).status_code == 302
    assert client.get("/units").status_code == 200


def test_disabled_staff_cannot_sign_in_and_loses_their_session(client, db, secretary) -> None:
    assert sign_in(client, secretary.email, PASSWORD).status_code == 302
    db.execute(update(Staff).where(Staff.email == secretary.email).values(status=AccountStatus.DISABLED))
    db.commit()
    assert client.get("/").status_code == 302  # the session no longer counts
    assert sign_in(client, secretary.email, PASSWORD).status_code == 401


def test_login_form_without_csrf_token_is_rejected(client, secretary) -> None:
    response = client.post("/login", data={"login": secretary.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, secretary) -> None:
    response = sign_in(client, secretary.email, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_open_redirect_is_refused(client, secretary) -> None:
    response = client.post(
        "/login?next=//evil.example/",
        data={"login": secretary.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# About the demo, not about signing in: it belongs in tests/test_demo.py.
def test_demo_staff_exist_in_database(db, demo_logins) -> None:
    emails = set(db.scalars(select(Staff.email)))
    for key, login in demo_logins.items():
        if key != "local":
            assert login.login in emails
