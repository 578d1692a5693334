"""The ``congvu`` command. :mod:`admin_app.cli.core` holds the group; each command group is a module here."""

from admin_app.cli import accounts, admin, check, db, directory, jobs, meetings, roles, services, usage  # noqa: F401
from admin_app.cli.core import main

__all__ = ["main"]
