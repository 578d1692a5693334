"""What the tree and its people looked like before: reorganisation plans, earlier states of units, which unit
became which, and where each person was placed until a move. Reports of an earlier month read these."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

REORGANISATION_STATUSES = ("uploaded", "previewing", "previewed", "applying", "applied", "failed")
SUCCESSION_KINDS = ("merge", "split", "dissolve")


class Reorganisation(Base):
    """One plan file (units sheet, optional staff sheet): uploaded, previewed as a task, applied as a task."""

    __tablename__ = "reorganisations"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in REORGANISATION_STATUSES) + ")", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # SHA-256 of the content: the same plan applied again is recognised and changes nothing.
    digest: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="uploaded")
    effective_on: Mapped[dt.date | None] = mapped_column()
    # The preview (resulting tree, counts before/after, address changes, lists, points, roles) or the errors.
    preview: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # What applying did (counts), filled when the database part committed.
    summary: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[dt.datetime | None] = mapped_column()
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<Reorganisation {self.id} {self.filename!r} {self.status}>"


class UnitVersion(Base):
    """An earlier state of a unit, valid until ``valid_until`` (exclusive). A unit's state on a day is its
    earliest version valid until after that day, or else the unit row as it is now."""

    __tablename__ = "unit_versions"
    __table_args__ = (Index("ix_unit_versions_unit_until", "unit_id", "valid_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    valid_until: Mapped[dt.date] = mapped_column()
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(20))
    mail_domain: Mapped[str | None] = mapped_column(String(200))
    reorganisation_id: Mapped[int | None] = mapped_column(ForeignKey("reorganisations.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<UnitVersion unit={self.unit_id} {self.code!r} until {self.valid_until}>"


class UnitSuccession(Base):
    """``predecessor`` became (wholly or partly) ``successor`` on ``effective_on``."""

    __tablename__ = "unit_successions"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in SUCCESSION_KINDS) + ")", name="kind"),
        CheckConstraint("predecessor_id != successor_id", name="not_itself"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    effective_on: Mapped[dt.date] = mapped_column()
    reorganisation_id: Mapped[int | None] = mapped_column(ForeignKey("reorganisations.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<UnitSuccession {self.predecessor_id} → {self.successor_id} {self.kind} {self.effective_on}>"


class StaffPlacement(Base):
    """A person was in ``unit_id`` until ``valid_until`` (exclusive). Their unit on a day is their earliest
    placement valid until after that day, or else their unit now."""

    __tablename__ = "staff_placements"
    __table_args__ = (Index("ix_staff_placements_staff_until", "staff_id", "valid_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    valid_until: Mapped[dt.date] = mapped_column(index=True)
    reorganisation_id: Mapped[int | None] = mapped_column(ForeignKey("reorganisations.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<StaffPlacement staff={self.staff_id} unit={self.unit_id} until {self.valid_until}>"
