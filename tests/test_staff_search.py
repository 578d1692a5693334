"""The staff list's search, as an IT admin types it: case and diacritics do not matter, words match at their
start, staff numbers and odd characters are found as typed, and a search that matches too many people shows
the first ones found and asks for more words instead of counting a city's every "Nguyễn"."""

import html
import re

from admin_app import views
from core.actors import SYSTEM
from provisioning import accounts
from provisioning.models import Role


def _names(page: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'<td><a href="/staff/\d+">([^<]+)</a></td>', page)]


def test_a_search_ignores_case_and_diacritics_and_matches_words_at_their_start(
    create_unit, create_staff, client_as
) -> None:
    unit = create_unit()
    create_staff(unit, full_name="Trần Thị Ngọc Ánh", staff_number="TS-7701")
    create_staff(unit, full_name="Đặng Văn Đức")
    create_staff(unit, full_name="Lê Thị Hoa")
    create_staff(unit, full_name="Nguyễn Đăng Khoa")
    client = client_as(Role.SYSTEM_ADMIN)

    def found(q: str) -> list[str]:
        return _names(client.get("/staff", query_string={"q": q, "unit": unit.id}).get_data(as_text=True))

    assert found("tran thi") == ["Trần Thị Ngọc Ánh"]
    assert found("TRẦN") == ["Trần Thị Ngọc Ánh"]
    assert found("ngoc anh") == ["Trần Thị Ngọc Ánh"]
    assert sorted(found("dang")) == ["Nguyễn Đăng Khoa", "Đặng Văn Đức"]  # "Đăng" and "Đặng" alike
    assert found("đức") == ["Đặng Văn Đức"]
    assert found("hoa") == ["Lê Thị Hoa"]  # at a word's start: not "Khoa"
    assert found("ts-7701") == ["Trần Thị Ngọc Ánh"]  # a staff number, whatever its case
    assert found("thi hoa") == ["Lê Thị Hoa"]  # every word must match
    assert found("Khoa Lê") == []


def test_a_broad_search_shows_its_first_matches_and_asks_for_more_words(
    monkeypatch, create_unit, create_staff, client_as
) -> None:
    monkeypatch.setattr(views, "SEARCH_CAP", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    unit = create_unit()
    for given in ("Bình", "An", "Cường", "Dũng", "Em"):
        create_staff(unit, full_name=f"Phạm Văn {given}")
    create_staff(unit, full_name="Võ Thị Lan")
    client = client_as(Role.SYSTEM_ADMIN)
    first = client.get("/staff", query_string={"q": "pham", "unit": unit.id}).get_data(as_text=True)
    assert "Có hơn 3 hộp thư khớp" in first
    assert "gõ thêm từ" in first
    second = client.get("/staff", query_string={"q": "pham", "unit": unit.id, "page": 2}).get_data(as_text=True)
    shown = _names(first) + _names(second)
    assert len(shown) == 3
    assert shown == sorted(shown)
    assert all(name.startswith("Phạm Văn ") for name in shown)
    assert "page=2" in first
    assert "page=3" not in second
    narrow = client.get("/staff", query_string={"q": "pham van an", "unit": unit.id}).get_data(as_text=True)
    assert _names(narrow) == ["Phạm Văn An"]
    assert "3 hộp thư khớp" not in narrow
    assert "1 hộp thư" in narrow
    by_given = client.get("/staff", query_string={"q": "pham", "unit": unit.id, "sort": "given"}).get_data(as_text=True)
    assert len(_names(by_given)) == 2  # the other orders take the same first matches
    past = client.get("/staff", query_string={"q": "pham", "unit": unit.id, "page": 7}).get_data(as_text=True)
    assert _names(past) == []
    assert "Có hơn 3 hộp thư khớp" in past  # a page past them still says how many there are


def test_a_search_follows_each_change_of_a_name_at_once(db, create_unit, create_staff, client_as) -> None:
    """A renamed, new or removed person is found, or not, right after the change (the folded key is written with
    the row, whoever writes it), and a word of one letter counts as the others do."""
    unit = create_unit()
    person = create_staff(unit, full_name="Rơ Châm H'Yao")
    create_staff(unit, full_name="Nay Blum")
    client = client_as(Role.SYSTEM_ADMIN)

    def found(q: str) -> list[str]:
        return _names(client.get("/staff", query_string={"q": q, "unit": unit.id}).get_data(as_text=True))

    assert found("ro cham") == ["Rơ Châm H'Yao"]
    accounts.update_staff(db, SYSTEM, person, {"full_name": "Ksor Y Phước"})
    db.commit()
    assert found("ro cham") == []
    assert found("ksor phuoc") == ["Ksor Y Phước"]
    assert found("ksor y") == ["Ksor Y Phước"]  # "y": one letter
    late = create_staff(unit, full_name="Siu H'Mai")
    db.commit()
    assert found("siu hmai") == ["Siu H'Mai"]
    db.delete(late)
    db.commit()
    assert found("siu") == []
    assert found("nay blum") == ["Nay Blum"]  # the others' entries untouched
