"""The report's definitions as the installation configures them (regular days, holidays, time zone).

Shared by the console, the API, the CLI and the scheduled report job, so none rebuilds them from settings.
"""

from __future__ import annotations

from audit.report import Definitions
from config import Settings, parse_holidays


def definitions_from(settings: Settings) -> Definitions:
    """What counts as regular use, and which days are working days, as configured."""
    return Definitions(settings.usage_regular_days, parse_holidays(settings.public_holidays), settings.tz)
