"""``congvu check``: does this deployment work as configured? Each problem is named; non-zero exit if any.

Run it on every machine of a deployment (web, scheduler) after installing or changing settings: it reads the
same settings as the process it vouches for (``CONGVU_*``, ``<instance>/congvu.toml``, the secret files).
"""

from __future__ import annotations

import datetime as dt
import smtplib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import click
from flask.cli import with_appcontext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from admin_app.cli.core import main, runtime
from admin_app.runtime import Runtime
from config import DEV_SECRET_MARKERS, Settings

SCHEMA_CLASSES = ("congvuMailbox", "congvuUnit", "congvuMailingList")
CLOCK_SKEW_SECONDS = 5  # the scheduler lease and task heartbeats compare clocks of several machines


@dataclass(frozen=True)
class Finding:
    area: str
    is_ok: bool
    detail: str


def check_database(settings: Settings) -> list[Finding]:
    """Reachable, migrated to the code's newest revision, and a clock that agrees with ours."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from admin_app.migrate import alembic_config

    url = settings.effective_database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            return [Finding("database", False, f"{path} does not exist: run `congvu db upgrade`")]
    engine = create_engine(url, connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {})
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
            server_now = conn.execute(text("SELECT now()")).scalar() if engine.dialect.name == "postgresql" else None
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).strip().splitlines()[0]
        return [Finding("database", False, f"{engine.url.render_as_string()} is unreachable: {reason}")]
    finally:
        engine.dispose()
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    findings = []
    where = engine.url.render_as_string()
    if not current:
        findings.append(Finding("database", False, f"{where} has no migrations applied: run `congvu db upgrade`"))
    elif current != heads:
        findings.append(
            Finding(
                "database",
                False,
                f"{where} is at revision {', '.join(sorted(current))}, the code needs {', '.join(sorted(heads))}: "
                "run `congvu db upgrade`",
            )
        )
    else:
        findings.append(Finding("database", True, f"{where} reachable, at revision {', '.join(sorted(heads))}"))
    if server_now is not None:
        skew = abs((server_now - dt.datetime.now(dt.UTC)).total_seconds())
        findings.append(
            Finding(
                "clock",
                skew <= CLOCK_SKEW_SECONDS,
                f"this machine's clock and the database server's differ by {skew:.1f} s"
                + ("" if skew <= CLOCK_SKEW_SECONDS else f" (more than {CLOCK_SKEW_SECONDS} s: leases misbehave)"),
            )
        )
    return findings


def check_directory(rt: Runtime) -> list[Finding]:
    """Bind as the configured account, find the base entry and congvu's schema."""
    import ldap3

    from provisioning.directory import Directory, DirectoryConfig, DirectoryError

    s = rt.settings
    directory = Directory(
        DirectoryConfig(s.ldap_url, s.ldap_base_dn, s.ldap_bind_dn, s.ldap_bind_password, s.ldap_timeout_seconds)
    )
    try:
        conn = directory.conn
        if directory.read(s.ldap_base_dn, ["objectClass"]) is None:
            return [Finding("directory", False, f"{s.ldap_url}: the base entry {s.ldap_base_dn} does not exist")]
        conn.search("cn=Subschema", "(objectClass=subschema)", search_scope=ldap3.BASE, attributes=["objectClasses"])
        classes = " ".join(
            str(v) for entry in conn.response for v in entry.get("attributes", {}).get("objectClasses", [])
        )
    except DirectoryError as exc:
        detail = str(exc)
        if "invalidCredentials" in detail:
            detail = f"{s.ldap_url}: bind as {s.ldap_bind_dn} refused: wrong password (CONGVU_LDAP_BIND_PASSWORD)"
        return [Finding("directory", False, detail)]
    finally:
        directory.close()
    missing = [name for name in SCHEMA_CLASSES if f"NAME '{name}'" not in classes]
    if missing:
        return [
            Finding(
                "directory",
                False,
                f"{s.ldap_url}: congvu's schema is not loaded (missing {', '.join(missing)}; config/ldap/congvu.ldif)",
            )
        ]
    return [Finding("directory", True, f"{s.ldap_url}: bound as {s.ldap_bind_dn}; base entry and schema present")]


def check_smtp(settings: Settings) -> list[Finding]:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=5) as smtp:
            code, _ = smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        return [Finding("smtp", False, f"SMTP server {where} is unreachable: {exc} (CONGVU_SMTP_HOST/PORT)")]
    if code != 250:
        return [Finding("smtp", False, f"SMTP server {where} answered EHLO with {code}")]
    return [Finding("smtp", True, f"SMTP server {where} answers")]


def check_secrets(settings: Settings) -> list[Finding]:
    """Every secret set, from the environment or its file in the instance folder; none a placeholder."""
    findings = []
    minimum = {"secret_key": 32, "jitsi_app_secret": 32, "events_token": 16, "ldap_bind_password": 1}
    for name, length in minimum.items():
        value = getattr(settings, name)
        source = f"CONGVU_{name.upper()} or {settings.instance_path / name}"
        if value.strip().lower() in DEV_SECRET_MARKERS:
            findings.append(Finding("secrets", False, f"{name} is not set ({source})"))
        elif len(value) < length:
            findings.append(Finding("secrets", False, f"{name} is shorter than {length} characters ({source})"))
    return findings or [Finding("secrets", True, "secret_key, ldap_bind_password, jitsi_app_secret, events_token set")]


def check_timezone(settings: Settings) -> list[Finding]:
    now = dt.datetime.now(settings.tz)
    offset = now.strftime("%z")
    detail = f"{settings.timezone}, now {now:%d/%m/%Y %H:%M} (UTC{offset[:3]}:{offset[3:]})"
    if settings.timezone != "Asia/Ho_Chi_Minh":
        return [Finding("timezone", False, f"{detail}: reports and meetings expect Asia/Ho_Chi_Minh (CONGVU_TIMEZONE)")]
    return [Finding("timezone", True, detail)]


def check_jitsi(settings: Settings) -> list[Finding]:
    """The values Prosody must share with congvu, and an address Jitsi's event-sync can post to."""
    problems = []
    host = settings.jitsi_host
    if not host or "/" in host:
        problems.append(f"jitsi_host {host!r} must be a bare host name such as meet.gialai.gov.vn")
    for name in ("jitsi_app_id", "jitsi_audience", "jitsi_domain"):
        if not getattr(settings, name).strip():
            problems.append(f"{name} is empty (Prosody's app_id / asap audience / domain must match it)")
    public = urlparse(settings.public_url)
    if public.scheme not in ("http", "https") or not public.hostname:
        problems.append(f"public_url {settings.public_url!r} is not an http(s) address Jitsi can post events to")
    elif settings.is_production and public.scheme != "https":
        problems.append(f"public_url {settings.public_url!r} must be https in production (event-sync carries a token)")
    elif settings.is_production and public.hostname in ("127.0.0.1", "localhost"):
        problems.append(f"public_url {settings.public_url!r} is loopback: the Jitsi host cannot post events to it")
    if not problems:
        return [
            Finding(
                "jitsi",
                True,
                f"https://{host}/<room>, app id {settings.jitsi_app_id}, events to {public.geturl()}/events",
            )
        ]
    return [Finding("jitsi", False, p) for p in problems]


def run_checks(rt: Runtime) -> list[Finding]:
    s = rt.settings
    checks: list[Callable[[], list[Finding]]] = [
        lambda: check_database(s),
        lambda: check_directory(rt),
        lambda: check_smtp(s),
        lambda: check_secrets(s),
        lambda: check_timezone(s),
        lambda: check_jitsi(s),
    ]
    findings: list[Finding] = []
    for check in checks:
        try:
            findings += check()
        except OSError as exc:  # one broken check must not hide the others
            findings.append(Finding("check", False, f"{check.__name__}: {exc}"))
    return findings


@main.command("check")
@with_appcontext
def check_command() -> None:
    """Verify this deployment: database reachable and migrated, directory bind and schema, SMTP, secrets, time
    zone, Jitsi settings. Every problem is named; the exit status is 1 if there is any."""
    findings = run_checks(runtime())
    for finding in findings:
        click.echo(f"{'ok' if finding.is_ok else 'PROBLEM':7} {finding.area:9} {finding.detail}")
    problems = sum(not f.is_ok for f in findings)
    if problems:
        click.echo(f"{problems} problem{'s' if problems > 1 else ''} found", err=True)
        sys.exit(1)
    click.echo("all checks passed")
