"""A reorganisation whose worker dies while slapd is frozen half-way through the directory: another worker takes
the task up, applies what the first committed, and every mailbox ends up exactly once at its new place, with
its old address as an alias. (A database of its own, committed, and real worker processes.)"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.actors import SYSTEM
from core.changelog import ChangeEntry
from provisioning.entries import staff_dn
from provisioning.history_models import Reorganisation
from provisioning.models import DirectoryJob, Staff
from provisioning.operations import StaffInput, create_staff_many, create_unit
from provisioning.reorg import tasks as reorg_tasks
from tests.own_database import OwnDatabase, a_second_worker_finishes, kill_a_worker_in_the_directory_phase
from tests.plans import plan_workbook

PEOPLE = 300
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Kpă Thuyên", "Ksor Y Phước", "Rơ Châm H'Yao", "Siu H'Mai", "Nay Blum"]


class World(OwnDatabase):
    def __init__(self, tmp: Path, services: Any) -> None:
        super().__init__(tmp, services, "reorg")
        self.tag = uuid.uuid4().hex[:6].upper()
        low = self.tag.lower()
        with self.runtime.unit_of_work() as session:
            root = self.province(session)
            self.root_code = root.code
            district = create_unit(
                session,
                SYSTEM,
                code=f"H-R{self.tag}",
                name="Huyện Thử",
                kind="district",
                parent=root,
                mail_domain=f"hr{low}.gialai.gov.vn",
            )
            create_staff_many(
                session,
                SYSTEM,
                [
                    (
                        district,
                        StaffInput(NAMES[i % len(NAMES)], staff_number=f"R{i:04d}{self.tag}", local_part=f"p{i}{low}"),
                    )
                    for i in range(PEOPLE)
                ],
                "gialai.gov.vn",
            )

    def plan(self) -> bytes:
        """District H-R dissolved into a new Xã Một, half its people to a new Xã Hai."""
        july = dt.datetime(2025, 7, 1)
        units = [
            ["tạo mới", "", f"C1{self.tag}", "Xã Một", "xã", self.root_code, "", july],
            ["tạo mới", "", f"C2{self.tag}", "Xã Hai", "xã", self.root_code, "", july],
            ["giải thể", f"H-R{self.tag}", f"C1{self.tag}", "", "", "", "", july],
        ]
        return plan_workbook(units, [[f"R{i:04d}{self.tag}", f"C2{self.tag}"] for i in range(0, PEOPLE, 2)])

    def close(self) -> None:
        base = self.overrides["ldap_base_dn"]
        for code in (f"C1{self.tag}", f"C2{self.tag}", f"H-R{self.tag}"):
            for dn, _ in self.runtime.directory.search(base, f"(&(objectClass=congvuUnit)(ou={code}))", ["1.1"]):
                self.runtime.directory.delete_tree(dn)
        super().close()


@pytest.fixture
def world(tmp_path: Path, services: Any) -> Iterator[World]:
    w = World(tmp_path, services)
    try:
        assert not w.runtime.sync_directory().unavailable
        yield w
    finally:
        w.close()


def test_a_worker_killed_with_slapd_frozen_is_replaced_and_every_entry_lands_once(world: World, services: Any) -> None:
    rt = world.runtime
    with rt.unit_of_work() as session:
        reorg_id = reorg_tasks.upload(session, SYSTEM, "giai-the.xlsx", world.plan()).id
    assert rt.task_worker("preview").run_one() is not None
    with rt.unit_of_work() as session:
        reorg = session.get(Reorganisation, reorg_id)
        assert reorg.preview["errors"] == []
        assert reorg.preview["counts"]["addresses_changed"] == PEOPLE
        task_id = reorg_tasks.queue_apply(session, SYSTEM, reorg).id

    log = kill_a_worker_in_the_directory_phase(world, services, task_id)
    origin = f"task:{task_id}"
    with rt.session_factory() as session:
        left = session.scalar(
            select(func.count(DirectoryJob.id)).where(DirectoryJob.origin == origin, DirectoryJob.status != "done")
        )
        assert session.get(Reorganisation, reorg_id).status == "applied"  # the database part had committed
    assert left > 0

    task = a_second_worker_finishes(world, task_id, log)
    assert task.attempts == 2
    base = world.overrides["ldap_base_dn"]
    with rt.session_factory() as session:
        assert (
            session.scalar(
                select(func.count(DirectoryJob.id)).where(DirectoryJob.origin == origin, DirectoryJob.status != "done")
            )
            == 0
        )
        assert (
            session.scalar(
                select(func.count(ChangeEntry.id)).where(
                    ChangeEntry.action == "reorganisation.apply", ChangeEntry.target_id == str(reorg_id)
                )
            )
            == 1
        )
        people = session.scalars(select(Staff).where(Staff.staff_number.like(f"R%{world.tag}"))).all()
        expected = {p.staff_number: (staff_dn(p, base).lower(), p.email, p.aliases[0].address) for p in people}
    assert len(expected) == PEOPLE
    found = rt.directory.search(
        base, f"(congvuStaffNumber=R*{world.tag})", ["congvuStaffNumber", "mail", "congvuMailAlias"]
    )
    seen = {a["congvuStaffNumber"][0]: (dn.lower(), a["mail"][0], a["congvuMailAlias"][0]) for dn, a in found}
    assert len(found) == PEOPLE  # every entry exactly once
    assert seen == expected
    assert all(
        email.endswith("@gialai.gov.vn") and alias.endswith(f"@hr{world.tag.lower()}.gialai.gov.vn")
        for _, email, alias in seen.values()
    )
    assert rt.directory.search(base, f"(&(objectClass=congvuUnit)(ou=H-R{world.tag}))", ["1.1"]) == []
