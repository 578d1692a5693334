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
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

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
        body = {
            "id": self.id,
            "occurred_at": self.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": self.actor,
            "client_address": self.client_address,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_label": self.target_label,
            "unit_id": self.unit_id,
            "before": self.before,
            "after": self.after,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


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
    return _append(session, actor, [(action, target_type, target_id, target_label, unit_id, before, after)])[0]


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

    Bulk imports write thousands of entries; they get ids from one insert, then are chained in order.
    """
    if items:
        for entry in _append(session, actor, items):
            session.expunge(entry)  # keeps the session (and memory) small on a big import


Item = tuple[str, str, object, str, int | None, dict[str, Any] | None, dict[str, Any] | None]


def _append(session: Session, actor: Actor, items: list[Item]) -> list[ChangeEntry]:
    # Writers of the chain are serialised by the lock on its head row, so two transactions never link to the same
    # predecessor. Before the first entry there is no row to lock: PostgreSQL writers then queue on an advisory
    # lock and read again (SQLite's writers hold the database's write lock anyway).
    head = session.get(ChangeHead, 1, with_for_update=True)
    if head is None and session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7316001)"))
        head = session.get(ChangeHead, 1, with_for_update=True, populate_existing=True)
    now = utcnow()
    entries = [
        ChangeEntry(
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
            prev_hash="",
            entry_hash=uuid.uuid4().hex,  # unique placeholder until the id (which the hash covers) is known
        )
        for action, target_type, target_id, label, unit_id, before, after in items
    ]
    session.add_all(entries)
    session.flush()
    prev_hash = head.last_hash if head else GENESIS
    for entry in sorted(entries, key=lambda e: e.id):
        entry.prev_hash = prev_hash
        entry.entry_hash = entry.compute_hash()
        prev_hash = entry.entry_hash
    last = max(entries, key=lambda e: e.id)
    if head is None:
        session.add(ChangeHead(id=1, last_entry_id=last.id, last_hash=last.entry_hash))
    else:
        head.last_entry_id = last.id
        head.last_hash = last.entry_hash
    session.flush()
    return entries
