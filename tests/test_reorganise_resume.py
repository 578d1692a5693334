"""A reorganisation whose worker dies while slapd is frozen half-way through the directory: another worker takes
the task up, applies what the first committed, and every mailbox ends up exactly once at its new place, with
its old address as an alias. (A database of its own, committed, and real worker processes.)"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from admin_app import create_app
from admin_app.migrate import upgrade
from admin_app.runtime import Runtime
from core.actors import SYSTEM
from core.changelog import ChangeEntry
from core.db import READ_ONLY
from core.tasks import Task
from provisioning.entries import staff_dn
from provisioning.history_models import Reorganisation
from provisioning.models import DirectoryJob, Staff, Unit
from provisioning.operations import StaffInput, create_staff_many, create_unit
from provisioning.reorg import tasks as reorg_tasks
from tests.conftest import app_overrides, drop_database, fresh_database_url

PEOPLE = 300
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Kpă Thuyên", "Ksor Y Phước", "Rơ Châm H'Yao", "Siu H'Mai", "Nay Blum"]


class World:
    def __init__(self, tmp: Path, services: Any) -> None:
        self.url = fresh_database_url(tmp, "reorg")
        upgrade(self.url)
        self.overrides = app_overrides(tmp / "instance", self.url, services) | {"task_timeout_seconds": 2}
        self.app = create_app(dict(self.overrides))
        self.runtime: Runtime = self.app.extensions["congvu"]
        self.tag = uuid.uuid4().hex[:6].upper()
        low = self.tag.lower()
        with self.runtime.unit_of_work() as session:
            root = session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
            if root is None:
                root = create_unit(session, SYSTEM, code="TINH", name="Tỉnh Gia Lai", kind="province", parent=None)
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
        july = dt.datetime(2025, 7, 1)
        book = Workbook()
        units = book.active
        units.title = "Đơn vị"
        units.append(["Thao tác", "Mã cũ", "Mã mới", "Tên mới", "Loại", "Đơn vị cha mới", "Ngày hiệu lực"])
        units.append(["tạo mới", "", f"C1{self.tag}", "Xã Một", "xã", self.root_code, july])
        units.append(["tạo mới", "", f"C2{self.tag}", "Xã Hai", "xã", self.root_code, july])
        units.append(["giải thể", f"H-R{self.tag}", f"C1{self.tag}", "", "", "", july])
        staff = book.create_sheet("Nhân sự")
        staff.append(["Mã nhân sự", "Đơn vị mới"])
        for i in range(0, PEOPLE, 2):
            staff.append([f"R{i:04d}{self.tag}", f"C2{self.tag}"])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "CONGVU_INSTANCE_PATH": str(self.overrides["instance_path"])}
        for key, value in self.overrides.items():
            if key != "instance_path":
                env[f"CONGVU_{key.upper()}"] = str(value)
        return env

    def task(self, task_id: int) -> Task:
        token = READ_ONLY.set(True)
        try:
            with self.runtime.session_factory() as session:
                task = session.get(Task, task_id)
                assert task is not None
                session.expunge(task)
                return task
        finally:
            READ_ONLY.reset(token)

    def close(self) -> None:
        base = self.overrides["ldap_base_dn"]
        for code in (f"C1{self.tag}", f"C2{self.tag}", f"H-R{self.tag}"):
            for dn, _ in self.runtime.directory.search(base, f"(&(objectClass=congvuUnit)(ou={code}))", ["1.1"]):
                self.runtime.directory.delete_tree(dn)
        self.runtime.directory.close()
        self.runtime.engine.dispose()
        drop_database(self.url)


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

    worker = [sys.executable, "-c", "from admin_app.cli import main; main()", "worker"]
    log = Path(world.overrides["instance_path"]) / "worker.log"
    with log.open("wb") as out:
        first = subprocess.Popen(worker, env=world.environment(), stdout=out, stderr=subprocess.STDOUT)
    slapd = next(s.pid for s in services.status() if s.name == "slapd")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and world.task(task_id).phase != "directory":
            assert world.task(task_id).status != "done", "the worker finished before it could be stopped"
            time.sleep(0.01)
        os.kill(slapd, signal.SIGSTOP)  # caught half-way through the directory; then the worker dies
        try:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            os.kill(slapd, signal.SIGCONT)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    origin = f"task:{task_id}"
    with rt.session_factory() as session:
        left = session.scalar(
            select(func.count(DirectoryJob.id)).where(DirectoryJob.origin == origin, DirectoryJob.status != "done")
        )
        assert session.get(Reorganisation, reorg_id).status == "applied"  # the database part had committed
    assert left > 0

    with log.open("ab") as out:
        second = subprocess.Popen(worker, env=world.environment(), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while world.task(task_id).status != "done" and time.monotonic() < deadline:
            assert world.task(task_id).status != "failed", world.task(task_id).error
            time.sleep(0.2)
    finally:
        second.terminate()
        second.wait(timeout=30)
    task = world.task(task_id)
    assert task.status == "done", log.read_text(errors="replace")
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
