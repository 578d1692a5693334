"""The fast way through Postfix's classic syslog lines counts exactly what the line reader counts, or steps aside."""

from __future__ import annotations

from datetime import datetime

import pytest

from audit.events import DEFAULT_TZ
from audit.fastpostfix import count_postfix_block
from audit.markers import markers_for
from audit.parsing import LogParser
from audit.tally import DailyTally
from audit.timestamps import Clock
from tests.test_logs_fastpath import held

REF = datetime(2026, 3, 1, tzinfo=DEFAULT_TZ)
WEBMAIL = "10.0.0.5"
H = "mail01 postfix"
STANDARD = [
    f"Feb  3 07:59:58 {H}/submission/smtpd[20027]: connect from unknown[10.20.10.115]",
    f"Feb  3 08:00:00 {H}/submission/smtpd[20027]: 0009E3779B1: client=unknown[10.20.10.115], sasl_method=PLAIN, "
    "sasl_username=An@GiaLai.gov.vn",
    f"Feb  3 08:00:00 {H}/cleanup[20028]: 0009E3779B1: message-id=<0009e3779b1.49@gialai.gov.vn>",
    f"Feb  3 08:00:01 {H}/qmgr[1021]: 0009E3779B1: from=<an@gialai.gov.vn>, size=107984, nrcpt=3 (queue active)",
    f"Feb  3 08:00:01 {H}/lmtp[20029]: 0009E3779B1: to=<binh@gialai.gov.vn>, relay=mail01[private/dovecot-lmtp], "
    "dsn=2.0.0, status=sent (250 2.0.0 Saved)",
    f"Feb  3 08:00:01 {H}/qmgr[1021]: 0009E3779B1: removed",
    f"Feb  3 08:02:23 {H}/submission/smtpd[20094]: warning: unknown[45.141.45.9]: SASL LOGIN authentication failed: "
    "UGFzc3dvcmQ6",
    f"Feb  3 08:03:00 {H}/submission/smtpd[20095]: 00AA: client=roundcube[{WEBMAIL}], sasl_method=PLAIN, "
    "sasl_username=binh@gialai.gov.vn",
    f"Feb  3 08:03:00 {H}/submission/smtpd[20096]: 00BB: client=unknown[10.20.11.66], sasl_method=PLAIN, "
    "sasl_username=chau@gialai.gov.vn",
    f"Feb  3 08:03:01 {H}/qmgr[1021]: 00AA: from=<binh@gialai.gov.vn>, size=7809, nrcpt=1 (queue active)",
    f"Feb  3 23:59:59 {H}/qmgr[1021]: 00BB: from=<chau@gialai.gov.vn>, size=10, nrcpt=2 (queue active)",
    f"Feb  4 00:00:02 {H}/smtpd[20111]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 Relay access denied",
    f"Feb  4 00:00:03 {H}/submission/smtpd[20097]: 00CC: client=unknown[10.20.11.67], sasl_method=PLAIN, "
    "sasl_username=dung@gialai.gov.vn",
]
LATER = [  # the next block: the last submission's qmgr line
    f"Feb  4 00:00:04 {H}/qmgr[1021]: 00CC: from=<dung@gialai.gov.vn>, size=512, nrcpt=1 (queue active)",
    f"Feb  4 00:00:05 {H}/submission/smtpd[20098]: 00DD: client=unknown[10.20.11.68], sasl_method=PLAIN, "
    "sasl_username=an@gialai.gov.vn",
    f"Feb  4 00:00:06 {H}/qmgr[1021]: 00DD: from=<an@gialai.gov.vn>, size=1, nrcpt=1 (queue active)",
]
# Lines the fast way leaves to the line reader (the block goes the usual way), each with its reason.
UNUSUAL = {
    "RFC 3339 stamps": "2026-02-03T08:10:00.123456+07:00 mail01 postfix/submission/smtpd[1]: 01AA: "
    "client=unknown[10.1.1.1], sasl_method=PLAIN, sasl_username=an@gialai.gov.vn",
    "no such day": f"Feb 30 08:10:01 {H}/submission/smtpd[1]: 01AB: client=unknown[10.1.1.1], sasl_method=PLAIN, "
    "sasl_username=an@gialai.gov.vn",
    "a bad second": f"Feb  3 08:10:61 {H}/submission/smtpd[1]: 01AC: client=unknown[10.1.1.1], sasl_method=PLAIN, "
    "sasl_username=an@gialai.gov.vn",
    "two markers": f"Feb  3 08:10:02 {H}/submission/smtpd[1]: 01AD: client=unknown[10.1.1.1], "
    "sasl_username=an@gialai.gov.vn authentication failed",
    "a queue id that is not one": f"Feb  3 08:10:03 {H}/submission/smtpd[1]: 01-AE: client=unknown[10.1.1.1], "
    "sasl_username=an@gialai.gov.vn",
    "no client address": f"Feb  3 08:10:04 {H}/submission/smtpd[1]: 01AF: client=unknown, "
    "sasl_username=an@gialai.gov.vn",
    "a marker in qmgr's line": f"Feb  3 08:10:05 {H}/qmgr[1]: 01B0: from=<sasl_username=x@y>, size=1, nrcpt=1",
    "a marker in another program": "Feb  3 08:10:06 mail01 sshd[1]: sasl_username=an@gialai.gov.vn",
    "a SASL failure in other words": f"Feb  3 08:10:07 {H}/smtpd[1]: warning: SASL authentication failed for 1.2.3.4",
    "a Dovecot line in the block": "Feb  3 08:10:08 mail01 dovecot: imap-login: Login: user=<an@gialai.gov.vn>, "
    "rip=1.2.3.4",
    "a qmgr line without its size": f"Feb  3 08:10:09 {H}/submission/smtpd[1]: 01B1: client=unknown[10.1.1.1], "
    f"sasl_username=an@gialai.gov.vn\nFeb  3 08:10:09 {H}/qmgr[1]: 01B1: from=<an@gialai.gov.vn>, nrcpt=1",
    "the queue id in another program's line first": f"Feb  3 08:10:10 {H}/submission/smtpd[1]: 01B2: "
    f"client=unknown[10.1.1.1], sasl_username=an@gialai.gov.vn\nFeb  3 08:10:10 {H}/cleanup[2]: x 01B2: from=<a@b>, "
    "size=1, nrcpt=1",
}


def _both_ways(blocks: list[str], queue_cap: int = 20_000) -> tuple[tuple[object, ...], tuple[object, ...]]:
    """(what the line reader makes of the blocks, what count_blocks makes of them), everything it holds after."""
    out = []
    for fast in (False, True):
        parser = LogParser(reference=REF, tz=DEFAULT_TZ, queue_cap=queue_cap, webmail_ips=[WEBMAIL])
        tally = DailyTally(DEFAULT_TZ)
        if fast:
            for block in blocks:
                parser.count_blocks([block], tally, first_line=parser.lines + 1)
        else:
            tally.add_all(parser.parse_blocks(blocks))
        out.append(held(parser, tally))
    return out[0], out[1]


def _fast(block: str) -> object:
    return count_postfix_block(block, markers_for(block), Clock(DEFAULT_TZ, REF).syslog, 20_000, [WEBMAIL])


def test_the_usual_lines_go_the_fast_way_and_count_the_same() -> None:
    block = "\n".join(STANDARD) + "\n"
    assert _fast(block) is not None
    reader, fast = _both_ways([block])
    assert fast == reader
    days = reader[0]
    feb3, feb4 = datetime(2026, 2, 3).date(), datetime(2026, 2, 4).date()
    assert days["an@gialai.gov.vn", feb3][3:8] == [1, 0, 1, 3, 107984]  # a login, a message to three
    assert days["binh@gialai.gov.vn", feb3][3:6] == [0, 0, 1]  # Roundcube sending: its login is webmail's
    assert days["chau@gialai.gov.vn", feb3][3:8] == [1, 0, 1, 2, 10]
    assert days["", feb3][4] == 1  # the SASL failure names no one
    assert days["dung@gialai.gov.vn", feb4][3] == 1
    assert list(reader[9]) == ["00CC"]  # its qmgr line is in the next block


def test_a_submission_waiting_from_the_block_before_is_followed_the_usual_way() -> None:
    reader, fast = _both_ways(["\n".join(STANDARD) + "\n", "\n".join(LATER) + "\n"])
    assert fast == reader
    assert reader[0]["dung@gialai.gov.vn", datetime(2026, 2, 4).date()][3:8] == [1, 0, 1, 1, 512]
    assert reader[9] == {}


def test_the_cap_on_waiting_submissions_drops_the_same_ones() -> None:
    lines = [
        f"Feb  3 08:0{i}:00 {H}/submission/smtpd[1]: 0{i}F: client=unknown[10.1.1.1], sasl_username=an@gialai.gov.vn"
        for i in range(5)
    ]
    reader, fast = _both_ways(["\n".join(lines) + "\n"], queue_cap=2)
    assert fast == reader
    assert reader[10] == 3
    assert list(reader[9]) == ["03F", "04F"]


@pytest.mark.parametrize("unusual", list(UNUSUAL), ids=list(UNUSUAL))
def test_a_block_the_fast_way_cannot_vouch_for_is_read_line_by_line(unusual: str) -> None:
    block = "\n".join([*STANDARD[:6], UNUSUAL[unusual], *STANDARD[6:]]) + "\n"
    assert _fast(block) is None
    reader, fast = _both_ways([block])
    assert fast == reader


def test_the_day_a_day_after_the_files_time_is_split_between_two_years() -> None:
    lines = [
        f"Mar  2 {clock} {H}/submission/smtpd[1]: {qid}: client=unknown[10.1.1.1], sasl_username=an@gialai.gov.vn"
        for clock, qid in (("00:00:00", "0A"), ("12:00:00", "0B"), ("23:59:59", "0C"))
    ]
    block = "\n".join(["Mar  1 08:00:00 " + STANDARD[1][16:], *lines]) + "\n"
    assert _fast(block) is not None
    reader, fast = _both_ways([block])
    assert fast == reader
    assert {day.year for _, day in reader[0]} == {2025, 2026}
