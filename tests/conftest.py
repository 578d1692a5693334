"""Session-wide real services (slapd, Dovecot, the database) and per-test rollback.

The database is SQLite by default; ``CONGVU_TEST_DATABASE_URL`` (a PostgreSQL server URL) runs the same
suite on PostgreSQL, in a database of its own created for the session and dropped afterwards.
Each test runs inside a transaction that is rolled back, so it leaves the database as it found it, and
builds the small world it needs with the factories of :mod:`tests.factories`. The demo province is loaded
(once, committed) only for the tests that ask for ``demo_logins`` and for the modules still written
against it (:data:`DEMO_WORLD_MODULES`).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from admin_app import create_app
from admin_app.migrate import upgrade
from admin_app.runtime import Runtime
from demo.loader import DemoLogin, load_demo
from provisioning.models import Staff
from provisioning.signin import issue_token, resolve_principal
from tests.conftest_services import _slapd_is_up, ensure_slapd, services  # noqa: F401  (real slapd + Dovecot, kept up)
from tests.factories import (  # noqa: F401  (fixtures; csrf_token and sign_in are imported from here too)
    cli,
    client_as,
    client_for,
    commit_and_sync,
    create_local_admin,
    create_meeting,
    create_point,
    create_staff,
    create_unit,
    created_during_test,
    csrf_token,
    directory,
    province,
    sign_in,
    token_as,
    token_for,
)

DEMO_STAFF = 400

# Modules that still find rows by the demo's names without asking for ``demo_logins``: their tests get the
# demo province loaded before their transaction opens. A module leaves this list when it builds its own world.
DEMO_WORLD_MODULES = frozenset(
    {
        "test_browser",
        "test_demo",
    }
)


def database_kind() -> str:
    return "postgresql" if os.environ.get("CONGVU_TEST_DATABASE_URL", "").startswith("postgresql") else "sqlite"


def fresh_database_url(tmp: Path, label: str) -> str:
    """A new, empty database: a SQLite file, or a PostgreSQL database created on the test server."""
    server = os.environ.get("CONGVU_TEST_DATABASE_URL", "")
    if not server.startswith("postgresql"):
        return f"sqlite:///{tmp / (label + '.db')}"
    name = f"congvu_t_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    server = os.environ["CONGVU_TEST_DATABASE_URL"]
    name = make_url(url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def app_overrides(instance: Path, database_url: str, services: Any) -> dict[str, Any]:
    return {
        "instance_path": str(instance),
        "env": "testing",
        "database_url": database_url,
        "ldap_url": services.ldap_url,
        "ldap_base_dn": services.config.base_dn,
        "ldap_bind_dn": services.config.admin_dn,
        "ldap_bind_password": services.config.admin_password,
        "imap_port": services.config.imap_port,
        "mail_domain": "gialai.gov.vn",
        "smtp_port": services.config.smtp_port,
        "submission_port": services.config.submission_port,
        "jitsi_app_secret": "test-jitsi-secret-that-is-long-enough-" + instance.name,
        "events_token": "test-events-token-" + instance.name,
        "public_holidays": "2026-12-31..2027-01-01",
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = fresh_database_url(tmp_path_factory.mktemp("db"), "main")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def base_app(tmp_path_factory: pytest.TempPathFactory, database_url: str, services: Any) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    upgrade(database_url)
    app = create_app(app_overrides(instance, database_url, services))
    yield app
    runtime: Runtime = app.extensions["congvu"]
    runtime.directory.close()
    runtime.engine.dispose()


@pytest.fixture(scope="session")
def demo_logins(base_app: Flask, services: Any) -> dict[str, DemoLogin]:
    """The demo province, loaded once through the real loader (database and slapd), committed."""
    runtime: Runtime = base_app.extensions["congvu"]
    logins = load_demo(runtime, staff_count=DEMO_STAFF, seed=7, progress=lambda _msg: None)
    if not services.slapd.status().is_running:
        # slapd 2.5.13 can crash on a TXN END that arrives while the transaction's last request is still being
        # worked on after its answer (docs/benchmarks.md). The demo's directory jobs then wait, as they would in
        # production until the scheduler's next run: start slapd again and do what that run does, due or not.
        ensure_slapd(services, "while the demo loaded")
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        for _ in range(5):
            result = runtime.sync_directory(now=later)
            if not (result.pending or result.unavailable):
                break
        if result.failed or result.pending or result.unavailable:
            raise RuntimeError(f"the demo's directory jobs did not go through after slapd was restarted: {result}")
    by_role: dict[str, DemoLogin] = {}
    for login in logins:
        key = login.role.split(" ")[0]
        if "Ia Pa" in login.role:
            key = "unit_admin_iapa"
        by_role.setdefault(key, login)
    return by_role


@pytest.fixture
def app(request: pytest.FixtureRequest, base_app: Flask) -> Iterator[Flask]:
    """The app with its sessions bound to one outer transaction that is rolled back after the test."""
    module = request.module.__name__.rpartition(".")[2]
    if "demo_logins" in request.fixturenames or module in DEMO_WORLD_MODULES:
        request.getfixturevalue("demo_logins")  # committed before the test's transaction opens, never inside it
    runtime: Runtime = base_app.extensions["congvu"]
    connection = runtime.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    runtime.__dict__["session_factory"] = factory
    try:
        yield base_app
    finally:
        runtime.__dict__.pop("session_factory", None)
        outer.rollback()
        connection.close()


@pytest.fixture
def runtime(app: Flask) -> Runtime:
    return app.extensions["congvu"]


@pytest.fixture
def db(runtime: Runtime) -> Iterator[Session]:
    session = runtime.session_factory()
    yield session
    session.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sign_in_as(client: FlaskClient, demo_logins: dict[str, DemoLogin]) -> Any:
    """Sign the test client in as a demo role: system_admin, unit_admin, unit_admin_iapa, secretary, auditor.

    For the tests still written against the demo; a new test uses ``client_as`` (tests/factories.py)."""

    def _sign_in(role: str) -> FlaskClient:
        login = demo_logins[role]
        response = sign_in(client, login.login, login.password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _sign_in


@pytest.fixture
def api_token(db: Session, demo_logins: dict[str, DemoLogin]) -> Any:
    """A bearer token for a demo role (a new test uses ``token_as``)."""

    def _token(role: str) -> str:
        login = demo_logins[role]
        if login.login == "admin":
            principal = "local:1"
        else:
            staff = db.scalar(select(Staff).where(Staff.email == login.login))
            assert staff is not None
            principal = f"staff:{staff.id}"
        owner = resolve_principal(db, principal)
        assert owner is not None
        _, secret = issue_token(db, owner, owner, "test")
        db.commit()
        return secret

    return _token
