"""Bridge points, meetings (single or in a recurring series), invited people and attendance.

Times are stored in UTC. A meeting holds each of its points from ``block_start`` (start minus the set-up
buffer) to ``ends_at``; ``meeting_points`` repeats that range per point so the database can refuse overlaps
itself (an exclusion constraint on PostgreSQL, see migration 0003).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from core.db import Base, utcnow
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

    # How the change trail names a point (core.changelog.record_of): by its name, in the unit that has it.
    audit_kind: ClassVar[str] = "bridge_point"
    audit_label: Mapped[str] = synonym("name")
    audit_unit_id: Mapped[int] = synonym("unit_id")

    def __repr__(self) -> str:
        return f"<BridgePoint {self.id} {self.name!r}>"


# Longest meeting and buffer accepted: bounds the range an overlap search must look back over.
MAX_MEETING_HOURS = 12
MAX_BUFFER_MINUTES = 240


class MeetingSeries(Base):
    """A recurrence rule; its occurrences are :class:`Meeting` rows that point back to it."""

    __tablename__ = "meeting_series"
    __table_args__ = (
        CheckConstraint("freq IN ('daily', 'weekly', 'monthly_date', 'monthly_weekday')", name="freq"),
        CheckConstraint("interval >= 1", name="interval_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    freq: Mapped[str] = mapped_column(String(20))
    interval: Mapped[int] = mapped_column(default=1)
    weekdays: Mapped[str] = mapped_column(String(20), default="")  # "0,2" = Monday, Wednesday (weekly)
    until: Mapped[dt.date | None] = mapped_column()
    count: Mapped[int | None] = mapped_column()
    sequence: Mapped[int] = mapped_column(default=0)
    is_cancelled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    occurrences: Mapped[list[Meeting]] = relationship(back_populates="series", order_by="Meeting.occurrence_start")

    def __repr__(self) -> str:
        return f"<MeetingSeries {self.id} {self.freq}>"


class Meeting(Base):
    """An online meeting hosted at one bridge point and joined by others (one occurrence of a series, or alone)."""

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_meetings_series_start", "series_id", "occurrence_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    agenda: Mapped[str] = mapped_column(String(5000), default="")
    host_point_id: Mapped[int] = mapped_column(ForeignKey("bridge_points.id"))
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    organiser_name: Mapped[str] = mapped_column(String(300), default="")
    organiser_email: Mapped[str] = mapped_column(String(254), default="")
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    ends_at: Mapped[dt.datetime] = mapped_column()
    buffer_minutes: Mapped[int] = mapped_column(default=30)
    room_name: Mapped[str] = mapped_column(String(100), unique=True)
    uid: Mapped[str] = mapped_column(String(200), default="")  # iCalendar UID (the series' for an occurrence)
    sequence: Mapped[int] = mapped_column(default=0)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_series.id"))
    occurrence_start: Mapped[dt.datetime | None] = mapped_column()  # RECURRENCE-ID: the start the rule gave
    is_cancelled: Mapped[bool] = mapped_column(default=False)
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column()
    summary_sent_at: Mapped[dt.datetime | None] = mapped_column()  # the organiser's attendance summary, once
    room_opened_at: Mapped[dt.datetime | None] = mapped_column()
    room_closed_at: Mapped[dt.datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    host_point: Mapped[BridgePoint] = relationship()
    organiser: Mapped[Staff | None] = relationship()
    series: Mapped[MeetingSeries | None] = relationship(back_populates="occurrences")
    points: Mapped[list[MeetingPoint]] = relationship(back_populates="meeting", cascade="all, delete-orphan")
    invitees: Mapped[list[Invitee]] = relationship(back_populates="meeting", cascade="all, delete-orphan")
    attendance: Mapped[list[Attendance]] = relationship(back_populates="meeting", cascade="all, delete-orphan")
    roll_calls: Mapped[list[RollCall]] = relationship(back_populates="meeting", cascade="all, delete-orphan")

    @property
    def block_start(self) -> dt.datetime:
        return self.starts_at - dt.timedelta(minutes=self.buffer_minutes)

    def phase(self, now: dt.datetime) -> str:
        """``upcoming`` before it begins, ``live`` while it is on, ``over`` after: attendance means something
        only once it has begun, and a point not seen yet is not "absent" while the meeting is still on. Jitsi's
        word counts over the schedule: a room opened early makes it live, a room destroyed makes it over."""
        if now >= self.ends_at or (self.room_closed_at is not None and self.room_closed_at <= now):
            return "over"
        if now >= self.starts_at or self.room_opened_at is not None:
            return "live"
        return "upcoming"

    def __repr__(self) -> str:
        return f"<Meeting {self.id} {self.title!r}>"


class MeetingPoint(Base):
    """A bridge point taking part in a meeting, holding it from the start of the buffer to the end."""

    __tablename__ = "meeting_points"
    __table_args__ = (
        UniqueConstraint("meeting_id", "point_id"),
        Index("ix_meeting_points_busy", "point_id", "block_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("bridge_points.id"), index=True)
    block_start: Mapped[dt.datetime] = mapped_column()
    block_end: Mapped[dt.datetime] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=True)  # false once the meeting is cancelled

    meeting: Mapped[Meeting] = relationship(back_populates="points")
    point: Mapped[BridgePoint] = relationship()

    def __repr__(self) -> str:
        return f"<MeetingPoint meeting={self.meeting_id} point={self.point_id}>"


class Invitee(Base):
    """A person invited by mailbox (not through a bridge point)."""

    __tablename__ = "meeting_invitees"
    __table_args__ = (UniqueConstraint("meeting_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(300), default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="invitees")

    def __repr__(self) -> str:
        return f"<Invitee {self.email} meeting={self.meeting_id}>"


class Attendance(Base):
    """One participant's presence in a Jitsi room, from when to when: the union of what event-sync posts and the
    room polls showed (``meetings.presence``), one row per unbroken interval. ``occupant_id`` is the token's
    ``context.user.id`` (``point-17``, ``person-an@…``), so a reconnect or a breakout room keeps one person."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "occupant_jid", "joined_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("bridge_points.id"), index=True)
    invitee_email: Mapped[str] = mapped_column(String(254), default="")
    occupant_jid: Mapped[str] = mapped_column(String(500))
    occupant_id: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    joined_at: Mapped[dt.datetime] = mapped_column()
    left_at: Mapped[dt.datetime | None] = mapped_column()

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    point: Mapped[BridgePoint | None] = relationship()

    @property
    def minutes(self) -> float:
        end = self.left_at or self.meeting.room_closed_at or self.meeting.ends_at
        return max(0.0, (end - self.joined_at).total_seconds() / 60)

    def __repr__(self) -> str:
        return f"<Attendance {self.occupant_jid} meeting={self.meeting_id}>"


class PresenceEvent(Base):
    """What Jitsi reported, kept as it came: an occupant joined or left (event-sync), or was seen in the room by a
    poll of ``mod_muc_size``. Presence is recomputed from these, so their order of arrival does not matter and a
    repeated post is one row."""

    __tablename__ = "meeting_presence_events"
    __table_args__ = (
        UniqueConstraint("meeting_id", "kind", "stream", "at"),
        CheckConstraint("kind IN ('joined', 'left', 'seen', 'poll')", name="kind"),
        Index("ix_meeting_presence_events_participant", "meeting_id", "participant"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    stream: Mapped[str] = mapped_column(String(600))  # occupant JID + breakout room: one join/leave sequence
    participant: Mapped[str] = mapped_column(String(300))  # context.user.id, or what stood in for it
    point_id: Mapped[int | None] = mapped_column(ForeignKey("bridge_points.id"))
    invitee_email: Mapped[str] = mapped_column(String(254), default="")
    name: Mapped[str] = mapped_column(String(500), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    at: Mapped[dt.datetime] = mapped_column()

    def __repr__(self) -> str:
        return f"<PresenceEvent {self.kind} {self.participant} meeting={self.meeting_id}>"


class RollCall(Base):
    """A point marked present or absent by hand by the host's secretary, when Jitsi could not see it (a phone
    dial-in, a hardware codec): it overrides what Jitsi reported for that point."""

    __tablename__ = "meeting_roll_calls"
    __table_args__ = (UniqueConstraint("meeting_id", "point_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("bridge_points.id"))
    is_present: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(String(500), default="")
    marked_by: Mapped[str] = mapped_column(String(300), default="")
    marked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="roll_calls")
    point: Mapped[BridgePoint] = relationship()

    def __repr__(self) -> str:
        return f"<RollCall meeting={self.meeting_id} point={self.point_id} present={self.is_present}>"


# Calendar feeds live beside the models; importing this module registers them too.
from meetings.feed_models import CalendarFeed  # noqa: E402

__all__ = ["CalendarFeed"]
