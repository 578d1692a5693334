"""The baseline of bench/ingest_bench.py: a bare single-threaded Python tally of each log, a few regexes.

What a careful administrator would write in an afternoon: read the file line by line, skip lines without the
text that matters, match a regular expression, add to a ``Counter`` keyed by address and day (the day as the
log writes it, never parsed). It counts the same fields ingestion stores and writes nothing anywhere:

* ``dovecot.log``: successful logins per channel, failed attempts, fetched bodies and bytes (IMAP and POP3);
* ``mail.log``: authenticated submissions (logins), and the messages, recipients and bytes of each, joined
  by queue id with qmgr's first ``from=`` line; SASL failures;
* ``roundcube-logins.log``: successful and failed webmail logins;

and, in each, when each address was last seen on each channel (the stamp of its last line: the log is in
time order), since ingestion stores that too.

    .venv/bin/python bench/bare_tally.py FILE…
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

Tally = dict[str, Mapping[tuple[str, ...], object]]  # counters, and last-seen stamps per (address, channel)

_DOVECOT_LOGIN = re.compile(
    r"(([0-9-]{10}) [0-9:]{8}) (imap|pop3|submission)-login: Info: Log(?:in|ged in): user=<([^>]*)>"
)
_DOVECOT_FAILED = re.compile(r"([0-9-]{10}) .*\(auth failed, ([0-9]+) attempts.*user=<([^>]*)>")
_DOVECOT_END = re.compile(
    r"([0-9-]{10} [0-9:]{8}) (?:imap\(([^)]*)\).* out=([0-9]+) .*body_count=([0-9]+)"
    r"|pop3\(([^)]*)\).*retr=([0-9]+)/([0-9]+))"
)
_SUBMISSION = re.compile(r"((\w{3} [ 0-9][0-9]) [0-9:]{8}) .*: (\w+): client=.*sasl_username=(\S+)")
_QMGR_FROM = re.compile(
    r"((\w{3} [ 0-9][0-9]) [0-9:]{8}) .* postfix/qmgr\[[0-9]+\]: (\w+): from=<[^>]*>, size=([0-9]+), nrcpt=([0-9]+)"
)
_SASL_FAILED = re.compile(r"(\w{3} [ 0-9][0-9]) .*\[([^\]]*)\]: SASL \S+ authentication failed")
_ROUNDCUBE = re.compile(r"\[(([^ ]+) [^\]]*)\]: <[^>]*> (Successful|Failed) login for (\S+)")


def dovecot(path: Path) -> tuple[int, Tally]:
    logins: Counter[tuple[str, ...]] = Counter()
    failed: Counter[tuple[str, ...]] = Counter()
    fetched: Counter[tuple[str, ...]] = Counter()
    seen: dict[tuple[str, str], str] = {}  # (address, channel) -> the stamp of its last line (the log is in order)
    lines = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            lines += 1
            m = _DOVECOT_LOGIN.match(line)
            if m:
                user = m[4].lower()
                logins[user, m[2], m[3]] += 1
                seen[user, m[3]] = m[1]
                continue
            m = _DOVECOT_END.match(line)
            if m:
                day = m[1][:10]
                if m[2] is not None:
                    user = m[2].lower()
                    fetched[user, day, "bodies"] += int(m[4])
                    fetched[user, day, "bytes"] += int(m[3])
                    seen[user, "imap"] = m[1]
                else:
                    user = m[5].lower()
                    fetched[user, day, "bodies"] += int(m[6])
                    fetched[user, day, "bytes"] += int(m[7])
                    seen[user, "pop3"] = m[1]
                continue
            if "(auth failed, " in line:
                m = _DOVECOT_FAILED.match(line)
                if m:
                    failed[m[3].lower(), m[1]] += int(m[2])
    return lines, {"logins": logins, "failed": failed, "fetched": fetched, "seen": seen}


def postfix(path: Path) -> tuple[int, Tally]:
    logins: Counter[tuple[str, ...]] = Counter()
    sent: Counter[tuple[str, ...]] = Counter()
    failed: Counter[tuple[str, ...]] = Counter()
    seen: dict[tuple[str, str], str] = {}
    queue: dict[str, str] = {}
    lines = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            lines += 1
            if "sasl_username=" in line:
                m = _SUBMISSION.match(line)
                if m:
                    user = m[4].lower()
                    logins[user, m[2]] += 1
                    seen[user, "smtp"] = m[1]
                    queue[m[3]] = user
            elif "/qmgr[" in line:
                if queue and " from=<" in line:
                    m = _QMGR_FROM.match(line)
                    if m and m[3] in queue:
                        user = queue.pop(m[3])
                        sent[user, m[2], "messages"] += 1
                        sent[user, m[2], "recipients"] += int(m[5])
                        sent[user, m[2], "bytes"] += int(m[4])
                        seen[user, "smtp"] = m[1]
            elif "authentication failed" in line:
                m = _SASL_FAILED.match(line)
                if m:
                    failed[m[2], m[1]] += 1
    return lines, {"logins": logins, "sent": sent, "failed": failed, "seen": seen}


def roundcube(path: Path) -> tuple[int, Tally]:
    logins: Counter[tuple[str, ...]] = Counter()
    failed: Counter[tuple[str, ...]] = Counter()
    seen: dict[tuple[str, str], str] = {}
    lines = 0
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            lines += 1
            m = _ROUNDCUBE.match(line)
            if m:
                user = m[4].lower()
                if m[3] == "Successful":
                    logins[user, m[2]] += 1
                    seen[user, "webmail"] = m[1]
                else:
                    failed[user, m[2]] += 1
    return lines, {"logins": logins, "failed": failed, "seen": seen}


BARE: dict[str, Callable[[Path], tuple[int, Tally]]] = {
    "dovecot.log": dovecot,
    "mail.log": postfix,
    "roundcube-logins.log": roundcube,
}


def main(argv: list[str]) -> int:
    for name in argv:
        path = Path(name)
        reader = BARE.get(path.name.split(".log")[0] + ".log", dovecot)
        started = time.perf_counter()
        lines, tally = reader(path)
        seconds = time.perf_counter() - started
        sizes = ", ".join(
            f"{k} {len(v) if k == 'seen' else sum(v.values()):,}"  # type: ignore[arg-type]
            for k, v in tally.items()
        )
        print(f"{path}: {lines:,} lines in {seconds:.2f} s, {lines / seconds:,.0f} lines/s ({sizes})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
