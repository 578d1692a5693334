"""What each program's lines say: Dovecot (2.3 and 2.4), Postfix and Roundcube, after the timestamp.

Each reader gets the timestamp text, the clock reader for its form, the line and where the message starts;
it returns an event, None for a line that is not about use, or raises :class:`MalformedLine`.

Dovecot 2.3 and 2.4 (Debian 13) word logins differently; each line is read by what it says, so a file
that spans the upgrade is read whole:

- a successful login: 2.3 ``imap-login: Info: Login: user=<…>, method=PLAIN, rip=…, mpid=…, session=<…>``,
  2.4 ``imap-login: Info: Logged in: user=<…>, …`` (the same fields);
- a refused one: 2.3 ``Disconnected: … (auth failed, 1 attempts in 2 secs): user=<…>``, 2.4 ``Login aborted:
  … (auth failed, 1 attempts in 2 secs) (auth_failed): user=<…>``. Only ``auth failed`` is a failed login:
  the other reasons a login is aborted for (``no_auth_attempts``, ``auth_aborted_by_client``,
  ``tls_handshake_not_finished``, ``user_disabled``…) are a client that gave up or an account refused on
  purpose, in both versions;
- the session's end, ``imap(user)<pid><session>: Info: Disconnected: Logged out in=… out=… body_count=…``
  (POP3: ``retr=N/bytes``), is the same in both;
- the auth process's own lines (``auth: ldap(user,ip,<session>): Password mismatch``) repeat what the login
  process says and are not counted again.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TypeVar

from audit.events import Event, FailedAuth, Fetched, Login, MalformedLine, Sent
from audit.timestamps import Stamp

# A line is read only if it carries one of its program's markers (see audit.parsing).
# "in: user=<" ends both Dovecot 2.3's "Login: user=<" and 2.4's "Logged in: user=<": one scan for both.
DOVECOT_MARKERS = ("in: user=<", "(auth failed, ", "body_count=", ", retr=")
POSTFIX_MARKERS = ("sasl_username=", "authentication failed")
ROUNDCUBE_MARKERS = (" login for ",)
# Text that marks a line as one of our programs' even when its header cannot be read.
KNOWN_MARKERS = ("postfix", "dovecot", "-login: ", " login for ", "body_count=", "sasl_username=")
WEBMAIL_SESSION_CAP = 20_000
_LOGIN_CHANNELS = {"imap-login": "imap", "pop3-login": "pop3", "submission-login": "smtp"}
_LOGGED_IN = ("Login: ", "Logged in: ")  # Dovecot 2.3, 2.4

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

_V = TypeVar("_V")


def unknown(line: str) -> None:
    """A line whose header cannot be read: malformed if it names one of our programs, else ignored."""
    if any(marker in line for marker in KNOWN_MARKERS):
        raise MalformedLine("unreadable header")
    return None


def bounded_put(mapping: dict[str, _V], key: str, value: _V, cap: int) -> bool:
    """Insert, evicting the oldest entry past ``cap``; True if something was evicted."""
    mapping[key] = value
    if len(mapping) > cap:
        del mapping[next(iter(mapping))]
        return True
    return False


class DovecotLines:
    """Dovecot's login, refusal and session-end lines.

    ``webmail_ips``: logins from these addresses are Roundcube's own IMAP sessions (one per page it serves);
    Roundcube's log counts the login, so they are not counted again, and their session ends are webmail's.
    """

    __slots__ = ("webmail_ips", "webmail_sessions")

    def __init__(self, webmail_ips: Collection[str] = ()) -> None:
        self.webmail_ips = frozenset(webmail_ips)
        self.webmail_sessions: dict[str, None] = {}  # Roundcube's IMAP sessions, until their end

    def read(self, stamp: str, clock: Stamp, line: str, start: int) -> Event | None:
        colon = line.find(": ", start)
        if colon < 0:
            return unknown(line)
        process = line[start:colon]
        pos = colon + 2
        if line.startswith("Info: ", pos):  # the file form names the level; syslog carries it out of band
            pos += 6
        if process.endswith("-login"):
            channel = _LOGIN_CHANNELS.get(process)
            if channel is None:
                return None
            if line.startswith(_LOGGED_IN, pos):
                return self._login(stamp, clock, line, pos, channel)
            if line.find("(auth failed, ", pos) >= 0:
                return self._failed(stamp, clock, line, pos, channel)
            return None
        return self._session_end(stamp, clock, line, process, pos)

    def _login(self, stamp: str, clock: Stamp, line: str, pos: int, channel: str) -> Login | None:
        m = _USER_RE.search(line, pos)
        if m is None or not m[1]:
            raise MalformedLine("Login line without user=<...>")
        at = clock(stamp)
        if self.webmail_ips:
            rip = _RIP_RE.search(line, pos)
            if rip is not None and rip[1] in self.webmail_ips:
                session = _SESSION_RE.search(line, pos)
                if session is not None:
                    bounded_put(self.webmail_sessions, session[1], None, WEBMAIL_SESSION_CAP)
                return None
        return Login(at, m[1].lower(), channel)

    def _failed(self, stamp: str, clock: Stamp, line: str, pos: int, channel: str) -> FailedAuth | None:
        attempts = _ATTEMPTS_RE.search(line, pos)
        if attempts is None:
            raise MalformedLine("auth failure without its number of attempts")
        user = _USER_RE.search(line, pos)
        rip = _RIP_RE.search(line, pos)
        ip = rip[1] if rip else None
        at = clock(stamp)
        if ip is not None and ip in self.webmail_ips:
            return None  # Roundcube's own log has this failure, with the browser's address
        address = user[1].lower() if user and user[1] else None
        return FailedAuth(at, address, channel, ip, int(attempts[1]))

    def _session_end(self, stamp: str, clock: Stamp, line: str, process: str, pos: int) -> Fetched | None:
        """``imap(user)<pid><session>: … out=N … body_count=N`` or ``pop3(user)…: … retr=N/bytes``."""
        paren = process.find("(")
        service = process[:paren] if paren > 0 else ""
        if service == "imap":
            count = _BODY_COUNT_RE.search(line, pos)
            if count is None:
                return None
            out = _OUT_RE.search(line, pos)
            if out is None:
                raise MalformedLine("IMAP session end without out=")
            bodies, sent_bytes = int(count[1]), int(out[1])
        elif service == "pop3":
            if line.find("retr=", pos) < 0:
                return None
            m = _POP3_END_RE.search(line, pos)
            if m is None:
                raise MalformedLine("POP3 session end without retr=")
            bodies, sent_bytes = int(m[1]), int(m[2])
        else:
            return None
        close = process.find(")", paren)
        address = process[paren + 1 : close].lower() if close > paren else ""
        if not address:
            raise MalformedLine("session end without a user")
        channel = service
        if self.webmail_sessions:
            session = process[process.rfind("<") + 1 : -1] if process.endswith(">") else ""
            if session in self.webmail_sessions:
                del self.webmail_sessions[session]
                channel = "webmail"
        return Fetched(clock(stamp), address, channel, bodies, sent_bytes)


class PostfixLines:
    """Submissions, attributed by queue id, and SASL failures.

    smtpd's ``QID: client=..., sasl_username=`` line names the user; the first qmgr ``QID: from=<...>, size=``
    line of that queue id is the message (qmgr repeats it when a deferred message is retried). Only queue
    ids with a SASL user are remembered, until their qmgr ``from=`` or ``removed`` line, at most
    ``queue_cap`` of them and for at most ``queue_max_age`` of log time (a submission rejected by a content
    filter never reaches qmgr); ``dropped`` counts those given up.
    """

    __slots__ = ("dropped", "queue", "queue_cap", "queue_max_age", "registered", "webmail_ips")

    def __init__(self, queue_cap: int, queue_max_age: timedelta, webmail_ips: Collection[str] = ()) -> None:
        self.queue: dict[str, tuple[str, datetime]] = {}  # queue id -> (SASL user, when), until qmgr's line
        self.queue_cap = queue_cap
        self.queue_max_age = queue_max_age
        self.registered: str | None = None  # the queue id the line just read registered
        self.dropped = 0
        self.webmail_ips = frozenset(webmail_ips)

    def read(self, stamp: str, clock: Stamp, tag: str, line: str, start: int) -> Event | None:
        if "/qmgr" in tag:
            queue = self.queue
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
                    raise MalformedLine("qmgr from= line without size= or nrcpt=")
                return Sent(clock(stamp), waiting[0], int(m[2]), int(m[1]))
            if line.startswith("removed", colon + 2):
                del queue[qid]
            return None
        if "authentication failed" in line:
            return self._sasl_failure(stamp, clock, line, start)
        if "sasl_username=" in line:
            return self._submission(stamp, clock, line, start)
        return None

    def expire(self, latest: datetime) -> None:
        """Give up on submissions older than ``queue_max_age`` before ``latest``: their qmgr line is not coming."""
        cutoff = latest - self.queue_max_age
        stale = [qid for qid, (_, at) in self.queue.items() if at < cutoff]
        for qid in stale:
            del self.queue[qid]
        self.dropped += len(stale)

    def _submission(self, stamp: str, clock: Stamp, line: str, start: int) -> Login | None:
        """``QID: client=name[ip], sasl_method=PLAIN, sasl_username=user``: remember who submitted QID."""
        mark = line.find(": client=", start)
        if mark < 0:
            return None
        qid = line[start:mark]
        open_bracket = line.find("[", mark)
        close_bracket = line.find("]", open_bracket)
        user = _SASL_USER_RE.search(line, close_bracket) if open_bracket > 0 and close_bracket > 0 else None
        if user is None or not qid.isalnum():
            raise MalformedLine("client= line with an unreadable queue id, client or sasl_username")
        address, ip = user[1].lower(), line[open_bracket + 1 : close_bracket]
        at = clock(stamp)
        if bounded_put(self.queue, qid, (address, at), self.queue_cap):
            self.dropped += 1
        self.registered = qid
        if ip in self.webmail_ips:
            return None  # Roundcube submitting for its user: the Sent still counts, the login is webmail's
        return Login(at, address, "smtp")

    @staticmethod
    def _sasl_failure(stamp: str, clock: Stamp, line: str, start: int) -> FailedAuth | None:
        """``warning: host[ip]: SASL PLAIN authentication failed: ...`` (a username only if the build logs it)."""
        if line.find("SASL", start) < 0:
            return None
        m = _SASL_FAIL_RE.search(line, start)
        if m is None:
            raise MalformedLine("SASL failure without a client address")
        user = _SASL_USER_RE.search(line, m.end())
        return FailedAuth(clock(stamp), user[1].lower() if user else None, "smtp", m[1])


def roundcube_line(stamp: str, clock: Stamp, line: str, start: int) -> Event | None:
    """``<sess> Successful login for user (ID: n) from ip in session …`` or ``Failed login for …``."""
    if line.find(" login for ", start) < 0:
        return None
    m = _ROUNDCUBE_LOGIN_RE.search(line, start)
    if m is None:
        raise MalformedLine("Roundcube login line without 'from <ip>'")
    at = clock(stamp)
    address = m[2].strip().lower()
    if m[1] == "Successful":
        if not address:
            raise MalformedLine("Roundcube login without a user")
        return Login(at, address, "webmail")
    return FailedAuth(at, address or None, "webmail", m[3])
