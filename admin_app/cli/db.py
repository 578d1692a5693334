"""``congvu db …``: database migrations."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from admin_app.cli.core import main, runtime


@main.group("db")
def db_group() -> None:
    """Database migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
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
