"""The JSON API under /api/v1. Importing this package registers every endpoint module on :data:`bp`."""

from admin_app.api import accounts, availability, meetings, reports, roles, tasks, units  # noqa: F401
from admin_app.api.core import bp

__all__ = ["bp"]
