"""The week board's rows and its list of the week's meetings are written in Python (admin_app.week_board): the
HTML is what the template's loops wrote, for titles and names that need escaping, a meeting at its host point
and elsewhere, several meetings in a cell, a cancelled one, an occurrence of a series, in both languages."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from flask import Flask, render_template_string, session

from admin_app.week_board import BoardLine, board_rows, clock, day_text, meeting_rows

ROWS = """  {% for p in section %}
    <tr>
      <th scope="row"><a href="{{ calendar_url(p.id) }}">{{ p.name }}</a></th>
      {% for d in days %}
        <td>{% for line in grid.get((p.id, d), ()) %}<a class="slot\
{% if line.host_point_id == p.id %} host{% endif %}" href="{{ line.url }}" title="{{ line.title }}">\
{{ line.starts }}–{{ line.ends }}</a>{% endfor %}</td>
      {% endfor %}
    </tr>
  {% endfor %}"""
LIST = """  {% set series, cancelled, booked = _("series"), _("Cancelled"), _("Booked") %}{% for line in meetings %}\
{% set m = line %}
    <tr{% if m.is_cancelled %} class="cancelled"{% endif %}>
      <td>{{ line.when }}–{{ line.ends }}</td>
      <td><a href="{{ line.url }}">{{ m.title }}</a>{% if m.series_id %} <span class="muted">({{ series }})</span>\
{% endif %}</td>
      <td>{{ m.host_name }}</td>
      <td class="num">{{ m.point_ids|length }}</td>
      <td>{% if m.is_cancelled %}{{ cancelled }}{% else %}{{ booked }}{% endif %}</td>
    </tr>
  {% else %}
    <tr><td colspan="5" class="muted">{{ _("No meetings this week.") }}</td></tr>
  {% endfor %}"""
NEW_LIST = """  {% if meetings %}{{ meeting_rows(meetings, _("series"), _("Cancelled"), _("Booked")) }}{% else %}
    <tr><td colspan="5" class="muted">{{ _("No meetings this week.") }}</td></tr>
  {% endif %}"""

MONDAY = dt.date(2027, 4, 5)
DAYS = [MONDAY + dt.timedelta(days=i) for i in range(7)]
POINTS = [
    SimpleNamespace(id=1, name='Hội trường <UBND> & "tỉnh"'),
    SimpleNamespace(id=2, name="Điểm cầu H'Mông"),
    SimpleNamespace(id=3, name="Xã không họp"),
]


def _line(i: int, title: str, host: int, points: list[int], day: dt.date, **extra: object) -> BoardLine:
    fields = {"series_id": None, "is_cancelled": False} | extra
    return BoardLine(
        id=i,
        title=title,
        host_point_id=host,
        host_name=POINTS[host - 1].name,
        point_ids=points,
        url=f"/meetings/{i}?a=1&b=2",
        day=day,
        last_day=day,
        starts="08:00",
        ends="11:30",
        when=f"{day:%d/%m/%Y} 08:00",
        **fields,  # type: ignore[arg-type]
    )


LINES = [
    _line(1, "Giao ban <tháng> & 'quý'", 1, [1, 2], MONDAY),
    _line(2, 'Họp "khẩn"', 2, [2, 1], MONDAY),
    _line(3, "Họp định kỳ", 1, [1], DAYS[2], series_id=7),
    _line(4, "Họp đã hủy", 2, [2], DAYS[3], is_cancelled=True),
]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_board_and_the_list_are_what_the_template_loops_wrote(app: Flask, lang: str) -> None:
    grid: dict[tuple[int, dt.date], list[BoardLine]] = {}
    for line in LINES:
        if not line.is_cancelled:
            for point_id in line.point_ids:
                grid.setdefault((point_id, line.day), []).append(line)
    args = {"section": POINTS, "days": DAYS, "grid": grid, "calendar_url": lambda i: f"/points/{i}?date=x&y=1"}
    with app.test_request_context("/meetings"):
        session["lang"] = lang
        board = render_template_string(ROWS, **args)
        assert (
            render_template_string(
                "  {{ board_rows(section, days, grid, calendar_url) }}", board_rows=board_rows, **args
            )
            == board
        )
        assert board.count('class="slot host"') == 3  # meetings 1 and 3 at the hall, 2 at H'Mông
        assert "&lt;tháng&gt; &amp; &#39;quý&#39;" in board
        for meetings in (LINES, []):
            want = render_template_string(LIST, meetings=meetings)
            assert render_template_string(NEW_LIST, meetings=meetings, meeting_rows=meeting_rows) == want
        assert 'class="cancelled"' in render_template_string(NEW_LIST, meetings=LINES, meeting_rows=meeting_rows)


def test_the_times_are_written_as_strftime_writes_them() -> None:
    moments = [dt.datetime(2026, 12, 4, 0, 0), dt.datetime(2026, 1, 9, 7, 5), dt.datetime(2027, 4, 5, 23, 59)]
    moments += [dt.datetime(9999, 12, 31, 12, 30), dt.datetime(1, 1, 1, 9, 0), dt.datetime(999, 3, 1, 10, 10)]
    for t in moments:
        assert clock(t) == t.strftime("%H:%M")
        assert day_text(t) == t.strftime("%d/%m/%Y")
