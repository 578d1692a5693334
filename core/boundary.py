"""The one transaction boundary, used by web requests, CLI commands, scheduled jobs and background tasks.

Operations only ``flush()``. A :class:`Boundary` opens the session, commits once, and only then hands the
intents recorded in that transaction to their appliers (directory jobs to the directory sync, mail to the
sender). On failure it rolls back and applies nothing. An intent is a typed row (:class:`Intent`): the
boundary notices new ones as they are flushed, so producers need not raise any flag; a row written inside
a savepoint that was rolled back simply no longer exists when its applier looks for it.

A unit of work applies what it recorded itself; older backlog (slapd was down, SMTP unreachable) is the
scheduler's to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

log = logging.getLogger(__name__)


class Intent:
    """Mixin for rows that record a side effect outside the database, applied after their commit.

    ``origin`` names what recorded it (``task:17`` for a background task, ``request``, ``cli``), so a
    resumed task can finish applying exactly its own intents.
    """

    intent_kind: ClassVar[str] = ""
    origin: Mapped[str] = mapped_column(String(60), default="", index=True)


@dataclass
class Recorded:
    """Ids of the intent rows flushed in one unit of work, by intent class, and the origin they carry."""

    origin: str = ""
    ids: dict[type[Intent], list[int]] = field(default_factory=dict)

    def add(self, kind: type[Intent], row_id: int) -> None:
        self.ids.setdefault(kind, []).append(row_id)

    def __bool__(self) -> bool:
        return any(self.ids.values())

    def count(self, kind: type[Intent]) -> int:
        return len(self.ids.get(kind, ()))


# An applier gets the ids of rows of its intent class (oldest first) and an optional progress callback
# (done, total); it applies those still pending and returns a summary for the caller.
Applier = Callable[[list[int], Callable[[int, int], None] | None], Any]


@dataclass
class ApplyResult:
    """The part of an applier's summary every applier has (each adds how many it applied, in its own word):
    the rows that failed this time, those still waiting, and whether the outside server could not be reached
    (the rest then wait for the scheduler's next run)."""

    failed: int = 0
    pending: int = 0
    unavailable: bool = False


_RECORDED = "congvu.recorded_intents"


def track(session: Session, origin: str = "") -> Recorded:
    """Stamp new intents of ``session`` with ``origin`` and remember their ids as they are flushed."""
    recorded = Recorded(origin)
    session.info[_RECORDED] = recorded

    @event.listens_for(session, "before_flush")
    def _stamp(sess: Session, _ctx: Any, _instances: Any) -> None:
        if not origin:
            return
        for obj in sess.new:
            if isinstance(obj, Intent) and not obj.origin:
                obj.origin = origin

    @event.listens_for(session, "after_flush")
    def _remember(sess: Session, _ctx: Any) -> None:
        for obj in sess.new:  # still the pre-flush view here, with primary keys assigned
            if isinstance(obj, Intent):
                recorded.add(type(obj), obj.id)  # type: ignore[attr-defined]

    return recorded


def origin_of(session: Session) -> str:
    """The origin a bulk producer stamps on intent rows it inserts without the ORM."""
    recorded = session.info.get(_RECORDED)
    return recorded.origin if isinstance(recorded, Recorded) else ""


def note(session: Session, kind: type[Intent], ids: list[int]) -> None:
    """Tell the boundary about intent rows inserted without the ORM (a bulk insert), so they are applied
    after the commit like any other. Outside a boundary (a bare session) there is nothing to tell."""
    recorded = session.info.get(_RECORDED)
    if isinstance(recorded, Recorded):
        for row_id in ids:
            recorded.add(kind, row_id)


@dataclass
class UnitOfWork:
    """One open transaction and what it recorded; :meth:`Boundary.begin` makes one."""

    session: Session
    recorded: Recorded
    boundary: Boundary
    is_finished: bool = False

    def commit(self, *, apply: bool = True) -> dict[str, Any]:
        """Commit, close, then apply what was recorded (unless ``apply`` is false). Returns the appliers' results."""
        try:
            self.session.commit()
        except BaseException:
            self.rollback()
            raise
        self.session.close()
        self.is_finished = True
        return self.boundary.apply(self.recorded) if apply else {}

    def rollback(self) -> None:
        if not self.is_finished:
            self.session.rollback()
            self.session.close()
            self.is_finished = True


class Boundary:
    """Opens units of work on a session factory and applies their intents after the commit.

    ``factory`` is called each time (tests swap the session factory of a runtime for one bound to a
    rolled-back connection); ``appliers`` maps an intent class to the function that applies its rows.
    """

    def __init__(self, factory: Callable[[], sessionmaker[Session]], appliers: Mapping[type[Intent], Applier]) -> None:
        self._factory = factory
        self.appliers = dict(appliers)

    def begin(self, origin: str = "") -> UnitOfWork:
        session = self._factory()()
        return UnitOfWork(session, track(session, origin), self)

    @contextmanager
    def unit(self, origin: str = "", *, apply: bool = True) -> Iterator[Session]:
        """``with boundary.unit() as session:`` commits at the end (then applies), rolls back on error."""
        work = self.begin(origin)
        try:
            yield work.session
        except BaseException:
            work.rollback()
            raise
        work.commit(apply=apply)

    def apply(self, recorded: Recorded, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Hand each intent class's recorded ids to its applier. An applier that fails leaves its rows pending."""
        results: dict[str, Any] = {}
        for kind, ids in recorded.ids.items():
            applier = self.appliers.get(kind)
            if applier is None or not ids:
                continue
            try:
                results[kind.intent_kind] = applier(sorted(ids), progress)
            except Exception:  # the rows stay pending; the scheduler retries them
                log.exception("applying %s %s intents failed; they stay pending", len(ids), kind.intent_kind)
        return results
