"""People and units: the organisation tree, staff with their mailboxes, roles, API tokens."""

from __future__ import annotations

import datetime as dt
import enum
from typing import ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, synonym

from core.boundary import Intent
from core.db import Base, utcnow

# Sign-in state (throttle, console sessions, second factors) lives beside these models; importing this module
# registers them too.
from provisioning.auth_models import ConsoleSession, RecoveryCode, SecondFactor, SignInThrottle
from provisioning.history_models import Reorganisation, StaffPlacement, UnitSuccession, UnitVersion
from provisioning.names import search_key_of, staff_sort_key

__all__ = [
    "ConsoleSession",
    "RecoveryCode",
    "Reorganisation",
    "SecondFactor",
    "SignInThrottle",
    "StaffPlacement",
    "UnitSuccession",
    "UnitVersion",
]


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    OFFICE = "office"
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"


class AccountKind(enum.StrEnum):
    PERSONAL = "personal"
    FUNCTIONAL = "functional"
    SERVICE = "service"
    TEST = "test"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    ARCHIVED = "archived"


class Role(enum.StrEnum):
    SYSTEM_ADMIN = "system_admin"
    UNIT_ADMIN = "unit_admin"
    SECRETARY = "secretary"
    AUDITOR = "auditor"


def _values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{m.value}'" for m in enum_cls)


class Unit(Base):
    """A node of the government tree (đơn vị): the province, its office, departments, districts, communes."""

    __tablename__ = "units"
    __table_args__ = (CheckConstraint(f"kind IN ({_values(UnitKind)})", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(20))
    mail_domain: Mapped[str | None] = mapped_column(String(200))
    # Materialised path of ids ("/1/4/9/"): subtree checks and queries are a prefix match.
    path: Mapped[str] = mapped_column(String(400), default="/", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Where the sync worker last wrote this unit; lets a move or rename find the old entry.
    directory_dn: Mapped[str | None] = mapped_column(String(1000))
    # A unit a reorganisation created starts on its effective date; one it merged away or dissolved ends on
    # it. An ended unit stays (reports of earlier months show it) but is not part of today's tree.
    started_on: Mapped[dt.date | None] = mapped_column()
    ended_on: Mapped[dt.date | None] = mapped_column(index=True)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    staff: Mapped[list[Staff]] = relationship(back_populates="unit")

    # How the change trail names a unit (core.changelog.record_of): by its name, seen by its own admins.
    audit_kind: ClassVar[str] = "unit"
    audit_label: Mapped[str] = synonym("name")
    audit_unit_id: Mapped[int] = synonym("id")

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.code!r} {self.name!r}>"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def is_within(self, other: Unit) -> bool:
        """True if this unit is ``other`` or lies in its subtree."""
        return self.path.startswith(other.path)

    def effective_mail_domain(self, default: str) -> str:
        unit: Unit | None = self
        while unit is not None:
            if unit.mail_domain:
                return unit.mail_domain
            unit = unit.parent
        return default

    def ancestors(self) -> list[Unit]:
        chain: list[Unit] = []
        unit = self.parent
        while unit is not None:
            chain.append(unit)
            unit = unit.parent
        return chain[::-1]


_SEARCHED = ("search_key", "full_name", "email", "staff_number")


class Staff(Base):
    """A member of staff and their official mailbox (one mailbox per record; functional mailboxes too)."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(AccountKind)})", name="kind"),
        CheckConstraint(f"status IN ({_values(AccountStatus)})", name="status"),
        CheckConstraint("quota_mb > 0", name="quota_positive"),
        # The staff list's order: a page is read off the index instead of sorting every mailbox for it.
        Index("ix_staff_full_name", "full_name", "id"),
        # The staff list's search (LIKE '% word%' on the key, '%…%' on the rest) from trigrams, on PostgreSQL
        # only (migrations 0017, 0018).
        Index(
            "ix_staff_search_trgm",
            *_SEARCHED,
            postgresql_using="gin",
            postgresql_ops=dict.fromkeys(_SEARCHED, "gin_trgm_ops"),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200), default="")
    middle_name: Mapped[str] = mapped_column(String(200), default="")
    given_name: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    staff_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(20), default=AccountKind.PERSONAL)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=AccountStatus.ACTIVE, index=True)
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    quota_mb: Mapped[int] = mapped_column(default=2048)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column()
    # Set once the directory entry has been removed after the archive retention.
    removed_from_directory_at: Mapped[dt.datetime | None] = mapped_column()
    directory_dn: Mapped[str | None] = mapped_column(String(1000))
    # " nguyen van an annv@gialai.gov.vn": the name folded to ASCII word by word, then the address; kept by
    # provisioning.people on every insert and update, so "nguyen van an" finds "Nguyễn Văn An".
    search_key: Mapped[str] = mapped_column(String(700), default="", server_default="")
    # Vietnamese alphabetical order by given name, then family and middle name (provisioning.names); compared
    # bytewise, as its characters are chosen to sort.
    sort_key: Mapped[str] = mapped_column(String(600), default="", server_default="", index=True)

    unit: Mapped[Unit] = relationship(back_populates="staff")
    roles: Mapped[list[RoleGrant]] = relationship(back_populates="staff", cascade="all, delete-orphan")
    aliases: Mapped[list[MailAlias]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", order_by="MailAlias.address"
    )

    # How the change trail names a person (core.changelog.record_of): by address, in their unit.
    audit_kind: ClassVar[str] = "staff"
    audit_label: Mapped[str] = synonym("email")
    audit_unit_id: Mapped[int] = synonym("unit_id")

    def __repr__(self) -> str:
        return f"<Staff {self.id} {self.email!r}>"

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.ACTIVE


class StaffStatusChange(Base):
    """When a mailbox's status changed: the usage report counts mailboxes enabled at any time in a month."""

    __tablename__ = "staff_status_changes"
    __table_args__ = (Index("ix_staff_status_changes_staff_at", "staff_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<StaffStatusChange staff={self.staff_id} {self.status} {self.changed_at}>"


class MailAlias(Base):
    """Another address delivered to a mailbox: chosen, or kept after a domain change. Never reissued."""

    __tablename__ = "mail_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # An address a reorganisation replaced is kept until then (CONGVU_REORG_ALIAS_DAYS); None: for good.
    expires_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    # Set when the expiry job took it out of the directory. The row stays: the address is never reissued, and
    # old log lines under it still count for this mailbox.
    removed_at: Mapped[dt.datetime | None] = mapped_column()

    staff: Mapped[Staff] = relationship(back_populates="aliases")

    def __repr__(self) -> str:
        return f"<MailAlias {self.address!r} → {self.staff_id}>"


class ImportBatch(Base):
    """One uploaded staff list: its preview, then (all or nothing) its application. Progress for the bar."""

    __tablename__ = "import_batches"
    __table_args__ = (
        CheckConstraint(
            "status IN ('uploaded', 'previewing', 'previewed', 'applying', 'applied', 'failed')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    filename: Mapped[str] = mapped_column(String(300))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    actor: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="uploaded")
    total_rows: Mapped[int] = mapped_column(default=0)
    done_rows: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
    # The background task now previewing or applying the file (its progress and failure live there).
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))

    unit: Mapped[Unit] = relationship()

    # How the change trail names an upload (core.changelog.record_of): by its file name, in its unit.
    audit_kind: ClassVar[str] = "import_batch"
    audit_label: Mapped[str] = synonym("filename")
    audit_unit_id: Mapped[int] = synonym("unit_id")

    def __repr__(self) -> str:
        return f"<ImportBatch {self.id} {self.filename!r} {self.status}>"


class RoleGrant(Base):
    """A role held by a member of staff, optionally limited to one unit's subtree."""

    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("staff_id", "role", "unit_id"),
        CheckConstraint(f"role IN ({_values(Role)})", name="role"),
        # A unit IT admin without a unit would be a system admin by accident.
        CheckConstraint("role != 'unit_admin' OR unit_id IS NOT NULL", name="unit_admin_has_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    staff: Mapped[Staff] = relationship(back_populates="roles")
    unit: Mapped[Unit | None] = relationship()

    def __repr__(self) -> str:
        return f"<RoleGrant {self.role} staff={self.staff_id} unit={self.unit_id}>"


class LocalAdmin(Base):
    """The break-glass administrator who can sign in when the directory is down. Argon2 hash."""

    __tablename__ = "local_admins"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<LocalAdmin {self.username!r}>"


class ApiToken(Base):
    """A bearer token for /api/v1, issued to a principal and scoped like them. Only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("(staff_id IS NULL) != (local_admin_id IS NULL)", name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    local_admin_id: Mapped[int | None] = mapped_column(ForeignKey("local_admins.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.label!r}>"


class DirectoryJobStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class DirectoryJob(Base, Intent):
    """A recorded intent to bring one directory object in line with the database.

    Written in the same transaction as the change; applied after the commit by the sync worker. The job
    names an object, not a diff, so applying it twice converges on the same entry.
    """

    __tablename__ = "directory_jobs"
    intent_kind = "directory"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(DirectoryJobStatus)})", name="status"),
        Index("ix_directory_jobs_pending", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(40))  # sync_unit | sync_staff | delete_dn
    object_id: Mapped[int | None] = mapped_column()
    payload: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=DirectoryJobStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<DirectoryJob {self.id} {self.action} {self.object_id} {self.status}>"


@event.listens_for(Staff, "before_insert")
def _make_search_key(_mapper: object, _connection: object, staff: Staff) -> None:
    staff.search_key = search_key_of(staff.full_name or "", staff.email or "")
    staff.sort_key = staff_sort_key(staff.given_name or "", staff.family_name or "", staff.middle_name or "")


_SEARCHED = ("full_name", "email")
_SORTED = ("given_name", "family_name", "middle_name")


@event.listens_for(Staff, "before_update")
def _keep_search_key(_mapper: object, _connection: object, staff: Staff) -> None:
    # Only when what the keys are made of changed: a move or a directory write leaves them as they are.
    changed = inspect(staff).committed_state  # the attributes set since the load, with their values then
    if not changed:
        return
    if any(name in changed for name in _SEARCHED):
        staff.search_key = search_key_of(staff.full_name or "", staff.email or "")
    if any(name in changed for name in _SORTED):
        staff.sort_key = staff_sort_key(staff.given_name or "", staff.family_name or "", staff.middle_name or "")


def subtree_unit_ids(session: Session, unit: Unit) -> list[int]:
    return list(session.scalars(select(Unit.id).where(Unit.path.startswith(unit.path))))
