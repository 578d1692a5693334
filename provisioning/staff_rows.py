"""Many people's columns written at once, for the bulk verbs (a reorganisation moves and readdresses thousands):
one UPDATE per batch (``core.bulk.update_rows``) instead of the unit of work's bookkeeping per object. The objects
are given the values as committed, so the rest of the transaction reads them right and the unit of work writes
nothing again.

Only what the caller's verb has checked goes through here; the row's ``updated_at`` is kept as the ORM would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import bulk
from core.db import utcnow
from provisioning.errors import refusing
from provisioning.models import Staff


def write_columns(
    session: Session, changes: Sequence[tuple[Staff, Mapping[str, object]]], *, refused: str = ""
) -> list[Staff]:
    """Set each person's columns (attribute name → value). People the database has not stored yet are left to
    the caller's flush and returned. With ``refused``, a value the database refuses (an address already taken)
    becomes a :class:`ProvisioningError` saying it, nothing of the batch written."""
    now = utcnow()
    runs: dict[tuple[str, ...], list[dict[str, object]]] = {}
    written: list[tuple[Staff, Mapping[str, object]]] = []
    unstored: list[Staff] = []
    for staff, columns in changes:
        if not inspect(staff).persistent:
            unstored.append(staff)
            continue
        runs.setdefault(tuple(sorted(columns)), []).append({"id": staff.id, **columns})
        written.append((staff, columns))
    table = Staff.__table__
    with contextlib.nullcontext() if not refused else refusing(session, refused):
        for rows in runs.values():
            bulk.update_rows(session, table, rows, shared={"updated_at": now})  # type: ignore[arg-type]
    for staff, columns in written:
        for name, value in columns.items():
            set_committed_value(staff, name, value)
        set_committed_value(staff, "updated_at", now)
    return unstored
