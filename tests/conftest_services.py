"""The session-wide private slapd and Dovecot, started on free loopback ports for the test run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import ServiceConfig, free_port
from services.supervisor import Services


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    # Not under pytest's tmp folder: that is private to root (0700) and Dovecot's mail processes run as
    # the 'mail' user, who must reach the mail folder.
    state = Path(tempfile.mkdtemp(prefix="congvu-services-"))
    state.chmod(0o755)
    svc = Services(
        ServiceConfig(
            state_dir=state,
            base_dn="dc=gialai,dc=gov,dc=vn",
            admin_dn="cn=admin,dc=gialai,dc=gov,dc=vn",
            admin_password="test-admin-" + state.name,
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
