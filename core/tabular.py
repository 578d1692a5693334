"""Reading staff lists (CSV, XLSX) row by row, and writing spreadsheets that never execute a cell.

Text files must be UTF-8 (with or without a byte-order mark) or UTF-16 with a BOM. Anything else is refused
with the line and byte where decoding failed, and a hint when it looks like a legacy Vietnamese encoding
(TCVN3/ABC, VNI, Windows-1258): guessing would put mojibake into the directory.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Bytes typical of legacy Vietnamese encodings once read as Latin-1; used only to word the error.
_LEGACY_HINT = "It looks like a legacy Vietnamese encoding (TCVN3/VNI/Windows-1258): save it as 'CSV UTF-8'."
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


class FileFormatError(ValueError):
    """The file cannot be read as a table; the message names the line or sheet, ``reason`` says why in a
    word (empty, no_sheet, not_xlsx, encoding, type) so an interface can word it in its own language."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Row:
    number: int  # as the user sees it: the header is row 1
    values: dict[str, str]


def _decode_lines(raw: IO[bytes]) -> Iterator[str]:
    head = raw.read(4)
    if head.startswith(codecs.BOM_UTF8):
        encoding, skip = "utf-8", 3
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, skip = "utf-16", 0
    else:
        encoding, skip = "utf-8", 0
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    pending = head[skip:]
    line_no = 1
    buffer = ""
    while True:
        chunk = pending + raw.read(64 * 1024)
        pending = b""
        final = not chunk
        try:
            text = decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            line_no += (buffer + chunk[: exc.start].decode(encoding, errors="replace")).count("\n")
            hint = _LEGACY_HINT if encoding == "utf-8" else ""
            raise FileFormatError(
                f"line {line_no}: the file is not valid {encoding.upper()} text. {hint}".strip()
            ) from None
        buffer += text
        *lines, buffer = buffer.split("\n")
        for line in lines:
            line_no += 1
            yield line + "\n"
        if final:
            if buffer:
                yield buffer
            return


def normalise_header(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().lower().replace(" ", "_")


def read_csv(raw: IO[bytes]) -> Iterator[Row]:
    """Rows of a CSV file (comma or semicolon, as Excel writes it in Vietnamese locales)."""
    lines = _decode_lines(raw)
    first = next(lines, None)
    if first is None:
        raise FileFormatError("the file is empty", "empty")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(_chain([first], lines), delimiter=delimiter)
    header = [normalise_header(h) for h in next(reader)]
    _check_header(header)
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header):
            raise FileFormatError(f"row {number}: {len(record)} columns but the header has {len(header)}")
        values = {h: unicodedata.normalize("NFC", v) for h, v in zip(header, record, strict=False)}
        yield Row(number, values)


def _chain(first: Iterable[str], rest: Iterator[str]) -> Iterator[str]:
    yield from first
    yield from rest


def _check_header(header: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        if not name:
            raise FileFormatError(f"row 1, column {index}: the header cell is empty")
        if name in seen:
            raise FileFormatError(f"row 1: column {name!r} appears twice")
        seen.add(name)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores staff numbers and phones typed as numbers as floats
    return unicodedata.normalize("NFC", str(value))


def read_xlsx(raw: IO[bytes], sheet: str | None = None) -> Iterator[Row]:
    """Rows of the first sheet (or the sheet titled ``sheet``) of an XLSX workbook, streamed (read-only mode
    keeps memory flat)."""
    with open_xlsx(raw) as book:
        yield from book.rows(sheet)


class XlsxBook:
    """An XLSX workbook opened once for several of its sheets (each load reads its shared strings again)."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self.sheetnames: list[str] = [sheet.title for sheet in workbook.worksheets]  # not chart sheets

    def rows(self, sheet: str | None = None) -> Iterator[Row]:
        """The rows of ``sheet`` (the first if None) after its header, keyed by the header's names."""
        if not self.sheetnames:
            raise FileFormatError("the workbook has no worksheet", "no_sheet")
        if sheet is not None and sheet not in self.sheetnames:
            raise FileFormatError(f"the workbook has no sheet {sheet!r}", "no_sheet")
        worksheet = self._workbook[sheet if sheet is not None else self.sheetnames[0]]
        rows = worksheet.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise FileFormatError(f"sheet {worksheet.title!r} is empty", "empty")
        header = [normalise_header(_cell_text(c)) for c in first]
        while header and not header[-1]:
            header.pop()
        _check_header(header)
        for number, record in enumerate(rows, start=2):
            cells = [_cell_text(c) for c in record]
            if not any(c.strip() for c in cells):
                continue
            if any(c.strip() for c in cells[len(header) :]):
                raise FileFormatError(f"row {number}: a value stands outside the header's columns")
            yield Row(number, dict(zip(header, cells, strict=False)))


@contextmanager
def open_xlsx(raw: IO[bytes]) -> Iterator[XlsxBook]:
    """The workbook in ``raw``, read-only; a file that is not one raises :class:`FileFormatError`."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(raw, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FileFormatError(f"not a readable XLSX workbook: {exc}", "not_xlsx") from None
    try:
        yield XlsxBook(workbook)
    finally:
        workbook.close()


def sheet_names(raw: IO[bytes]) -> list[str]:
    """The worksheet titles of an XLSX workbook, in order."""
    with open_xlsx(raw) as book:
        return book.sheetnames


def read_table(path_or_file: Path | IO[bytes], filename: str | None = None, sheet: str | None = None) -> Iterator[Row]:
    """Rows of a CSV or XLSX file, chosen by the file name's extension (of an XLSX, the first sheet or
    ``sheet``)."""
    name = (filename or str(path_or_file)).lower()
    if isinstance(path_or_file, Path):
        handle: IO[bytes] = path_or_file.open("rb")
    else:
        handle = path_or_file
    try:
        if name.endswith(".xlsx"):
            yield from read_xlsx(handle, sheet)
        elif name.endswith((".csv", ".txt")):
            yield from read_csv(handle)
        else:
            raise FileFormatError(f"{filename or path_or_file}: use a .csv or .xlsx file", "type")
    finally:
        if isinstance(path_or_file, Path):
            handle.close()


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text: a leading = + - @ or control character cannot start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    """UTF-8 with BOM (Excel opens it with the right diacritics), every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell("" if v is None else str(v)) for v in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def write_xlsx(header: list[str], rows: Iterable[list[Any]], title: str = "Sheet") -> bytes:
    """A workbook whose text cells are stored as strings (never formulas), streamed in write-only mode."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append(header)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=safe_cell(value))
            if isinstance(value, str):
                cell.data_type = "s"  # stored as a string even if it begins with '='
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
