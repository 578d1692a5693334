"""``congvu demo …``: registered on the ``congvu`` command through the ``flask.commands`` entry point."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from admin_app.cli.core import runtime


@click.group("demo")
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
    from demo.loader import DemoError, load_demo

    try:
        logins = load_demo(runtime(), staff_count=staff_count, seed=seed, progress=click.echo)
        if activity:
            from demo.activity import load_meetings, load_usage

            load_meetings(runtime(), click.echo, seed)
            load_usage(runtime(), click.echo, seed=seed)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("\nDemo logins (address / password / role):")
    for login in logins:
        click.echo(f"  {login.login:40} {login.password:20} {login.role}")
