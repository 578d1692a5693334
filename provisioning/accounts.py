"""Mailbox lifecycle: disable, enable, archive, passwords, quota, aliases, moves.

Every verb checks the actor against the mailbox's unit, records before/after in the audit trail and
queues the directory change; the boundary commits, then the directory follows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import changelog
from core.actors import Actor
from core.db import utcnow
from core.validation import clean_text, text_problem
from provisioning import history, sync
from provisioning.addresses import AddressRules, check_address, check_domain_use, normalize_domain
from provisioning.errors import flush_or_refuse
from provisioning.models import AccountKind, AccountStatus, MailAlias, Role, Staff, StaffStatusChange, Unit
from provisioning.names import InvalidNameError, clean_name, split_name, validate_local_part
from provisioning.operations import (
    MailboxPolicy,
    ProvisioningError,
    StaffInput,
    address_in_use,
    create_staff,
    staff_snapshot,
)
from provisioning.passwords import WeakPasswordError, check_password, one_time_password
from provisioning.roles import require_no_climbing
from provisioning.sessions import end_sessions_of
from provisioning.staff_rows import write_columns


def _require(actor: Actor, staff: Staff) -> None:
    actor.require(Role.UNIT_ADMIN, staff.unit, f"mailbox {staff.email}")
    require_no_climbing(actor, staff)


def _change_status(session: Session, actor: Actor, staff: Staff, status: str, reason: str, action: str) -> None:
    _require(actor, staff)
    before = staff_snapshot(staff) | {"status_reason": staff.status_reason}
    staff.status = status
    staff.status_reason = reason.strip()[:500]
    staff.updated_at = utcnow()
    session.add(StaffStatusChange(staff_id=staff.id, status=status, changed_at=staff.updated_at))
    session.flush()
    if status != AccountStatus.ACTIVE:  # a disabled or archived mailbox is signed out of the console at once
        end_sessions_of(session, staff_id=staff.id, reason=action)
    sync.enqueue(session, "sync_staff", staff.id)
    sync.enqueue(session, "sync_list", staff.unit_id)
    after = staff_snapshot(staff) | {"status_reason": staff.status_reason}
    changelog.record_of(session, actor, action, staff, before=before, after=after)


def disable(session: Session, actor: Actor, staff: Staff, reason: str) -> None:
    """No IMAP/POP3/SMTP or console sign-in; mail is still accepted. The reason is required and kept."""
    reason = clean_text(reason, "reason", max_length=500, error=ProvisioningError)
    if not reason:
        raise ProvisioningError(f"disable {staff.email}: give a reason (e.g. 'nghỉ hưu từ 01/12/2026')")
    if staff.status == AccountStatus.ARCHIVED:
        raise ProvisioningError(f"{staff.email} is archived; it cannot be disabled")
    _change_status(session, actor, staff, AccountStatus.DISABLED, reason, "staff.disable")


def enable(session: Session, actor: Actor, staff: Staff) -> None:
    """Let a disabled or archived mailbox sign in again (an archived one gets its entry back)."""
    if staff.status == AccountStatus.ACTIVE:
        raise ProvisioningError(f"{staff.email} is already active")
    _require(actor, staff)
    staff.archived_at = None
    staff.removed_from_directory_at = None
    _change_status(session, actor, staff, AccountStatus.ACTIVE, "", "staff.enable")


def archive(session: Session, actor: Actor, staff: Staff, reason: str) -> None:
    """Archive: cannot sign in; the directory entry is removed after the retention; the record and the
    address stay in the database so the address is never given to someone else by accident."""
    if staff.status == AccountStatus.ARCHIVED:
        raise ProvisioningError(f"{staff.email} is already archived")
    reason = clean_text(reason, "reason", max_length=500, error=ProvisioningError)
    _require(actor, staff)
    staff.archived_at = utcnow()
    _change_status(session, actor, staff, AccountStatus.ARCHIVED, reason or "archived", "staff.archive")


def expire_archives(session: Session, actor: Actor, retention: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Remove directory entries of mailboxes archived longer than ``retention`` (the nightly job)."""
    cutoff = (now or utcnow()) - retention
    due = session.scalars(
        select(Staff).where(
            Staff.status == AccountStatus.ARCHIVED,
            Staff.archived_at <= cutoff,
            Staff.removed_from_directory_at.is_(None),
        )
    ).all()
    for staff in due:
        staff.removed_from_directory_at = utcnow()
        sync.enqueue(session, "sync_staff", staff.id)
        changelog.record_of(
            session, actor, "staff.remove_from_directory", staff, after={"archived_at": staff.archived_at}
        )
    session.flush()
    return len(due)


def _personal(staff: Staff) -> tuple[str, ...]:
    return (staff.family_name, staff.middle_name, staff.given_name, staff.email.split("@")[0])


def set_password(
    session: Session,
    actor: Actor,
    staff: Staff,
    password: str,
    *,
    secret_key: str,
    min_length: int,
    must_change: bool = False,
) -> None:
    """Set a password chosen by the admin; slapd hashes it. ``must_change`` forces a change at first use."""
    _require(actor, staff)
    if staff.status == AccountStatus.ARCHIVED:
        raise ProvisioningError(f"{staff.email} is archived; enable it first")
    if len(password) > 512 or text_problem(password):
        raise ProvisioningError("password: at most 512 characters, without control characters")
    try:
        check_password(password, min_length=min_length, personal=_personal(staff))
    except WeakPasswordError as exc:
        raise ProvisioningError(str(exc)) from None
    sync.enqueue_password(session, staff, password, secret_key, must_change=must_change)
    changelog.record_of(session, actor, "staff.set_password", staff, after={"must_change": must_change})


def reset_password(session: Session, actor: Actor, staff: Staff, *, secret_key: str) -> str:
    """A strong one-time password, returned once to show the admin; the owner must change it at first use."""
    # Drawn until it holds none of the person's names: a random one may (an 'an' or 'thu' inside), and a
    # bulk reset of thousands must not stop on that.
    personal = _personal(staff)
    while True:
        password = one_time_password()
        try:
            check_password(password, min_length=12, personal=personal)
        except WeakPasswordError:
            continue
        break
    set_password(session, actor, staff, password, secret_key=secret_key, min_length=12, must_change=True)
    return password


def create_mailbox(
    session: Session, actor: Actor, unit: Unit, data: StaffInput, policy: MailboxPolicy
) -> tuple[Staff, str]:
    """Issue a mailbox: the person, their address by the installation's policy, the directory jobs, the
    change-trail entry, and a one-time password (returned once, to show; it must be changed at first use).
    The console, the API and the CLI all create mailboxes through this."""
    staff = create_staff(
        session,
        actor,
        unit,
        data,
        policy.default_domain,
        policy.address_policy,
        default_quota=policy.default_quota_mb,
        rules=policy.rules,
    )
    return staff, reset_password(session, actor, staff, secret_key=policy.secret_key)


def set_quota(session: Session, actor: Actor, staff: Staff, quota_mb: int) -> None:
    _require(actor, staff)
    if not 1 <= quota_mb <= 1_048_576:
        raise ProvisioningError(f"quota of {staff.email}: between 1 and 1048576 MB")
    before = {"quota_mb": staff.quota_mb}
    staff.quota_mb = quota_mb
    session.flush()
    sync.enqueue(session, "sync_staff", staff.id)
    changelog.record_of(session, actor, "staff.set_quota", staff, before=before, after={"quota_mb": quota_mb})


def add_alias(
    session: Session,
    actor: Actor,
    staff: Staff,
    address: str,
    reason: str = "",
    *,
    rules: AddressRules | None = None,
) -> MailAlias:
    """Another address for the mailbox, in one of the province's domains (a unit admin: of their subtree);
    reserved names and other units' bridge-point contacts are a system admin's to give."""
    _require(actor, staff)
    text = clean_text(address, "alias", max_length=254, error=ProvisioningError).lower()
    local, sep, domain = text.partition("@")
    try:
        local = validate_local_part(local)
    except InvalidNameError as exc:
        raise ProvisioningError(f"alias: {exc}") from None
    if not sep or "." not in domain:
        raise ProvisioningError(f"alias {address[:80]!r}: give a full address (name@domain)")
    rules = rules or AddressRules(default_domain=staff.email.partition("@")[2])
    domain = normalize_domain(domain, "alias domain")
    check_domain_use(session, actor, domain, rules, f"alias {local}@{domain}")
    full = f"{local}@{domain}"
    check_address(session, actor, full, rules, "alias")
    if address_in_use(session, full):
        raise ProvisioningError(f"alias {full}: the address is already in use")
    alias = MailAlias(staff=staff, address=full, reason=reason.strip()[:200])
    session.add(alias)
    flush_or_refuse(session, f"alias {full}: the address is already in use")
    sync.enqueue(session, "sync_staff", staff.id)
    changelog.record_of(session, actor, "staff.add_alias", staff, after={"alias": full})
    return alias


def remove_alias(session: Session, actor: Actor, staff: Staff, address: str) -> None:
    _require(actor, staff)
    alias = next((a for a in staff.aliases if a.address == address.strip().lower() and a.removed_at is None), None)
    if alias is None:
        raise ProvisioningError(f"{staff.email} has no alias {address!r}")
    # The row stays, marked removed: the directory drops the address, and it is never given to anyone else.
    alias.removed_at = utcnow()
    session.flush()
    sync.enqueue(session, "sync_staff", staff.id)
    changelog.record_of(session, actor, "staff.remove_alias", staff, before={"alias": alias.address})


EDITABLE = ("full_name", "title", "phone", "staff_number", "kind")


def update_staff(session: Session, actor: Actor, staff: Staff, changes: dict[str, str | None]) -> bool:
    """Change record fields; the address stays (it is not regenerated when a name is corrected)."""
    _require(actor, staff)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ProvisioningError(f"field {sorted(unknown)[0]!r} cannot be changed here")
    before = staff_snapshot(staff)
    bounds = {"full_name": 400, "title": 200, "phone": 40, "staff_number": 40, "kind": 20}
    changes = {
        k: clean_text(v, k.replace("_", " "), max_length=bounds[k], error=ProvisioningError) for k, v in changes.items()
    }
    if "full_name" in changes:
        try:
            name = clean_name(changes["full_name"] or "")
            parts = split_name(name)
        except InvalidNameError as exc:
            raise ProvisioningError(f"full name of {staff.email}: {exc}") from None
        if not name:
            raise ProvisioningError(f"{staff.email}: full name must not be empty")
        staff.full_name, staff.family_name, staff.middle_name, staff.given_name = (
            name,
            parts.family,
            parts.middle,
            parts.given,
        )
    if "kind" in changes and changes["kind"] not in set(AccountKind):
        raise ProvisioningError(f"kind {changes['kind']!r}: must be one of {', '.join(AccountKind)}")
    for key in ("title", "phone", "kind"):
        if key in changes:
            setattr(staff, key, (changes[key] or "").strip())
    if "staff_number" in changes:
        staff.staff_number = (changes["staff_number"] or "").strip() or None
    after = staff_snapshot(staff)
    if after == before:
        return False
    flush_or_refuse(session, f"staff number {staff.staff_number!r} belongs to someone else")
    sync.enqueue(session, "sync_staff", staff.id)
    changelog.record_of(session, actor, "staff.update", staff, before=before, after=after)
    return True


def move_staff(session: Session, actor: Actor, staff: Staff, unit: Unit) -> None:
    """Move a mailbox to another unit; both units must be within the actor's scope. The address stays."""
    move_staff_many(session, actor, [(staff, unit)])


def move_staff_many(
    session: Session,
    actor: Actor,
    moves: Sequence[tuple[Staff, Unit]],
    *,
    effective_on: dt.date | None = None,
    reorganisation_id: int | None = None,
) -> int:
    """:func:`move_staff` for many people at once (a merge, a reorganisation): the same checks, history
    (the earlier unit until ``effective_on``), directory jobs and change-trail entries, written together.
    Returns how many moved."""
    day = effective_on or utcnow().date()
    checked: set[int] = set()
    targets: dict[Staff, Unit] = {}
    with session.no_autoflush:  # one write for the batch, not one per history lookup
        for staff, unit in moves:
            _require(actor, staff)
            if unit.id not in checked:
                actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
                checked.add(unit.id)
            targets[staff] = unit
        moved = [(staff, staff.unit_id) for staff, unit in targets.items() if staff.unit_id != unit.id]
        if not moved:
            return 0
        history.remember_placements(session, [(s.id, old) for s, old in moved], day, reorganisation_id)
        unstored = write_columns(session, [(s, {"unit_id": targets[s].id}) for s, _old in moved])
        for staff, _old in moved:
            if staff in unstored:
                staff.unit = targets[staff]
            else:
                set_committed_value(staff, "unit", targets[staff])
    session.flush()
    units = dict.fromkeys(u for staff, old in moved for u in (old, staff.unit_id))
    sync.enqueue_many(session, [("sync_staff", s.id) for s, _ in moved] + [("sync_list", u) for u in units])
    trail = [changelog.item_of("staff.move", s, {"unit_id": old}, {"unit_id": s.unit_id}) for s, old in moved]
    changelog.record_many(session, actor, trail)
    return len(moved)
