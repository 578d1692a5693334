"""The change-trail page goes page by page by keyset: older and newer keep the filters, no entry is skipped or
shown twice, and no page reads the trail with OFFSET or counts it."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, select

from core import changelog
from core.actors import SYSTEM
from provisioning.models import Role

ROW_ID = re.compile(r"<tr><td>(\d+)</td>")
LINK = re.compile(r'<a rel="(prev|next)" href="([^"]+)"')


@pytest.fixture
def trail(db, create_unit):
    """``trail(n, action=…, unit=None)``: n entries of one action (each naming the given unit), committed; their
    ids, oldest first."""

    def _trail(n: int, action: str = "test.page", unit=None) -> list[int]:
        items = [(action, "thing", i, f"Vật {i}", unit.id if unit else None, None, {"n": i}) for i in range(n)]
        changelog.record_many(db, SYSTEM, items)
        db.commit()
        ids = db.scalars(
            select(changelog.ChangeEntry.id)
            .where(changelog.ChangeEntry.action == action)
            .order_by(changelog.ChangeEntry.id)
        ).all()
        return list(ids)[-n:]

    return _trail


def shown(page: str) -> list[int]:
    return [int(i) for i in ROW_ID.findall(page)]


def links(page: str) -> dict[str, dict[str, list[str]]]:
    """The newer ("prev") and older ("next") links of a page, each as its query arguments."""
    return {rel: parse_qs(urlsplit(html.unescape(href)).query) for rel, href in LINK.findall(page)}


def walk(client, rel: str, first: str) -> list[list[int]]:
    """Follow ``rel`` links from the page ``first`` answers to; every page's ids."""
    pages = []
    page = first
    while True:
        pages.append(shown(page))
        following = links(page).get(rel)
        if following is None:
            return pages
        page = client.get("/audit", query_string={k: v[0] for k, v in following.items()}).get_data(as_text=True)


def test_older_pages_show_every_entry_once_newest_first_and_newer_pages_lead_back(trail, client_as) -> None:
    ids = trail(230)
    trail(40, action="test.other")  # newer than all of them: the filter keeps them off every page
    client = client_as(Role.SYSTEM_ADMIN)
    first = client.get("/audit", query_string={"action": "test.page"}).get_data(as_text=True)
    assert "prev" not in links(first)  # the newest page has nothing newer
    older = walk(client, "next", first)
    assert [len(p) for p in older] == [100, 100, 30]
    assert [i for p in older for i in p] == ids[::-1]

    last = client.get("/audit", query_string={"action": "test.page", "before": str(older[-1][0] + 1)})
    newer = walk(client, "prev", last.get_data(as_text=True))
    # Back from the oldest page, pages are cut from the other end: 30, then 100 and 100 up to the newest.
    assert [len(p) for p in newer] == [30, 100, 100]
    assert [i for p in newer[::-1] for i in p] == ids[::-1]
    assert "Mới nhất" in last.get_data(as_text=True)  # a link to the newest entries from any deeper page


def test_links_keep_the_filters_and_drop_the_old_cursor(trail, client_as) -> None:
    trail(120)
    client = client_as(Role.SYSTEM_ADMIN)
    first = client.get("/audit", query_string={"action": "test.page", "actor": "system", "from": "2000-01-01"})
    older = links(first.get_data(as_text=True))["next"]
    assert older["action"] == ["test.page"]
    assert older["actor"] == ["system"]
    assert older["from"] == ["2000-01-01"]
    second = client.get("/audit", query_string={k: v[0] for k, v in older.items()}).get_data(as_text=True)
    newer = links(second)["prev"]
    assert "before" not in newer
    assert newer["action"] == ["test.page"]
    assert "next" not in links(second)  # 120 entries: the second page is the last
    assert len(shown(second)) == 20


def test_a_unit_admin_pages_through_their_units_entries_only(trail, create_unit, client_as) -> None:
    district = create_unit(name="Huyện Phân Trang", kind="district")
    elsewhere = create_unit(name="Sở Khác")
    mine = trail(150, unit=district)
    trail(150, unit=elsewhere)
    client = client_as(Role.UNIT_ADMIN, district)
    first = client.get("/audit", query_string={"action": "test.page"}).get_data(as_text=True)
    pages = walk(client, "next", first)
    assert [i for p in pages for i in p] == mine[::-1]


def test_no_page_reads_with_offset_or_counts_the_trail(trail, client_as, runtime) -> None:
    ids = trail(150)
    client = client_as(Role.SYSTEM_ADMIN)
    statements: list[str] = []

    def note(_conn, _cursor, statement, parameters, *_args) -> None:
        statement = statement.lower()
        if statement.endswith("offset ?") and parameters[-1] == 0:
            statement = statement.removesuffix("offset ?")  # SQLite's dialect writes OFFSET 0 after every LIMIT
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        for query in ({}, {"before": str(ids[60])}, {"after": str(ids[10])}, {"action": "test.page"}):
            assert client.get("/audit", query_string=query).status_code == 200
    finally:
        event.remove(runtime.engine, "before_cursor_execute", note)
    trail_reads = [s for s in statements if "audit_entries" in s]
    assert trail_reads
    assert not [s for s in trail_reads if "offset" in s or "count(" in s]


def test_a_cursor_out_of_bounds_is_refused_by_name(client_as) -> None:
    client = client_as(Role.SYSTEM_ADMIN)
    refused = client.get("/audit", query_string={"before": str(2**70)})
    assert refused.status_code == 400
    assert "before" in refused.get_data(as_text=True)
    beyond = client.get("/audit", query_string={"after": str(2**31 - 2)}).get_data(as_text=True)
    assert "Không có mục nào phù hợp" in beyond


def test_a_change_made_by_a_mailbox_names_its_owner(db, create_unit, create_staff, client_as) -> None:
    from provisioning.actors import actor_for_staff

    unit = create_unit(name="Phòng Nhật ký")
    person = create_staff(unit, full_name="Ksor H'Bia Đào")
    changelog.record(db, actor_for_staff(person), "test.named", "thing", 1, target_label="Vật có tên")
    db.commit()
    page = client_as(Role.SYSTEM_ADMIN).get("/audit", query_string={"action": "test.named"}).get_data(as_text=True)
    row = re.search(r"<tr><td>\d+</td>.*?</tr>", page, re.S)
    assert row, page
    # The full name, with the address beside it in small print: never the raw "staff:" label.
    text = html.unescape(row[0])
    assert "Ksor H'Bia Đào" in text
    assert person.email in text
    assert f"staff:{person.email}" not in text
