"""Turning what people type (console form, API body, command line) into a meeting draft, naming the field
whenever something cannot be read. Dates are dd/mm/yyyy or ISO; times HH:MM in local time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from meetings.env import MeetingEnv
from meetings.errors import MeetingsError
from meetings.operations.bookings import MeetingDraft
from meetings.operations.changes import MeetingChanges
from meetings.operations.points import points_of_group
from meetings.recurrence import Recurrence


def parse_date(value: object, field: str) -> dt.date:
    text = str(value or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise MeetingsError(f"{field}: {text!r} is not a date (dd/mm/yyyy or yyyy-mm-dd)")


def parse_search_range(first: object, last: object) -> tuple[dt.date, dt.date]:
    """The from/to days of a "find a time" search: at most two months at a time."""
    first_day, last_day = parse_date(first, "from"), parse_date(last, "to")
    if (last_day - first_day).days > 62:
        raise MeetingsError("to: search at most two months at a time")
    return first_day, last_day


def parse_time(value: object, field: str) -> dt.time:
    text = str(value or "").strip()
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise MeetingsError(f"{field}: {text!r} is not a time (HH:MM)") from None


def parse_int(value: object, field: str, default: int | None = None) -> int | None:
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        raise MeetingsError(f"{field}: a whole number is required")
    try:
        return int(str(value).strip())
    except ValueError:
        raise MeetingsError(f"{field}: {value!r} is not a whole number") from None


def _ids(values: Iterable[object], field: str) -> list[int]:
    out = []
    for v in values:
        if str(v).strip():
            n = parse_int(v, field)
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
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, dict):
            out.append((str(item.get("email", "")), str(item.get("name", ""))))
        elif isinstance(item, str):
            text = item.strip()
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


def recurrence_from(data: Mapping[str, Any], tz: dt.tzinfo) -> Recurrence | None:
    freq = str(data.get("repeat") or data.get("freq") or "").strip()
    if not freq or freq == "none":
        return None
    weekdays = data.get("weekdays") or []
    if isinstance(weekdays, str):
        weekdays = [w for w in weekdays.split(",") if w.strip()]
    until = parse_date(data["until"], "until") if data.get("until") else None
    count = parse_int(data.get("count"), "count")
    return Recurrence(
        freq=freq,
        interval=parse_int(data.get("interval"), "interval", 1) or 1,
        weekdays=tuple(_ids(weekdays, "weekdays")),
        until=until,
        count=count,
    ).validate()


def draft_from(
    session: Session, env: MeetingEnv, data: Mapping[str, Any], *, organiser: tuple[str, str]
) -> MeetingDraft:
    """A draft from a flat mapping: title, date, start, end, host_point_id, point_ids, groups, invitees, agenda,
    buffer_minutes, repeat (daily|weekly|monthly_date|monthly_weekday), weekdays, interval, until, count."""
    day = parse_date(data.get("date"), "date")
    start = dt.datetime.combine(day, parse_time(data.get("start"), "start"), tzinfo=env.tz)
    end = dt.datetime.combine(day, parse_time(data.get("end"), "end"), tzinfo=env.tz)
    host = parse_int(data.get("host_point_id"), "host point")
    if host is None:
        raise MeetingsError("host point: choose the bridge point that hosts the meeting")
    return MeetingDraft(
        title=str(data.get("title") or ""),
        starts_at=start,
        ends_at=end,
        host_point_id=host,
        point_ids=point_ids_from(session, data.get("point_ids"), data.get("groups")),
        invitees=parse_invitees(data.get("invitees")),
        agenda=str(data.get("agenda") or ""),
        buffer_minutes=parse_int(data.get("buffer_minutes"), "set-up buffer"),
        organiser_name=organiser[0],
        organiser_email=str(data.get("organiser_email") or organiser[1] or ""),
        recurrence=recurrence_from(data, env.tz),
    )


def changes_from(
    session: Session, env: MeetingEnv, data: Mapping[str, Any], current_start: dt.datetime
) -> MeetingChanges:
    """Changes from a mapping; only the fields present are changed. A new date/start/end moves the meeting."""
    changes = MeetingChanges()
    if "title" in data:
        changes.title = str(data["title"])
    if "agenda" in data:
        changes.agenda = str(data["agenda"])
    if any(k in data and data[k] not in (None, "") for k in ("date", "start", "end")):
        local = current_start.astimezone(env.tz)
        day = parse_date(data["date"], "date") if data.get("date") else local.date()
        start_t = parse_time(data["start"], "start") if data.get("start") else local.time()
        changes.starts_at = dt.datetime.combine(day, start_t, tzinfo=env.tz)
        if data.get("end"):
            changes.ends_at = dt.datetime.combine(day, parse_time(data["end"], "end"), tzinfo=env.tz)
    if "point_ids" in data or "groups" in data:
        changes.point_ids = point_ids_from(session, data.get("point_ids"), data.get("groups"))
    if "invitees" in data:
        changes.invitees = parse_invitees(data["invitees"])
    if data.get("buffer_minutes") not in (None, ""):
        changes.buffer_minutes = parse_int(data["buffer_minutes"], "set-up buffer")
    return changes
