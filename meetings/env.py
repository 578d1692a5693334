"""What meetings need from the settings, handed to every verb that sends mail, signs links or looks for a time.

Its own module so that the verbs (``meetings.operations``) and the messages they queue (``meetings.invitations``)
both depend on it and never on each other's insides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from meetings.jitsi import JitsiConfig


@dataclass(frozen=True)
class MeetingEnv:
    """What meetings need from the settings: the local zone, Jitsi, defaults and the console's address."""

    tz: dt.tzinfo
    tzid: str
    jitsi: JitsiConfig
    public_url: str = ""
    buffer_minutes: int = 30
    working_hours: tuple[tuple[dt.time, dt.time], ...] = ()  # where "find a time" looks
    holidays: frozenset[dt.date] = frozenset()
    booking_horizon_days: int = 730  # meetings are booked at most this far ahead
