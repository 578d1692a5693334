"""``congvu accounts …``: official mailboxes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from admin_app.cli.core import _cli_actor, _staff_by_address, _unit_by_code, cli_unit_of_work, main, runtime


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
    from provisioning.accounts import create_mailbox
    from provisioning.operations import ProvisioningError, StaffInput

    try:
        with cli_unit_of_work() as session:
            staff, password = create_mailbox(
                session,
                _cli_actor("accounts create"),
                _unit_by_code(session, unit_code),
                StaffInput(full_name, title, staff_number, phone, kind, local_part),
                runtime().mailbox_policy,
            )
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
    from core.tabular import FileFormatError, read_table
    from provisioning.import_plan import ImportError_
    from provisioning.importing import ImportRefused, apply, preview

    actor = _cli_actor("accounts import")
    try:
        total = sum(1 for _ in read_table(path))
    except FileFormatError as exc:
        raise click.ClickException(f"{path.name}: {exc}") from exc
    options = {"policy": runtime().mailbox_policy}
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
    from core.actors import SYSTEM

    with runtime().unit_of_work() as session:
        unit = _unit_by_code(session, unit_code) if unit_code else None
        output.write_bytes(export_accounts(session, SYSTEM, unit, fmt))
    click.echo(f"written {output}")
