"""The ``congvu`` command. :mod:`admin_app.cli.core` holds the group; each command group is a module here."""

from admin_app.cli import (  # noqa: F401
    accounts,
    admin,
    aliases,
    check,
    db,
    directory,
    jobs,
    ldif,
    meetings,
    reorganise,
    roles,
    services,
    usage,
)
from admin_app.cli.core import main

__all__ = ["main"]
