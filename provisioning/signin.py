"""Sign-in: staff by an LDAP bind as themselves, the break-glass admin by argon2; throttling; API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import changelog
from core.actors import SYSTEM, Actor
from core.db import utcnow
from core.validation import text_problem
from provisioning.actors import actor_for_local_admin, actor_for_staff
from provisioning.aliases import live_alias_owner
from provisioning.directory import Directory
from provisioning.models import AccountStatus, ApiToken, LocalAdmin, SignInThrottle, Staff

# Compared against when a local admin's name is unknown, so it costs the same time as a wrong password.
_DUMMY_HASH = PasswordHasher().hash("congvu-unknown-user")
# A directory entry whose password nobody knows: an unknown or disabled address binds to it, so slapd does the
# same argon2 work as for a known address and the answer takes the same time.
DECOY_RDN = "cn=congvu-sign-in-decoy,ou=services"
_DECOYS_READY: set[str] = set()


class SignInError(Exception):
    """Sign-in refused. ``reason`` is 'invalid', 'locked' (this client for this name) or 'client_locked' (this
    client for every name); the message never says which part was wrong."""

    def __init__(self, reason: str, locked_until: dt.datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures are counted per sign-in name and client address: ``max_failures`` in a row lock that client
    out of that name for ``lockout``; ``client_max_names`` names failing from one address within
    ``client_window`` refuse the address whatever it sends until the window has passed."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    client_max_names: int = 20
    client_window: dt.timedelta = dt.timedelta(minutes=15)


def normal_login(login: str) -> str:
    return login.strip().lower()[:254]


def _throttle_key(session: Session, login: str) -> str:
    """The name failures are counted under: a live alias counts as its mailbox's address, so signing in
    with an old address is no way around the lockout of the mailbox (nor a way to lock it out twice)."""
    login = normal_login(login)
    if "@" in login:
        owner = live_alias_owner(session, login)
        if owner is not None:
            return owner.email
    return login


def _row(session: Session, login: str, client: str) -> SignInThrottle | None:
    return session.scalar(
        select(SignInThrottle)
        .where(SignInThrottle.login == login, SignInThrottle.client_address == client)
        .with_for_update()
    )


def check_allowed(
    session: Session, login: str, client_address: str, policy: ThrottlePolicy, now: dt.datetime | None = None
) -> None:
    """Raise :class:`SignInError` if this client is locked out of this name, or refused altogether."""
    now = now or utcnow()
    login, client = _throttle_key(session, login), client_address[:64]
    since = now - policy.client_window
    recent = list(
        session.scalars(
            select(SignInThrottle.last_failure_at)
            .where(SignInThrottle.client_address == client, SignInThrottle.last_failure_at > since)
            .order_by(SignInThrottle.last_failure_at)
        )
    )
    if len(recent) >= policy.client_max_names:
        # Refused until enough of those names fall out of the window.
        until = recent[len(recent) - policy.client_max_names] + policy.client_window  # type: ignore[operator]
        raise SignInError("client_locked", until)
    row = _row(session, login, client)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise SignInError("locked", row.locked_until)


def record_failure(
    session: Session, login: str, client_address: str, policy: ThrottlePolicy, now: dt.datetime | None = None
) -> None:
    """Count one failure (a wrong password or a wrong second-factor code) for this name from this client."""
    now = now or utcnow()
    login, client = _throttle_key(session, login), client_address[:64]
    row = _row(session, login, client)
    if row is None:
        row = SignInThrottle(login=login, client_address=client, failures=0)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # another worker counted the first failure at the same moment
            row = _row(session, login, client)
            assert row is not None
    if row.locked_until is not None and row.locked_until <= now:
        row.failures, row.locked_until = 0, None
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= policy.max_failures:
        row.locked_until = now + policy.lockout
        changelog.record(
            session,
            SYSTEM.with_address(client),
            "signin.lock",
            "login",
            login,
            target_label=login,
            after={"locked_until": row.locked_until, "client_address": client},
        )
    # Old counters say nothing any more; keep the table small.
    horizon = now - max(policy.lockout, policy.client_window) * 4
    session.execute(delete(SignInThrottle).where(SignInThrottle.last_failure_at < horizon))
    session.flush()


def record_success(session: Session, login: str, client_address: str) -> None:
    """A complete sign-in (password and, where needed, second factor) ends the run of failures."""
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.login == _throttle_key(session, login),
            SignInThrottle.client_address == client_address[:64],
        )
    )


def _decoy_dn(directory: Directory) -> str:
    """The decoy entry, created on first use with a random password slapd hashes itself (argon2)."""
    dn = f"{DECOY_RDN},{directory.config.base_dn}"
    if dn not in _DECOYS_READY:
        if directory.read(dn, ["cn"]) is None:
            directory.upsert(
                dn,
                ["top", "organizationalRole", "simpleSecurityObject"],
                {"cn": ["congvu-sign-in-decoy"], "userPassword": [secrets.token_urlsafe(32)]},
            )
            directory.set_password(dn, secrets.token_urlsafe(32))
        _DECOYS_READY.add(dn)
    return dn


def _check_staff(session: Session, directory: Directory | None, login: str, password: str) -> Staff | None:
    if directory is None:
        return None
    # An old address kept as a live alias signs in as its mailbox (slapd checks the mailbox's password).
    staff = session.scalar(select(Staff).where(Staff.email == login)) or live_alias_owner(session, login)
    if staff is not None and staff.status == AccountStatus.ACTIVE:
        return staff if directory.check_password(staff.email, password) else None
    # Unknown or disabled: the same search and an argon2 bind, so the answer takes as long as a wrong password.
    directory.find_by_mail(login)
    directory.check_dn_password(_decoy_dn(directory), password or "x")
    return None


def authenticate(
    session: Session,
    directory: Directory | None,
    login: str,
    password: str,
    policy: ThrottlePolicy,
    client_address: str = "",
    now: dt.datetime | None = None,
) -> Actor:
    """Check a name and password and return the actor. Raises :class:`SignInError`.

    A refused password counts as a failure of this name from this client (see :class:`ThrottlePolicy`). A
    success does not end the run of failures by itself: the caller calls :func:`record_success` once the
    sign-in is complete (after the second factor, where one is needed).
    """
    now = now or utcnow()
    login = normal_login(login)
    if text_problem(login) or text_problem(password):
        raise SignInError("invalid")  # no name has a control character; no database would store one
    check_allowed(session, login, client_address, policy, now)
    password = password[:512]
    actor: Actor | None = None
    if "@" in login:
        staff = _check_staff(session, directory, login, password)
        if staff is not None:
            actor = actor_for_staff(staff, client_address)
    else:
        admin = session.scalar(select(LocalAdmin).where(LocalAdmin.username == login))
        try:
            PasswordHasher().verify(admin.password_hash if admin else _DUMMY_HASH, password)
            if admin is not None:
                actor = actor_for_local_admin(admin, client_address)
        except (VerifyMismatchError, InvalidHashError):
            pass
    if actor is None:
        record_failure(session, login, client_address, policy, now)
        raise SignInError("invalid")
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
