"""Polling the room while a meeting runs: Prosody's ``mod_muc_size`` answers ``GET /room?room=…&domain=…``
(``&subdomain=<tenant>``) with the participants in the room (``jid``, ``email``, ``display_name``). The scheduler
asks every minute during each scheduled meeting and stores what it saw beside the event-sync posts, so a
"joined" that event-sync lost is filled in (``meetings.presence``).

Participants are matched by email (a point's contact mailbox, an invited person) and then by display name (the
token's ``context.user.name``: the point's or person's name).
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from meetings.attendance import participant_of, recompute, record
from meetings.jitsi import JitsiConfig
from meetings.models import Meeting, MeetingPoint, PresenceEvent


class RoomPollError(RuntimeError):
    """The room API did not answer usefully (the poll is skipped; nothing is recorded)."""


@dataclass(frozen=True)
class Polled:
    jid: str
    email: str
    display_name: str


def fetch_participants(config: JitsiConfig, room_name: str, timeout: float = 5.0) -> list[Polled]:
    """The room's participants now; an empty list when the room does not exist (nobody is in it)."""
    query = {"room": room_name, "domain": config.domain}
    if config.tenant:
        query["subdomain"] = config.tenant
    url = f"{config.room_api_url.rstrip('/')}/room?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (configured http(s) URL)
            data = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise RoomPollError(f"{url}: HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise RoomPollError(f"{url}: {exc}") from None
    if not isinstance(data, list):
        raise RoomPollError(f"{url}: a JSON list was expected")
    out = []
    for item in data:
        if isinstance(item, dict):
            out.append(
                Polled(str(item.get("jid") or ""), str(item.get("email") or ""), str(item.get("display_name") or ""))
            )
    return out


def rooms_to_poll(session: Session, now: dt.datetime, grace: dt.timedelta) -> list[tuple[int, str]]:
    """(meeting id, room) of the meetings under way: from the start of the set-up buffer to the end plus grace."""
    rows = session.execute(
        select(Meeting.id, Meeting.room_name, Meeting.starts_at, Meeting.buffer_minutes).where(
            Meeting.is_cancelled.is_(False),
            Meeting.starts_at <= now + dt.timedelta(hours=4),  # no buffer is longer (MAX_BUFFER_MINUTES)
            Meeting.ends_at >= now - grace,
        )
    ).all()
    return [(r.id, r.room_name) for r in rows if r.starts_at - dt.timedelta(minutes=r.buffer_minutes) <= now]


def record_poll(session: Session, meeting: Meeting, participants: list[Polled], at: dt.datetime) -> int:
    """Store one poll of ``meeting``'s room at ``at`` and rebuild the presence of everyone it concerns."""
    if not record(session, PresenceEvent(meeting_id=meeting.id, kind="poll", stream="", participant="", at=at)):
        return 0  # this poll is stored already
    keys: set[str] = set()
    for p in participants:
        key, point_id, invitee = participant_of(meeting, "", p.email.strip().lower(), p.display_name)
        key = key or f"poll:{p.jid}"
        if key in keys:
            continue  # two devices of one point at one poll: one sighting
        keys.add(key)
        record(
            session,
            PresenceEvent(
                meeting_id=meeting.id,
                kind="seen",
                stream=f"poll:{key}"[:600],
                participant=key[:300],
                point_id=point_id,
                invitee_email=invitee,
                name=p.display_name[:500],
                email=p.email.strip().lower()[:254],
                at=at,
            ),
        )
    known = set(session.scalars(select(PresenceEvent.participant).where(PresenceEvent.meeting_id == meeting.id)))
    recompute(session, meeting, (known - {""}) | keys)
    return len(keys)


def poll_rooms(
    unit: Callable[[], AbstractContextManager[Session]],
    config: JitsiConfig,
    now: dt.datetime,
    fetch: Callable[[JitsiConfig, str], list[Polled]] = fetch_participants,
) -> tuple[int, int]:
    """Poll every meeting under way, each in its own unit of work (the HTTP call outside any transaction).
    Returns (rooms polled, rooms whose API did not answer)."""
    with unit() as session:
        rooms = rooms_to_poll(session, now, dt.timedelta(minutes=config.grace_minutes))
    polled = failed = 0
    for meeting_id, room in rooms:
        try:
            participants = fetch(config, room)
        except RoomPollError:
            failed += 1
            continue
        with unit() as session:
            meeting = _load(session, meeting_id)
            if meeting is not None:
                record_poll(session, meeting, participants, now)
                polled += 1
    return polled, failed


def _load(session: Session, meeting_id: int) -> Meeting | None:
    return session.scalar(
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(selectinload(Meeting.points).selectinload(MeetingPoint.point), selectinload(Meeting.invitees))
    )
