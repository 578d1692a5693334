"""The CLI core: the ``congvu`` group, the runtime of a command, its unit of work and lookups by name.

Each command group lives in its own module beside this one and registers itself on :data:`main`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from sqlalchemy.orm import Session

from admin_app import create_app
from admin_app.runtime import Runtime
from config import SettingsError


def _create_app() -> Flask:
    try:
        return create_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """congvu: official mailboxes, online meetings and usage reports."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def runtime() -> Runtime:
    return current_app.extensions["congvu"]


@contextmanager
def cli_unit_of_work() -> Iterator[Session]:
    """The command's one unit of work through the boundary: commit at the end, then apply what it recorded
    (directory jobs, mail) and say what happened to them."""
    work = runtime().boundary.begin("cli")
    try:
        yield work.session
    except BaseException:
        work.rollback()
        raise
    results = work.commit()
    sent = results.get("mail")
    if sent is not None:
        click.echo(
            f"mail: {sent.sent} sent, {sent.pending} queued"
            + (" (SMTP server unreachable; will retry)" if sent.unavailable else "")
        )
    synced = results.get("directory")
    if synced is not None:
        click.echo(
            f"directory: {synced.applied} applied, {synced.pending} pending"
            + (" (directory unreachable; will retry)" if synced.unavailable else "")
        )


def _cli_actor(command: str) -> Any:
    from core.actors import Actor

    return Actor("system", None, f"cli:{command}")


def _staff_by_address(session: Session, address: str) -> Any:
    from sqlalchemy import select

    from provisioning.models import Staff

    staff = session.scalar(select(Staff).where(Staff.email == address.strip().lower()))
    if staff is None:
        raise click.ClickException(f"no mailbox {address!r}")
    return staff


def _unit_by_code(session: Session, code: str) -> Any:
    from sqlalchemy import select

    from provisioning.models import Unit

    unit = session.scalar(select(Unit).where(Unit.code == code.strip().upper()))
    if unit is None:
        raise click.ClickException(f"no unit with code {code!r}")
    return unit
