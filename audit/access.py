"""Who reads the usage report, and the report's definitions as the installation configures them.

Shared by the console, the API, the CLI and the scheduled report job, so none of them repeats a role check
or rebuilds the definitions from settings.
"""

from __future__ import annotations

from audit.report import Definitions
from config import Settings, parse_holidays
from core.actors import Actor
from provisioning.models import Role


def can_read_reports(actor: Actor) -> bool:
    """Leaders (auditors) and system admins read the province's report."""
    return actor.is_system_admin or any(r == Role.AUDITOR for r, _p in actor.roles)


def definitions_from(settings: Settings) -> Definitions:
    """What counts as regular use, and which days are working days, as configured."""
    return Definitions(settings.usage_regular_days, parse_holidays(settings.public_holidays), settings.tz)
