"""A realistic month of mail-server logs for N mailboxes, for the demo and the benchmarks.

    .venv/bin/python bench/mail_logs.py --mailboxes 30000 --month 2026-10 --out DIR [--seed 1]

Writes, each in time order: ``dovecot.log`` (Dovecot's own file form, in Dovecot 2.3's words or, with
``--dovecot 2.4``, Debian 13's), ``mail.log`` (Postfix through classic syslog, with a host) and
``roundcube-logins.log`` (Roundcube ``log_logins``); the lines themselves are written by
:mod:`demo.maillines`. Deterministic by seed, streamed: each client is a small generator that sleeps until
its next action on one heap, so memory depends on the number of mailboxes, never on the length of the month.

Who is in it (shares of mailboxes): people who never use mail (12 %) or rarely, through webmail (10 %);
webmail-only users (20 %); desktop IMAP clients (58 %), in on most working days from about 7:30 to 17:00,
holding idle sessions that end every hour or two; some of those (7 %) also have a phone that polls POP3 or IMAP
every 15 minutes from 6:00 to 22:00, weekends included, and some use webmail now and then. About a third
of active people send mail through submission (Roundcube submits from the webmail host). Mail arrives from
outside all day, most of it in working hours, some to a whole unit at once; a little is deferred and
retried. A few stale clients retry an old password every half hour; attackers guess addresses over IMAP and
SASL. Weekends are quiet.
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import heapq
import itertools
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from demo.maillines import DOMAIN, DOVECOT_VERSIONS, HOST, WEBMAIL_IP, MailLines

DAY = 86_400
HOUR = 3_600
# Share of the day's mail arriving in each hour, working days and weekends.
_WORKDAY_MAIL = [1, 1, 1, 1, 1, 2, 4, 10, 14, 14, 13, 9, 4, 6, 12, 13, 12, 8, 4, 3, 2, 2, 1, 1]
_WEEKEND_MAIL = [1, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 1, 1]
_OUTSIDE = ("vnpt.vn", "mic.gov.vn", "binhdinh.gov.vn", "gmail.com", "kontum.gov.vn", "chinhphu.vn")
_GUESSES = ("admin", "info", "test", "postmaster", "webmaster", "support", "hr", "contact", "sales", "ketoan")
_IDLE_ENDS = (
    "Disconnected: Logged out",
    "Disconnected for inactivity",
    "Connection closed (IDLE running for 0.002 + waiting input for 1794.512 secs, 2 B in + 10+10 B out, "
    "state=wait-input)",
)


def synthetic_addresses(count: int, domain: str = DOMAIN) -> list[str]:
    return [f"user{i:05d}@{domain}" for i in range(1, count + 1)]


@dataclass(slots=True)
class Profile:
    """What one mailbox does; drawn once per mailbox."""

    address: str
    number: int  # Roundcube's user ID
    desktop: bool = False
    phone: str = ""  # "imap", "pop3" or "" (no phone)
    webmail: float = 0.0  # chance of a webmail visit on a working day
    rare_days: int = 0  # for the rarely active: webmail visits in the month
    send_rate: float = 0.0  # messages per working day
    lan_ip: str = ""


class Month:
    """The simulation: shared state and one generator per client; ``writer`` writes their lines."""

    def __init__(
        self, profiles: list[Profile], first: date, writer: MailLines, rng: random.Random, thin: bool = False
    ) -> None:
        self.profiles = profiles
        self.thin = thin
        self.writer = writer
        self.rng = rng
        days = calendar.monthrange(first.year, first.month)[1]
        self.end = days * DAY
        self.working = [(first + timedelta(days=d)).weekday() < 5 for d in range(days)]
        self.addresses = [p.address for p in profiles]
        self.domain = writer.domain
        senders = [p for p in profiles if p.send_rate > 0]
        self.senders = senders
        self.sender_weights = list(itertools.accumulate(p.send_rate for p in senders))
        self.retries: list[tuple[str, str, int, list[str]]] = []  # deferred messages waiting for a retry

    # -- clients: each yields the time it next wants to act, and writes its lines when woken --

    def desktop(self, p: Profile) -> Iterator[int]:
        rng = self.rng
        for day, working in enumerate(self.working):
            if not working or rng.random() < 0.08:
                continue
            t = day * DAY + int(rng.gauss(7.8, 0.4) * HOUR)
            leave = day * DAY + int(rng.gauss(16.9, 0.4) * HOUR)
            while t < leave:
                yield t
                session, pid = self.writer.session(), self.writer.pid()
                self.writer.login("imap", p.address, p.lan_ip, session, pid)
                t = leave if self.thin else t + rng.randint(60 * 60, 120 * 60)
                yield min(t, leave)
                self.writer.imap_end(p.address, session, pid, rng.choice((0, 0, 1, 1, 2, 3, 5)), rng.choice(_IDLE_ENDS))
                t += rng.randint(1, 90)

    def phone(self, p: Profile) -> Iterator[int]:
        rng = self.rng
        ip = f"113.{rng.randint(160, 191)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        t = int(6 * HOUR + rng.randint(0, 899))
        stored = rng.randint(50, 2000)
        while t < self.end:
            if t % DAY >= 22 * HOUR:
                t = (t // DAY + 1) * DAY + 6 * HOUR + rng.randint(0, 60)
                continue
            yield t
            session, pid = self.writer.session(), self.writer.pid()
            self.writer.login(p.phone, p.address, ip, session, pid)
            t += rng.randint(1, 4)
            yield t
            bodies = 1 if rng.random() < 0.15 else 0
            if p.phone == "pop3":
                stored += bodies
                self.writer.pop3_end(p.address, session, pid, bodies, stored)
            else:
                self.writer.imap_end(p.address, session, pid, bodies, "Disconnected: Logged out")
            t += (6 * HOUR if self.thin else 900) - 4 + rng.randint(-5, 5)

    def webmail_visit(self, p: Profile, t: int) -> Iterator[int]:
        """A Roundcube visit: its login line, then Roundcube's own short IMAP sessions from the webmail host."""
        rng = self.rng
        yield t
        browser = f"14.{rng.randint(160, 191)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        rc_session = f"{rng.getrandbits(104):026x}"
        if rng.random() < 0.03:
            self.writer.roundcube(
                f"<{rc_session[:8]}> Failed login for {p.address} from {browser} in session {rc_session} (error: 0)"
            )
            t += rng.randint(5, 30)
            yield t
        self.writer.roundcube(
            f"<{rc_session[:8]}> Successful login for {p.address} (ID: {p.number}) "
            f"from {browser} in session {rc_session}"
        )
        for _ in range(1 if self.thin else rng.randint(2, 6)):
            session, pid = self.writer.session(), self.writer.pid()
            self.writer.login("imap", p.address, WEBMAIL_IP, session, pid)
            t += 1
            yield t
            self.writer.imap_end(p.address, session, pid, rng.choice((0, 1, 1, 2)), "Disconnected: Logged out")
            t += rng.randint(20, 600)
            yield t

    def webmail(self, p: Profile) -> Iterator[int]:
        rng = self.rng
        if p.rare_days:
            days = sorted(rng.sample(range(len(self.working)), min(p.rare_days, len(self.working))))
        else:
            days = [d for d, working in enumerate(self.working) if working and rng.random() < p.webmail]
        for day in days:
            visits = 1 if p.rare_days else rng.choice((1, 1, 2, 3))
            for start in sorted(day * DAY + int(rng.uniform(7.5, 17.0) * HOUR) for _ in range(visits)):
                yield from self.webmail_visit(p, max(start, self.writer.now))

    def stale_client(self, p: Profile) -> Iterator[int]:
        """An old phone with the password from before the last reset, retrying all day."""
        rng = self.rng
        ip = f"113.{rng.randint(160, 191)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        t = rng.randint(0, 1800)
        while t < self.end:
            yield t
            self.writer.imap_failed("imap", p.address, ip, 1, "Disconnected: Connection closed")
            t += (6 * HOUR if self.thin else 1800) + rng.randint(-30, 30)

    def attacker(self) -> Iterator[int]:
        """Bursts of address guessing over IMAP and SMTP AUTH from foreign addresses, a few a day."""
        rng = self.rng
        t = rng.randint(0, 6 * HOUR)
        while t < self.end:
            yield t
            ip = ".".join(str(n) for n in (rng.choice((45, 80, 185, 193)), rng.randint(0, 255), rng.randint(0, 255), 9))
            for _ in range(rng.randint(20, 200)):
                if rng.random() < 0.5:
                    guess = rng.choice(_GUESSES) if rng.random() < 0.7 else rng.choice(self.addresses).partition("@")[0]
                    self.writer.imap_failed(
                        rng.choice(("imap", "pop3")), f"{guess}@{self.domain}", ip, rng.randint(1, 3), "Disconnected"
                    )
                else:
                    pid = self.writer.pid()
                    self.writer.postfix(
                        f"postfix/submission/smtpd[{pid}]: connect from unknown[{ip}]",
                        f"postfix/submission/smtpd[{pid}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: "
                        "UGFzc3dvcmQ6",
                        f"postfix/submission/smtpd[{pid}]: disconnect from unknown[{ip}] ehlo=1 auth=0/1 quit=1 "
                        "commands=2/3",
                    )
                t += rng.randint(1, 20)
                yield t
            t += int(rng.expovariate(1 / (8 * HOUR)))

    def inbound(self) -> Iterator[int]:
        """Mail from outside: per-hour Poisson arrivals, mostly one recipient, sometimes a whole unit."""
        rng = self.rng
        per_working_day = (0.06 if self.thin else 0.6) * len(self.profiles)
        t = 0
        while t < self.end:
            day, hour = divmod(t // HOUR, 24)
            shares = _WORKDAY_MAIL if self.working[day] else _WEEKEND_MAIL
            rate = per_working_day * shares[hour] / sum(_WORKDAY_MAIL) / HOUR  # arrivals per second
            if not self.working[day]:
                rate *= 0.3
            gap = rng.expovariate(rate) if rate > 0 else HOUR
            hour_end = (t // HOUR + 1) * HOUR
            if t + gap >= hour_end:  # memoryless: start again at the next hour with its rate
                t = hour_end
                continue
            t += max(1, int(gap))
            yield t
            roll = rng.random()
            count = 1 if roll < 0.7 else rng.randint(2, 10) if roll < 0.97 else rng.randint(20, 200)
            start = rng.randrange(len(self.addresses))
            recipients = [self.addresses[(start + i) % len(self.addresses)] for i in range(count)]
            sender = f"{rng.choice(('vanthu', 'noreply', 'tonghop', 'phongtchc'))}@{rng.choice(_OUTSIDE)}"
            self.writer.message(sender, None, recipients)

    def outbound(self) -> Iterator[int]:
        """Submissions by the people who send, in working hours; some deferred and retried later."""
        rng = self.rng
        if not self.senders:
            return
        total = self.sender_weights[-1]
        t = 0
        while t < self.end:
            day, hour = divmod(t // HOUR, 24)
            rate = total * _WORKDAY_MAIL[hour] / sum(_WORKDAY_MAIL) / HOUR * (0.25 if self.thin else 1)
            if not self.working[day]:
                rate *= 0.05
            gap = rng.expovariate(rate)
            hour_end = (t // HOUR + 1) * HOUR
            if t + gap >= hour_end:
                t = hour_end
                continue
            t += max(1, int(gap))
            yield t
            p = self.senders[bisect.bisect(self.sender_weights, rng.random() * total)]
            count = rng.choice((1, 1, 1, 2, 3, 5))
            recipients = [
                rng.choice(self.addresses) if rng.random() < 0.7 else f"{rng.choice(_GUESSES)}@{rng.choice(_OUTSIDE)}"
                for _ in range(count)
            ]
            client = WEBMAIL_IP if p.webmail > 0.5 or not p.desktop else p.lan_ip
            pending = self.writer.message(p.address, client, recipients, deferred=rng.random() < 0.01)
            if pending is not None:
                qid, size, outside = pending
                self.retries.append((qid, p.address, size, outside))

    def retrier(self) -> Iterator[int]:
        """Postfix's deferred queue: each retried message re-enters the active queue (a second from= line)."""
        t = 0
        while t < self.end:
            t += 600
            yield t
            waiting, self.retries = self.retries, []
            for qid, sender, size, recipients in waiting:
                self.writer.retried(qid, sender, size, recipients)

    def clients(self) -> Iterator[Iterator[int]]:
        yield self.inbound()
        yield self.outbound()
        yield self.retrier()
        for _ in range(1 if self.thin else 3):
            yield self.attacker()
        for p in self.profiles:
            if p.desktop:
                yield self.desktop(p)
            if p.phone:
                yield self.phone(p)
            if p.webmail or p.rare_days:
                yield self.webmail(p)
        for p in self.rng.sample(self.profiles, max(1, len(self.profiles) // 100)):
            yield self.stale_client(p)


def draw_profiles(addresses: Sequence[str], rng: random.Random) -> list[Profile]:
    profiles = []
    for i, address in enumerate(addresses):
        p = Profile(address.lower(), i + 1, lan_ip=f"10.{20 + i // 65_000}.{i // 254 % 256}.{i % 254 + 1}")
        roll = rng.random()
        if roll < 0.12:
            pass  # never uses mail
        elif roll < 0.22:
            p.rare_days = rng.randint(1, 4)
        elif roll < 0.42:
            p.webmail = rng.uniform(0.5, 0.95)
        else:
            p.desktop = True
            if rng.random() < 0.07:
                p.phone = "pop3" if rng.random() < 0.35 else "imap"
            if rng.random() < 0.2:
                p.webmail = rng.uniform(0.05, 0.3)
        if (p.desktop or p.webmail > 0.3) and rng.random() < 0.35:
            p.send_rate = rng.choice((0.3, 0.5, 1.0, 2.0, 4.0))
        profiles.append(p)
    return profiles


def write_month(
    addresses: Sequence[str],
    month: date,
    out: Path,
    *,
    seed: int = 1,
    host: str = HOST,
    dovecot: str = "2.3",
    progress: Callable[[str], None] | None = None,
    thin: bool = False,
    days: int | None = None,
) -> dict[str, int]:
    """Write the month's three logs into ``out``; returns the number of lines of each file.

    ``dovecot``: the version whose wording ``dovecot.log`` uses, "2.3" or "2.4"; one seed gives the same
    sessions in both. ``thin``: the same mix of people and habits in far fewer lines (one desktop session a
    day, a phone polling every six hours, one IMAP session per webmail visit, a quarter of the mail sent, a
    tenth of the mail from outside, one attacker): for the demo's earlier months, whose reports only need who
    was active when. ``days``: stop after the month's first ``days`` days (a slice of a month too large to
    write whole); the lines of those days are the whole month's.
    """
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    first = month.replace(day=1)
    domain = addresses[0].lower().partition("@")[2] if addresses else DOMAIN
    writer = MailLines(out, datetime(first.year, first.month, 1), host, rng, domain, dovecot)
    sim = Month(draw_profiles(addresses, rng), first, writer, rng, thin)
    if days is not None:
        sim.end = min(sim.end, days * DAY)
    heap: list[tuple[int, int, Iterator[int]]] = []
    for seq, client in enumerate(sim.clients()):
        wake = next(client, None)
        if wake is not None:
            heap.append((wake, seq, client))
    heapq.heapify(heap)
    day_seen = -1
    try:
        while heap:
            wake, seq, client = heap[0]
            if wake >= sim.end:
                heapq.heappop(heap)
                continue
            writer.now = wake
            if progress is not None and wake // DAY != day_seen:
                day_seen = wake // DAY
                progress(f"day {day_seen + 1}: {sum(writer.counts.values()):,} lines so far")
            following = next(client, None)
            if following is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (max(following, wake), seq, client))
    finally:
        writer.close()
    return dict(writer.counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=30_000)
    parser.add_argument("--month", default="2026-10", help="YYYY-MM")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dovecot", choices=DOVECOT_VERSIONS, default="2.3", help="the wording of dovecot.log")
    args = parser.parse_args(argv)
    month = datetime.strptime(args.month, "%Y-%m").date()
    started = time.perf_counter()
    counts = write_month(
        synthetic_addresses(args.mailboxes),
        month,
        args.out,
        seed=args.seed,
        dovecot=args.dovecot,
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )
    for name, lines in counts.items():
        size = (args.out / name).stat().st_size
        print(f"{name}: {lines:,} lines, {size / 2**20:,.0f} MiB")
    print(f"written in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
