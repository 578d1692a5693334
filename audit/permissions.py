"""Who may read and generate the usage report. The report's verbs check this themselves; pages and API
answers use the same function to show or refuse what the actor could not do anyway."""

from __future__ import annotations

from core.actors import Actor
from provisioning.models import Role


def can_read_reports(actor: Actor) -> bool:
    """Leaders (auditors) and system admins read the province's report and may generate a new version."""
    return actor.is_system_admin or any(r == Role.AUDITOR for r, _p in actor.roles)
