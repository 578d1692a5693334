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
from core.validation import clean_text
from provisioning import sync
from provisioning.addresses import AddressRules, check_address, check_unit_domain
from provisioning.errors import ProvisioningError, flush_or_refuse
from provisioning.models import (
    AccountKind,
    AccountStatus,
    LocalAdmin,
    MailAlias,
    Role,
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
from provisioning.roles import grant_role  # noqa: F401  (its home is provisioning.roles; callers import it here too)

UNIT_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


# What the change trail keeps of a unit and of a person, in the order the audit page shows them.
UNIT_TRAIL_FIELDS = ("code", "name", "short_name", "kind", "mail_domain", "parent_id")
STAFF_TRAIL_FIELDS = (
    "full_name", "email", "unit_id", "title", "staff_number", "phone", "kind", "status", "quota_mb",
)  # fmt: skip


def _unit_snapshot(unit: Unit) -> dict[str, object]:
    return {name: getattr(unit, name) for name in UNIT_TRAIL_FIELDS}


def staff_snapshot(staff: Staff) -> dict[str, object]:
    return {name: getattr(staff, name) for name in STAFF_TRAIL_FIELDS}


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
    rules: AddressRules | None = None,
) -> Unit:
    """Create a unit under ``parent`` (None only for the province root) and queue its directory entry.
    A mail domain must be a DNS name and, for a unit admin, one of their subtree's (see ``addresses``)."""
    if parent is None:
        if not actor.is_system_admin:
            raise PermissionDenied(f"{actor.name} may not create the province root")
        if session.scalar(select(exists().where(Unit.parent_id.is_(None)))):
            raise ProvisioningError("the province root unit exists already; choose a parent")
    else:
        actor.require(Role.UNIT_ADMIN, parent, f"unit {parent.name}")
    code = code.strip().upper()
    if not code or not set(code) <= UNIT_CODE_CHARS or len(code) > 40:
        raise ProvisioningError(f"unit code {code[:50]!r}: use 1–40 letters A–Z, digits or '-'")
    name = unit_name(name, "unit name", 200)
    if kind not in set(UnitKind):
        raise ProvisioningError(f"unit kind {kind[:40]!r}: must be one of {', '.join(UnitKind)}")
    domain = check_unit_domain(session, actor, mail_domain, rules or AddressRules()) if mail_domain else None
    unit = Unit(
        code=code,
        name=name,
        short_name=unit_name(short_name, "short name", 100, required=False) if short_name else "",
        kind=kind,
        parent=parent,
        mail_domain=domain,
    )
    session.add(unit)
    flush_or_refuse(session, f"unit code {code!r} is taken")
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    sync.enqueue(session, "sync_unit", unit.id)
    changelog.record_of(session, actor, "unit.create", unit, after=_unit_snapshot(unit))
    return unit


def unit_name(value: str, field: str, max_length: int, *, required: bool = True) -> str:
    """A unit's (short) name, cleaned like a person's name and bounded, naming the field if refused."""
    text = clean_text(value, field, max_length=max_length * 2, required=required, error=ProvisioningError)
    try:
        cleaned = clean_name(text)
    except InvalidNameError:
        cleaned = ""
    if required and not cleaned:
        raise ProvisioningError(f"{field}: must not be empty")
    if len(cleaned) > max_length:
        raise ProvisioningError(f"{field}: at most {max_length} characters (got {len(cleaned)})")
    return cleaned


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
    rules: AddressRules = field(default_factory=AddressRules)


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
    rules: AddressRules | None = None,
) -> Staff:
    """Create a member of staff with a mailbox address generated from the name under ``policy``.

    A local part given by the person is used as it is (refused if taken); a generated one is numbered
    on collision (annv, annv2…).
    """
    return create_staff_many(
        session,
        actor,
        [(unit, data)],
        default_domain,
        policy,
        is_taken=is_taken,
        default_quota=default_quota,
        rules=rules,
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
    rules: AddressRules | None = None,
) -> list[Staff]:
    """:func:`create_staff` for many people at once (a bulk import): the same checks, addresses, directory
    jobs and change-trail entries, flushed together. ``is_taken`` lets a bulk caller check addresses from
    memory; addresses given out earlier in the same call are never given again. Reserved local parts are
    never generated, and refused when chosen unless the actor is a system admin."""
    checked: set[int] = set()
    given: set[str] = set()
    taken_in_db = is_taken or (lambda address: address_in_use(session, address))
    rules = rules or AddressRules(default_domain=default_domain)

    def taken(address: str) -> bool:
        return address in given or taken_in_db(address)

    def check_chosen(address: str) -> None:
        check_address(session, actor, address, rules)

    people: list[Staff] = []
    for unit, data in items:
        if unit.id not in checked:
            actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
            checked.add(unit.id)
        person = _new_staff(unit, data, default_domain, policy, taken, default_quota, check_chosen, rules)
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
    units = dict.fromkeys(p.unit_id for p in people)
    sync.enqueue_many(session, [("sync_staff", p.id) for p in people] + [("sync_list", u) for u in units])
    changelog.record_many(
        session, actor, [changelog.item_of("staff.create", p, after=staff_snapshot(p)) for p in people]
    )
    return people


def _new_staff(
    unit: Unit,
    data: StaffInput,
    default_domain: str,
    policy: str,
    taken: Callable[[str], bool],
    default_quota: int,
    check_chosen: Callable[[str], None],
    rules: AddressRules,
) -> Staff:
    raw_name = clean_text(data.full_name, "full name", max_length=200, required=True, error=ProvisioningError)
    title = clean_text(data.title, "title", max_length=200, error=ProvisioningError)
    phone = clean_text(data.phone, "phone", max_length=40, error=ProvisioningError)
    number = clean_text(data.staff_number, "staff number", max_length=40, error=ProvisioningError) or None
    try:
        full_name = clean_name(raw_name)
        parts = split_name(full_name)
        domain = unit.effective_mail_domain(default_domain)
        if data.local_part:
            local = validate_local_part(clean_text(data.local_part, "address", max_length=64, error=ProvisioningError))
            check_chosen(f"{local}@{domain}")
            if taken(f"{local}@{domain}"):
                raise ProvisioningError(f"address {local}@{domain} is already in use")
            address = local
        else:
            local = generate_local_part(full_name, policy)
            address = unique_local_part(local, lambda lp: rules.is_reserved(lp) or taken(f"{lp}@{domain}"))
    except InvalidNameError as exc:
        raise ProvisioningError(f"full name: {exc}") from None
    if data.kind not in set(AccountKind):
        raise ProvisioningError(f"account kind {str(data.kind)[:40]!r}: must be one of {', '.join(AccountKind)}")
    quota = data.quota_mb or default_quota
    if not 1 <= quota <= 1_048_576:
        raise ProvisioningError(f"quota {quota}: between 1 and 1048576 MB")
    return Staff(
        unit_id=unit.id,  # not the relationship: a bulk import would load the unit's whole staff collection
        full_name=full_name,
        family_name=parts.family,
        middle_name=parts.middle,
        given_name=parts.given,
        title=title,
        staff_number=number,
        phone=phone,
        kind=data.kind,
        email=f"{address}@{domain}",
        status=AccountStatus.ACTIVE,
        quota_mb=quota,
    )


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
    flush_or_refuse(session, f"username {username!r} is taken")
    changelog.record(session, actor, "local_admin.create", "local_admin", admin.id, target_label=username)
    return admin
