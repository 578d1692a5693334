"""Bridge points in a reorganisation: a point of a unit that ends moves to the unit's single successor (its
future bookings stay), or is retired (its future bookings are cancelled through the ordinary cancel path, so
everyone invited gets the notice; a meeting it only joins goes on without it). The preview lists both."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from meetings.env import MeetingEnv
from meetings.models import BridgePoint, Meeting, MeetingPoint
from meetings.operations.changes import MeetingChanges, cancel_meeting, change_meeting
from meetings.operations.points import update_bridge_point
from meetings.permissions import can_manage_points
from provisioning.models import Unit
from provisioning.reorg.participants import UnitMapping


class BridgePoints:
    """The ``points`` section of a reorganisation (a :class:`provisioning.reorg.participants.Participant`)."""

    key = "points"

    def __init__(self, env: MeetingEnv) -> None:
        self.env = env

    def _points(self, session: Session, mapping: UnitMapping) -> list[BridgePoint]:
        if not mapping.ended:
            return []
        return list(
            session.scalars(
                select(BridgePoint)
                .where(BridgePoint.unit_id.in_(list(mapping.ended)), BridgePoint.is_active.is_(True))
                .order_by(BridgePoint.name)
            )
        )

    def _bookings(self, session: Session, point: BridgePoint, now: dt.datetime) -> list[Meeting]:
        return list(
            session.scalars(
                select(Meeting)
                .join(MeetingPoint, MeetingPoint.meeting_id == Meeting.id)
                .where(
                    MeetingPoint.point_id == point.id,
                    MeetingPoint.is_active.is_(True),
                    Meeting.is_cancelled.is_(False),
                    Meeting.starts_at > now,
                )
                .order_by(Meeting.starts_at, Meeting.id)
            ).unique()
        )

    def preview(self, session: Session, mapping: UnitMapping) -> list[dict[str, Any]]:
        now = dt.datetime.now(dt.UTC)
        rows: list[dict[str, Any]] = []
        for point in self._points(session, mapping):
            ended = mapping.ended[point.unit_id]
            rehome = ended.successor_code is not None
            rows.append(
                {
                    "point": point.name,
                    "unit": ended.code,
                    "action": "rehome" if rehome else "retire",
                    "successor": ended.successor_name if rehome else None,
                    "bookings": [
                        {
                            "meeting": meeting.title,
                            "starts_at": meeting.starts_at.astimezone(self.env.tz).isoformat(),
                            "action": "move" if rehome else "cancel",
                        }
                        for meeting in self._bookings(session, point, now)
                    ],
                }
            )
        return rows

    def counts(self, section: list[dict[str, Any]]) -> dict[str, int]:
        return {
            "points_rehomed": sum(1 for r in section if r["action"] == "rehome"),
            "points_retired": sum(1 for r in section if r["action"] == "retire"),
        }

    def apply(self, session: Session, actor: Actor, mapping: UnitMapping) -> dict[str, int]:
        now = dt.datetime.now(dt.UTC)
        done = {"points_rehomed": 0, "points_retired": 0, "meetings_cancelled": 0, "meetings_changed": 0}
        reason = f"Reorganisation {mapping.label}".strip()
        for point in self._points(session, mapping):
            ended = mapping.ended[point.unit_id]
            if ended.successor_id is not None:
                rehome_point(session, actor, point, session.get(Unit, ended.successor_id), reason)  # type: ignore[arg-type]
                done["points_rehomed"] += 1
                continue
            for meeting in self._bookings(session, point, now):
                if meeting.host_point_id == point.id:
                    cancel_meeting(session, actor, self.env, meeting, scope="one", reason=reason)
                    done["meetings_cancelled"] += 1
                else:
                    keep = [mp.point_id for mp in meeting.points if mp.point_id != point.id]
                    change_meeting(session, actor, self.env, meeting, MeetingChanges(point_ids=keep), scope="one")
                    done["meetings_changed"] += 1
            update_bridge_point(session, actor, point, is_active=False)
            done["points_retired"] += 1
        return done


def rehome_point(session: Session, actor: Actor, point: BridgePoint, unit: Unit, reason: str = "") -> None:
    """Give the point to another unit (its bookings, name and contact stay). Its managers on both sides may."""
    if not (can_manage_points(actor, point.unit) and can_manage_points(actor, unit)):
        raise PermissionDenied(f"{actor.name} may not move bridge point {point.name}")
    before = {"unit_id": point.unit_id}
    point.unit = unit
    session.flush()
    changelog.record_of(
        session, actor, "bridge_point.rehome", point, before=before, after={"unit_id": unit.id, "reason": reason}
    )
