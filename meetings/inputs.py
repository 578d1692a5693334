"""Turning what people type (console form, API body, command line) into a meeting draft, naming the field
whenever something cannot be read. Dates are dd/mm/yyyy or ISO; times HH:MM in local time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.validation import MAX_DATE, MAX_ID, MIN_DATE, clean_date, clean_text
from meetings.env import MeetingEnv
from meetings.errors import MeetingsError
from meetings.operations.bookings import MeetingDraft
from meetings.operations.changes import MeetingChanges
from meetings.operations.points import points_of_group
from meetings.recurrence import Recurrence

# Bounds of what a booking may carry (the models' column lengths, and sizes no real meeting reaches).
MAX_TITLE, MAX_AGENDA, MAX_INVITEES, MAX_POINTS = 300, 5000, 500, 1000
MAX_BUFFER_MINUTES, MAX_INTERVAL, MAX_COUNT = 24 * 60, 366, 1000


def parse_date(value: object, field: str, earliest: dt.date = MIN_DATE, latest: dt.date = MAX_DATE) -> dt.date:
    """A day (dd/mm/yyyy or yyyy-mm-dd) between ``earliest`` and ``latest``; refused naming ``field``."""
    return clean_date(value, field, earliest=earliest, latest=latest, error=MeetingsError)


def booking_day(value: object, field: str, env: MeetingEnv) -> dt.date:
    """A day a meeting may be held on: from yesterday up to the booking horizon (CONGVU_BOOKING_HORIZON_DAYS)."""
    today = dt.datetime.now(env.tz).date()
    return parse_date(value, field, today - dt.timedelta(days=1), today + dt.timedelta(days=env.booking_horizon_days))


def parse_search_range(first: object, last: object) -> tuple[dt.date, dt.date]:
    """The from/to days of a "find a time" search: at most two months at a time."""
    first_day, last_day = parse_date(first, "from"), parse_date(last, "to")
    if (last_day - first_day).days > 62:
        raise MeetingsError("to: search at most two months at a time")
    return first_day, last_day


def parse_time(value: object, field: str) -> dt.time:
    text = str(value or "").strip()[:20]
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise MeetingsError(f"{field}: {text!r} is not a time (HH:MM)") from None


def parse_int(
    value: object, field: str, default: int | None = None, *, minimum: int = -MAX_ID, maximum: int = MAX_ID
) -> int | None:
    if value in (None, ""):
        return default
    if isinstance(value, bool | float) or len(str(value)) > 25:
        raise MeetingsError(f"{field}: a whole number is required")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise MeetingsError(f"{field}: {str(value)[:40]!r} is not a whole number") from None
    if not minimum <= number <= maximum:
        raise MeetingsError(f"{field}: must be between {minimum} and {maximum}")
    return number


def parse_duration(value: object, field: str = "duration", default: int = 60) -> dt.timedelta:
    """A meeting's length in minutes: 5 minutes to a day."""
    minutes = parse_int(value, field, default, minimum=5, maximum=24 * 60) or default
    return dt.timedelta(minutes=minutes)


def parse_buffer(value: object, field: str = "set-up buffer") -> int | None:
    """Set-up buffer minutes before a meeting, 0 to a day; None when not given (the default applies)."""
    return parse_int(value, field, minimum=0, maximum=MAX_BUFFER_MINUTES)


def _ids(values: Iterable[object], field: str) -> list[int]:
    out = []
    for v in values:
        if len(out) >= MAX_POINTS:
            raise MeetingsError(f"{field}: at most {MAX_POINTS}")
        if v is None or isinstance(v, bool | dict | list):
            raise MeetingsError(f"{field}: {v!r} is not a whole number")
        if str(v).strip():
            n = parse_int(v, field, minimum=0)
            assert n is not None
            out.append(n)
    return out


def parse_invitees(value: object) -> list[tuple[str, str]]:
    """``"An <an@x>, binh@y"`` or a list of those or of {"email", "name"} objects."""
    items: list[Any]
    if isinstance(value, str):
        items = [p for p in value.replace(";", "\n").replace(",", "\n").splitlines() if p.strip()]
    elif isinstance(value, list):
        items = value
    elif value is None:
        items = []
    else:
        raise MeetingsError("invitees: a list of email addresses is required")
    if len(items) > MAX_INVITEES:
        raise MeetingsError(f"invitees: at most {MAX_INVITEES}")
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, dict):
            email = clean_text(item.get("email", ""), "invitees: email", max_length=254, error=MeetingsError)
            out.append((email, clean_text(item.get("name", ""), "invitees: name", max_length=300, error=MeetingsError)))
        elif isinstance(item, str):
            text = clean_text(item, "invitees", max_length=600, error=MeetingsError)
            if "<" in text and text.endswith(">"):
                name, _, email = text[:-1].rpartition("<")
                out.append((email.strip(), name.strip().strip('"')))
            else:
                out.append((text, ""))
        else:
            raise MeetingsError(f"invitees: {item!r} is not an email address")
    return out


def point_ids_from(session: Session, ids: object, groups: object) -> list[int]:
    """Points picked one by one plus whole groups (``district``, ``unit:H-CHUPAH``…), in a stable order.
    A single id or group is taken as a list of one; anything else that is not a list is refused by name."""
    out = _ids(_as_list(ids, "points"), "points")
    for group in _as_list(groups, "groups"):
        if not isinstance(group, str):
            raise MeetingsError(f"groups: {group!r} is not a group name")
        if group.strip():
            out += [p.id for p in points_of_group(session, group.strip())]
    return list(dict.fromkeys(out))


def _as_list(value: object, field: str) -> list[object]:
    if value is None or value == "":
        return []
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise MeetingsError(f"{field}: a list is required")


def _horizon(tz: dt.tzinfo, data: Mapping[str, Any]) -> dt.date:
    days = int(data.get("_horizon_days", 730))
    return dt.datetime.now(tz).date() + dt.timedelta(days=days)


def recurrence_from(data: Mapping[str, Any], tz: dt.tzinfo, horizon_days: int = 730) -> Recurrence | None:
    data = {**data, "_horizon_days": horizon_days}
    freq = str(data.get("repeat") or data.get("freq") or "").strip()
    if not freq or freq == "none":
        return None
    weekdays = data.get("weekdays") or []
    if isinstance(weekdays, str):
        weekdays = [w for w in weekdays.split(",") if w.strip()]
    until = parse_date(data["until"], "until", latest=_horizon(tz, data)) if data.get("until") else None
    count = parse_int(data.get("count"), "count", minimum=1, maximum=MAX_COUNT)
    return Recurrence(
        freq=freq[:20],
        interval=parse_int(data.get("interval"), "interval", 1, minimum=1, maximum=MAX_INTERVAL) or 1,
        weekdays=tuple(_ids(weekdays, "weekdays")),
        until=until,
        count=count,
    ).validate()


def draft_from(
    session: Session, env: MeetingEnv, data: Mapping[str, Any], *, organiser: tuple[str, str]
) -> MeetingDraft:
    """A draft from a flat mapping: title, date, start, end, host_point_id, point_ids, groups, invitees, agenda,
    buffer_minutes, repeat (daily|weekly|monthly_date|monthly_weekday), weekdays, interval, until, count."""
    day = booking_day(data.get("date"), "date", env)
    start = dt.datetime.combine(day, parse_time(data.get("start"), "start"), tzinfo=env.tz)
    end = dt.datetime.combine(day, parse_time(data.get("end"), "end"), tzinfo=env.tz)
    host = parse_int(data.get("host_point_id"), "host point", minimum=0)
    if host is None:
        raise MeetingsError("host point: choose the bridge point that hosts the meeting")
    return MeetingDraft(
        title=clean_text(data.get("title"), "title", max_length=MAX_TITLE, error=MeetingsError),
        starts_at=start,
        ends_at=end,
        host_point_id=host,
        point_ids=point_ids_from(session, data.get("point_ids"), data.get("groups")),
        invitees=parse_invitees(data.get("invitees")),
        agenda=clean_text(data.get("agenda"), "agenda", max_length=MAX_AGENDA, multiline=True, error=MeetingsError),
        buffer_minutes=parse_int(data.get("buffer_minutes"), "set-up buffer", minimum=0, maximum=MAX_BUFFER_MINUTES),
        organiser_name=organiser[0],
        organiser_email=clean_text(
            data.get("organiser_email") or organiser[1] or "", "organiser email", max_length=254, error=MeetingsError
        ),
        recurrence=recurrence_from(data, env.tz, env.booking_horizon_days),
    )


def changes_from(
    session: Session, env: MeetingEnv, data: Mapping[str, Any], current_start: dt.datetime
) -> MeetingChanges:
    """Changes from a mapping; only the fields present are changed. A new date/start/end moves the meeting."""
    changes = MeetingChanges()
    if "title" in data:
        changes.title = clean_text(data["title"], "title", max_length=MAX_TITLE, error=MeetingsError)
    if "agenda" in data:
        changes.agenda = clean_text(
            data["agenda"], "agenda", max_length=MAX_AGENDA, multiline=True, error=MeetingsError
        )
    if any(k in data and data[k] not in (None, "") for k in ("date", "start", "end")):
        local = current_start.astimezone(env.tz)
        day = booking_day(data["date"], "date", env) if data.get("date") else local.date()
        start_t = parse_time(data["start"], "start") if data.get("start") else local.time()
        changes.starts_at = dt.datetime.combine(day, start_t, tzinfo=env.tz)
        if data.get("end"):
            changes.ends_at = dt.datetime.combine(day, parse_time(data["end"], "end"), tzinfo=env.tz)
    if "point_ids" in data or "groups" in data:
        changes.point_ids = point_ids_from(session, data.get("point_ids"), data.get("groups"))
    if "invitees" in data:
        changes.invitees = parse_invitees(data["invitees"])
    if data.get("buffer_minutes") not in (None, ""):
        changes.buffer_minutes = parse_int(
            data["buffer_minutes"], "set-up buffer", minimum=0, maximum=MAX_BUFFER_MINUTES
        )
    return changes
