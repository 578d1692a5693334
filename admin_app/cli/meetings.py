"""``congvu meetings …``: the console's meeting verbs from the command line (acting as the CLI actor)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from admin_app.cli.core import _cli_actor, cli_unit_of_work, main, runtime
from core.validation import MAX_ID, clean_int
from meetings.availability_inputs import availability_query_from
from meetings.errors import MeetingConflict, MeetingsError
from meetings.inputs import changes_from, draft_from, parse_date, point_ids_from
from meetings.jitsi import prosody_config
from meetings.models import BridgePoint
from meetings.operations.bookings import book_meeting
from meetings.operations.changes import cancel_meeting, change_meeting
from meetings.operations.roll_call import mark_roll_call
from meetings.operations.suggestions import check_availability, find_free_slots
from meetings.queries import load_meeting, visible_meetings
from meetings.recurrence import RecurrenceError

# An id option or argument: a whole number a table can hold (a larger one is refused by name, not an overflow).
ID = click.IntRange(1, MAX_ID)


@main.group("meetings")
def meetings_group() -> None:
    """Bridge points and online meetings."""


def _fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, MeetingConflict):
        lines = [f"  {c.point_name}: {c.meeting_title} (meeting {c.meeting_id})" for c in exc.conflicts]
        return click.ClickException("bridge points busy:\n" + "\n".join(lines))
    return click.ClickException(str(exc))


def _host(session: Any, value: str) -> int:
    if value.isdigit():
        return clean_int(value, "--host", error=click.BadParameter)
    point = session.scalar(select(BridgePoint).where(BridgePoint.name == value))
    if point is None:
        raise click.BadParameter(f"no bridge point named {value!r}", param_hint="--host")
    return point.id


@meetings_group.command("points")
@with_appcontext
def points_list() -> None:
    """List bridge points (id, unit kind, name, contact)."""
    with cli_unit_of_work() as session:
        for p in session.scalars(select(BridgePoint).order_by(BridgePoint.id)):
            state = "" if p.is_active else "  [not in service]"
            click.echo(f"{p.id:>4}  {p.unit.kind:<10}  {p.name}  <{p.contact_email}>{state}")


@meetings_group.command("list")
@click.option("--from", "first", help="first day (dd/mm/yyyy or yyyy-mm-dd); default today")
@click.option("--to", "last", help="last day; default a week later")
@click.option("--point", "point_id", type=ID, help="only meetings holding this point")
@with_appcontext
def meetings_list(first: str | None, last: str | None, point_id: int | None) -> None:
    """Meetings in a period, in local time."""
    tz = runtime().settings.tz
    try:
        day0 = parse_date(first, "--from") if first else dt.datetime.now(tz).date()
        day1 = parse_date(last, "--to") if last else day0 + dt.timedelta(days=7)
    except MeetingsError as exc:
        raise _fail(exc) from None
    start = dt.datetime.combine(day0, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day1 + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    with cli_unit_of_work() as session:
        for m in visible_meetings(session, start, end, point_id):
            mark = "  [cancelled]" if m.is_cancelled else ""
            click.echo(
                f"{m.id:>6}  {m.starts_at.astimezone(tz):%d/%m/%Y %H:%M}–{m.ends_at.astimezone(tz):%H:%M}  "
                f"{m.title}  ({len(m.points)} points){mark}"
            )


@meetings_group.command("book")
@click.option("--title", required=True)
@click.option("--date", "day", required=True, help="dd/mm/yyyy or yyyy-mm-dd")
@click.option("--start", required=True, help="HH:MM local")
@click.option("--end", required=True, help="HH:MM local")
@click.option("--host", required=True, help="host bridge point: id or exact name")
@click.option("--point", "point_ids", multiple=True, type=ID, help="a participating point (repeatable)")
@click.option("--group", "groups", multiple=True, help="district | department | commune | province | unit:<code>")
@click.option("--invite", "invitees", multiple=True, help="an invited mailbox (repeatable)")
@click.option("--agenda", default="")
@click.option("--buffer", "buffer_minutes", type=int, help="set-up minutes before the start")
@click.option("--organiser-email", default="")
@click.option("--repeat", type=click.Choice(["daily", "weekly", "monthly_date", "monthly_weekday"]))
@click.option("--weekdays", default="", help="weekly: 0=Monday … 6=Sunday, comma-separated")
@click.option("--interval", type=int, default=1)
@click.option("--until", help="last date of the series")
@click.option("--count", type=int, help="number of occurrences")
@with_appcontext
def meetings_book(**opts: Any) -> None:
    """Book a meeting (or a series); invitations are sent after the commit."""
    rt = runtime()
    try:
        with cli_unit_of_work() as session:
            data = dict(opts)
            data["date"] = data.pop("day")
            data["host_point_id"] = _host(session, data.pop("host"))
            data["invitees"] = list(data["invitees"])
            data["point_ids"] = list(data["point_ids"])
            data["groups"] = list(data["groups"])
            actor = _cli_actor("meetings book")
            draft = draft_from(session, rt.meeting_env, data, organiser=(actor.name, opts["organiser_email"]))
            created = book_meeting(session, actor, rt.meeting_env, draft)
            ids = [m.id for m in created]
            room = created[0].room_name
    except (MeetingsError, RecurrenceError) as exc:
        raise _fail(exc) from exc
    click.echo(f"booked: meeting {ids[0]}" + (f" and {len(ids) - 1} more occurrences" if len(ids) > 1 else ""))
    click.echo(f"room: {room}")


@meetings_group.command("change")
@click.argument("meeting_id", type=ID)
@click.option("--scope", type=click.Choice(["one", "following", "series"]), default="one", show_default=True)
@click.option("--title")
@click.option("--date", "day")
@click.option("--start")
@click.option("--end")
@click.option("--agenda")
@with_appcontext
def meetings_change(meeting_id: int, scope: str, day: str | None, **fields: str | None) -> None:
    """Change a meeting (updates with a raised SEQUENCE go to everyone)."""
    rt = runtime()
    data = {k: v for k, v in {**fields, "date": day}.items() if v is not None}
    try:
        with cli_unit_of_work() as session:
            meeting = load_meeting(session, meeting_id)
            if meeting is None:
                raise click.ClickException(f"no meeting {meeting_id}")
            changes = changes_from(session, rt.meeting_env, data, meeting.starts_at)
            changed = change_meeting(
                session, _cli_actor("meetings change"), rt.meeting_env, meeting, changes, scope=scope
            )
            count = len(changed)
    except MeetingsError as exc:
        raise _fail(exc) from exc
    click.echo(f"changed: {count} occurrence(s)")


@meetings_group.command("cancel")
@click.argument("meeting_id", type=ID)
@click.option("--scope", type=click.Choice(["one", "following", "series"]), default="one", show_default=True)
@click.option("--reason", default="")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def meetings_cancel(meeting_id: int, scope: str, reason: str, yes: bool) -> None:
    """Cancel a meeting; everyone gets a METHOD:CANCEL message."""
    if not yes:
        click.confirm(f"Cancel meeting {meeting_id} ({scope})?", abort=True)
    rt = runtime()
    try:
        with cli_unit_of_work() as session:
            meeting = load_meeting(session, meeting_id)
            if meeting is None:
                raise click.ClickException(f"no meeting {meeting_id}")
            count = len(
                cancel_meeting(
                    session, _cli_actor("meetings cancel"), rt.meeting_env, meeting, scope=scope, reason=reason
                )
            )
    except MeetingsError as exc:
        raise _fail(exc) from exc
    click.echo(f"cancelled: {count} occurrence(s)")


@meetings_group.command("find-time")
@click.option("--point", "point_ids", multiple=True, type=ID)
@click.option("--group", "groups", multiple=True)
@click.option("--duration", type=int, default=60, show_default=True, help="minutes")
@click.option("--from", "first", required=True)
@click.option("--to", "last", required=True)
@click.option("--buffer", "buffer_minutes", type=int)
@click.option("--limit", type=int, default=5, show_default=True)
@with_appcontext
def meetings_find_time(
    point_ids: tuple[int, ...],
    groups: tuple[str, ...],
    duration: int,
    first: str,
    last: str,
    buffer_minutes: int | None,
    limit: int,
) -> None:
    """Earliest slots in working hours when every chosen point is free."""
    try:
        with cli_unit_of_work() as session:
            ids = point_ids_from(session, list(point_ids), list(groups))
            if not ids:
                raise click.UsageError("choose points with --point or --group")
            slots = find_free_slots(
                session,
                _cli_actor("meetings find-time"),
                runtime().meeting_env,
                ids,
                dt.timedelta(minutes=duration),
                parse_date(first, "--from"),
                parse_date(last, "--to"),
                buffer_minutes=buffer_minutes,
                limit=limit,
            )
    except MeetingsError as exc:
        raise _fail(exc) from exc
    if not slots:
        click.echo("no slot where all points are free in this period")
    for slot in slots:
        click.echo(f"{slot.start:%a %d/%m/%Y %H:%M}–{slot.end:%H:%M}")


@meetings_group.command("jitsi-config")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write here instead of stdout")
@with_appcontext
def meetings_jitsi_config(output: Path | None) -> None:
    """Print the Prosody settings that accept congvu's tokens (the secret stays in the environment)."""
    rt = runtime()
    text = prosody_config(rt.meeting_env.jitsi, rt.settings.public_url)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


@meetings_group.command("roll-call")
@click.argument("meeting_id", type=ID)
@click.option("--point", "point_id", type=ID, required=True, help="the bridge point to mark")
@click.option("--present", "mark", flag_value="present", help="mark it present")
@click.option("--absent", "mark", flag_value="absent", help="mark it absent")
@click.option("--clear", "mark", flag_value="clear", help="remove the mark (Jitsi's view counts again)")
@click.option("--note", default="")
@with_appcontext
def meetings_roll_call(meeting_id: int, point_id: int, mark: str | None, note: str) -> None:
    """Mark a bridge point present or absent by hand when Jitsi could not see it (audited)."""
    if mark is None:
        raise click.UsageError("choose --present, --absent or --clear")
    try:
        with cli_unit_of_work() as session:
            meeting = load_meeting(session, meeting_id)
            if meeting is None:
                raise click.ClickException(f"no meeting {meeting_id}")
            present = {"present": True, "absent": False, "clear": None}[mark]
            mark_roll_call(session, _cli_actor("meetings roll-call"), meeting, point_id, present, note)
    except MeetingsError as exc:
        raise _fail(exc) from exc
    click.echo(f"roll call: point {point_id} {mark}")


@meetings_group.command("availability")
@click.option("--date", "day", required=True)
@click.option("--start", required=True)
@click.option("--end", required=True)
@click.option("--point", "point_ids", multiple=True, type=ID)
@click.option("--group", "groups", multiple=True)
@click.option("--buffer", "buffer_minutes", type=int)
@with_appcontext
def meetings_availability(
    day: str, start: str, end: str, point_ids: tuple[int, ...], groups: tuple[str, ...], buffer_minutes: int | None
) -> None:
    """Which of the points are busy then (and by which meeting), and the nearest time when all are free."""
    env = runtime().meeting_env
    data = {"date": day, "start": start, "end": end, "point_ids": list(point_ids), "groups": list(groups)}
    data["buffer_minutes"] = "" if buffer_minutes is None else str(buffer_minutes)
    try:
        with cli_unit_of_work() as session:
            query = availability_query_from(session, env, data)
            result = check_availability(
                session,
                _cli_actor("meetings availability"),
                env,
                query.point_ids,
                query.starts_at,
                query.ends_at,
                buffer_minutes=query.buffer_minutes,
            )
    except MeetingsError as exc:
        raise _fail(exc) from exc
    if result.is_free:
        click.echo(f"all {len(query.point_ids)} points are free")
        return
    for c in result.busy:
        click.echo(f"busy: {c.point_name}: {c.meeting_title} (meeting {c.meeting_id})")
    if result.nearest is not None:
        click.echo(f"nearest free: {result.nearest.start:%a %d/%m/%Y %H:%M}–{result.nearest.end:%H:%M}")
