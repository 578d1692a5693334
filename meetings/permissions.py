"""Who may do what with bridge points and meetings. The verbs check these themselves; pages and API answers
use the same functions only to show or hide what the actor could not do anyway.

Secretaries (văn phòng) book, change and cancel meetings hosted at points of the units in their scope; unit
admins manage the bridge points of their units; system admins may do everything.
"""

from __future__ import annotations

from core.actors import Actor
from meetings.models import Meeting
from provisioning.models import Role, Unit


def can_book(actor: Actor, unit: Unit | None = None) -> bool:
    """May book meetings hosted at a point of ``unit``; without a unit: at some point at all (the booking pages)."""
    if unit is None:
        return actor.has_role(Role.SECRETARY)
    return actor.can(Role.SECRETARY, unit)


def can_change(actor: Actor, meeting: Meeting) -> bool:
    """May change or cancel ``meeting`` (one occurrence or its series): whoever may book at its host point."""
    return can_book(actor, meeting.host_point.unit)


def can_find_time(actor: Actor) -> bool:
    """May search for a free time: "find a time" is a step of booking, so whoever books somewhere."""
    return can_book(actor)


def can_see_links(actor: Actor) -> bool:
    """May see the room name, the signed join links and the organiser's calendar file. Those who book hand the
    links on to points without a contact mailbox; everyone else sees the meeting without them."""
    return can_book(actor)


def can_manage_points(actor: Actor, unit: Unit) -> bool:
    """May add bridge points to ``unit`` and change or retire them: its unit admins and system admins."""
    return actor.can(Role.UNIT_ADMIN, unit)
