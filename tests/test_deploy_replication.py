"""A replicated directory: congvu writes to the provider, Dovecot reads a syncrepl consumer.

The session's slapd is the provider (syncprov); this module adds a consumer slapd and a Dovecot that asks only
the consumer, in the same state folder (so the consumer's Dovecot knows the replicated service password).

- a mailbox created through congvu authenticates at the consumer's Dovecot within seconds;
- a consumer that was stopped catches up when it starts again (a new mailbox, and a disabled one refused);
- with the provider down, the directory job waits; when the provider returns, it applies and replicates.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.actors import SYSTEM
from provisioning import accounts
from provisioning.directory import Directory, DirectoryConfig
from provisioning.models import DirectoryJob, Staff
from provisioning.sync import apply_pending
from services.common import free_port
from services.dovecot import Dovecot
from services.slapd import Slapd, consumer_of
from tests.conftest_services import service_config
from tests.factories import PASSWORD
from tests.mail_helpers import imap_login

REPLICATION_SECONDS = 10.0


class Replica:
    """The consumer slapd and the Dovecot that reads it."""

    def __init__(self, services: Any) -> None:
        config = services.config
        self.slapd = Slapd(
            config, services.root, name="slapd-consumer", port=free_port(), role=consumer_of(services.slapd.url)
        )
        self.dovecot = Dovecot(
            config, services.root, self.slapd, name="dovecot-consumer", imap_port=free_port(), pop3_port=free_port()
        )
        self.directory = Directory(
            DirectoryConfig(self.slapd.url, config.base_dn, config.admin_dn, config.admin_password, 3)
        )

    def status_of(self, address: str) -> str | None:
        """The mailbox's congvuMailStatus as the consumer has it (None: not there)."""
        found = self.directory.search(self.directory.config.base_dn, f"(mail={address})", ["congvuMailStatus"])
        return found[0][1]["congvuMailStatus"][0] if found else None

    def wait_for(self, address: str, status: str | None, timeout: float = REPLICATION_SECONDS) -> float:
        """Seconds until the consumer holds ``address`` with ``status``; fails after ``timeout``."""
        start = time.monotonic()
        while True:
            try:
                if self.status_of(address) == status:
                    return time.monotonic() - start
            except Exception:  # the consumer may still be starting: keep asking until the deadline
                self.directory.close()
            assert time.monotonic() - start < timeout, f"{address} not {status!r} on the consumer after {timeout} s"
            time.sleep(0.1)

    def imap_login(self, address: str, password: str) -> bool:
        return imap_login(self.dovecot.imap_port, address, password)


@pytest.fixture(scope="module")
def replica(services: Any) -> Iterator[Replica]:
    replica = Replica(services)
    try:
        replica.slapd.start()
        replica.dovecot.start()
        yield replica
    finally:
        replica.directory.close()
        replica.dovecot.stop()
        replica.slapd.stop()
        shutil.rmtree(replica.dovecot.dir, ignore_errors=True)
        shutil.rmtree(replica.slapd.dir, ignore_errors=True)


def test_a_mailbox_created_through_congvu_authenticates_at_the_consumers_dovecot_within_seconds(
    replica: Replica, create_staff: Callable[..., Staff]
) -> None:
    start = time.monotonic()
    person = create_staff(full_name="Ksor Y Phước", password=PASSWORD)  # committed and applied to the provider
    replica.wait_for(person.email, "active")
    assert replica.imap_login(person.email, PASSWORD)
    assert time.monotonic() - start < REPLICATION_SECONDS
    assert not replica.imap_login(person.email, PASSWORD + "-sai")


def test_a_consumer_that_was_stopped_catches_up_when_it_starts_again(
    replica: Replica, db: Any, runtime: Any, create_staff: Callable[..., Staff], commit_and_sync: Callable[[], Any]
) -> None:
    leaving = create_staff(full_name="Siu H'Mai", password=PASSWORD)
    replica.wait_for(leaving.email, "active")
    replica.slapd.stop()
    try:
        joining = create_staff(full_name="Nay Blum", password=PASSWORD)
        accounts.disable(db, SYSTEM, leaving, "nghỉ hưu")
        commit_and_sync()
    finally:
        replica.slapd.start()
    replica.wait_for(joining.email, "active")
    replica.wait_for(leaving.email, "disabled")
    assert replica.imap_login(joining.email, PASSWORD)
    assert not replica.imap_login(leaving.email, PASSWORD)


def test_directory_jobs_wait_out_a_provider_outage_then_apply_and_replicate(
    replica: Replica, services: Any, db: Any, runtime: Any, create_unit: Callable[..., Any], commit_and_sync: Any
) -> None:
    from provisioning import operations

    unit = create_unit()
    commit_and_sync()
    services.stop_slapd()
    try:
        person = operations.create_staff(
            db, SYSTEM, unit, operations.StaffInput("Rơ Châm H'Yao"), runtime.settings.mail_domain
        )
        accounts.set_password(
            db, SYSTEM, person, PASSWORD, secret_key=runtime.secret_key, min_length=runtime.settings.password_min_length
        )
        db.commit()
        outage = runtime.sync_directory()
        assert outage.unavailable
        jobs = db.scalars(
            select(DirectoryJob).where(
                DirectoryJob.object_id == person.id, DirectoryJob.action.in_(("sync_staff", "set_password"))
            )
        ).all()
        assert len(jobs) == 2
        assert all(job.status != "done" for job in jobs)
        assert replica.status_of(person.email) is None  # the consumer has nothing to replicate yet
    finally:
        services.start_slapd()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # past the backoff the failed attempt set
    result = apply_pending(
        runtime.session_factory, runtime.directory, runtime.settings.ldap_base_dn, runtime.secret_key, now=later
    )
    assert not result.unavailable
    assert result.failed == 0
    replica.wait_for(person.email, "active")
    assert replica.imap_login(person.email, PASSWORD)


def test_two_providers_in_mirror_mode_each_take_writes_and_replicate_them_to_the_other() -> None:
    import tempfile

    from services.supervisor import Services

    state = Path(tempfile.mkdtemp(prefix="congvu-mirror-"))
    config = service_config(state, "mirror-admin-" + state.name, ldap_port=free_port(), mirror_ldap_port=free_port())
    pair = Services(config)
    assert pair.mirror is not None
    connections = [
        Directory(DirectoryConfig(s.url, config.base_dn, config.admin_dn, config.admin_password, 3))
        for s in (pair.slapd, pair.mirror)
    ]
    try:
        pair.slapd.start()
        pair.mirror.start()
        for number, (writer, reader) in enumerate([connections, connections[::-1]]):
            dn = f"ou=mirror{number},{config.base_dn}"
            writer.upsert(dn, ["top", "organizationalUnit"], {"ou": [f"mirror{number}"]})
            deadline = time.monotonic() + REPLICATION_SECONDS
            while reader.read(dn, ["ou"]) is None:
                assert time.monotonic() < deadline, f"{dn} written to one provider never reached the other"
                time.sleep(0.1)
    finally:
        for connection in connections:
            connection.close()
        pair.mirror.stop()
        pair.slapd.stop()
        shutil.rmtree(state, ignore_errors=True)
