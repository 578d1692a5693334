"""A stored report version is read and written once per process for its page (core.memo, in
admin_app.reports_views): what the page shows must still follow everything that is not the stored version —
the units' fates of today, the page's language, the unit chosen — and two versions never share a page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit.definitions import Definitions
from audit.report import generate
from core.actors import SYSTEM
from core.memo import Memo, frozen
from provisioning.models import Role, UnitKind

BEFORE = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)  # the mailboxes exist before the month reported


def test_a_memo_keeps_its_most_recently_used_values() -> None:
    memo = Memo(size=2)
    made: list[str] = []

    def make(key: str) -> Any:
        return lambda: made.append(key) or key.upper()

    assert memo.get("a", make("a")) == "A"
    assert memo.get("b", make("b")) == "B"
    assert memo.get("a", make("a")) == "A"  # held: not made again, and now the most recent
    assert memo.get("c", make("c")) == "C"  # "b", the least recently used, goes
    assert memo.get("b", make("b")) == "B"
    assert made == ["a", "b", "c", "b"]
    assert len(memo) == 2
    with pytest.raises(ValueError, match="at least one"):
        Memo(size=0)


def test_frozen_values_read_as_before_and_cannot_be_changed() -> None:
    value = frozen({"units": [{"id": 1, "subtree": {"counted": 3}}], "month": "2026-10"})
    assert value["units"][0]["subtree"]["counted"] == 3
    assert {**value["units"][0], "fate": None}["id"] == 1
    with pytest.raises(TypeError):
        value["month"] = "2026-11"  # type: ignore[index]
    with pytest.raises(TypeError):
        value["units"][0]["subtree"]["counted"] = 4  # type: ignore[index]
    with pytest.raises(AttributeError):
        value["units"].append({})  # type: ignore[attr-defined]


def _row(page: str, code: str) -> str:
    found = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', page, re.S)
    assert found is not None, code
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_the_report_page_follows_todays_fates_the_language_and_the_unit_chosen(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    office = create_unit(name="Văn phòng Thử bộ nhớ", kind=UnitKind.OFFICE)
    district = create_unit(name="Huyện Thử Đak Đoa", kind=UnitKind.DISTRICT, parent=office)
    for name in ("Nguyễn Văn Một", "Trần Thị Hai"):
        create_staff(district, full_name=name).created_at = BEFORE
    definitions = Definitions(regular_days=3, holidays=frozenset(), tz=runtime.settings.tz)
    first = generate(db, SYSTEM, "2026-10", definitions)
    db.commit()
    client = client_as(Role.AUDITOR)

    page = client.get(f"/reports/{first.id}").get_data(as_text=True)
    assert _row(page, district.code).strip().startswith("Huyện Thử Đak Đoa")
    assert "(nay là" not in _row(page, district.code)

    district.name = "Xã Thử Đak Đoa"  # renamed after the month: the old page learns it
    db.commit()
    page = client.get(f"/reports/{first.id}").get_data(as_text=True)
    assert "Huyện Thử Đak Đoa (nay là Xã Thử Đak Đoa)" in _row(page, district.code)

    with client.session_transaction() as cookie:
        cookie["lang"] = "en"
    page = client.get(f"/reports/{first.id}").get_data(as_text=True)
    assert "(now Xã Thử Đak Đoa)" in _row(page, district.code)

    page = client.get(f"/reports/{first.id}?unit={district.id}").get_data(as_text=True)
    chosen = re.findall(r'<option value="(\d+)" selected>', page)
    assert chosen == [str(district.id), str(district.id)]  # the trend's list and the inactive list's
    page = client.get(f"/reports/{first.id}").get_data(as_text=True)
    assert " selected>" not in page.split('id="trend-unit"')[1].split("</select>")[0]

    create_staff(district, full_name="Lê Văn Ba").created_at = BEFORE  # a new version of the month counts three
    second = generate(db, SYSTEM, "2026-10", definitions)
    db.commit()
    counted = [_row(client.get(f"/reports/{r.id}").get_data(as_text=True), district.code) for r in (first, second)]
    assert [re.findall(r"\d+", text)[0] for text in counted] == ["2", "3"]
