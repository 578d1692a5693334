"""The report page's long parts written once in Python: the tree of units (a row of thirteen figures for each of
a province's 367 units) and the two lists of units to choose from. The HTML is exactly what the template's loops
wrote (each value escaped as Jinja escapes it); a Jinja loop over them cost the page about 40 ms of its 60."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from markupsafe import Markup, escape

from audit.formatting import Formats


def _e(value: Any) -> str:
    """``value`` as Jinja writes it: escaped (a whole number needs none)."""
    return str(value) if type(value) is int else str(escape(value))


def unit_rows(units: Iterable[dict[str, Any]], fm: Formats, fate_text: Callable[[Any], str]) -> Markup:
    """The ``<tr>`` of each unit of a snapshot: its name (and fate), its subtree's figures, the change of the
    regular share, its meetings. A province's figures repeat (shares, small counts): each distinct one is
    formatted and escaped once."""
    numbers: dict[Any, str] = {}
    shares: dict[Any, str] = {}

    def n(value: Any) -> str:
        if (text := numbers.get(value)) is None:
            text = numbers[value] = _e(fm.number(value))
        return text

    def p(value: Any) -> str:
        if (text := shares.get(value)) is None:
            text = shares[value] = _e(fm.percent(value))
        return text

    parts = []
    for u in units:
        s, m = u["subtree"], u["meetings"]
        fate = f' <span class="fate">{_e(fate_text(u["fate"]))}</span>' if u.get("fate") else ""
        parts.append(
            f'\n    <tr data-code="{_e(u.get("code", ""))}"><td class="unit depth-{_e(min(u["depth"], 8))}" '
            f'data-id="{_e(u["id"])}" data-parent="{_e(u["parent_id"] or "")}" data-depth="{_e(u["depth"])}">'
            f"{_e(u['name'])}{fate}</td>\n"
            f'      <td class="num">{n(s["counted"])}</td>\n'
            f'      <td class="num">{n(s["active"])}</td><td class="num">{p(s["active_share"])}</td>\n'
            f'      <td class="num">{n(s["regular"])}</td><td class="num">{p(s["regular_share"])}</td>\n'
            f'      <td class="num">{n(s["engaged"])}</td><td class="num">{p(s["engaged_share"])}</td>\n'
            f'      <td class="num">{_e(fm.change(u["change"]["regular_share"]))}</td>\n'
            f'      <td class="num">{n(m["held"])}</td>'
            f'<td class="num" data-figure="took_part">{n(m["took_part"])}</td>\n'
            f'      <td class="num" data-figure="points">{n(m["planned_points"])}/{n(m["attended_points"])}</td>\n'
            f'      <td class="num" data-figure="minutes">{n(m["minutes"])}</td></tr>\n  '
        )
    return Markup("".join(parts))  # noqa: S704 - every value escaped above


def snapshot_options(units: Iterable[dict[str, Any]], selected: int | None) -> Markup:
    """The ``<option>`` of each unit of a snapshot, indented by its depth, ``selected`` chosen."""
    parts = []
    for u in units:
        chosen = " selected" if u["id"] == selected else ""
        indent = "&nbsp;&nbsp;" * u["depth"]
        parts.append(f'<option value="{_e(u["id"])}"{chosen}>{indent}{_e(u["name"])}</option>')
    return Markup("".join(parts))  # noqa: S704 - the names escaped above, the indent is markup of ours


def with_selected(options: Markup, selected: int | None) -> Markup:
    """``options`` (:func:`snapshot_options` with nothing chosen) with unit ``selected`` chosen: the same HTML
    as ``snapshot_options(units, selected)``, from a list written once for every choice."""
    if selected is None:
        return options
    wanted = f'<option value="{int(selected)}">'
    # on the text: Markup's own replace would escape the two tags
    return Markup(str(options).replace(wanted, f'<option value="{int(selected)}" selected>', 1))  # noqa: S704 - ours
