"""The monthly report as XLSX, CSV and a print-ready PDF (:mod:`audit.pdf`), and its inactive list as CSV or XLSX.

Numbers stay numbers: counts, percentages (87.1 for 87,1 %) and changes (-68.7 percentage points) are numeric
cells, written without grouping and with a decimal point in CSV, with a number format in XLSX (the spreadsheet
shows them in its own locale). Only text goes through ``safe_cell``, so a unit or person name cannot become a
formula. Days in text cells are dd/mm/yyyy (:mod:`audit.formatting`). Every file carries the definitions: the
XLSX on its first sheet, the CSV in a trailing block after one empty line (``Định nghĩa`` in the first column).
The units are those of the report's month; one that no longer exists has its fate after its name ("(đã sáp nhập
vào …)", :func:`audit.report_history.fate_label`).
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

from audit import pdf
from audit.document import MEASURE_LABELS, MEETING_DEFINITIONS, ReportDocument
from audit.formatting import Formats, percent_points
from audit.mailbox_figures import inactive_rows
from audit.report_history import labelled
from core.tabular import safe_cell

__all__ = ["FORMATS", "export_bytes", "export_name", "inactive_export", "to_csv", "to_pdf", "to_xlsx"]

CHANGE = "Thay đổi tỷ lệ thường xuyên so với tháng trước (điểm %)"
UNIT_HEADER = [
    "Mã đơn vị",
    "Đơn vị",
    "Hộp thư tính",
    "Hoạt động",
    "Tỷ lệ hoạt động (%)",
    "Thường xuyên",
    "Tỷ lệ thường xuyên (%)",
    "Có gửi thư",
    "Tỷ lệ gửi thư (%)",
    CHANGE,
    "Cuộc họp chủ trì",
    "Giờ họp chủ trì",
    "Cuộc họp tham gia (qua điểm cầu)",
    "Điểm cầu kế hoạch",
    "Điểm cầu tham dự",
    "Phút tham dự",
    "Mã đơn vị cấp trên",
    "Cấp",
]
# Column formats in the XLSX (by header): the spreadsheet shows them with its locale's separators.
XLSX_FORMATS = {
    "Tỷ lệ hoạt động (%)": "0.0",
    "Tỷ lệ thường xuyên (%)": "0.0",
    "Tỷ lệ gửi thư (%)": "0.0",
    CHANGE: "+0.0;-0.0;0.0",
    "Giờ họp chủ trì": "#,##0.00",
    "Phút tham dự": "#,##0.0",
}
INACTIVE_HEADER = ["Hộp thư", "Họ và tên", "Mã đơn vị", "Đơn vị"]
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}
TABLE_FORMATS = ("csv", "xlsx")
ENGLISH_NOTES = (("tree_en", "Tree of units"), ("comparison_en", "Comparison between months"))


def unit_rows(data: dict[str, Any]) -> list[list[Any]]:
    """One row per unit (its whole subtree), the name indented by depth, in tree order."""
    codes = {row["id"]: row["code"] for row in data["units"]}
    out = []
    for row in data["units"]:
        s, m = row["subtree"], row["meetings"]
        change = row["change"]["regular_share"]
        out.append(
            [
                row["code"],
                "  " * row["depth"] + row["name"],
                s["counted"],
                s["active"],
                percent_points(s["active_share"]),
                s["regular"],
                percent_points(s["regular_share"]),
                s["engaged"],
                percent_points(s["engaged_share"]),
                percent_points(change),
                m["held"],
                m["hours"],
                m.get("took_part"),
                m["planned_points"],
                m["attended_points"],
                m.get("minutes"),
                codes.get(row["parent_id"], ""),
                row["depth"],
            ]
        )
    return out


def definition_rows(data: dict[str, Any], formats: Formats) -> list[list[Any]]:
    """The definitions and the month's facts as (label, value) rows: text in words, counts as numbers."""
    d, rng = data["definitions"], data["data_range"]
    rows: list[list[Any]] = [["Tháng báo cáo", formats.month(data["month"])]]
    rows += [[label, d[key]] for key, label in MEASURE_LABELS]
    rows += [
        ["Số ngày làm việc", len(d["working_days"])],
        ["Ngày nghỉ lễ trong tháng", ", ".join(formats.day(h) for h in d["holidays"]) or "—"],
        ["Dữ liệu nhật ký từ ngày", formats.day(rng["first_day"])],
        ["đến ngày", formats.day(rng["last_day"])],
        ["Hộp thư khác (không tính)", ", ".join(f"{k}: {v}" for k, v in sorted(data["other_accounts"].items())) or "—"],
    ]
    rows += [list(item) for item in MEETING_DEFINITIONS]
    # The tree and the comparison in English too (snapshots made before they were written lack them).
    rows += [[label, d[key]] for key, label in ENGLISH_NOTES if d.get(key)]
    return rows


def _csv(rows: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads the diacritics); numbers as numbers, text formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v if isinstance(v, int | float) else safe_cell(str(v)) for v in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def to_csv(data: dict[str, Any], formats: Formats | None = None) -> bytes:
    """The unit table, then an empty line and the definitions (first cell ``Định nghĩa``)."""
    formats = formats or Formats()
    data = labelled(data)
    return _csv([UNIT_HEADER, *unit_rows(data), [], ["Định nghĩa", ""], *definition_rows(data, formats)])


def to_xlsx(data: dict[str, Any], formats: Formats | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    formats = formats or Formats()
    data = labelled(data)
    wb = Workbook()
    summary = wb.active
    summary.title = "Tổng hợp"
    bold = Font(bold=True)
    summary.append([safe_cell(f"Báo cáo sử dụng thư điện tử công vụ – tháng {formats.month(data['month'])}")])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([])
    summary.append(["Chỉ tiêu", "Số lượng", "Tỷ lệ (%)", "Tháng trước (%)"])
    for cell in summary[3]:
        cell.font = bold
    p, prev = data["province"], data["province_previous"]
    for key, label in MEASURE_LABELS:
        share = p.get(f"{key}_share") if key != "counted" else None
        before = prev.get(f"{key}_share") if key != "counted" else None
        summary.append([label, p[key], percent_points(share), percent_points(before)])
        for cell in summary[summary.max_row][2:]:
            cell.number_format = "0.0"
    summary.append([])
    summary.append(["Định nghĩa"])
    summary[summary.max_row][0].font = bold
    for label, value in definition_rows(data, formats):
        summary.append([safe_cell(label), safe_cell(value)])
    summary.column_dimensions["A"].width = 34
    summary.column_dimensions["B"].width = 90

    units = wb.create_sheet("Đơn vị")
    units.append(UNIT_HEADER)
    for cell in units[1]:
        cell.font = bold
    for row in unit_rows(data):
        units.append([safe_cell(v) for v in row])
        for cell, header in zip(units[units.max_row], UNIT_HEADER, strict=True):
            if header in XLSX_FORMATS:
                cell.number_format = XLSX_FORMATS[header]
    units.column_dimensions["B"].width = 60
    units.freeze_panes = "C2"

    channels = wb.create_sheet("Kênh truy cập")
    channels.append(["Kênh", "Số lần đăng nhập", "Số hộp thư"])
    for name, label in (("imap", "IMAP"), ("pop3", "POP3"), ("webmail", "Webmail"), ("smtp", "SMTP (gửi thư)")):
        c = data["channels"][name]
        channels.append([label, c["logins"], c["mailboxes"]])

    inactive = wb.create_sheet("Chưa sử dụng")
    _inactive_sheet(inactive, data["inactive"])

    failed = wb.create_sheet("Đăng nhập lỗi")
    failed.append(["Hộp thư / địa chỉ", "Số lần lỗi", "Trong danh bạ", "Họ và tên"])
    for row in data["hotspots"]["mailboxes"]:  # snapshots before names were kept have none
        failed.append([safe_cell(row["email"]), row["failed"], "có", safe_cell(row.get("name", ""))])
    for row in data["hotspots"]["unknown"]:
        failed.append([safe_cell(row["address"]), row["failed"], "không", ""])

    meetings = wb.create_sheet("Họp trực tuyến")
    m = data["meetings"]
    meetings.append(["Cuộc họp đã tổ chức", m["held"]])
    meetings.append(["Lượt điểm cầu theo kế hoạch", m["planned_points"]])
    meetings.append(["Lượt điểm cầu tham dự", m["attended_points"]])
    meetings.append(["Tổng số giờ họp", m["hours"]])
    return _save(wb)


def to_pdf(data: dict[str, Any], document: ReportDocument | None = None) -> bytes:
    """The print-ready PDF (:mod:`audit.pdf`), each unit that no longer exists with its fate after its name."""
    return pdf.to_pdf(labelled(data), document)


def _inactive_sheet(sheet: Any, rows: list[dict[str, Any]]) -> None:
    sheet.append(INACTIVE_HEADER)
    for row in rows:
        sheet.append(
            [
                safe_cell(row["email"]),
                safe_cell(row["name"]),
                safe_cell(row.get("unit_code", "")),
                safe_cell(row["unit"]),
            ]
        )
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 30
    sheet.column_dimensions["D"].width = 50


def _save(wb: Any) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def inactive_export(data: dict[str, Any], fmt: str, unit_id: int | None = None) -> bytes:
    """The counted mailboxes with no activity (of ``unit_id``'s subtree if given) as ``csv`` or ``xlsx``."""
    rows = inactive_rows(data, unit_id)
    definitions = definition_rows(labelled(data), Formats())  # what "counted" and "no activity" mean, the month
    if fmt == "csv":
        listed = ([r["email"], r["name"], r.get("unit_code", ""), r["unit"]] for r in rows)
        return _csv([INACTIVE_HEADER, *listed, [], ["Định nghĩa", ""], *definitions])
    from openpyxl import Workbook

    wb = Workbook()
    _inactive_sheet(wb.active, rows)
    wb.active.title = "Chưa sử dụng"
    notes = wb.create_sheet("Định nghĩa")
    for label, value in definitions:
        notes.append([safe_cell(str(label)), value if isinstance(value, int | float) else safe_cell(str(value))])
    notes.column_dimensions["A"].width = 40
    notes.column_dimensions["B"].width = 90
    return _save(wb)


def export_bytes(data: dict[str, Any], fmt: str, document: ReportDocument | None = None) -> bytes:
    """The stored report ``data`` as a file in ``fmt`` (one of :data:`FORMATS`), numbers and days in the
    document's locale; the PDF in the administrative form ``document`` describes."""
    document = document or ReportDocument()
    formats = Formats(document.locale)
    if fmt == "xlsx":
        return to_xlsx(data, formats)
    if fmt == "csv":
        return to_csv(data, formats)
    return to_pdf(data, document)


def export_name(month: str, version: int, fmt: str, part: str = "") -> str:
    return f"bao-cao-thu-dien-tu-{month}-v{version}{part}.{fmt}"
