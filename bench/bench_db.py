"""Databases for the benchmarks: a PostgreSQL database of a run's own, and a fresh schema with its province.

Imported by the scripts in ``bench/`` (which run with this folder on ``sys.path``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from admin_app.migrate import upgrade
from core.actors import SYSTEM
from core.db import make_engine, make_session_factory, unit_of_work
from provisioning.models import Unit, UnitKind
from provisioning.operations import create_unit


def pg_server(explicit: str | None) -> str | None:
    """``explicit`` or the local server's URL, if a PostgreSQL server answers there; None otherwise."""
    url = explicit or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return url
    except Exception:
        return None


def new_database(server: str, prefix: str) -> str:
    """The URL of a new database on ``server``, named ``prefix`` and a random suffix."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_database(server: str, prefix: str) -> Iterator[str]:
    """A new database on ``server`` for the block (its URL), dropped afterwards whatever happens."""
    url = new_database(server, prefix)
    name = make_url(url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def province_session(url: str, name: str) -> Iterator[tuple[Session, Unit]]:
    """The schema migrated at ``url``, and one unit of work holding a new province ``BENCH`` called ``name``."""
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with unit_of_work(factory) as session:
        yield session, create_unit(session, SYSTEM, code="BENCH", name=name, kind=UnitKind.PROVINCE, parent=None)
