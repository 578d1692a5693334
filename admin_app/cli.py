"""The ``congvu`` command: a Flask CLI group. Each command is one unit of work acting as the CLI actor."""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import Session

from admin_app import create_app
from admin_app.runtime import Runtime
from config import SettingsError, ensure_secret_file


def _create_app() -> Flask:
    try:
        return create_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """congvu: official mailboxes, online meetings and usage reports."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def runtime() -> Runtime:
    return current_app.extensions["congvu"]


@contextmanager
def cli_unit_of_work() -> Iterator[Session]:
    """Commit once at the end; then apply any directory changes the command recorded."""
    rt = runtime()
    session = rt.session_factory()
    try:
        yield session
        changed = session.info.pop("directory_changed", False)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if changed:
        result = rt.sync_directory()
        click.echo(
            f"directory: {result.applied} applied, {result.pending} pending"
            + (" (directory unreachable; will retry)" if result.unavailable else "")
        )


# -- database ---------------------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from admin_app.migrate import upgrade

    upgrade(runtime().settings.effective_database_url, revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    from admin_app.migrate import downgrade

    downgrade(runtime().settings.effective_database_url, revision)


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    from admin_app.migrate import current

    current(runtime().settings.effective_database_url)


# -- private services --------------------------------------------------------------------------------


def service_config(rt: Runtime) -> Any:
    from provisioning.services import ServiceConfig

    s = rt.settings
    password = s.ldap_bind_password or ensure_secret_file(s.instance_path, "ldap_bind_password")
    port = urlparse(s.ldap_url).port or 389
    return ServiceConfig(
        state_dir=s.services_path,
        base_dn=s.ldap_base_dn,
        admin_dn=s.ldap_bind_dn,
        admin_password=password,
        organization=f"Ủy ban nhân dân tỉnh {s.province_name}",
        ldap_port=port,
        imap_port=s.imap_port,
        pop3_port=s.imap_port - 33,
    )


@main.group("services")
def services_group() -> None:
    """The private slapd and Dovecot on loopback."""


@services_group.command("start")
@with_appcontext
def services_start() -> None:
    """Start slapd and Dovecot (initialising their state on first start)."""
    from provisioning.services import ServiceError, Services

    svc = Services(service_config(runtime()))
    try:
        svc.start()
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_status(svc)


@services_group.command("stop")
@with_appcontext
def services_stop() -> None:
    from provisioning.services import Services

    Services(service_config(runtime())).stop()
    click.echo("stopped")


@services_group.command("status")
@with_appcontext
def services_status() -> None:
    from provisioning.services import Services

    svc = Services(service_config(runtime()))
    _print_status(svc)
    if not all(s.is_running for s in svc.status()):
        sys.exit(3)


def _print_status(svc: Any) -> None:
    for status in svc.status():
        state = f"running (pid {status.pid})" if status.is_running else "stopped"
        click.echo(f"{status.name:8} {state:22} {status.address}")


# -- administrators, tokens --------------------------------------------------------------------------


@main.group("admin")
def admin_group() -> None:
    """The break-glass local administrator."""


@admin_group.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def admin_create(username: str, password_stdin: bool) -> None:
    """Create a local admin who can sign in without the directory."""
    from provisioning.actors import Actor
    from provisioning.operations import ProvisioningError, create_local_admin

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            raise click.ClickException("the passwords differ")
    try:
        with cli_unit_of_work() as session:
            create_local_admin(session, Actor("system", None, "cli:admin create"), username, password)
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"local admin {username!r} created")


@main.group("token")
def token_group() -> None:
    """API bearer tokens."""


@token_group.command("create")
@click.argument("owner")
@click.option("--label", default="cli")
@click.option("--days", type=int, default=90, show_default=True)
@with_appcontext
def token_create(owner: str, label: str, days: int) -> None:
    """Issue a token to OWNER (a staff address or a local admin name); prints the secret once."""
    from sqlalchemy import select

    from provisioning.actors import Actor, actor_for_local_admin, actor_for_staff
    from provisioning.models import LocalAdmin, Staff
    from provisioning.signin import issue_token

    with cli_unit_of_work() as session:
        staff = session.scalar(select(Staff).where(Staff.email == owner.lower()))
        admin = session.scalar(select(LocalAdmin).where(LocalAdmin.username == owner))
        if staff is None and admin is None:
            raise click.ClickException(f"no staff address or local admin named {owner!r}")
        target = actor_for_staff(staff) if staff else actor_for_local_admin(admin)  # type: ignore[arg-type]
        _, secret = issue_token(
            session, Actor("system", None, "cli:token create"), target, label, dt.timedelta(days=days)
        )
    click.echo(secret)


# -- audit trail -------------------------------------------------------------------------------------


@main.group("audit")
def audit_group() -> None:
    """The audit trail of changes."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the hash chain; name the first altered, inserted or deleted entry."""
    from provisioning.trail import verify

    with runtime().unit_of_work() as session:
        result = verify(session)
    if result.ok:
        click.echo(f"audit trail intact: {result.checked} entries")
        return
    click.echo(f"audit trail BROKEN at entry {result.first_bad_id}: {result.problem}", err=True)
    sys.exit(1)


# -- directory ---------------------------------------------------------------------------------------


@main.group("directory")
def directory_group() -> None:
    """The LDAP directory."""


@directory_group.command("sync")
@with_appcontext
def directory_sync() -> None:
    """Apply pending directory changes now."""
    result = runtime().sync_directory()
    click.echo(f"applied {result.applied}, failed {result.failed}, pending {result.pending}")
    if result.unavailable:
        raise click.ClickException("the directory is unreachable; changes stay pending")


# -- scheduler and jobs ------------------------------------------------------------------------------


@main.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run scheduled jobs (one process per deployment; a second one waits for the lease)."""
    from admin_app.scheduler import run_scheduler

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_scheduler(runtime(), stop)


@main.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs."""


@jobs_group.command("list")
@with_appcontext
def jobs_list() -> None:
    from admin_app.jobs import registry

    for spec in registry(runtime()).values():
        click.echo(f"{spec.name:24} {spec.description}")


@jobs_group.command("run")
@click.argument("name")
@with_appcontext
def jobs_run(name: str) -> None:
    """Run job NAME now, in this process."""
    from admin_app.jobs import execute

    try:
        run = execute(runtime(), name)
    except KeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name}: run {run.id}")


@jobs_group.command("schedule")
@click.argument("name")
@click.option("--in", "delay", type=float, default=0.0, help="Seconds from now.")
@with_appcontext
def jobs_schedule(name: str, delay: float) -> None:
    """Queue one run of job NAME for the scheduler that holds the lease."""
    from admin_app.scheduler import schedule_once

    at = dt.datetime.now(runtime().settings.tz) + dt.timedelta(seconds=delay)
    try:
        job_id = schedule_once(runtime(), name, at)
    except KeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(job_id)


# -- demo --------------------------------------------------------------------------------------------


@main.group("demo")
def demo_group() -> None:
    """The demo province."""


@demo_group.command("load")
@click.option("--staff", "staff_count", type=int, default=2000, show_default=True)
@click.option("--seed", type=int, default=2025, show_default=True)
@with_appcontext
def demo_load(staff_count: int, seed: int) -> None:
    """Load a province modelled on Gia Lai into the database and the directory; print demo logins."""
    from admin_app.demo import DemoError, load_demo

    try:
        logins = load_demo(runtime(), staff_count=staff_count, seed=seed, progress=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("\nDemo logins (address / password / role):")
    for login in logins:
        click.echo(f"  {login.login:40} {login.password:20} {login.role}")
