"""Another worker wrote the same entry between our read and our add: that is "already there", not an outage."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from sqlalchemy import select

from admin_app.runtime import Runtime
from provisioning.directory import Directory, DirectoryUnavailable, EntryExists
from provisioning.entries import (
    PERSON_CLASSES,
    UNIT_CLASSES,
    list_dn,
    staff_attributes,
    staff_dn,
    unit_attributes,
    unit_dn,
)
from provisioning.models import DirectoryJob
from tests.factories import unique


def lose_first_read(monkeypatch: pytest.MonkeyPatch, directory: Directory, dn: str) -> list[str]:
    """The first read of ``dn`` answers "no such entry" although it exists: the other worker's add landed
    just after it. Returns the DNs whose read was lost, so a test can tell the race really happened."""
    real_read = directory.read
    lost: list[str] = []

    def read(target: str, attributes: Iterable[str] = ("*",)) -> dict[str, list[str]] | None:
        if target.lower() == dn.lower() and not lost:
            lost.append(target)
            return None
        return real_read(target, attributes)

    monkeypatch.setattr(directory, "read", read)
    return lost


def remove(directory: Directory, dn: str) -> None:
    """For entries no unit or mailbox of the database stands for (the factories clean up the others)."""
    if directory.read(dn, ["objectClass"]) is not None:
        directory.delete_tree(dn)


def job_status(db, object_id: int, action: str) -> str:
    job = db.scalar(select(DirectoryJob).where(DirectoryJob.object_id == object_id, DirectoryJob.action == action))
    assert job is not None
    db.refresh(job)
    return job.status


@pytest.mark.parametrize("other_wrote", ["stale values", "the same values"])
def test_sync_meets_a_unit_another_worker_just_added(
    db,
    runtime: Runtime,
    directory: Directory,
    create_unit,
    create_staff,
    monkeypatch: pytest.MonkeyPatch,
    other_wrote: str,
) -> None:
    base = runtime.settings.ldap_base_dn
    unit = create_unit(name="Ban Quản lý dự án Đầu tư xây dựng")
    person = create_staff(unit, full_name="Ksor Y Phước")
    db.commit()
    dn = unit_dn(unit, base)
    written = unit_attributes(unit)
    if other_wrote == "stale values":
        written = {**written, "description": ["Ban Quản lý dự án (tên cũ)"]}
    directory.upsert(dn, UNIT_CLASSES, written)  # the other worker's add
    lost = lose_first_read(monkeypatch, runtime.directory, dn)

    result = runtime.sync_directory()

    assert lost == [dn], "the race did not happen"
    assert not result.unavailable
    assert result.failed == 0
    assert job_status(db, unit.id, "sync_unit") == "done"
    entry = directory.read(dn, ["description", "congvuUnitCode"])
    assert entry is not None
    assert entry["description"] == ["Ban Quản lý dự án Đầu tư xây dựng"]  # the database's value won
    assert entry["congvuUnitCode"] == [unit.code]
    # The run went on: the jobs queued after the unit's reached slapd too.
    assert job_status(db, person.id, "sync_staff") == "done"
    assert job_status(db, unit.id, "sync_list") == "done"
    mailbox = directory.read(staff_dn(person, base), ["cn"])
    assert mailbox is not None
    assert mailbox["cn"] == ["Ksor Y Phước"]
    members = directory.read(list_dn(unit, base), ["member"])
    assert members is not None
    assert members["member"] == [staff_dn(person, base)]


def test_sync_meets_mailboxes_another_worker_just_added(
    db, runtime: Runtime, directory: Directory, create_unit, create_staff, commit_and_sync
) -> None:
    base = runtime.settings.ldap_base_dn
    unit = create_unit(name="Trung tâm Chuyển đổi số")
    commit_and_sync()
    first = create_staff(unit, full_name="Rơ Châm H'Yao", title="Chuyên viên")
    second = create_staff(unit, full_name="Nay Blum")
    db.commit()
    # The other worker wrote the first mailbox as it was before the title was set.
    directory.upsert(staff_dn(first, base), PERSON_CLASSES, {**staff_attributes(first), "title": []})

    result = runtime.sync_directory()

    assert not result.unavailable
    assert result.failed == 0
    assert job_status(db, first.id, "sync_staff") == "done"
    assert job_status(db, second.id, "sync_staff") == "done"
    assert directory.read(staff_dn(first, base), ["title"]) == {"title": ["Chuyên viên"]}
    assert directory.read(staff_dn(second, base), ["cn"]) == {"cn": ["Nay Blum"]}
    members = directory.read(list_dn(unit, base), ["member"])
    assert members is not None
    assert sorted(members["member"]) == sorted([staff_dn(first, base), staff_dn(second, base)])


def test_upsert_takes_an_entry_that_appeared_meanwhile_as_already_there(
    runtime: Runtime, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = runtime.settings.ldap_base_dn
    code = unique("RACE-").upper()
    dn = f"ou={code},{base}"
    other = f"ou={code}-B,{base}"
    attributes = {"ou": [code], "description": ["Phòng Nội vụ"], "congvuUnitCode": [code]}
    try:
        directory.upsert(dn, UNIT_CLASSES, attributes)
        lost = lose_first_read(monkeypatch, directory, dn)
        assert directory.upsert(dn, UNIT_CLASSES, attributes) == "unchanged"
        assert lost == [dn]
        lost = lose_first_read(monkeypatch, directory, dn)
        changed = {**attributes, "description": ["Phòng Nội vụ huyện Ia Pa"]}
        assert directory.upsert(dn, UNIT_CLASSES, changed) == "modified"
        assert lost == [dn]
        assert directory.read(dn, ["description"]) == {"description": ["Phòng Nội vụ huyện Ia Pa"]}
        # add_many still reports such an entry as 'exists'; a move onto a taken DN is a refusal, not an outage.
        assert directory.add_many([(dn, UNIT_CLASSES, attributes)]) == ["exists"]
        directory.upsert(other, UNIT_CLASSES, {**attributes, "ou": [code + "-B"]})
        with pytest.raises(EntryExists) as refused:
            directory.move(other, dn)
        assert not isinstance(refused.value, DirectoryUnavailable)
        assert directory.read(dn, ["ou"]) is not None  # and the directory still answers
    finally:
        monkeypatch.undo()
        remove(directory, dn)
        remove(directory, other)
