"""The session-wide private slapd and Dovecot, started on free loopback ports for the test run."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import ServiceConfig, free_port
from services.dovecot import Dovecot
from services.supervisor import Services

BASE_DN = "dc=gialai,dc=gov,dc=vn"


def service_config(state: Path, admin_password: str, **ports: int) -> ServiceConfig:
    """Servers of the suite's directory (Gia Lai's base DN and admin) kept in ``state``, on the given ports."""
    return ServiceConfig(
        state_dir=state, base_dn=BASE_DN, admin_dn=f"cn=admin,{BASE_DN}", admin_password=admin_password, **ports
    )


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    # Not under pytest's tmp folder: that is private to root (0700) and Dovecot's mail processes run as
    # the 'mail' user, who must reach the mail folder.
    state = Path(tempfile.mkdtemp(prefix="congvu-services-"))
    state.chmod(0o755)
    svc = Services(
        service_config(
            state,
            "test-admin-" + state.name,
            ldap_port=free_port(),
            imap_port=free_port(),
            pop3_port=free_port(),
            smtp_port=free_port(),
            submission_port=free_port(),
        )
    )
    try:
        svc.start()
        yield svc
    finally:
        svc.stop()
        shutil.rmtree(state, ignore_errors=True)


CHROOT_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "trixie-chroot.sh"


@pytest.fixture(scope="session")
def trixie_chroot() -> Path:
    """The Debian 13 chroot (Dovecot 2.4, slapd 2.6, Postfix 3.10), built once by scripts/trixie-chroot.sh and
    cached outside the clone; the test is skipped, with the script's reason, where it cannot be made."""
    result = subprocess.run([str(CHROOT_SCRIPT)], capture_output=True, text=True, timeout=1800)
    if result.returncode == 2:
        reason = (result.stderr.strip().splitlines() or ["scripts/trixie-chroot.sh exited 2"])[-1]
        pytest.skip(f"no Debian 13 chroot: {reason}")
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def dovecot24(services: Services, trixie_chroot: Path) -> Iterator[Dovecot]:
    """Debian 13's Dovecot 2.4 from the chroot, beside the session's 2.3 on ports of its own, reading the
    session's slapd with the configuration rendered for 2.4. One a module, so its log holds that module's
    sessions only."""
    imap_port = free_port()
    dovecot = Dovecot(
        services.config,
        services.root,
        services.slapd,
        name=f"dovecot24-{imap_port}",
        imap_port=imap_port,
        pop3_port=free_port(),
        chroot=trixie_chroot,
    )
    try:
        dovecot.start()
        yield dovecot
    finally:
        dovecot.stop()
        shutil.rmtree(dovecot.dir.parent, ignore_errors=True)


def ensure_slapd(svc: Services, where: str) -> None:
    """Start the session's slapd again if a test left it down (a test that stops it on purpose always restarts
    it; one that crashed it would otherwise fail every later test). Says so on the terminal, with slapd's log."""
    if svc.slapd.status().is_running:
        return
    import sys

    tail = svc.slapd_log_path.read_text(errors="replace")[-3000:] if svc.slapd_log_path.exists() else ""
    print(f"\n== slapd was found down {where}; restarting it. Its log ended with:\n{tail}", file=sys.__stderr__)
    svc.start_slapd()


@pytest.fixture(autouse=True)
def _slapd_is_up(request: pytest.FixtureRequest) -> None:
    if "services" in request.fixturenames:
        ensure_slapd(request.getfixturevalue("services"), f"before {request.node.nodeid}")
