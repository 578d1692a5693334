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
    help="also meetings with attendance and simulated mail logs from July 2024 to last month, ingested and "
    "reported month by month around the 2025 reorganisation",
)
@with_appcontext
def demo_load(staff_count: int, seed: int, activity: bool) -> None:
    """Build today's Gia Lai by its history: Gia Lai and Bình Định as they were in 2024, then the 2025 plans
    applied as reorganisation jobs; print the demo logins."""
    import time

    from demo.loader import DemoError, load_demo

    started = time.monotonic()

    def progress(text: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.0f} s] {text}")

    try:
        logins = load_demo(runtime(), staff_count=staff_count, seed=seed, progress=progress, activity=activity)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("\nDemo logins (address / password / role):")
    for login in logins:
        click.echo(f"  {login.login:40} {login.password:20} {login.role}")
