"""Bridge points and meetings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from provisioning.db import Base, utcnow
from provisioning.models import Staff, Unit


class BridgePoint(Base):
    """A bridge point (điểm cầu): a room with video equipment that joins meetings under its own name."""

    __tablename__ = "bridge_points"
    __table_args__ = (CheckConstraint("capacity >= 0", name="capacity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    location: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int] = mapped_column(default=0)
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    equipment: Mapped[str] = mapped_column(String(1000), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<BridgePoint {self.id} {self.name!r}>"


class Meeting(Base):
    """An online meeting hosted at one bridge point and joined by others."""

    __tablename__ = "meetings"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    agenda: Mapped[str] = mapped_column(String(5000), default="")
    host_point_id: Mapped[int] = mapped_column(ForeignKey("bridge_points.id"))
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    ends_at: Mapped[dt.datetime] = mapped_column()
    room_name: Mapped[str] = mapped_column(String(100), unique=True)
    is_cancelled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    host_point: Mapped[BridgePoint] = relationship()
    organiser: Mapped[Staff | None] = relationship()
    points: Mapped[list[MeetingPoint]] = relationship(back_populates="meeting", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Meeting {self.id} {self.title!r}>"


class MeetingPoint(Base):
    __tablename__ = "meeting_points"
    __table_args__ = (UniqueConstraint("meeting_id", "point_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("bridge_points.id"), index=True)

    meeting: Mapped[Meeting] = relationship(back_populates="points")
    point: Mapped[BridgePoint] = relationship()

    def __repr__(self) -> str:
        return f"<MeetingPoint meeting={self.meeting_id} point={self.point_id}>"
