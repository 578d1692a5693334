"""Changes are recorded as directory jobs and applied after the commit; slapd down means pending, not lost."""

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.actors import SYSTEM
from provisioning.directory import Directory, DirectoryConfig
from provisioning.entries import staff_dn
from provisioning.models import DirectoryJob, Unit
from provisioning.operations import StaffInput, create_staff
from provisioning.sync import apply_pending


@pytest.fixture
def directory(runtime) -> Iterator[Directory]:
    s = runtime.settings
    d = Directory(DirectoryConfig(s.ldap_url, s.ldap_base_dn, s.ldap_bind_dn, s.ldap_bind_password, 2))
    yield d
    d.close()


def test_change_waits_while_slapd_is_down_and_lands_when_it_returns(db, runtime, services, directory) -> None:
    unit = db.scalar(select(Unit).where(Unit.code == "STTTT"))
    services.stop_slapd()
    try:
        person = create_staff(db, SYSTEM, unit, StaffInput("Rơ Châm H'Yao", staff_number="T-SYNC-1"), "gialai.gov.vn")
        db.commit()
        first = runtime.sync_directory()
        assert first.unavailable
        assert first.pending >= 1
        job = db.scalar(
            select(DirectoryJob).where(DirectoryJob.object_id == person.id, DirectoryJob.action == "sync_staff")
        )
        db.refresh(job)
        assert job.status != "done"
        assert "unreachable" in job.last_error
    finally:
        services.start_slapd()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # past the backoff
    result = apply_pending(
        runtime.session_factory,
        directory,
        runtime.settings.ldap_base_dn,
        runtime.secret_key,
        now=later,
    )
    assert not result.unavailable
    db.refresh(job)
    assert job.status == "done"
    entry = directory.read(staff_dn(person, runtime.settings.ldap_base_dn), ["cn", "mail"])
    assert entry is not None
    assert entry["cn"] == ["Rơ Châm H'Yao"]
    # Applying again changes nothing and fails nothing.
    again = apply_pending(
        runtime.session_factory,
        directory,
        runtime.settings.ldap_base_dn,
        runtime.secret_key,
        now=later,
    )
    assert again.failed == 0


def test_ldap_special_characters_reach_the_directory_escaped(db, runtime, directory) -> None:
    unit = db.scalar(select(Unit).where(Unit.code == "STTTT"))
    name = 'Nguyễn Văn (An), "+\\<>;*=#'
    person = create_staff(
        db, SYSTEM, unit, StaffInput(name, staff_number="T-ESC-1", local_part="esc.test"), "gialai.gov.vn"
    )
    db.commit()
    runtime.sync_directory()
    entry = directory.read(staff_dn(person, runtime.settings.ldap_base_dn), ["cn"])
    assert entry is not None
    assert entry["cn"] == [person.full_name]
    assert directory.find_by_mail("*") is None  # a filter value is never a wildcard
