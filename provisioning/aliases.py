"""Old addresses kept as aliases: after a domain change or a reorganisation the replaced address still
receives mail and still signs in (console, IMAP, POP3, SMTP) until it expires; then it leaves the directory
but its row stays, so the address is never given to anyone else and old log lines still count for the
mailbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor
from core.bulk import insert_rows
from core.db import utcnow
from provisioning import sync
from provisioning.entries import directory_aliases
from provisioning.errors import refusing
from provisioning.models import MailAlias, Role, Staff

EXPIRE_BATCH = 500  # aliases per step: a reorganisation's 12,000 expire on one night, memory stays flat


def keep_as_alias(
    session: Session, person: Staff, old_address: str, *, reason: str, expires_at: dt.datetime | None
) -> MailAlias:
    """Keep ``old_address`` (the person's address until now) as their alias until ``expires_at``.
    The caller gives the person their new address and queues their directory job."""
    return keep_as_aliases(session, [(person, old_address)], reason=reason, expires_at=expires_at)[0]


LOOKUP_BATCH = 500  # addresses per query


def keep_as_aliases(
    session: Session, kept: Sequence[tuple[Staff, str]], *, reason: str, expires_at: dt.datetime | None
) -> list[MailAlias]:
    """:func:`keep_as_alias` for many (person, old address) at once: the rows the addresses already have are
    read in one query per :data:`LOOKUP_BATCH`, not one each. An address that was this person's alias gets the
    new expiry and is live again; any other becomes a new alias of theirs (an address of someone else's then
    fails the flush, which the caller turns into a refusal)."""
    out: list[MailAlias] = []
    for person, address, alias in _kept_rows(session, kept, expires_at):
        if alias is None:
            alias = MailAlias(address=address, reason=reason[:200], expires_at=expires_at)
            person.aliases.append(alias)
        out.append(alias)
    return out


def keep_as_aliases_in_bulk(
    session: Session,
    kept: Sequence[tuple[Staff, str]],
    *,
    reason: str,
    expires_at: dt.datetime | None,
    refused: str,
) -> None:
    """:func:`keep_as_aliases` for a reorganisation's thousands: the new aliases go in one insert (the people's
    ``aliases`` are read again when next used); an address of someone else's refuses the whole batch with
    ``refused`` (a :class:`ProvisioningError`), nothing of it written."""
    rows: list[dict[str, object]] = []
    for person, address, alias in _kept_rows(session, kept, expires_at):
        if alias is not None:
            continue
        if not inspect(person).persistent:
            person.aliases.append(MailAlias(address=address, reason=reason[:200], expires_at=expires_at))
            continue
        rows.append({"staff_id": person.id, "address": address, "reason": reason[:200], "expires_at": expires_at})
        session.expire(person, ["aliases"])
    if rows:
        with refusing(session, refused):
            insert_rows(session, MailAlias.__table__, rows)  # type: ignore[arg-type]


def _kept_rows(
    session: Session, kept: Sequence[tuple[Staff, str]], expires_at: dt.datetime | None
) -> list[tuple[Staff, str, MailAlias | None]]:
    """Each (person, old address folded) with its alias row if it was theirs already (its expiry set, live
    again), or None: a new alias is to be made."""
    wanted = [(person, old.strip().lower()) for person, old in kept]
    addresses = list(dict.fromkeys(address for _person, address in wanted))
    existing: dict[str, MailAlias] = {}
    for start in range(0, len(addresses), LOOKUP_BATCH):
        chunk = addresses[start : start + LOOKUP_BATCH]
        existing |= {a.address: a for a in session.scalars(select(MailAlias).where(MailAlias.address.in_(chunk)))}
    out: list[tuple[Staff, str, MailAlias | None]] = []
    for person, address in wanted:
        alias = existing.get(address)
        if alias is not None and alias.staff_id == person.id:
            alias.expires_at = expires_at
            alias.removed_at = None
            out.append((person, address, alias))
        else:
            out.append((person, address, None))
    return out


def alias_expiry(days: int, now: dt.datetime | None = None) -> dt.datetime:
    return (now or utcnow()) + dt.timedelta(days=days)


def live_aliases(person: Staff) -> list[str]:
    """The aliases the directory should carry now."""
    return directory_aliases(person)


def live_alias_owner(session: Session, address: str) -> Staff | None:
    """The mailbox ``address`` is a live alias of (it signs in and receives as that mailbox), or None."""
    return session.scalar(
        select(Staff)
        .join(MailAlias, MailAlias.staff_id == Staff.id)
        .where(MailAlias.address == address.strip().lower(), MailAlias.removed_at.is_(None))
    )


def expire_aliases(session: Session, actor: Actor, now: dt.datetime | None = None) -> int:
    """Take every alias past its expiry out of the directory (the ``aliases.expire`` job): from then on it
    neither signs in nor receives. Its row stays (``removed_at``), so the address is never given to anyone
    else and old log lines under it still count for the mailbox. One change-trail entry per alias, one
    directory job per mailbox. Returns how many aliases expired."""
    actor.require(Role.SYSTEM_ADMIN, None, "expired aliases")
    now = now or utcnow()
    expired = 0
    while True:
        due = session.execute(
            select(MailAlias.id, MailAlias.address, MailAlias.expires_at, Staff.id, Staff.email, Staff.unit_id)
            .join(Staff, Staff.id == MailAlias.staff_id)
            .where(MailAlias.removed_at.is_(None), MailAlias.expires_at <= now)
            .order_by(MailAlias.id)
            .limit(EXPIRE_BATCH)
        ).all()
        if not due:
            return expired
        session.execute(
            update(MailAlias).where(MailAlias.id.in_([row[0] for row in due])).values(removed_at=now),
            execution_options={"synchronize_session": "fetch"},
        )
        sync.enqueue_many(session, [("sync_staff", staff_id) for staff_id in dict.fromkeys(row[3] for row in due)])
        changelog.record_many(
            session,
            actor,
            [
                (
                    "staff.expire_alias",
                    "staff",
                    staff_id,
                    f"{address} → {email}",
                    unit_id,
                    {"alias": address, "expires_at": expires_at},
                    {"removed_at": now},
                )
                for _, address, expires_at, staff_id, email, unit_id in due
            ],
        )
        session.flush()
        expired += len(due)
