"""Old addresses kept as aliases: after a domain change or a reorganisation the replaced address still
receives mail and still signs in (console, IMAP, POP3, SMTP) until it expires; then it leaves the directory
but its row stays, so the address is never given to anyone else and old log lines still count for the
mailbox."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from provisioning.models import MailAlias, Staff


def keep_as_alias(
    session: Session, person: Staff, old_address: str, *, reason: str, expires_at: dt.datetime | None
) -> MailAlias:
    """Keep ``old_address`` (the person's address until now) as their alias until ``expires_at``.
    The caller gives the person their new address and queues their directory job."""
    address = old_address.strip().lower()
    existing = session.scalar(select(MailAlias).where(MailAlias.address == address))
    if existing is not None and existing.staff_id == person.id:
        existing.expires_at = expires_at
        existing.removed_at = None
        return existing
    alias = MailAlias(address=address, reason=reason[:200], expires_at=expires_at)
    person.aliases.append(alias)
    return alias


def alias_expiry(days: int, now: dt.datetime | None = None) -> dt.datetime:
    return (now or utcnow()) + dt.timedelta(days=days)


def live_aliases(person: Staff) -> list[str]:
    """The aliases the directory should carry now."""
    return [a.address for a in person.aliases if a.removed_at is None]
