"""The report's list of counted mailboxes with no activity: a page at a time, by unit (with its subunits), and
downloadable as CSV or XLSX, in the console and the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import openpyxl
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit.definitions import definitions_from
from audit.report import generate
from core.actors import SYSTEM
from provisioning.models import Role


def _world(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, *, other_unit: bool = False
) -> dict[str, Any]:
    """A department with two offices: 55 unused mailboxes in one, 7 in the other (with ``other_unit``, 3 more
    in another department); this month's report."""
    department = create_unit(name="Sở Thử nghiệm danh sách")
    first = create_unit(name="Phòng Một (thử)", parent=department)
    second = create_unit(name="Phòng Hai (thử)", parent=department)
    world: dict[str, Any] = {"department": department, "first": first, "second": second}
    for i in range(55):
        create_staff(first, full_name=f"Nguyễn Văn Thử {i:02d}")
    for i in range(7):
        create_staff(second, full_name=f"Ksor H'Thử {i}")
    if other_unit:
        world["other"] = create_unit(name="Sở Khác (thử)")
        for i in range(3):
            create_staff(world["other"], full_name=f"Trần Thị Thử {i}")
    month = f"{dt.datetime.now(runtime.settings.tz):%Y-%m}"
    world["report"] = generate(db, SYSTEM, month, definitions_from(runtime.settings))
    return world


def _rows(page: str) -> list[list[str]]:
    body = re.search(r'<table id="inactive-list">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body is not None
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body[1], re.S)
    ]


def test_console_pages_filters_and_exports_the_inactive_list(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    world = _world(db, runtime, create_unit, create_staff)
    client = client_as(Role.AUDITOR)
    url = f"/reports/{world['report'].id}"

    page = client.get(f"{url}?unit={world['department'].id}").get_data(as_text=True)
    assert "62 hộp thư trong danh sách đã chọn; trang 1/2." in page
    first = _rows(page)
    assert len(first) == 50
    assert 'rel="next"' in page
    second = _rows(client.get(f"{url}?unit={world['department'].id}&page=2").get_data(as_text=True))
    assert len(second) == 12
    assert not {r[0] for r in first} & {r[0] for r in second}  # each mailbox on one page
    assert {r[2] for r in first + second} == {"Phòng Một (thử)", "Phòng Hai (thử)"}

    only = _rows(client.get(f"{url}?unit={world['second'].id}").get_data(as_text=True))
    assert len(only) == 7
    assert {r[2] for r in only} == {"Phòng Hai (thử)"}
    assert client.get(f"{url}?unit=999999999").status_code == 404
    assert client.get(f"{url}?page=abc").status_code == 400

    csv_file = client.get(f"{url}/inactive.csv?unit={world['department'].id}")
    assert csv_file.status_code == 200
    rows = list(csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig"))))
    assert rows[0] == ["Hộp thư", "Họ và tên", "Mã đơn vị", "Đơn vị"]
    listed = rows[1 : rows.index([])]  # the list, then an empty line and the definitions
    assert len(listed) == 62
    assert {r[2] for r in listed} == {world["first"].code, world["second"].code}
    notes = rows[rows.index([]) + 1 :]
    assert notes[0][0] == "Định nghĩa"
    assert any(r[0] == "Tháng báo cáo" for r in notes)  # what the list means travels with it
    xlsx = client.get(f"{url}/inactive.xlsx?unit={world['second'].id}")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    sheet = book.active
    assert sheet.max_row == 1 + 7
    assert "H'Thử" in str(sheet["B2"].value)
    assert book["Định nghĩa"]["A1"].value == "Tháng báo cáo"
    assert client.get(f"{url}/inactive.pdf").status_code == 404


def test_api_pages_and_exports_the_inactive_list(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, client: Any, token_as: Any
) -> None:
    world = _world(db, runtime, create_unit, create_staff)
    headers = {"Authorization": f"Bearer {token_as(Role.AUDITOR)}"}
    base = f"/api/v1/reports/{world['report'].id}/inactive"
    answer = client.get(f"{base}?unit={world['department'].id}&page=2", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["total"], body["page"], body["pages"], len(body["mailboxes"])) == (62, 2, 2, 12)
    assert {m["unit_code"] for m in body["mailboxes"]} <= {world["first"].code, world["second"].code}
    assert client.get(f"{base}?unit=999999999", headers=headers).status_code == 404
    assert client.get(f"{base}?page=0", headers=headers).status_code == 400
    exported = client.get(f"{base}.csv?unit={world['second'].id}", headers=headers)
    assert exported.status_code == 200
    lines = exported.data.decode("utf-8-sig").splitlines()
    assert len(lines[: lines.index("")]) == 1 + 7  # header and the 7, then the definitions
    assert lines[lines.index("") + 1].startswith("Định nghĩa")
