"""Jitsi Meet rooms and tokens.

Prosody's token authentication (``authentication = "token"``) accepts an HS256 JWT whose header says
``typ: JWT`` and whose claims name the app (``iss``), one audience string (``aud``), the domain (``sub``), the
bare room name (``room``) and integer ``nbf``/``exp`` that it checks without leeway. ``context.user`` gives the
name shown in the meeting. The matching Prosody settings are rendered from ``config/jitsi/``.

What today's Jitsi reads (its own ``mod_token_affiliation`` and ``token_lobby_bypass``): the role comes from
``context.user.affiliation`` ("owner"/"member") or ``context.user.moderator``, never from a top-level claim; a
moderator waits in the lobby like anyone else unless ``context.user.lobby_bypass`` is true; ``context.features``
is all-or-nothing, so it is sent complete or not at all. With a tenant, Jitsi's room is ``[tenant]room``, the
link is ``https://host/tenant/room`` and the token's ``sub`` names the tenant.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jwt

from config import JITSI_FEATURES
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
    tenant: str = ""
    lobby_bypass: frozenset[str] = frozenset({"points", "organiser"})  # points | organiser | invitees
    features: tuple[str, ...] = ()  # switched on; empty: no context.features at all
    room_api_url: str = ""  # Prosody's HTTP base answering mod_muc_size's GET /room

    @property
    def is_usable(self) -> bool:
        return bool(self.app_secret)

    @property
    def subject(self) -> str:
        """The token's ``sub``: the tenant when there is one, else the domain (Prosody's VirtualHost)."""
        return self.tenant or self.domain

    def room_path(self, room_name: str) -> str:
        return f"{quote(self.tenant)}/{quote(room_name)}" if self.tenant else quote(room_name)


@dataclass(frozen=True)
class Participant:
    """Who a link is for: a bridge point or a person. ``id`` becomes ``context.user.id`` (and comes back in
    Jitsi's event-sync posts, which is how attendance is matched)."""

    id: str
    name: str
    email: str
    is_moderator: bool = False
    role: str = "invitee"  # point | organiser | invitee: who may skip the lobby is configured by role


def new_room_name() -> str:
    """An unguessable room name (130 random bits), lower-case letters and digits as Jitsi likes them."""
    return "cv" + base64.b32encode(secrets.token_bytes(20)).decode().lower().rstrip("=")


def point_participant(meeting: Meeting, point: BridgePoint) -> Participant:
    return Participant(f"point-{point.id}", point.name, point.contact_email, point.id == meeting.host_point_id, "point")


def person_participant(meeting: Meeting, email: str, name: str) -> Participant:
    is_organiser = bool(meeting.organiser_email) and email.lower() == meeting.organiser_email.lower()
    role = "organiser" if is_organiser else "invitee"
    return Participant(f"person-{email.lower()}", name or email, email.lower(), is_organiser, role)


def user_context(config: JitsiConfig, who: Participant) -> dict[str, object]:
    """``context.user`` as Jitsi's token_affiliation and token_lobby_bypass read it."""
    user: dict[str, object] = {
        "id": who.id,
        "name": who.name,
        "email": who.email,
        "moderator": who.is_moderator,
        "affiliation": "owner" if who.is_moderator else "member",
    }
    bypass = {"point": "points", "organiser": "organiser", "invitee": "invitees"}[who.role]
    if bypass in config.lobby_bypass:
        user["lobby_bypass"] = True
    return user


def token_for(config: JitsiConfig, meeting: Meeting, who: Participant) -> str:
    """The JWT that lets ``who`` into this meeting's room, from the start of the set-up buffer until the end
    plus the grace period."""
    if not config.is_usable:
        raise ValueError("Setting 'jitsi_app_secret' is not set: join links cannot be signed")
    nbf = int(meeting.block_start.timestamp())
    exp = int((meeting.ends_at + dt.timedelta(minutes=config.grace_minutes)).timestamp())
    context: dict[str, object] = {"user": user_context(config, who)}
    if config.features:
        context["features"] = {
            name: name in config.features for name in JITSI_FEATURES
        }  # all or none: an omitted feature is off
    claims = {
        "iss": config.app_id,
        "aud": config.audience,
        "sub": config.subject,
        "room": meeting.room_name,
        "nbf": nbf,
        "exp": exp,
        "context": context,
    }
    return jwt.encode(claims, config.app_secret, algorithm="HS256", headers={"typ": "JWT"})


def join_link(config: JitsiConfig, meeting: Meeting, who: Participant) -> str:
    return f"https://{config.host}/{config.room_path(meeting.room_name)}?jwt={token_for(config, meeting, who)}"


def bare_room(config: JitsiConfig, room_name: str) -> str | None:
    """Our room name from what Jitsi reports (``[tenant]room@conference.host``, any case), or None when it names
    another tenant's room."""
    node = room_name.split("@", 1)[0].strip().lower()
    tenant = ""
    if node.startswith("[") and "]" in node:
        tenant, _, node = node[1:].partition("]")
    if tenant != config.tenant.lower():
        return None
    return node


def prosody_config(config: JitsiConfig, public_url: str) -> str:
    """The Prosody settings that accept exactly the tokens :func:`token_for` makes (secret left to the env)."""
    text = PROSODY_TEMPLATE.read_text(encoding="utf-8")
    for key, value in {
        "domain": config.domain,
        "app_id": config.app_id,
        "audience": config.audience,
        "subject": config.subject,
        "api_prefix": public_url.rstrip("/"),
    }.items():
        text = text.replace("@" + key + "@", value)
    return text
