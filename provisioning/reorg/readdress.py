"""The reorganisation's address verb: a person whose effective mail domain changed gets the new address the plan
chose (numbered on collision), the old one kept as an alias until it expires, so mail to it arrives and it
still signs in. (``units.change_mail_domain`` does the same for one unit's subtree in the same domain.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor
from provisioning import sync
from provisioning.aliases import keep_as_aliases, keep_as_aliases_in_bulk
from provisioning.errors import flush_or_refuse
from provisioning.models import Role, Staff
from provisioning.names import search_key_of
from provisioning.roles import require_no_climbing
from provisioning.staff_rows import write_columns


def readdress_many(
    session: Session,
    actor: Actor,
    changes: Sequence[tuple[Staff, str]],
    *,
    reason: str,
    expires_at: dt.datetime | None,
    queued: Collection[int] = (),
) -> int:
    """Give each person their new address and keep the old as an alias until ``expires_at``. A person whose
    address is already the new one only has the alias's expiry set. ``queued``: people whose directory job
    this unit of work recorded already (it reads the final state, so one is enough). Returns how many changed."""
    changed: list[tuple[Staff, str]] = []
    refused = "a new address of this reorganisation already belongs to someone else"
    with session.no_autoflush:  # one write for the batch, not one per alias lookup
        addresses: dict[Staff, str] = {}
        for staff, new in changes:
            actor.require(Role.UNIT_ADMIN, staff.unit, f"mailbox {staff.email}")
            require_no_climbing(actor, staff)
            new = new.strip().lower()
            if staff.email == new:
                continue
            own = [a for a in staff.aliases if a.address == new]
            if own:  # the new address was this person's alias: it becomes the primary
                staff.aliases.remove(own[0])
                session.flush()
            addresses[staff] = new
        changed = [(staff, staff.email) for staff in addresses]
        if not changed:
            return 0
        unstored = write_columns(
            session,
            [(s, {"email": new, "search_key": search_key_of(s.full_name or "", new)}) for s, new in addresses.items()],
            refused=refused,
        )
        for staff in unstored:
            staff.email = addresses[staff]
        keep_as_aliases_in_bulk(session, changed, reason=reason, expires_at=expires_at, refused=refused)
    flush_or_refuse(session, refused)
    units = dict.fromkeys(s.unit_id for s, _ in changed)  # the list's member DNs are named by the address
    sync.enqueue_many(
        session,
        [("sync_staff", s.id) for s, _ in changed if s.id not in queued] + [("sync_list", u) for u in units],
    )
    changelog.record_many(
        session,
        actor,
        [
            changelog.item_of("staff.change_address", s, {"email": old}, {"email": s.email, "alias": old})
            for s, old in changed
        ],
    )
    return len(changed)


def set_alias_expiry(
    session: Session, people: Sequence[tuple[Staff, str]], *, reason: str, expires_at: dt.datetime | None
) -> None:
    """For people readdressed by another verb: their old address (``old``) kept until ``expires_at``."""
    keep_as_aliases(session, people, reason=reason, expires_at=expires_at)
