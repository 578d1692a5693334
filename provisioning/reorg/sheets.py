"""Reading a reorganisation plan file: the units sheet ("Đơn vị", else the first) and the optional staff sheet
("Nhân sự", else the second) of an XLSX workbook, or a CSV of the units sheet. Column names, actions and unit
kinds are matched without regard to case, diacritics or surrounding spaces, as people type them in Excel.

Nothing here reads the database: every row is parsed into a :class:`~provisioning.reorg.plan.UnitRow` or
:class:`~provisioning.reorg.plan.StaffRow`, and every problem becomes a
:class:`~provisioning.reorg.plan.PlanIssue` naming sheet, row and column.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator

from core.tabular import FileFormatError, Row, open_xlsx, read_table
from provisioning.reorg.plan import (
    ACTION,
    CREATE,
    DISSOLVE,
    DOMAIN,
    EFFECTIVE_ON,
    KIND,
    MERGE,
    MOVE,
    NEW_CODE,
    NEW_DOMAIN,
    NEW_NAME,
    NEW_PARENT,
    NEW_UNIT,
    OLD_CODE,
    RENAME,
    STAFF_NUMBER,
    STAFF_SHEET,
    UNITS_SHEET,
    PlanFile,
    PlanIssue,
    StaffRow,
    UnitRow,
)


def fold(text: str) -> str:
    """Lower case, without diacritics (đ → d), underscores and runs of spaces as one space."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s_]+", " ", plain).strip().lower()


UNIT_COLUMNS = {
    fold(name): name for name in (ACTION, OLD_CODE, NEW_CODE, NEW_NAME, KIND, NEW_PARENT, NEW_DOMAIN, EFFECTIVE_ON)
}
STAFF_COLUMNS = {fold(name): name for name in (STAFF_NUMBER, NEW_UNIT)}
ACTION_WORDS = {
    "tao moi": CREATE,
    "doi ten": RENAME,
    "chuyen": MOVE,
    "sap nhap": MERGE,
    "giai the": DISSOLVE,
    "doi ten mien": DOMAIN,
    **{action: action for action in (CREATE, RENAME, MOVE, MERGE, DISSOLVE, DOMAIN)},
}
KIND_WORDS = {
    "tinh": "province",
    "van phong": "office",
    "so": "department",
    "huyen": "district",
    "xa": "commune",
    "phuong": "commune",
    **{kind: kind for kind in ("province", "office", "department", "district", "commune")},
}
_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?$")


def parse_date(text: str) -> dt.date | None:
    """``dd/mm/yyyy`` as typed, or an Excel date cell (read as ``yyyy-mm-dd 00:00:00``); None if neither."""
    value = text.strip()
    match = _DATE.match(value)
    try:
        if match:
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        match = _ISO.match(value)
        if match:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return None


def _columns(row: Row, known: dict[str, str], sheet: str, issues: list[PlanIssue]) -> dict[str, str] | None:
    """The file's column name for each of ours, from the first row; an unknown column is an issue."""
    mapping: dict[str, str] = {}
    for column in row.values:
        ours = known.get(fold(column))
        if ours is None:
            issues.append(PlanIssue(sheet, 1, column, f"unknown column; the columns are: {', '.join(known.values())}"))
            return None
        mapping[ours] = column
    return mapping


def _rows(content: bytes, filename: str, sheet: str | None) -> Iterator[Row]:
    return read_table(io.BytesIO(content), filename, sheet)


def _records(
    rows: Iterator[Row], known: dict[str, str], sheet: str, issues: list[PlanIssue]
) -> Iterator[tuple[int, dict[str, str]]] | None:
    """The rows after the header as (row number, {our column: its text}): None for a sheet without any row,
    none for one whose header has a column we do not know (the issue names it)."""
    header = next(rows, None)
    if header is None:
        return None
    mapping = _columns(header, known, sheet, issues)
    if mapping is None:
        return iter(())
    return ((row.number, {ours: row.values.get(col, "").strip() for ours, col in mapping.items()}) for row in rows)


def _unit_rows(rows: Iterator[Row], sheet: str, plan: PlanFile) -> None:
    records = _records(rows, UNIT_COLUMNS, sheet, plan.issues)
    if records is None:
        plan.issues.append(PlanIssue(sheet, 1, ACTION, "the sheet has no rows"))
        return
    for line, value in records:
        action_text = value.get(ACTION, "")
        action = ACTION_WORDS.get(fold(action_text))
        if action is None:
            plan.issues.append(
                PlanIssue(
                    sheet,
                    line,
                    ACTION,
                    f"{action_text!r} is not an action; use tạo mới, đổi tên, chuyển, sáp nhập, giải thể "
                    "or đổi tên miền",
                )
            )
            continue
        kind_text = value.get(KIND, "")
        kind = KIND_WORDS.get(fold(kind_text), "") if kind_text else ""
        if kind_text and not kind:
            plan.issues.append(
                PlanIssue(
                    sheet,
                    line,
                    KIND,
                    f"{kind_text!r} is not a unit kind; use tỉnh, văn phòng, sở, huyện, xã or phường",
                )
            )
        date_text = value.get(EFFECTIVE_ON, "")
        when = parse_date(date_text)
        if when is None:
            message = "the effective date is required" if not date_text else f"{date_text!r} is not a date (dd/mm/yyyy)"
            plan.issues.append(PlanIssue(sheet, line, EFFECTIVE_ON, message))
        plan.units.append(
            UnitRow(
                row=line,
                action=action,
                old_code=value.get(OLD_CODE, "").upper(),
                new_code=value.get(NEW_CODE, "").upper(),
                name=value.get(NEW_NAME, ""),
                kind=kind,
                parent=value.get(NEW_PARENT, "").upper(),
                domain=value.get(NEW_DOMAIN, ""),
                effective_on=when,
            )
        )


def _staff_rows(rows: Iterator[Row], sheet: str, plan: PlanFile) -> None:
    for line, value in _records(rows, STAFF_COLUMNS, sheet, plan.issues) or ():
        number, unit = value.get(STAFF_NUMBER, ""), value.get(NEW_UNIT, "").upper()
        if not number:
            plan.issues.append(PlanIssue(sheet, line, STAFF_NUMBER, "the staff number is required"))
            continue
        if not unit:
            plan.issues.append(PlanIssue(sheet, line, NEW_UNIT, "the new unit's code is required"))
            continue
        plan.staff.append(StaffRow(line, number, unit))


def read_plan(content: bytes, filename: str) -> PlanFile:
    """Every row of the plan and every problem found reading it. A file that is not a table at all raises
    :class:`core.tabular.FileFormatError` (its ``reason`` says why in a word)."""
    plan = PlanFile()
    if filename.lower().endswith(".xlsx"):
        with open_xlsx(io.BytesIO(content)) as book:  # opened once for both sheets
            names = book.sheetnames
            if not names:
                raise FileFormatError("the workbook has no worksheet", "no_sheet")
            by_fold = {fold(n): n for n in names}
            units = by_fold.get(fold(UNITS_SHEET), names[0])
            staff = by_fold.get(fold(STAFF_SHEET)) or next((n for n in names[1:2] if n != units), None)
            plan.units_sheet, plan.staff_sheet = units, staff or STAFF_SHEET
            _unit_rows(_header_first(book.rows(units)), units, plan)
            if staff is not None:
                _staff_rows(_header_first(book.rows(staff)), staff, plan)
        return plan
    _unit_rows(_header_first(_rows(content, filename, None)), UNITS_SHEET, plan)
    return plan


def _header_first(rows: Iterator[Row]) -> Iterator[Row]:
    """core.tabular yields data rows keyed by the header; give the header itself first (as a row of its names)."""
    first = next(rows, None)
    if first is None:
        return
    yield Row(1, {name: name for name in first.values})
    yield first
    yield from rows


def workbook_from_csv(units_csv: bytes, staff_csv: bytes | None = None) -> bytes:
    """One XLSX with the units sheet and (if given) the staff sheet, from a CSV file of each: the form a plan is
    stored in. Cells stay text (a value beginning with '=' is never a formula)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, content in ((UNITS_SHEET, units_csv), (STAFF_SHEET, staff_csv)):
        if content is None:
            continue
        sheet = book.create_sheet(title)
        rows = _header_first(read_table(io.BytesIO(content), "plan.csv"))
        for row in rows:
            sheet.append(list(row.values.values()))
            for cell in sheet[sheet.max_row]:
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
