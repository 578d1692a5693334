"""The people domain's own error: a change was refused, and the message names the field or object."""

from __future__ import annotations


class ProvisioningError(ValueError):
    """A change was refused; the message names the field or object."""
