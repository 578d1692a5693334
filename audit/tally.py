"""Events to counters per mailbox and local day, and last-seen per mailbox and channel; no database.

Memory grows with mailboxes × days, never with lines: a month of a province's log fits in a few MB.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from operator import add

from audit.events import DEFAULT_TZ, Event, Fetched, Login, Sent
from audit.fastlines import SEEN_CHANNELS, BlockCounts, day_of

COUNTERS = (
    "imap_logins",
    "pop3_logins",
    "webmail_logins",
    "smtp_logins",
    "failed_logins",
    "sent_messages",
    "sent_recipients",
    "sent_bytes",
    "fetched_bodies",
    "fetched_bytes",
)


@dataclass(slots=True)
class DayUsage:
    """One mailbox's use on one local day."""

    imap: int = 0  # successful logins, per channel
    pop3: int = 0
    webmail: int = 0
    smtp: int = 0
    failed: int = 0  # failed login attempts naming this address
    sent: int = 0  # messages submitted
    recipients: int = 0
    bytes_sent: int = 0
    bodies: int = 0  # message bodies fetched over IMAP/POP3
    bytes_fetched: int = 0

    def add_counts(self, values: list[int]) -> None:
        """Add counters given in the order of :data:`COUNTERS`."""
        self.imap += values[0]
        self.pop3 += values[1]
        self.webmail += values[2]
        self.smtp += values[3]
        self.failed += values[4]
        self.sent += values[5]
        self.recipients += values[6]
        self.bytes_sent += values[7]
        self.bodies += values[8]
        self.bytes_fetched += values[9]

    def logins(self) -> int:
        return self.imap + self.pop3 + self.webmail + self.smtp

    def counts(self) -> list[int]:
        """The counters in the order of :data:`COUNTERS` (the usage table's columns)."""
        return [
            self.imap,
            self.pop3,
            self.webmail,
            self.smtp,
            self.failed,
            self.sent,
            self.recipients,
            self.bytes_sent,
            self.bodies,
            self.bytes_fetched,
        ]


class DailyTally:
    """Counters per (address, local date) and last-seen per (address, channel), from events.

    Memory grows with mailboxes × days, never with lines. Give ``mailboxes`` (the known addresses) and
    events for any other address — attackers guessing names, mostly — are summed per day in
    :attr:`unattributed` instead of getting rows of their own; so are failures that name no address.
    """

    def __init__(self, tz: tzinfo = DEFAULT_TZ, *, mailboxes: Collection[str] | None = None) -> None:
        self.tz = tz
        self.by_day: dict[date, dict[str, DayUsage]] = {}
        self._last_seen: dict[tuple[str, str], datetime] = {}
        # Last-seen from blocks counted the fast way, as stamp texts (which sort like time): turned into
        # datetimes once, when read, instead of once per block.
        self._seen_text: dict[tuple[str, str], str] = {}
        self._at_of: Callable[[str], datetime] | None = None
        self.unattributed: dict[date, DayUsage] = {}
        self.first: datetime | None = None  # the earliest and latest events seen
        self.last: datetime | None = None
        self._known = None if mailboxes is None else frozenset(a.lower() for a in mailboxes)
        self._names: dict[str, str] = {}  # one string per address, however many days it appears
        self._cells: dict[tuple[date, str], DayUsage] = {}  # by_day's rows by (day, address): one lookup

    def add_all(self, events: Iterable[Event]) -> None:
        add = self.add
        for event in events:
            add(event)

    def add(self, event: Event) -> None:
        at = event.at
        if self.last is None or at > self.last:
            self.last = at
        if self.first is None or at < self.first:
            self.first = at
        day = at.date() if at.tzinfo is self.tz else at.astimezone(self.tz).date()
        usage, address = self._usage(day, event.address)
        seen_channel = _count(usage, event)
        if address is not None and seen_channel is not None:
            key = (address, seen_channel)
            last = self._last_seen.get(key)
            if last is None or at > last:
                self._last_seen[key] = at

    def _usage(self, day: date, address: str | None) -> tuple[DayUsage, str | None]:
        """The counters of ``address`` (lower case) on ``day``, made on first use, and the address as kept (one
        string per address); those of an address outside ``mailboxes``, or of none, are :attr:`unattributed`'s
        (and the address None)."""
        if address is None or (self._known is not None and address not in self._known):
            usage = self.unattributed.get(day)
            if usage is None:
                usage = self.unattributed[day] = DayUsage()
            return usage, None
        usage = self._cells.get((day, address))
        if usage is not None:
            return usage, address
        address = self._names.setdefault(address, address)
        row = self.by_day.get(day)
        if row is None:
            row = self.by_day[day] = {}
        usage = row.get(address)
        if usage is None:
            usage = row[address] = self._cells[day, address] = DayUsage()
        return usage, address

    @property
    def last_seen(self) -> dict[tuple[str, str], datetime]:
        """The latest event per (address, channel) that says the address was used on it."""
        if self._seen_text:
            at_of = self._at_of
            assert at_of is not None  # set with the first text
            seen = self._last_seen
            for key, stamp in self._seen_text.items():
                at = at_of(stamp)
                last = seen.get(key)
                if last is None or at > last:
                    seen[key] = at
            self._seen_text = {}
        return self._last_seen

    def add_block(self, counts: BlockCounts, at_of: Callable[[str], datetime]) -> None:
        """Add a block counted by :func:`audit.fastlines.count_dovecot_block`: the same as adding its events.

        ``at_of`` turns a stamp text into the datetime the line reader would have made of it.
        """
        if not counts.events:
            return
        usage_of = self._usage
        for address, day, values in _block_rows(counts):
            usage_of(day, address or None)[0].add_counts(values)
        self._add_seen_and_span(counts, at_of)

    def _add_seen_and_span(self, counts: BlockCounts, at_of: Callable[[str], datetime]) -> None:
        """A fast block's last-seen stamps (kept as texts until read) and its first and last event."""
        known = self._known
        if self._at_of is not None and self._at_of != at_of:
            self.last_seen  # noqa: B018 - texts read with another clock are turned into datetimes first
        self._at_of = at_of
        seen_text = self._seen_text
        for (written, service), stamp in counts.seen.items():
            lowered = written.lower()
            if known is not None and lowered not in known:
                continue
            key = (self._names.setdefault(lowered, lowered), SEEN_CHANNELS.get(service, service))
            if seen_text.get(key, "") < stamp:
                seen_text[key] = stamp
        first, last_at = at_of(counts.first), at_of(counts.last)
        if self.first is None or first < self.first:
            self.first = first
        if self.last is None or last_at > self.last:
            self.last = last_at

    def rows(self) -> Iterator[tuple[str, date, DayUsage]]:
        """(address, day, usage), by day then address."""
        for day in sorted(self.by_day):
            row = self.by_day[day]
            for address in sorted(row):
                yield address, day, row[address]

    @property
    def days(self) -> dict[tuple[str, date], list[int]]:
        """Every row as ``(address, day) -> counts`` in :data:`COUNTERS` order; unattributed ones under ``""``."""
        table = {(address, day): usage.counts() for day, row in self.by_day.items() for address, usage in row.items()}
        for day, usage in self.unattributed.items():
            table["", day] = usage.counts()
        return table

    def pop_day(self, day: date) -> dict[str, DayUsage]:
        """Hand over one day's rows and forget them (the caller has stored them)."""
        row = self.by_day.pop(day, {})
        for address in row:
            del self._cells[day, address]
        return row

    def __len__(self) -> int:
        return sum(len(row) for row in self.by_day.values())


def _block_rows(counts: BlockCounts) -> Iterator[tuple[str, date, list[int]]]:
    """A fast block's rows as (address in lower case, "" for failures naming none; date; counters)."""
    days: dict[str, date] = {}
    for (day_text, written), values in counts.rows.items():
        day = days.get(day_text)
        if day is None:
            day = days[day_text] = day_of(day_text)
        yield "" if written is None else written.lower(), day, values


def add_rows(into: dict[tuple[str, date], list[int]], rows: dict[tuple[str, date], list[int]]) -> None:
    """Add ``rows`` (counters in :data:`COUNTERS` order) into ``into``, row by row; a new row is taken as it is."""
    for key, counts in rows.items():
        mine = into.get(key)
        into[key] = counts if mine is None else list(map(add, mine, counts))


class RowTally(DailyTally):
    """A :class:`DailyTally` that hands its counters back as rows: what ingestion counts into, in this process
    (:func:`audit.ingest.ingest_file`'s sequential path) and in each worker of the parallel path.

    Blocks counted the fast way are added as rows straight away (``(address, day) -> counts``, a list per row)
    instead of a :class:`DayUsage` each: in a city of 300,000 mailboxes nearly every event of a task is a row of
    its own, so what a row costs is what a line costs. Events read line by line go the usual way; :attr:`days`
    holds both.
    """

    def __init__(self, tz: tzinfo = DEFAULT_TZ) -> None:
        super().__init__(tz)
        self._block_rows: dict[tuple[str, date], list[int]] = {}

    def add_block(self, counts: BlockCounts, at_of: Callable[[str], datetime]) -> None:
        if not counts.events:
            return
        rows = self._block_rows
        for address, day, values in _block_rows(counts):
            key = (address, day)
            mine = rows.get(key)
            rows[key] = values if mine is None else list(map(add, mine, values))
        self._add_seen_and_span(counts, at_of)

    @property
    def days(self) -> dict[tuple[str, date], list[int]]:
        table = DailyTally.days.fget(self)  # type: ignore[attr-defined]
        if not table:
            return self._block_rows
        add_rows(table, self._block_rows)
        return table

    def __len__(self) -> int:
        return super().__len__() + len(self._block_rows)


class TallyRows:
    """Counters in the shape the usage tables take them: ``days[(address, day)]`` in :data:`COUNTERS` order
    (address ``""`` for the unattributed), last-seen per (address, channel), the first and last event.

    What the parallel path adds its workers' tallies up in: a tally is handed over as rows, several are summed.
    """

    __slots__ = ("days", "first", "last", "last_seen")

    def __init__(self) -> None:
        self.days: dict[tuple[str, date], list[int]] = {}
        self.last_seen: dict[tuple[str, str], datetime] = {}
        self.first: datetime | None = None
        self.last: datetime | None = None

    @classmethod
    def of(cls, tally: DailyTally) -> TallyRows:
        rows = cls()
        rows.days = tally.days
        rows.last_seen = tally.last_seen
        rows.first, rows.last = tally.first, tally.last
        return rows

    def add(self, other: TallyRows) -> None:
        add_rows(self.days, other.days)
        seen = self.last_seen
        for key, at in other.last_seen.items():
            last = seen.get(key)
            if last is None or at > last:
                seen[key] = at
        if other.first is not None and (self.first is None or other.first < self.first):
            self.first = other.first
        if other.last is not None and (self.last is None or other.last > self.last):
            self.last = other.last

    def __len__(self) -> int:
        return len(self.days)


def _count(usage: DayUsage, event: Event) -> str | None:
    """Add one event to a day's counters; returns the channel the address was seen on, if it was."""
    if isinstance(event, Login):
        if not event.ok:
            usage.failed += 1
            return None
        channel = event.channel
        if channel == "imap":
            usage.imap += 1
        elif channel == "pop3":
            usage.pop3 += 1
        elif channel == "webmail":
            usage.webmail += 1
        elif channel == "smtp":
            usage.smtp += 1
        else:
            raise ValueError(f"unknown channel {channel!r}")
        return channel
    if isinstance(event, Fetched):
        usage.bodies += event.bodies
        usage.bytes_fetched += event.bytes
        return event.channel
    if isinstance(event, Sent):
        usage.sent += 1
        usage.recipients += event.recipients
        usage.bytes_sent += event.size
        return "smtp"
    usage.failed += event.attempts
    return None
