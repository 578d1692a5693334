"""The roll call: the host's secretary marks a bridge point present or absent by hand when Jitsi could not see it
(a phone dial-in, a hardware codec without a token) or saw the wrong device. The mark overrides Jitsi for that
point on the meeting page, in the attendance summary and in the monthly report."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from core.db import utcnow
from meetings.errors import MeetingsError
from meetings.models import Meeting, RollCall
from meetings.permissions import can_change


def mark_roll_call(
    session: Session, actor: Actor, meeting: Meeting, point_id: int, present: bool | None, note: str = ""
) -> RollCall | None:
    """Mark ``point_id`` present (True) or absent (False) in ``meeting``, or clear the mark (None). Whoever may
    change the meeting (the secretaries of its host point's unit, system admins) may."""
    if not can_change(actor, meeting):
        raise PermissionDenied(f"{actor.name} may not take the roll call of meeting {meeting.title}")
    planned = {mp.point_id: mp.point for mp in meeting.points}
    if point_id not in planned:
        raise MeetingsError(f"roll call: bridge point {point_id} is not planned in meeting {meeting.title}")
    if meeting.is_cancelled:
        raise MeetingsError(f"meeting {meeting.title}: cancelled meetings have no roll call")
    current = next((rc for rc in meeting.roll_calls if rc.point_id == point_id), None)
    before = None if current is None else {"present": current.is_present, "note": current.note}
    note = note.strip()[:500]
    if present is None:
        if current is not None:
            meeting.roll_calls.remove(current)
    elif current is None:
        current = RollCall(point_id=point_id, is_present=present, note=note, marked_by=actor.name)
        meeting.roll_calls.append(current)
    else:
        current.is_present, current.note, current.marked_by, current.marked_at = present, note, actor.name, utcnow()
    session.flush()
    changelog.record(
        session,
        actor,
        "meeting.roll_call",
        "meeting",
        meeting.id,
        target_label=f"{meeting.title} – {planned[point_id].name}",
        unit_id=meeting.host_point.unit_id,
        before=before,
        after=None if present is None else {"present": present, "note": note},
    )
    return current if present is not None else None
