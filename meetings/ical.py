"""iCalendar (RFC 5545) invitations, written by hand: a handful of properties, exact escaping and folding.

A single meeting is one VEVENT. A series is a master VEVENT with the RRULE and an EXDATE per cancelled
occurrence, plus one VEVENT per remaining occurrence (RECURRENCE-ID = the start the rule gave), which carries
that occurrence's own time, title and join link. Times are written in local time with TZID and a VTIMEZONE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PRODID = "-//congvu//Hop truc tuyen//VI"


@dataclass(frozen=True)
class EventData:
    """One VEVENT's content for one recipient."""

    uid: str
    sequence: int
    start: dt.datetime
    end: dt.datetime
    summary: str
    description: str
    location: str
    url: str
    organiser_name: str
    organiser_email: str
    attendee_email: str
    attendee_name: str
    recurrence_id: dt.datetime | None = None
    rrule: str = ""
    exdates: tuple[dt.datetime, ...] = ()
    status: str = "CONFIRMED"
    stamp: dt.datetime | None = None


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\n").replace("\n", "\\n")
    )


def _param(value: str) -> str:
    """A parameter value (CN=…): quoted, with the characters a quoted value cannot hold removed."""
    return '"' + value.replace('"', "'").replace("\n", " ").replace("\r", " ") + '"'


def fold(line: str) -> str:
    """Fold at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    start, limit = 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # don't cut inside a character
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74  # continuation lines start with a space
    return "\r\n ".join(parts)


def _local(value: dt.datetime, tzid: str) -> str:
    return f";TZID={tzid}:" + value.strftime("%Y%m%dT%H%M%S")


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def vtimezone(tzid: str, tz: dt.tzinfo) -> list[str]:
    """A VTIMEZONE for a zone without daylight saving (Asia/Ho_Chi_Minh has none since 1975)."""
    offset = dt.datetime(2026, 1, 1, tzinfo=tz).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    text = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    abbreviation = dt.datetime(2026, 1, 1, tzinfo=tz).tzname() or text
    return [
        "BEGIN:VTIMEZONE",
        f"TZID:{tzid}",
        "BEGIN:STANDARD",
        "DTSTART:19750613T000000",
        f"TZOFFSETFROM:{text}",
        f"TZOFFSETTO:{text}",
        f"TZNAME:{abbreviation}",
        "END:STANDARD",
        "END:VTIMEZONE",
    ]


def _vevent(event: EventData, tzid: str, tz: dt.tzinfo) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"SEQUENCE:{event.sequence}",
        f"DTSTAMP:{_utc(event.stamp or dt.datetime.now(dt.UTC))}",
    ]
    if event.recurrence_id is not None:
        lines.append("RECURRENCE-ID" + _local(event.recurrence_id.astimezone(tz), tzid))
    lines += [
        "DTSTART" + _local(event.start.astimezone(tz), tzid),
        "DTEND" + _local(event.end.astimezone(tz), tzid),
    ]
    if event.rrule:
        lines.append(f"RRULE:{event.rrule}")
    for exdate in event.exdates:
        lines.append("EXDATE" + _local(exdate.astimezone(tz), tzid))
    lines += [
        f"SUMMARY:{escape_text(event.summary)}",
        f"DESCRIPTION:{escape_text(event.description)}",
        f"LOCATION:{escape_text(event.location)}",
        f"STATUS:{event.status}",
        "TRANSP:OPAQUE",
    ]
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.organiser_email:
        lines.append(f"ORGANIZER;CN={_param(event.organiser_name)}:mailto:{event.organiser_email}")
    if event.attendee_email:
        lines.append(
            f"ATTENDEE;CN={_param(event.attendee_name)};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:"
            f"mailto:{event.attendee_email}"
        )
    lines.append("END:VEVENT")
    return lines


def calendar(method: str, events: Sequence[EventData], *, tzid: str, tz: dt.tzinfo) -> str:
    """A VCALENDAR with ``method`` (REQUEST or CANCEL) holding ``events``; CRLF line ends, folded lines."""
    lines: list[str] = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN", f"METHOD:{method}"]
    lines += vtimezone(tzid, tz)
    for event in events:
        lines += _vevent(event, tzid, tz)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def unfold(text: str) -> Iterable[str]:
    """The logical lines of an iCalendar text (for reading back what was sent)."""
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")
