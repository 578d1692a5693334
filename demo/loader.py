"""``congvu demo load``: today's Gia Lai, built by its history.

1. 2024: Gia Lai (17 district-level units) and Bình Định (11, its own domain binhdinh.gov.vn) as they were,
   with their departments, bridge points and staff (:mod:`demo.world`).
2. With ``activity``: a year of use before the change, from July 2024 (:mod:`demo.activity`).
3. The shipped 2025 plans (:mod:`demo.plan2025`) applied as real reorganisation jobs (:mod:`demo.reorganise`):
   the department mergers of 1 March, then on 1 July the communes and wards, the districts dissolved and
   Bình Định merged into Gia Lai (its old addresses kept as aliases).
4. With ``activity``: the months after, to last month, and a conference next week.
5. The demo sign-in accounts, in today's tree.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from admin_app.runtime import Runtime
from audit.report import previous_month
from demo.activity import HALL, briefing, conference_next_week, first_monday, load_usage, months
from demo.binhdinh import BINH_DINH
from demo.data import GIA_LAI, bridge_points
from demo.plan2025 import JULY, MARCH, july_plan, march_plan
from demo.reorganise import apply_plan, reopen_district_halls
from demo.staff import generate_staff
from demo.world import DEMO_ACTOR, DemoError, build_world
from meetings.recurrence import Recurrence
from provisioning.accounts import set_password
from provisioning.models import AccountKind, Role, Staff, Unit
from provisioning.operations import create_local_admin, grant_role
from provisioning.passwords import one_time_password

__all__ = ["DEMO_ACTOR", "DemoError", "DemoLogin", "demo_staff_count", "load_demo"]

FIRST_MONTH = "2024-07"
FULL_MONTHS = 2  # the last months simulated in full (the others thinly)


@dataclass(frozen=True)
class DemoLogin:
    login: str
    password: str
    role: str


# Who gets a role once the plans are applied: (role, unit code of the person, unit code of the scope or None,
# the province the person came from). The unit admins of the old Chư Păh and Ia Pa districts are those of the
# communes at their seats now; the secretary came from Bình Định's office (her old address still signs in).
ROLE_PLAN = (
    (Role.SYSTEM_ADMIN, "SKHCN", None, GIA_LAI),
    (Role.UNIT_ADMIN, "XA-CHUPAH", "XA-CHUPAH", GIA_LAI),
    (Role.UNIT_ADMIN, "XA-IAPA", "XA-IAPA", GIA_LAI),
    (Role.SECRETARY, "VPUBND", None, BINH_DINH),
    (Role.AUDITOR, "VPUBND", None, GIA_LAI),
    (Role.UNIT_ADMIN, "PH-QUYNHON", "PH-QUYNHON", BINH_DINH),
)


def load_demo(
    runtime: Runtime,
    staff_count: int = 2000,
    seed: int = 2025,
    progress: Callable[[str], None] = print,
    *,
    activity: bool = False,
) -> list[DemoLogin]:
    """Build today's province by its history (see the module); refuses a non-empty database. Returns the demo
    sign-in accounts with their one-time passwords."""
    staff = generate_staff(staff_count, seed)
    build_world(runtime, staff, progress)
    today = dt.datetime.now(runtime.settings.tz).date()
    last = previous_month(f"{today:%Y-%m}")
    every = months(FIRST_MONTH, last)
    full = every[-FULL_MONTHS:]
    rng = random.Random(seed)
    if activity:
        _before(runtime, rng, progress)
        load_usage(runtime, [m for m in every if m < f"{MARCH:%Y-%m}"], progress, full=full, seed=seed)
    apply_plan(runtime, march_plan(), progress)
    if activity:
        load_usage(
            runtime, [m for m in every if f"{MARCH:%Y-%m}" <= m < f"{JULY:%Y-%m}"], progress, full=full, seed=seed
        )
    apply_plan(runtime, july_plan(staff), progress)
    reopen_district_halls(runtime, progress)
    if activity:
        _after(runtime, rng, today, progress)
        load_usage(runtime, [m for m in every if m >= f"{JULY:%Y-%m}"], progress, full=full, seed=seed)
    return _demo_logins(runtime)


def _at(day: dt.date, hour: int, minute: int, runtime: Runtime) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=runtime.meeting_env.tz)


def _before(runtime: Runtime, rng: random.Random, progress: Callable[[str], None]) -> None:
    """Each province's monthly briefing with its districts (first Monday, 14:00), July 2024 to June 2025."""
    points = bridge_points()
    rule = Recurrence("monthly_weekday", 1, (), JULY - dt.timedelta(days=1), None)
    for p, host in ((GIA_LAI, HALL), (BINH_DINH, f"{HALL} Bình Định")):
        districts = {d.code for d in p.districts}
        names = [pt.name for pt in points if pt.unit_code in districts]
        title = f"Giao ban trực tuyến tháng với các huyện, thị xã, thành phố ({p.root.name})"
        held = briefing(runtime, title, host, names, _at(first_monday(2024, 7), 14, 0, runtime), rule, rng)
        progress(f"meetings before July 2025: {p.root.name}: monthly briefing with its districts ({held} held)")


def _after(runtime: Runtime, rng: random.Random, today: dt.date, progress: Callable[[str], None]) -> None:
    """The new province's monthly briefing with its communes and wards from July 2025, a weekly one over the
    last eight weeks and the next four, and a conference next week."""
    monthly = Recurrence("monthly_weekday", 1, (), today + dt.timedelta(days=62), None)
    title = "Giao ban trực tuyến tháng UBND tỉnh với các xã, phường"
    held = briefing(runtime, title, HALL, None, _at(first_monday(2025, 7), 14, 0, runtime), monthly, rng)
    monday = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=8)
    weekly = Recurrence("weekly", 1, (0,), None, 12)
    title = "Giao ban trực tuyến UBND tỉnh với các xã, phường"
    weekly_held = briefing(runtime, title, HALL, None, _at(monday, 7, 30, runtime), weekly, rng)
    conference_next_week(runtime)
    progress(
        f"meetings from July 2025: monthly briefing with the communes and wards ({held} held), weekly in the last "
        f"weeks ({weekly_held} held), a conference next week"
    )


def _demo_logins(runtime: Runtime) -> list[DemoLogin]:
    logins: list[DemoLogin] = []
    with runtime.unit_of_work("cli:demo load") as session:
        used: set[int] = set()
        for role, person_unit, scope_unit, came_from in ROLE_PLAN:
            unit = session.scalar(select(Unit).where(Unit.code == person_unit))
            scope = session.scalar(select(Unit).where(Unit.code == scope_unit)) if scope_unit else None
            person = session.scalar(
                select(Staff)
                .where(Staff.unit_id == (unit.id if unit else -1), Staff.kind == AccountKind.PERSONAL)
                .where(Staff.staff_number.startswith(came_from.staff_prefix))
                .where(Staff.id.notin_(used or {-1}))
                .order_by(Staff.id)
                .limit(1)
            )
            if person is None:
                raise DemoError(f"no personal mailbox in unit {person_unit} for the demo's {role}")
            used.add(person.id)
            grant_role(session, DEMO_ACTOR, person, role, scope)
            password = one_time_password()
            set_password(
                session,
                DEMO_ACTOR,
                person,
                password,
                secret_key=runtime.secret_key,
                min_length=runtime.settings.password_min_length,
            )
            logins.append(DemoLogin(person.email, password, f"{role}{f' ({scope.name})' if scope else ''}"))
        admin_password = one_time_password()
        create_local_admin(session, DEMO_ACTOR, "admin", admin_password)
        logins.append(DemoLogin("admin", admin_password, "local break-glass admin"))
    return logins


def demo_staff_count(runtime: Runtime) -> int:
    with runtime.unit_of_work() as session:
        return len(session.scalars(select(Staff.id)).all())
