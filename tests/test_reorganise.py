"""A reorganisation applied as one plan: previewed exactly, applied in one unit of work, the directory brought in
line (entries at their new places, old addresses as aliases, lists right, no drift), bridge points re-homed or
retired, roles on ended units revoked; a bad row refuses the whole plan; the same plan twice changes nothing;
slapd stopped half-way loses nothing; the CLI previews and applies a file."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.actors import SYSTEM
from core.changelog import ChangeEntry
from core.outbox import MailJob
from core.tasks import Task
from meetings.models import BridgePoint, Meeting
from provisioning import sync
from provisioning.entries import list_dn, staff_dn
from provisioning.errors import ProvisioningError
from provisioning.history_models import Reorganisation, StaffPlacement, UnitSuccession
from provisioning.models import DirectoryJob, RoleGrant, Staff, Unit
from provisioning.reconcile import find_drift
from provisioning.reorg import tasks as reorg_tasks
from tests.plans import TaggedTree, plan_workbook

JULY, MARCH = dt.datetime(2025, 7, 1), dt.datetime(2025, 3, 1)


@dataclass
class World(TaggedTree):
    points: dict[str, BridgePoint]
    meetings: dict[str, Meeting]

    def plan(self, *, bad: bool = False) -> bytes:
        c, root = self.code, self.root.code
        rows: list[list[Any]] = [
            ["tạo mới", "", c("XA-1"), "Xã Một", "xã", root, "", JULY],
            ["tạo mới", "", c("XA-2"), "Phường Hai", "phường", root, "", JULY],
            ["tạo mới", "", c("XA-3"), "Xã Ba", "xã", root, "", JULY],
            ["giải thể", c("H-A"), c("XA-1"), "", "", "", "", JULY],
            ["Giai the", c("H-B"), "", "", "", "", "", "01/07/2025"],  # typed without diacritics, as text
            ["sáp nhập", c("S-X"), c("S-Y"), "", "", "", "", MARCH],
            ["đổi tên miền", c("S-Z"), "", "", "", "", f"szmoi{self.tag.lower()}.gialai.gov.vn", JULY],
        ]
        if bad:
            rows.append(["đổi tên", "KHONG-CO", "", "Phòng Không Có", "", "", "", JULY])
        staff = [[f"B1{self.tag}", c("XA-2")], [f"B2{self.tag}", c("XA-2")], [f"B3{self.tag}", c("XA-3")]]
        return plan_workbook(rows, staff)


@pytest.fixture
def world(db, province, create_unit, create_staff, create_point, create_meeting, commit_and_sync) -> World:
    tag = uuid.uuid4().hex[:6].upper()
    low = tag.lower()
    units = {
        "H-A": create_unit(f"H-A{tag}", name="Huyện A", kind="district"),
        "H-B": create_unit(f"H-B{tag}", name="Huyện B", kind="district", mail_domain=f"hb{low}.gialai.gov.vn"),
        "S-X": create_unit(f"S-X{tag}", name="Sở X"),
        "S-Y": create_unit(f"S-Y{tag}", name="Sở Y"),
        "S-Z": create_unit(f"S-Z{tag}", name="Sở Z", mail_domain=f"sz{low}.gialai.gov.vn"),
    }
    spec = [
        ("A1", "H-A", "Nguyễn Văn An"),
        ("A2", "H-A", "Trần Thị Bình"),
        ("B1", "H-B", "Ksor Y Phước"),
        ("B2", "H-B", "Siu H'Mai"),
        ("B3", "H-B", "Kpă Thuyên"),
        ("X1", "S-X", "Lê Thị Hoa"),
        ("Y1", "S-Y", "Phạm Văn Hùng"),
        ("Z1", "S-Z", "Đỗ Văn Nam"),
    ]
    people = {
        key: create_staff(units[unit], full_name=name, staff_number=f"{key}{tag}", local_part=f"{key.lower()}{low}")
        for key, unit, name in spec
    }
    # Someone in the province's domain already holds the address B3 would get there: B3 is numbered.
    people["Y2"] = create_staff(units["S-Y"], full_name="Kpă Thuyên", staff_number=f"Y2{tag}", local_part=f"b3{low}")
    from provisioning.roles import grant_role

    grant_role(db, SYSTEM, people["B1"], "unit_admin", units["H-B"])
    points = {
        "H-A": create_point(units["H-A"], name=f"Điểm cầu Huyện A {tag}", contact=people["A1"].email),
        "H-B": create_point(units["H-B"], name=f"Điểm cầu Huyện B {tag}", contact=people["B2"].email),
    }
    meetings = {key: create_meeting([point], title=f"Giao ban {key} {tag}") for key, point in points.items()}
    commit_and_sync()
    return World(tag, province, units, people, points, meetings)


def run_task(runtime, task_id: int) -> Task:
    task = runtime.task_worker("test-reorg").run_one(task_id)
    assert task is not None
    with runtime.session_factory() as session:
        stored = session.get(Task, task_id)
        session.expunge(stored)
    return stored


def preview_of(db, runtime, content: bytes, filename: str = "to-chuc-lai.xlsx") -> Reorganisation:
    reorg = reorg_tasks.upload(db, SYSTEM, filename, content)
    db.commit()
    task = run_task(runtime, reorg.task_id)
    assert task.status == "done", task.error
    db.expire_all()
    return db.get(Reorganisation, reorg.id)


def apply(db, runtime, reorg: Reorganisation) -> Task:
    task = reorg_tasks.queue_apply(db, SYSTEM, reorg)
    db.commit()
    return run_task(runtime, task.id)


def test_the_preview_shows_exactly_what_the_plan_does(db, runtime, world: World) -> None:
    reorg = preview_of(db, runtime, world.plan())
    preview = reorg.preview
    assert preview["errors"] == []
    assert preview["effective_on"] == "2025-07-01"
    tree = {row["code"]: row for row in preview["tree"]}
    c = world.code
    assert {k: tree[c(k)]["status"] for k in ("XA-1", "XA-2", "XA-3", "H-A", "H-B", "S-X", "S-Y", "S-Z")} == {
        "XA-1": "new",
        "XA-2": "new",
        "XA-3": "new",
        "H-A": "dissolved",
        "H-B": "dissolved",
        "S-X": "merged",
        "S-Y": "unchanged",
        "S-Z": "domain",
    }
    assert tree[c("XA-2")]["parent_code"] == world.root.code
    assert tree[c("XA-2")]["kind"] == "commune"
    assert tree[c("XA-2")]["depth"] == tree[c("S-Y")]["depth"]
    assert [
        (tree[c(k)]["mailboxes_before"], tree[c(k)]["mailboxes_after"]) for k in ("H-B", "XA-2", "XA-3", "S-Y")
    ] == [
        (3, 0),
        (0, 2),
        (0, 1),
        (2, 3),
    ]
    low = world.tag.lower()
    assert {(a["old"], a["new"], a["collision"] is not None) for a in preview["addresses"]} == {
        (f"b1{low}@hb{low}.gialai.gov.vn", f"b1{low}@gialai.gov.vn", False),
        (f"b2{low}@hb{low}.gialai.gov.vn", f"b2{low}@gialai.gov.vn", False),
        (f"b3{low}@hb{low}.gialai.gov.vn", f"b3{low}2@gialai.gov.vn", True),
        (f"z1{low}@sz{low}.gialai.gov.vn", f"z1{low}@szmoi{low}.gialai.gov.vn", False),
    }
    collision = next(a["collision"] for a in preview["addresses"] if a["collision"])
    assert f"b3{low}@gialai.gov.vn" in collision
    assert f"b3{low}2@gialai.gov.vn" in collision
    lists = {(entry["address"], entry["change"]) for entry in preview["lists"] if low in entry["address"]}
    assert lists == {
        (f"dl-h-a{low}@gialai.gov.vn", "removed"),
        (f"dl-h-b{low}@hb{low}.gialai.gov.vn", "removed"),
        (f"dl-s-x{low}@gialai.gov.vn", "removed"),
        (f"dl-xa-1{low}@gialai.gov.vn", "created"),
        (f"dl-xa-2{low}@gialai.gov.vn", "created"),
        (f"dl-xa-3{low}@gialai.gov.vn", "created"),
        (f"dl-s-y{low}@gialai.gov.vn", "members"),
        (f"dl-s-z{low}@sz{low}.gialai.gov.vn", "removed"),
        (f"dl-s-z{low}@szmoi{low}.gialai.gov.vn", "created"),
    }
    points = {p["unit"]: p for p in preview["points"]}
    assert points[c("H-A")]["action"] == "rehome"
    assert points[c("H-A")]["successor"] == "Xã Một"
    assert [b["action"] for b in points[c("H-A")]["bookings"]] == ["move"]
    assert points[c("H-B")]["action"] == "retire"
    assert points[c("H-B")]["bookings"][0]["meeting"] == f"Giao ban H-B {world.tag}"
    assert points[c("H-B")]["bookings"][0]["action"] == "cancel"
    assert preview["roles"] == [
        {
            "person": world.staff["B1"].email,
            "role": "unit_admin",
            "unit": c("H-B"),
            "action": "revoke",
            "new_unit": None,
        }
    ]
    assert preview["counts"] == {
        "units_changed": 7,
        "staff_moved": 6,
        "addresses_changed": 4,
        "roles_revoked": 1,
        "roles_moved": 0,
        "points_rehomed": 1,
        "points_retired": 1,
    }
    # Nothing changed yet.
    db.expire_all()
    assert db.scalar(select(Unit).where(Unit.code == c("XA-1"))) is None
    assert db.get(Staff, world.staff["B1"].id).unit_id == world.units["H-B"].id


def test_applying_the_plan_moves_the_tree_the_directory_and_the_points(db, runtime, directory, world: World) -> None:
    reorg = preview_of(db, runtime, world.plan())
    task = apply(db, runtime, reorg)
    assert task.status == "done", task.error
    db.expire_all()
    c, low, base = world.code, world.tag.lower(), runtime.settings.ldap_base_dn
    units = {u.code: u for u in db.scalars(select(Unit).where(Unit.code.like(f"%{world.tag}")))}
    for key in ("H-A", "H-B", "S-X"):
        assert units[c(key)].ended_on is not None
        assert directory.search(base, f"(congvuUnitCode={c(key)})", ["ou"]) == []
    assert units[c("S-X")].ended_on == dt.date(2025, 3, 1)
    assert units[c("XA-1")].started_on == dt.date(2025, 7, 1)
    where = {
        "A1": ("XA-1", f"a1{low}@gialai.gov.vn", None),
        "A2": ("XA-1", f"a2{low}@gialai.gov.vn", None),
        "B1": ("XA-2", f"b1{low}@gialai.gov.vn", f"b1{low}@hb{low}.gialai.gov.vn"),
        "B2": ("XA-2", f"b2{low}@gialai.gov.vn", f"b2{low}@hb{low}.gialai.gov.vn"),
        "B3": ("XA-3", f"b3{low}2@gialai.gov.vn", f"b3{low}@hb{low}.gialai.gov.vn"),
        "X1": ("S-Y", f"x1{low}@gialai.gov.vn", None),
        "Z1": ("S-Z", f"z1{low}@szmoi{low}.gialai.gov.vn", f"z1{low}@sz{low}.gialai.gov.vn"),
    }
    for key, (unit, address, alias) in where.items():
        person = db.get(Staff, world.staff[key].id)
        assert (person.unit.code, person.email) == (c(unit), address)
        entry = directory.read(staff_dn(person, base), ["mail", "congvuMailAlias"])
        assert entry is not None, key
        assert entry["mail"] == [address]
        assert entry.get("congvuMailAlias", []) == ([alias] if alias else [])
        assert len(directory.search(base, f"(congvuStaffNumber={key}{world.tag})", ["1.1"])) == 1
        if alias:
            kept = next(a for a in person.aliases if a.address == alias)
            assert kept.expires_at is not None
            assert kept.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(days=300)

    def members(code: str) -> set[str]:
        entry = directory.read(list_dn(units[code], base), ["member", "mail"])
        return {m.lower() for m in (entry or {}).get("member", [])}

    def dn(key: str) -> str:
        return staff_dn(db.get(Staff, world.staff[key].id), base).lower()

    assert members(c("XA-1")) == {dn("A1"), dn("A2")}
    assert members(c("XA-2")) == {dn("B1"), dn("B2")}
    assert members(c("XA-3")) == {dn("B3")}
    assert members(c("S-Y")) == {dn("X1"), dn("Y1"), dn("Y2")}
    assert directory.read(list_dn(units[c("S-Z")], base), ["mail"])["mail"] == [f"dl-s-z{low}@szmoi{low}.gialai.gov.vn"]
    assert directory.search(base, f"(cn=dl-h-a{low})", ["1.1"]) == []
    assert find_drift(db, runtime.directory, base) == []

    # Bridge points: Huyện A's goes to Xã Một with its booking; Huyện B's is retired, its booking cancelled.
    kept, retired = (db.get(BridgePoint, world.points[k].id) for k in ("H-A", "H-B"))
    assert (kept.unit_id, kept.is_active) == (units[c("XA-1")].id, True)
    assert db.get(Meeting, world.meetings["H-A"].id).is_cancelled is False
    assert retired.is_active is False
    assert db.get(Meeting, world.meetings["H-B"].id).is_cancelled is True
    notice = db.scalar(
        select(MailJob).where(MailJob.subject_ref == f"meeting:{world.meetings['H-B'].id}", MailJob.kind == "cancel")
    )
    assert notice is not None
    assert notice.recipient == f"b2{low}@hb{low}.gialai.gov.vn"  # the point's contact (the old address, an alias)
    # The role on the split district is gone; history knows who became whom.
    assert db.scalar(select(RoleGrant).where(RoleGrant.unit_id == units[c("H-B")].id)) is None
    successions = {
        (db.get(Unit, s.predecessor_id).code, db.get(Unit, s.successor_id).code, s.kind)
        for s in db.scalars(
            select(UnitSuccession).where(UnitSuccession.predecessor_id.in_([u.id for u in units.values()]))
        )
    }
    assert successions == {
        (c("H-A"), c("XA-1"), "dissolve"),
        (c("H-B"), c("XA-2"), "split"),
        (c("H-B"), c("XA-3"), "split"),
        (c("S-X"), c("S-Y"), "merge"),
    }
    placement = db.scalar(select(StaffPlacement).where(StaffPlacement.staff_id == world.staff["B3"].id))
    assert (placement.unit_id, placement.valid_until) == (world.units["H-B"].id, dt.date(2025, 7, 1))
    applied = db.get(Reorganisation, reorg.id)
    assert applied.status == "applied"
    assert applied.summary["staff_moved"] == 6
    one_entry = select(func.count(ChangeEntry.id)).where(
        ChangeEntry.action == "reorganisation.apply", ChangeEntry.target_id == str(reorg.id)
    )
    assert db.scalar(one_entry) == 1  # one entry for the plan (other tests' plans have their own)
    # Today's tree no longer lists the ended units.
    from provisioning.queries import visible_units

    listed = {u.code for u in db.scalars(visible_units(SYSTEM))}
    assert c("XA-1") in listed
    assert not {c("H-A"), c("S-X")} & listed


def test_a_plan_with_one_bad_row_is_refused_whole(db, runtime, world: World) -> None:
    reorg = preview_of(db, runtime, world.plan(bad=True))
    assert reorg.preview["errors"] == [
        {"sheet": "Đơn vị", "row": 9, "column": "Mã cũ", "message": "no unit has the code KHONG-CO"}
    ]
    with pytest.raises(ProvisioningError, match="without errors"):
        reorg_tasks.queue_apply(db, SYSTEM, reorg)
    assert db.scalar(select(Unit).where(Unit.code == world.code("XA-1"))) is None


def test_the_same_plan_applied_twice_changes_nothing_the_second_time(db, runtime, world: World) -> None:
    content = world.plan()
    assert apply(db, runtime, preview_of(db, runtime, content)).status == "done"
    again = preview_of(db, runtime, content, "to-chuc-lai-lan-2.xlsx")
    assert again.preview["errors"] == []
    assert again.preview["already_applied"] is not None
    entries = db.scalar(select(func.count(ChangeEntry.id)))
    jobs = db.scalar(select(func.count(DirectoryJob.id)))
    task = apply(db, runtime, again)
    assert task.status == "done", task.error
    assert task.result["nothing_to_change"] is True
    db.expire_all()
    assert db.scalar(select(func.count(ChangeEntry.id))) == entries
    assert db.scalar(select(func.count(DirectoryJob.id))) == jobs


def test_slapd_stopped_while_applying_loses_nothing(
    db, runtime, services, directory, world: World, monkeypatch
) -> None:
    reorg = preview_of(db, runtime, world.plan())
    chunks = {"n": 0}
    original = sync._apply_chunk

    def stop_after_first_chunk(*args: Any, **kwargs: Any) -> bool:
        chunks["n"] += 1
        if chunks["n"] == 2:
            services.stop_slapd()  # half the jobs are applied; slapd goes away under the rest
        return original(*args, **kwargs)

    monkeypatch.setattr(sync, "CHUNK", 8)
    monkeypatch.setattr(sync, "_apply_chunk", stop_after_first_chunk)
    try:
        task = apply(db, runtime, reorg)
        assert task.status == "done", task.error
        origin = f"task:{task.id}"
        pending = db.scalar(
            select(func.count(DirectoryJob.id)).where(DirectoryJob.origin == origin, DirectoryJob.status != "done")
        )
        assert pending > 0
    finally:
        services.start_slapd()
    result = runtime.sync_directory(now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))  # the scheduler's retry
    assert not result.unavailable, result
    assert result.failed == 0, result
    db.expire_all()
    base = runtime.settings.ldap_base_dn
    for key in ("A1", "A2", "B1", "B2", "B3", "X1", "Z1"):
        person = db.get(Staff, world.staff[key].id)
        found = directory.search(base, f"(congvuStaffNumber={key}{world.tag})", ["mail"])
        assert [(d.lower(), a["mail"]) for d, a in found] == [(staff_dn(person, base).lower(), [person.email])]
    assert find_drift(db, runtime.directory, base) == []


def test_the_cli_previews_and_applies_a_plan_file(db, runtime, cli, world: World, tmp_path: Path) -> None:
    bad = tmp_path / "sai.xlsx"
    bad.write_bytes(world.plan(bad=True))
    refused = cli(["reorganise", "preview", str(bad)])
    assert refused.exit_code == 1, refused.output
    assert "Đơn vị, row 9, column Mã cũ: no unit has the code KHONG-CO" in refused.output
    plan = tmp_path / "to-chuc-lai.xlsx"
    plan.write_bytes(world.plan())
    shown = cli(["reorganise", "preview", str(plan)])
    assert shown.exit_code == 0, shown.output
    assert "addresses changed: 4" in shown.output
    assert "retire" in shown.output
    applied = cli(["reorganise", "apply", str(plan), "--yes"])
    assert applied.exit_code == 0, applied.output
    assert "applied" in applied.output
    db.expire_all()
    assert db.get(Staff, world.staff["B3"].id).email == f"b3{world.tag.lower()}2@gialai.gov.vn"
    assert find_drift(db, runtime.directory, runtime.settings.ldap_base_dn) == []
