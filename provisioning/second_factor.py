"""The second factor: TOTP (RFC 6238, 30-second steps, 6 digits; any authenticator app) with one-time recovery
codes, for staff and the break-glass admin alike. The secret is stored encrypted with a key derived from the
instance secret; a code is accepted once (its time step is remembered), a recovery code once."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from core.db import utcnow
from provisioning.auth_models import RecoveryCode, SecondFactor
from provisioning.errors import ProvisioningError
from provisioning.models import LocalAdmin, Staff
from provisioning.sessions import end_sessions_of

RECOVERY_CODES = 10
STEP_SECONDS = 30


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"congvu second factor\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _owner_filter(owner: Actor) -> object:
    if owner.kind == "staff":
        return SecondFactor.staff_id == owner.id
    if owner.kind == "local":
        return SecondFactor.local_admin_id == owner.id
    raise ProvisioningError(f"{owner.name}: only people and the local admin have a second factor")


def factor_of(session: Session, owner: Actor) -> SecondFactor | None:
    """The owner's second factor, confirmed or still being enrolled."""
    return session.scalar(select(SecondFactor).where(_owner_filter(owner)))  # type: ignore[arg-type]


def has_second_factor(session: Session, owner: Actor) -> bool:
    factor = factor_of(session, owner) if owner.kind in ("staff", "local") else None
    return factor is not None and factor.confirmed_at is not None


def new_secret() -> str:
    """A fresh TOTP secret (base32) for the owner to scan; it is stored only once a code confirms it."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def _secret(factor: SecondFactor, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(factor.secret_encrypted.encode()).decode()
    except InvalidToken:
        raise ProvisioningError("the second factor cannot be read with this instance's secret key") from None


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code this is (the current one or one either side, for clock drift), or None."""
    totp = pyotp.TOTP(secret)
    step = int(now // STEP_SECONDS)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * STEP_SECONDS), code):
            return candidate
    return None


def _normal(code: str) -> str:
    return "".join(ch for ch in code if ch.isalnum()).lower()[:20]


def enrol(session: Session, owner: Actor, secret: str, code: str, secret_key: str) -> list[str]:
    """Keep ``secret`` as the owner's second factor once a code from the app proves they have it; returns
    the recovery codes (shown once). Refused if they have one already (a system admin can reset it)."""
    if has_second_factor(session, owner):
        raise ProvisioningError(f"{owner.name} has a second factor already; a system admin can reset it")
    step = _matching_step(secret, _normal(code), time.time())
    if step is None:
        raise ProvisioningError("code: wrong code; check the time on the phone and try again")
    factor = factor_of(session, owner)
    if factor is None:
        factor = SecondFactor(
            staff_id=owner.id if owner.kind == "staff" else None,
            local_admin_id=owner.id if owner.kind == "local" else None,
            secret_encrypted="",
        )
        session.add(factor)
    factor.secret_encrypted = _fernet(secret_key).encrypt(secret.encode()).decode()
    factor.confirmed_at = utcnow()
    factor.last_step = step
    session.flush()
    codes = _new_recovery_codes(session, factor)
    changelog.record(session, owner, "second_factor.enrol", *_target(session, owner), target_label=owner.name)
    return codes


def _new_recovery_codes(session: Session, factor: SecondFactor) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.factor_id == factor.id)):
        session.delete(old)
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    session.add_all(
        RecoveryCode(factor_id=factor.id, code_sha256=hashlib.sha256(_normal(c).encode()).hexdigest()) for c in codes
    )
    session.flush()
    return codes


def verify_code(session: Session, owner: Actor, code: str, secret_key: str, now: float | None = None) -> bool:
    """A current TOTP code not used before, or an unused recovery code (then used up)."""
    factor = factor_of(session, owner)
    if factor is None or factor.confirmed_at is None:
        return False
    text = _normal(code)
    if text.isdigit() and len(text) == 6:
        step = _matching_step(_secret(factor, secret_key), text, time.time() if now is None else now)
        if step is None or step <= factor.last_step:
            return False
        factor.last_step = step
        session.flush()
        return True
    digest = hashlib.sha256(text.encode()).hexdigest()
    recovery = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.factor_id == factor.id, RecoveryCode.code_sha256 == digest, RecoveryCode.used_at.is_(None)
        )
    )
    if recovery is None:
        return False
    recovery.used_at = utcnow()
    session.flush()
    changelog.record(
        session, owner, "second_factor.recovery_code_used", *_target(session, owner), target_label=owner.name
    )
    return True


def remaining_recovery_codes(session: Session, owner: Actor) -> int:
    factor = factor_of(session, owner)
    if factor is None:
        return 0
    return len(
        session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.factor_id == factor.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def _target(session: Session, owner: Actor) -> tuple[str, object]:
    return ("staff", owner.id) if owner.kind == "staff" else ("local_admin", owner.id)


def reset_second_factor(session: Session, actor: Actor, owner: Actor) -> bool:
    """A system admin removes someone's second factor (a lost phone): they enrol again at their next
    sign-in, and their console sessions end. Returns False if they had none."""
    if not actor.is_system_admin:
        raise PermissionDenied(f"{actor.name} may not reset the second factor of {owner.name}")
    factor = factor_of(session, owner)
    if factor is None:
        return False
    session.delete(factor)
    session.flush()
    unit_id = None
    if owner.kind == "staff":
        person = session.get(Staff, owner.id)
        unit_id = person.unit_id if person else None
        end_sessions_of(session, staff_id=owner.id, reason="second_factor_reset")
    elif session.get(LocalAdmin, owner.id) is not None:
        end_sessions_of(session, local_admin_id=owner.id, reason="second_factor_reset")
    changelog.record(
        session,
        actor,
        "second_factor.reset",
        *_target(session, owner),
        target_label=owner.name,
        unit_id=unit_id,
        before={"confirmed_at": factor.confirmed_at},
    )
    return True
