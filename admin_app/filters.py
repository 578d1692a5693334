"""Template filters: dates as dd/mm/yyyy in the province's time zone, numbers with Vietnamese grouping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from flask_babel import format_decimal
from markupsafe import Markup, escape


def local(value: dt.datetime) -> dt.datetime:
    from admin_app.context import runtime_of

    return value.astimezone(runtime_of().settings.tz)


def date_filter(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local(value)
    return value.strftime("%d/%m/%Y")


def datetime_filter(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return local(value).strftime("%d/%m/%Y %H:%M")


def number_filter(value: int | float | None) -> str:
    if value is None:
        return ""
    return str(format_decimal(value))


def percent_filter(value: float | None) -> str:
    """A share (0–1) as the locale writes a percentage: ``87,1 %`` in Vietnamese, as the reports do."""
    from flask_babel import get_locale

    from audit.formatting import Formats

    return Formats(str(get_locale() or "vi")).percent(value)


def time_filter(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return local(value).strftime("%H:%M")


def _words(name: str, translate: Callable[[], Any]) -> Any:
    """The words ``translate`` gives, once per request and language (a page of fifty meetings asked for seven
    weekday names each time it wrote one)."""
    from flask import g
    from flask_babel import get_locale

    cache = g.setdefault("_filter_words", {})
    key = (name, str(get_locale()))
    if key not in cache:
        cache[key] = translate()
    return cache[key]


def weekday_name(value: dt.datetime | dt.date) -> str:
    from flask_babel import gettext as _

    if isinstance(value, dt.datetime):
        value = local(value)
    names = _words(
        "weekdays",
        lambda: (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")),
    )
    return names[value.weekday()]


def weekday_short(index: int) -> str:
    from flask_babel import gettext as _

    return _words("weekdays_short", lambda: (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")))[
        index
    ]


def unit_kind_label(kind: str) -> str:
    from flask_babel import gettext as _

    labels = _words(
        "unit_kinds",
        lambda: {
            "province": _("Province"),
            "office": _("Office"),
            "department": _("Department"),
            "district": _("District"),
            "commune": _("Commune"),
        },
    )
    return labels.get(kind, kind)


def status_label(status: str) -> str:
    from flask_babel import gettext as _

    labels = _words("statuses", lambda: {"active": _("Active"), "disabled": _("Disabled"), "archived": _("Archived")})
    return labels.get(status, status)


def unit_options(
    units: Iterable[Any], selected: int | str | None = None, *, code: bool = False, depth: bool = False
) -> Markup:
    """The ``<option>`` of each unit (its id; its name, with ``code`` its code after it, with ``depth`` a dot per
    level before it), ``selected`` chosen: the same HTML as a template loop writes, written once in Python, since
    a province's 367 units in two lists of a page cost a Jinja loop several milliseconds each."""
    parts = []
    for unit in units:
        label = f"{'· ' * unit.depth if depth else ''}{unit.name}{f' ({unit.code})' if code else ''}"
        chosen = " selected" if unit.id == selected else ""
        parts.append(f'<option value="{unit.id}"{chosen}>{escape(label)}</option>')
    return Markup("".join(parts))  # noqa: S704 - every label escaped above, ids are integers


def reject_page(args: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in args.items() if k != "page"}


def register(app: Flask) -> None:
    """The filters and globals every template may use; a ``*_filter`` is registered without its suffix."""
    from flask_babel import get_locale

    from admin_app.auth import current_actor
    from admin_app.error_words import domain_message

    for fn in (time_filter, date_filter, datetime_filter, number_filter, percent_filter):
        app.add_template_filter(fn, fn.__name__.removesuffix("_filter"))
    for fn in (local, domain_message, reject_page):
        app.add_template_filter(fn)
    for fn in (current_actor, get_locale, weekday_name, weekday_short, unit_kind_label, status_label, unit_options):
        app.add_template_global(fn)
