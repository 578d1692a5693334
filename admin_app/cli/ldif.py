"""``congvu directory import-ldif``: bring in another directory's accounts from an LDIF export."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from admin_app.cli.core import _cli_actor, _unit_by_code, cli_unit_of_work, runtime
from admin_app.cli.directory import directory_group


@directory_group.command("import-ldif")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_code", required=True, help="Unit the people are brought into.")
@click.option(
    "--addresses",
    type=click.Choice(["primary", "alias"]),
    default="primary",
    show_default=True,
    help="primary: the exported address stays the address; alias: a new address by policy, the old one an alias.",
)
@click.option("--apply", "do_apply", is_flag=True, help="Bring them in; without it only the preview is shown.")
@with_appcontext
def directory_import_ldif(path: Path, unit_code: str, addresses: str, do_apply: bool) -> None:
    """Preview (default) or apply an LDIF export: every entry not taken is listed with the reason.

    Password hashes slapd verifies ({SSHA}, {SHA}, {CRYPT}, {ARGON2}) are kept; everyone else gets a one-time
    password, printed once after applying."""
    from provisioning.errors import ProvisioningError
    from provisioning.ldif import read_entries
    from provisioning.ldif_import import apply, preview

    rt = runtime()
    actor = _cli_actor("directory import-ldif")
    content = path.read_bytes()
    options = {"policy": rt.mailbox_policy, "addresses": addresses}
    try:
        with rt.unit_of_work() as session:
            result = preview(session, actor, _unit_by_code(session, unit_code), read_entries(content), **options)
            session.rollback()
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    kept = ", ".join(f"{{{scheme}}} {n}" for scheme, n in sorted(result.kept.items())) or "none"
    click.echo(
        f"entries {result.total}: bring in {result.takes} (passwords kept: {kept}; one-time passwords: "
        f"{len(result.one_time)}), already here {result.unchanged}, not taken {len(result.refused)}"
    )
    for refusal in result.refused:
        click.echo(f"  not taken: {refusal}", err=True)
    for person in result.one_time:
        click.echo(f"  one-time password for {person['email']} (password {person['scheme']} not kept)")
    if result.unreadable:
        raise click.ClickException(f"{path.name} has {result.unreadable} unreadable lines; nothing was applied")
    if not do_apply:
        click.echo("preview only; add --apply to bring them in")
        return
    try:
        with cli_unit_of_work() as session:
            applied = apply(
                session,
                actor,
                _unit_by_code(session, unit_code),
                read_entries(content),
                alias_days=rt.settings.reorg_alias_days,
                label=path.name,
                **options,
            )
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"brought in {applied.takes}, already here {applied.unchanged}, not taken {len(applied.refused)}")
    if applied.passwords:
        click.echo("one-time passwords (shown once; each must be changed at first use):")
        for address, password in sorted(applied.passwords.items()):
            click.echo(f"{address}\t{password}")
