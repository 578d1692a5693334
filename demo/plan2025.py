"""The 2025 reorganisation of the demo as the province's IT department would write it in Excel: two plans.

- ``gialai-2025-03-so-nganh.xlsx`` (1 March 2025), in each province: Information and Communications into
  Science and Technology; Planning and Investment into Finance; Labour, Invalids and Social Affairs into Home
  Affairs; Transport into Construction; Natural Resources and Environment with Agriculture and Rural
  Development into a new Agriculture and Environment; the Ethnic Minorities Committee becomes the department of
  Ethnic and Religious Affairs, and Gia Lai's religious affairs board moves to it from Home Affairs.
- ``gialai-2025-07-hop-nhat.xlsx`` (1 July 2025): the 135 communes and wards are created, every old commune
  merges into its new one, every district-level unit is dissolved (its people placed in its new communes by
  the staff sheet, those it does not name to the commune at the old seat), Bình Định's office and departments
  merge into Gia Lai's and Bình Định into Gia Lai (its addresses move to gialai.gov.vn, the old kept as aliases).

The staff sheet names people by staff number, so the July plan is made for one set of demo staff; the files in
``demo/plans/`` are those of the default demo (2000 staff, seed 2025) and are written again by

    .venv/bin/python -m demo.plan2025 [--out demo/plans] [--staff 2000] [--seed 2025]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from demo.binhdinh import BINH_DINH
from demo.communes import NEW_COMMUNES, is_ward, new_code, seat, successor_of_old_commune
from demo.data import GIA_LAI, PROVINCES
from demo.specs import ProvinceSpec
from demo.staff import StaffSpec, generate_staff

UNIT_HEADER = ["Thao tác", "Mã cũ", "Mã mới", "Tên mới", "Loại", "Đơn vị cha mới", "Tên miền mới", "Ngày hiệu lực"]
STAFF_HEADER = ["Mã nhân sự", "Đơn vị mới"]
MARCH, JULY = dt.date(2025, 3, 1), dt.date(2025, 7, 1)
MARCH_FILE, JULY_FILE = "gialai-2025-03-so-nganh.xlsx", "gialai-2025-07-hop-nhat.xlsx"
PLANS_DIR = Path(__file__).parent / "plans"

# Department mergers of March 2025: (merged, into).
DEPARTMENT_MERGERS = (
    ("STTTT", "SKHCN"),
    ("SKHDT", "STC"),
    ("SLDTBXH", "SNV"),
    ("SGTVT", "SXD"),
    ("STNMT", "SNNMT"),
    ("SNNPTNT", "SNNMT"),
)
NEW_DEPARTMENT = ("SNNMT", "Sở Nông nghiệp và Môi trường")
RENAMED_DEPARTMENT = ("BDT", "Sở Dân tộc và Tôn giáo")
MOVED_DIVISION = "SNV-BTG"  # Ban Tôn giáo goes from Home Affairs to the new Ethnic and Religious Affairs department


@dataclass(frozen=True)
class Plan:
    filename: str
    units: list[list[str]]
    staff: list[list[str]]

    def xlsx(self) -> bytes:
        return workbook(self.units, self.staff)


def _date(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


def _of(p: ProvinceSpec) -> str:
    return "" if not p.prefix else " tỉnh Bình Định"


def march_plan() -> Plan:
    """The department mergers of 1 March 2025 in both provinces."""
    rows: list[list[str]] = []
    when = _date(MARCH)
    for p in PROVINCES:
        code, name = NEW_DEPARTMENT
        rows.append(["tạo mới", "", p.code(code), name + _of(p), "sở", p.root.code, "", when])
        rows += [["sáp nhập", p.code(old), p.code(into), "", "", "", "", when] for old, into in DEPARTMENT_MERGERS]
        code, name = RENAMED_DEPARTMENT
        rows.append(["đổi tên", p.code(code), "", name + _of(p), "", "", "", when])
        if p is GIA_LAI:
            rows.append(["chuyển", MOVED_DIVISION, "", "", "", p.code(code), "", when])
    return Plan(MARCH_FILE, rows, [])


def departments_after_march(p: ProvinceSpec) -> list[str]:
    """Department codes (without prefix) a province has from March 2025."""
    merged = {old for old, _into in DEPARTMENT_MERGERS}
    return [code for code, _n, _s in p.departments if code not in merged] + [NEW_DEPARTMENT[0]]


def placements(staff: Sequence[StaffSpec]) -> dict[str, str]:
    """Staff number → new commune for the personal mailboxes of every district-level unit: the commune at the
    old seat gets two shares, the others one each, in turn. (Old communes' people follow their merge.)"""
    out: dict[str, str] = {}
    for p in PROVINCES:
        for district in p.districts:
            new = [new_code(name) for name in NEW_COMMUNES[district.suffix]]
            slots = [new[0], *new]
            people = [s for s in staff if s.unit_code == district.code and s.kind == "personal"]
            for n, person in enumerate(people):
                out[person.staff_number] = slots[n % len(slots)]
    return out


def july_plan(staff: Sequence[StaffSpec]) -> Plan:
    """Two-level local government and the merger with Bình Định, on 1 July 2025."""
    when = _date(JULY)
    root = GIA_LAI.root.code
    rows: list[list[str]] = []
    for p in PROVINCES:
        for district in p.districts:
            for name in NEW_COMMUNES[district.suffix]:
                rows.append(["tạo mới", "", new_code(name), name, "phường" if is_ward(name) else "xã", root, "", when])
    for p in PROVINCES:
        for district in p.districts:
            for i, old in enumerate(district.communes, start=1):
                target = successor_of_old_commune(district.suffix, old, i - 1)
                rows.append(["sáp nhập", district.commune_code(i), target, "", "", "", "", when])
            rows.append(["giải thể", district.code, seat(district.suffix), "", "", "", "", when])
    rows.append(["sáp nhập", BINH_DINH.office_code, GIA_LAI.office_code, "", "", "", "", when])
    for code in departments_after_march(BINH_DINH):
        rows.append(["sáp nhập", BINH_DINH.code(code), GIA_LAI.code(code), "", "", "", "", when])
    rows.append(["sáp nhập", BINH_DINH.root.code, root, "", "", "", "", when])
    staff_rows = [[number, unit] for number, unit in placements(staff).items()]
    return Plan(JULY_FILE, rows, staff_rows)


def plans(staff: Sequence[StaffSpec]) -> list[Plan]:
    return [march_plan(), july_plan(staff)]


def workbook(units: list[list[str]], staff: list[list[str]]) -> bytes:
    """The plan as an XLSX workbook: sheet "Đơn vị" and, when there are placements, "Nhân sự"."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Đơn vị"
    for row in [UNIT_HEADER, *units]:
        sheet.append(row)
    for column, width in zip("ABCDEFGH", (11, 14, 17, 44, 8, 15, 16, 14), strict=True):
        sheet.column_dimensions[column].width = width
    if staff:
        people = book.create_sheet("Nhân sự")
        for row in [STAFF_HEADER, *staff]:
            people.append(row)
        people.column_dimensions["A"].width = 14
        people.column_dimensions["B"].width = 17
    fixed = dt.datetime(2025, 2, 20, 8, 0)  # the documents' own dates, so the files change only with the data
    book.properties.created = book.properties.modified = fixed
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the demo's 2025 reorganisation plans (XLSX).")
    parser.add_argument("--out", type=Path, default=PLANS_DIR)
    parser.add_argument("--staff", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for plan in plans(generate_staff(args.staff, args.seed)):
        (args.out / plan.filename).write_bytes(plan.xlsx())
        print(f"{args.out / plan.filename}: {len(plan.units)} unit rows, {len(plan.staff)} staff rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
