"""The refusals of the meeting verbs: each message names the field or object, so a user can act on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


class MeetingsError(ValueError):
    """A change to bridge points or meetings was refused; the message names the field or object."""


@dataclass(frozen=True)
class Conflict:
    point_id: int
    point_name: str
    meeting_id: int
    meeting_title: str
    starts_at: dt.datetime
    ends_at: dt.datetime


class MeetingConflict(MeetingsError):
    """Some chosen bridge points are already held; ``conflicts`` lists each with the meeting holding it."""

    def __init__(self, conflicts: Sequence[Conflict], tz: dt.tzinfo) -> None:
        self.conflicts = list(conflicts)
        self.tz = tz
        parts = [
            f"{c.point_name} is held by “{c.meeting_title}” "
            f"({c.starts_at.astimezone(tz):%d/%m/%Y %H:%M}–{c.ends_at.astimezone(tz):%H:%M})"
            for c in self.conflicts
        ]
        super().__init__("bridge points busy: " + "; ".join(parts))
