"""Private calendar feeds: a secret URL that Thunderbird, Outlook or a phone subscribes to, holding the
meetings of one person or of one bridge point. Only the SHA-256 of the secret is kept; a feed is revoked by
issuing a new one or by revoking it outright."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class CalendarFeed(Base):
    __tablename__ = "calendar_feeds"
    __table_args__ = (CheckConstraint("(staff_id IS NULL) != (point_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("bridge_points.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<CalendarFeed {self.id} staff={self.staff_id} point={self.point_id}>"
