from pathlib import Path

import pytest

from config import SettingsError, load_settings


def test_defaults_are_the_province_defaults(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.timezone == "Asia/Ho_Chi_Minh"
    assert s.default_locale == "vi"
    assert s.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'congvu.db'}"


def test_instance_file_then_environment_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "congvu.toml").write_text('mail_domain = "binhdinh.gov.vn"\nimap_port = 1143\n', encoding="utf-8")
    s = load_settings(tmp_path, environ={"CONGVU_IMAP_PORT": "2143"})
    assert s.mail_domain == "binhdinh.gov.vn"
    assert s.imap_port == 2143
    s = load_settings(tmp_path, overrides={"imap_port": 3143}, environ={"CONGVU_IMAP_PORT": "2143"})
    assert s.imap_port == 3143


def test_secret_from_instance_file(tmp_path: Path) -> None:
    (tmp_path / "ldap_bind_password").write_text("s3cret-from-file\n", encoding="utf-8")
    assert load_settings(tmp_path, environ={}).ldap_bind_password == "s3cret-from-file"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CONGVU_IMAP_PORT": "abc"}, "imap_port"),
        ({"CONGVU_TIMEZONE": "Mars/Olympus"}, "timezone"),
        ({"CONGVU_LDAP_URL": "http://x"}, "ldap_url"),
        ({"CONGVU_LOGIN_MAX_FAILURES": "0"}, "login_max_failures"),
        ({"CONGVU_NO_SUCH_THING": "1"}, "no_such_thing"),
        ({"CONGVU_ENV": "staging"}, "env"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(tmp_path, environ=environ)


def test_production_refuses_missing_or_default_secret(tmp_path: Path) -> None:
    env = {"CONGVU_ENV": "production", "CONGVU_LDAP_BIND_PASSWORD": "x" * 20}
    with pytest.raises(SettingsError, match="secret_key"):
        load_settings(tmp_path, environ=env)
    with pytest.raises(SettingsError, match="secret_key"):
        load_settings(tmp_path, environ={**env, "CONGVU_SECRET_KEY": "change-me"})
    with pytest.raises(SettingsError, match="jitsi_app_secret"):
        load_settings(tmp_path, environ={**env, "CONGVU_SECRET_KEY": "k" * 40})
    ok = load_settings(tmp_path, environ={**env, "CONGVU_SECRET_KEY": "k" * 40, "CONGVU_JITSI_APP_SECRET": "j" * 40})
    assert ok.is_production


def test_create_app_binds_nothing(tmp_path: Path) -> None:
    """The factory must not touch LDAP or the database: it works with both unreachable."""
    from admin_app import create_app

    app = create_app(
        {
            "instance_path": str(tmp_path),
            "ldap_url": "ldap://127.0.0.1:1",
            "database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        }
    )
    assert "congvu" in app.extensions
