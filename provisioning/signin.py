"""Sign-in: staff by an LDAP bind as themselves, the break-glass admin by argon2; throttling; API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import SYSTEM, Actor
from core.db import utcnow
from provisioning.actors import actor_for_local_admin, actor_for_staff
from provisioning.directory import Directory
from provisioning.models import AccountStatus, ApiToken, LocalAdmin, SignInThrottle, Staff

# Compared against when the name is unknown, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = PasswordHasher().hash("congvu-unknown-user")


class SignInError(Exception):
    """Sign-in refused. ``reason`` is 'invalid' or 'locked'; the message never says which part was wrong."""

    def __init__(self, reason: str, locked_until: dt.datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)


def _throttle_row(session: Session, login: str) -> SignInThrottle:
    row = session.get(SignInThrottle, login, with_for_update=True)
    if row is None:
        row = SignInThrottle(login=login, failures=0)
        session.add(row)
        session.flush()
    return row


def authenticate(
    session: Session,
    directory: Directory | None,
    login: str,
    password: str,
    policy: ThrottlePolicy,
    client_address: str = "",
    now: dt.datetime | None = None,
) -> Actor:
    """Check a sign-in and return the actor. Raises :class:`SignInError`.

    Failures in a row are counted per sign-in name in the database; after ``max_failures`` the name is
    locked for ``lockout`` and even a correct password is refused until then.
    """
    now = now or utcnow()
    login = login.strip().lower()
    row = _throttle_row(session, login)
    if row.locked_until is not None and row.locked_until > now:
        raise SignInError("locked", row.locked_until)

    actor: Actor | None = None
    if "@" in login:
        staff = session.scalar(select(Staff).where(Staff.email == login))
        is_usable = staff is not None and staff.status == AccountStatus.ACTIVE and directory is not None
        if is_usable and directory.check_password(staff.email, password):  # type: ignore[union-attr]
            actor = actor_for_staff(staff, client_address)  # type: ignore[arg-type]
    else:
        admin = session.scalar(select(LocalAdmin).where(LocalAdmin.username == login))
        try:
            PasswordHasher().verify(admin.password_hash if admin else _DUMMY_HASH, password)
            if admin is not None:
                actor = actor_for_local_admin(admin, client_address)
        except (VerifyMismatchError, InvalidHashError):
            pass

    if actor is None:
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= policy.max_failures:
            row.locked_until = now + policy.lockout
            row.failures = 0
            changelog.record(
                session,
                SYSTEM.with_address(client_address),
                "signin.lock",
                "login",
                login,
                target_label=login,
                after={"locked_until": row.locked_until},
            )
        session.flush()
        raise SignInError("invalid")
    row.failures = 0
    row.locked_until = None
    session.flush()
    return actor


def resolve_principal(session: Session, principal: str, client_address: str = "") -> Actor | None:
    """Turn a stored principal ('staff:12', 'local:1') back into an actor, or None if gone or disabled."""
    kind, _, raw_id = principal.partition(":")
    if not raw_id.isdigit():
        return None
    if kind == "staff":
        staff = session.get(Staff, int(raw_id))
        if staff is None or staff.status != AccountStatus.ACTIVE:
            return None
        return actor_for_staff(staff, client_address)
    if kind == "local":
        admin = session.get(LocalAdmin, int(raw_id))
        return actor_for_local_admin(admin, client_address) if admin else None
    return None


def principal_of(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, actor: Actor, owner: Actor, label: str, lifetime: dt.timedelta | None = None
) -> tuple[ApiToken, str]:
    """Issue a bearer token to ``owner`` (oneself, or anyone for a system admin). The secret is shown once."""
    if owner.label != actor.label and not actor.is_system_admin:
        raise PermissionError(f"{actor.name} may not issue tokens for {owner.name}")
    secret = "cv_" + secrets.token_urlsafe(32)
    token = ApiToken(
        token_sha256=_digest(secret),
        label=label.strip()[:100],
        staff_id=owner.id if owner.kind == "staff" else None,
        local_admin_id=owner.id if owner.kind == "local" else None,
        expires_at=utcnow() + lifetime if lifetime else None,
    )
    session.add(token)
    session.flush()
    changelog.record(
        session, actor, "api_token.issue", "api_token", token.id, target_label=f"{owner.name}: {token.label}"
    )
    return token, secret


def actor_for_token(session: Session, secret: str, client_address: str = "") -> Actor | None:
    """The actor a bearer token speaks for, or None if unknown, expired, revoked or its owner is disabled."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    principal = f"staff:{token.staff_id}" if token.staff_id is not None else f"local:{token.local_admin_id}"
    return resolve_principal(session, principal, client_address)


def new_secret(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)
