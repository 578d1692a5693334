"""``congvu check`` vouches for a deployment against the real servers, and names each problem it finds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask.cli import ScriptInfo

from admin_app import create_app
from admin_app.cli import main
from admin_app.migrate import upgrade
from admin_app.runtime import Runtime
from services.common import free_port
from tests.conftest import app_overrides, database_kind, drop_database, fresh_database_url


@pytest.fixture
def check(tmp_path: Path, services: Any) -> Iterator[Callable[..., Result]]:
    """``check(revision="heads", **overrides)``: ``congvu check`` on a fresh database migrated to ``revision``."""
    urls: list[str] = []
    apps: list[Any] = []

    def _check(revision: str = "heads", **overrides: Any) -> Result:
        url = fresh_database_url(tmp_path, f"check{len(urls)}")
        urls.append(url)
        upgrade(url, revision)
        settings = app_overrides(tmp_path / f"instance{len(urls)}", url, services) | {
            "secret_key": "a-secret-key-of-forty-characters-for-check",
            "ldap_bind_password": services.config.admin_password,
            **overrides,
        }
        app = create_app(settings)
        apps.append(app)
        return app.test_cli_runner().invoke(main, ["check"], obj=ScriptInfo(create_app=lambda: app))

    yield _check
    for app in apps:
        runtime: Runtime = app.extensions["congvu"]
        runtime.engine.dispose()
        runtime.directory.close()
    for url in urls:
        drop_database(url)


def test_a_sound_deployment_passes_every_check(check: Callable[..., Result]) -> None:
    result = check()
    assert result.exit_code == 0, result.output
    assert "PROBLEM" not in result.output
    for area in ("database", "directory", "smtp", "secrets", "timezone", "jitsi"):
        assert f"ok      {area}" in result.output
    assert "all checks passed" in result.output


def test_a_wrong_bind_password_a_missing_migration_and_an_unreachable_smtp_server_are_each_named(
    check: Callable[..., Result], services: Any
) -> None:
    dead_port = free_port()  # nothing listens there
    result = check("0004", ldap_bind_password="not-the-password", smtp_port=dead_port)
    assert result.exit_code == 1, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("PROBLEM")}
    assert set(lines) == {"database", "directory", "smtp"}, result.output
    assert "is at revision 0004" in lines["database"]
    assert "congvu db upgrade" in lines["database"]
    assert f"bind as {services.config.admin_dn} refused: wrong password" in lines["directory"]
    assert f"127.0.0.1:{dead_port} is unreachable" in lines["smtp"]
    assert "3 problems found" in result.output


def test_missing_secrets_and_inconsistent_jitsi_settings_are_named(check: Callable[..., Result]) -> None:
    result = check(events_token="", jitsi_app_secret="", jitsi_audience=" ", public_url="meet-events")
    assert result.exit_code == 1, result.output
    problems = [line for line in result.output.splitlines() if line.startswith("PROBLEM")]
    assert any("events_token is not set" in line for line in problems), problems
    assert any("jitsi_app_secret is not set" in line for line in problems), problems
    assert any("jitsi_audience is empty" in line for line in problems), problems
    assert any("public_url 'meet-events'" in line for line in problems), problems


def test_an_unreachable_database_a_missing_base_entry_and_a_foreign_time_zone_are_each_named(
    check: Callable[..., Result], services: Any, tmp_path: Path
) -> None:
    dead_port = free_port()
    if database_kind() == "postgresql":
        url = f"postgresql+psycopg://congvu@127.0.0.1:{dead_port}/congvu"
        expected = f"127.0.0.1:{dead_port}/congvu is unreachable"
    else:
        url = f"sqlite:///{tmp_path / 'nowhere' / 'congvu.db'}"
        expected = f"{tmp_path / 'nowhere' / 'congvu.db'} does not exist: run `congvu db upgrade`"
    base = "dc=quangngai,dc=gov,dc=vn"  # no such entry in this directory
    result = check(database_url=url, ldap_base_dn=base, timezone="Asia/Bangkok")
    assert result.exit_code == 1, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("PROBLEM")}
    assert set(lines) == {"database", "directory", "timezone"}, result.output
    assert expected in lines["database"]
    assert f"the base entry {base} does not exist" in lines["directory"]
    assert "Asia/Bangkok" in lines["timezone"]
    assert "expect Asia/Ho_Chi_Minh (CONGVU_TIMEZONE)" in lines["timezone"]
    assert "3 problems found" in result.output
