"""What a mail log says about use: the events the parser reads from lines and the tally counts.

Raw lines are never kept (they hold addresses and IPs nobody asked to store): only these small events.
Plain (not frozen) slotted dataclasses: a frozen one costs three times as much to build, and a busy log
makes a million of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("imap", "pop3", "webmail", "smtp")


@dataclass(slots=True)
class Login:
    """A successful interactive access (IMAP/POP3 login, webmail login, authenticated SMTP submission)."""

    at: datetime
    address: str
    channel: str
    ok: bool = True  # the parser reports failures as FailedAuth; ok=False is accepted by the tally too


@dataclass(slots=True)
class Fetched:
    """The end of an IMAP or POP3 session: message bodies the client fetched, and bytes sent to it."""

    at: datetime
    address: str
    channel: str
    bodies: int
    bytes: int


@dataclass(slots=True)
class Sent:
    """A message an authenticated user submitted (one per queue id, whatever the number of recipients)."""

    at: datetime
    address: str
    recipients: int
    size: int


@dataclass(slots=True)
class FailedAuth:
    """A refused login. ``address`` is None when the log does not name one (Postfix SASL failures)."""

    at: datetime
    address: str | None
    channel: str
    ip: str | None
    attempts: int = 1  # Dovecot logs one line per connection, saying how many attempts it made


Event = Login | Fetched | Sent | FailedAuth


class MalformedLine(ValueError):
    """A line of one of our programs that cannot be read; the parser counts it and keeps an example."""
