"""The monthly report as XLSX, CSV and a print-ready PDF (A4, DejaVu Sans for every Vietnamese diacritic).
Every text cell goes through ``safe_cell``: a unit or person name cannot become a spreadsheet formula."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from core.tabular import safe_cell, write_csv

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
MEASURE_LABELS = (
    ("counted", "Hộp thư tính"),
    ("active", "Hoạt động"),
    ("regular", "Thường xuyên"),
    ("engaged", "Có gửi thư"),
)
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
    "Thay đổi tỷ lệ thường xuyên so với tháng trước (điểm %)",
    "Cuộc họp chủ trì",
    "Điểm cầu kế hoạch",
    "Điểm cầu tham dự",
    "Giờ họp",
]


def pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def unit_rows(data: dict[str, Any]) -> list[list[Any]]:
    """One row per unit (its whole subtree), indented by depth, in tree order."""
    out = []
    for row in data["units"]:
        s = row["subtree"]
        m = row["meetings"]
        change = row["change"]["regular_share"]
        out.append(
            [
                row["code"],
                "  " * row["depth"] + row["name"],
                s["counted"],
                s["active"],
                pct(s["active_share"]),
                s["regular"],
                pct(s["regular_share"]),
                s["engaged"],
                pct(s["engaged_share"]),
                None if change is None else round(change * 100, 1),
                m["held"],
                m["planned_points"],
                m["attended_points"],
                m["hours"],
            ]
        )
    return out


def to_csv(data: dict[str, Any]) -> bytes:
    return write_csv(UNIT_HEADER, unit_rows(data))


def to_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    summary = wb.active
    summary.title = "Tổng hợp"
    p = data["province"]
    bold = Font(bold=True)
    summary.append([safe_cell(f"Báo cáo sử dụng thư điện tử công vụ – tháng {_month_vi(data['month'])}")])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([])
    summary.append(["Chỉ tiêu", "Số lượng", "Tỷ lệ (%)", "Tháng trước (%)"])
    for cell in summary[3]:
        cell.font = bold
    prev = data["province_previous"]
    for key, label in MEASURE_LABELS:
        share = p.get(f"{key}_share") if key != "counted" else None
        before = prev.get(f"{key}_share") if key != "counted" else None
        summary.append([label, p[key], pct(share), pct(before)])
    summary.append([])
    summary.append(["Định nghĩa"])
    summary[summary.max_row][0].font = bold
    d = data["definitions"]
    for key, label in MEASURE_LABELS:
        summary.append([label, safe_cell(d[key])])
    summary.append(["Số ngày làm việc", len(d["working_days"])])
    summary.append(["Ngày nghỉ lễ trong tháng", safe_cell(", ".join(d["holidays"]) or "—")])
    rng = data["data_range"]
    summary.append(["Dữ liệu nhật ký từ ngày", rng["first_day"] or "—"])
    summary.append(["đến ngày", rng["last_day"] or "—"])
    summary.append(
        [
            "Hộp thư khác (không tính)",
            safe_cell(", ".join(f"{k}: {v}" for k, v in sorted(data["other_accounts"].items())) or "—"),
        ]
    )
    summary.column_dimensions["A"].width = 34
    summary.column_dimensions["B"].width = 90

    units = wb.create_sheet("Đơn vị")
    units.append(UNIT_HEADER)
    for cell in units[1]:
        cell.font = bold
    for row in unit_rows(data):
        units.append([safe_cell(v) for v in row])
    units.column_dimensions["B"].width = 60

    channels = wb.create_sheet("Kênh truy cập")
    channels.append(["Kênh", "Số lần đăng nhập", "Số hộp thư"])
    for name, label in (("imap", "IMAP"), ("pop3", "POP3"), ("webmail", "Webmail"), ("smtp", "SMTP (gửi thư)")):
        c = data["channels"][name]
        channels.append([label, c["logins"], c["mailboxes"]])

    inactive = wb.create_sheet("Chưa sử dụng")
    inactive.append(["Hộp thư", "Họ và tên", "Đơn vị"])
    for row in data["inactive"]:
        inactive.append([safe_cell(row["email"]), safe_cell(row["name"]), safe_cell(row["unit"])])

    failed = wb.create_sheet("Đăng nhập lỗi")
    failed.append(["Hộp thư / địa chỉ", "Số lần lỗi", "Trong danh bạ"])
    for row in data["hotspots"]["mailboxes"]:
        failed.append([safe_cell(row["email"]), row["failed"], "có"])
    for row in data["hotspots"]["unknown"]:
        failed.append([safe_cell(row["address"]), row["failed"], "không"])

    meetings = wb.create_sheet("Họp trực tuyến")
    m = data["meetings"]
    meetings.append(["Cuộc họp đã tổ chức", m["held"]])
    meetings.append(["Lượt điểm cầu theo kế hoạch", m["planned_points"]])
    meetings.append(["Lượt điểm cầu tham dự", m["attended_points"]])
    meetings.append(["Tổng số giờ họp", m["hours"]])

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _month_vi(month: str) -> str:
    year, mon = month.split("-")
    return f"{int(mon):02d}/{year}"


def _font() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
                pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold if bold.is_file() else regular)))
            return "DejaVuSans", "DejaVuSans-Bold"
    raise RuntimeError("DejaVu Sans not found (Debian package fonts-dejavu-core): the PDF needs it for Vietnamese")


def to_pdf(data: dict[str, Any], province_name: str = "") -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    regular, bold = _font()
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName=bold, fontSize=15, leading=20, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=11, leading=15, spaceBefore=8, spaceAfter=4)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Báo cáo sử dụng thư điện tử công vụ tháng {_month_vi(data['month'])}",
        author="congvu",
    )
    story: list[Any] = [
        Paragraph(f"Báo cáo sử dụng thư điện tử công vụ – tháng {_month_vi(data['month'])}", title),
    ]
    if province_name:
        story.append(Paragraph(f"Tỉnh {province_name}", body))
    p, prev = data["province"], data["province_previous"]
    summary = [["Chỉ tiêu", "Số lượng", "Tỷ lệ", "Tháng trước"]]
    for key, label in MEASURE_LABELS:
        share = "" if key == "counted" else _pct_text(p.get(f"{key}_share"))
        before = "" if key == "counted" else _pct_text(prev.get(f"{key}_share"))
        summary.append([label, f"{p[key]:,}".replace(",", "."), share, before])
    story += [Spacer(1, 4 * mm), _table(summary, regular, bold, [60 * mm, 30 * mm, 30 * mm, 30 * mm], colors)]
    story.append(Paragraph("Định nghĩa", heading))
    d = data["definitions"]
    for key, label in MEASURE_LABELS:
        story.append(Paragraph(f"<b>{label}:</b> {_escape(d[key])}", body))
    rng = data["data_range"]
    story.append(
        Paragraph(
            f"Số ngày làm việc: {len(d['working_days'])}. "
            f"Dữ liệu nhật ký: {rng['first_day'] or '—'} đến {rng['last_day'] or '—'}.",
            body,
        )
    )
    story.append(Paragraph("Theo đơn vị (gồm các đơn vị trực thuộc)", heading))
    rows = [["Đơn vị", "Tính", "Hoạt động", "Thường xuyên", "Gửi thư", "± th.xuyên", "Họp", "Điểm cầu KH/TD"]]
    for row in data["units"]:
        s, m, ch = row["subtree"], row["meetings"], row["change"]["regular_share"]
        rows.append(
            [
                Paragraph(_escape("   " * row["depth"] + row["name"]), body),
                str(s["counted"]),
                _pct_text(s["active_share"]),
                _pct_text(s["regular_share"]),
                _pct_text(s["engaged_share"]),
                "" if ch is None else f"{ch * 100:+.1f}",
                str(m["held"]),
                f"{m['planned_points']}/{m['attended_points']}",
            ]
        )
    widths = [110 * mm, 18 * mm, 22 * mm, 24 * mm, 20 * mm, 20 * mm, 14 * mm, 28 * mm]
    story.append(_table(rows, regular, bold, widths, colors))
    mt = data["meetings"]
    story.append(Paragraph("Họp trực tuyến", heading))
    story.append(
        Paragraph(
            f"Đã tổ chức {mt['held']} cuộc họp, {mt['hours']} giờ; điểm cầu theo kế hoạch {mt['planned_points']}, "
            f"tham dự {mt['attended_points']}.",
            body,
        )
    )
    story.append(Paragraph("Theo dõi", heading))
    story.append(
        Paragraph(
            f"{len(data['inactive'])} hộp thư được tính chưa có hoạt động nào trong tháng (danh sách trong tệp XLSX).",
            body,
        )
    )
    doc.build(story)
    return out.getvalue()


def _table(rows: list[list[Any]], regular: str, bold: str, widths: list[float], colors: Any) -> Any:
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), regular),
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0f8")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#b0bcc8")),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def _pct_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%".replace(".", ",")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


def export_bytes(data: dict[str, Any], fmt: str, province_name: str) -> bytes:
    """The stored report ``data`` as a file in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "xlsx":
        return to_xlsx(data)
    if fmt == "csv":
        return to_csv(data)
    return to_pdf(data, province_name)


def export_name(month: str, version: int, fmt: str) -> str:
    return f"bao-cao-thu-dien-tu-{month}-v{version}.{fmt}"
