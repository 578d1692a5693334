"""Sign-in against the real slapd: bind as the person, throttling, the break-glass admin."""

from sqlalchemy import select, update

from provisioning.models import AccountStatus, Staff
from tests.conftest import csrf_token, sign_in


def test_demo_staff_signs_in_with_their_password(client, demo_logins) -> None:
    login = demo_logins["secretary"]
    response = sign_in(client, login.login, login.password)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Tổng quan" in page
    assert login.login in page


def test_wrong_password_is_refused(client, demo_logins) -> None:
    login = demo_logins["auditor"]
    response = sign_in(client, login.login, login.password + "x")
    assert response.status_code == 401
    assert "Sai địa chỉ thư hoặc mật khẩu" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_unknown_address_gets_the_same_answer(client) -> None:
    response = sign_in(client, "nobody@gialai.gov.vn", "whatever-password")
    assert response.status_code == 401
    assert "Sai địa chỉ thư hoặc mật khẩu" in response.get_data(as_text=True)


def test_sixth_wrong_attempt_in_a_row_is_locked_out(client, demo_logins) -> None:
    login = demo_logins["unit_admin"]
    for _ in range(5):
        page = sign_in(client, login.login, "wrong-password").get_data(as_text=True)
        assert "Sai địa chỉ thư hoặc mật khẩu" in page
    sixth = sign_in(client, login.login, "wrong-password")
    assert sixth.status_code == 401
    assert "tạm khóa" in sixth.get_data(as_text=True)
    # Locked means locked: the right password is refused too until the lock expires.
    right = sign_in(client, login.login, login.password)
    assert "tạm khóa" in right.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_success_resets_the_failure_count(client, demo_logins) -> None:
    login = demo_logins["auditor"]
    for _ in range(4):
        sign_in(client, login.login, "wrong-password")
    assert sign_in(client, login.login, login.password).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for _ in range(4):
        sign_in(client, login.login, "wrong-password")
    assert sign_in(client, login.login, login.password).status_code == 302


def test_break_glass_admin_signs_in_without_the_directory(client, demo_logins) -> None:
    login = demo_logins["local"]
    assert login.login == "admin"
    assert sign_in(client, "admin", login.password).status_code == 302
    assert client.get("/units").status_code == 200


def test_disabled_staff_cannot_sign_in_and_loses_their_session(client, db, demo_logins) -> None:
    login = demo_logins["secretary"]
    assert sign_in(client, login.login, login.password).status_code == 302
    db.execute(update(Staff).where(Staff.email == login.login).values(status=AccountStatus.DISABLED))
    db.commit()
    assert client.get("/").status_code == 302  # the session no longer counts
    assert sign_in(client, login.login, login.password).status_code == 401


def test_login_form_without_csrf_token_is_rejected(client, demo_logins) -> None:
    login = demo_logins["secretary"]
    response = client.post("/login", data={"login": login.login, "password": login.password})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, demo_logins) -> None:
    login = demo_logins["secretary"]
    response = sign_in(client, login.login, login.password)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_open_redirect_is_refused(client, demo_logins) -> None:
    login = demo_logins["secretary"]
    response = client.post(
        "/login?next=//evil.example/",
        data={"login": login.login, "password": login.password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_demo_staff_exist_in_database(db, demo_logins) -> None:
    emails = set(db.scalars(select(Staff.email)))
    for key, login in demo_logins.items():
        if key != "local":
            assert login.login in emails
