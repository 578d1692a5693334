"""Debian 13's servers against the project's own: Dovecot 2.4.1 from a trixie chroot authenticates against the
session's slapd with the config rendered for 2.4, and its log counts like 2.3's for the same sessions; slapd
2.6 and Postfix 3.10 accept the project's configuration.

The chroot is built once by scripts/trixie-chroot.sh (debootstrap, about five minutes) and cached outside the
clone; without root, debootstrap or Debian's mirror these tests are skipped with the reason.
"""

from __future__ import annotations

import imaplib
import poplib
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from audit.events import FailedAuth, Login
from audit.ingest import ingest_file
from audit.logfiles import file_reference_time
from audit.models import UsageDay
from audit.parsing import LogParser
from provisioning.models import Staff
from services.common import free_port
from services.dovecot import Dovecot, template_for
from services.postfix import Postfix
from services.slapd import Slapd
from tests.conftest_services import (  # noqa: F401  (fixtures: the cached Debian 13 chroot, its Dovecot 2.4)
    dovecot24,
    service_config,
    trixie_chroot,
)
from tests.factories import PASSWORD


def _sessions(imap_port: int, pop3_port: int, address: str) -> None:
    """One refused IMAP login, one IMAP session, one POP3 session."""
    with imaplib.IMAP4("127.0.0.1", imap_port) as imap, pytest.raises(imaplib.IMAP4.error):
        imap.login(address, PASSWORD + "-sai")
    with imaplib.IMAP4("127.0.0.1", imap_port) as imap:
        imap.login(address, PASSWORD)
        imap.select("INBOX")
        imap.logout()
    pop = poplib.POP3("127.0.0.1", pop3_port)
    pop.user(address)
    pop.pass_(PASSWORD)
    pop.quit()


def _counts(log: Path, address: str, start: int = 0) -> Counter[tuple[str, str]]:
    """What the log says about ``address`` after byte ``start`` (the session's logs hold other tests' lines)."""
    parser = LogParser(reference=file_reference_time(log))
    counts: Counter[tuple[str, str]] = Counter()
    with log.open("rb") as fh:
        fh.seek(start)
        lines = fh.read().decode("utf-8", "replace").splitlines()
    for event in parser.parse_lines(lines):
        if isinstance(event, Login) and event.address == address:
            counts["login", event.channel] += 1
        elif isinstance(event, FailedAuth) and event.address == address:
            counts["failed", event.channel] += event.attempts
    assert parser.malformed == 0, parser.examples
    return counts


def _wait_for_lines(
    log: Path, address: str, expected: Counter[tuple[str, str]], start: int
) -> Counter[tuple[str, str]]:
    """Dovecot writes a refused login's line when the client goes, after the auth failure delay."""
    deadline = time.monotonic() + 10
    while (counts := _counts(log, address, start)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return counts


def test_dovecot_24_from_debian_13_authenticates_against_our_slapd_and_its_log_counts_like_23s(
    dovecot24: Dovecot, services: Any, db: Any, runtime: Any, create_staff: Callable[..., Staff]
) -> None:
    assert dovecot24.version() >= (2, 4)
    assert template_for(dovecot24.version()) == "dovecot24.conf.in"
    assert "dovecot_config_version" in (dovecot24.dir / "dovecot.conf").read_text()
    person = create_staff(full_name="Kpă Thuyên", password=PASSWORD)
    expected = Counter({("login", "imap"): 1, ("login", "pop3"): 1, ("failed", "imap"): 1})

    start24, start23 = dovecot24.log_path.stat().st_size, services.dovecot_log_path.stat().st_size
    _sessions(dovecot24.imap_port, dovecot24.pop3_port, person.email)
    _sessions(services.config.imap_port, services.config.pop3_port, person.email)  # Dovecot 2.3, same sessions
    assert _wait_for_lines(dovecot24.log_path, person.email, expected, start24) == expected
    assert _wait_for_lines(services.dovecot_log_path, person.email, expected, start23) == expected
    log24 = dovecot24.log_path.read_text(encoding="utf-8")
    assert f"Logged in: user=<{person.email}>" in log24
    assert "Login aborted: " in log24

    result = ingest_file(runtime.session_factory, dovecot24.log_path, tz=runtime.settings.tz)
    assert result.malformed == 0, result.examples
    day = db.scalar(select(UsageDay).where(UsageDay.staff_id == person.id))
    assert day is not None
    assert (day.imap_logins, day.pop3_logins, day.failed_logins) == (1, 1, 1)


def _in_chroot(chroot: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run one of Debian 13's programs inside the chroot, its output as text."""
    return subprocess.run(["chroot", str(chroot), *command], capture_output=True, text=True)


def test_slapd_26_loads_and_serves_the_projects_configuration(trixie_chroot: Path) -> None:
    state = trixie_chroot / "var/lib/congvu" / f"slapd26-{free_port()}"
    config = service_config(state, "slapd26-admin", ldap_port=free_port())
    slapd = Slapd(config, state, chroot=trixie_chroot)
    try:
        slapd.start()
        out = subprocess.run(
            [
                *("ldapsearch", "-x", "-LLL", "-H", slapd.url, "-D", config.admin_dn, "-w", config.admin_password),
                *("-b", config.base_dn, "(objectClass=pwdPolicy)", "pwdMustChange"),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "pwdMustChange: TRUE" in out
        assert "slapd 2.6" in _in_chroot(trixie_chroot, "/usr/sbin/slapd", "-VV").stderr
    finally:
        slapd.stop()
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(slapd.dir.parent, ignore_errors=True)


def test_postfix_310_accepts_the_projects_configuration(trixie_chroot: Path, services: Any) -> None:
    state = trixie_chroot / "var/lib/congvu" / f"postfix310-{free_port()}"
    postfix = Postfix(services.config, state, Path("/run/dovecot/postfix-auth"))
    try:
        conf_dir = postfix._conf()
        inside = "/" + str(conf_dir.relative_to(trixie_chroot))
        for name in ("main.cf", "master.cf"):
            text = (conf_dir / name).read_text().replace(str(state), "/" + str(state.relative_to(trixie_chroot)))
            (conf_dir / name).write_text(text)
        for option in ("-n", "-M"):  # the main settings, then the services of master.cf
            check = _in_chroot(trixie_chroot, "/usr/sbin/postconf", "-c", inside, option)
            assert check.returncode == 0, check.stderr
            assert "warning" not in check.stderr.lower(), check.stderr
        version = _in_chroot(trixie_chroot, "/usr/sbin/postconf", "-c", inside, "-h", "mail_version")
        assert version.returncode == 0, version.stderr
        assert version.stdout.startswith("3.10"), version.stdout
    finally:
        shutil.rmtree(state, ignore_errors=True)
