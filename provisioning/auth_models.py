"""Sign-in state kept in the database, so every web worker shares it: failures per name and client address,
console sessions (a revocable id in the signed cookie) and second factors (TOTP with recovery codes)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

# Exactly one owner: a member of staff or the break-glass admin.
ONE_OWNER = "(staff_id IS NULL) != (local_admin_id IS NULL)"


class SignInThrottle(Base):
    """Failures in a row for one sign-in name from one client address. The client is locked out of that name,
    the owner signing in from elsewhere is not; many names failing from one address refuse the address."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (
        UniqueConstraint("login", "client_address"),
        Index("ix_sign_in_throttle_client_failure", "client_address", "last_failure_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(254))
    client_address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<SignInThrottle {self.login!r} from {self.client_address!r} failures={self.failures}>"


class ConsoleSession(Base):
    """One signed-in console session. The cookie carries a random id; only its SHA-256 is kept here, so
    signing out, a password change, a disabled mailbox or "sign out everywhere" ends it at once."""

    __tablename__ = "console_sessions"
    __table_args__ = (
        CheckConstraint(ONE_OWNER, name="one_owner"),
        Index("ix_console_sessions_staff", "staff_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    local_admin_id: Mapped[int | None] = mapped_column(ForeignKey("local_admins.id", ondelete="CASCADE"))
    client_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    ended_reason: Mapped[str] = mapped_column(String(40), default="")

    def __repr__(self) -> str:
        return f"<ConsoleSession {self.id} staff={self.staff_id} local={self.local_admin_id}>"


class SecondFactor(Base):
    """A TOTP secret (RFC 6238), encrypted with a key derived from the instance secret. It counts once the
    owner has confirmed it with a code; ``last_step`` refuses a code used a second time."""

    __tablename__ = "second_factors"
    __table_args__ = (CheckConstraint(ONE_OWNER, name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), unique=True)
    local_admin_id: Mapped[int | None] = mapped_column(ForeignKey("local_admins.id", ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column()
    last_step: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<SecondFactor {self.id} staff={self.staff_id} local={self.local_admin_id}>"


class RecoveryCode(Base):
    """A one-time recovery code of a second factor; only its SHA-256 is kept, and it works once."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    factor_id: Mapped[int] = mapped_column(ForeignKey("second_factors.id", ondelete="CASCADE"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} factor={self.factor_id} used={self.used_at is not None}>"
