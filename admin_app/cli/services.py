"""``congvu services …``: the private slapd, Dovecot and Postfix on loopback."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlparse

import click
from flask.cli import with_appcontext

from admin_app.cli.core import main, runtime
from admin_app.runtime import Runtime
from config import ensure_secret_file


def service_config(rt: Runtime) -> Any:
    from services.common import ServiceConfig

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
    from services.common import ServiceError
    from services.supervisor import Services

    svc = Services(service_config(runtime()))
    try:
        svc.start()
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_status(svc)


@services_group.command("stop")
@with_appcontext
def services_stop() -> None:
    from services.supervisor import Services

    Services(service_config(runtime())).stop()
    click.echo("stopped")


@services_group.command("status")
@with_appcontext
def services_status() -> None:
    from services.supervisor import Services

    svc = Services(service_config(runtime()))
    _print_status(svc)
    if not all(s.is_running for s in svc.status()):
        sys.exit(3)


def _print_status(svc: Any) -> None:
    for status in svc.status():
        state = f"running (pid {status.pid})" if status.is_running else "stopped"
        click.echo(f"{status.name:8} {state:22} {status.address}")
