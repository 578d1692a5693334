"""What a person's page shows of their use of mail and of what happened to them: last seen per channel, a
12-month strip of active days, recent failed logins, the meetings they are invited to, and the change trail
entries about them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from audit.models import LastSeen, UsageDay
from core.changelog import ChangeEntry
from meetings.models import Invitee, Meeting
from provisioning.models import Staff
from provisioning.people import actor_names

CHANNELS = ("imap", "pop3", "webmail", "smtp")
HISTORY = 20
MEETINGS = 10


@dataclass(frozen=True)
class MonthActivity:
    month: dt.date  # first day
    active_days: int
    logins: int


@dataclass
class PersonActivity:
    last_seen: dict[str, dt.datetime] = field(default_factory=dict)
    months: list[MonthActivity] = field(default_factory=list)
    failed_30_days: int = 0
    meetings: list[Meeting] = field(default_factory=list)
    history: list[ChangeEntry] = field(default_factory=list)
    actor_names: dict[str, str] = field(default_factory=dict)  # "staff:<address>" → full name, for the history

    @property
    def busiest(self) -> int:
        return max((m.active_days for m in self.months), default=0)


def _months_back(today: dt.date, n: int) -> list[dt.date]:
    first = today.replace(day=1)
    out = []
    for _ in range(n):
        out.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return out[::-1]


def activity_of(session: Session, person: Staff, today: dt.date) -> PersonActivity:
    """Five small indexed queries: last seen, the 12 months' days, failures, meetings, history (and one for the
    names of the people in that history)."""
    found = PersonActivity()
    found.last_seen = dict(
        session.execute(select(LastSeen.channel, LastSeen.at).where(LastSeen.staff_id == person.id)).all()
    )
    months = _months_back(today, 12)
    logins = UsageDay.imap_logins + UsageDay.pop3_logins + UsageDay.webmail_logins + UsageDay.smtp_logins
    rows = session.execute(
        select(UsageDay.day, logins, UsageDay.failed_logins).where(
            UsageDay.staff_id == person.id, UsageDay.day >= months[0], UsageDay.day <= today
        )
    ).all()
    per_month: dict[dt.date, list[int]] = {m: [0, 0] for m in months}
    failed = 0
    for day, count, failures in rows:
        slot = per_month.get(day.replace(day=1))
        if slot is not None and count:
            slot[0] += 1
            slot[1] += count
        if day > today - dt.timedelta(days=30):
            failed += failures
    found.months = [MonthActivity(m, *per_month[m]) for m in months]
    found.failed_30_days = failed
    since = dt.datetime.combine(today - dt.timedelta(days=30), dt.time(0), tzinfo=dt.UTC)
    invited = select(Invitee.meeting_id).where(or_(Invitee.staff_id == person.id, Invitee.email == person.email))
    found.meetings = list(
        session.scalars(
            select(Meeting)
            .where(Meeting.id.in_(invited), Meeting.ends_at >= since)
            .order_by(Meeting.starts_at)
            .limit(MEETINGS)
        )
    )
    found.history = list(
        session.scalars(
            select(ChangeEntry)
            .where(ChangeEntry.target_type == "staff", ChangeEntry.target_id == str(person.id))
            .order_by(ChangeEntry.id.desc())
            .limit(HISTORY)
        )
    )
    found.actor_names = actor_names(session, (e.actor for e in found.history))
    return found


def last_seen_many(session: Session, staff_ids: list[int]) -> dict[int, dt.datetime]:
    """Each mailbox's last sign-in over every channel (for a list page: one query for the page's rows)."""
    if not staff_ids:
        return {}
    rows = session.execute(
        select(LastSeen.staff_id, func.max(LastSeen.at))
        .where(LastSeen.staff_id.in_(staff_ids))
        .group_by(LastSeen.staff_id)
    )
    return dict(rows.all())
