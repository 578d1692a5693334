"""Jitsi Meet rooms and tokens.

Prosody's token authentication (``authentication = "token"``) accepts an HS256 JWT whose header says
``typ: JWT`` and whose claims name the app (``iss``), one audience string (``aud``), the domain (``sub``), the
bare room name (``room``) and integer ``nbf``/``exp`` that it checks without leeway. ``context.user`` gives the
name shown in the meeting. The matching Prosody settings are rendered from ``config/jitsi/``.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jwt

from meetings.models import BridgePoint, Meeting

PROSODY_TEMPLATE = Path(__file__).resolve().parent.parent / "config" / "jitsi" / "prosody-congvu.cfg.lua.in"


@dataclass(frozen=True)
class JitsiConfig:
    host: str
    app_id: str
    app_secret: str
    audience: str
    domain: str
    grace_minutes: int = 15

    @property
    def is_usable(self) -> bool:
        return bool(self.app_secret)


@dataclass(frozen=True)
class Participant:
    """Who a link is for: a bridge point or a person. ``id`` becomes ``context.user.id`` (and comes back in
    Jitsi's event-sync posts, which is how attendance is matched)."""

    id: str
    name: str
    email: str
    is_moderator: bool = False


def new_room_name() -> str:
    """An unguessable room name (130 random bits), lower-case letters and digits as Jitsi likes them."""
    return "cv" + base64.b32encode(secrets.token_bytes(20)).decode().lower().rstrip("=")


def point_participant(meeting: Meeting, point: BridgePoint) -> Participant:
    return Participant(f"point-{point.id}", point.name, point.contact_email, point.id == meeting.host_point_id)


def person_participant(meeting: Meeting, email: str, name: str) -> Participant:
    is_organiser = bool(meeting.organiser_email) and email.lower() == meeting.organiser_email.lower()
    return Participant(f"person-{email.lower()}", name or email, email.lower(), is_organiser)


def token_for(config: JitsiConfig, meeting: Meeting, who: Participant) -> str:
    """The JWT that lets ``who`` into this meeting's room, from the start of the set-up buffer until the end
    plus the grace period."""
    if not config.is_usable:
        raise ValueError("Setting 'jitsi_app_secret' is not set: join links cannot be signed")
    nbf = int(meeting.block_start.timestamp())
    exp = int((meeting.ends_at + dt.timedelta(minutes=config.grace_minutes)).timestamp())
    claims = {
        "iss": config.app_id,
        "aud": config.audience,
        "sub": config.domain,
        "room": meeting.room_name,
        "nbf": nbf,
        "exp": exp,
        "context": {
            "user": {
                "id": who.id,
                "name": who.name,
                "email": who.email,
                "moderator": who.is_moderator,
            }
        },
        "moderator": who.is_moderator,
    }
    return jwt.encode(claims, config.app_secret, algorithm="HS256", headers={"typ": "JWT"})


def join_link(config: JitsiConfig, meeting: Meeting, who: Participant) -> str:
    return f"https://{config.host}/{quote(meeting.room_name)}?jwt={token_for(config, meeting, who)}"


def prosody_config(config: JitsiConfig, public_url: str) -> str:
    """The Prosody settings that accept exactly the tokens :func:`token_for` makes (secret left to the env)."""
    text = PROSODY_TEMPLATE.read_text(encoding="utf-8")
    for key, value in {
        "domain": config.domain,
        "app_id": config.app_id,
        "audience": config.audience,
        "events_url": public_url.rstrip("/") + "/events",
    }.items():
        text = text.replace("@" + key + "@", value)
    return text
