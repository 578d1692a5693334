"""The append-only, hash-chained audit trail of every change.

It lives in ``provisioning`` (the bottom of the import chain) so that every package can record changes.
Each entry's hash covers its own fields and the previous entry's hash; ``verify`` walks the chain and
names the first entry that was altered, inserted or deleted. The head table records the last id and
hash, so deleting entries at the end is caught too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sqlalchemy import JSON, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, make_transient_to_detached, mapped_column
from sqlalchemy.orm.util import identity_key

from core import bulk
from core.actors import Actor
from core.db import Base, utcnow

GENESIS = "0" * 64


class ChangeEntry(Base):
    __tablename__ = "audit_entries"
    # A person's page shows the entries about them: found by target, not by scanning the trail.
    __table_args__ = (Index("ix_audit_entries_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(300), index=True)
    client_address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64), default="")
    target_label: Mapped[str] = mapped_column(String(300), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)

    def __repr__(self) -> str:
        return f"<ChangeEntry {self.id} {self.action} {self.target_type}:{self.target_id}>"

    def canonical(self) -> bytes:
        return self.canonical_text(self.id, self.prev_hash).encode()

    def canonical_text(self, entry_id: object, prev_hash: object) -> str:
        """What the hash covers, with ``entry_id`` and ``prev_hash`` standing for the entry's own."""
        return _canonical_text(self, entry_id, prev_hash)

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


class _Draft:
    """An entry of a bulk append before it is written: the columns alone, without the ORM's bookkeeping (a
    reorganisation writes thousands; the rows go in by core.bulk, never through the session)."""

    __slots__ = (
        "action",
        "actor",
        "after",
        "before",
        "client_address",
        "entry_hash",
        "id",
        "occurred_at",
        "prev_hash",
        "target_id",
        "target_label",
        "target_type",
        "unit_id",
    )

    def __init__(self, **columns: Any) -> None:
        for name, value in columns.items():
            setattr(self, name, value)

    def compute_hash(self) -> str:
        return hashlib.sha256(_canonical_text(self, self.id, self.prev_hash).encode()).hexdigest()


def _canonical_text(entry: ChangeEntry | _Draft, entry_id: object, prev_hash: object) -> str:
    body = {
        "id": entry_id,
        "occurred_at": entry.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "client_address": entry.client_address,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "target_label": entry.target_label,
        "unit_id": entry.unit_id,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class ChangeHead(Base):
    """One row: the id and hash of the newest entry."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_entry_id: Mapped[int] = mapped_column()
    last_hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<ChangeHead {self.last_entry_id}>"


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dt.datetime | dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, str | int | float | bool | type(None) | list | dict):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: object = "",
    *,
    target_label: str = "",
    unit_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> ChangeEntry:
    """Append one entry in the caller's transaction (it commits with the change it describes)."""
    (entry,) = _append(session, actor, [(action, target_type, target_id, target_label, unit_id, before, after)])
    make_transient_to_detached(entry)  # written already: it joins the session as the row it is
    session.add(entry)
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


def verify(session: Session, batch: int = 2000) -> VerifyResult:
    """Walk the chain in id order; report the first entry whose content or link does not hold."""
    prev_hash = GENESIS
    last_id = 0
    checked = 0
    while True:
        rows = session.scalars(
            select(ChangeEntry).where(ChangeEntry.id > last_id).order_by(ChangeEntry.id).limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.prev_hash != prev_hash:
                problem = (
                    f"entry {entry.id} does not follow entry {last_id or 'start'}: an entry before it was "
                    "deleted or it was inserted"
                )
                return VerifyResult(False, checked, entry.id, problem)
            if entry.compute_hash() != entry.entry_hash:
                return VerifyResult(False, checked, entry.id, f"entry {entry.id} was altered")
            prev_hash = entry.entry_hash
            last_id = entry.id
            checked += 1
            session.expunge(entry)  # keeps memory flat on a long trail
    head = session.get(ChangeHead, 1)
    if head is not None and (head.last_entry_id != last_id or head.last_hash != prev_hash):
        return VerifyResult(
            False,
            checked,
            head.last_entry_id,
            f"the newest entry should be {head.last_entry_id}; entries after {last_id} were deleted",
        )
    if head is None and checked:
        return VerifyResult(False, checked, last_id, "the chain head record was deleted")
    return VerifyResult(True, checked)


def record_many(
    session: Session,
    actor: Actor,
    items: list[Item],
) -> None:
    """Append many entries (action, target_type, target_id, label, unit_id, before, after) in one go.

    Bulk imports write thousands of entries: their ids come in one statement, they are chained in id order and
    written in one more.
    """
    if items:
        _append(session, actor, items)  # the entries stay out of the session: it (and memory) stays small


Item = tuple[str, str, object, str, int | None, dict[str, Any] | None, dict[str, Any] | None]


def _append(session: Session, actor: Actor, items: list[Item]) -> list[ChangeEntry] | list[_Draft]:
    # Two statements however many entries: the chain's head locked with the ids taken, then the entries and
    # the new head written together; one entry on PostgreSQL: one statement (a booking's round trips are most
    # of its time).
    now = utcnow()
    if len(items) == 1 and session.get_bind().dialect.name == "postgresql":
        entry = _entries(actor, now, [0], items)[0]
        if _append_one_pg(session, entry):
            return [entry]
    prev_hash, ids = _lock_head(session, len(items))
    entries = _entries(actor, now, ids, items, _Draft if len(items) > 1 else ChangeEntry)
    for entry in entries:
        entry.prev_hash = prev_hash
        entry.entry_hash = entry.compute_hash()
        prev_hash = entry.entry_hash
    _write(session, entries)
    return entries


def _entries(
    actor: Actor, now: dt.datetime, ids: list[int], items: list[Item], kind: type[Any] = ChangeEntry
) -> list[Any]:
    return [
        kind(
            id=entry_id,
            occurred_at=now,
            actor=actor.label,
            client_address=actor.client_address,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            target_label=label,
            unit_id=unit_id,
            before=_jsonable(before),
            after=_jsonable(after),
        )
        for entry_id, (action, target_type, target_id, label, unit_id, before, after) in zip(ids, items, strict=True)
    ]


_ID, _PREV = json.dumps("\x00id\x00"), json.dumps("\x00prev\x00")
_DRAWN = ("id", "prev_hash", "entry_hash")  # what the one statement fills in


def _append_one_pg(session: Session, entry: ChangeEntry) -> bool:
    """Write ``entry`` in one statement: the head locked, the id drawn, the hash computed by PostgreSQL over
    the same bytes as :meth:`ChangeEntry.canonical` (the text around the id and the previous hash comes from
    here), the entry inserted and the head moved. False, having written nothing, if there is no head yet (or
    the entry's own text holds the placeholders): the two-statement way then takes over."""
    text_ = entry.canonical_text("\x00id\x00", "\x00prev\x00")
    if text_.count(_ID) != 1 or text_.count(_PREV) != 1:
        return False
    before_id, rest = text_.split(_ID)
    between, after_prev = rest.split(_PREV)
    row = {c: getattr(entry, c) for c in ChangeEntry.__table__.columns.keys() if c not in _DRAWN}  # noqa: SIM118
    params = {"rows": bulk.pg_document(session, ChangeEntry.__table__, [row])}  # type: ignore[arg-type]
    params |= {"pre": before_id, "mid": between + '"', "suf": '"' + after_prev}
    written = session.execute(text(_ONE_PG), params).first()
    if written is None:
        return False
    entry.id, entry.prev_hash, entry.entry_hash = written
    if entry.compute_hash() != entry.entry_hash:  # cannot happen unless the two renderings part: fail loudly
        raise RuntimeError(f"change-trail entry {entry.id}: the database's hash differs from the entry's")
    _forget_head(session)
    return True


# The head's row lock is taken by the first CTE; the id is drawn above it (so only once it is held), the entry's
# columns come from its JSON row (as core.bulk writes them) and its hash from the text around id and prev_hash.
_ONE_PG = """WITH head AS MATERIALIZED (SELECT last_hash FROM audit_head WHERE id = 1 FOR UPDATE),
e AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('audit_entries', 'id')) AS id, last_hash FROM head),
new AS (
  INSERT INTO audit_entries (id, prev_hash, entry_hash, occurred_at, actor, client_address, action, target_type,
    target_id, target_label, unit_id, before, after)
  SELECT e.id, e.last_hash, encode(sha256(convert_to(:pre || e.id || :mid || e.last_hash || :suf, 'UTF8')), 'hex'),
    r.occurred_at, r.actor, r.client_address, r.action, r.target_type, r.target_id, r.target_label, r.unit_id,
    r.before, r.after
  FROM e CROSS JOIN json_populate_recordset(NULL::audit_entries, CAST(:rows AS json)) AS r
  RETURNING id, prev_hash, entry_hash)
UPDATE audit_head SET last_entry_id = new.id, last_hash = new.entry_hash FROM new WHERE audit_head.id = 1
RETURNING new.id, new.prev_hash, new.entry_hash"""


def _lock_head(session: Session, count: int) -> tuple[str, list[int]]:
    """The newest entry's hash, and ``count`` ids for the new entries, taken under the lock that serialises the
    chain's writers, so chain order is id order and two transactions never link to the same predecessor."""
    if session.get_bind().dialect.name != "postgresql":
        # SQLite's writers hold the database's write lock from BEGIN IMMEDIATE: the next ids follow the last.
        last_hash, last_id = session.execute(_LAST_SQLITE).one()
        return last_hash or GENESIS, list(range(last_id + 1, last_id + 1 + count))
    # The ids are drawn above the lock on the head row (the subquery), so only once it is held.
    rows = session.execute(_LOCK_PG, {"n": count}).all()
    if not rows:
        # Before the first entry there is no row to lock: writers queue on an advisory lock and read again.
        session.execute(text("SELECT pg_advisory_xact_lock(7316001)"))
        rows = session.execute(_LOCK_PG, {"n": count}).all()
        if not rows:
            ids = session.scalars(_IDS_PG, {"n": count}).all()
            return GENESIS, sorted(ids)
    return rows[0][0], sorted(r[1] for r in rows)


_LAST_SQLITE = text(
    "SELECT (SELECT last_hash FROM audit_head WHERE id = 1), (SELECT coalesce(max(id), 0) FROM audit_entries)"
)
_IDS_PG = text("SELECT nextval(pg_get_serial_sequence('audit_entries', 'id')) FROM generate_series(1, :n)")
_LOCK_PG = text(
    "SELECT h.last_hash, nextval(pg_get_serial_sequence('audit_entries', 'id')) FROM "
    "(SELECT last_hash FROM audit_head WHERE id = 1 FOR UPDATE) AS h CROSS JOIN generate_series(1, :n)"
)
_HEAD = (
    "INSERT INTO audit_head (id, last_entry_id, last_hash) VALUES (1, :last_id, :last_hash) "
    "ON CONFLICT (id) DO UPDATE SET last_entry_id = excluded.last_entry_id, last_hash = excluded.last_hash"
)


def _write(session: Session, entries: list[ChangeEntry] | list[_Draft]) -> None:
    """Insert ``entries`` (chained, in id order) and move the head to the last; on PostgreSQL in one statement."""
    columns = ChangeEntry.__table__.columns.keys()
    rows = [{c: getattr(entry, c) for c in columns} for entry in entries]
    head = {"last_id": entries[-1].id, "last_hash": entries[-1].entry_hash}
    table = ChangeEntry.__table__
    if session.get_bind().dialect.name == "postgresql":
        statement, params = bulk.pg_insert(session, table, rows)  # type: ignore[arg-type]
        session.execute(text(f"WITH entries AS ({statement}) {_HEAD}"), params | head)
    else:
        bulk.insert_rows(session, table, rows)  # type: ignore[arg-type]
        session.execute(text(_HEAD), head)
    _forget_head(session)


def _forget_head(session: Session) -> None:
    loaded = session.identity_map.get(identity_key(ChangeHead, 1))
    if loaded is not None:
        session.expire(loaded)  # written behind the ORM's back: read afresh if asked


class Target(Protocol):
    """A row that names itself in the trail: ``audit_kind`` (its target type), its id, a label people read
    (an address, a unit's name) and the unit whose admins see the entry."""

    audit_kind: ClassVar[str]

    @property
    def id(self) -> Any: ...

    @property
    def audit_label(self) -> str: ...

    @property
    def audit_unit_id(self) -> int | None: ...


def item_of(
    action: str, target: Target, before: dict[str, Any] | None = None, after: dict[str, Any] | None = None
) -> Item:
    """The entry of ``action`` on ``target`` as :func:`record_many` takes it."""
    return (action, target.audit_kind, target.id, target.audit_label, target.audit_unit_id, before, after)


def record_of(
    session: Session,
    actor: Actor,
    action: str,
    target: Target,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    label: str | None = None,
    unit_id: int | None = None,
) -> ChangeEntry:
    """:func:`record` one change to ``target``, which says its own kind, id, label and unit. ``label`` and
    ``unit_id``, when given, stand for the target's own (an entry that names two units, a grant seen in the
    unit it covers)."""
    return record(
        session,
        actor,
        action,
        target.audit_kind,
        target.id,
        target_label=target.audit_label if label is None else label,
        unit_id=target.audit_unit_id if unit_id is None else unit_id,
        before=before,
        after=after,
    )
