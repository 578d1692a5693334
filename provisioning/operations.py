"""The verbs on units, staff and roles. Each takes the actor, checks it, flushes, records audit and intent.

Nothing here commits and nothing here talks to slapd: the boundary commits, then the directory jobs
recorded here are applied (see :mod:`provisioning.sync`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from provisioning import sync
from provisioning.models import (
    AccountKind,
    AccountStatus,
    LocalAdmin,
    MailAlias,
    Role,
    RoleGrant,
    Staff,
    Unit,
    UnitKind,
)
from provisioning.names import (
    InvalidNameError,
    clean_name,
    generate_local_part,
    split_name,
    unique_local_part,
    validate_local_part,
)

UNIT_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


class ProvisioningError(ValueError):
    """A change was refused; the message names the field or object."""


def _unit_snapshot(unit: Unit) -> dict[str, object]:
    return {
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "mail_domain": unit.mail_domain,
        "parent_id": unit.parent_id,
    }


def staff_snapshot(staff: Staff) -> dict[str, object]:
    return {
        "full_name": staff.full_name,
        "email": staff.email,
        "unit_id": staff.unit_id,
        "title": staff.title,
        "staff_number": staff.staff_number,
        "phone": staff.phone,
        "kind": staff.kind,
        "status": staff.status,
        "quota_mb": staff.quota_mb,
    }


def create_unit(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None,
    short_name: str = "",
    mail_domain: str | None = None,
) -> Unit:
    """Create a unit under ``parent`` (None only for the province root) and queue its directory entry."""
    if parent is None:
        if not actor.is_system_admin:
            raise PermissionDenied(f"{actor.name} may not create the province root")
        if session.scalar(select(exists().where(Unit.parent_id.is_(None)))):
            raise ProvisioningError("the province root unit exists already; choose a parent")
    else:
        actor.require(Role.UNIT_ADMIN, parent, f"unit {parent.name}")
    code = code.strip().upper()
    if not code or not set(code) <= UNIT_CODE_CHARS or len(code) > 40:
        raise ProvisioningError(f"unit code {code!r}: use 1–40 letters A–Z, digits or '-'")
    name = clean_name(name)
    if not name:
        raise ProvisioningError("unit name: must not be empty")
    if kind not in set(UnitKind):
        raise ProvisioningError(f"unit kind {kind!r}: must be one of {', '.join(UnitKind)}")
    unit = Unit(
        code=code,
        name=name,
        short_name=clean_name(short_name) if short_name else "",
        kind=kind,
        parent=parent,
        mail_domain=mail_domain.strip().lower() if mail_domain else None,
    )
    session.add(unit)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ProvisioningError(f"unit code {code!r} is taken") from None
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    sync.enqueue(session, "sync_unit", unit.id)
    changelog.record(
        session,
        actor,
        "unit.create",
        "unit",
        unit.id,
        target_label=unit.name,
        unit_id=unit.id,
        after=_unit_snapshot(unit),
    )
    return unit


@dataclass(frozen=True)
class StaffInput:
    full_name: str
    title: str = ""
    staff_number: str | None = None
    phone: str = ""
    kind: str = AccountKind.PERSONAL
    local_part: str | None = None
    quota_mb: int | None = None  # None: the installation's default quota


@dataclass(frozen=True)
class MailboxPolicy:
    """How this installation makes mailboxes; built once from settings, passed to the verbs that need it."""

    default_domain: str
    address_policy: str = "given_initials"
    default_quota_mb: int = 2048
    password_min_length: int = 10
    secret_key: str = field(default="", repr=False)


def address_in_use(session: Session, address: str) -> bool:
    """Taken as a primary address or an alias, by anyone, archived mailboxes included."""
    return bool(
        session.scalar(select(exists().where(Staff.email == address)))
        or session.scalar(select(exists().where(MailAlias.address == address)))
    )


def create_staff(
    session: Session,
    actor: Actor,
    unit: Unit,
    data: StaffInput,
    default_domain: str,
    policy: str = "given_initials",
    is_taken: Callable[[str], bool] | None = None,
    default_quota: int = 2048,
) -> Staff:
    """Create a member of staff with a mailbox address generated from the name under ``policy``.

    A local part given by the person is used as it is (refused if taken); a generated one is numbered
    on collision (annv, annv2…).
    """
    return create_staff_many(
        session, actor, [(unit, data)], default_domain, policy, is_taken=is_taken, default_quota=default_quota
    )[0]


def create_staff_many(
    session: Session,
    actor: Actor,
    items: Sequence[tuple[Unit, StaffInput]],
    default_domain: str,
    policy: str = "given_initials",
    *,
    is_taken: Callable[[str], bool] | None = None,
    default_quota: int = 2048,
) -> list[Staff]:
    """:func:`create_staff` for many people at once (a bulk import): the same checks, addresses, directory
    jobs and change-trail entries, flushed together. ``is_taken`` lets a bulk caller check addresses from
    memory; addresses given out earlier in the same call are never given again."""
    checked: set[int] = set()
    given: set[str] = set()
    taken_in_db = is_taken or (lambda address: address_in_use(session, address))

    def taken(address: str) -> bool:
        return address in given or taken_in_db(address)

    people: list[Staff] = []
    for unit, data in items:
        if unit.id not in checked:
            actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
            checked.add(unit.id)
        person = _new_staff(unit, data, default_domain, policy, taken, default_quota)
        given.add(person.email)
        people.append(person)
    session.add_all(people)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        if len(people) == 1:
            raise ProvisioningError(
                f"staff number {people[0].staff_number!r} or address {people[0].email!r} belongs to someone else"
            ) from None
        raise ProvisioningError("a staff number or address of this batch belongs to someone else") from None
    for person in people:
        sync.enqueue(session, "sync_staff", person.id)
    for unit_id in dict.fromkeys(p.unit_id for p in people):
        sync.enqueue(session, "sync_list", unit_id)
    changelog.record_many(
        session,
        actor,
        [("staff.create", "staff", p.id, p.email, p.unit_id, None, staff_snapshot(p)) for p in people],
    )
    return people


def _new_staff(
    unit: Unit,
    data: StaffInput,
    default_domain: str,
    policy: str,
    taken: Callable[[str], bool],
    default_quota: int,
) -> Staff:
    try:
        full_name = clean_name(data.full_name)
        parts = split_name(full_name)
        domain = unit.effective_mail_domain(default_domain)
        if data.local_part:
            local = validate_local_part(data.local_part)
            if taken(f"{local}@{domain}"):
                raise ProvisioningError(f"address {local}@{domain} is already in use")
            address = local
        else:
            local = generate_local_part(full_name, policy)
            address = unique_local_part(local, lambda lp: taken(f"{lp}@{domain}"))
    except InvalidNameError as exc:
        raise ProvisioningError(str(exc)) from None
    if data.kind not in set(AccountKind):
        raise ProvisioningError(f"account kind {data.kind!r}: must be one of {', '.join(AccountKind)}")
    quota = data.quota_mb or default_quota
    if not 1 <= quota <= 1_048_576:
        raise ProvisioningError(f"quota {quota}: between 1 and 1048576 MB")
    return Staff(
        unit=unit,
        unit_id=unit.id,
        full_name=full_name,
        family_name=parts.family,
        middle_name=parts.middle,
        given_name=parts.given,
        title=data.title.strip(),
        staff_number=data.staff_number.strip() if data.staff_number else None,
        phone=data.phone.strip(),
        kind=data.kind,
        email=f"{address}@{domain}",
        status=AccountStatus.ACTIVE,
        quota_mb=quota,
    )


def grant_role(session: Session, actor: Actor, staff: Staff, role: str, unit: Unit | None) -> RoleGrant:
    """Give ``staff`` a role, limited to ``unit``'s subtree when given. Only a system admin grants roles."""
    if not actor.is_system_admin:
        raise PermissionDenied(f"{actor.name} may not grant roles")
    if role not in set(Role):
        raise ProvisioningError(f"role {role!r}: must be one of {', '.join(Role)}")
    if role == Role.UNIT_ADMIN and unit is None:
        raise ProvisioningError("role unit_admin: choose the unit it administers")
    grant = RoleGrant(staff=staff, role=role, unit=unit)
    session.add(grant)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ProvisioningError(f"{staff.email} already has role {role}") from None
    changelog.record(
        session,
        actor,
        "role.grant",
        "staff",
        staff.id,
        target_label=staff.email,
        unit_id=unit.id if unit else None,
        after={"role": role, "unit_id": unit.id if unit else None},
    )
    return grant


def create_local_admin(session: Session, actor: Actor, username: str, password: str) -> LocalAdmin:
    """The break-glass account: argon2-hashed password kept in the database, not the directory."""
    if not actor.is_system_admin:
        raise PermissionDenied(f"{actor.name} may not create administrators")
    username = username.strip()
    if not username or len(username) > 64 or "@" in username:
        raise ProvisioningError(f"username {username!r}: 1–64 characters, without '@'")
    if len(password) < 12:
        raise ProvisioningError("password: at least 12 characters for the break-glass admin")
    admin = LocalAdmin(username=username, password_hash=PasswordHasher().hash(password))
    session.add(admin)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ProvisioningError(f"username {username!r} is taken") from None
    changelog.record(session, actor, "local_admin.create", "local_admin", admin.id, target_label=username)
    return admin
