"""Numbers, shares and days of the monthly report as the locale writes them, through Babel: the report page and
every export (PDF text, the text cells of CSV and XLSX) call this one helper, so they never disagree.

Vietnamese: ``2.067`` mailboxes, ``87,1 %``, a change of ``-68,7`` percentage points, ``01/12/2026``. English
keeps the house's dd/mm/yyyy days and writes ``2,067``, ``87.1%``, ``-68.7``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

# One decimal; Vietnamese sets the sign apart (``87,1 %``), English does not. A plain space, so the figure reads
# the same when copied; pages keep it on one line with CSS.
PERCENT_PATTERNS = {"vi": "#,##0.0 %", "en": "#,##0.0%"}
CHANGE_PATTERN = "+#,##0.0;-#,##0.0"
DAY_PATTERN = "dd/MM/yyyy"
MISSING = "—"


@dataclass(frozen=True)
class Formats:
    """The report's figures in one locale (``vi`` or ``en``)."""

    locale: str = "vi"

    @property
    def language(self) -> str:
        return self.locale.split("_")[0].split("-")[0]

    def number(self, value: float | None) -> str:
        """A count or an amount with the locale's grouping: ``2.067`` (vi), ``2,067`` (en)."""
        return MISSING if value is None else str(format_decimal(value, locale=self.locale))

    def percent(self, share: float | None, decimals: int = 1) -> str:
        """A share between 0 and 1 as a percentage, one decimal unless asked otherwise: ``87,1 %`` (vi)."""
        if share is None:
            return MISSING
        pattern = PERCENT_PATTERNS.get(self.language, PERCENT_PATTERNS["en"])
        if decimals != 1:
            pattern = pattern.replace("0.0", "0." + "0" * decimals if decimals else "0")
        return str(format_percent(share, pattern, locale=self.locale))

    def change(self, delta: float | None) -> str:
        """A change of a share, in percentage points with its sign: ``+1,2`` or ``-68,7`` (vi)."""
        if delta is None:
            return MISSING
        return str(format_decimal(round(delta * 100, 1), CHANGE_PATTERN, locale=self.locale))

    def day(self, value: dt.date | str | None) -> str:
        """A day (a date or its ISO text, as snapshots store it) as dd/mm/yyyy."""
        if value is None or value == "":
            return MISSING
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return format_date(value, DAY_PATTERN, locale=self.locale)

    def month(self, month: str) -> str:
        """``2026-11`` as ``11/2026``."""
        year, mon = month.split("-")
        return f"{int(mon):02d}/{year}"


def percent_points(share: float | None) -> float | None:
    """A share as a number of percent with one decimal (0.871 → 87.1), for numeric spreadsheet cells."""
    return None if share is None else round(share * 100, 1)
