"""Email-usage events from Dovecot, Postfix and Roundcube logs, and their tally per mailbox and day.

This is the pure half of log ingestion: no database. Lines become small events (raw lines are never kept,
they hold addresses and IPs nobody asked to store); events become counters per (address, local date).
The database side remembers, per file, ``(file_identity(path), offset)`` and resumes with
:func:`read_blocks` (or :func:`read_from`, line by line), so re-reading a file, or a rotated file plus its
successor, never counts a line twice.

Log forms understood (see the project brief):

- Dovecot's own file log, local time without a zone: ``2026-11-22 06:11:46 imap-login: Info: Login: ...``;
- syslog, classic (``Nov 22 06:11:46 host prog[pid]: ...``, no year) or RFC 3339
  (``2026-11-22T06:11:46.123456+07:00 host prog: ...``), for Dovecot, Postfix and Roundcube;
- Roundcube's ``userlogins`` file: ``[23-Feb-2024 10:15:00 +0700]: <sess> Successful login for ...``.

Speed matters: a month of a province's mail log is millions of lines, and the target is four times the
speed of ``pflogsumm``. So lines are not read one by one: a block of a megabyte is searched with ``str.find``
for a few fixed markers (memory speed, in C), and only the lines that carry one are parsed. Regular
expressions and datetime construction run only on those, and timestamps are cached by their text.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from itertools import groupby, islice
from pathlib import Path
from typing import IO, TypeVar
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("imap", "pop3", "webmail", "smtp")
MAX_EXAMPLES = 20  # malformed lines kept as examples, with their line numbers
EXAMPLE_CHARS = 300  # an example is cut here: enough to see what went wrong, never a whole runaway line
QUEUE_CAP = 20_000  # Postfix queue ids waiting for their qmgr line; a live server has a few at a time
QUEUE_MAX_AGE = timedelta(hours=1)  # qmgr takes a message in within seconds, minutes on a jammed server
WEBMAIL_SESSION_CAP = 20_000
IDENTITY_LIMIT = 64 * 1024  # a first line longer than this is identified by its first 64 KiB
GZIP_MAGIC = b"\x1f\x8b"
BLOCK_BYTES = 1 << 20  # read_blocks reads this much at a time
_BATCH_LINES = 8192  # lines joined into one block by LogParser.parse_lines
# A line is read only if it carries one of its program's markers; see _markers_for for which are looked for.
_DOVECOT_MARKERS = ("Login: user=<", "(auth failed, ", "body_count=", ", retr=")
_POSTFIX_MARKERS = ("sasl_username=", "authentication failed")
_ROUNDCUBE_MARKERS = (" login for ",)
_ALL_MARKERS = _DOVECOT_MARKERS + _POSTFIX_MARKERS + _ROUNDCUBE_MARKERS
# Text that marks a line as one of our programs' even when its header cannot be read.
_KNOWN_MARKERS = ("postfix", "dovecot", "-login: ", " login for ", "body_count=", "sasl_username=")
_CACHE_LIMIT = 4096  # distinct timestamps cached; logs are in time order so old entries are never needed again
_LOGIN_CHANNELS = {"imap-login": "imap", "pop3-login": "pop3", "submission-login": "smtp"}
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}


# -- events -------------------------------------------------------------------------------------------
# Plain (not frozen) slotted dataclasses: a frozen one costs three times as much to build, and a busy log
# makes a million of them.


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


class LogFileError(ValueError):
    """A remembered offset does not fit the file: it was rewritten or truncated under the same identity."""


class _Malformed(ValueError):
    """Raised inside the parser for a line of one of our programs that cannot be read."""


# -- timestamps ---------------------------------------------------------------------------------------

_LOCAL_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
_SYSLOG_RE = re.compile(r"([A-Z][a-z]{2}) ([ 0-9][0-9]) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
_RFC3339_RE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_ROUNDCUBE_RE = re.compile(
    r"([0-9]{1,2})-([A-Z][a-z]{2})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?: ([+-])([0-9]{2}):?([0-9]{2}))?"
)


class _Clock:
    """Timestamp text to an aware datetime in ``tz``, cached by the text: consecutive lines share a second."""

    __slots__ = ("_cache", "_latest_plausible", "reference", "tz")

    def __init__(self, tz: tzinfo, reference: datetime) -> None:
        self.tz = tz
        self.reference = reference.replace(tzinfo=tz) if reference.tzinfo is None else reference.astimezone(tz)
        self._latest_plausible = self.reference + timedelta(days=1)
        self._cache: dict[str, datetime] = {}

    def _store(self, key: str, at: datetime) -> datetime:
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = at
        return at

    def local(self, text: str) -> datetime:
        """Dovecot's ``log_timestamp = "%Y-%m-%d %H:%M:%S "``: local time, no zone."""
        at = self._cache.get(text)
        if at is not None:
            return at
        m = _LOCAL_RE.fullmatch(text)
        if m is None:
            raise _Malformed("bad timestamp")
        year, month, day, hour, minute, second = map(int, m.groups())
        try:
            at = datetime(year, month, day, hour, minute, second, tzinfo=self.tz)
        except ValueError:
            raise _Malformed("bad timestamp") from None
        return self._store(text, at)

    def syslog(self, text: str) -> datetime:
        """Classic syslog ``Nov 22 06:11:46``: the year is inferred from the reference (the file's mtime)."""
        at = self._cache.get(text)
        if at is not None:
            return at
        m = _SYSLOG_RE.fullmatch(text)
        month = _MONTHS.get(m[1]) if m else None
        if m is None or month is None:
            raise _Malformed("bad timestamp")
        return self._store(text, self._infer_year(month, int(m[2]), int(m[3]), int(m[4]), int(m[5])))

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
                raise _Malformed("bad timestamp") from None
        return at

    def rfc3339(self, text: str) -> datetime:
        """Syslog's RFC 3339 form; cached by the text without its fraction of a second."""
        m = _RFC3339_RE.fullmatch(text)
        if m is None:
            raise _Malformed("bad timestamp")
        day, clock, fraction, offset = m.groups()
        key = f"{day}T{clock}{offset or ''}"
        at = self._cache.get(key)
        if at is None:
            try:
                parsed = datetime.fromisoformat(key)
            except ValueError:
                raise _Malformed("bad timestamp") from None
            at = self._store(key, parsed.replace(tzinfo=self.tz) if offset is None else parsed.astimezone(self.tz))
        if fraction:
            at = at.replace(microsecond=int(fraction[:6].ljust(6, "0")))
        return at

    def roundcube(self, text: str) -> datetime:
        """Roundcube's default ``log_date_format`` ``d-M-Y H:i:s O``: ``23-Feb-2024 10:15:00 +0700``."""
        at = self._cache.get(text)
        if at is not None:
            return at
        m = _ROUNDCUBE_RE.fullmatch(text)
        month = _MONTHS.get(m[2]) if m else None
        if m is None or month is None:
            raise _Malformed("bad timestamp")
        sign, hours, minutes = m[7], m[8], m[9]
        zone: tzinfo = self.tz
        if sign:
            offset = timedelta(hours=int(hours), minutes=int(minutes))
            zone = timezone(-offset if sign == "-" else offset)
        try:
            at = datetime(int(m[3]), month, int(m[1]), int(m[4]), int(m[5]), int(m[6]), tzinfo=zone)
        except ValueError:
            raise _Malformed("bad timestamp") from None
        return self._store(text, at.astimezone(self.tz))


# -- parsing ------------------------------------------------------------------------------------------

_USER_RE = re.compile(r"user=<([^>]*)>")
_RIP_RE = re.compile(r"rip=([^,\s]+)")
_SESSION_RE = re.compile(r"session=<([^>]*)>")
_ATTEMPTS_RE = re.compile(r"\(auth failed, ([0-9]+) attempts?")
_OUT_RE = re.compile(r" out=([0-9]+)")
_BODY_COUNT_RE = re.compile(r"body_count=([0-9]+)")
_POP3_END_RE = re.compile(r"retr=([0-9]+)/([0-9]+)")
_SASL_FAIL_RE = re.compile(r"warning: [^\[\s]*\[([^\]\s]*)\]:(?:[0-9]+:)? SASL \S+ authentication failed")
_SASL_USER_RE = re.compile(r"sasl_username=([^\s,]+)")
_QMGR_FROM_RE = re.compile(r"size=([0-9]+), nrcpt=([0-9]+)")
_ROUNDCUBE_LOGIN_RE = re.compile(r"(Successful|Failed) login for (.*?)(?: \(ID: [0-9]+\))? from (\S+)")

_Stamp = Callable[[str], datetime]
_V = TypeVar("_V")


class LogParser:
    """Turns log lines into events, counting what it read, ignored and could not read.

    Only lines carrying a marker of an event are looked at (``Login: user=<``, ``(auth failed, ``,
    ``body_count=``, ``, retr=``, ``sasl_username=``, ``authentication failed``, `` login for ``, and qmgr
    lines while a submission waits for one). ``str.find`` for a few fixed strings runs at memory speed, and
    most lines of a mail log (deliveries, connections, other programs) carry none: those are ``ignored``
    unread. A marked line that cannot be read (bad timestamp, truncated) is ``malformed``; up to 20 of them
    are kept in ``examples`` as ``(line number, text)``.

    Postfix submissions are attributed by queue id: smtpd's ``client=..., sasl_username=`` line, then the
    first qmgr ``from=`` line of that queue id (qmgr repeats it when a deferred message is retried). Only
    queue ids with a SASL user are remembered, until their qmgr ``from=`` or ``removed`` line, at most
    ``queue_cap`` of them and for at most ``queue_max_age`` of log time (a submission rejected by a content
    filter never reaches qmgr); ``queue_dropped`` counts those given up.

    ``tz`` is the zone of timestamps that carry none (Dovecot's file, classic syslog): the mail server's
    own, in which Dovecot and syslog write; events come out in it.

    One parser can read several files in turn (a rotated file, then its successor): a submission whose qmgr
    line landed in the next file is still counted. Set :attr:`reference` to each file's mtime before reading
    it, for classic syslog lines, which carry no year. ``webmail_ips``: Dovecot logins from these addresses
    are Roundcube's own IMAP sessions (one per page it serves) and SMTP submissions from them are Roundcube
    sending; Roundcube's log already counts those logins, so they are not counted again (the messages are).
    """

    def __init__(
        self,
        *,
        reference: datetime,
        tz: tzinfo = DEFAULT_TZ,
        queue_cap: int = QUEUE_CAP,
        queue_max_age: timedelta = QUEUE_MAX_AGE,
        webmail_ips: Collection[str] = (),
    ) -> None:
        self.tz = tz
        self.lines = 0
        self.events = 0
        self.malformed = 0
        self.examples: list[tuple[int, str]] = []
        self.queue_dropped = 0
        self._clock = _Clock(tz, reference)
        self._queue: dict[str, tuple[str, datetime]] = {}  # queue id -> (SASL user, when), until qmgr's line
        self._queue_cap = queue_cap
        self._queue_max_age = queue_max_age
        self._registered: str | None = None  # the queue id the line just read registered
        self._latest: datetime | None = None  # the time of the latest event
        self._webmail_ips = frozenset(webmail_ips)
        self._webmail_sessions: dict[str, None] = {}

    @property
    def ignored(self) -> int:
        return self.lines - self.events - self.malformed

    @property
    def reference(self) -> datetime:
        return self._clock.reference

    @reference.setter
    def reference(self, value: datetime) -> None:
        self._clock = _Clock(self.tz, value)  # cached classic-syslog years depended on the old one

    @property
    def pending_queue_ids(self) -> int:
        return len(self._queue)

    def parse(self, line: str) -> Event | None:
        """One line (with or without its newline): its event or None. The slow way; see :meth:`parse_blocks`."""
        for event in self._block(line if line.endswith("\n") else line + "\n", self.lines, 1):
            return event
        return None

    def parse_lines(self, lines: Iterable[str], *, first_line: int = 1) -> Iterator[Event]:
        """Events of ``lines`` in order; the lines either all end with a newline or none do (the last may not).

        Lines are joined into blocks and read like :meth:`parse_blocks`. Counters are up to date at each event
        and when the lines run out.
        """
        it = iter(lines)
        number = first_line - 1
        while batch := list(islice(it, _BATCH_LINES)):
            joiner = "" if batch[0].endswith("\n") else "\n"
            # Lines given one by one may mix forms (a file never does): each run of one form is a block.
            for _, run in groupby(batch, key=_line_form):
                lines_of_run = list(run)
                text = joiner.join(lines_of_run)
                if not text.endswith("\n"):
                    text += "\n"
                yield from self._block(text, number, len(lines_of_run))
                number += len(lines_of_run)

    def parse_blocks(self, blocks: Iterable[str], *, first_line: int = 1) -> Iterator[Event]:
        """Events of blocks of whole lines, each ending with a newline (as :func:`read_blocks` gives them)."""
        number = first_line - 1
        for text in blocks:
            if not text.endswith("\n"):
                text += "\n"
            count = text.count("\n")
            yield from self._block(text, number, count)
            number += count

    def _block(self, text: str, number: int, count: int) -> Iterator[Event]:
        """The events of one block of lines, in order; ``number`` lines came before it."""
        queue = self._queue
        if queue:
            self._expire_queue()
        # A submission from an earlier block still waits: read every qmgr line of this one. Otherwise each
        # submission's qmgr line is looked for just after it, a few lines further on.
        follow_qmgr = bool(queue)
        self.lines += count
        last_start = -1
        for hit in _find_markers(text, follow_qmgr):
            if hit & 1 and not queue:
                continue
            pos = hit >> 1
            start = text.rfind("\n", 0, pos) + 1
            if start == last_start:
                continue  # a second marker on a line already read
            last_start = start
            end = text.find("\n", pos)
            event = self._read(text, start, end, number)
            if event is not None:
                yield event
            if self._registered is not None:
                qid, self._registered = self._registered, None
                if not follow_qmgr:
                    found = text.find(f" {qid}: from=<", end)
                    if found >= 0:
                        event = self._read(text, text.rfind("\n", 0, found) + 1, text.find("\n", found), number)
                        if event is not None:
                            yield event

    def _read(self, text: str, start: int, end: int, number: int) -> Event | None:
        """One line of a block, counted as an event or as malformed (with its line number)."""
        line = text[start:end]
        try:
            event = self._parse_line(line)
        except _Malformed:
            self.malformed += 1
            if len(self.examples) < MAX_EXAMPLES:
                self.examples.append((number + text.count("\n", 0, start) + 1, line[:EXAMPLE_CHARS]))
            return None
        if event is not None:
            self.events += 1
            self._latest = event.at
        return event

    def _expire_queue(self) -> None:
        """Give up on submissions older than ``queue_max_age``: their qmgr line is not coming."""
        if self._latest is None:
            return
        cutoff = self._latest - self._queue_max_age
        stale = [qid for qid, (_, at) in self._queue.items() if at < cutoff]
        for qid in stale:
            del self._queue[qid]
        self.queue_dropped += len(stale)

    def _parse_line(self, line: str) -> Event | None:
        """Dispatch on the timestamp's shape, which says which log form the line is in."""
        if line[:1] == "[":
            close = line.find("]: ")
            if close < 0:
                return self._unknown(line)
            return self._roundcube(line[1:close], self._clock.roundcube, line, close + 3)
        if line[4:5] == "-":
            separator = line[10:11]
            if separator == " ":
                return self._dovecot(line[:19], self._clock.local, line, 20)
            if separator == "T":
                space = line.find(" ")
                if space > 0:
                    return self._syslog(line[:space], self._clock.rfc3339, line, space + 1)
            return self._unknown(line)
        if line[3:4] == " " and line[15:16] == " ":
            return self._syslog(line[:15], self._clock.syslog, line, 16)
        return self._unknown(line)

    @staticmethod
    def _unknown(line: str) -> None:
        """A line whose header cannot be read: malformed if it names one of our programs, else ignored."""
        if any(marker in line for marker in _KNOWN_MARKERS):
            raise _Malformed("unreadable header")
        return None

    def _syslog(self, stamp: str, clock: _Stamp, line: str, start: int) -> Event | None:
        """``host tag[pid]: message`` after the timestamp; the tag says which program wrote it."""
        host_end = line.find(" ", start)
        tag_end = line.find(": ", host_end) if host_end > 0 else -1
        if tag_end < 0:
            return self._unknown(line)
        tag = line[host_end + 1 : tag_end]
        if tag.startswith("postfix"):
            return self._postfix(stamp, clock, tag, line, tag_end + 2)
        if tag.startswith("dovecot"):
            return self._dovecot(stamp, clock, line, tag_end + 2)
        if tag.startswith("roundcube"):
            return self._roundcube(stamp, clock, line, tag_end + 2)
        return None

    # -- Dovecot --

    def _dovecot(self, stamp: str, clock: _Stamp, line: str, start: int) -> Event | None:
        """``imap-login: [Info: ]Login: ...``, ``...(auth failed, N attempts...)``, ``imap(user)...: ... out=``."""
        colon = line.find(": ", start)
        if colon < 0:
            return self._unknown(line)
        process = line[start:colon]
        pos = colon + 2
        if line.startswith("Info: ", pos):  # the file form names the level; syslog carries it out of band
            pos += 6
        if process.endswith("-login"):
            channel = _LOGIN_CHANNELS.get(process)
            if channel is None:
                return None
            if line.startswith("Login: ", pos):
                return self._dovecot_login(stamp, clock, line, pos, channel)
            if line.find("auth failed", pos) >= 0:
                return self._dovecot_failed(stamp, clock, line, pos, channel)
            return None
        paren = process.find("(")
        service = process[:paren] if paren > 0 else ""
        if service == "imap":
            count = _BODY_COUNT_RE.search(line, pos)
            if count is None:
                return None
            out = _OUT_RE.search(line, pos)
            if out is None:
                raise _Malformed("IMAP session end without out=")
            bodies, sent_bytes = int(count[1]), int(out[1])
        elif service == "pop3":
            if line.find("retr=", pos) < 0:
                return None
            m = _POP3_END_RE.search(line, pos)
            if m is None:
                raise _Malformed("POP3 session end without retr=")
            bodies, sent_bytes = int(m[1]), int(m[2])
        else:
            return None
        close = process.find(")", paren)
        address = process[paren + 1 : close].lower() if close > paren else ""
        if not address:
            raise _Malformed("session end without a user")
        channel = service
        if self._webmail_sessions:
            session = process[process.rfind("<") + 1 : -1] if process.endswith(">") else ""
            if session in self._webmail_sessions:
                del self._webmail_sessions[session]
                channel = "webmail"
        return Fetched(clock(stamp), address, channel, bodies, sent_bytes)

    def _dovecot_login(self, stamp: str, clock: _Stamp, line: str, pos: int, channel: str) -> Login | None:
        m = _USER_RE.search(line, pos)
        if m is None or not m[1]:
            raise _Malformed("Login line without user=<...>")
        at = clock(stamp)
        if self._webmail_ips:
            rip = _RIP_RE.search(line, pos)
            if rip is not None and rip[1] in self._webmail_ips:
                session = _SESSION_RE.search(line, pos)
                if session is not None:
                    _bounded_put(self._webmail_sessions, session[1], None, WEBMAIL_SESSION_CAP)
                return None
        return Login(at, m[1].lower(), channel)

    def _dovecot_failed(self, stamp: str, clock: _Stamp, line: str, pos: int, channel: str) -> FailedAuth | None:
        attempts = _ATTEMPTS_RE.search(line, pos)
        if attempts is None:
            raise _Malformed("auth failure without its number of attempts")
        user = _USER_RE.search(line, pos)
        rip = _RIP_RE.search(line, pos)
        ip = rip[1] if rip else None
        at = clock(stamp)
        if ip is not None and ip in self._webmail_ips:
            return None  # Roundcube's own log has this failure, with the browser's address
        address = user[1].lower() if user and user[1] else None
        return FailedAuth(at, address, channel, ip, int(attempts[1]))

    # -- Postfix --

    def _postfix(self, stamp: str, clock: _Stamp, tag: str, line: str, start: int) -> Event | None:
        """Submissions: smtpd's ``QID: client=..., sasl_username=``, then qmgr's ``QID: from=<...>, size=``."""
        if "/qmgr" in tag:
            queue = self._queue
            if not queue:
                return None
            colon = line.find(":", start)
            qid = line[start:colon]
            waiting = queue.get(qid)
            if waiting is None:
                return None
            # qmgr logs from= again each time a deferred message re-enters the active queue: count the first.
            if line.startswith("from=<", colon + 2):
                del queue[qid]
                m = _QMGR_FROM_RE.search(line, colon + 2)
                if m is None:
                    raise _Malformed("qmgr from= line without size= or nrcpt=")
                return Sent(clock(stamp), waiting[0], int(m[2]), int(m[1]))
            if line.startswith("removed", colon + 2):
                del queue[qid]
            return None
        if "authentication failed" in line:
            return self._sasl_failure(stamp, clock, line, start)
        if "sasl_username=" in line:
            return self._submission(stamp, clock, line, start)
        return None

    def _submission(self, stamp: str, clock: _Stamp, line: str, start: int) -> Login | None:
        """``QID: client=name[ip], sasl_method=PLAIN, sasl_username=user``: remember who submitted QID."""
        mark = line.find(": client=", start)
        if mark < 0:
            return None
        qid = line[start:mark]
        open_bracket = line.find("[", mark)
        close_bracket = line.find("]", open_bracket)
        user = _SASL_USER_RE.search(line, close_bracket) if open_bracket > 0 and close_bracket > 0 else None
        if user is None or not qid.isalnum():
            raise _Malformed("client= line with an unreadable queue id, client or sasl_username")
        address, ip = user[1].lower(), line[open_bracket + 1 : close_bracket]
        at = clock(stamp)
        if _bounded_put(self._queue, qid, (address, at), self._queue_cap):
            self.queue_dropped += 1
        self._registered = qid
        if ip in self._webmail_ips:
            return None  # Roundcube submitting for its user: the Sent still counts, the login is webmail's
        return Login(at, address, "smtp")

    def _sasl_failure(self, stamp: str, clock: _Stamp, line: str, start: int) -> FailedAuth | None:
        """``warning: host[ip]: SASL PLAIN authentication failed: ...`` (a username only if the build logs it)."""
        if line.find("SASL", start) < 0:
            return None
        m = _SASL_FAIL_RE.search(line, start)
        if m is None:
            raise _Malformed("SASL failure without a client address")
        user = _SASL_USER_RE.search(line, m.end())
        return FailedAuth(clock(stamp), user[1].lower() if user else None, "smtp", m[1])

    # -- Roundcube --

    def _roundcube(self, stamp: str, clock: _Stamp, line: str, start: int) -> Event | None:
        if line.find(" login for ", start) < 0:
            return None
        m = _ROUNDCUBE_LOGIN_RE.search(line, start)
        if m is None:
            raise _Malformed("Roundcube login line without 'from <ip>'")
        at = clock(stamp)
        address = m[2].strip().lower()
        if m[1] == "Successful":
            if not address:
                raise _Malformed("Roundcube login without a user")
            return Login(at, address, "webmail")
        return FailedAuth(at, address or None, "webmail", m[3])


def _line_form(line: str) -> tuple[str, ...] | None:
    """The markers worth looking for in a file whose lines look like this one; None if it looks like none."""
    if line[:1] == "[" and "]: " in line:
        return _ROUNDCUBE_MARKERS
    if line[4:5] == "-" and line[7:8] == "-" and line[13:14] == ":":
        separator = line[10:11]
        if separator == " ":
            return _DOVECOT_MARKERS  # Dovecot's own file
        if separator == "T":
            return ()  # RFC 3339 syslog: decided by the programs present
    elif line[:3] in _MONTHS and line[3:4] == " " and line[9:10] == ":":
        return ()  # classic syslog
    return None


def _markers_for(text: str) -> tuple[str, ...]:
    """The markers to look for in a block, from the form of its first readable line.

    A file is written in one form: Dovecot's file holds only Dovecot's lines, Roundcube's only Roundcube's.
    A syslog file mixes programs, so each program's markers are looked for only if its name appears (the
    test stops at the first occurrence, and spares several scans of a block that has none).
    """
    start = 0
    for _ in range(8):
        end = text.find("\n", start)
        form = _line_form(text[start : end if end >= 0 else len(text)])
        if form is not None:
            break
        if end < 0:
            return _ALL_MARKERS
        start = end + 1
    else:
        return _ALL_MARKERS
    if form:
        return form
    markers: tuple[str, ...] = ()
    if "postfix" in text:
        markers += _POSTFIX_MARKERS
    if " dovecot" in text:  # the syslog tag, after the host (not "private/dovecot-lmtp" in Postfix's lines)
        markers += _DOVECOT_MARKERS
    if "roundcube" in text:
        markers += _ROUNDCUBE_MARKERS
    return markers


def _find_markers(text: str, with_qmgr: bool) -> list[int]:
    """Positions of the markers in ``text``, sorted, shifted left one bit; qmgr positions have the low bit set."""
    hits: list[int] = []
    append = hits.append
    find = text.find
    markers = _markers_for(text)
    for marker in markers:
        i = find(marker)
        while i >= 0:
            append(i << 1)
            i = find(marker, i + 1)
    if with_qmgr and _POSTFIX_MARKERS[0] in markers:
        i = find("/qmgr[")
        while i >= 0:
            append(i << 1 | 1)
            i = find("/qmgr[", i + 1)
    hits.sort()
    return hits


def _bounded_put(mapping: dict[str, _V], key: str, value: _V, cap: int) -> bool:
    """Insert, evicting the oldest entry past ``cap``; True if something was evicted."""
    mapping[key] = value
    if len(mapping) > cap:
        del mapping[next(iter(mapping))]
        return True
    return False


def parse_lines(lines: Iterable[str], *, reference: datetime, tz: tzinfo = DEFAULT_TZ) -> Iterator[Event]:
    """Events of ``lines``; use :class:`LogParser` directly to read its counters afterwards."""
    return LogParser(reference=reference, tz=tz).parse_lines(lines)


# -- files --------------------------------------------------------------------------------------------


def open_log(path: Path | str) -> IO[bytes]:
    """The file's bytes, decompressed if it is gzip; decided by its magic bytes, since rotation names vary."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")  # the caller closes it


def file_identity(path: Path | str) -> str:
    """A hash of the first (decompressed) line: survives ``mail.log`` → ``mail.log.1`` → ``mail.log.2.gz``.

    ``""`` while the file has no complete line (empty, or its first line still being written): there is
    nothing to read yet, and so the identity never changes under a remembered offset.
    """
    with open_log(path) as fh:
        first = fh.readline(IDENTITY_LIMIT)
    if not first.endswith(b"\n") and len(first) < IDENTITY_LIMIT:
        return ""
    return hashlib.sha256(first).hexdigest()


def file_reference_time(path: Path | str, tz: tzinfo = DEFAULT_TZ) -> datetime:
    """The file's mtime: the last time a line went in, which fixes the year of classic syslog lines."""
    return datetime.fromtimestamp(Path(path).stat().st_mtime, tz)


def _resume(fh: IO[bytes], offset: int, path: Path | str) -> None:
    """Position ``fh`` at ``offset``, which must lie just after a newline (or be 0)."""
    if offset:
        fh.seek(offset - 1)  # a gzip file decompresses up to there
        if fh.read(1) != b"\n":
            raise LogFileError(f"{path}: offset {offset} is not at the end of a line of this file")


def read_from(path: Path | str, offset: int = 0) -> tuple[Iterator[str], Callable[[], int]]:
    """Lines (without their newline) from a decompressed byte offset, and a way to learn where they ended.

    The second value, called at any time, gives the offset just after the last line handed out; remember it
    with :func:`file_identity` to resume later. A last line without a newline is not handed out: the
    program may still be writing it. Invalid UTF-8 is replaced, never fatal. Raises :class:`LogFileError`
    (when iteration starts) if ``offset`` does not fall just after a newline of this file.
    """
    position = [offset]

    def lines() -> Iterator[str]:
        with open_log(path) as fh:
            _resume(fh, offset, path)
            pos = offset
            for raw in fh:
                if not raw.endswith(b"\n"):
                    return
                pos += len(raw)
                position[0] = pos
                yield raw[:-1].decode("utf-8", "replace")

    return lines(), lambda: position[0]


def read_blocks(
    path: Path | str, offset: int = 0, *, size: int = BLOCK_BYTES
) -> tuple[Iterator[str], Callable[[], int]]:
    """Like :func:`read_from`, but hands out blocks of whole lines (each ending with a newline), for speed.

    Decoding a megabyte at a time costs a fraction of decoding line by line. The offset is that after the
    last block handed out: store it once the parser has been through the whole block.
    """
    position = [offset]

    def blocks() -> Iterator[str]:
        with open_log(path) as fh:
            _resume(fh, offset, path)
            pos = offset
            pending = b""
            while chunk := fh.read(size):
                data = pending + chunk if pending else chunk
                cut = data.rfind(b"\n") + 1
                pending = data[cut:]
                if cut:
                    pos += cut
                    position[0] = pos
                    yield data[:cut].decode("utf-8", "replace")

    return blocks(), lambda: position[0]


# -- tally --------------------------------------------------------------------------------------------

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
        self.last_seen: dict[tuple[str, str], datetime] = {}
        self.unattributed: dict[date, DayUsage] = {}
        self.first: datetime | None = None  # the earliest and latest events seen
        self.last: datetime | None = None
        self._known = None if mailboxes is None else frozenset(a.lower() for a in mailboxes)
        self._names: dict[str, str] = {}  # one string per address, however many days it appears

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
        address = event.address
        if address is None or (self._known is not None and address not in self._known):
            usage = self.unattributed.get(day)
            if usage is None:
                usage = self.unattributed[day] = DayUsage()
            _count(usage, event)
            return
        address = self._names.setdefault(address, address)
        row = self.by_day.get(day)
        if row is None:
            row = self.by_day[day] = {}
        usage = row.get(address)
        if usage is None:
            usage = row[address] = DayUsage()
        seen_channel = _count(usage, event)
        if seen_channel is not None:
            key = (address, seen_channel)
            last = self.last_seen.get(key)
            if last is None or at > last:
                self.last_seen[key] = at

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
        return self.by_day.pop(day, {})

    def __len__(self) -> int:
        return sum(len(row) for row in self.by_day.values())


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
