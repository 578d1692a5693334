"""Log lines to events: the pure half of log ingestion, which never touches the database.

Log forms understood (see the project brief), chosen per line by the shape of its timestamp:

- Dovecot's own file log, local time without a zone: ``2026-11-22 06:11:46 imap-login: Info: Login: ...``;
- syslog, classic (``Nov 22 06:11:46 host prog[pid]: ...``, no year) or RFC 3339
  (``2026-11-22T06:11:46.123456+07:00 host prog: ...``), for Dovecot, Postfix and Roundcube, both forms in
  one file if need be;
- Roundcube's ``userlogins`` file: ``[23-Feb-2024 10:15:00 +0700]: <sess> Successful login for ...``.

What each program's lines say, Dovecot 2.3's and 2.4's alike, is in :mod:`audit.programs`.

Speed matters: a month of a province's mail log is millions of lines, and the target is four times the
speed of ``pflogsumm``. So lines are not read one by one: a block of a megabyte is searched with ``str.find``
for a few fixed markers (memory speed, in C), and only the lines that carry one are parsed. Regular
expressions and datetime construction run only on those, and timestamps are cached by their text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime, timedelta, tzinfo
from itertools import groupby, islice

from audit.events import DEFAULT_TZ, Event, MalformedLine
from audit.fastlines import BlockCounts, count_dovecot_block
from audit.fastpostfix import count_postfix_block
from audit.fastroundcube import count_roundcube_block
from audit.markers import find_markers, first_form, line_form, markers_for
from audit.programs import (
    DOVECOT_MARKERS,
    ROUNDCUBE_MARKERS,
    DovecotLines,
    PostfixLines,
    roundcube_line,
    unknown,
)
from audit.tally import DailyTally
from audit.timestamps import Clock, Stamp

MAX_EXAMPLES = 20  # malformed lines kept as examples, with their line numbers
EXAMPLE_CHARS = 300  # an example is cut here: enough to see what went wrong, never a whole runaway line
QUEUE_CAP = 20_000  # Postfix queue ids waiting for their qmgr line; a live server has a few at a time
QUEUE_MAX_AGE = timedelta(hours=1)  # qmgr takes a message in within seconds, minutes on a jammed server
_BATCH_LINES = 8192  # lines joined into one block by LogParser.parse_lines
FAST_RUN_CHARS = 8 << 20  # blocks of Dovecot's file counted together: fewer, larger rows to add up


class LogParser:
    """Turns log lines into events, counting what it read, ignored and could not read.

    Only lines carrying a marker of an event are looked at (``in: user=<``, ``(auth failed, ``,
    ``body_count=``, ``, retr=``, ``sasl_username=``, ``authentication failed``, `` login for ``, and qmgr
    lines while a submission waits for one). ``str.find`` for a few fixed strings runs at memory speed, and
    most lines of a mail log (deliveries, connections, other programs) carry none: those are ``ignored``
    unread. A marked line that cannot be read (bad timestamp, truncated) is ``malformed``; up to 20 of them
    are kept in ``examples`` as ``(line number, text)``.

    Postfix submissions are attributed by queue id (see :class:`audit.programs.PostfixLines`); at most
    ``queue_cap`` wait for their qmgr line, for at most ``queue_max_age`` of log time; ``queue_dropped``
    counts those given up.

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
        self._clock = Clock(tz, reference)
        self._dovecot = DovecotLines(webmail_ips)
        self._postfix = PostfixLines(queue_cap, queue_max_age, webmail_ips)
        self._latest: datetime | None = None  # the time of the latest event

    @property
    def ignored(self) -> int:
        return self.lines - self.events - self.malformed

    @property
    def reference(self) -> datetime:
        return self._clock.reference

    @reference.setter
    def reference(self, value: datetime) -> None:
        self._clock = Clock(self.tz, value)  # cached classic-syslog years depended on the old one

    @property
    def pending_queue_ids(self) -> int:
        return len(self._postfix.queue)

    @property
    def queue_dropped(self) -> int:
        return self._postfix.dropped

    @property
    def latest(self) -> datetime | None:
        """The time of the latest event read (old Postfix submissions are given up on from it)."""
        return self._latest

    @property
    def waiting_submissions(self) -> dict[str, tuple[str, datetime]]:
        """Postfix submissions still waiting for their qmgr line: queue id → (SASL user, when), oldest first."""
        return self._postfix.queue

    def take_waiting(self, qid: str, waiting: tuple[str, datetime]) -> None:
        """Wait for the qmgr line of a submission another parser read (the parallel path's hand-over)."""
        self._postfix.queue[qid] = waiting

    def read_line(self, text: str, start: int, end: int, number: int) -> Event | None:
        """The line ``text[start:end]`` (``number`` lines before its block), counted like any other."""
        return self._read(text, start, end, number)

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
            for _, run in groupby(batch, key=line_form):
                lines_of_run = list(run)
                text = joiner.join(lines_of_run)
                if not text.endswith("\n"):
                    text += "\n"
                yield from self._block(text, number, len(lines_of_run))
                number += len(lines_of_run)

    def parse_blocks(self, blocks: Iterable[str], *, first_line: int = 1) -> Iterator[Event]:
        """Events of blocks of whole lines, each ending with a newline (as ``read_blocks`` gives them)."""
        number = first_line - 1
        for text in blocks:
            if not text.endswith("\n"):
                text += "\n"
            count = text.count("\n")
            yield from self._block(text, number, count)
            number += count

    def count_blocks(
        self,
        blocks: Iterable[str],
        tally: DailyTally,
        *,
        first_line: int = 1,
        line_counts: Iterable[int] | None = None,
    ) -> None:
        """Add the events of blocks of whole lines to ``tally``: the same as ``tally.add_all(parse_blocks(…))``.

        Runs of blocks of Dovecot's own file are counted together the fast way (:mod:`audit.fastlines`) when
        nothing needs the events one by one (no webmail addresses to tell apart, ``tally`` in the parser's
        zone, no Postfix submission waiting); a run the fast way cannot vouch for goes block by block.
        Blocks of Roundcube's file go the fast way of :mod:`audit.fastroundcube` and blocks of classic syslog
        that of :mod:`audit.fastpostfix` (no submission waiting from an earlier block) (``tally`` in the
        parser's zone), one by one.

        ``line_counts``, if given, are the blocks' ``count("\\n")`` as given (a caller that counted them already
        spares a second scan of every block).
        """
        number = first_line - 1
        same_zone = tally.tz is self.tz
        fast = not self._dovecot.webmail_ips and same_zone
        run: list[str] = []
        run_counts: list[int] = []
        counts = iter(line_counts) if line_counts is not None else None
        for text in blocks:
            count = next(counts) if counts is not None else text.count("\n")
            if not text.endswith("\n"):
                text += "\n"
                count += 1
            form = first_form(text) if same_zone else None
            if fast and form is DOVECOT_MARKERS:
                run.append(text)
                run_counts.append(count)
                if sum(map(len, run)) >= FAST_RUN_CHARS:
                    number = self._count_run(run, run_counts, number, tally)
                    run, run_counts = [], []
                continue
            number = self._count_run(run, run_counts, number, tally)
            run, run_counts = [], []
            if form == () and not self._postfix.queue and self._count_postfix(text, count, tally):
                number += count
                continue
            if form is not ROUNDCUBE_MARKERS or not self._count_fast(text, count, tally, self._roundcube_block):
                tally.add_all(self._block(text, number, count))
            number += count
        self._count_run(run, run_counts, number, tally)

    def _count_run(self, run: list[str], counts: list[int], number: int, tally: DailyTally) -> int:
        """Count blocks of Dovecot's file form (``counts``: their lines), together if the fast way can; the lines
        before the next."""
        if len(run) > 1 and not self._postfix.queue:
            text = "".join(run)
            count = sum(counts)
            if self._count_fast(text, count, tally, count_dovecot_block):
                return number + count
        for text, count in zip(run, counts, strict=True):
            if not self._count_fast(text, count, tally, count_dovecot_block):
                tally.add_all(self._block(text, number, count))
            number += count
        return number

    def _count_postfix(self, text: str, count: int, tally: DailyTally) -> bool:
        """Count a block of classic syslog the fast way of :mod:`audit.fastpostfix`; False if it needs the reader."""
        postfix = self._postfix
        found = count_postfix_block(text, markers_for(text), self._clock.syslog, postfix.queue_cap, postfix.webmail_ips)
        if found is None:
            return False
        self.lines += count
        postfix.queue.update(found.waiting)
        postfix.dropped += found.dropped
        if found.counts.events:
            self.events += found.counts.events
            tally.add_block(found.counts, self._clock.local)
            self._latest = self._clock.local(found.counts.last_in_order)
        return True

    def _roundcube_block(self, text: str) -> BlockCounts | None:
        return count_roundcube_block(text, self.tz)

    def _count_fast(
        self, text: str, count: int, tally: DailyTally, counter: Callable[[str], BlockCounts | None]
    ) -> bool:
        """Count a block the fast way of ``counter``, without events; False (nothing done) if it needs the reader."""
        counts = counter(text)
        if counts is None:
            return False
        if self._postfix.queue and self._latest is not None:
            self._postfix.expire(self._latest)  # as _block does at the start of every block
        self.lines += count
        if counts.events:
            self.events += counts.events
            tally.add_block(counts, self._clock.local)
            self._latest = self._clock.local(counts.last_in_order)
        return True

    def _block(self, text: str, number: int, count: int) -> Iterator[Event]:
        """The events of one block of lines, in order; ``number`` lines came before it."""
        postfix = self._postfix
        queue = postfix.queue
        if queue and self._latest is not None:
            postfix.expire(self._latest)
        # A submission from an earlier block still waits: read every qmgr line of this one. Otherwise each
        # submission's qmgr line is looked for just after it, a few lines further on.
        follow_qmgr = bool(queue)
        self.lines += count
        last_start = -1
        for hit in find_markers(text, follow_qmgr):
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
            if postfix.registered is not None:
                qid, postfix.registered = postfix.registered, None
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
        except MalformedLine:
            self.malformed += 1
            if len(self.examples) < MAX_EXAMPLES:
                self.examples.append((number + text.count("\n", 0, start) + 1, line[:EXAMPLE_CHARS]))
            return None
        if event is not None:
            self.events += 1
            self._latest = event.at
        return event

    def _parse_line(self, line: str) -> Event | None:
        """Dispatch on the timestamp's shape, which says which log form the line is in."""
        if line[:1] == "[":
            close = line.find("]: ")
            if close < 0:
                return unknown(line)
            return roundcube_line(line[1:close], self._clock.roundcube, line, close + 3)
        if line[4:5] == "-":
            separator = line[10:11]
            if separator == " ":
                return self._dovecot.read(line[:19], self._clock.local, line, 20)
            if separator == "T":
                space = line.find(" ")
                if space > 0:
                    return self._syslog(line[:space], self._clock.rfc3339, line, space + 1)
            return unknown(line)
        if line[3:4] == " " and line[15:16] == " ":
            return self._syslog(line[:15], self._clock.syslog, line, 16)
        return unknown(line)

    def _syslog(self, stamp: str, clock: Stamp, line: str, start: int) -> Event | None:
        """``host tag[pid]: message`` after the timestamp; the tag says which program wrote it."""
        host_end = line.find(" ", start)
        tag_end = line.find(": ", host_end) if host_end > 0 else -1
        if tag_end < 0:
            return unknown(line)
        tag = line[host_end + 1 : tag_end]
        if tag.startswith("postfix"):
            return self._postfix.read(stamp, clock, tag, line, tag_end + 2)
        if tag.startswith("dovecot"):
            return self._dovecot.read(stamp, clock, line, tag_end + 2)
        if tag.startswith("roundcube"):
            return roundcube_line(stamp, clock, line, tag_end + 2)
        return None


def parse_lines(lines: Iterable[str], *, reference: datetime, tz: tzinfo = DEFAULT_TZ) -> Iterator[Event]:
    """Events of ``lines``; use :class:`LogParser` directly to read its counters afterwards."""
    return LogParser(reference=reference, tz=tz).parse_lines(lines)
