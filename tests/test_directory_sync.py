"""Changes are recorded as directory jobs and applied after the commit; slapd down means pending, not lost."""

import datetime as dt

from sqlalchemy import select

from provisioning.entries import staff_dn
from provisioning.models import DirectoryJob


def test_change_waits_while_slapd_is_down_and_lands_when_it_returns(
    db, runtime, services, directory, create_unit, create_staff, commit_and_sync
) -> None:
    unit = create_unit()
    commit_and_sync()  # the unit is in the directory already; the person is the change that must wait
    services.stop_slapd()
    try:
        person = create_staff(unit, full_name="Rơ Châm H'Yao", staff_number="T-SYNC-1")
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
    result = runtime.sync_directory(now=later)
    assert not result.unavailable
    db.refresh(job)
    assert job.status == "done"
    entry = directory.read(staff_dn(person, runtime.settings.ldap_base_dn), ["cn", "mail"])
    assert entry is not None
    assert entry["cn"] == ["Rơ Châm H'Yao"]
    # Applying again changes nothing and fails nothing.
    again = runtime.sync_directory(now=later)
    assert again.failed == 0


def test_ldap_special_characters_reach_the_directory_escaped(runtime, directory, create_staff, commit_and_sync) -> None:
    name = 'Nguyễn Văn (An), "+\\<>;*=#'
    person = create_staff(full_name=name, staff_number="T-ESC-1", local_part="esc.test")
    commit_and_sync()
    entry = directory.read(staff_dn(person, runtime.settings.ldap_base_dn), ["cn"])
    assert entry is not None
    assert entry["cn"] == [person.full_name]
    assert directory.find_by_mail("*") is None  # a filter value is never a wildcard
