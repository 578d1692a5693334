"""Bringing in another directory's accounts from an LDIF export: a preview of every entry, then the people.

Unlike a staff list (all rows or none), an export holds entries that are not ours to take (groups, service
accounts, people without mail): those are listed with the reason and left out, the rest are brought in. A
line that cannot be read refuses the whole file, though: an export cut short or damaged may hide people.

Every person goes through :func:`provisioning.operations.create_staff_many` (the console's create), so the
same checks, directory jobs and change-trail entries follow. A password hash slapd verifies (see
:mod:`provisioning.password_hashes`) waits in a ``set_password_hash`` directory job until the entry exists,
then is written to ``userPassword`` and wiped from the job; the change trail only names its scheme. Everyone
else gets a one-time password through :func:`provisioning.accounts.reset_password`, returned to the caller
once (never stored in clear).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor
from provisioning import sync
from provisioning.accounts import reset_password
from provisioning.aliases import alias_expiry, keep_as_alias
from provisioning.errors import ProvisioningError
from provisioning.ldif import Entry, Problem
from provisioning.ldif_plan import SAMPLE_LIMIT, Addresses, Planner, Refusal, Take
from provisioning.models import Staff, Unit
from provisioning.operations import MailboxPolicy, StaffInput, create_staff_many

BATCH = 500
ALIAS_REASON = "LDIF import"


@dataclass
class LdifPreview:
    """Counts over every entry; ``refused`` names each entry not taken; ``samples`` the first takes."""

    addresses: str = Addresses.PRIMARY
    total: int = 0
    takes: int = 0
    unchanged: int = 0
    unreadable: int = 0
    refused: list[Refusal] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)  # scheme → people whose password is kept
    one_time: list[dict[str, Any]] = field(default_factory=list)  # who gets a one-time password, and why
    samples: list[dict[str, Any]] = field(default_factory=list)

    def note(self, take: Take) -> None:
        self.takes += 1
        if take.password_hash:
            self.kept[take.scheme] = self.kept.get(take.scheme, 0) + 1
        else:
            self.one_time.append({"line": take.line, "dn": take.dn, "email": take.email, "scheme": take.scheme})
        if len(self.samples) < SAMPLE_LIMIT:
            self.samples.append(take.summary())

    def as_dict(self) -> dict[str, Any]:
        return {
            "addresses": str(self.addresses),
            "total": self.total,
            "takes": self.takes,
            "unchanged": self.unchanged,
            "unreadable": self.unreadable,
            "refused": [r.as_dict() for r in self.refused],
            "kept": dict(self.kept),
            "one_time": list(self.one_time),
            "samples": list(self.samples),
        }


@dataclass
class LdifResult(LdifPreview):
    """After applying: ``passwords`` holds each one-time password (address → password), to hand out once."""

    passwords: dict[str, str] = field(default_factory=dict, repr=False)


class LdifRefused(ProvisioningError):
    """The file has lines that cannot be read; nothing was applied. ``preview`` names every entry."""

    def __init__(self, preview_: LdifPreview) -> None:
        unreadable = [r for r in preview_.refused if r.code == "unreadable"]
        first = "; ".join(f"line {r.line}: {r.message}" for r in unreadable[:3])
        more = f" (and {len(unreadable) - 3} more)" if len(unreadable) > 3 else ""
        super().__init__(f"{len(unreadable)} unreadable lines, nothing applied: {first}{more}")
        self.preview = preview_


def _walk(
    planner: Planner,
    items: Iterable[Entry | Problem],
    result: LdifPreview,
    progress: Callable[[int], None] | None,
    on_take: Callable[[Take], None] | None = None,
) -> None:
    for item in items:
        result.total += 1
        outcome = planner.plan(item)
        if outcome is None:
            result.unchanged += 1
        elif isinstance(outcome, Refusal):
            result.refused.append(outcome)
            result.unreadable += outcome.code == "unreadable"
        else:
            result.note(outcome)
            if on_take is not None:
                on_take(outcome)
        if progress is not None and result.total % 200 == 0:
            progress(result.total)
    if progress is not None:
        progress(result.total)


def preview(
    session: Session,
    actor: Actor,
    unit: Unit,
    items: Iterable[Entry | Problem],
    policy: MailboxPolicy,
    *,
    addresses: str = Addresses.PRIMARY,
    progress: Callable[[int], None] | None = None,
) -> LdifPreview:
    """Every entry that would be brought in (with its address, alias and password), already here, or refused
    and why. Changes nothing."""
    planner = Planner(session, actor, unit, policy, addresses)
    result = LdifPreview(addresses=planner.addresses)
    _walk(planner, items, result, progress)
    return result


def apply(
    session: Session,
    actor: Actor,
    unit: Unit,
    items: Iterable[Entry | Problem],
    policy: MailboxPolicy,
    *,
    addresses: str = Addresses.PRIMARY,
    alias_days: int = 365,
    progress: Callable[[int], None] | None = None,
    label: str = "",
) -> LdifResult:
    """Bring in every entry that can be taken, in the caller's transaction; raise :class:`LdifRefused` (and
    apply nothing) if a line cannot be read. The caller hands out ``result.passwords`` once."""
    planner = Planner(session, actor, unit, policy, addresses)
    result = LdifResult(addresses=planner.addresses)
    pending: list[Take] = []
    expires_at = alias_expiry(alias_days) if planner.addresses is Addresses.ALIAS else None

    def flush() -> None:
        if not pending or result.unreadable:
            pending.clear()
            return
        people = create_staff_many(
            session,
            actor,
            [(unit, _staff_input(t)) for t in pending],
            policy.default_domain,
            policy.address_policy,
            is_taken=planner.taken.__contains__,  # the file's own planned addresses are the ones given now
            default_quota=policy.default_quota_mb,
            rules=policy.rules,
        )
        _finish_people(session, actor, policy, list(zip(people, pending, strict=True)), expires_at, result)
        pending.clear()

    def take(outcome: Take) -> None:
        pending.append(outcome)
        if len(pending) >= BATCH:
            flush()

    _walk(planner, items, result, progress, take)
    if result.unreadable:
        raise LdifRefused(result)
    flush()
    if result.takes:
        changelog.record_of(
            session,
            actor,
            "import.ldif",
            unit,
            after={
                "entries": result.total,
                "created": result.takes,
                "unchanged": result.unchanged,
                "refused": len(result.refused),
                "addresses": str(result.addresses),
                "passwords_kept": dict(result.kept),
                "one_time_passwords": len(result.passwords),
            },
            label=label or unit.name,
        )
    return result


def _staff_input(take: Take) -> StaffInput:
    return StaffInput(take.full_name, take.title, take.staff_number, take.phone, local_part=take.local_part)


def _one_time_password(session: Session, actor: Actor, person: Staff, policy: MailboxPolicy) -> str:
    # reset_password refuses (before recording anything) a random password that happens to contain a part
    # of the person's name; over thousands of people that happens, so draw again.
    for _attempt in range(9):
        try:
            return reset_password(session, actor, person, secret_key=policy.secret_key)
        except ProvisioningError:
            continue
    return reset_password(session, actor, person, secret_key=policy.secret_key)


def _finish_people(
    session: Session,
    actor: Actor,
    policy: MailboxPolicy,
    pairs: list[tuple[Staff, Take]],
    expires_at: Any,
    result: LdifResult,
) -> None:
    """Aliases, kept hashes (as directory intents) and one-time passwords for people just created."""
    trail: list[changelog.Item] = []
    hashes: list[tuple[int, str]] = []
    for person, take in pairs:
        if take.alias:
            keep_as_alias(session, person, take.alias, reason=ALIAS_REASON, expires_at=expires_at)
            after = {"alias": take.alias, "expires_at": expires_at.isoformat() if expires_at else None}
            trail.append(changelog.item_of("staff.keep_alias", person, after=after))
        if take.password_hash:
            hashes.append((person.id, take.password_hash))
            after = {"password": "kept", "scheme": take.scheme}
            trail.append(changelog.item_of("staff.keep_password", person, after=after))
        else:
            result.passwords[person.email] = _one_time_password(session, actor, person, policy)
    try:
        session.flush()
    except IntegrityError:
        raise ProvisioningError("an address of this file was given to someone else meanwhile; try again") from None
    sync.enqueue_password_hashes(session, hashes)
    changelog.record_many(session, actor, trail)
