"""The monthly report as a Vietnamese administrative report (Decree 30/2020/NĐ-CP, Appendix I), A4 portrait.

Top left the superior body, the issuing body and ``Số: …/BC-…``; top right the national title and motto and,
in italics, place and date; then the title, the body (figures, charts drawn with reportlab's graphics, the unit
table, the definitions), and at the foot "Nơi nhận" on the left and the signer's position and name on the right.
Margins as the decree sets them (top and bottom 20 mm, left 30 mm, right 15 mm); pages numbered from the second.
Set in DejaVu Serif (Debian's fonts-dejavu-core; the italics come with fonts-dejavu-extra) for every diacritic.
The unit table's columns are measured against the page: numeric columns as wide as their widest figure and
header word, the unit's name the rest, the type made smaller until the name keeps a readable width.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from audit.document import MEASURE_LABELS, MEETING_DEFINITIONS, ReportDocument
from audit.formatting import Formats
from audit.pdf_charts import chart_units, province_chart, units_chart
from audit.pdf_frame import FRAME_WIDTH, MARGINS, MM, PAGE_HEIGHT, PAGE_WIDTH, closing, escape, fonts, heading, styles

TABLE_SIZES = (7.5, 7.0, 6.5, 6.0)
CELL_PAD = 2.5
NAME_MIN_WIDTH = 42 * MM
UNIT_HEADER = [
    "Đơn vị",
    "Hộp thư tính",
    "Tỷ lệ hoạt động",
    "Tỷ lệ thường xuyên",
    "Tỷ lệ gửi thư",
    "Thay đổi (điểm %)",
    "Họp chủ trì",
    "Họp tham gia",
    "Điểm cầu kế hoạch",
    "Điểm cầu tham dự",
    "Phút tham dự",
]


def fit_columns(
    header: list[str], rows: list[list[str]], regular: str, bold: str, width: float = FRAME_WIDTH
) -> tuple[float, list[float]]:
    """Type size and column widths for a table whose first column is text that wraps and the others figures.

    Each figure column is as wide as its widest figure and its header's longest word, so no figure is cut and
    no header runs into the next; the first column takes what is left of ``width``. The type gets smaller
    until that is at least :data:`NAME_MIN_WIDTH`.
    """
    from reportlab.pdfbase.pdfmetrics import stringWidth

    size, widths = TABLE_SIZES[-1], []
    for size in TABLE_SIZES:
        widths = []
        for col in range(1, len(header)):
            figure = max((stringWidth(r[col], regular, size) for r in rows), default=0)
            word = max(stringWidth(w, bold, size) for w in header[col].split())
            widths.append(max(figure, word) + 2 * CELL_PAD + 0.5)
        if width - sum(widths) >= NAME_MIN_WIDTH:
            break
    return size, [width - sum(widths), *widths]


def _grid(rows: list[list[Any]], widths: list[float], font: str, bold: str, size: float = 9) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("FONTSIZE", (0, 0), (-1, -1), size),
                ("LEADING", (0, 0), (-1, -1), size * 1.2),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f0f8")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#7f8c99")),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def unit_table_rows(data: dict[str, Any], fm: Formats) -> list[list[str]]:
    """The unit table's cells as printed (the name first, then the figures of the unit's subtree)."""
    out = []
    for row in data["units"]:
        s, m = row["subtree"], row["meetings"]
        out.append(
            [
                row["name"],
                fm.number(s["counted"]),
                fm.percent(s["active_share"]),
                fm.percent(s["regular_share"]),
                fm.percent(s["engaged_share"]),
                fm.change(row["change"]["regular_share"]),
                fm.number(m["held"]),
                fm.number(m.get("took_part")),
                fm.number(m["planned_points"]),
                fm.number(m["attended_points"]),
                fm.number(m.get("minutes")),
            ]
        )
    return out


def _unit_table(data: dict[str, Any], fm: Formats, f: dict[str, str]) -> Any:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    cells = unit_table_rows(data, fm)
    size, widths = fit_columns(UNIT_HEADER, cells, f["regular"], f["bold"])
    head = ParagraphStyle("uh", fontName=f["bold"], fontSize=size, leading=size * 1.2, alignment=TA_CENTER)
    rows: list[list[Any]] = [[Paragraph(escape(h), head) for h in UNIT_HEADER]]
    for unit, line in zip(data["units"], cells, strict=True):
        name = ParagraphStyle(
            "un",
            fontName=f["bold"] if unit["depth"] <= 1 else f["regular"],
            fontSize=size,
            leading=size * 1.2,
            leftIndent=4 * max(unit["depth"] - 1, 0),
        )
        rows.append([Paragraph(escape(line[0]), name), *line[1:]])
    return _grid(rows, widths, f["regular"], f["bold"], size)


def to_pdf(data: dict[str, Any], document: ReportDocument | None = None) -> bytes:
    """The stored report ``data`` as the administrative report ``document`` frames (defaults if None)."""
    from reportlab.platypus import Paragraph, SimpleDocTemplate
    from reportlab.platypus.flowables import HRFlowable

    doc = document or ReportDocument()
    fm = Formats(doc.locale)
    f = fonts()
    st = styles(f)
    month = fm.month(data["month"])
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        leftMargin=MARGINS["left"],
        rightMargin=MARGINS["right"],
        topMargin=MARGINS["top"],
        bottomMargin=MARGINS["bottom"],
        title=f"Báo cáo tình hình sử dụng thư điện tử công vụ tháng {month}",
        author=doc.issuer,
        creator="congvu",
    )
    year, mon = data["month"].split("-")
    story: list[Any] = heading(doc, f, st)
    story += [
        Paragraph("BÁO CÁO", st["title"]),
        Paragraph(
            f"Tình hình sử dụng thư điện tử công vụ và họp trực tuyến tháng {int(mon)} năm {year}", st["subtitle"]
        ),
        HRFlowable(width=40 * MM, thickness=0.6, spaceBefore=2, spaceAfter=10, color="black"),
    ]
    story += _body(data, fm, f, st)
    story.append(closing(doc, f, st))

    def page_number(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(f["regular"], 11)
        canvas.drawCentredString(MARGINS["left"] + FRAME_WIDTH / 2, PAGE_HEIGHT - 12 * MM, str(canvas.getPageNumber()))
        canvas.restoreState()

    template.build(story, onLaterPages=page_number)
    return out.getvalue()


def _body(data: dict[str, Any], fm: Formats, f: dict[str, str], st: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import KeepTogether, Paragraph

    p, prev, m = data["province"], data["province_previous"], data["meetings"]
    month, previous = fm.month(data["month"]), fm.month(data["previous_month"])
    change = None
    if p["regular_share"] is not None and prev["regular_share"] is not None:
        change = p["regular_share"] - prev["regular_share"]
    story: list[Any] = [Paragraph("I. TÌNH HÌNH SỬ DỤNG THƯ ĐIỆN TỬ CÔNG VỤ", st["heading"])]
    story.append(
        Paragraph(
            f"Trong tháng {month}, toàn tỉnh có {fm.number(p['counted'])} hộp thư cá nhân được tính; "
            f"{fm.number(p['active'])} hộp thư có hoạt động ({fm.percent(p['active_share'])}), "
            f"{fm.number(p['regular'])} hộp thư sử dụng thường xuyên ({fm.percent(p['regular_share'])}; tháng "
            f"{previous}: {fm.percent(prev['regular_share'])}, thay đổi {fm.change(change)} điểm phần trăm) và "
            f"{fm.number(p['engaged'])} hộp thư có gửi thư ({fm.percent(p['engaged_share'])}).",
            st["body"],
        )
    )
    summary: list[list[Any]] = [["Chỉ tiêu", "Số lượng", "Tỷ lệ", f"Tháng {previous}"]]
    for key, label in MEASURE_LABELS:
        summary.append(
            [
                label,
                fm.number(p[key]),
                "" if key == "counted" else fm.percent(p[f"{key}_share"]),
                "" if key == "counted" else fm.percent(prev[f"{key}_share"]),
            ]
        )
    story.append(_grid(summary, [62 * MM, 30 * MM, 30 * MM, 30 * MM], f["regular"], f["bold"]))
    story.append(
        KeepTogether(
            [
                province_chart(data, FRAME_WIDTH, f["regular"], fm),
                Paragraph(
                    f"Biểu đồ 1. Tỷ lệ hộp thư hoạt động, thường xuyên và có gửi thư của toàn tỉnh, "
                    f"tháng {previous} và tháng {month}",
                    st["caption"],
                ),
            ]
        )
    )
    c = data["channels"]
    story.append(
        Paragraph(
            "Theo kênh truy cập (số hộp thư / số lần đăng nhập): "
            + "; ".join(
                f"{label} {fm.number(c[k]['mailboxes'])} / {fm.number(c[k]['logins'])}"
                for k, label in (("imap", "IMAP"), ("pop3", "POP3"), ("webmail", "Webmail"), ("smtp", "SMTP"))
            )
            + ". Một điện thoại kiểm tra thư mỗi 15 phút đăng nhập hàng chục lần mỗi ngày: cần so sánh số hộp thư.",
            st["body"],
        )
    )
    by_unit = Counter(r["unit"] for r in data["inactive"])
    most = ", ".join(f"{escape(u)} ({fm.number(n)})" for u, n in by_unit.most_common(5))
    story.append(
        Paragraph(
            f"Có {fm.number(len(data['inactive']))} hộp thư được tính chưa có hoạt động nào trong tháng"
            + (f"; nhiều nhất tại: {most}" if most else "")
            + ". Danh sách đầy đủ trên trang báo cáo và trong các tệp XLSX, CSV.",
            st["body"],
        )
    )
    hot = data["hotspots"]
    story.append(
        Paragraph(
            f"Đăng nhập lỗi: {fm.number(len(hot['mailboxes']))} hộp thư có đăng nhập sai nhiều nhất và "
            f"{fm.number(len(hot['unknown']))} địa chỉ không có trong danh bạ bị thử đăng nhập "
            "(chi tiết trong tệp XLSX).",
            st["body"],
        )
    )
    story.append(Paragraph("II. HỌP TRỰC TUYẾN", st["heading"]))
    share = m["attended_points"] / m["planned_points"] if m["planned_points"] else None
    story.append(
        Paragraph(
            f"Trong tháng đã tổ chức {fm.number(m['held'])} cuộc họp trực tuyến, tổng thời lượng "
            f"{fm.number(m['hours'])} giờ; {fm.number(m['planned_points'])} lượt điểm cầu theo kế hoạch, "
            f"{fm.number(m['attended_points'])} lượt tham dự ({fm.percent(share)}); "
            f"{fm.number(m.get('roll_call_marks', 0))} lượt điểm danh thủ công.",
            st["body"],
        )
    )
    story.append(Paragraph("III. SỐ LIỆU THEO ĐƠN VỊ", st["heading"]))
    units = chart_units(data)
    if units:
        story.append(
            KeepTogether(
                [
                    units_chart(units, FRAME_WIDTH, f["regular"], fm),
                    Paragraph(
                        "Biểu đồ 2. Tỷ lệ hộp thư sử dụng thường xuyên theo đơn vị (gồm các đơn vị trực thuộc)",
                        st["caption"],
                    ),
                ]
            )
        )
    story.append(
        Paragraph(
            "Bảng 1. Số liệu theo đơn vị; mỗi dòng gồm các đơn vị trực thuộc; thay đổi: tỷ lệ thường xuyên so "
            "với tháng trước; số liệu họp tính qua điểm cầu của đơn vị.",
            st["caption"],
        )
    )
    story.append(_unit_table(data, fm, f))
    story.append(Paragraph("IV. CÁCH TÍNH SỐ LIỆU", st["heading"]))
    d, rng = data["definitions"], data["data_range"]
    for key, label in MEASURE_LABELS:
        story.append(Paragraph(f"- <b>{label}:</b> {escape(d[key])}", st["item"]))
    for label, text in MEETING_DEFINITIONS:
        story.append(Paragraph(f"- <b>{label}:</b> {escape(text)}", st["item"]))
    holidays = ", ".join(fm.day(h) for h in d["holidays"])
    story.append(
        Paragraph(
            f"- Tháng {month} có {fm.number(len(d['working_days']))} ngày làm việc"
            + (f" (nghỉ lễ: {holidays})" if holidays else "")
            + f"; dữ liệu nhật ký từ ngày {fm.day(rng['first_day'])} đến ngày {fm.day(rng['last_day'])}.",
            st["item"],
        )
    )
    return story
