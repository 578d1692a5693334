"""The staff list's rows written once in Python: a page of a hundred mailboxes, eight values each, cost its Jinja
loop about a third of the page. The HTML is exactly what the template's loop wrote (each value escaped as Jinja
escapes it; tests/test_staff_list_rows.py holds the loop and compares)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from admin_app.filters import date_filter, status_label


def staff_rows(
    staff: Sequence[Any],
    *,
    can_bulk: bool,
    choose_label: str,
    person_url: Callable[[int], str],
    unit_names: Mapping[int, str],
    last_seen: Mapping[int, dt.datetime],
    never: str,
) -> Markup:
    """The ``<tr>`` of each person: the box to choose them (for an admin of some unit), their name linked to their
    page, address, unit, title, status and last sign-in (``never`` if none)."""
    never_cell = f'<span class="muted">{escape(never)}</span>'
    statuses: dict[str, str] = {}
    parts = []
    for person in staff:
        name = escape(person.full_name)
        box = ""
        if can_bulk:
            label = escape(choose_label % {"name": person.full_name})
            box = f'<td><input type="checkbox" name="staff_id" value="{person.id}" aria-label="{label}"></td>'
        unit = unit_names.get(person.unit_id) or person.unit.name
        status = person.status
        if (status_text := statuses.get(status)) is None:
            status_text = statuses[status] = str(escape(status_label(status)))
        seen = last_seen.get(person.id)
        parts.append(
            f"\n    <tr>{box}\n"
            f'      <td><a href="{escape(person_url(person.id))}">{name}</a></td>\n'
            f"      <td>{escape(person.email)}</td><td>{escape(unit)}</td><td>{escape(person.title)}</td>"
            f"<td>{status_text}</td>\n"
            f'      <td class="last-seen">{escape(date_filter(seen)) if seen else never_cell}</td></tr>\n  '
        )
    return Markup("".join(parts))  # noqa: S704 - every value escaped above, ids are integers
