"""Write the example reorganisation plan shipped in docs/examples/ (XLSX with both sheets, and the same as CSV).

python scripts/example_plan.py [OUTPUT_DIR]

A small, realistic plan for Gia Lai in 2025: on 01/03/2025 the Department of Information and Communications
merges into Science and Technology and Planning and Investment into Finance; on 01/07/2025 the districts of
Ia Pa and Phú Thiện are dissolved into three new communes under the province (Ia Pa is split: the staff sheet
places two of its people in Pờ Tó, the rest follow the dissolve row's successor). :data:`BEFORE` is the tree
the plan is written against; the tests build it with their factories (with a ``tag`` so that codes, staff
numbers and domains meet no other test's) and apply this very plan to it.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

from core.tabular import write_csv

ROOT = "GIALAI"
UNIT_HEADER = ["Thao tác", "Mã cũ", "Mã mới", "Tên mới", "Loại", "Đơn vị cha mới", "Tên miền mới", "Ngày hiệu lực"]
STAFF_HEADER = ["Mã nhân sự", "Đơn vị mới"]
MERGED_DEPARTMENTS = dt.date(2025, 3, 1)
TWO_LEVELS = dt.date(2025, 7, 1)

# The tree before: (code, name, kind, parent code or None for the province, own mail domain or None,
# [(staff number, full name)]).
BEFORE: list[tuple[str, str, str, str | None, str | None, list[tuple[str, str]]]] = [
    (
        "STTTT",
        "Sở Thông tin và Truyền thông",
        "department",
        None,
        None,
        [("GL-TTTT-001", "Nguyễn Văn An"), ("GL-TTTT-002", "Trần Thị Bình"), ("GL-TTTT-003", "Lê Quang Minh")],
    ),
    ("SKHCN", "Sở Khoa học và Công nghệ", "department", None, None, [("GL-KHCN-001", "Phạm Thị Hoa")]),
    ("SKHDT", "Sở Kế hoạch và Đầu tư", "department", None, None, [("GL-KHDT-001", "Đỗ Văn Hùng")]),
    ("STC", "Sở Tài chính", "department", None, None, [("GL-STC-001", "Võ Thị Lan")]),
    (
        "H-IAPA",
        "Huyện Ia Pa",
        "district",
        None,
        "iapa.gialai.gov.vn",
        [
            ("IAPA-001", "Ksor Y Phước"),
            ("IAPA-002", "Rơ Châm H'Yao"),
            ("IAPA-003", "Siu H'Mai"),
            ("IAPA-004", "Kpă Thuyên"),
        ],
    ),
    ("X-IAPA-01", "Xã Ia Mrơn", "commune", "H-IAPA", None, [("IAPA-101", "Nay Blum")]),
    ("X-IAPA-02", "Xã Pờ Tó", "commune", "H-IAPA", None, [("IAPA-201", "Rơ Mah Hơn")]),
    (
        "H-PHUTHIEN",
        "Huyện Phú Thiện",
        "district",
        None,
        "phuthien.gialai.gov.vn",
        [("PT-001", "Rah Lan Chung"), ("PT-002", "Nguyễn Thị Hạnh")],
    ),
    ("X-PHUTHIEN-01", "Thị trấn Phú Thiện", "commune", "H-PHUTHIEN", None, [("PT-101", "Lê Văn Tám")]),
]

# (action, old code, new code, new name, kind, new parent, new domain, effective date); "" where empty.
# The province's code is written as ROOT and replaced by the ``root`` argument.
UNIT_ROWS: list[tuple[str, str, str, str, str, str, str, dt.date]] = [
    ("sáp nhập", "STTTT", "SKHCN", "", "", "", "", MERGED_DEPARTMENTS),
    ("sáp nhập", "SKHDT", "STC", "", "", "", "", MERGED_DEPARTMENTS),
    ("tạo mới", "", "XA-IAPA", "Xã Ia Pa", "xã", ROOT, "", TWO_LEVELS),
    ("tạo mới", "", "XA-POTO", "Xã Pờ Tó", "xã", ROOT, "", TWO_LEVELS),
    ("tạo mới", "", "XA-PHUTHIEN", "Xã Phú Thiện", "xã", ROOT, "", TWO_LEVELS),
    ("sáp nhập", "X-IAPA-01", "XA-IAPA", "", "", "", "", TWO_LEVELS),
    ("sáp nhập", "X-IAPA-02", "XA-POTO", "", "", "", "", TWO_LEVELS),
    ("sáp nhập", "X-PHUTHIEN-01", "XA-PHUTHIEN", "", "", "", "", TWO_LEVELS),
    ("giải thể", "H-IAPA", "XA-IAPA", "", "", "", "", TWO_LEVELS),
    ("giải thể", "H-PHUTHIEN", "XA-PHUTHIEN", "", "", "", "", TWO_LEVELS),
]

# Ia Pa is split: these two go to Pờ Tó; everyone else of the district follows the successor, Xã Ia Pa.
STAFF_ROWS: list[tuple[str, str]] = [("IAPA-003", "XA-POTO"), ("IAPA-004", "XA-POTO")]


def code(value: str, root: str, tag: str) -> str:
    """A unit code of the example, tagged (the province's code is never tagged: it exists already)."""
    if not value:
        return ""
    return root if value == ROOT else f"{value}{tag}"


def domain(value: str | None, tag: str) -> str | None:
    """``iapa.gialai.gov.vn`` → ``iapa-<tag>.gialai.gov.vn``, so a test's domains meet no other test's."""
    if not value or not tag:
        return value
    first, _, rest = value.partition(".")
    return f"{first}{tag.lower()}.{rest}"


def unit_rows(root: str = ROOT, tag: str = "") -> list[list[object]]:
    """The units sheet's rows (dates as dates), codes tagged."""
    return [
        [action, code(old, root, tag), code(new, root, tag), name, kind, code(parent, root, tag), dom, when]
        for action, old, new, name, kind, parent, dom, when in UNIT_ROWS
    ]


def staff_rows(tag: str = "") -> list[list[object]]:
    return [[f"{number}{tag}", f"{unit}{tag}"] for number, unit in STAFF_ROWS]


def workbook(root: str = ROOT, tag: str = "") -> bytes:
    """The plan as Excel writes it: sheet "Đơn vị" with date cells, sheet "Nhân sự"."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    units = book.active
    assert units is not None
    units.title = "Đơn vị"
    units.append(UNIT_HEADER)
    for row in unit_rows(root, tag):
        units.append(row)
        units.cell(units.max_row, len(UNIT_HEADER)).number_format = "DD/MM/YYYY"
    staff = book.create_sheet("Nhân sự")
    staff.append(STAFF_HEADER)
    for row in staff_rows(tag):
        staff.append(row)
    for sheet, widths in ((units, (11, 16, 16, 22, 8, 16, 16, 15)), (staff, (14, 16))):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for index, width in enumerate(widths):
            sheet.column_dimensions[chr(ord("A") + index)].width = width
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def units_csv(root: str = ROOT, tag: str = "") -> bytes:
    """The units sheet as CSV (UTF-8 with BOM, dates written dd/mm/yyyy)."""
    rows = [[f"{v:%d/%m/%Y}" if isinstance(v, dt.date) else v for v in row] for row in unit_rows(root, tag)]
    return write_csv(UNIT_HEADER, rows)


def staff_csv(tag: str = "") -> bytes:
    return write_csv(STAFF_HEADER, staff_rows(tag))


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "examples"
    out.mkdir(parents=True, exist_ok=True)
    (out / "to-chuc-lai-mau.xlsx").write_bytes(workbook())
    (out / "to-chuc-lai-mau.csv").write_bytes(units_csv())
    (out / "to-chuc-lai-mau-nhan-su.csv").write_bytes(staff_csv())
    print(f"wrote {out}/to-chuc-lai-mau.xlsx, to-chuc-lai-mau.csv, to-chuc-lai-mau-nhan-su.csv")


if __name__ == "__main__":
    main()
