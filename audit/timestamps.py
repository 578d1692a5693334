"""Log timestamps to aware datetimes, in every form the parser meets, cached by their text.

- Dovecot's own file, ``log_timestamp = "%Y-%m-%d %H:%M:%S "``: local time, no zone;
- classic syslog, ``Nov 22 06:11:46``: no year, inferred from the file's mtime;
- RFC 3339 syslog (Debian 12's rsyslog default), ``2026-11-22T06:11:46.123456+07:00``;
- Roundcube's ``log_date_format`` ``d-M-Y H:i:s O``: ``23-Feb-2024 10:15:00 +0700``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo

from audit.events import MalformedLine

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}
_CACHE_LIMIT = 4096  # distinct timestamps cached; logs are in time order so old entries are never needed again

_LOCAL_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
_SYSLOG_RE = re.compile(r"([A-Z][a-z]{2}) ([ 0-9][0-9]) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
_RFC3339_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_ROUNDCUBE_RE = re.compile(
    r"([0-9]{1,2})-([A-Z][a-z]{2})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?: ([+-])([0-9]{2}):?([0-9]{2}))?"
)

Stamp = Callable[[str], datetime]  # one of Clock's readers: timestamp text to datetime


class Clock:
    """Timestamp text to an aware datetime in ``tz``, cached by the text: consecutive lines share a second."""

    __slots__ = ("_cache", "_latest_plausible", "_minutes", "reference", "tz")

    def __init__(self, tz: tzinfo, reference: datetime) -> None:
        self.tz = tz
        self.reference = reference.replace(tzinfo=tz) if reference.tzinfo is None else reference.astimezone(tz)
        self._latest_plausible = self.reference + timedelta(days=1)
        self._cache: dict[str, datetime] = {}
        # A quiet log has a line every few seconds, so whole stamps rarely repeat; their minute does. The
        # minute's text (seconds cut out) -> its first second, in the stamp's own zone.
        self._minutes: dict[str, datetime] = {}

    def _store(self, key: str, at: datetime) -> datetime:
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = at
        return at

    def _minute(self, key: str, at: datetime) -> None:
        if len(self._minutes) >= _CACHE_LIMIT:
            self._minutes.clear()
        self._minutes[key] = at

    def local(self, text: str) -> datetime:
        """Dovecot's ``log_timestamp = "%Y-%m-%d %H:%M:%S "``: local time, no zone."""
        at = self._cache.get(text)
        if at is not None:
            return at
        second = _seconds(text, 16)
        if second is not None:
            base = self._minutes.get(text[:16])
            if base is not None:
                return self._store(text, base.replace(second=second))
        m = _LOCAL_RE.fullmatch(text)
        if m is None:
            raise MalformedLine("bad timestamp")
        year, month, day, hour, minute, second = map(int, m.groups())
        try:
            at = datetime(year, month, day, hour, minute, second, tzinfo=self.tz)
        except ValueError:
            raise MalformedLine("bad timestamp") from None
        self._minute(text[:16], at.replace(second=0))
        return self._store(text, at)

    def syslog(self, text: str) -> datetime:
        """Classic syslog ``Nov 22 06:11:46``: the year is inferred from the reference (the file's mtime)."""
        at = self._cache.get(text)
        if at is not None:
            return at
        second = _seconds(text, 12)
        if second is not None:
            base = self._minutes.get(text[:12])
            if base is not None:
                return self._store(text, base.replace(second=second))
        m, month = _with_month(_SYSLOG_RE, text, 1)
        day, hour, minute = int(m[2]), int(m[3]), int(m[4])
        at = self._infer_year(month, day, hour, minute, int(m[5]))
        first, last = self._infer_year(month, day, hour, minute, 0), self._infer_year(month, day, hour, minute, 59)
        if first.year == last.year:  # the whole minute falls in one year (not the minute a day after the mtime)
            self._minute(text[:12], first)
        return self._store(text, at)

    def _infer_year(self, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
        """The reference's year, or the year before if the date would lie more than a day after the reference.

        A log that crosses New Year and was last written on 2 January gives its December lines the old year
        and its January lines the new one; nothing can jump back eleven months.
        """
        year = self.reference.year
        try:
            at: datetime | None = datetime(year, month, day, hour, minute, second, tzinfo=self.tz)
        except ValueError:
            at = None  # 29 February in a common year: only the year before can hold it
        if at is None or at > self._latest_plausible:
            try:
                at = datetime(year - 1, month, day, hour, minute, second, tzinfo=self.tz)
            except ValueError:
                raise MalformedLine("bad timestamp") from None
        return at

    def rfc3339(self, text: str) -> datetime:
        """Syslog's RFC 3339 form; cached by the text without its fraction of a second."""
        m = _RFC3339_RE.fullmatch(text)
        if m is None:
            raise MalformedLine("bad timestamp")
        day, clock, fraction, offset = m.groups()
        key = f"{day}T{clock}{offset or ''}"
        at = self._cache.get(key)
        if at is None:
            try:
                parsed = datetime.fromisoformat(key)
            except ValueError:
                raise MalformedLine("bad timestamp") from None
            at = self._store(key, parsed.replace(tzinfo=self.tz) if offset is None else parsed.astimezone(self.tz))
        if fraction:
            at = at.replace(microsecond=int(fraction[:6].ljust(6, "0")))
        return at

    def roundcube(self, text: str) -> datetime:
        """Roundcube's default ``log_date_format`` ``d-M-Y H:i:s O``: ``23-Feb-2024 10:15:00 +0700``."""
        at = self._cache.get(text)
        if at is not None:
            return at
        space = text.find(" ")
        second = _seconds(text, space + 6) if space > 0 and text[space + 3 : space + 4] == ":" else None
        key = text[: space + 6] + text[space + 9 :]
        if second is not None:
            base = self._minutes.get(key)
            if base is not None:
                return self._store(text, base.replace(second=second).astimezone(self.tz))
        m, month = _with_month(_ROUNDCUBE_RE, text, 2)
        sign, hours, minutes = m[7], m[8], m[9]
        zone: tzinfo = self.tz
        if sign:
            offset = timedelta(hours=int(hours), minutes=int(minutes))
            zone = timezone(-offset if sign == "-" else offset)
        try:
            at = datetime(int(m[3]), month, int(m[1]), int(m[4]), int(m[5]), int(m[6]), tzinfo=zone)
        except ValueError:
            raise MalformedLine("bad timestamp") from None
        if second is not None:
            self._minute(key, at.replace(second=0))
        return self._store(text, at.astimezone(self.tz))


def _seconds(text: str, colon: int) -> int | None:
    """The seconds of a stamp whose ``:SS`` starts at ``colon`` and ends it (or is followed by a space), if
    they are two ASCII digits below 60; else None (the stamp is then read in full, and refused if bad)."""
    tens, units = text[colon + 1 : colon + 2], text[colon + 2 : colon + 3]
    if text[colon : colon + 1] != ":" or not ("0" <= tens <= "5" and "0" <= units <= "9"):
        return None
    if len(text) != colon + 3 and text[colon + 3 : colon + 4] != " ":
        return None
    return int(tens + units)


def _with_month(pattern: re.Pattern[str], text: str, group: int) -> tuple[re.Match[str], int]:
    """The match of a timestamp naming its month in English (``Nov``), and that month's number."""
    m = pattern.fullmatch(text)
    month = MONTHS.get(m[group]) if m else None
    if m is None or month is None:
        raise MalformedLine("bad timestamp")
    return m, month
