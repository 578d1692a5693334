"""The reorganisation from the console and the API, against real slapd.

- A system admin uploads the shipped example plan against a small world built to match it, reads the preview in
  Vietnamese, confirms (the confirmation names what changes), and after the worker ran sees it "đã áp dụng".
- A unit admin is refused; a broken plan shows each error by sheet, row and column; a form without its CSRF token
  is refused.
- The API: upload → preview → apply → applied with a bearer token; bad input is never a server error.
- The shipped example files are what ``scripts/example_plan.py`` writes.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib.util
import io
import re
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from admin_app.runtime import Runtime
from provisioning.history_models import Reorganisation
from provisioning.models import Role, Staff, Unit
from tests.conftest import csrf_token
from tests.plans import TaggedTree

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"


def _example_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_plan", ROOT / "scripts" / "example_plan.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _example_script()


class World(TaggedTree):
    """The tree the example plan is written against, with codes, staff numbers and domains tagged."""

    def workbook(self) -> bytes:
        return example.workbook(self.root.code, self.tag)


@pytest.fixture
def world(db: Any, province: Unit, create_unit: Any, create_staff: Any, commit_and_sync: Any) -> World:
    tag = "-" + uuid.uuid4().hex[:6].upper()
    units: dict[str, Unit] = {}
    staff: dict[str, Staff] = {}
    for code, name, kind, parent, domain, people in example.BEFORE:
        unit = create_unit(
            f"{code}{tag}",
            name=name,
            kind=kind,
            parent=units[parent] if parent else province,
            mail_domain=example.domain(domain, tag),
        )
        units[code] = unit
        for number, full_name in people:
            staff[number] = create_staff(unit, full_name=full_name, staff_number=f"{number}{tag}")
    commit_and_sync()
    return World(tag, province, units, staff)


def run_task(runtime: Runtime, db: Any, reorg_id: int) -> Reorganisation:
    """Run the plan's current task in this process, as a worker would, and return the plan as it is then."""
    db.expire_all()
    reorg = db.get(Reorganisation, reorg_id)
    assert reorg is not None
    assert reorg.task_id is not None
    assert runtime.task_worker("test-worker").run_one(reorg.task_id) is not None
    db.expire_all()
    return db.get(Reorganisation, reorg_id)


def upload(client: FlaskClient, content: bytes, name: str, **extra: Any) -> Any:
    token = csrf_token(client, "/units/reorganisations")
    data = {"file": (io.BytesIO(content), name), "csrf_token": token, **extra}
    return client.post("/units/reorganisations", data=data, content_type="multipart/form-data")


def plan_id(location: str) -> int:
    match = re.search(r"/units/reorganisations/(\d+)$", location)
    assert match, location
    return int(match.group(1))


def figure(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert match, f"no #{element_id} on the page"
    return match.group(1)


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


# -- the console ---------------------------------------------------------------------------------------------


def test_a_system_admin_previews_confirms_and_applies_the_example_plan(
    world: World, client_as: Any, runtime: Runtime, db: Any
) -> None:
    admin = client_as(Role.SYSTEM_ADMIN)
    assert "/units/reorganisations" in admin.get("/units").get_data(as_text=True)  # the link on the units page
    response = upload(admin, world.workbook(), "to-chuc-lai-mau.xlsx")
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    waiting = admin.get(location).get_data(as_text=True)
    assert "Đang chờ tiến trình nền nhận kế hoạch" in waiting
    assert 'http-equiv="refresh"' in waiting  # the page follows the task

    reorg = run_task(runtime, db, plan_id(location))
    assert reorg.status == "previewed", reorg.preview
    page = admin.get(location).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    text = text_of(page)
    assert "đã xem trước" in text
    # The resulting tree: the districts dissolved, the communes new, the departments merged, mailboxes before → after.
    assert re.search(r"Huyện Ia Pa H-IAPA-\w+ [^·]*giải thể 4 → 0", text), text
    assert re.search(r"Xã Pờ Tó XA-POTO-\w+ [^·]*mới 0 → 3", text), text  # two from the staff sheet, one by merger
    assert re.search(r"Sở Thông tin và Truyền thông STTTT-\w+ [^·]*sáp nhập 3 → 0", text), text
    assert re.search(r"Sở Khoa học và Công nghệ SKHCN-\w+ [^·]*không đổi 1 → 4", text), text
    # Every address that changes, old → new; the old kept as an alias.
    person = world.staff["IAPA-001"]
    assert re.search(rf"Ksor Y Phước {re.escape(person.email)} phuocky\d*@gialai\.gov\.vn", text), text
    assert figure(page, "units-changed") == "10"
    assert figure(page, "mailboxes-moved") == "13"
    assert figure(page, "addresses-changed") == "9"

    confirm = admin.get(f"{location}/apply")
    assert confirm.status_code == 200
    words = text_of(confirm.get_data(as_text=True))
    assert "10 đơn vị" in words
    assert "13 hộp thư" in words
    assert "9 địa chỉ" in words
    token = csrf_token(admin, f"{location}/apply")
    unconfirmed = admin.post(f"{location}/apply", data={"csrf_token": token})
    assert unconfirmed.status_code == 422  # the box was not ticked: nothing queued
    db.expire_all()
    assert db.get(Reorganisation, reorg.id).status == "previewed"
    applied = admin.post(f"{location}/apply", data={"csrf_token": token, "confirm": "yes"})
    assert applied.status_code == 302
    assert "Đang" in text_of(admin.get(location).get_data(as_text=True))  # progress while applying

    reorg = run_task(runtime, db, reorg.id)
    assert reorg.status == "applied", (reorg.summary, db.get(type(reorg), reorg.id))
    history = admin.get("/units/reorganisations").get_data(as_text=True)
    row = re.search(
        rf'<tr class="reorg-applied"><td><a href="/units/reorganisations/{reorg.id}">.*?</tr>', history, re.S
    )
    assert row, history
    assert "đã áp dụng" in row.group(0)
    assert "to-chuc-lai-mau.xlsx" in row.group(0)
    done = text_of(admin.get(location).get_data(as_text=True))
    assert "hộp thư được chuyển 13" in done
    moved = db.get(Staff, world.staff["IAPA-003"].id)
    assert moved.unit.code == f"XA-POTO{world.tag}"
    assert moved.email.endswith("@gialai.gov.vn")


def test_a_unit_admin_is_refused(world: World, client_as: Any, db: Any) -> None:
    unit_admin = client_as(Role.UNIT_ADMIN, world.units["H-IAPA"])
    page = unit_admin.get("/units/reorganisations")
    assert page.status_code == 403
    assert "Chỉ quản trị viên hệ thống mới tổ chức lại được đơn vị" in page.get_data(as_text=True)
    assert "/units/reorganisations" not in unit_admin.get("/units").get_data(as_text=True)
    token = csrf_token(unit_admin, "/")  # the language buttons carry the session's token
    data = {"file": (io.BytesIO(world.workbook()), "lan-tranh.xlsx"), "csrf_token": token}
    refused = unit_admin.post("/units/reorganisations", data=data, content_type="multipart/form-data")
    assert refused.status_code == 403
    assert "Chỉ quản trị viên hệ thống" in refused.get_data(as_text=True)
    assert db.scalar(select(Reorganisation).where(Reorganisation.filename == "lan-tranh.xlsx")) is None
    pdf = {"file": (io.BytesIO(PDF), "lan-tranh.pdf"), "csrf_token": token}
    bad = unit_admin.post("/units/reorganisations", data=pdf, content_type="multipart/form-data")
    assert bad.status_code == 403  # a bad file from someone who may not reorganise shows no plans either
    assert 'id="reorg-history"' not in bad.get_data(as_text=True)


def test_a_broken_plan_names_sheet_row_and_column(world: World, client_as: Any, runtime: Runtime, db: Any) -> None:
    book = load_workbook(io.BytesIO(world.workbook()))
    book["Đơn vị"]["B3"] = f"KHONG-CO{world.tag}"  # row 3: the second merger names a unit that does not exist
    broken = io.BytesIO()
    book.save(broken)
    admin = client_as(Role.SYSTEM_ADMIN)
    location = upload(admin, broken.getvalue(), "ke-hoach-loi.xlsx").headers["Location"]
    reorg = run_task(runtime, db, plan_id(location))
    assert reorg.preview["errors"]
    page = admin.get(location).get_data(as_text=True)
    assert "Lỗi: chưa áp dụng gì cho đến khi sửa kế hoạch" in page
    cells = re.search(r'<section id="reorg-errors">.*?</section>', page, re.S)
    assert cells, page
    assert re.search(rf"<td>Đơn vị</td><td class=\"num\">3</td><td>Mã cũ</td><td>[^<]*KHONG-CO{world.tag}", cells[0])
    assert 'id="reorg-apply"' not in page  # a plan with errors cannot be applied
    assert admin.get(f"{location}/apply").status_code == 302
    download = admin.get(f"{location}/errors.csv")
    assert download.status_code == 200
    assert "Trang tính,Dòng,Cột,Lỗi" in download.get_data(as_text=True)

    # A PDF with a workbook's name is refused at upload, with the reason in Vietnamese; nothing is kept.
    unreadable = upload(admin, PDF, "bao-cao.xlsx")
    assert unreadable.status_code == 422
    assert "không phải là bảng tính XLSX" in unreadable.get_data(as_text=True)
    assert db.scalar(select(Reorganisation).where(Reorganisation.filename == "bao-cao.xlsx")) is None


def test_forms_without_their_csrf_token_are_refused(world: World, client_as: Any, runtime: Runtime, db: Any) -> None:
    admin = client_as(Role.SYSTEM_ADMIN)
    data = {"file": (io.BytesIO(world.workbook()), "khong-token.xlsx")}
    response = admin.post("/units/reorganisations", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert db.scalar(select(Reorganisation).where(Reorganisation.filename == "khong-token.xlsx")) is None
    location = upload(admin, world.workbook(), "co-token.xlsx").headers["Location"]
    run_task(runtime, db, plan_id(location))
    assert admin.post(f"{location}/apply", data={"confirm": "yes"}).status_code == 400
    assert admin.get(f"/units/reorganisations/{2**64 + 1}").status_code == 404
    assert admin.get(f"/units/reorganisations/{plan_id(location)}/nothing.csv").status_code == 404
    db.expire_all()
    assert db.get(Reorganisation, plan_id(location)).status == "previewed"


def test_a_csv_plan_with_its_staff_sheet_and_the_wrong_files(world: World, client_as: Any, db: Any) -> None:
    admin = client_as(Role.SYSTEM_ADMIN)
    staff = (io.BytesIO(example.staff_csv(world.tag)), "nhan-su.csv")
    ok = upload(admin, example.units_csv(world.root.code, world.tag), "to-chuc-lai.csv", staff=staff)
    assert ok.status_code == 302
    stored = db.get(Reorganisation, plan_id(ok.headers["Location"]))
    assert stored.filename == "to-chuc-lai.xlsx"  # one workbook, both sheets, as the CLI stores it
    assert load_workbook(io.BytesIO(stored.content)).sheetnames == ["Đơn vị", "Nhân sự"]
    pdf = upload(admin, PDF, "ke-hoach.pdf")
    assert pdf.status_code == 422
    assert "ke-hoach.pdf: kế hoạch là tệp .xlsx hoặc .csv" in pdf.get_data(as_text=True)
    both = upload(admin, world.workbook(), "ke-hoach.xlsx", staff=(io.BytesIO(b"x"), "nhan-su.csv"))
    assert both.status_code == 422
    assert "Nhân sự" in both.get_data(as_text=True)
    legacy = upload(admin, "Thao tác,Mã cũ\nsáp nhập,Đắk\n".encode("cp1258", errors="replace"), "cu.csv")
    assert legacy.status_code == 422
    assert "CSV UTF-8" in legacy.get_data(as_text=True)


# -- the API -------------------------------------------------------------------------------------------------


def test_the_api_uploads_previews_and_applies_a_plan(
    world: World, token_as: Any, runtime: Runtime, db: Any, app: Any
) -> None:
    headers = {"Authorization": f"Bearer {token_as(Role.SYSTEM_ADMIN)}"}
    client = app.test_client()
    files = {
        "file": (io.BytesIO(example.units_csv(world.root.code, world.tag)), "to-chuc-lai.csv"),
        "staff": (io.BytesIO(example.staff_csv(world.tag)), "nhan-su.csv"),
    }
    posted = client.post("/api/v1/reorganisations", data=files, headers=headers, content_type="multipart/form-data")
    assert posted.status_code == 202, posted.get_json()
    body = posted.get_json()
    assert body["status"] == "previewing"
    assert body["task"]["status"] == "queued"
    url = f"/api/v1/reorganisations/{body['id']}"
    assert client.get(url, headers=headers).get_json()["status"] == "previewing"

    run_task(runtime, db, body["id"])
    previewed = client.get(url, headers=headers).get_json()
    assert previewed["status"] == "previewed"
    assert previewed["task"]["status"] == "done"
    assert previewed["preview"]["errors"] == []
    counts = previewed["preview"]["counts"]
    assert (counts["units_changed"], counts["staff_moved"], counts["addresses_changed"]) == (10, 13, 9)

    applying = client.post(f"{url}/apply", headers=headers)
    assert applying.status_code == 202
    assert applying.get_json()["status"] == "applying"
    run_task(runtime, db, body["id"])
    applied = client.get(url, headers=headers).get_json()
    assert applied["status"] == "applied"
    assert applied["summary"]["staff_moved"] == 13
    assert applied["applied_at"]
    listed = client.get("/api/v1/reorganisations", headers=headers).get_json()
    mine = next(r for r in listed if r["id"] == body["id"])
    assert mine["status"] == "applied"
    assert "preview" not in mine
    again = client.post(f"{url}/apply", headers=headers)
    assert again.status_code == 422  # applied already: not queued twice


def test_bad_api_input_is_never_a_server_error(
    world: World, token_as: Any, runtime: Runtime, db: Any, app: Any
) -> None:
    headers = {"Authorization": f"Bearer {token_as(Role.SYSTEM_ADMIN)}"}
    client = app.test_client()
    assert client.post("/api/v1/reorganisations", headers=headers).status_code == 422  # no file at all
    pdf = client.post(
        "/api/v1/reorganisations",
        data={"file": (io.BytesIO(PDF), "ke-hoach.pdf")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert pdf.status_code == 422
    assert "ke-hoach.pdf" in pdf.get_json()["error"]["message"]
    nameless = client.post("/api/v1/reorganisations", data=world.workbook(), headers=headers)
    assert nameless.status_code == 422  # a raw body needs ?filename=
    for huge in ("99999999999999999999", "2147483648", "2147483647"):
        assert client.get(f"/api/v1/reorganisations/{huge}", headers=headers).status_code == 404
        assert client.post(f"/api/v1/reorganisations/{huge}/apply", headers=headers).status_code == 404

    # A PDF with a workbook's name is refused at upload with the reason in Vietnamese; nothing is kept.
    disguised = client.post(
        "/api/v1/reorganisations",
        data=PDF,
        query_string={"filename": "bao-cao.xlsx"},
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert disguised.status_code == 422, disguised.get_json()
    assert "không phải là bảng tính XLSX" in str(disguised.get_json())
    assert db.scalar(select(Reorganisation).where(Reorganisation.filename == "bao-cao.xlsx")) is None

    # The raw body of a real plan is taken too.
    raw = client.post(
        "/api/v1/reorganisations", data=world.workbook(), query_string={"filename": "ke-hoach.xlsx"}, headers=headers
    )
    assert raw.status_code == 202

    unit_admin = {"Authorization": f"Bearer {token_as(Role.UNIT_ADMIN, world.units['H-IAPA'])}"}
    assert client.get("/api/v1/reorganisations", headers=unit_admin).status_code == 403
    assert client.get(f"/api/v1/reorganisations/{raw.get_json()['id']}", headers=unit_admin).status_code == 403
    files = {"file": (io.BytesIO(world.workbook()), "ke-hoach.xlsx")}
    forbidden = client.post(
        "/api/v1/reorganisations", data=files, headers=unit_admin, content_type="multipart/form-data"
    )
    assert forbidden.status_code == 403
    assert client.get("/api/v1/reorganisations").status_code == 401


# -- the shipped example -------------------------------------------------------------------------------------


def test_the_shipped_example_files_are_what_the_script_writes() -> None:
    book = load_workbook(EXAMPLES / "to-chuc-lai-mau.xlsx")
    assert book.sheetnames == ["Đơn vị", "Nhân sự"]
    rows = [[("" if v is None else v) for v in row] for row in book["Đơn vị"].iter_rows(values_only=True)]
    assert rows[0] == example.UNIT_HEADER
    written = [[v.date() if isinstance(v, dt.datetime) else v for v in row] for row in rows[1:]]
    assert written == example.unit_rows()
    assert [list(r) for r in book["Nhân sự"].iter_rows(values_only=True)] == [
        example.STAFF_HEADER,
        *example.staff_rows(),
    ]
    assert (EXAMPLES / "to-chuc-lai-mau.csv").read_bytes() == example.units_csv()
    assert (EXAMPLES / "to-chuc-lai-mau-nhan-su.csv").read_bytes() == example.staff_csv()
