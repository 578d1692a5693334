"""Reorganisation plans for the tests that upload one: the workbook as the IT department writes it in Excel
(docs: the plan format), and the tagged tree of units and people a test builds for its plan to act on."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

from provisioning.models import Staff, Unit

UNIT_HEADER = ["Thao tác", "Mã cũ", "Mã mới", "Tên mới", "Loại", "Đơn vị cha mới", "Tên miền mới", "Ngày hiệu lực"]
STAFF_HEADER = ["Mã nhân sự", "Đơn vị mới"]


def plan_workbook(unit_rows: Sequence[Sequence[Any]], staff_rows: Sequence[Sequence[str]] | None = None) -> bytes:
    """Sheet "Đơn vị" with one row per unit change (its dates as date cells, shown dd/mm/yyyy) and, when
    ``staff_rows`` is given, sheet "Nhân sự" naming who goes where."""
    book = Workbook()
    units = book.active
    assert units is not None
    units.title = "Đơn vị"
    units.append(UNIT_HEADER)
    for row in unit_rows:
        units.append(list(row))
        units.cell(units.max_row, len(UNIT_HEADER)).number_format = "DD/MM/YYYY"
    if staff_rows is not None:
        staff = book.create_sheet("Nhân sự")
        staff.append(STAFF_HEADER)
        for person in staff_rows:
            staff.append(list(person))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class TaggedTree:
    """Units and people built for one test's plan, their codes and staff numbers ending in ``tag`` so that no
    other test's rows match them: ``units`` and ``staff`` by their untagged code and staff number."""

    tag: str
    root: Unit
    units: dict[str, Unit]
    staff: dict[str, Staff]

    def code(self, name: str) -> str:
        return f"{name}{self.tag}"
