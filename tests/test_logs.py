"""Email-usage log ingestion, the pure part: every log form, year inference, files, offsets and the tally."""

import gzip
import imaplib
import importlib.util
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from audit.events import DEFAULT_TZ, FailedAuth, Fetched, Login, Sent
from audit.logfiles import LogFileError, file_identity, open_log, read_blocks, read_from
from audit.parsing import MAX_EXAMPLES, LogParser, parse_lines
from audit.tally import COUNTERS, DailyTally

TZ = DEFAULT_TZ
REF = datetime(2026, 11, 25, 12, 0, tzinfo=TZ)

DOVECOT_LOGIN = (
    "2026-11-22 06:11:46 imap-login: Info: Login: user=<U1@gialai.gov.vn>, method=PLAIN, rip=127.0.0.1, "
    "lip=127.0.0.1, mpid=7046, secured, session=<T1glWtdgHNl/AAAB>"
)
DOVECOT_LOGOUT = (
    "2026-11-22 06:12:00 imap(u1@gialai.gov.vn)<7046><T1glWtdgHNl/AAAB>: Info: Disconnected: Logged out in=32 "
    "out=788 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=2 body_bytes=5120"
)
SUBMISSION = (
    "Nov 22 06:11:46 mail01 postfix/submission/smtpd[10377]: 875FC50C1625: client=unknown[1.2.3.4], "
    "sasl_method=PLAIN, sasl_username=Ali@Example.com"
)
QMGR_FROM = (
    "Nov 22 06:11:47 mail01 postfix/qmgr[9021]: 875FC50C1625: from=<ali@example.com>, size=1620, nrcpt=3 (queue active)"
)
ROUNDCUBE_OK = (
    "[23-Feb-2024 10:15:00 +0700]: <a1b2c3d4> Successful login for User@Tinh.gov.vn (ID: 42) from 203.0.113.5 "
    "in session a1b2c3d4e5f6"
)


def events(lines, reference=REF, **options):
    return list(LogParser(reference=reference, **options).parse_lines(lines))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


# -- Dovecot --------------------------------------------------------------------------------------------


def test_dovecot_file_login_and_session_end() -> None:
    login, end = events([DOVECOT_LOGIN, DOVECOT_LOGOUT])
    assert login == Login(at(2026, 11, 22, 6, 11, 46), "u1@gialai.gov.vn", "imap")
    assert end == Fetched(at(2026, 11, 22, 6, 12), "u1@gialai.gov.vn", "imap", bodies=2, bytes=788)
    assert login.at.tzinfo is TZ


def test_dovecot_pop3_login_and_end_count_retrieved_messages() -> None:
    lines = [
        "2026-11-24 06:55:39 pop3-login: Info: Login: user=<u1@gialai.gov.vn>, method=PLAIN, rip=10.1.2.3, "
        "lip=10.0.0.2, mpid=8219, TLS, session=<kpS3MgBhqOh/AAAB>",
        "2026-11-24 06:55:40 pop3(u1@gialai.gov.vn)<8219><kpS3MgBhqOh/AAAB>: Info: Disconnected: Logged out "
        "top=0/0, retr=1/1200, del=0/1, size=1200",
        "2026-11-24 07:10:40 pop3(u1@gialai.gov.vn)<8299><kpS3MgBhqOh/AAAC>: Info: Disconnected for inactivity "
        "top=0/0, retr=0/0, del=0/1, size=1200",
    ]
    assert events(lines) == [
        Login(at(2026, 11, 24, 6, 55, 39), "u1@gialai.gov.vn", "pop3"),
        Fetched(at(2026, 11, 24, 6, 55, 40), "u1@gialai.gov.vn", "pop3", bodies=1, bytes=1200),
        Fetched(at(2026, 11, 24, 7, 10, 40), "u1@gialai.gov.vn", "pop3", bodies=0, bytes=0),
    ]


def test_imap_idle_and_inactivity_ends_are_session_ends_too() -> None:
    tail = "in=290 out=3104 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=1 body_bytes=900"
    lines = [
        f"2026-11-24 09:00:00 imap(a@b.vn)<1><s1>: Info: Connection closed (IDLE running for 0.001 + waiting "
        f"input for 28.914 secs, 2 B in + 10+10 B out, state=wait-input) {tail}",
        f"2026-11-24 09:30:00 imap(a@b.vn)<2><s2>: Info: Disconnected for inactivity {tail}",
    ]
    assert [(e.bodies, e.bytes) for e in events(lines)] == [(1, 3104), (1, 3104)]


@pytest.mark.parametrize(
    ("message", "address", "attempts"),
    [
        # Dovecot 2.3.19 (the project's), as the real server printed them in the session fixture
        ("Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<U1@gialai.gov.vn>",
         "u1@gialai.gov.vn", 1),
        ("Disconnected: Connection closed (auth failed, 3 attempts in 26 secs): user=<nobody@gialai.gov.vn>",
         "nobody@gialai.gov.vn", 3),
        # other 2.x wordings
        ("Disconnected (auth failed, 1 attempts in 2 secs): user=<x@y.vn>", "x@y.vn", 1),
        ("Aborted login (auth failed, 1 attempts in 2 secs): user=<x@y.vn>", "x@y.vn", 1),
        ("Disconnected: Inactivity (auth failed, 2 attempts in 180 secs): user=<x@y.vn>", "x@y.vn", 2),
        ("Login aborted: Connection closed (auth failed, 1 attempts in 2 secs) (auth_failed): user=<>", None, 1),
    ],
)  # fmt: skip
def test_dovecot_failed_logins(message: str, address: str | None, attempts: int) -> None:
    line = f"2026-11-24 06:55:13 imap-login: Info: {message}, method=PLAIN, rip=45.1.2.3, lip=10.0.0.2, secured"
    assert events([line]) == [FailedAuth(at(2026, 11, 24, 6, 55, 13), address, "imap", "45.1.2.3", attempts)]


def test_dovecot_lines_that_are_not_usage_are_ignored() -> None:
    lines = [
        "2026-11-24 06:55:11 master: Info: Dovecot v2.3.19.1 (9b53102964) starting up for imap, pop3",
        "2026-11-24 06:55:11 imap-login: Info: Disconnected: Connection closed (no auth attempts in 0 secs): "
        "user=<>, rip=127.0.0.1, lip=127.0.0.1, secured, session=<wT4MMQBhZLR/AAAB>",
        "2026-11-24 06:55:12 lmtp(u1@gialai.gov.vn)<9><s>: Info: msgid=<x@y>: saved mail to INBOX",
        "2026-11-24 06:55:12 imap(u1@gialai.gov.vn)<9><s>: Error: Mailbox INBOX: open() failed: Permission denied",
    ]
    parser = LogParser(reference=REF)
    assert list(parser.parse_lines(lines)) == []
    assert (parser.lines, parser.events, parser.ignored, parser.malformed) == (4, 0, 4, 0)


@pytest.mark.parametrize(
    ("line", "expected_at"),
    [
        ("Nov 22 06:11:46 mail01 dovecot: imap-login: Login: user=<A@b.vn>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8",
         at(2026, 11, 22, 6, 11, 46)),
        ("Nov  2 06:11:46 mail01 dovecot[812]: imap-login: Login: user=<A@b.vn>, method=PLAIN, rip=1.2.3.4",
         at(2026, 11, 2, 6, 11, 46)),
        ("2026-11-22T06:11:46.123456+07:00 mail01 dovecot: imap-login: Login: user=<A@b.vn>, method=PLAIN",
         at(2026, 11, 22, 6, 11, 46, 123456)),
        ("2026-11-21T23:11:46Z mail01 dovecot: imap-login: Login: user=<A@b.vn>, method=PLAIN, rip=1.2.3.4",
         at(2026, 11, 22, 6, 11, 46)),
        ("2026-11-22T06:11:46 mail01 dovecot: imap-login: Login: user=<A@b.vn>, method=PLAIN, rip=1.2.3.4",
         at(2026, 11, 22, 6, 11, 46)),
    ],
)  # fmt: skip
def test_dovecot_through_syslog_classic_and_rfc3339(line: str, expected_at: datetime) -> None:
    (login,) = events([line])
    assert login == Login(expected_at, "a@b.vn", "imap")
    assert login.at.utcoffset() == timedelta(hours=7)


def test_dovecot_syslog_session_end() -> None:
    line = (
        "Nov 22 06:12:00 mail01 dovecot: imap(u1@gialai.gov.vn)<7046><T1glWtdgHNl/AAAB>: Disconnected: Logged out "
        "in=32 out=788 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=2 body_bytes=5120"
    )
    assert events([line]) == [Fetched(at(2026, 11, 22, 6, 12), "u1@gialai.gov.vn", "imap", 2, 788)]


def test_webmail_hosts_imap_sessions_are_webmail_not_imap() -> None:
    """Roundcube logs in to IMAP for its user on every page: not a desktop client, and not a second login."""
    lines = [
        "2026-11-22 08:00:00 imap-login: Info: Login: user=<a@b.vn>, method=PLAIN, rip=10.0.0.5, lip=10.0.0.2, "
        "mpid=1, TLS, session=<webmail1>",
        "2026-11-22 08:00:01 imap(a@b.vn)<1><webmail1>: Info: Disconnected: Logged out in=1 out=900 deleted=0 "
        "expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=1 body_bytes=500",
        "2026-11-22 08:00:02 imap-login: Info: Login: user=<a@b.vn>, method=PLAIN, rip=10.9.9.9, lip=10.0.0.2, "
        "mpid=2, TLS, session=<desktop1>",
        "2026-11-22 08:00:03 imap-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): user=<a@b.vn>, "
        "method=PLAIN, rip=10.0.0.5, lip=10.0.0.2, TLS",
    ]
    assert events(lines, webmail_ips={"10.0.0.5"}) == [
        Fetched(at(2026, 11, 22, 8, 0, 1), "a@b.vn", "webmail", 1, 900),
        Login(at(2026, 11, 22, 8, 0, 2), "a@b.vn", "imap"),
    ]


# -- Postfix --------------------------------------------------------------------------------------------


def test_postfix_sasl_submission_is_an_smtp_login_and_a_sent_message() -> None:
    lines = [
        "Nov 22 06:11:46 mail01 postfix/submission/smtpd[10377]: connect from unknown[1.2.3.4]",
        SUBMISSION,
        "Nov 22 06:11:46 mail01 postfix/cleanup[10378]: 875FC50C1625: message-id=<x@example.com>",
        QMGR_FROM,
        "Nov 22 06:11:47 mail01 postfix/lmtp[10379]: 875FC50C1625: to=<b@gialai.gov.vn>, relay=mail01[private/"
        "dovecot-lmtp], delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
        "Nov 22 06:11:47 mail01 postfix/qmgr[9021]: 875FC50C1625: removed",
    ]
    parser = LogParser(reference=REF)
    assert list(parser.parse_lines(lines)) == [
        Login(at(2026, 11, 22, 6, 11, 46), "ali@example.com", "smtp"),
        Sent(at(2026, 11, 22, 6, 11, 47), "ali@example.com", recipients=3, size=1620),
    ]
    assert parser.pending_queue_ids == 0
    assert (parser.lines, parser.events, parser.ignored) == (6, 2, 4)


def test_mail_received_from_outside_is_not_sent_by_anyone() -> None:
    lines = [
        "Nov 22 06:11:46 mail01 postfix/smtpd[1]: 1A2B3C4D5E: client=mx.example.vn[203.0.113.9]",
        "Nov 22 06:11:46 mail01 postfix/qmgr[9021]: 1A2B3C4D5E: from=<x@example.vn>, size=900, nrcpt=1 (queue active)",
        "Nov 22 06:11:46 mail01 postfix/pickup[7]: 2B3C4D5E6F: uid=33 from=<www-data>",
        "Nov 22 06:11:46 mail01 postfix/qmgr[9021]: 2B3C4D5E6F: from=<www-data@mail01>, size=500, nrcpt=1 "
        "(queue active)",
    ]
    assert events(lines) == []


def test_a_retried_message_is_sent_once() -> None:
    """qmgr logs from= again each time a deferred message re-enters the active queue."""
    again = QMGR_FROM.replace("06:11:47", "06:21:47")
    lines = [SUBMISSION, QMGR_FROM, "Nov 22 06:11:48 mail01 postfix/smtp[5]: 875FC50C1625: to=<z@y.vn>, "
             "relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connection timed out)", again,
             "Nov 22 06:21:48 mail01 postfix/qmgr[9021]: 875FC50C1625: removed"]  # fmt: skip
    assert [type(e) for e in events(lines)] == [Login, Sent]


def test_sasl_failures_with_and_without_a_username() -> None:
    lines = [
        "Nov 22 06:11:46 mail01 postfix/submission/smtpd[1]: warning: unknown[1.2.3.4]: SASL PLAIN "
        "authentication failed: UGFzc3dvcmQ6",
        "Nov 22 06:11:47 mail01 postfix/submission/smtpd[1]: warning: host.example[5.6.7.8]: SASL LOGIN "
        "authentication failed: authentication failure, sasl_username=Ali@Example.com",
    ]
    assert events(lines) == [
        FailedAuth(at(2026, 11, 22, 6, 11, 46), None, "smtp", "1.2.3.4"),
        FailedAuth(at(2026, 11, 22, 6, 11, 47), "ali@example.com", "smtp", "5.6.7.8"),
    ]


def test_postfix_rfc3339_and_webmail_submission() -> None:
    """Roundcube submits from the webmail host: the message counts, the login is Roundcube's own."""
    lines = [
        "2026-11-22T06:11:46.5+07:00 mail01 postfix/submission/smtpd[1]: 0A1B: client=web[10.0.0.5], "
        "sasl_method=LOGIN, sasl_username=a@b.vn, sasl_sender=a@b.vn",
        "2026-11-22T06:11:46.6+07:00 mail01 postfix/qmgr[2]: 0A1B: from=<a@b.vn>, size=10, nrcpt=1 (queue active)",
    ]
    assert events(lines, webmail_ips={"10.0.0.5"}) == [Sent(at(2026, 11, 22, 6, 11, 46, 600000), "a@b.vn", 1, 10)]


def test_queue_map_is_bounded_by_size_age_and_removal() -> None:
    def client(qid: str, clock: str = "06:00:00") -> str:
        return f"Nov 22 {clock} mail01 postfix/submission/smtpd[1]: {qid}: client=x[1.1.1.1], sasl_username=u@b.vn"

    parser = LogParser(reference=REF, queue_cap=3)
    list(parser.parse_lines([client(f"AAA{i}") for i in range(5)]))
    assert (parser.pending_queue_ids, parser.queue_dropped) == (3, 2)
    # the oldest were evicted: AAA0's qmgr line no longer counts, AAA4's does
    qmgr = "Nov 22 06:00:01 mail01 postfix/qmgr[2]: {}: from=<u@b.vn>, size=1, nrcpt=1 (queue active)"
    assert [type(e) for e in parser.parse_lines([qmgr.format("AAA0"), qmgr.format("AAA4")])] == [Sent]
    # removed without a from= line (a message deleted from the queue) drops it too
    list(parser.parse_lines(["Nov 22 06:00:02 mail01 postfix/qmgr[2]: AAA3: removed"]))
    assert parser.pending_queue_ids == 1
    # a submission whose qmgr line never comes (rejected by a content filter) is given up after an hour
    list(parser.parse_lines([client("BBB1", "08:00:00")]))
    assert parser.pending_queue_ids == 2
    list(parser.parse_lines([client("BBB2", "08:00:05")]))
    assert parser.pending_queue_ids == 2  # AAA2 expired, BBB1 and BBB2 wait
    assert parser.queue_dropped == 3


def test_submission_and_its_qmgr_line_in_two_files() -> None:
    """A rotated file ends with the submission, its successor starts with qmgr's line: one parser reads both."""
    parser = LogParser(reference=REF)
    assert [type(e) for e in parser.parse_blocks([SUBMISSION + "\n"])] == [Login]
    parser.reference = REF + timedelta(days=1)
    assert [type(e) for e in parser.parse_blocks([QMGR_FROM + "\n"])] == [Sent]


# -- Roundcube ------------------------------------------------------------------------------------------


def test_roundcube_successful_and_failed_logins() -> None:
    lines = [
        ROUNDCUBE_OK,
        "[23-Feb-2024 10:16:00 +0700]: <a1b2c3d4> Failed login for user@tinh.gov.vn from 203.0.113.5 in session "
        "a1b2c3d4e5f6 (error: 0)",
        "[23-Feb-2024 03:17:00 +0000]: <a1b2c3d4> Successful login for user@tinh.gov.vn (ID: 42) from 203.0.113.5 "
        "in session a1b2c3d4e5f6",
        "[23-Feb-2024 10:18:00 +0700]: <a1b2c3d4> IMAP Error: Login failed for x against 127.0.0.1 (error: 0)",
    ]
    assert events(lines) == [
        Login(at(2024, 2, 23, 10, 15), "user@tinh.gov.vn", "webmail"),
        FailedAuth(at(2024, 2, 23, 10, 16), "user@tinh.gov.vn", "webmail", "203.0.113.5"),
        Login(at(2024, 2, 23, 10, 17), "user@tinh.gov.vn", "webmail"),
    ]


def test_roundcube_through_syslog() -> None:
    line = "Feb 23 10:15:00 web01 roundcube: <a1b2c3d4> Successful login for a@b.vn (ID: 4) from 1.2.3.4 in session x"
    assert events([line], reference=datetime(2024, 3, 1)) == [Login(at(2024, 2, 23, 10, 15), "a@b.vn", "webmail")]


# -- the year of classic syslog lines -------------------------------------------------------------------


def test_new_year_boundary_takes_the_year_from_the_reference() -> None:
    lines = [
        "Dec 31 23:59:59 mail01 dovecot: imap-login: Login: user=<a@b.vn>, rip=1.1.1.1",
        "Jan  1 00:00:01 mail01 dovecot: imap-login: Login: user=<a@b.vn>, rip=1.1.1.1",
        "Jan  2 09:00:00 mail01 dovecot: imap-login: Login: user=<a@b.vn>, rip=1.1.1.1",
        "Jan  3 09:59:59 mail01 dovecot: imap-login: Login: user=<a@b.vn>, rip=1.1.1.1",  # within a day: clock skew
    ]
    reference = datetime(2027, 1, 2, 10, 0)  # the file's mtime, naive: read in tz
    assert [e.at for e in events(lines, reference=reference)] == [
        at(2026, 12, 31, 23, 59, 59),
        at(2027, 1, 1, 0, 0, 1),
        at(2027, 1, 2, 9, 0),
        at(2027, 1, 3, 9, 59, 59),
    ]


def test_a_date_after_the_reference_belongs_to_the_year_before() -> None:
    reference = datetime(2027, 1, 2, 10, 0, tzinfo=TZ)
    lines = [
        "Jan  3 10:00:01 mail01 dovecot: imap-login: Login: user=<a@b.vn>, rip=1.1.1.1",
        "Nov 30 08:00:00 mail01 dovecot: imap-login: Login: user=<a@b.vn>, rip=1.1.1.1",
    ]
    assert [e.at for e in events(lines, reference=reference)] == [at(2026, 1, 3, 10, 0, 1), at(2026, 11, 30, 8)]
    # 29 February is read in the last leap year before the reference
    leap = "Feb 29 08:00:00 mail01 dovecot: imap-login: Login: user=<a@b.vn>, rip=1.1.1.1"
    assert [e.at for e in events([leap], reference=datetime(2029, 3, 1))] == [at(2028, 2, 29, 8)]


# -- malformed lines ------------------------------------------------------------------------------------


def test_malformed_lines_are_counted_with_their_line_numbers() -> None:
    lines = [
        DOVECOT_LOGIN,
        "Nov 22 06:00:00 mail01 CRON[123]: (root) CMD (run-parts /etc/cron.hourly)",
        "2026-11-22 06:11:46 imap-login: Info: Login: user=<u1@gia",  # truncated
        "2026-13-45 06:11:46 imap-login: Info: Login: user=<u1@gialai.gov.vn>, method=PLAIN",  # bad date
        "Foo 22 06:11:46 mail01 dovecot: imap-login: Login: user=<a@b.vn>, rip=1.1.1.1",  # bad month
        "Nov 22 06:11:46 mail01 postfix/submission/smtpd[1]: 875FC50C1625: client=unknown[1.2.3.4], "
        "sasl_username=",  # cut off
        "[99-Feb-2024 10:15:00 +0700]: <a> Successful login for a@b.vn (ID: 1) from 1.2.3.4 in session a",
        "",
        DOVECOT_LOGOUT,
    ]
    parser = LogParser(reference=REF)
    found = list(parser.parse_lines(lines, first_line=101))
    assert [type(e) for e in found] == [Login, Fetched]
    assert (parser.lines, parser.events, parser.ignored, parser.malformed) == (9, 2, 2, 5)
    assert [number for number, _ in parser.examples] == [103, 104, 105, 106, 107]
    assert parser.examples[0][1] == lines[2]


def test_malformed_examples_are_capped() -> None:
    parser = LogParser(reference=REF)
    list(parser.parse_lines(["2026-11-22 06:11:46 imap-login: Info: Login: user=<x"] * 50))
    assert parser.malformed == 50
    assert len(parser.examples) == MAX_EXAMPLES


def test_parse_lines_with_and_without_newlines_and_in_blocks_agree() -> None:
    lines = [DOVECOT_LOGIN, SUBMISSION, QMGR_FROM, ROUNDCUBE_OK, DOVECOT_LOGOUT]
    expected = list(parse_lines(lines, reference=REF, tz=TZ))
    assert len(expected) == 5
    assert list(parse_lines([line + "\n" for line in lines], reference=REF)) == expected
    # in blocks each file is one form; the order of events is by file then
    blocks = [f"{DOVECOT_LOGIN}\n{DOVECOT_LOGOUT}\n", f"{SUBMISSION}\n{QMGR_FROM}\n", ROUNDCUBE_OK + "\n"]
    assert sorted(LogParser(reference=REF).parse_blocks(blocks), key=repr) == sorted(expected, key=repr)


# -- files: gzip, identity, offsets ---------------------------------------------------------------------

SAMPLE = [DOVECOT_LOGIN, "2026-11-22 06:11:50 master: Info: hello", DOVECOT_LOGOUT] * 4


def write(path: Path, lines: list[str], *, compress: bool = False) -> Path:
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_gzip_is_recognised_by_its_content_not_its_name(tmp_path: Path) -> None:
    plain = write(tmp_path / "dovecot.log", SAMPLE)
    hidden = write(tmp_path / "dovecot.log.2", SAMPLE, compress=True)  # logrotate's delaycompress names vary
    with open_log(plain) as a, open_log(hidden) as b:
        assert a.read() == b.read()
    lines, _ = read_from(hidden)
    assert list(lines) == SAMPLE


def test_identity_survives_rotation_and_compression(tmp_path: Path) -> None:
    log = write(tmp_path / "mail.log", SAMPLE)
    identity = file_identity(log)
    log.rename(tmp_path / "mail.log.1")
    assert file_identity(tmp_path / "mail.log.1") == identity
    with (tmp_path / "mail.log.1").open("rb") as src, gzip.open(tmp_path / "mail.log.2.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert file_identity(tmp_path / "mail.log.2.gz") == identity
    successor = write(tmp_path / "mail.log", [DOVECOT_LOGOUT, *SAMPLE])
    assert file_identity(successor) != identity


def test_identity_of_a_file_whose_first_line_is_being_written(tmp_path: Path) -> None:
    log = tmp_path / "new.log"
    log.write_bytes(b"")
    assert file_identity(log) == ""  # nothing to read yet
    log.write_bytes(DOVECOT_LOGIN[:30].encode())
    assert file_identity(log) == ""
    log.write_bytes((DOVECOT_LOGIN + "\n").encode())
    assert len(file_identity(log)) == 64


@pytest.mark.parametrize("compress", [False, True])
def test_reading_half_then_the_rest_equals_reading_once(tmp_path: Path, compress: bool) -> None:
    log = write(tmp_path / "dovecot.log", SAMPLE, compress=compress)
    once = events(read_from(log)[0])

    lines, offset = read_from(log)
    first = [next(lines) for _ in range(5)]
    lines.close()
    middle = offset()
    rest, end = read_from(log, middle)
    assert first + list(rest) == SAMPLE
    assert events(first) + events(read_from(log, middle)[0]) == once
    assert end() == len("".join(line + "\n" for line in SAMPLE).encode())
    # nothing more to read at the end
    rest, again = read_from(log, end())
    assert list(rest) == []
    assert again() == end()


@pytest.mark.parametrize("compress", [False, True])
def test_blocks_resume_where_they_ended(tmp_path: Path, compress: bool) -> None:
    log = write(tmp_path / "dovecot.log", SAMPLE, compress=compress)
    blocks, offset = read_blocks(log, size=100)  # tiny blocks: many of them, lines cut across reads
    taken = [next(blocks) for _ in range(3)]
    blocks.close()
    rest, end = read_blocks(log, offset(), size=64)
    text = "".join(taken) + "".join(rest)
    assert text.splitlines() == SAMPLE
    assert all(block.endswith("\n") for block in taken)
    assert events(text.splitlines()) == events(read_from(log)[0])
    assert end() == log.stat().st_size if not compress else end() > 0


def test_a_last_line_still_being_written_is_left_for_next_time(tmp_path: Path) -> None:
    log = tmp_path / "dovecot.log"
    log.write_bytes((DOVECOT_LOGIN + "\n" + DOVECOT_LOGOUT[:40]).encode())
    lines, offset = read_from(log)
    assert list(lines) == [DOVECOT_LOGIN]
    assert offset() == len(DOVECOT_LOGIN) + 1
    blocks, block_offset = read_blocks(log)
    assert list(blocks) == [DOVECOT_LOGIN + "\n"]
    assert block_offset() == offset()
    with log.open("ab") as fh:
        fh.write((DOVECOT_LOGOUT[40:] + "\n").encode())
    rest, end = read_from(log, offset())
    assert list(rest) == [DOVECOT_LOGOUT]
    assert end() == log.stat().st_size


def test_an_offset_that_does_not_fit_the_file_is_refused(tmp_path: Path) -> None:
    log = write(tmp_path / "dovecot.log", SAMPLE)
    with pytest.raises(LogFileError, match="not at the end of a line"):
        list(read_from(log, 10)[0])
    with pytest.raises(LogFileError):
        list(read_blocks(log, log.stat().st_size + 100)[0])


def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    log = tmp_path / "dovecot.log"
    log.write_bytes(DOVECOT_LOGIN.replace("U1", "\xff\xfe").encode("latin-1") + b"\n")
    (login,) = events(read_from(log)[0])
    assert login.address == "\ufffd\ufffd@gialai.gov.vn"


def test_line_by_line_api_counts_the_same(tmp_path: Path) -> None:
    """``read_from`` + ``LogParser.parse(line)``: slower, same events, offsets and counters as blocks."""
    lines = [SUBMISSION, "Nov 22 06:11:46 mail01 postfix/cleanup[1]: 875FC50C1625: message-id=<x@y>", QMGR_FROM]
    log = write(tmp_path / "mail.log", [*lines, *lines])
    read, offset = read_from(log)
    parser = LogParser(reference=REF)
    found = [e for e in map(parser.parse, read) if e is not None]
    assert [type(e) for e in found] == [Login, Sent, Login, Sent]
    assert (parser.lines, parser.events, parser.ignored) == (6, 4, 2)
    assert offset() == log.stat().st_size
    assert found == list(LogParser(reference=REF).parse_blocks(read_blocks(log)[0]))


# -- the tally ------------------------------------------------------------------------------------------


def test_tally_counts_per_address_and_local_day() -> None:
    tally = DailyTally()
    late = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 00:30 on the 23rd in Vietnam
    tally.add_all(
        [
            Login(at(2026, 11, 22, 8), "a@b.vn", "imap"),
            Login(at(2026, 11, 22, 9), "a@b.vn", "imap"),
            Login(at(2026, 11, 22, 9), "a@b.vn", "webmail"),
            Fetched(at(2026, 11, 22, 10), "a@b.vn", "imap", bodies=3, bytes=9000),
            Login(at(2026, 11, 22, 11), "a@b.vn", "smtp"),
            Sent(at(2026, 11, 22, 11), "a@b.vn", recipients=4, size=2000),
            FailedAuth(at(2026, 11, 22, 12), "a@b.vn", "pop3", "1.2.3.4", attempts=3),
            Login(late, "a@b.vn", "pop3"),
            FailedAuth(at(2026, 11, 22, 12), None, "smtp", "6.6.6.6"),
        ]
    )
    rows = {(address, day): usage for address, day, usage in tally.rows()}
    day = rows["a@b.vn", date(2026, 11, 22)]
    assert (day.imap, day.pop3, day.webmail, day.smtp, day.logins()) == (2, 0, 1, 1, 4)
    assert (day.failed, day.sent, day.recipients, day.bytes_sent, day.bodies, day.bytes_fetched) == (
        3,
        1,
        4,
        2000,
        3,
        9000,
    )
    assert rows["a@b.vn", date(2026, 11, 23)].pop3 == 1
    assert tally.unattributed[date(2026, 11, 22)].failed == 1
    assert tally.last_seen["a@b.vn", "imap"] == at(2026, 11, 22, 10)
    assert tally.last_seen["a@b.vn", "smtp"] == at(2026, 11, 22, 11)
    assert tally.last_seen["a@b.vn", "pop3"] == late
    assert ("a@b.vn", "webmail") in tally.last_seen
    assert (tally.first, tally.last) == (at(2026, 11, 22, 8), late)
    table = tally.days  # (address, day) -> counters in COUNTERS order, failures naming no one under ""
    assert dict(zip(COUNTERS, table["a@b.vn", date(2026, 11, 22)], strict=True))["sent_recipients"] == 4
    assert table["", date(2026, 11, 22)][COUNTERS.index("failed_logins")] == 1


def test_tally_keeps_unknown_addresses_out_of_its_rows() -> None:
    """Attackers guessing names must not grow the tally: with the known mailboxes, others are summed per day."""
    tally = DailyTally(mailboxes=["A@b.vn"])
    for i in range(1000):
        tally.add(FailedAuth(at(2026, 11, 22, 3), f"guess{i}@b.vn", "imap", "45.1.2.3"))
    tally.add(Login(at(2026, 11, 22, 8), "a@b.vn", "imap"))
    assert [(a, d) for a, d, _ in tally.rows()] == [("a@b.vn", date(2026, 11, 22))]
    assert tally.unattributed[date(2026, 11, 22)].failed == 1000


def test_tally_memory_follows_mailboxes_and_days_not_lines() -> None:
    tally = DailyTally()
    start = at(2026, 10, 1, 8)
    for i in range(30_000):
        tally.add(Login(start + timedelta(days=i % 3, seconds=i), f"u{i % 10}@b.vn", "imap"))
    assert sum(len(day) for day in tally.by_day.values()) == 30
    assert len(tally.last_seen) == 10
    assert sum(u.imap for _, _, u in tally.rows()) == 30_000
    assert len(tally.pop_day(date(2026, 10, 1))) == 10
    assert date(2026, 10, 1) not in tally.by_day


# -- the benchmark's generator writes what the parser reads ---------------------------------------------


def test_generated_month_parses_without_malformed_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("mail_logs", Path(__file__).parent.parent / "bench/mail_logs.py")
    assert spec is not None
    assert spec.loader is not None
    mail_logs = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mail_logs", mail_logs)  # dataclasses look their module up
    spec.loader.exec_module(mail_logs)
    addresses = mail_logs.synthetic_addresses(40)
    counts = mail_logs.write_month(addresses, date(2026, 2, 1), tmp_path, seed=3)
    assert all(counts.values())
    again = mail_logs.write_month(addresses, date(2026, 2, 1), tmp_path / "again", seed=3)
    assert again == counts
    assert (tmp_path / "mail.log").read_bytes() == (tmp_path / "again" / "mail.log").read_bytes()
    tally = DailyTally(mailboxes=addresses)
    for name in counts:
        parser = LogParser(reference=datetime(2026, 3, 1), webmail_ips={mail_logs.WEBMAIL_IP})
        blocks, _ = read_blocks(tmp_path / name)
        tally.add_all(parser.parse_blocks(blocks))
        assert parser.malformed == 0, parser.examples
        assert parser.lines == counts[name]
    days = {d for _, d, _ in tally.rows()}
    assert days <= {date(2026, 2, d) for d in range(1, 29)}
    assert sum(u.sent for _, _, u in tally.rows()) > 0
    assert sum(u.webmail for _, _, u in tally.rows()) > 0


# -- against the real Dovecot ---------------------------------------------------------------------------


def test_real_dovecot_log_lines_parse(db, runtime, services, create_unit) -> None:
    """Log in over IMAP (once right, once wrong) and read the lines Dovecot 2.3 wrote about it."""
    from core.actors import SYSTEM
    from provisioning import accounts
    from provisioning.operations import StaffInput, create_staff

    unit = create_unit(name="Sở Thử nghiệm nhật ký")
    person = create_staff(db, SYSTEM, unit, StaffInput("Siu H'Mai", staff_number="T-LOGS-1"), "gialai.gov.vn")
    password = accounts.reset_password(db, SYSTEM, person, secret_key=runtime.secret_key)
    db.commit()
    assert runtime.sync_directory().failed == 0
    address = person.email.lower()

    imap = imaplib.IMAP4("127.0.0.1", services.config.imap_port)
    imap.login(person.email.upper(), password)
    imap.select("INBOX")
    imap.logout()
    imap = imaplib.IMAP4("127.0.0.1", services.config.imap_port)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login(person.email, password + "-wrong")
    imap.logout()

    deadline = time.monotonic() + 10
    while True:  # Dovecot's log process writes a moment later; it writes the province's clock (ServiceConfig)
        parser = LogParser(reference=datetime.now(TZ), tz=TZ)
        blocks, _ = read_blocks(services.dovecot_log_path)
        mine = [e for e in parser.parse_blocks(blocks) if e.address == address]
        kinds = {type(e) for e in mine}
        if kinds >= {Login, Fetched, FailedAuth} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert parser.malformed == 0, parser.examples
    assert {type(e): e for e in mine}.keys() >= {Login, Fetched, FailedAuth}, mine
    login = next(e for e in mine if isinstance(e, Login))
    failed = next(e for e in mine if isinstance(e, FailedAuth))
    assert (login.channel, failed.channel, failed.ip) == ("imap", "imap", "127.0.0.1")
    assert abs(login.at - datetime.now(UTC)) < timedelta(minutes=5)
