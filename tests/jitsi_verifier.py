"""A token check written from Jitsi's rules (Prosody's token_util), independent of PyJWT and of congvu's code:
HS256 signature with the app secret, header alg HS256 and typ JWT, iss among the accepted issuers, aud among the
accepted audiences, sub equal to the domain (or the tenant, or "*"), room equal to the room being joined (a
literal room compared in lower case), integer nbf/exp checked without leeway, and a context.user with string id
and name. Then what the occupant becomes, as Jitsi's own modules decide it:

- ``affiliation`` follows mod_token_affiliation: context.user.affiliation "owner", "moderator" or "teacher", or
  context.user.moderator true or "true", make an owner; anything else a member (a top-level claim counts for
  nothing);
- ``enters_directly`` follows the lobby: with the lobby on, an occupant waits unless token_lobby_bypass runs and
  context.user.lobby_bypass is exactly true (token_affiliation acts only after the join);
- ``features`` follows the client: no context.features means defaults; an object switches off every feature
  it does not name as true.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass


class Refused(Exception):
    pass


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass(frozen=True)
class ProsodyTokenRules:
    app_secret: str
    accepted_issuers: tuple[str, ...]
    accepted_audiences: tuple[str, ...]
    domain: str

    def verify(self, token: str, room: str, now: float | None = None, tenant: str = "") -> dict:
        now = time.time() if now is None else now
        try:
            head_b64, body_b64, sig_b64 = token.split(".")
            header = json.loads(_b64(head_b64))
            claims = json.loads(_b64(body_b64))
        except ValueError as exc:
            raise Refused(f"not a JWT: {exc}") from None
        if header.get("alg") != "HS256":
            raise Refused("alg")
        if header.get("typ") != "JWT":
            raise Refused("typ")
        expected = hmac.new(self.app_secret.encode(), f"{head_b64}.{body_b64}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64(sig_b64)):
            raise Refused("signature")
        if claims.get("iss") not in self.accepted_issuers:
            raise Refused("iss")
        if not isinstance(claims.get("aud"), str) or claims["aud"] not in self.accepted_audiences:
            raise Refused("aud")
        for key in ("exp", "nbf"):
            if not isinstance(claims.get(key), int) or isinstance(claims.get(key), bool):
                raise Refused(f"{key} must be an integer")
        if now >= claims["exp"]:
            raise Refused("expired")
        if now < claims["nbf"]:
            raise Refused("not yet valid")
        if claims.get("sub") not in ((tenant or self.domain), "*"):
            raise Refused("sub")
        if claims.get("room") != "*" and str(claims.get("room", "")).lower() != room.lower():
            raise Refused("room")
        user = (claims.get("context") or {}).get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not isinstance(user.get("name"), str):
            raise Refused("context.user")
        return claims


def affiliation(claims: dict) -> str:
    """owner or member, as mod_token_affiliation sets it."""
    user = (claims.get("context") or {}).get("user") or {}
    if user.get("affiliation") in ("owner", "moderator", "teacher"):
        return "owner"
    if user.get("moderator") is True or user.get("moderator") == "true":
        return "owner"
    return "member"


def enters_directly(claims: dict, *, lobby_on: bool, modules: set[str]) -> bool:
    """Whether the occupant skips the lobby of a room whose lobby is on."""
    if not lobby_on:
        return True
    user = (claims.get("context") or {}).get("user") or {}
    return "token_lobby_bypass" in modules and user.get("lobby_bypass") is True


def features(claims: dict, known: tuple[str, ...]) -> dict[str, bool] | None:
    """None: the client's defaults; else each known feature on only if the object names it true."""
    given = (claims.get("context") or {}).get("features")
    if given is None:
        return None
    return {name: given.get(name) in (True, "true") for name in known}
