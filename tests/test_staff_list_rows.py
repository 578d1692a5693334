"""The staff list's rows are written in Python (admin_app.staff_list_rows): the HTML is what the template's loop wrote,
for names, addresses, titles and units that need escaping, with and without the boxes to choose people, a person
never signed in, a unit named only by the person's own unit, every status, in both languages."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from flask import Flask, render_template_string, session

from admin_app.staff_list_rows import staff_rows

LOOP = """  {% set never = _("never") %}{% for person in staff %}
    <tr>{% if can_bulk %}<td><input type="checkbox" name="staff_id" value="{{ person.id }}" \
aria-label="{{ choose_label|format(name=person.full_name) }}"></td>{% endif %}
      <td><a href="{{ person_url(person.id) }}">{{ person.full_name }}</a></td>
      <td>{{ person.email }}</td><td>{{ unit_names.get(person.unit_id) or person.unit.name }}</td>\
<td>{{ person.title }}</td><td>{{ status_label(person.status) }}</td>
      <td class="last-seen">{% if last_seen.get(person.id) %}{{ last_seen[person.id]|date }}{% else %}\
<span class="muted">{{ never }}</span>{% endif %}</td></tr>
  {% endfor %}"""
NEW = """  {{ staff_rows(staff, can_bulk=can_bulk, choose_label=choose_label, person_url=person_url, \
unit_names=unit_names, last_seen=last_seen, never=_("never")) }}"""


def _person(i: int, name: str, status: str, unit_id: int, **extra: object) -> SimpleNamespace:
    fields = {"email": f"cb{i}@gialai.gov.vn", "title": "Chuyên viên", "unit": SimpleNamespace(name=f"Đơn vị {i}")}
    return SimpleNamespace(id=i, full_name=name, status=status, unit_id=unit_id, **(fields | extra))


STAFF = [
    _person(1, "Nguyễn Văn <Một> & 'Hai'", "active", 10),
    _person(2, "Siu H'Mai", "disabled", 11, email='a"b&c@gialai.gov.vn', title="<b>Trưởng phòng</b>"),
    _person(3, "Kpă Thuyên", "archived", 99, unit=SimpleNamespace(name="Phòng <cũ> & mới")),
    _person(4, "Lê Văn Tám", "active", 10, title=""),
]
UNIT_NAMES = {10: "Sở Nội vụ", 11: 'UBND xã <Ia Le> & "Ia Hrú"'}
LAST_SEEN = {1: dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), 3: dt.datetime(2025, 1, 2, 1, 0, tzinfo=dt.UTC)}


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("can_bulk", [True, False])
def test_the_rows_are_what_the_template_loop_wrote(app: Flask, lang: str, can_bulk: bool) -> None:
    args = {
        "staff": STAFF,
        "can_bulk": can_bulk,
        "choose_label": "Chọn %(name)s" if lang == "vi" else "Choose %(name)s",
        "person_url": lambda i: f"/staff/{i}?from=list&x=<1>",
        "unit_names": UNIT_NAMES,
        "last_seen": LAST_SEEN,
    }
    with app.test_request_context("/staff"):
        session["lang"] = lang
        want = render_template_string(LOOP, **args)
        got = render_template_string(NEW, staff_rows=staff_rows, **args)
    assert got == want
    assert "Nguyễn Văn &lt;Một&gt; &amp; &#39;Hai&#39;" in got
    assert "01/12/2026" in got  # 23:30 UTC is the next day in Asia/Ho_Chi_Minh
    assert got.count('type="checkbox"') == (4 if can_bulk else 0)
