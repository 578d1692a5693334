"""How layers above provisioning take part in a reorganisation without provisioning importing them.

A :class:`Participant` (bridge points in ``meetings.reorg``) adds a section to the preview and carries it out
when the plan is applied, in the same unit of work, given which units end and which single unit (if any)
each became. The composition root (``admin_app/tasks.py``) hands the participants to the task handlers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from core.actors import Actor


@dataclass(frozen=True)
class EndedUnit:
    """A unit the plan ends, and the single unit it became (None: split, or nobody went anywhere)."""

    unit_id: int
    code: str
    name: str
    effective_on: dt.date
    successor_code: str | None = None
    successor_name: str | None = None
    successor_id: int | None = None  # None in a preview when the plan creates the successor


@dataclass(frozen=True)
class UnitMapping:
    ended: dict[int, EndedUnit] = field(default_factory=dict)  # by unit id
    reorganisation_id: int | None = None
    label: str = ""  # the plan, as notices and the change trail name it


class Participant(Protocol):
    """One section of the preview (``key``) and its part of applying the plan."""

    key: str

    def preview(self, session: Session, mapping: UnitMapping) -> list[dict[str, Any]]:
        """The section's rows; reads only."""
        ...

    def counts(self, section: list[dict[str, Any]]) -> dict[str, int]:
        """Figures for the preview's ``counts`` from the section's rows."""
        ...

    def apply(self, session: Session, actor: Actor, mapping: UnitMapping) -> dict[str, int]:
        """Carry the section out in the caller's unit of work (through the layer's own verbs); what was done."""
        ...
