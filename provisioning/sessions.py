"""Console sessions recorded in the database. The signed cookie carries only a random id; the row says whose
it is and whether it still counts, so signing out, a password change, a disabled mailbox or an admin's
"sign out everywhere" ends it at once, and idle and absolute lifetimes hold whatever the cookie says."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from core.db import utcnow
from provisioning.auth_models import ConsoleSession
from provisioning.models import Role, Staff
from provisioning.roles import holds_equal_or_wider

# A session's last request is written at most this often: page views stay read-only in between.
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=60)
    absolute: dt.timedelta = dt.timedelta(hours=12)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, owner: Actor, client_address: str = "", user_agent: str = "") -> str:
    """Record a new session for ``owner`` (staff or the break-glass admin); returns the id for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_sha256=_digest(token),
            staff_id=owner.id if owner.kind == "staff" else None,
            local_admin_id=owner.id if owner.kind == "local" else None,
            client_address=client_address[:64],
            user_agent=user_agent[:300],
        )
    )
    session.flush()
    return token


def find_session(
    session: Session, token: str, policy: SessionPolicy, now: dt.datetime | None = None
) -> ConsoleSession | None:
    """The live session for a cookie's id: not ended, used within the idle time, younger than the maximum."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_sha256 == _digest(token)))
    now = now or utcnow()
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > policy.idle or now - row.created_at > policy.absolute:
        return None
    return row


def needs_touch(row: ConsoleSession, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int, now: dt.datetime | None = None) -> None:
    """Note a request on the session (the idle clock starts again)."""
    session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_seen_at=now or utcnow()))


def end_session(session: Session, token: str, reason: str = "signed_out") -> None:
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_sha256 == _digest(token), ConsoleSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_reason=reason)
    )


def end_sessions_of(
    session: Session,
    *,
    staff_id: int | None = None,
    local_admin_id: int | None = None,
    reason: str,
    keep_token: str | None = None,
) -> int:
    """End every live session of a person (or of the break-glass admin), except ``keep_token``'s."""
    stmt = update(ConsoleSession).where(ConsoleSession.ended_at.is_(None))
    if staff_id is not None:
        stmt = stmt.where(ConsoleSession.staff_id == staff_id)
    elif local_admin_id is not None:
        stmt = stmt.where(ConsoleSession.local_admin_id == local_admin_id)
    else:
        return 0
    if keep_token:
        stmt = stmt.where(ConsoleSession.token_sha256 != _digest(keep_token))
    result = session.execute(stmt.values(ended_at=utcnow(), ended_reason=reason))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def sign_out_everywhere(session: Session, actor: Actor, staff: Staff, keep_token: str | None = None) -> int:
    """End all console sessions of ``staff``: oneself, a system admin, or a unit admin of the person's unit
    (not of someone holding an equal or wider role). Returns how many ended."""
    is_self = actor.kind == "staff" and actor.id == staff.id
    if not is_self:
        actor.require(Role.UNIT_ADMIN, staff.unit, f"the sessions of {staff.email}")
        if holds_equal_or_wider(actor, staff):
            raise PermissionDenied(f"{actor.name} may not sign {staff.email} out: only a system admin can")
    ended = end_sessions_of(session, staff_id=staff.id, reason="signed_out_everywhere", keep_token=keep_token)
    changelog.record_of(session, actor, "staff.sign_out_everywhere", staff, after={"sessions_ended": ended})
    return ended
