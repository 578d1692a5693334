"""Staff lists from Excel, Word and old systems: encodings, BOMs, Unicode forms; exports that never execute."""

import codecs
import io
import unicodedata

import pytest
from openpyxl import Workbook, load_workbook

from core.tabular import FileFormatError, read_csv, read_xlsx, safe_cell, write_csv, write_xlsx

CSV_TEXT = "họ_tên,mã_cán_bộ\nNguyễn Văn An,GL1\nRơ Châm H'Yao,GL2\n"


@pytest.mark.parametrize(
    "encoded",
    [
        CSV_TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + CSV_TEXT.encode("utf-8"),
        CSV_TEXT.encode("utf-16"),  # with BOM, as Excel's "Unicode text" writes it
        unicodedata.normalize("NFD", CSV_TEXT).encode("utf-8"),  # macOS
        CSV_TEXT.replace("\n", "\r\n").encode("utf-8"),
        CSV_TEXT.replace(",", ";").encode("utf-8"),
    ],
)
def test_csv_variants_read_the_same(encoded: bytes) -> None:
    rows = list(read_csv(io.BytesIO(encoded)))
    assert [r.number for r in rows] == [2, 3]
    assert rows[0].values == {"họ_tên": "Nguyễn Văn An", "mã_cán_bộ": "GL1"}
    assert rows[1].values["họ_tên"] == "Rơ Châm H'Yao"
    assert all(unicodedata.is_normalized("NFC", v) for r in rows for v in r.values.values())


def test_legacy_encoding_is_refused_with_the_line() -> None:
    data = ("ho_ten\nNguyen Van An\n" + "Đinh Văn Hưng\n").encode("cp1258")
    with pytest.raises(FileFormatError, match=r"line 3: .*not valid UTF-8.*legacy Vietnamese"):
        list(read_csv(io.BytesIO(data)))


def test_duplicate_and_empty_headers_are_named() -> None:
    with pytest.raises(FileFormatError, match="'a' appears twice"):
        list(read_csv(io.BytesIO(b"a,a\n1,2\n")))
    with pytest.raises(FileFormatError, match="column 2"):
        list(read_csv(io.BytesIO(b"a,\n1,2\n")))


def test_xlsx_rows_and_numbers() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Họ tên", "Mã cán bộ", "Điện thoại"])
    ws.append(["Ksor Y Phước", 1234, "0905123456"])
    ws.append([None, None, None])
    ws.append(["Siu H'Mai", 1235.0, None])
    buf = io.BytesIO()
    wb.save(buf)
    rows = list(read_xlsx(io.BytesIO(buf.getvalue())))
    assert [r.number for r in rows] == [2, 4]
    assert rows[0].values == {"họ_tên": "Ksor Y Phước", "mã_cán_bộ": "1234", "điện_thoại": "0905123456"}
    assert rows[1].values["mã_cán_bộ"] == "1235"


def test_not_a_workbook_is_a_clear_error() -> None:
    with pytest.raises(FileFormatError, match="XLSX"):
        list(read_xlsx(io.BytesIO(b"this is not a zip file")))


@pytest.mark.parametrize("value", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", '=HYPERLINK("http://x")', "\t=1"])
def test_exported_cells_never_become_formulas(value: str) -> None:
    assert safe_cell(value).startswith("'")
    data = write_xlsx(["name"], [[value]])
    cell = load_workbook(io.BytesIO(data)).active["A2"]
    assert cell.data_type == "s"
    assert cell.value == "'" + value
    text = write_csv(["name"], [[value]]).decode("utf-8-sig")
    assert text.splitlines()[1].lstrip('"').startswith("'")


def test_ordinary_text_is_untouched() -> None:
    assert safe_cell("Nguyễn Văn An") == "Nguyễn Văn An"
    assert safe_cell(42) == 42
