"""``congvu demo load``: a province modelled on Gia Lai, in the database and the directory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import exists, select

from admin_app.runtime import Runtime
from core.actors import Actor
from demo.data import bridge_points, units
from demo.staff import generate_staff
from meetings.operations.points import create_bridge_point
from provisioning.accounts import set_password
from provisioning.models import Role, Staff, Unit
from provisioning.operations import (
    StaffInput,
    create_local_admin,
    create_staff,
    create_unit,
    grant_role,
)
from provisioning.passwords import one_time_password

DEMO_ACTOR = Actor("system", None, "cli:demo load")


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoLogin:
    login: str
    password: str
    role: str


# Which demo staff get roles: (role, unit code of the person, unit code of the scope or None)
ROLE_PLAN = (
    (Role.SYSTEM_ADMIN, "STTTT", None),
    (Role.UNIT_ADMIN, "H-CHUPAH", "H-CHUPAH"),
    (Role.UNIT_ADMIN, "H-IAPA", "H-IAPA"),
    (Role.SECRETARY, "VPUBND", None),
    (Role.AUDITOR, "VPUBND", None),
)


def load_demo(
    runtime: Runtime, staff_count: int = 2000, seed: int = 2025, progress: Callable[[str], None] = print
) -> list[DemoLogin]:
    """Create units, bridge points, staff and role holders; apply them to slapd. Refuses a non-empty database."""
    settings = runtime.settings
    unit_specs = units()
    work = runtime.boundary.begin("cli:demo load")
    with work.session as session:
        if session.scalar(select(exists().where(Unit.id.isnot(None)))):
            raise DemoError("the database already holds units; load the demo into an empty database")
        by_code: dict[str, Unit] = {}
        for spec in unit_specs:
            parent = by_code[spec.parent_code] if spec.parent_code else None
            by_code[spec.code] = create_unit(
                session,
                DEMO_ACTOR,
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                parent=parent,
                short_name=spec.short_name,
            )
        progress(f"units: {len(by_code)}")
        for point in bridge_points():
            create_bridge_point(
                session,
                DEMO_ACTOR,
                name=point.name,
                unit=by_code[point.unit_code],
                location=point.location,
                capacity=point.capacity,
                equipment=point.equipment,
                contact_email=point.contact_email(settings.mail_domain),
            )
        progress(f"bridge points: {len(bridge_points())}")
        staff_specs = generate_staff(staff_count, seed)
        created: dict[str, list[Staff]] = {}
        for n, spec in enumerate(staff_specs, 1):
            staff = create_staff(
                session,
                DEMO_ACTOR,
                by_code[spec.unit_code],
                StaffInput(spec.full_name, spec.title, spec.staff_number, spec.phone, spec.kind),
                settings.mail_domain,
            )
            created.setdefault(spec.unit_code, []).append(staff)
            if n % 1000 == 0 or n == len(staff_specs):
                progress(f"staff: {n}/{len(staff_specs)}")
        logins: list[DemoLogin] = []
        used: set[int] = set()
        for role, person_unit, scope_unit in ROLE_PLAN:
            person = next(s for s in created.get(person_unit, []) if s.id not in used and s.kind == "personal")
            used.add(person.id)
            grant_role(session, DEMO_ACTOR, person, role, by_code[scope_unit] if scope_unit else None)
            password = one_time_password()
            set_password(
                session,
                DEMO_ACTOR,
                person,
                password,
                secret_key=runtime.secret_key,
                min_length=runtime.settings.password_min_length,
            )
            scope = f" ({by_code[scope_unit].name})" if scope_unit else ""
            logins.append(DemoLogin(person.email, password, f"{role}{scope}"))
        admin_password = one_time_password()
        create_local_admin(session, DEMO_ACTOR, "admin", admin_password)
        logins.append(DemoLogin("admin", admin_password, "local break-glass admin"))
        session.flush()
        progress("database written; committing, then writing the directory…")
        synced = work.commit().get("directory")  # the boundary applies what this unit of work recorded
    if synced is None or synced.unavailable:
        raise DemoError("the directory is unreachable; the changes stay pending (`congvu directory sync`)")
    if synced.failed:
        raise DemoError(f"{synced.failed} directory changes failed; see `congvu directory sync`")
    progress(f"directory: {synced.applied} entries written")
    return logins


def demo_staff_count(runtime: Runtime) -> int:
    with runtime.unit_of_work() as session:
        return len(session.scalars(select(Staff.id)).all())
