"""The people domain's own error: a change was refused, and the message names the field or object."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


class ProvisioningError(ValueError):
    """A change was refused; the message names the field or object."""


def flush_or_refuse(session: Session, message: str) -> None:
    """Flush in a savepoint: a row the database refuses (a unique code, address or number already taken)
    becomes a :class:`ProvisioningError` saying ``message``, and the caller's transaction stays usable."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ProvisioningError(message) from None
