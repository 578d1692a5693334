"""The database base: declarative base, engine and session factory, the unit-of-work boundary.

Operations only ``flush()``; :func:`unit_of_work` (used by the request hook, the CLI wrapper and the job
wrapper) commits or rolls back once.
"""

from __future__ import annotations

import datetime as dt
import select
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Set by the web layer for GET requests: their transactions only read (SQLite begins them deferred).
READ_ONLY: ContextVar[bool] = ContextVar("congvu_read_only", default=False)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC; SQLite gives naive values back, so re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where a timezone-aware one is required")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime}  # noqa: RUF012


def declared_for(dialect: str) -> Any:
    """Alembic's ``include_object`` for a database of ``dialect``: leaves out what the models declare for another
    database only (``Index(...).ddl_if(dialect="postgresql")``), which migrations create there alone."""

    def include(obj: Any, _name: object, _type: object, _reflected: object, _compare_to: object) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)

    return include


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """The check that ``column`` holds one of ``values`` (a status enum's), named after the column: the
    database refuses what the enum does not name, and the two are spelled once."""
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, a busy timeout and WAL so web, CLI and scheduler share it."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling would defer BEGIN; take it over so BEGIN IMMEDIATE works.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Writers take the write lock at the start: they queue (busy timeout) instead of failing on a
            # read-to-write upgrade. Read-only work (page views) begins deferred and, with WAL, never
            # waits for a long import to finish.
            conn.exec_driver_sql("BEGIN" if READ_ONLY.get() else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, **kwargs)
    _ping_when_in_doubt(engine)
    return engine


# A pooled connection idle for longer than this is pinged before use (a firewall may have dropped it silently).
IDLE_PING_SECONDS = 30.0


def _ping_when_in_doubt(engine: Engine) -> None:
    """Ping a pooled server connection on checkout only when it may be dead: it sat idle for a while, or its
    socket has something to read (a server that restarted or ended the session has said so, or closed it).
    SQLAlchemy's ``pool_pre_ping`` would ping on every checkout: a round trip on every request and booking
    spent on connections that were in use a moment ago. A failed ping replaces the connection, as there."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None:  # fresh from connect
            return
        if time.monotonic() - idle_since < IDLE_PING_SECONDS and not _has_input(dbapi_conn):
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                raise DisconnectionError(str(exc)) from exc
            raise


def _has_input(dbapi_conn: Any) -> bool:
    """Whether the server sent an idle connection anything (an error before it closed it, or the close)."""
    fileno = getattr(dbapi_conn, "fileno", None)
    if fileno is None:
        return False
    try:
        poller = select.poll()  # not select.select: it cannot watch descriptors past 1023
        poller.register(fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True  # a closed socket: let the ping find out


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back otherwise."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
