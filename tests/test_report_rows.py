"""The report page's tree of units and its unit lists are written in Python (admin_app.report_rows): the HTML is
what the template's loops wrote, for names that need escaping, a unit with a fate, missing shares, depths past
the deepest indent, in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template_string, session

from admin_app.report_rows import snapshot_options, unit_rows, with_selected
from admin_app.reports_views import fate_text, formats

ROWS = """  <tbody>
  {% for u in units %}
    <tr data-code="{{ u['code'] }}"><td class="unit depth-{{ [u['depth'], 8]|min }}" data-id="{{ u['id'] }}" \
data-parent="{{ u['parent_id'] or '' }}" data-depth="{{ u['depth'] }}">{{ u['name'] }}{% if u['fate'] %} \
<span class="fate">{{ fate_text(u['fate']) }}</span>{% endif %}</td>
      <td class="num">{{ fm.number(u['subtree']['counted']) }}</td>
      <td class="num">{{ fm.number(u['subtree']['active']) }}</td><td class="num">\
{{ fm.percent(u['subtree']['active_share']) }}</td>
      <td class="num">{{ fm.number(u['subtree']['regular']) }}</td><td class="num">\
{{ fm.percent(u['subtree']['regular_share']) }}</td>
      <td class="num">{{ fm.number(u['subtree']['engaged']) }}</td><td class="num">\
{{ fm.percent(u['subtree']['engaged_share']) }}</td>
      <td class="num">{{ fm.change(u['change']['regular_share']) }}</td>
      <td class="num">{{ fm.number(u['meetings']['held']) }}</td><td class="num" data-figure="took_part">\
{{ fm.number(u['meetings']['took_part']) }}</td>
      <td class="num" data-figure="points">{{ fm.number(u['meetings']['planned_points']) }}/\
{{ fm.number(u['meetings']['attended_points']) }}</td>
      <td class="num" data-figure="minutes">{{ fm.number(u['meetings']['minutes']) }}</td></tr>
  {% endfor %}
  </tbody>"""
OPTIONS = """{% for u in units %}<option value="{{ u['id'] }}"{% if u['id'] == selected %} selected{% endif %}>\
{{ ("&nbsp;&nbsp;" * u['depth'])|safe }}{{ u['name'] }}</option>{% endfor %}"""


def _unit(i: int, name: str, depth: int, parent: int | None, **extra: Any) -> dict[str, Any]:
    subtree = {"counted": 1234 * i, "active": 7 * i, "regular": i, "engaged": 0}
    subtree |= {"active_share": round(i / 9, 4), "regular_share": None if i == 2 else 0.5, "engaged_share": 0.0}
    meetings = {"held": i, "took_part": 10**6 + i, "planned_points": 3, "attended_points": 2, "minutes": 90 * i}
    row = {"id": i, "code": f"DV-{i}", "name": name, "depth": depth, "parent_id": parent, "fate": None}
    return (
        row
        | extra
        | {"subtree": subtree, "change": {"regular_share": -0.0123 if i % 2 else None}, "meetings": meetings}
    )


UNITS = [
    _unit(1, "Tỉnh Gia Lai", 0, None),
    _unit(2, "Sở <Tài> & \"Kế\" 'hoạch'", 1, 1, code="<b>&"),
    _unit(3, "Huyện Ia Hrung", 1, 1, fate={"kind": "merge", "into": ["Xã <Hợp> Nhất", "Xã Hai"]}),
    _unit(4, "Phòng rất sâu", 11, 3, fate={"kind": "renamed", "now": "Phòng & Ban"}),
    _unit(5, "Xã Ia Le", 2, 1, fate={"kind": "dissolve", "into": []}),
]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_rows_and_lists_are_what_the_template_loops_wrote(app: Flask, lang: str) -> None:
    with app.test_request_context("/reports/1"):
        session["lang"] = lang
        fm = formats()
        want = render_template_string(ROWS, units=UNITS, fm=fm, fate_text=fate_text)
        got = render_template_string(
            "  <tbody>\n  {{ unit_rows(units, fm, fate_text) }}\n  </tbody>",
            units=UNITS,
            fm=formats(),
            fate_text=fate_text,
            unit_rows=unit_rows,
        )
        assert got == want
        assert "&lt;Tài&gt; &amp; &#34;Kế&#34; &#39;hoạch&#39;" in got
        assert "Xã &lt;Hợp&gt; Nhất" in got
        unchosen = snapshot_options(UNITS, None)
        for selected in (None, 2, 4):
            wanted = render_template_string(OPTIONS, units=UNITS, selected=selected)
            assert snapshot_options(UNITS, selected) == wanted
            assert with_selected(unchosen, selected) == wanted  # the list written once, a unit chosen after
