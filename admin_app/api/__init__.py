"""The JSON API under /api/v1. Importing this package registers every endpoint module on :data:`bp`."""

from admin_app.api import (  # noqa: F401
    accounts,
    availability,
    meetings,
    people,
    reorganisations,
    reports,
    roles,
    tasks,
    units,
)
from admin_app.api.core import bp

__all__ = ["bp"]
