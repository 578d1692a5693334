"""The fast way through Dovecot's file log (audit.fastlines) counts exactly what the line reader counts, and
hands back to it every block it cannot vouch for."""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

import pytest

from audit.events import DEFAULT_TZ, MalformedLine
from audit.fastlines import count_dovecot_block
from audit.fastroundcube import count_roundcube_block
from audit.parsing import LogParser
from audit.tally import DailyTally
from audit.timestamps import Clock

REF = datetime(2026, 3, 1, tzinfo=DEFAULT_TZ)
STANDARD = [
    "2026-02-03 07:59:58 lmtp(an@gialai.gov.vn)<20030><XUxKFlykTPWWpXN1>: Info: msgid=<0009E3779B1>: "
    "saved mail to INBOX",
    "2026-02-03 08:00:00 imap-login: Info: Login: user=<An@GiaLai.gov.vn>, method=PLAIN, rip=10.1.1.7, lip=10.0.0.2, "
    "mpid=5512, TLS, session=<SgXc3wQ0ZtQKAQEH>",
    "2026-02-03 08:00:01 pop3-login: Info: Logged in: user=<binh@gialai.gov.vn>, method=PLAIN, rip=10.1.1.8, "
    "lip=10.0.0.2, mpid=5513, TLS, session=<Tg3c3wQ0ZtQKAQEH>",
    "2026-02-03 08:00:02 submission-login: Info: Login: user=<an@gialai.gov.vn>, method=PLAIN, rip=10.1.1.7, "
    "lip=10.0.0.2, mpid=5514, TLS, session=<Ug3c3wQ0ZtQKAQEH>",
    "2026-02-03 08:00:03 imap-login: Info: Disconnected: Connection closed (auth failed, 3 attempts in 7 secs): "
    "user=<ghost@gialai.gov.vn>, method=PLAIN, rip=113.1.2.3, lip=10.0.0.2, TLS, session=<Vg3c3wQ0ZtQKAQEH>",
    "2026-02-03 08:00:04 imap-login: Info: Login aborted: Connection closed (auth failed, 1 attempts in 2 secs) "
    "(auth_failed): user=<an@gialai.gov.vn>, method=PLAIN, rip=10.1.1.7, lip=10.0.0.2, TLS, session=<Wg3c3wQ0ZtQK>",
    "2026-02-03 08:00:05 pop3-login: Info: Aborted login (auth failed, 1 attempts in 2 secs): user=<>, method=PLAIN, "
    "rip=113.1.2.4, lip=10.0.0.2, session=<Xg3c3wQ0ZtQK>",
    "2026-02-03 08:00:06 managesieve-login: Info: Login: user=<an@gialai.gov.vn>, method=PLAIN, rip=10.0.0.5, "
    "lip=10.0.0.2, mpid=5515, session=<Yg3c3wQ0ZtQK>",
    "2026-02-03 09:00:00 imap(an@gialai.gov.vn)<5512><SgXc3wQ0ZtQKAQEH>: Info: Connection closed (IDLE running for "
    "0.002 + waiting input for 1794.512 secs, 2 B in + 10+10 B out, state=wait-input) in=202 out=28981 deleted=0 "
    "expunged=0 trashed=0 hdr_count=17 hdr_bytes=11050 body_count=2 body_bytes=14970",
    "2026-02-03 09:00:01 imap(An@gialai.gov.vn)<5516><Zg3c3wQ0ZtQK>: Info: Disconnected: Logged out in=32 out=788 "
    "deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0",
    "2026-02-04 00:00:02 pop3(binh@gialai.gov.vn)<5513><Tg3c3wQ0ZtQKAQEH>: Info: Disconnected: Logged out top=0/0, "
    "retr=4/81234, del=0/12, size=512000",
    "2026-02-03 23:59:59 imap(chau@gialai.gov.vn)<5517><ag3c3wQ0ZtQK>: Info: Disconnected for inactivity in=1 out=9 "
    "deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=1 body_bytes=5",
    "2026-02-03 09:00:02 auth: Info: ldap(an@gialai.gov.vn,10.1.1.7,<SgXc3wQ0ZtQKAQEH>): Password mismatch",
]
# Lines the fast way leaves to the line reader (the block goes the usual way), each with its reason.
UNUSUAL = {
    "a figure in the reason": "2026-02-03 09:10:00 imap(an@gialai.gov.vn)<1><b>: Info: Disconnected: out=5 seen "
    "in=1 out=2 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=3 body_bytes=4",
    "another logout format": "2026-02-03 09:10:01 imap(an@gialai.gov.vn)<1><b>: Info: Logged out in=1 out=2 "
    "body_count=3",
    "no such day": "2026-02-30 09:10:02 imap-login: Info: Login: user=<an@gialai.gov.vn>, method=PLAIN, rip=1.2.3.4",
    "a login without a user": "2026-02-03 09:10:03 imap-login: Info: Login: user=<>, method=PLAIN, rip=1.2.3.4",
    "two markers": "2026-02-03 09:10:04 imap-login: Info: Login: user=<an@gialai.gov.vn>, (auth failed, 1 attempts",
    "a marker in another process": "2026-02-03 09:10:05 auth: Info: passdb in: user=<an@gialai.gov.vn> done",
    "no space after the stamp": "2026-02-03 09:10:06\timap-login: Info: Login: user=<an@gialai.gov.vn>, rip=1.2.3.4",
    "syslog inside the file": "Feb  3 09:10:07 mail01 dovecot: imap-login: Login: user=<an@gialai.gov.vn>, rip=1.2.3.4",
    "a refusal in other words": "2026-02-03 09:10:08 pop3-login: Info: Disconnected (auth failed, 1 attempts in 2 "
    "secs): rip=113.1.2.9, user=<an@gialai.gov.vn>",
}


def _both_ways(block: str, tz: tzinfo = DEFAULT_TZ) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """(what the line reader makes of the block, what count_blocks makes of it), everything the tally holds."""
    out = []
    for fast in (False, True):
        parser = LogParser(reference=REF, tz=tz)
        tally = DailyTally(tz)
        if fast:
            parser.count_blocks([block], tally)
        else:
            tally.add_all(parser.parse_blocks([block]))
        out.append(held(parser, tally))
    return out[0], out[1]


def held(parser: LogParser, tally: DailyTally) -> tuple[object, ...]:
    """Everything a parser and its tally hold after reading: what the two ways must agree on."""
    return (
        tally.days,
        tally.last_seen,
        tally.first,
        tally.last,
        parser.lines,
        parser.events,
        parser.malformed,
        parser.examples,
        parser.latest,
        parser.waiting_submissions,
        parser.queue_dropped,
    )


def test_the_usual_lines_go_the_fast_way_and_count_the_same() -> None:
    block = "\n".join(STANDARD) + "\n"
    counts = count_dovecot_block(block)
    assert counts is not None
    assert counts.events == 10  # the managesieve login, the delivery and the auth process's line are not use
    reader, fast = _both_ways(block)
    assert fast == reader
    days = reader[0]
    assert days["an@gialai.gov.vn", datetime(2026, 2, 3).date()][:5] == [1, 0, 0, 1, 1]
    assert days["", datetime(2026, 2, 3).date()][4] == 1  # the refusal that names no one
    assert days["binh@gialai.gov.vn", datetime(2026, 2, 4).date()][8:] == [4, 81234]


@pytest.mark.parametrize("unusual", list(UNUSUAL), ids=list(UNUSUAL))
def test_a_block_the_fast_way_cannot_vouch_for_is_read_line_by_line(unusual: str) -> None:
    block = "\n".join([*STANDARD[:6], UNUSUAL[unusual], *STANDARD[6:]]) + "\n"
    assert count_dovecot_block(block) is None
    reader, fast = _both_ways(block)
    assert fast == reader


def test_blocks_counted_together_equal_blocks_counted_one_by_one() -> None:
    """LogParser.count_blocks joins runs of Dovecot's file into one; a run with an unusual line in one of its
    blocks is counted block by block, the others still the fast way."""
    plain = "\n".join(STANDARD) + "\n"
    odd = "\n".join([*STANDARD, UNUSUAL["a login without a user"]]) + "\n"
    blocks = [plain, odd, plain, plain]
    one_by_one = LogParser(reference=REF)
    expected = DailyTally(DEFAULT_TZ)
    for block in blocks:
        one_by_one.count_blocks([block], expected, first_line=one_by_one.lines + 1)
    together = LogParser(reference=REF)
    tally = DailyTally(DEFAULT_TZ)
    together.count_blocks(blocks, tally)
    assert (tally.days, tally.last_seen) == (expected.days, expected.last_seen)
    assert together.examples == one_by_one.examples == [(len(STANDARD) * 2 + 1, UNUSUAL["a login without a user"])]


def test_line_counts_given_by_the_caller_count_what_the_parser_counts_itself() -> None:
    """A caller that counted each block's newlines hands them over (audit.ingest, audit.parallel); the lines, line
    numbers and counters are those of a parser counting them itself, a last block without its newline included."""
    odd = "\n".join([*STANDARD, UNUSUAL["a login without a user"]]) + "\n"
    blocks = ["\n".join(STANDARD) + "\n", odd, "\n".join(STANDARD)]  # the last one ends without a newline
    itself, given = LogParser(reference=REF), LogParser(reference=REF)
    expected, tally = DailyTally(DEFAULT_TZ), DailyTally(DEFAULT_TZ)
    itself.count_blocks(blocks, expected)
    given.count_blocks(blocks, tally, line_counts=[b.count("\n") for b in blocks])
    assert given.lines == itself.lines == len(STANDARD) * 3 + 1
    assert (tally.days, tally.last_seen) == (expected.days, expected.last_seen)
    assert given.examples == itself.examples == [(len(STANDARD) * 2 + 1, UNUSUAL["a login without a user"])]


# -- Roundcube's file: the same, one pattern for its login lines ------------------------------------------

ROUNDCUBE = [
    "[03-Feb-2026 08:00:00 +0700]: <b81fd7c2> Successful login for An@GiaLai.gov.vn (ID: 4237) from 14.163.21.165 "
    "in session b81fd7c22cef346ad60bd831a6",
    "[3-Feb-2026 08:00:05 +0700]: <a5a79e0f> Successful login for binh@gialai.gov.vn (ID: 12) from 14.178.242.215",
    "[03-Feb-2026 23:59:59 +0700]: <d9dcd23b> Failed login for ghost@gialai.gov.vn from 113.1.2.3 in session x "
    "(error: 49)",
    "[04-Feb-2026 00:00:01 +0700]: <d9dcd23c> Successful login for an@gialai.gov.vn (ID: 4237) from 14.163.21.165",
    "[03-Feb-2026 09:00:00 +0700]: <d9dcd23d> Successful login for an@gialai.gov.vn from 14.163.21.165",
    "[03-Feb-2026 09:00:01 +0700]: <d9dcd23e> Failed login for an@gialai.gov.vn (ID: 4237) from 14.163.21.9",
]
# Lines the fast way leaves to the line reader (the block goes the usual way), each with its reason.
ROUNDCUBE_UNUSUAL = {
    "another offset": "[03-Feb-2026 01:00:00 +0000]: <aa> Successful login for an@gialai.gov.vn from 1.2.3.4",
    "no offset": "[03-Feb-2026 08:10:00]: <aa> Successful login for an@gialai.gov.vn from 1.2.3.4",
    "no such day": "[30-Feb-2026 08:10:01 +0700]: <aa> Successful login for an@gialai.gov.vn from 1.2.3.4",
    "a login without a user": "[03-Feb-2026 08:10:02 +0700]: <aa> Successful login for  from 1.2.3.4",
    "a failure without a user": "[03-Feb-2026 08:10:03 +0700]: <aa> Failed login for  from 1.2.3.4",
    "no address it came from": "[03-Feb-2026 08:10:04 +0700]: <aa> Successful login for an@gialai.gov.vn",
    "two markers": "[03-Feb-2026 08:10:05 +0700]: <aa> Successful login for an@gialai.gov.vn from 1.2.3.4 "
    "after a Failed login for an@gialai.gov.vn from 1.2.3.4",
    "an address with a space": "[03-Feb-2026 08:10:06 +0700]: <aa> Successful login for an nguyen from 1.2.3.4",
    "syslog inside the file": "Feb  3 08:10:07 mail01 roundcube: <aa> Successful login for an@gialai.gov.vn "
    "from 1.2.3.4",
}


def test_roundcube_lines_go_the_fast_way_and_count_the_same() -> None:
    block = "\n".join(ROUNDCUBE) + "\n"
    counts = count_roundcube_block(block, DEFAULT_TZ)
    assert counts is not None
    assert counts.events == 6
    reader, fast = _both_ways(block)
    assert fast == reader
    days = reader[0]
    assert days["an@gialai.gov.vn", datetime(2026, 2, 3).date()][2:5] == [2, 0, 1]
    assert days["ghost@gialai.gov.vn", datetime(2026, 2, 3).date()][4] == 1
    assert reader[1]["an@gialai.gov.vn", "webmail"] == datetime(2026, 2, 4, 0, 0, 1, tzinfo=DEFAULT_TZ)


@pytest.mark.parametrize("unusual", list(ROUNDCUBE_UNUSUAL), ids=list(ROUNDCUBE_UNUSUAL))
def test_a_roundcube_block_the_fast_way_cannot_vouch_for_is_read_line_by_line(unusual: str) -> None:
    block = "\n".join([*ROUNDCUBE[:3], ROUNDCUBE_UNUSUAL[unusual], *ROUNDCUBE[3:]]) + "\n"
    assert count_roundcube_block(block, DEFAULT_TZ) is None
    reader, fast = _both_ways(block)
    assert fast == reader


def test_a_roundcube_day_on_which_the_zone_changes_its_offset_is_read_line_by_line() -> None:
    """Berlin on 29 March 2026 is +0100 before 02:00 and +0200 after: neither offset holds all day."""
    berlin = ZoneInfo("Europe/Berlin")
    lines = [
        "[29-Mar-2026 01:30:00 +0100]: <aa> Successful login for an@gialai.gov.vn from 1.2.3.4",
        "[29-Mar-2026 03:30:00 +0200]: <ab> Successful login for an@gialai.gov.vn from 1.2.3.4",
        "[28-Mar-2026 23:30:00 +0100]: <ac> Successful login for binh@gialai.gov.vn from 1.2.3.4",
    ]
    assert count_roundcube_block("\n".join(lines) + "\n", berlin) is None
    assert count_roundcube_block(lines[2] + "\n", berlin) is not None
    reader, fast = _both_ways("\n".join(lines) + "\n", berlin)
    assert fast == reader


# -- timestamps: a minute read once, its seconds added ------------------------------------------------


def _fresh(method: str, text: str, reference: datetime) -> datetime:
    return getattr(Clock(DEFAULT_TZ, reference), method)(text)


@pytest.mark.parametrize(
    ("method", "stamps"),
    [
        ("local", [f"2026-02-03 08:15:{s:02d}" for s in (0, 7, 59, 31)]),
        ("syslog", [f"Feb  3 08:15:{s:02d}" for s in (0, 7, 59, 31)]),
        ("roundcube", [f"3-Feb-2026 08:15:{s:02d} {z}" for s in (0, 7, 59) for z in ("+0700", "+0000", "-0330")]),
        ("roundcube", [f"03-Feb-2026 23:59:{s:02d}" for s in (1, 58)]),
    ],
)
def test_a_cached_minute_gives_what_reading_each_stamp_afresh_gives(method: str, stamps: list[str]) -> None:
    clock = Clock(DEFAULT_TZ, REF)
    for text in stamps:
        assert getattr(clock, method)(text) == _fresh(method, text, REF), text


def test_the_minute_a_day_after_the_files_time_is_split_between_two_years() -> None:
    """Classic syslog's year: a stamp more than a day after the file's mtime is last year's, to the second."""
    reference = datetime(2026, 11, 25, 12, 0, 30, tzinfo=DEFAULT_TZ)
    clock = Clock(DEFAULT_TZ, reference)
    assert clock.syslog("Nov 26 12:00:10").year == 2026
    assert clock.syslog("Nov 26 12:00:50").year == 2025
    assert clock.syslog("Nov 26 12:00:29").year == 2026
    assert clock.syslog("Nov 26 12:01:00").year == 2025


@pytest.mark.parametrize("text", ["2026-02-03 08:15:60", "2026-02-30 08:15:01", "2026-02-03 08:15:0x"])
def test_a_bad_second_is_refused_even_in_a_minute_already_read(text: str) -> None:
    clock = Clock(DEFAULT_TZ, REF)
    clock.local("2026-02-03 08:15:00")
    with pytest.raises(MalformedLine):
        clock.local(text)
