"""``congvu directory …``: apply pending changes, find and repair drift."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from admin_app.cli.core import _cli_actor, cli_unit_of_work, main, runtime


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
