"""The demo's world of 2024: both provinces' units, bridge points and staff, created through the ordinary verbs
in one unit of work and written to slapd. In the story they have existed for years: the staff's mailboxes
are dated 1 January 2024, before the first month of simulated use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import exists, select, update

from admin_app.runtime import Runtime
from core.actors import Actor
from demo.data import bridge_points, units
from demo.staff import StaffSpec
from meetings.operations.points import create_bridge_point
from provisioning.models import Staff, Unit
from provisioning.operations import StaffInput, create_staff_many, create_unit

DEMO_ACTOR = Actor("system", None, "cli:demo load")
MAILBOXES_SINCE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class DemoError(RuntimeError):
    pass


def build_world(runtime: Runtime, staff: Sequence[StaffSpec], progress: Callable[[str], None]) -> None:
    """Create the 2024 tree, its bridge points and ``staff``; refuse a database that holds units already."""
    settings = runtime.settings
    policy = runtime.mailbox_policy
    work = runtime.boundary.begin("cli:demo load")
    with work.session as session:
        if session.scalar(select(exists().where(Unit.id.isnot(None)))):
            raise DemoError("the database already holds units; load the demo into an empty database")
        by_code: dict[str, Unit] = {}
        for spec in units():
            by_code[spec.code] = create_unit(
                session,
                DEMO_ACTOR,
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                parent=by_code[spec.parent_code] if spec.parent_code else None,
                short_name=spec.short_name,
                mail_domain=spec.mail_domain,
                rules=policy.rules,
            )
        progress(f"2024: units: {len(by_code)} (Gia Lai and Bình Định, before the reorganisation)")
        points = bridge_points()
        for point in points:
            create_bridge_point(
                session,
                DEMO_ACTOR,
                name=point.name,
                unit=by_code[point.unit_code],
                location=point.location,
                capacity=point.capacity,
                equipment=point.equipment,
                contact_email=point.contact_email,
            )
        progress(f"2024: bridge points: {len(points)}")
        batch, given = 500, set[str]()  # an empty database: the addresses given so far are all that is taken
        for start in range(0, len(staff), batch):
            chunk = staff[start : start + batch]
            created = create_staff_many(
                session,
                DEMO_ACTOR,
                [
                    (by_code[s.unit_code], StaffInput(s.full_name, s.title, s.staff_number, s.phone, s.kind))
                    for s in chunk
                ],
                settings.mail_domain,
                policy.address_policy,
                is_taken=given.__contains__,
                default_quota=policy.default_quota_mb,
                rules=policy.rules,
            )
            given.update(person.email for person in created)
            progress(f"2024: staff: {start + len(chunk)}/{len(staff)}")
        session.execute(update(Staff).values(created_at=MAILBOXES_SINCE))
        session.flush()
        progress("2024: database written; committing, then writing the directory…")
        synced = work.commit().get("directory")  # the boundary applies what this unit of work recorded
    check_synced(synced)
    progress(f"2024: directory: {synced.applied} entries written")


def check_synced(synced: object) -> None:
    if synced is None or synced.unavailable:  # type: ignore[attr-defined]
        raise DemoError("the directory is unreachable; the changes stay pending (`congvu directory sync`)")
    if synced.failed:  # type: ignore[attr-defined]
        raise DemoError(f"{synced.failed} directory changes failed; see `congvu directory sync`")  # type: ignore[attr-defined]
