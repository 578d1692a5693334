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
from pathlib import Path
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
        mail_queued = session.info.pop("mail_queued", False)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if mail_queued:
        sent = rt.send_mail()
        click.echo(
            f"mail: {sent.sent} sent, {sent.pending} queued"
            + (" (SMTP server unreachable; will retry)" if sent.unavailable else "")
        )
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
        smtp_port=s.smtp_port,
        submission_port=s.submission_port,
        pop3_port=s.imap_port - 33,
    )


@main.group("services")
def services_group() -> None:
    """The private slapd, Dovecot and Postfix on loopback (demo and tests; a closed network only)."""


@services_group.command("start")
@with_appcontext
def services_start() -> None:
    """Start slapd, Dovecot and Postfix (initialising their state on first start)."""
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
@click.option(
    "--activity/--no-activity",
    default=True,
    show_default=True,
    help="also meetings with attendance and three months of simulated mail logs, ingested and reported",
)
@with_appcontext
def demo_load(staff_count: int, seed: int, activity: bool) -> None:
    """Load a province modelled on Gia Lai into the database and the directory; print demo logins."""
    from admin_app.demo import DemoError, load_demo

    try:
        logins = load_demo(runtime(), staff_count=staff_count, seed=seed, progress=click.echo)
        if activity:
            from admin_app.demo_activity import load_meetings, load_usage

            load_meetings(runtime(), click.echo, seed)
            load_usage(runtime(), click.echo, seed=seed)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("\nDemo logins (address / password / role):")
    for login in logins:
        click.echo(f"  {login.login:40} {login.password:20} {login.role}")


# -- accounts ----------------------------------------------------------------------------------------


def _cli_actor(command: str) -> Any:
    from provisioning.actors import Actor

    return Actor("system", None, f"cli:{command}")


def _staff_by_address(session: Session, address: str) -> Any:
    from sqlalchemy import select

    from provisioning.models import Staff

    staff = session.scalar(select(Staff).where(Staff.email == address.strip().lower()))
    if staff is None:
        raise click.ClickException(f"no mailbox {address!r}")
    return staff


def _unit_by_code(session: Session, code: str) -> Any:
    from sqlalchemy import select

    from provisioning.models import Unit

    unit = session.scalar(select(Unit).where(Unit.code == code.strip().upper()))
    if unit is None:
        raise click.ClickException(f"no unit with code {code!r}")
    return unit


@main.group("accounts")
def accounts_group() -> None:
    """Official mailboxes."""


@accounts_group.command("create")
@click.option("--unit", "unit_code", required=True, help="Unit code, e.g. STTTT.")
@click.option("--name", "full_name", required=True, help="Full name in Vietnamese.")
@click.option("--staff-number", default=None)
@click.option("--title", default="")
@click.option("--phone", default="")
@click.option("--kind", default="personal", type=click.Choice(["personal", "functional", "service", "test"]))
@click.option("--address", "local_part", default=None, help="Local part instead of the generated one.")
@with_appcontext
def accounts_create(
    unit_code: str, full_name: str, staff_number: str | None, title: str, phone: str, kind: str, local_part: str | None
) -> None:
    """Create a mailbox; prints its address and a one-time password (shown once)."""
    from provisioning.accounts import reset_password
    from provisioning.operations import ProvisioningError, StaffInput, create_staff

    s = runtime().settings
    actor = _cli_actor("accounts create")
    try:
        with cli_unit_of_work() as session:
            unit = _unit_by_code(session, unit_code)
            staff = create_staff(
                session,
                actor,
                unit,
                StaffInput(full_name, title, staff_number, phone, kind, local_part, s.default_quota_mb),
                s.mail_domain,
                s.address_policy,
            )
            password = reset_password(session, actor, staff, secret_key=runtime().secret_key)
            address = staff.email
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{address}\t{password}\t(one-time password: must be changed at first use)")


def _lifecycle(address: str, command: str, verb: Any, *args: Any) -> None:
    from provisioning.operations import ProvisioningError

    try:
        with cli_unit_of_work() as session:
            verb(session, _cli_actor(command), _staff_by_address(session, address), *args)
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{address}: {command.split()[-1]}d")


@accounts_group.command("disable")
@click.argument("address")
@click.option("--reason", required=True, help="Why (kept in the record and the audit trail).")
@with_appcontext
def accounts_disable(address: str, reason: str) -> None:
    """Stop a mailbox from signing in (mail is still accepted)."""
    from provisioning.accounts import disable

    _lifecycle(address, "accounts disable", disable, reason)


@accounts_group.command("enable")
@click.argument("address")
@with_appcontext
def accounts_enable(address: str) -> None:
    from provisioning.accounts import enable

    _lifecycle(address, "accounts enable", enable)


@accounts_group.command("archive")
@click.argument("address")
@click.option("--reason", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def accounts_archive(address: str, reason: str, yes: bool) -> None:
    """Archive a mailbox: it cannot sign in and leaves the directory after the retention period."""
    from provisioning.accounts import archive

    if not yes:
        click.confirm(f"Archive {address}? It will be removed from the directory later.", abort=True)
    _lifecycle(address, "accounts archive", archive, reason)


@accounts_group.command("reset-password")
@click.argument("address")
@with_appcontext
def accounts_reset_password(address: str) -> None:
    """Give a mailbox a one-time password (printed once; must be changed at first use)."""
    from provisioning.accounts import reset_password
    from provisioning.operations import ProvisioningError

    try:
        with cli_unit_of_work() as session:
            password = reset_password(
                session,
                _cli_actor("accounts reset-password"),
                _staff_by_address(session, address),
                secret_key=runtime().secret_key,
            )
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(password)


@accounts_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_code", required=True, help="Unit the rows belong to (or its subunits).")
@click.option("--apply", "do_apply", is_flag=True, help="Apply; without it only the preview is shown.")
@with_appcontext
def accounts_import(path: Path, unit_code: str, do_apply: bool) -> None:
    """Preview (default) or apply a CSV/XLSX staff list: all rows or none."""
    from provisioning.importing import ImportError_, ImportRefused, apply, preview
    from provisioning.tabular import FileFormatError, read_table

    s = runtime().settings
    actor = _cli_actor("accounts import")
    try:
        total = sum(1 for _ in read_table(path))
    except FileFormatError as exc:
        raise click.ClickException(f"{path.name}: {exc}") from exc
    options = {"default_domain": s.mail_domain, "policy": s.address_policy, "default_quota": s.default_quota_mb}
    try:
        with (
            click.progressbar(length=total, label="preview", show_pos=True) as bar,
            runtime().unit_of_work() as session,
        ):
            result = preview(
                session,
                actor,
                _unit_by_code(session, unit_code),
                read_table(path),
                progress=lambda n: bar.update(n - bar.pos),
                **options,
            )
    except ImportError_ as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"rows {result.total}: create {result.creates}, change {result.updates}, "
        f"unchanged {result.unchanged}, bad {len(result.errors)}"
    )
    for issue in result.errors:
        click.echo(f"  {issue}", err=True)
    if result.errors:
        raise click.ClickException("the file has bad rows; nothing was applied")
    if not do_apply:
        click.echo("preview only; add --apply to apply")
        return
    try:
        with (
            click.progressbar(length=total, label="apply  ", show_pos=True) as bar,
            cli_unit_of_work() as session,
        ):
            apply(
                session,
                actor,
                _unit_by_code(session, unit_code),
                read_table(path),
                progress=lambda n: bar.update(n - bar.pos),
                batch_label=path.name,
                **options,
            )
    except ImportRefused as exc:
        raise click.ClickException(str(exc)) from exc


@accounts_group.command("export")
@click.option("--unit", "unit_code", default=None, help="Only this unit's subtree.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def accounts_export(unit_code: str | None, fmt: str, output: Path) -> None:
    """Export mailboxes; cells are safe from spreadsheet formula injection."""
    from admin_app.exports import export_accounts
    from provisioning.actors import SYSTEM

    with runtime().unit_of_work() as session:
        unit = _unit_by_code(session, unit_code) if unit_code else None
        output.write_bytes(export_accounts(session, SYSTEM, unit, fmt))
    click.echo(f"written {output}")


@directory_group.command("reconcile")
@click.option("--apply", "do_apply", is_flag=True, help="Repair; without it only report.")
@with_appcontext
def directory_reconcile(do_apply: bool) -> None:
    """Compare the database with the directory; report every drift (dry run by default)."""
    from provisioning.directory import DirectoryError
    from provisioning.reconcile import find_drift, repair

    rt = runtime()
    try:
        with rt.unit_of_work() as session:
            drifts = find_drift(session, rt.directory, rt.settings.ldap_base_dn)
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from exc
    for drift in drifts:
        click.echo(str(drift))
    click.echo(f"{len(drifts)} drifts")
    if do_apply and drifts:
        with cli_unit_of_work() as session:
            repair(session, _cli_actor("directory reconcile --apply"), drifts)
        with rt.unit_of_work() as session:
            left = find_drift(session, rt.directory, rt.settings.ldap_base_dn)
        click.echo(f"after repair: {len(left)} drifts")
        if left:
            sys.exit(1)
    elif drifts:
        sys.exit(2)


# Command groups kept in their own modules register themselves on ``main`` when imported.
from admin_app import meetings_cli, usage_cli  # noqa: E402,F401
