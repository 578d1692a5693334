"""Finding people in the directory by name, address or unit, with or without diacritics ("nguyen van an"
finds "Nguyễn Văn An"): a folded search key kept on every staff row, matched word by word at word starts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from core.actors import Actor, PermissionDenied
from provisioning.models import AccountKind, AccountStatus, Role, Staff, Unit
from provisioning.names import fold_ascii, search_key_of

__all__ = ["Person", "can_search_people", "search_key_of", "search_people", "search_words", "starts_a_word"]

MAX_RESULTS = 20
MAX_WORDS = 6


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    title: str
    unit: str


def can_search_people(actor: Actor) -> bool:
    """Anyone who books meetings or administers or reads the directory looks people up by name."""
    return actor.is_system_admin or any(actor.has_role(r) for r in (Role.SECRETARY, Role.UNIT_ADMIN, Role.AUDITOR))


def search_words(query: str) -> list[str]:
    """The words of a search, folded as the search key is (a–z and 0–9 only), at most ``MAX_WORDS``."""
    return [w for w in (fold_ascii(part) for part in query.split()) if w][:MAX_WORDS]


def starts_a_word(word: str) -> ColumnElement[bool]:
    """Staff with a word of their name or address starting with ``word`` (one of :func:`search_words`: nothing
    in it is a LIKE wildcard)."""
    return Staff.search_key.like(f"% {word}%")


def search_people(session: Session, actor: Actor, query: str, limit: int = 10) -> list[Person]:
    """Active personal and functional mailboxes whose name, address or unit has words starting with each
    word of ``query`` (diacritics and case ignored); at most ``limit`` (≤ 20), by name."""
    if not can_search_people(actor):
        raise PermissionDenied(f"{actor.name} may not search the directory")
    raw = query.strip().lower()[:254]
    conditions = []
    if "@" in raw:  # an address, or its beginning
        conditions.append(Staff.email.startswith(raw, autoescape=True))
    else:
        words = search_words(raw)
        if not words:
            return []
        # Units are few: their names are folded here, so "chu pah" finds the people of "Chư Păh" too.
        unit_words = {
            unit_id: [fold_ascii(w) for w in name.split()]
            for unit_id, name in session.execute(select(Unit.id, Unit.name).where(Unit.ended_on.is_(None)))
        }
        for word in words:
            in_units = [uid for uid, names in unit_words.items() if any(n.startswith(word) for n in names)]
            conditions.append(or_(starts_a_word(word), Staff.unit_id.in_(in_units)))
    rows = session.execute(
        select(Staff.id, Staff.full_name, Staff.email, Staff.title, Unit.name)
        .join(Unit, Unit.id == Staff.unit_id)
        .where(
            Staff.status == AccountStatus.ACTIVE,
            Staff.kind.in_((AccountKind.PERSONAL, AccountKind.FUNCTIONAL)),
            *conditions,
        )
        .order_by(Staff.given_name, Staff.full_name, Staff.id)
        .limit(max(1, min(limit, MAX_RESULTS)))
    ).all()
    return [Person(*row) for row in rows]


def actor_names(session: Session, labels: Iterable[str]) -> dict[str, str]:
    """Change-trail actor labels ("staff:<address>") → the mailbox owner's full name, for pages that list who
    made a change (one query); labels of other kinds (local admins, the CLI, the system) are left out."""
    by_address = {label.split(":", 1)[1]: label for label in labels if label.startswith("staff:")}
    if not by_address:
        return {}
    rows = session.execute(select(Staff.email, Staff.full_name).where(Staff.email.in_(by_address)))
    return {by_address[email]: name for email, name in rows}
