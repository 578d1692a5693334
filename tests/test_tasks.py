"""Durable background work and the one boundary, against real slapd.

- An import started on one web worker shows its progress on another (two app instances, one database).
- A worker process killed in the middle of an import is replaced; every row lands exactly once.
- Unreadable files end as failed tasks with a clear message.
- Moving a person (console, import) leaves the old unit's distribution list without them.
- A CLI command and a scheduled job reach slapd with no extra call.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select

from admin_app.runtime import Runtime
from core.actors import SYSTEM
from core.changelog import ChangeEntry
from core.tasks import Task
from provisioning import import_tasks
from provisioning.accounts import archive
from provisioning.entries import list_dn, staff_dn, unit_dn
from provisioning.models import DirectoryJob, ImportBatch, Staff, Unit
from provisioning.operations import StaffInput, create_local_admin, create_staff, create_unit
from tests.conftest import csrf_token, sign_in
from tests.own_database import OwnDatabase, a_second_worker_finishes, kill_a_worker_in_the_directory_phase

NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Kpă Thuyên", "Ksor Y Phước", "Rơ Châm H'Yao", "Siu H'Mai", "Nay Blum"]
PASSWORD = "Mat-khau-rat-dai-2026"


def staff_list(prefix: str, n: int, unit_code: str = "") -> bytes:
    lines = ["mã_cán_bộ,họ_và_tên,mã_đơn_vị,chức_vụ"]
    lines += [f"{prefix}{i:05d},{NAMES[i % len(NAMES)]},{unit_code},Chuyên viên" for i in range(n)]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def progress_of(page: str) -> tuple[int, int] | None:
    match = re.search(r'<progress id="import-progress" max="(\d+)" value="(\d+)">', page)
    return (int(match.group(2)), int(match.group(1))) if match else None


def upload(client: FlaskClient, unit_id: int, content: bytes, name: str) -> str:
    token = csrf_token(client, f"/units/{unit_id}/import")
    response = client.post(
        f"/units/{unit_id}/import",
        data={"file": (io.BytesIO(content), name), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


# -- a world of its own: a fresh database shared by two app instances and a worker process ---------------


class World(OwnDatabase):
    def __init__(self, tmp: Path, services: Any) -> None:
        super().__init__(tmp, services, "tasks", apps=2)
        self.app_a, self.app_b = self.apps
        self.admin = f"qt-{uuid.uuid4().hex[:6]}"
        self.code = f"T-TASK-{uuid.uuid4().hex[:6].upper()}"
        with self.runtime.unit_of_work() as session:
            root = self.province(session)
            unit = create_unit(
                session, SYSTEM, code=self.code, name=f"Sở thử nghiệm {self.code}", kind="department", parent=root
            )
            create_local_admin(session, SYSTEM, self.admin, PASSWORD)
            self.unit_id = unit.id

    def client(self, app: Flask) -> FlaskClient:
        client = app.test_client()
        assert sign_in(client, self.admin, PASSWORD).status_code == 302
        return client


@pytest.fixture
def world(tmp_path: Path, services: Any) -> Iterator[World]:
    w = World(tmp_path, services)
    yield w
    w.close()


def test_import_progress_is_the_same_on_every_web_worker(world: World) -> None:
    client_a, client_b = world.client(world.app_a), world.client(world.app_b)
    location = upload(client_a, world.unit_id, staff_list("T-TW-", 2000), "danh-sach-2000.csv")
    waiting = client_b.get(location).get_data(as_text=True)
    assert "Đang chờ" in waiting
    assert 'http-equiv="refresh"' in waiting
    worker = world.runtime.task_worker("worker-1")
    assert worker.run_one() is not None  # the preview
    previewed = client_b.get(location).get_data(as_text=True)
    assert 'id="creates">2.000<' in previewed
    token = csrf_token(client_b, location)
    assert client_b.post(location + "/apply", data={"csrf_token": token, "confirm": "yes"}).status_code == 302

    seen: list[tuple[int, int]] = []
    runner = threading.Thread(target=worker.run_one)
    runner.start()
    while runner.is_alive():
        for client in (client_a, client_b):
            progress = progress_of(client.get(location).get_data(as_text=True))
            if progress is not None:
                seen.append(progress)
        time.sleep(0.05)
    runner.join()
    assert any(0 < done < total for done, total in seen), seen  # a moving bar, read from either worker
    for client in (client_a, client_b):
        page = client.get(location).get_data(as_text=True)
        assert 'id="creates">2.000<' in page
        assert progress_of(page) is None
    found = world.runtime.directory.search(
        world.overrides["ldap_base_dn"], "(congvuStaffNumber=T-TW-*)", ["congvuStaffNumber"]
    )
    assert len({a["congvuStaffNumber"][0] for _, a in found}) == 2000


def test_a_killed_worker_is_replaced_and_every_row_lands_exactly_once(world: World, services: Any) -> None:
    rt = world.runtime
    with rt.unit_of_work() as session:
        unit = session.get(Unit, world.unit_id)
        batch = import_tasks.upload(session, SYSTEM, unit, "ds.csv", staff_list("T-TK-", 2000))
        batch_id = batch.id
    assert rt.task_worker("preview").run_one() is not None
    with rt.unit_of_work() as session:
        task_id = import_tasks.queue(session, SYSTEM, session.get(ImportBatch, batch_id), do_apply=True).id

    log = kill_a_worker_in_the_directory_phase(world, services, task_id)
    with rt.session_factory() as session:
        left = session.scalar(
            select(func.count(DirectoryJob.id)).where(
                DirectoryJob.origin == f"task:{task_id}", DirectoryJob.status != "done"
            )
        )
        assert session.get(Task, task_id).status == "running"
    assert left > 0  # stopped in the middle of writing to slapd

    task = a_second_worker_finishes(world, task_id, log)
    assert task.attempts == 2
    with rt.session_factory() as session:
        numbers = session.scalars(select(Staff.staff_number).where(Staff.staff_number.like("T-TK-%"))).all()
        assert len(numbers) == len(set(numbers)) == 2000
        created = session.scalar(
            select(func.count(ChangeEntry.id)).where(
                ChangeEntry.action == "staff.create", ChangeEntry.unit_id == world.unit_id
            )
        )
        assert created == 2000
        assert session.scalar(select(func.count(ChangeEntry.id)).where(ChangeEntry.action == "import.apply")) == 1
        pending = session.scalar(
            select(func.count(DirectoryJob.id)).where(
                DirectoryJob.origin == f"task:{task_id}", DirectoryJob.status != "done"
            )
        )
        assert pending == 0
        unit_entry = unit_dn(session.get(Unit, world.unit_id), world.overrides["ldap_base_dn"])
    found = rt.directory.search(unit_entry, "(objectClass=congvuMailbox)", ["congvuStaffNumber"])
    assert sorted(a["congvuStaffNumber"][0] for _, a in found) == sorted(numbers)


# -- in the shared test database (rolled back after each test) ----------------------------------------


@pytest.fixture
def admin_client(client: FlaskClient, db: Any) -> FlaskClient:
    name = f"qt-{uuid.uuid4().hex[:6]}"
    create_local_admin(db, SYSTEM, name, PASSWORD)
    db.commit()
    assert sign_in(client, name, PASSWORD).status_code == 302
    return client


@pytest.fixture
def own_units(db: Any, province: Unit) -> tuple[Unit, Unit, Unit]:
    root = province
    tag = uuid.uuid4().hex[:6].upper()
    parent = create_unit(db, SYSTEM, code=f"T-MV-{tag}", name=f"Khối thử {tag}", kind="office", parent=root)
    one = create_unit(db, SYSTEM, code=f"T-MV1-{tag}", name=f"Phòng một {tag}", kind="office", parent=parent)
    two = create_unit(db, SYSTEM, code=f"T-MV2-{tag}", name=f"Phòng hai {tag}", kind="office", parent=parent)
    return parent, one, two


def _empty_workbook() -> bytes:
    """An XLSX whose workbook lists no worksheet (Excel writes none; other tools do)."""
    source = io.BytesIO()
    Workbook().save(source)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source.getvalue())) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", data, flags=re.S)
            zout.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("khong-co-trang.xlsx", _empty_workbook(), "không có trang tính nào"),
        ("bao-cao.xlsx", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "không phải là bảng tính XLSX"),
    ],
)
def test_a_workbook_without_a_readable_sheet_is_refused_at_upload(
    admin_client: FlaskClient, own_units: Any, db: Any, name: str, content: bytes, message: str
) -> None:
    db.commit()
    unit_id = own_units[0].id
    token = csrf_token(admin_client, f"/units/{unit_id}/import")
    response = admin_client.post(
        f"/units/{unit_id}/import",
        data={"file": (io.BytesIO(content), name), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert name in page
    assert db.scalar(select(ImportBatch).where(ImportBatch.filename == name)) is None  # nothing kept, no task


@pytest.mark.parametrize(("name", "content", "message"), [("trong.csv", b"", "trống")])
def test_an_unreadable_file_ends_as_a_failed_task_with_a_clear_message(
    admin_client: FlaskClient, own_units: Any, runtime: Runtime, db: Any, name: str, content: bytes, message: str
) -> None:
    db.commit()
    location = upload(admin_client, own_units[0].id, content, name)
    queued = db.get(ImportBatch, int(location.rsplit("/", 1)[1])).task_id
    task = runtime.task_worker("test-worker").run_one(queued)
    assert task is not None
    db.expire_all()
    stored = db.get(Task, task.id)
    assert stored.status == "failed"
    assert message in stored.error
    assert name in stored.error
    page = admin_client.get(location).get_data(as_text=True)
    assert message in page
    assert 'http-equiv="refresh"' not in page  # a finished page does not poll forever


def _members(runtime: Runtime, unit: Unit) -> set[str]:
    entry = runtime.directory.read(list_dn(unit, runtime.settings.ldap_base_dn), ["member"])
    return {m.lower() for m in (entry or {}).get("member", [])}


def _two_people(db: Any, runtime: Runtime, unit: Unit, tag: str) -> tuple[Staff, Staff]:
    p = create_staff(db, SYSTEM, unit, StaffInput("Nguyễn Văn An", staff_number=f"T-MV-P-{tag}"), "gialai.gov.vn")
    q = create_staff(db, SYSTEM, unit, StaffInput("Trần Thị Bình", staff_number=f"T-MV-Q-{tag}"), "gialai.gov.vn")
    db.commit()
    runtime.sync_directory()
    return p, q


def test_moving_a_person_in_the_console_takes_them_off_the_old_units_list(
    admin_client: FlaskClient, own_units: Any, runtime: Runtime, db: Any
) -> None:
    _parent, one, two = own_units
    p, q = _two_people(db, runtime, one, uuid.uuid4().hex[:6])
    base = runtime.settings.ldap_base_dn
    assert staff_dn(p, base).lower() in _members(runtime, one)
    token = csrf_token(admin_client, f"/staff/{p.id}")
    response = admin_client.post(
        f"/staff/{p.id}/action", data={"csrf_token": token, "verb": "move", "unit_id": str(two.id)}
    )
    assert response.status_code == 302
    db.expire_all()
    p = db.get(Staff, p.id)
    assert p.unit_id == two.id
    assert _members(runtime, one) == {staff_dn(q, base).lower()}  # no sync called: the request applied it
    assert _members(runtime, two) == {staff_dn(p, base).lower()}


def test_moving_a_person_by_import_takes_them_off_the_old_units_list(own_units: Any, runtime: Runtime, db: Any) -> None:
    parent, one, two = own_units
    tag = uuid.uuid4().hex[:6]
    p, q = _two_people(db, runtime, one, tag)
    base = runtime.settings.ldap_base_dn
    content = ("mã_cán_bộ,họ_và_tên,mã_đơn_vị\n" + f"T-MV-P-{tag},Nguyễn Văn An,{two.code}\n").encode()
    batch = import_tasks.upload(db, SYSTEM, parent, "chuyen.csv", content)
    db.commit()
    worker = runtime.task_worker("test-worker")
    assert worker.run_one(batch.task_id) is not None
    db.expire_all()
    assert db.get(ImportBatch, batch.id).summary["updates"] == 1
    applying = import_tasks.queue(db, SYSTEM, db.get(ImportBatch, batch.id), do_apply=True)
    db.commit()
    assert worker.run_one(applying.id) is not None
    db.expire_all()
    assert db.get(ImportBatch, batch.id).status == "applied"
    p = db.get(Staff, p.id)
    assert p.unit_id == two.id
    assert _members(runtime, one) == {staff_dn(q, base).lower()}
    assert _members(runtime, two) == {staff_dn(p, base).lower()}


def test_a_cli_command_and_a_job_reach_slapd_with_no_extra_call(
    runtime: Runtime, db: Any, province: Unit, cli: Callable[..., Any]
) -> None:
    from admin_app.jobs import execute

    root = province
    tag = uuid.uuid4().hex[:6].upper()
    unit = create_unit(db, SYSTEM, code=f"T-CLI-{tag}", name=f"Phòng thử {tag}", kind="office", parent=root)
    person = create_staff(db, SYSTEM, unit, StaffInput("Kpă Thuyên", staff_number=f"T-CLI-{tag}"), "gialai.gov.vn")
    gone = create_staff(db, SYSTEM, unit, StaffInput("Siu H'Mai", staff_number=f"T-CLI2-{tag}"), "gialai.gov.vn")
    db.commit()
    runtime.sync_directory()
    base = runtime.settings.ldap_base_dn
    assert runtime.directory.read(staff_dn(person, base), ["congvuMailStatus"])["congvuMailStatus"] == ["active"]

    result = cli(["accounts", "disable", person.email, "--reason", "nghỉ hưu"])
    assert result.exit_code == 0, result.output
    assert runtime.directory.read(staff_dn(person, base), ["congvuMailStatus"])["congvuMailStatus"] == ["disabled"]

    archive(db, SYSTEM, gone, "chuyển công tác")
    gone.archived_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=runtime.settings.archive_retention_days + 1)
    db.commit()
    runtime.sync_directory()
    assert runtime.directory.read(staff_dn(gone, base), ["mail"]) is not None
    run = execute(runtime, "accounts.expire_archives")
    assert run.is_ok, run.message
    assert run.message == "removed=1"
    assert runtime.directory.read(staff_dn(gone, base), ["mail"]) is None  # the job's own commit applied it


def test_many_messages_from_one_change_go_to_a_background_worker(runtime: Runtime, db: Any, services: Any) -> None:
    """A unit of work that records a few messages sends them at once; one that records many (the invitations
    of a 135-point meeting) hands them to a worker, so the request that booked does not wait for them."""
    from core import outbox
    from core.tasks import TaskStatus
    from tests.mail_helpers import wait_for_mail

    tag = uuid.uuid4().hex[:8]
    recipients = [f"moi{i}.{tag}@gialai.gov.vn" for i in range(25)]
    work = runtime.boundary.begin("request")
    for address in recipients:
        outbox.enqueue(work.session, kind="test", recipient=address, subject="Giấy mời họp", body="Kính gửi")
    handed = work.commit()["mail"]
    assert (handed.sent, handed.pending) == (0, 25)  # what a CLI command or a job reports: 25 queued
    queued = db.scalars(select(Task).where(Task.kind == "mail.send").order_by(Task.id.desc())).first()
    assert queued is not None
    assert queued.status == TaskStatus.QUEUED
    assert len(queued.params["ids"]) == 25
    assert services.received(recipients[0]) == []  # nothing sent inside the unit of work that recorded them
    ran = runtime.task_worker("test-worker").run_one(queued.id)
    assert ran is not None
    db.expire_all()
    assert db.get(Task, queued.id).result["sent"] == 25
    for address in (recipients[0], recipients[-1]):
        assert [m["Subject"] for m in wait_for_mail(services, address)] == ["Giấy mời họp"]

    with runtime.unit_of_work("request") as session:
        outbox.enqueue(session, kind="test", recipient=f"mot.{tag}@gialai.gov.vn", subject="Một thư", body="x")
    assert [m["Subject"] for m in wait_for_mail(services, f"mot.{tag}@gialai.gov.vn")] == ["Một thư"]
