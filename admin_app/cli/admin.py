"""``congvu admin …``, ``congvu token …`` and ``congvu changes verify``: administrators, API tokens, the change
trail."""

from __future__ import annotations

import datetime as dt
import getpass
import sys

import click
from flask.cli import with_appcontext

from admin_app.cli.core import cli_unit_of_work, main, runtime


@main.group("admin")
def admin_group() -> None:
    """The break-glass local administrator."""


@admin_group.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def admin_create(username: str, password_stdin: bool) -> None:
    """Create a local admin who can sign in without the directory."""
    from core.actors import Actor
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
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True)
@with_appcontext
def token_create(owner: str, label: str, days: int) -> None:
    """Issue a token to OWNER (a staff address or a local admin name); prints the secret once."""
    from sqlalchemy import select

    from core.actors import Actor
    from provisioning.actors import actor_for_local_admin, actor_for_staff
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


# -- the change trail ---------------------------------------------------------------------------------


@main.group("changes")
def changes_group() -> None:
    """The hash-chained trail of every change (who, what, before and after)."""


@changes_group.command("verify")
@with_appcontext
def changes_verify() -> None:
    """Check the hash chain; name the first altered, inserted or deleted entry."""
    from core.changelog import verify

    with runtime().unit_of_work() as session:
        result = verify(session)
    if result.ok:
        click.echo(f"change trail intact: {result.checked} entries")
        return
    click.echo(f"change trail BROKEN at entry {result.first_bad_id}: {result.problem}", err=True)
    sys.exit(1)
