"""The people domain's own error: a change was refused, and the message names the field or object."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


class ProvisioningError(ValueError):
    """A change was refused; the message names the field or object."""


@contextmanager
def refusing(session: Session, message: str) -> Iterator[None]:
    """The block's writes in a savepoint: a row the database refuses (a unique code, address or number already
    taken) becomes a :class:`ProvisioningError` saying ``message``, nothing of the block is kept, and the
    caller's transaction stays usable."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        raise ProvisioningError(message) from None


def flush_or_refuse(session: Session, message: str) -> None:
    """Flush in a savepoint (see :func:`refusing`)."""
    with refusing(session, message):
        session.flush()
