"""The lines of the simulated mail logs: the three files, their timestamp forms, and what each event writes.

``dovecot.log`` is Dovecot's own file form (``log_timestamp = "%Y-%m-%d %H:%M:%S "``), in the wording of
Dovecot 2.3 or 2.4 (Debian 13); ``mail.log`` is Postfix through classic syslog, with a host;
``roundcube-logins.log`` is Roundcube's ``log_logins``. The simulation in :mod:`demo.maillogs` decides who
does what and when; this module only writes it down.
"""

from __future__ import annotations

import base64
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

HOST = "mail01"
LIP = "10.0.0.2"
WEBMAIL_IP = "10.0.0.5"
DOMAIN = "gialai.gov.vn"
DOVECOT_VERSIONS = ("2.3", "2.4")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class MailLines:
    """The three files, with timestamps formatted once per second (clients act in time order).

    Draws session ids, pids, queue ids and sizes from ``rng``, the simulation's one generator, so that a seed
    gives the same files; Dovecot 2.3 and 2.4 logs of one seed hold the same sessions.
    """

    def __init__(
        self, out: Path, start: datetime, host: str, rng: random.Random, domain: str, dovecot: str = "2.3"
    ) -> None:
        if dovecot not in DOVECOT_VERSIONS:
            raise ValueError(f"dovecot: {dovecot!r} is not one of {', '.join(DOVECOT_VERSIONS)}")
        self.start = start
        self.host = host
        self.rng = rng
        self.domain = domain
        self.dovecot_version = dovecot
        self.dovecot_file: IO[str] = (out / "dovecot.log").open("w", encoding="utf-8", buffering=1 << 20)
        self.mail_file: IO[str] = (out / "mail.log").open("w", encoding="utf-8", buffering=1 << 20)
        self.roundcube_file: IO[str] = (out / "roundcube-logins.log").open("w", encoding="utf-8", buffering=1 << 20)
        self.counts = {"dovecot.log": 0, "mail.log": 0, "roundcube-logins.log": 0}
        self.now = 0
        self._second = -1
        self._dovecot_stamp = self._syslog_stamp = self._roundcube_stamp = ""
        self._qid = 0
        self._pid = 20_000

    # -- the files --

    def _stamps(self) -> None:
        if self.now == self._second:
            return
        self._second = self.now
        t = self.start + timedelta(seconds=self.now)
        self._dovecot_stamp = t.strftime("%Y-%m-%d %H:%M:%S ")
        self._syslog_stamp = f"{_MONTH_NAMES[t.month - 1]} {t.day:>2} {t:%H:%M:%S} {self.host} "
        self._roundcube_stamp = f"[{t.day:02d}-{_MONTH_NAMES[t.month - 1]}-{t.year} {t:%H:%M:%S} +0700]: "

    def dovecot(self, text: str) -> None:
        self._stamps()
        self.dovecot_file.write(self._dovecot_stamp + text + "\n")
        self.counts["dovecot.log"] += 1

    def postfix(self, *texts: str) -> None:
        self._stamps()
        stamp = self._syslog_stamp
        self.mail_file.write("".join(f"{stamp}{text}\n" for text in texts))
        self.counts["mail.log"] += len(texts)

    def roundcube(self, text: str) -> None:
        self._stamps()
        self.roundcube_file.write(self._roundcube_stamp + text + "\n")
        self.counts["roundcube-logins.log"] += 1

    def close(self) -> None:
        for handle in (self.dovecot_file, self.mail_file, self.roundcube_file):
            handle.close()

    # -- identifiers --

    def session(self) -> str:
        return base64.b64encode(self.rng.getrandbits(96).to_bytes(12, "big")).decode()

    def pid(self) -> int:
        self._pid = 20_000 + (self._pid + self.rng.randint(1, 40) - 20_000) % 40_000
        return self._pid

    def queue_id(self) -> str:
        self._qid += 1
        return f"{(self._qid * 0x9E3779B1) & 0xFFFFFFFFFFF:011X}"  # odd multiplier: unique, looks random

    def size(self) -> int:
        return int(min(25_000_000, self.rng.lognormvariate(9.5, 1.3)))

    # -- Dovecot --

    def login(self, service: str, address: str, ip: str, session: str, pid: int) -> None:
        said = "Logged in" if self.dovecot_version == "2.4" else "Login"
        self.dovecot(
            f"{service}-login: Info: {said}: user=<{address}>, method=PLAIN, rip={ip}, lip={LIP}, mpid={pid}, "
            f"TLS, session=<{session}>"
        )

    def imap_end(self, address: str, session: str, pid: int, bodies: int, reason: str) -> None:
        rng = self.rng
        body_bytes = sum(self.size() for _ in range(bodies))
        headers = rng.randint(0, 40)
        out = 600 + headers * 700 + body_bytes + rng.randint(0, 4000)
        self.dovecot(
            f"imap({address})<{pid}><{session}>: Info: {reason} in={rng.randint(40, 2000)} out={out} "
            f"deleted={int(rng.random() < 0.1)} expunged=0 trashed=0 hdr_count={headers} hdr_bytes={headers * 650} "
            f"body_count={bodies} body_bytes={body_bytes}"
        )

    def pop3_end(self, address: str, session: str, pid: int, bodies: int, stored: int) -> None:
        sizes = sum(self.size() for _ in range(bodies))
        self.dovecot(
            f"pop3({address})<{pid}><{session}>: Info: Disconnected: Logged out top=0/0, retr={bodies}/{sizes}, "
            f"del=0/{stored}, size={stored * 40_000 + sizes}"
        )

    def imap_failed(self, service: str, address: str, ip: str, attempts: int, reason: str) -> None:
        """A refused login; ``reason`` in 2.3's words (``Disconnected: Connection closed``), 2.4 says it its way."""
        failure = f"(auth failed, {attempts} attempts in {attempts * 2 + 1} secs)"
        if self.dovecot_version == "2.4":
            _, _, cause = reason.partition(": ")
            failure = f"Login aborted: {cause or 'Connection closed'} {failure} (auth_failed)"
        else:
            failure = f"{reason} {failure}"
        self.dovecot(
            f"{service}-login: Info: {failure}: user=<{address}>, method=PLAIN, rip={ip}, lip={LIP}, TLS, "
            f"session=<{self.session()}>"
        )

    # -- Postfix --

    def message(
        self, sender: str, client_ip: str | None, recipients: list[str], *, deferred: bool = False
    ) -> tuple[str, int, list[str]] | None:
        """One message's life in mail.log: submission (SASL) or arrival from outside, delivery, removal.

        Returns ``(queue id, size, recipients outside)`` of a message left deferred, for a later retry.
        """
        qid, smtpd, size = self.queue_id(), self.pid(), self.size()
        if client_ip is not None:
            prefix, client = "postfix/submission/smtpd", f"unknown[{client_ip}]"
            auth = f", sasl_method=PLAIN, sasl_username={sender}"
        else:
            relay = f"203.0.113.{self.rng.randint(1, 254)}"
            prefix, client, auth = "postfix/smtpd", f"mx.{sender.partition('@')[2]}[{relay}]", ""
        lines = [
            f"{prefix}[{smtpd}]: connect from {client}",
            f"{prefix}[{smtpd}]: {qid}: client={client}{auth}",
            f"postfix/cleanup[{smtpd + 1}]: {qid}: message-id=<{qid.lower()}.{self.now}@{self.domain}>",
            f"postfix/qmgr[1021]: {qid}: from=<{sender}>, size={size}, nrcpt={len(recipients)} (queue active)",
        ]
        pending = False
        for rcpt in recipients:
            if rcpt.endswith(self.domain):
                lines.append(
                    f"postfix/lmtp[{smtpd + 2}]: {qid}: to=<{rcpt}>, relay={HOST}[private/dovecot-lmtp], delay=0.12, "
                    f"delays=0.05/0.01/0.02/0.04, dsn=2.0.0, status=sent (250 2.0.0 <{rcpt}> {self.session()} Saved)"
                )
                self.dovecot(f"lmtp({rcpt})<{smtpd + 3}><{self.session()}>: Info: msgid=<{qid}>: saved mail to INBOX")
            elif deferred:
                pending = True
                lines.append(
                    f"postfix/smtp[{smtpd + 4}]: {qid}: to=<{rcpt}>, relay=none, delay=30, delays=0.1/0/30/0, "
                    f"dsn=4.4.1, status=deferred (connect to mx.{rcpt.partition('@')[2]}[203.0.113.50]:25: "
                    "Connection timed out)"
                )
            else:
                lines.append(
                    f"postfix/smtp[{smtpd + 4}]: {qid}: to=<{rcpt}>, relay=mx.{rcpt.partition('@')[2]}[203.0.113.50]"
                    ":25, delay=0.8, delays=0.1/0/0.3/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)"
                )
        if not pending:
            lines.append(f"postfix/qmgr[1021]: {qid}: removed")
        lines.append(
            f"{prefix}[{smtpd}]: disconnect from {client} ehlo=1 {'auth=1 ' if auth else ''}mail=1 "
            f"rcpt={len(recipients)} data=1 quit=1 commands={4 + len(recipients) + bool(auth)}"
        )
        self.postfix(*lines)
        if pending:
            return qid, size, [r for r in recipients if not r.endswith(self.domain)]
        return None

    def retried(self, qid: str, sender: str, size: int, recipients: list[str]) -> None:
        """Postfix's deferred queue: a retried message re-enters the active queue (a second from= line)."""
        lines = [f"postfix/qmgr[1021]: {qid}: from=<{sender}>, size={size}, nrcpt={len(recipients)} (queue active)"]
        lines += [
            f"postfix/smtp[{self.pid()}]: {qid}: to=<{r}>, relay=mx.{r.partition('@')[2]}[203.0.113.50]:25, "
            "delay=640, delays=639/0.1/0.3/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)"
            for r in recipients
        ]
        lines.append(f"postfix/qmgr[1021]: {qid}: removed")
        self.postfix(*lines)
