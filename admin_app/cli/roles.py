"""``congvu roles …`` (give, take away and list roles) and ``congvu second-factor reset`` (a lost phone)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from admin_app.cli.core import _cli_actor, _staff_by_address, _unit_by_code, cli_unit_of_work, main

ROLES = click.Choice(["system_admin", "unit_admin", "secretary", "auditor"])


@main.group("roles")
def roles_group() -> None:
    """Roles: system admin, unit IT admin (a unit's subtree), secretary, auditor."""


def _apply(verb: str, address: str, role: str, unit_code: str | None) -> None:
    from core.actors import PermissionDenied
    from provisioning import roles
    from provisioning.errors import ProvisioningError

    try:
        with cli_unit_of_work() as session:
            person = _staff_by_address(session, address)
            unit = _unit_by_code(session, unit_code) if unit_code else None
            fn = roles.grant_role if verb == "grant" else roles.revoke_role
            fn(session, _cli_actor(f"roles {verb}"), person, role, unit)
    except (ProvisioningError, PermissionDenied) as exc:
        raise click.ClickException(str(exc)) from exc


def _role_command(verb: str, done: str, unit_help: str, doc: str) -> None:
    """``congvu roles grant`` and ``congvu roles revoke``: the same arguments, one verb of provisioning.roles each."""

    @roles_group.command(verb, help=doc)
    @click.argument("address")
    @click.argument("role", type=ROLES)
    @click.option("--unit", "unit_code", help=unit_help)
    @with_appcontext
    def command(address: str, role: str, unit_code: str | None) -> None:
        _apply(verb, address, role, unit_code)
        click.echo(f"{address}: {role} {done}" + (f" over {unit_code.upper()}" if unit_code else ""))


_role_command(
    "grant",
    "granted",
    "Unit code whose subtree the role covers (required for unit_admin).",
    "Give ROLE to the mailbox ADDRESS; it takes effect at their next request.",
)
_role_command(
    "revoke",
    "revoked",
    "Unit code of the grant (none for a province-wide role).",
    "Take ROLE away from the mailbox ADDRESS.",
)


@roles_group.command("list")
@click.option("--unit", "unit_code", help="Only grants of people or units in this unit's subtree.")
@with_appcontext
def roles_list(unit_code: str | None) -> None:
    """Who holds which role where (tab-separated: address, role, unit, effective)."""
    from provisioning.roles import visible_grants

    with cli_unit_of_work() as session:
        unit = _unit_by_code(session, unit_code) if unit_code else None
        for grant in session.scalars(visible_grants(_cli_actor("roles list"), unit)):
            scope = grant.unit.code if grant.unit is not None else "(tỉnh)"
            state = "yes" if grant.staff.is_active else f"no ({grant.staff.status})"
            click.echo(f"{grant.staff.email}\t{grant.role}\t{scope}\t{state}")


@main.group("second-factor")
def second_factor_group() -> None:
    """Second factors (TOTP) of staff and of the local admin."""


@second_factor_group.command("reset")
@click.argument("name")
@with_appcontext
def second_factor_reset(name: str) -> None:
    """Remove the second factor of NAME (a mailbox address or a local admin's username); they set up a new
    one at their next sign-in, and their console sessions end."""
    from sqlalchemy import select

    from provisioning.actors import actor_for_local_admin, actor_for_staff
    from provisioning.models import LocalAdmin, Staff
    from provisioning.second_factor import reset_second_factor

    with cli_unit_of_work() as session:
        person = session.scalar(select(Staff).where(Staff.email == name.strip().lower()))
        admin = session.scalar(select(LocalAdmin).where(LocalAdmin.username == name.strip()))
        if person is None and admin is None:
            raise click.ClickException(f"no mailbox or local admin named {name!r}")
        owner = actor_for_staff(person) if person is not None else actor_for_local_admin(admin)  # type: ignore[arg-type]
        had = reset_second_factor(session, _cli_actor("second-factor reset"), owner)
    click.echo(f"{name}: second factor reset" if had else f"{name}: had no second factor")
