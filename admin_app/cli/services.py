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


def service_config(rt: Runtime, *, consumer: bool | None = None, mirror: bool | None = None) -> Any:
    """The private servers' config from the settings. A consumer (LDAP port + 1, with a Dovecot of its own on
    IMAP/POP3 port + 1) and a mirror-mode provider (LDAP port + 2) run when asked for, or when their state
    exists already (so ``stop`` and ``status`` find what ``start --consumer`` started)."""
    from services.common import ServiceConfig

    s = rt.settings
    if consumer is None:
        consumer = (s.services_path / "slapd-consumer").is_dir()
    if mirror is None:
        mirror = (s.services_path / "slapd-mirror").is_dir()
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
        timezone=s.timezone,
        consumer_ldap_port=port + 1 if consumer else 0,
        consumer_imap_port=s.imap_port + 1 if consumer else 0,
        consumer_pop3_port=s.imap_port - 33 + 1 if consumer else 0,
        mirror_ldap_port=port + 2 if mirror else 0,
    )


@main.group("services")
def services_group() -> None:
    """The private slapd, Dovecot and Postfix on loopback (demo and tests; a closed network only)."""


@services_group.command("start")
@click.option("--consumer", is_flag=True, help="Also a syncrepl consumer slapd and a Dovecot that reads it.")
@click.option("--mirror", is_flag=True, help="Two providers in mirror mode (only when the state is first made).")
@with_appcontext
def services_start(consumer: bool, mirror: bool) -> None:
    """Start slapd, Dovecot and Postfix (initialising their state on first start)."""
    from services.common import ServiceError
    from services.supervisor import Services

    svc = Services(service_config(runtime(), consumer=consumer or None, mirror=mirror or None))
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
        click.echo(f"{status.name:16} {state:22} {status.address}")
