"""The change-trail page's reading: its filters, and pages by keyset.

A page is the entries just older than one id (``before``) or just newer than one (``after``), newest first: an
index range on the primary key, however deep into a trail of millions the reader goes. No OFFSET (which reads and
throws away every entry before the page) and no COUNT of the trail: "older" and "newer" exist when one more entry
lies beyond the page in that direction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select, or_, select, text
from sqlalchemy.orm import Session

from core.changelog import ChangeEntry
from core.validation import InputError, clean_date, clean_int, clean_text
from provisioning.models import Unit

# The arguments that choose a page, not what is shown: links to other pages replace them.
CURSOR_ARGS = ("before", "after", "page")


@dataclass(frozen=True)
class TrailFilters:
    actor: str = ""
    action: str = ""
    unit_id: int | None = None
    staff_id: int | None = None
    day_from: dt.date | None = None
    day_to: dt.date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> TrailFilters:
        """The filters in a request's query arguments; an id out of bounds is refused by name (InputError)."""
        return cls(
            actor=clean_text(args.get("actor", ""), "actor", max_length=200),
            action=clean_text(args.get("action", ""), "action", max_length=60),
            unit_id=clean_int(args["unit"], "unit") if args.get("unit") else None,
            staff_id=clean_int(args["staff"], "staff") if args.get("staff") else None,
            day_from=_day(args.get("from")),
            day_to=_day(args.get("to")),
        )

    def form_values(self) -> dict[str, object]:
        return {
            "actor": self.actor,
            "action": self.action,
            "unit": self.unit_id,
            "from": self.day_from.isoformat() if self.day_from else "",
            "to": self.day_to.isoformat() if self.day_to else "",
        }


def _day(raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        return clean_date(raw, "date")
    except InputError:
        return None  # a half-typed date filters nothing rather than refusing the page


def trail_query(
    session: Session, paths: list[str] | None, filters: TrailFilters, tz: dt.tzinfo
) -> Select[tuple[ChangeEntry]]:
    """The entries the reader may see (``paths``: their units' subtrees, None for all) that match the filters."""
    stmt = select(ChangeEntry)
    if paths is not None:
        allowed = select(Unit.id).where(or_(*[Unit.path.startswith(p) for p in paths]))
        stmt = stmt.where(ChangeEntry.unit_id.in_(allowed))
    if filters.actor:
        stmt = stmt.where(ChangeEntry.actor.contains(filters.actor, autoescape=True))
    if filters.action:
        stmt = stmt.where(ChangeEntry.action == filters.action)
    if filters.staff_id:  # the history of one mailbox (its page links here)
        stmt = stmt.where(ChangeEntry.target_type == "staff", ChangeEntry.target_id == str(filters.staff_id))
    if filters.unit_id:
        unit = session.get(Unit, filters.unit_id)
        if unit is not None:
            stmt = stmt.where(ChangeEntry.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path))))
    if filters.day_from:
        stmt = stmt.where(ChangeEntry.occurred_at >= dt.datetime.combine(filters.day_from, dt.time(), tz))
    if filters.day_to:
        end = dt.datetime.combine(filters.day_to + dt.timedelta(days=1), dt.time(), tz)
        stmt = stmt.where(ChangeEntry.occurred_at < end)
    return stmt


@dataclass(frozen=True)
class TrailPage:
    entries: list[ChangeEntry]
    newer_than: int | None  # the cursor of the newer page (``after``), if there is one
    older_than: int | None  # the cursor of the older page (``before``), if there is one
    is_first: bool  # the newest entries: no cursor was given


def _exists(session: Session, stmt: Select[tuple[ChangeEntry]]) -> bool:
    return session.scalar(stmt.with_only_columns(ChangeEntry.id).limit(1)) is not None


def trail_page(
    session: Session, stmt: Select[tuple[ChangeEntry]], *, before: int | None, after: int | None, size: int
) -> TrailPage:
    """One page of ``stmt``'s entries, newest first: older than ``before``, else newer than ``after``, else the
    newest. Reads ``size + 1`` entries and at most one more id to know whether a page lies on the other side."""
    if before is None and after is not None:
        rows = list(session.scalars(stmt.where(ChangeEntry.id > after).order_by(ChangeEntry.id).limit(size + 1)))
        has_newer = len(rows) > size
        entries = rows[:size][::-1]
        has_older = bool(entries) and _exists(session, stmt.where(ChangeEntry.id < entries[-1].id))
    else:
        older = stmt.where(ChangeEntry.id < before) if before is not None else stmt
        rows = list(session.scalars(older.order_by(ChangeEntry.id.desc()).limit(size + 1)))
        has_older = len(rows) > size
        entries = rows[:size]
        has_newer = before is not None and bool(entries)
        has_newer = has_newer and _exists(session, stmt.where(ChangeEntry.id > entries[0].id))
    return TrailPage(
        entries=entries,
        newer_than=entries[0].id if has_newer else None,
        older_than=entries[-1].id if has_older else None,
        is_first=before is None and after is None,
    )


def known_actions(session: Session) -> list[str]:
    """The distinct actions in the trail, for the filter's choices: one index probe per action (a loose index scan
    written as a recursive query, on SQLite and PostgreSQL alike), not a read of every entry."""
    table = ChangeEntry.__tablename__
    query = text(
        f"WITH RECURSIVE found(action) AS ("  # noqa: S608 (the table name is the model's, not input)
        f" SELECT min(action) FROM {table}"
        f" UNION ALL SELECT (SELECT min(e.action) FROM {table} e WHERE e.action > found.action)"
        " FROM found WHERE found.action IS NOT NULL"
        ") SELECT action FROM found WHERE action IS NOT NULL"
    )
    return list(session.scalars(query))
