"""The report's files: the PDF in the form of a Vietnamese administrative report (Decree 30/2020/NĐ-CP), with its
columns inside A4; CSV and XLSX with numbers as numbers and the definitions; figures written as the locale does."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
from pypdf import PdfReader
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit.document import MOTTO, NATIONAL_TITLE, ReportDocument
from audit.exports import CHANGE, UNIT_HEADER, to_csv, to_pdf, to_xlsx
from audit.formatting import Formats
from audit.pdf import UNIT_HEADER as PDF_HEADER
from audit.pdf import fit_columns, fonts
from audit.pdf_frame import FRAME_WIDTH, MARGINS, PAGE_WIDTH
from audit.report import generate
from core.actors import SYSTEM
from provisioning.models import Role
from tests.test_usage_report import _definitions, _ingest_all, _write_fixture_logs, fixture_units  # noqa: F401


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _assert_whole_lines(text: str, *expected: str) -> None:
    """Each of ``expected`` stands on a line of its own in the PDF's text (fitted to its column, not wrapped)."""
    lines = {line.strip() for line in text.splitlines()}
    assert [line for line in expected if line not in lines] == []


def _january(db: Session, runtime: Runtime, tmp_path: Path) -> dict[str, Any]:
    """January 2027 of the fixture: regular use of Sở Thử nghiệm falls from 50 % (December) to 0 %."""
    _ingest_all(runtime, list(_write_fixture_logs(tmp_path).values()))
    return generate(db, SYSTEM, "2027-01", _definitions(runtime)).data


def test_pdf_is_an_administrative_report_from_the_configuration(
    db: Session, runtime: Runtime, fixture_units: dict[str, Any], tmp_path: Path
) -> None:
    data = _january(db, runtime, tmp_path)
    document = ReportDocument(
        issuer="Sở Khoa học và Công nghệ",
        superior="UBND tỉnh Gia Lai",
        symbol="SKHCN",
        number="125",
        place="Gia Lai",
        recipients=("UBND tỉnh (để báo cáo)", "Các sở, ban, ngành", "Lưu: VT, CĐS"),
        signer_title=("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"),
        signer_name="Nguyễn Văn An",
        issued_on=dt.date(2026, 12, 1),
    )
    text = _pdf_text(to_pdf(data, document))
    _assert_whole_lines(
        text,
        NATIONAL_TITLE,  # on one line: the type is fitted to its column
        MOTTO,
        "Gia Lai, ngày 01 tháng 12 năm 2026",
        "Số: 125/BC-SKHCN",
        "UBND TỈNH GIA LAI",
        "SỞ KHOA HỌC VÀ CÔNG NGHỆ",
        "BÁO CÁO",
        "Nơi nhận:",
        "- UBND tỉnh (để báo cáo);",
        "- Lưu: VT, CĐS.",  # the last recipient closes the list
        "KT. GIÁM ĐỐC",
        "PHÓ GIÁM ĐỐC",
        "Nguyễn Văn An",
    )
    title = "Tình hình sử dụng thư điện tử công vụ và họp trực tuyến tháng 1 năm 2027"
    assert title in " ".join(line.strip() for line in text.splitlines())
    # The body: figures as Vietnamese writes them, the charts' labels, the unit table, the definitions.
    assert "Biểu đồ 1." in text
    assert "Biểu đồ 2." in text
    assert "0,0 %" in text  # regular use in January
    assert "-50,0" in text  # its change in percentage points
    for name in ("Sở Thử nghiệm Đắk Đoa", "Phòng Ứng dụng – Ia Grai", "Phòng Hạ tầng Chư Păh"):
        assert name in text, name
    assert "ngày làm việc khác nhau" in text
    assert "01/01/2027" in text  # the data range, dd/mm/yyyy


def test_days_below_ten_and_january_february_take_a_leading_zero() -> None:
    assert ReportDocument(place="Gia Lai", issued_on=dt.date(2027, 2, 5)).place_and_date == (
        "Gia Lai, ngày 05 tháng 02 năm 2027"
    )
    assert ReportDocument(place="Gia Lai", issued_on=dt.date(2026, 11, 20)).place_and_date == (
        "Gia Lai, ngày 20 tháng 11 năm 2026"
    )
    assert ReportDocument(number="", symbol="SKHCN").number_line.replace("\u00a0", "") == "Số: /BC-SKHCN"


def test_console_pdf_takes_the_heading_from_settings(
    runtime: Runtime, client_as: Any, db: Session, fixture_units: dict[str, Any], tmp_path: Path
) -> None:
    _ingest_all(runtime, list(_write_fixture_logs(tmp_path).values()))
    report = generate(db, SYSTEM, "2026-12", _definitions(runtime))
    client = client_as(Role.AUDITOR)
    original = runtime.settings
    runtime.settings = dataclasses.replace(
        original,
        report_issuer="Văn phòng UBND tỉnh",
        report_superior="UBND tỉnh Gia Lai",
        report_symbol="VP",
        report_number="7",
        report_recipients_text="Chủ tịch UBND tỉnh (để báo cáo)\nLưu: VT",
        report_signer_title="CHÁNH VĂN PHÒNG",
        report_signer_name="Trần Thị Bình",
    )
    try:
        response = client.get(f"/reports/{report.id}.pdf")
    finally:
        runtime.settings = original
    assert response.status_code == 200
    made = report.created_at.astimezone(runtime.settings.tz).date()
    month = f"{made.month:02d}" if made.month < 3 else str(made.month)
    _assert_whole_lines(
        _pdf_text(response.data),
        f"Gia Lai, ngày {made.day:02d} tháng {month} năm {made.year}",
        NATIONAL_TITLE,
        "Số: 7/BC-VP",
        "VĂN PHÒNG UBND TỈNH",
        "- Chủ tịch UBND tỉnh (để báo cáo);",
        "- Lưu: VT.",
        "CHÁNH VĂN PHÒNG",
        "Trần Thị Bình",
    )


def test_unit_table_columns_fit_a4_whatever_the_figures() -> None:
    f = fonts()
    rows = [["Ủy ban nhân dân xã Ia Hrú thuộc tỉnh Gia Lai mới", "123.456", "100,0 %", "100,0 %", "100,0 %"]]
    rows[0] += ["-100,0", "12.345", "12.345", "1.234.567", "1.234.567", "12.345.678,5"]
    size, widths = fit_columns(PDF_HEADER, rows, f["regular"], f["bold"])
    assert sum(widths) <= FRAME_WIDTH + 0.01
    assert widths[0] >= 30 * 72 / 25.4  # the unit's name keeps room to be read
    from reportlab.pdfbase.pdfmetrics import stringWidth

    for col in range(1, len(PDF_HEADER)):
        assert widths[col] >= stringWidth(rows[0][col], f["regular"], size)  # no figure is cut
        for word in PDF_HEADER[col].split():  # no header word runs into the next column
            assert widths[col] >= stringWidth(word, f["bold"], size)


def test_every_pdf_text_lies_inside_the_page(db: Session, runtime: Runtime, fixture_units: Any, tmp_path: Path) -> None:
    data = _january(db, runtime, tmp_path)
    starts: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, _size: Any) -> None:
        if text.strip():
            starts.append(tm[4] * cm[0] + cm[4])

    reader = PdfReader(io.BytesIO(to_pdf(data)))
    assert reader.pages[0].mediabox.width == round(PAGE_WIDTH, 2) or abs(reader.pages[0].mediabox.width - 595.27) < 1
    for page in reader.pages:
        page.extract_text(visitor_text=visit)
    assert starts
    assert min(starts) >= MARGINS["left"] - 1
    assert max(starts) <= PAGE_WIDTH - MARGINS["right"]


def test_csv_keeps_numbers_numeric_and_carries_the_definitions(
    db: Session, runtime: Runtime, fixture_units: dict[str, Any], tmp_path: Path
) -> None:
    data = _january(db, runtime, tmp_path)
    rows = list(csv.reader(io.StringIO(to_csv(data).decode("utf-8-sig"))))
    header = rows[0]
    assert header == UNIT_HEADER
    blank = rows.index([])
    units = [dict(zip(header, r, strict=True)) for r in rows[1:blank]]
    so = next(u for u in units if u["Mã đơn vị"] == "T-SO")
    assert float(so[CHANGE]) == -50.0  # a negative change is a number, not the text '-50.0
    assert float(so["Tỷ lệ thường xuyên (%)"]) == 0.0
    assert int(so["Hộp thư tính"]) == 3
    for unit in units:  # the whole change column parses
        if unit[CHANGE]:
            float(unit[CHANGE])
    definitions = {r[0]: r[1] for r in rows[blank + 1 :] if r}
    assert "Định nghĩa" in definitions
    assert "ngày làm việc khác nhau" in definitions["Thường xuyên"]
    assert definitions["Dữ liệu nhật ký từ ngày"] == "01/01/2027"
    assert definitions["Tháng báo cáo"] == "01/2027"
    assert "điểm cầu" in definitions["Cuộc họp tham gia"]


def test_xlsx_keeps_numbers_numeric_and_text_formula_safe(
    db: Session, runtime: Runtime, fixture_units: dict[str, Any], tmp_path: Path
) -> None:
    data = _january(db, runtime, tmp_path)
    formula = '=HYPERLINK("http://x")'
    data["units"][-1].update(name=formula, depth=0)
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(data)))["Đơn vị"]
    header = [c.value for c in sheet[1]]
    so = dict(zip(header, next(r for r in sheet.iter_rows(values_only=True) if r[0] == "T-SO"), strict=True))
    assert so[CHANGE] == -50.0
    assert isinstance(so["Hộp thư tính"], int)
    last = sheet[sheet.max_row][1]
    assert (last.value, last.data_type) == ("'" + formula, "s")  # shown as text, never run


def test_one_helper_writes_figures_as_the_locale_does() -> None:
    vi, en = Formats("vi"), Formats("en")
    assert (vi.percent(0.871), vi.number(2067), vi.change(-0.687), vi.day("2026-11-01")) == (
        "87,1 %",
        "2.067",
        "-68,7",
        "01/11/2026",
    )
    assert (en.percent(0.871), en.number(2067), en.change(0.012)) == ("87.1%", "2,067", "+1.2")
    assert vi.percent(None) == "—"
