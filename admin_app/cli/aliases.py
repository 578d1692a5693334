"""``congvu aliases …``: old addresses kept as aliases after a reorganisation."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from admin_app.cli.core import _cli_actor, cli_unit_of_work, main


@main.group("aliases")
def aliases_group() -> None:
    """Old addresses kept as aliases (CONGVU_REORG_ALIAS_DAYS)."""


@aliases_group.command("expire")
@with_appcontext
def aliases_expire() -> None:
    """Take aliases past their expiry out of the directory now (the nightly aliases.expire job does it too):
    they stop receiving mail and signing in. The addresses stay reserved: nobody else is ever given them."""
    from provisioning.aliases import expire_aliases

    with cli_unit_of_work() as session:
        count = expire_aliases(session, _cli_actor("aliases expire"))
    click.echo(f"{count} aliases expired")
