"""Every change leaves a hash-chained entry; `congvu audit verify` names tampering by id."""

import pytest
from sqlalchemy import delete, func, select, update

from core.changelog import ChangeEntry, verify
from provisioning.models import Role


@pytest.fixture
def add_entries(db, create_unit):
    """``add_entries(n)``: create n province-level units (one change entry each), commit, return the entries."""

    def _add_entries(n: int = 3) -> list[ChangeEntry]:
        for i in range(n):
            create_unit(f"T-AUDIT-{i}", name=f"Đơn vị thử {i}")
        db.commit()
        return list(db.scalars(select(ChangeEntry).order_by(ChangeEntry.id.desc()).limit(n)))[::-1]

    return _add_entries


def test_change_records_actor_target_and_after_values(add_entries) -> None:
    entry = add_entries(1)[0]
    assert entry.action == "unit.create"
    assert entry.actor == "system:system"
    assert entry.after["code"] == "T-AUDIT-0"
    assert entry.after["name"] == "Đơn vị thử 0"
    assert entry.occurred_at.tzinfo is not None


def test_intact_trail_verifies(db, add_entries, cli) -> None:
    add_entries()
    assert verify(db).ok
    result = cli(["changes", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_altered_entry_is_named(db, add_entries, cli) -> None:
    entries = add_entries()
    target = entries[1]
    db.execute(update(ChangeEntry).where(ChangeEntry.id == target.id).values(actor="staff:someone-else"))
    db.commit()
    result = cli(["changes", "verify"])
    assert result.exit_code == 1
    assert f"entry {target.id}" in result.output
    assert "altered" in result.output


def test_altered_values_are_named(db, add_entries) -> None:
    entries = add_entries()
    target = entries[0]
    db.execute(update(ChangeEntry).where(ChangeEntry.id == target.id).values(after={"code": "FORGED"}))
    db.commit()
    assert verify(db).first_bad_id == target.id


def test_deleted_entry_is_named(db, add_entries, cli) -> None:
    entries = add_entries()
    db.execute(delete(ChangeEntry).where(ChangeEntry.id == entries[1].id))
    db.commit()
    result = cli(["changes", "verify"])
    assert result.exit_code == 1
    assert f"entry {entries[2].id}" in result.output  # the first entry whose predecessor is missing


def test_deleted_newest_entry_is_noticed(db, add_entries) -> None:
    entries = add_entries()
    db.execute(delete(ChangeEntry).where(ChangeEntry.id == entries[-1].id))
    db.commit()
    result = verify(db)
    assert not result.ok
    assert result.first_bad_id == entries[-1].id


def test_inserted_entry_is_named(db, add_entries) -> None:
    entries = add_entries(2)
    forged = ChangeEntry(
        occurred_at=entries[0].occurred_at,
        actor="staff:forger",
        action="unit.create",
        target_type="unit",
        target_id="999",
        prev_hash=entries[0].entry_hash,
        entry_hash="f" * 64,
    )
    db.add(forged)
    db.commit()
    result = verify(db)
    assert not result.ok
    assert result.first_bad_id == forged.id


def test_audit_page_lists_and_filters(add_entries, client_as) -> None:
    add_entries(2)
    client = client_as(Role.SYSTEM_ADMIN)
    page = client.get("/audit", query_string={"action": "unit.create", "actor": "system"}).get_data(as_text=True)
    assert "Nhật ký thay đổi" in page
    assert "T-AUDIT-1" in page or "Đơn vị thử 1" in page
    none = client.get("/audit", query_string={"actor": "nobody-at-all"}).get_data(as_text=True)
    assert "Không có mục nào phù hợp" in none


def test_unit_admin_sees_only_their_units_entries(db, add_entries, create_unit, client_as) -> None:
    add_entries(1)  # province-level change: not in the district's subtree
    client = client_as(Role.UNIT_ADMIN, create_unit(name="Huyện Chư Păh", kind="district"))
    page = client.get("/audit", query_string={"action": "unit.create"}).get_data(as_text=True)
    assert "Đơn vị thử 0" not in page
    count = db.scalar(select(func.count(ChangeEntry.id)))
    assert count > 0
