"""Factory fixtures: each test builds the small world it needs through the real operations.

Modelled on Indico's ``indico/testing/fixtures`` (``create_user``, ``create_room``…) and on the ``auth`` and
``runner`` fixtures of Flask's tutorial. Every ``create_*`` fixture returns a callable; every row comes from the
operation the console, the API and the CLI use (never a hand-made ``INSERT``), so a test exercises the same
checks, audit entries and directory jobs as a user would. The rows live in the test's rolled-back transaction.

- ``province``: the province root. The demo loader refuses a database that holds units, so no root can be
  committed for the session while the demo may still be loaded later; the root is therefore the demo's when the
  demo is loaded, and otherwise one created in the test's own (rolled-back) transaction.
- ``create_unit``, ``create_staff`` (optionally with a role and a known password that works against slapd),
  ``create_local_admin``, ``create_point``, ``create_meeting`` (``book()``: the same in a session of a test's own).
- ``client_as(role)`` / ``client_for(person)``: a test client signed in through ``/login`` with its CSRF token;
  ``token_as(role)`` / ``token_for(person)``: a bearer token for the API.
- ``cli([...])``: the ``congvu`` command run against the test's app; ``commit_and_sync()``: commit the test's
  session and apply the directory jobs it recorded, as the boundary does after a commit; ``directory``: an
  admin connection of its own to the session's slapd.

slapd is not part of the rolled-back transaction. So that one test's mailboxes cannot collide with the next
test's (slapd keeps ``mail`` unique) or with the demo loaded later, ``created_during_test`` (which every
factory uses) removes on teardown the directory entries of every unit and mailbox created during the test.

Factories only flush, like the operations they call, except where slapd must see the row (``password=``):
then they commit the test's session and apply the directory jobs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import SYSTEM, Actor
from provisioning import accounts, operations
from provisioning.actors import actor_for_local_admin, actor_for_staff
from provisioning.directory import Directory, DirectoryConfig, DirectoryUnavailable
from provisioning.entries import staff_dn, unit_dn
from provisioning.models import AccountKind, LocalAdmin, Role, Staff, Unit, UnitKind
from provisioning.signin import issue_token
from provisioning.sync import SyncResult

if TYPE_CHECKING:
    from admin_app.runtime import Runtime
    from meetings.models import BridgePoint, Meeting

# A password that passes the policy and contains none of the factories' default name parts.
PASSWORD = "Qx7!Lotus-Zebra-2026"


def unique(prefix: str) -> str:
    """A short token unique for the whole run: codes, names and addresses that must not meet another test's."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# -- signing in --------------------------------------------------------------------------------------------


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on ``path``, as a browser would send it back."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, login: str, password: str) -> Any:
    """Post the sign-in form (with its CSRF token) and return the response."""
    return client.post("/login", data={"login": login, "password": password, "csrf_token": csrf_token(client)})


# -- plumbing --------------------------------------------------------------------------------------------


@pytest.fixture
def directory(runtime: Runtime) -> Iterator[Directory]:
    """An admin connection of its own to the session's slapd, to read what the suite wrote there."""
    s = runtime.settings
    connection = Directory(DirectoryConfig(s.ldap_url, s.ldap_base_dn, s.ldap_bind_dn, s.ldap_bind_password, 3))
    yield connection
    connection.close()


@pytest.fixture
def commit_and_sync(db: Session, runtime: Runtime) -> Callable[[], SyncResult]:
    """Commit the test's session, then apply the directory jobs, as the request/CLI boundary does.

    Fails the test if slapd is unreachable or a job failed: a test that wants those asks ``runtime`` itself.
    """

    def _commit_and_sync() -> SyncResult:
        db.commit()
        result = runtime.sync_directory()
        assert not result.unavailable, result
        assert result.failed == 0, result
        return result

    return _commit_and_sync


@pytest.fixture
def cli(app: Flask) -> Callable[..., Result]:
    """Run ``congvu`` (e.g. ``cli(["accounts", "disable", …])``) against the test's app and database."""
    from admin_app.cli import main

    runner = app.test_cli_runner()

    def _invoke(args: Sequence[str], input: str | None = None) -> Result:
        return runner.invoke(main, list(args), input=input, obj=ScriptInfo(create_app=lambda: app))

    return _invoke


# -- the province and its directory entries --------------------------------------------------------------


@dataclass
class _CreatedDuringTest:
    """What a test may have written to slapd: rows newer than these ids, and the unit codes it asked for."""

    last_unit_id: int
    last_staff_id: int
    unit_codes: set[str] = field(default_factory=set)


def _directory_entries_of(session: Session, created: _CreatedDuringTest, base_dn: str) -> list[str]:
    """DNs (old and current) of the test's top-most new units and of its new mailboxes outside them."""
    # A root made for this test is the base entry, which stays: its children count as top-most.
    units = session.scalars(select(Unit).where(Unit.id > created.last_unit_id, Unit.parent_id.isnot(None))).all()
    new_ids = {u.id for u in units}
    dns: list[str] = []
    for unit in units:
        if unit.parent_id not in new_ids:
            dns += [d for d in (unit.directory_dn, unit_dn(unit, base_dn)) if d]
    for person in session.scalars(select(Staff).where(Staff.id > created.last_staff_id)):
        if person.unit_id in new_ids:
            continue  # goes with its unit's subtree
        dns += [d for d in (person.directory_dn, staff_dn(person, base_dn)) if d]
    return list(dict.fromkeys(dns))


def _remove_directory_entries(runtime: Runtime, created: _CreatedDuringTest) -> None:
    base_dn = runtime.settings.ldap_base_dn
    directory = runtime.directory
    session = runtime.session_factory()
    try:
        dns = _directory_entries_of(session, created, base_dn)
        remaining = set(session.scalars(select(Unit.code).where(Unit.code.in_(created.unit_codes))))
    finally:
        session.close()
    with contextlib.suppress(DirectoryUnavailable):  # a test that left slapd stopped has failed already
        for code in sorted(created.unit_codes - remaining):  # merged away: its entry may still be there
            dns += [dn for dn, _ in directory.search(base_dn, f"(&(objectClass=congvuUnit)(ou={code}))", ["1.1"])]
        for dn in dns:
            if directory.read(dn, ["objectClass"]) is not None:
                directory.delete_tree(dn)


@pytest.fixture
def created_during_test(db: Session, runtime: Runtime) -> Iterator[_CreatedDuringTest]:
    """Notes what exists before the test; on teardown removes from slapd the entries of every unit and mailbox
    created since (by factories, pages, API or CLI), so the directory follows the database's rollback."""
    created = _CreatedDuringTest(
        last_unit_id=db.scalar(select(func.max(Unit.id))) or 0,
        last_staff_id=db.scalar(select(func.max(Staff.id))) or 0,
    )
    yield created
    _remove_directory_entries(runtime, created)


@pytest.fixture
def province(db: Session, created_during_test: _CreatedDuringTest) -> Unit:
    """The province root (the directory's base entry); see the module docstring for where it comes from."""
    root = db.scalar(select(Unit).where(Unit.parent_id.is_(None)))
    if root is None:
        root = operations.create_unit(db, SYSTEM, code="GIALAI", name="Tỉnh Gia Lai", kind="province", parent=None)
    return root


# -- people and units ------------------------------------------------------------------------------------


@pytest.fixture
def create_unit(db: Session, province: Unit, created_during_test: _CreatedDuringTest) -> Callable[..., Unit]:
    """``create_unit(code=None, name=…, kind=…, parent=None, mail_domain=None)`` through ``create_unit``.

    The code is unique by default; the parent defaults to the province root.
    """

    def _create_unit(
        code: str | None = None,
        *,
        name: str = "Phòng Thử nghiệm",
        kind: str = UnitKind.DEPARTMENT,
        parent: Unit | None = None,
        mail_domain: str | None = None,
        short_name: str = "",
        actor: Actor = SYSTEM,
    ) -> Unit:
        code = code or unique("T-").upper()
        created_during_test.unit_codes.add(code.upper())
        return operations.create_unit(
            db,
            actor,
            code=code,
            name=name,
            kind=kind,
            parent=parent or province,
            short_name=short_name,
            mail_domain=mail_domain,
        )

    return _create_unit


@pytest.fixture
def create_staff(
    db: Session, runtime: Runtime, create_unit: Callable[..., Unit], commit_and_sync: Callable[[], SyncResult]
) -> Callable[..., Staff]:
    """``create_staff(unit=None, full_name=…, role=None, role_unit=None, password=None, …)``.

    The person gets the address the product generates from the name (``annv@…``), in a new unit unless one is
    given. ``role`` is granted over ``role_unit`` (for a unit admin it defaults to the person's unit, for the
    other roles to the whole province). With ``password`` the password is set, the session committed and the
    directory jobs applied, so the person can sign in against the real slapd right away.
    """

    def _create_staff(
        unit: Unit | None = None,
        *,
        full_name: str = "Nguyễn Văn Thử",
        role: str | None = None,
        role_unit: Unit | None = None,
        password: str | None = None,
        must_change: bool = False,
        title: str = "",
        staff_number: str | None = None,
        phone: str = "",
        kind: str = AccountKind.PERSONAL,
        local_part: str | None = None,
        quota_mb: int = 2048,
        actor: Actor = SYSTEM,
    ) -> Staff:
        unit = unit or create_unit()
        person = operations.create_staff(
            db,
            actor,
            unit,
            operations.StaffInput(full_name, title, staff_number, phone, kind, local_part, quota_mb),
            runtime.settings.mail_domain,
        )
        if role is not None:
            scope = role_unit if role_unit is not None or role != Role.UNIT_ADMIN else unit
            operations.grant_role(db, actor, person, role, scope)
        if password is not None:
            accounts.set_password(
                db,
                actor,
                person,
                password,
                secret_key=runtime.secret_key,
                min_length=runtime.settings.password_min_length,
                must_change=must_change,
            )
            commit_and_sync()
        return person

    return _create_staff


@pytest.fixture
def create_local_admin(db: Session) -> Callable[..., LocalAdmin]:
    """``create_local_admin(username=None, password=PASSWORD)``: a break-glass admin (database, not slapd)."""

    def _create_local_admin(username: str | None = None, password: str = PASSWORD) -> LocalAdmin:
        return operations.create_local_admin(db, SYSTEM, username or unique("quantri-"), password)

    return _create_local_admin


# -- signed-in clients and API tokens --------------------------------------------------------------------


@pytest.fixture
def client_for(app: Flask) -> Callable[..., FlaskClient]:
    """``client_for(person_or_login, password=PASSWORD)``: a new test client signed in through ``/login``."""

    def _client_for(who: Staff | str, password: str = PASSWORD) -> FlaskClient:
        client = app.test_client()
        login = who.email if isinstance(who, Staff) else who
        response = sign_in(client, login, password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return _client_for


@pytest.fixture
def client_as(create_staff: Callable[..., Staff], client_for: Callable[..., FlaskClient]) -> Callable[..., FlaskClient]:
    """``client_as("system_admin" | "unit_admin" | "secretary" | "auditor", unit=None)``: a signed-in client.

    Creates a person holding the role (a unit admin administers ``unit``, a new unit if none is given; the
    other roles are province-wide and the person sits in ``unit`` or a new one) and signs them in.
    """

    def _client_as(role: str, unit: Unit | None = None, **person: Any) -> FlaskClient:
        return client_for(create_staff(unit, role=role, password=PASSWORD, **person))

    return _client_as


@pytest.fixture
def token_for(db: Session) -> Callable[[Staff | LocalAdmin], str]:
    """``token_for(person)``: a bearer token for the API, issued to the person by themselves."""

    def _token_for(who: Staff | LocalAdmin) -> str:
        owner = actor_for_staff(who) if isinstance(who, Staff) else actor_for_local_admin(who)
        _, secret = issue_token(db, owner, owner, "test")
        return secret

    return _token_for


@pytest.fixture
def token_as(create_staff: Callable[..., Staff], token_for: Callable[[Staff | LocalAdmin], str]) -> Callable[..., str]:
    """``token_as(role, unit=None)``: a bearer token of a new person holding ``role`` (as in ``client_as``)."""

    def _token_as(role: str, unit: Unit | None = None, **person: Any) -> str:
        return token_for(create_staff(unit, role=role, **person))

    return _token_as


# -- meetings --------------------------------------------------------------------------------------------


@pytest.fixture
def create_point(db: Session, create_unit: Callable[..., Unit]) -> Callable[..., BridgePoint]:
    """``create_point(unit=None, name=None, contact="", …)``: a bridge point (điểm cầu), unique name by default."""

    def _create_point(
        unit: Unit | None = None,
        *,
        name: str | None = None,
        contact: str = "",
        location: str = "",
        capacity: int = 0,
        equipment: str = "",
        actor: Actor = SYSTEM,
    ) -> BridgePoint:
        from meetings.operations.points import create_bridge_point

        return create_bridge_point(
            db,
            actor,
            name=name or unique("Điểm cầu thử "),
            unit=unit or create_unit(),
            location=location,
            capacity=capacity,
            contact_email=contact,
            equipment=equipment,
        )

    return _create_point


@pytest.fixture
def create_meeting(db: Session, runtime: Runtime, create_point: Callable[..., BridgePoint]) -> Callable[..., Meeting]:
    """``create_meeting(points=None, start=None, end=None, *, title=…, actor=…, …)`` through ``book_meeting``.

    The first point hosts. ``start`` defaults to 08:00 local a week from now, ``end`` to an hour later; a new
    point hosts when none is given. The other keywords are ``book()``'s: the title, the actor, and any field of
    the booking form (``invitees``, ``agenda``, ``buffer_minutes``, ``recurrence``…). Returns the meeting (the
    first occurrence of a series).
    """

    def _create_meeting(
        points: Sequence[BridgePoint] | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        **fields: Any,
    ) -> Meeting:
        env = runtime.meeting_env
        points = list(points) if points else [create_point()]
        if start is None:
            week = dt.datetime.now(env.tz) + dt.timedelta(days=7)
            start = week.replace(hour=8, minute=0, second=0, microsecond=0)
        return book(db, env, [p.id for p in points], start, end, **fields)

    return _create_meeting


def book(
    session: Session,
    env: Any,
    point_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime | None = None,
    *,
    title: str = "Họp thử nghiệm",
    actor: Actor = SYSTEM,
    **draft: Any,
) -> Meeting:
    """A meeting booked through ``book_meeting`` in ``session``: the first point hosts, the others join, ``end``
    an hour after ``start`` unless given; ``draft`` holds the other fields of the form (``invitees``,
    ``buffer_minutes``…). ``create_meeting`` is this in the test's transaction; a test with a database or a
    thread of its own calls it with its own session."""
    from meetings.operations.bookings import MeetingDraft, book_meeting

    made = MeetingDraft(
        title=title,
        starts_at=start,
        ends_at=end or start + dt.timedelta(hours=1),
        host_point_id=point_ids[0],
        point_ids=list(point_ids[1:]),
        **draft,
    )
    return book_meeting(session, actor, env, made)[0]
