"""An address a domain change (or a reorganisation) replaces stays as an alias for CONGVU_REORG_ALIAS_DAYS: mail to it
arrives and it signs in — console, IMAP, POP3, SMTP submission — as the same mailbox, through the real slapd,
Dovecot and Postfix. Then the expiry job takes it out of the directory: it no longer signs in nor reaches the
person, and nobody else is ever given it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.policy
import imaplib
import io
import poplib
import shutil
import smtplib
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.jobs import execute
from admin_app.runtime import Runtime
from audit.models import LastSeen, UsageDay
from core.actors import SYSTEM
from core.db import utcnow
from core.tabular import read_table
from provisioning.directory import Directory
from provisioning.entries import staff_dn
from provisioning.importing import preview
from provisioning.models import MailAlias, Staff, Unit
from provisioning.operations import address_in_use
from provisioning.reconcile import find_drift
from provisioning.signin import SignInError, ThrottlePolicy, authenticate, check_allowed
from provisioning.units import change_mail_domain
from services.common import free_port
from services.dovecot import Dovecot
from services.postfix import Postfix
from tests.conftest_services import dovecot24, trixie_chroot  # noqa: F401  (fixtures: Debian 13's Dovecot 2.4)
from tests.factories import PASSWORD, sign_in
from tests.mail_helpers import imap_login, wait_for_mail

DELIVERY_TIMEOUT = 10.0


def _letters(n: int = 8) -> str:
    """A token of letters only (names take no digits), unique for the run: addresses no other test shares."""
    return uuid.uuid4().hex[:n].translate(str.maketrans("0123456789", "ghijklmnop"))


@dataclasses.dataclass
class Moved:
    unit: Unit
    person: Staff
    old: str
    new: str
    name: str

    @property
    def alias(self) -> MailAlias:
        return next(a for a in self.person.aliases if a.address == self.old)


@pytest.fixture
def moved(
    db: Session,
    runtime: Runtime,
    create_unit: Callable[..., Unit],
    create_staff: Callable[..., Staff],
    commit_and_sync: Callable[[], Any],
) -> Moved:
    """A person who can sign in, whose district then moved to a mail domain of its own (through the verb)."""
    unit = create_unit(name="Huyện Thử Bí Danh", kind="district")
    name = f"Nguyễn Văn {_letters().capitalize()}"
    person = create_staff(unit, full_name=name, password=PASSWORD)
    old = person.email
    changed = change_mail_domain(
        db,
        SYSTEM,
        unit,
        f"{_letters(6)}.gialai.gov.vn",
        runtime.settings.mail_domain,
        alias_days=runtime.settings.reorg_alias_days,
    )
    commit_and_sync()
    assert changed == 1
    assert person.email != old
    return Moved(unit, person, old, person.email, name)


@pytest.fixture(scope="module")
def directory_postfix(services: Any) -> Iterator[Postfix]:
    """A second private Postfix that accepts only the directory's addresses, as a production host does."""
    config = dataclasses.replace(services.config, smtp_port=free_port(), submission_port=free_port())
    postfix = Postfix(
        config,
        services.root / f"strict-{config.smtp_port}",
        services.postfix_auth_socket,
        slapd=services.slapd,
        recipients="directory",
    )
    try:
        postfix.start()
        yield postfix
    finally:
        postfix.stop()
        shutil.rmtree(postfix.root, ignore_errors=True)


@dataclasses.dataclass
class Outside:
    """What a mail client and a browser reach: the session's Postfix (which takes any well-formed address) and
    Dovecot, a production-like Postfix that takes only the directory's addresses, the console; and the
    directory as an administrator reads it."""

    services: Any
    strict_postfix: Postfix
    directory: Directory
    base_dn: str
    app: Flask

    def entry(self, person: Staff) -> dict[str, list[str]]:
        return self.directory.read(staff_dn(person, self.base_dn), ["mail", "congvuMailAlias"])

    def send(self, to: str, subject: str) -> None:
        message = EmailMessage()
        message["From"] = "vanphong@gialai.gov.vn"
        message["To"] = to
        message["Subject"] = subject
        message.set_content("Kính gửi đồng chí.")
        with smtplib.SMTP("127.0.0.1", self.services.config.smtp_port, timeout=10) as smtp:
            assert smtp.send_message(message) == {}

    def rcpt_code(self, address: str) -> int:
        """What the production-like Postfix answers at RCPT TO for ``address`` (nothing is sent)."""
        with smtplib.SMTP("127.0.0.1", self.strict_postfix.config.smtp_port, timeout=10) as smtp:
            smtp.ehlo()
            smtp.mail("vanphong@gialai.gov.vn")
            code, _ = smtp.rcpt(address)
            smtp.rset()
        return code

    def console(self) -> FlaskClient:
        """A browser that has not signed in yet."""
        return self.app.test_client()


@pytest.fixture
def outside(services: Any, directory_postfix: Postfix, directory: Directory, runtime: Runtime, app: Flask) -> Outside:
    return Outside(services, directory_postfix, directory, runtime.settings.ldap_base_dn, app)


def _imap_subjects(port: int, login: str, password: str = PASSWORD) -> list[str]:
    """Sign in to IMAP as ``login`` and list the INBOX's subjects (raises imaplib.IMAP4.error if refused)."""
    imap = imaplib.IMAP4("127.0.0.1", port)
    try:
        imap.login(login, password)
        imap.select("INBOX")
        _, data = imap.search(None, "ALL")
        subjects = []
        for number in data[0].split():
            _, parts = imap.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            header = BytesParser(policy=email.policy.default).parsebytes(parts[0][1])  # type: ignore[index, arg-type]
            subjects.append(str(header["Subject"]))
        return sorted(subjects)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, imaplib.IMAP4.abort):
            imap.logout()


def _wait_for_log(path: Path, needle: str, count: int) -> None:
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while path.read_text(errors="replace").count(needle) < count:
        assert time.monotonic() < deadline, f"{path.name} never logged {needle!r} {count} times"
        time.sleep(0.1)


def test_old_address_signs_in_and_receives_as_the_same_mailbox_and_its_logins_count(
    moved: Moved,
    db: Session,
    runtime: Runtime,
    services: Any,
    outside: Outside,
    client_as: Callable[..., Any],
    cli: Callable[..., Any],
) -> None:
    entry = outside.entry(moved.person)
    assert entry["mail"] == [moved.new]
    assert entry["congvuMailAlias"] == [moved.old]
    kept_until = moved.alias.expires_at
    assert kept_until is not None
    days = runtime.settings.reorg_alias_days
    assert utcnow() + dt.timedelta(days=days - 1) < kept_until <= utcnow() + dt.timedelta(days=days)

    # Mail to either address lands in the one mailbox; IMAP under the old address sees both.
    outside.send(moved.new, "Thư gửi địa chỉ mới")
    outside.send(moved.old, "Thư gửi địa chỉ cũ")
    assert len(wait_for_mail(services, moved.new, 2, DELIVERY_TIMEOUT)) == 2
    assert services.received(moved.old) == []
    imap_port = services.config.imap_port
    assert _imap_subjects(imap_port, moved.old) == ["Thư gửi địa chỉ cũ", "Thư gửi địa chỉ mới"]
    assert _imap_subjects(imap_port, moved.new) == ["Thư gửi địa chỉ cũ", "Thư gửi địa chỉ mới"]

    pop = poplib.POP3("127.0.0.1", services.config.pop3_port, timeout=10)
    pop.user(moved.old)
    pop.pass_(PASSWORD)
    assert pop.stat()[0] == 2
    pop.quit()

    with smtplib.SMTP("127.0.0.1", services.config.submission_port, timeout=20) as smtp:
        smtp.login(moved.old, PASSWORD)
        message = EmailMessage()
        message["From"] = moved.new
        message["To"] = moved.new
        message["Subject"] = "Gửi từ điện thoại cũ"
        message.set_content("Điện thoại vẫn dùng địa chỉ cũ.")
        assert smtp.send_message(message) == {}
    assert len(wait_for_mail(services, moved.new, 3, DELIVERY_TIMEOUT)) == 3

    # A host that accepts only the directory's addresses takes the alias too.
    assert outside.rcpt_code(moved.old) == 250
    assert outside.rcpt_code(moved.new) == 250
    assert outside.rcpt_code(f"{_letters()}@gialai.gov.vn") == 550

    # The console: signed in as the mailbox, not as some other account.
    console = outside.console()
    assert sign_in(console, moved.old, PASSWORD).status_code == 302
    # The header names the mailbox's owner by their full name (the address they signed in with on hover).
    header = f'class="who" title="{moved.person.email}">{moved.person.full_name}<'
    assert header in console.get("/").get_data(as_text=True)

    # The person's page says until when the old address works.
    page = client_as("system_admin").get(f"/staff/{moved.person.id}").get_data(as_text=True)
    assert moved.old in page
    assert kept_until.astimezone(runtime.settings.tz).strftime("%d/%m/%Y") in page

    # The usage report: Dovecot's lines of these sessions count for the mailbox.
    # Dovecot names the mailbox's own address in its log, whichever address signed in: 2 IMAP, 1 POP3 logins.
    _wait_for_log(services.dovecot_log_path, f": user=<{moved.new}>, method=", 3)
    result = cli(["logs", "ingest", str(services.dovecot_log_path)])
    assert result.exit_code == 0, result.output
    db.expire_all()
    days_used = db.scalars(select(UsageDay).where(UsageDay.staff_id == moved.person.id)).all()
    assert sum(d.imap_logins for d in days_used) == 2
    assert sum(d.pop3_logins for d in days_used) == 1
    assert db.get(LastSeen, (moved.person.id, "imap")) is not None


def test_an_alias_is_no_way_around_the_lockout_of_its_mailbox(moved: Moved, db: Session, runtime: Runtime) -> None:
    policy = ThrottlePolicy(max_failures=3)
    client = "198.51.100.7"
    for login in (moved.old, moved.new.upper(), moved.old):
        with pytest.raises(SignInError):
            authenticate(db, runtime.directory, login, PASSWORD + "-sai", policy, client)
    for login in (moved.new, moved.old):
        with pytest.raises(SignInError) as refused:
            check_allowed(db, login, client, policy)
        assert refused.value.reason == "locked"
    # Elsewhere the right password under the old address still signs in as the mailbox.
    actor = authenticate(db, runtime.directory, moved.old, PASSWORD, policy, "198.51.100.8")
    assert (actor.kind, actor.id) == ("staff", moved.person.id)


def test_after_the_alias_period_the_old_address_no_longer_signs_in_nor_reaches_the_person(
    moved: Moved, db: Session, runtime: Runtime, outside: Outside, client_as: Callable[..., Any]
) -> None:
    moved.alias.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.commit()
    run = execute(runtime, "aliases.expire")
    assert run.is_ok, run.message
    assert run.message.startswith("removed=")
    assert int(run.message.split("=")[1]) >= 1
    db.expire_all()
    assert moved.alias.removed_at is not None

    entry = outside.entry(moved.person)
    assert entry["mail"] == [moved.new]
    assert entry.get("congvuMailAlias", []) == []
    drifts = find_drift(db, runtime.directory, runtime.settings.ldap_base_dn)
    assert [d for d in drifts if d.object == f"staff {moved.person.id}"] == []

    # A production-like host refuses the old address at RCPT; the private one (which takes any well-formed
    # address, for the tests' made-up recipients) files it under the old address, where nobody can sign in.
    assert outside.rcpt_code(moved.old) == 550
    assert outside.rcpt_code(moved.new) == 250
    outside.send(moved.old, "Thư gửi địa chỉ đã hết hạn")
    assert len(wait_for_mail(outside.services, moved.old, 1, DELIVERY_TIMEOUT)) == 1
    assert outside.services.received(moved.new) == []
    imap_port = outside.services.config.imap_port
    assert _imap_subjects(imap_port, moved.new) == []

    # The person's page: the alias is shown as expired, with no button to give the address up.
    page = client_as("system_admin").get(f"/staff/{moved.person.id}").get_data(as_text=True)
    assert moved.old in page
    assert moved.alias.removed_at.astimezone(runtime.settings.tz).strftime("%d/%m/%Y") in page
    assert f'name="alias" value="{moved.old}"' not in page

    # Signing in with it is refused (last: Dovecot slows a client's next logins down after a refused one).
    assert sign_in(outside.console(), moved.old, PASSWORD).status_code == 401
    assert not imap_login(imap_port, moved.old, PASSWORD)
    # Nor does a wildcard match it: Dovecot escapes the name in its LDAP filter (so does the 2.4 test below).
    local, _, domain = moved.new.partition("@")
    assert not imap_login(imap_port, f"{local[:-1]}*@{domain}", PASSWORD)


def test_an_expired_address_is_never_given_to_anyone_else(
    moved: Moved, db: Session, runtime: Runtime, create_unit: Callable[..., Unit], cli: Callable[..., Any]
) -> None:
    moved.alias.expires_at = utcnow() - dt.timedelta(days=1)
    db.commit()
    result = cli(["aliases", "expire"])
    assert result.exit_code == 0, result.output
    assert "1 aliases expired" in result.output
    assert cli(["aliases", "expire"]).output.startswith("0 aliases expired")
    db.expire_all()
    assert moved.alias.removed_at is not None
    assert address_in_use(db, moved.old)

    # Someone of the same name in a unit of the old domain would get the old address: they get another.
    other_unit = create_unit(name="Phòng Thử Cấp Lại")
    db.commit()
    created = cli(["accounts", "create", "--unit", other_unit.code, "--name", moved.name])
    assert created.exit_code == 0, created.output
    given = next(line for line in created.output.splitlines() if "\t" in line).split("\t")[0]
    local, _, domain = moved.old.partition("@")
    assert given != moved.old
    assert given.endswith(f"@{domain}")
    assert given.startswith(local)
    # So does a staff list imported into that unit.
    rows = f"mã_cán_bộ,họ_và_tên,mã_đơn_vị\nT-ALIAS-{_letters()},{moved.name},\n".encode()
    planned = preview(db, SYSTEM, other_unit, read_table(io.BytesIO(rows), "ds.csv"), policy=runtime.mailbox_policy)
    assert planned.errors == []
    (sample,) = planned.samples
    assert sample["email"] != moved.old
    assert sample["email"].startswith(local)
    # Asking for it by name is refused.
    asked = cli(["accounts", "create", "--unit", other_unit.code, "--name", moved.name, "--address", local])
    assert asked.exit_code != 0
    assert moved.old in asked.output or local in asked.output


def test_dovecot_24_signs_the_old_address_in_as_the_mailbox(moved: Moved, dovecot24: Dovecot) -> None:
    assert _imap_subjects(dovecot24.imap_port, moved.old) == []
    local, _, domain = moved.new.partition("@")
    assert (dovecot24.mail_dir / domain / local).is_dir()  # the mailbox's own home, not one for the old address
    old_local, _, old_domain = moved.old.partition("@")
    assert not (dovecot24.mail_dir / old_domain / old_local).exists()
    assert not imap_login(dovecot24.imap_port, f"{old_local[:-1]}*@{old_domain}", PASSWORD)
