"""The demo province: in the database and in the real slapd, and its people can use their mailbox."""

import imaplib

from sqlalchemy import func, select

from meetings.models import BridgePoint
from provisioning.directory import Directory, DirectoryConfig
from provisioning.models import Staff, Unit
from tests.conftest import DEMO_STAFF


def _directory(runtime) -> Directory:
    s = runtime.settings
    return Directory(DirectoryConfig(s.ldap_url, s.ldap_base_dn, s.ldap_bind_dn, s.ldap_bind_password))


def test_demo_province_shape(db) -> None:
    assert db.scalar(select(func.count(Unit.id)).where(Unit.kind == "district")) == 17
    assert db.scalar(select(func.count(BridgePoint.id))) == 20
    assert 15 <= db.scalar(select(func.count(Unit.id)).where(Unit.kind == "department")) <= 25
    assert db.scalar(select(func.count(Staff.id))) >= DEMO_STAFF


def test_every_demo_mailbox_is_in_the_directory(db, runtime) -> None:
    directory = _directory(runtime)
    entries = directory.search(runtime.settings.ldap_base_dn, "(objectClass=congvuMailbox)", ["mail"])
    in_ldap = {attrs["mail"][0] for _, attrs in entries}
    in_db = set(db.scalars(select(Staff.email)))
    try:
        assert in_db <= in_ldap
        units = directory.search(runtime.settings.ldap_base_dn, "(objectClass=organizationalUnit)", ["congvuUnitCode"])
        assert len([u for u in units if u[1].get("congvuUnitCode")]) >= db.scalar(select(func.count(Unit.id))) - 1
    finally:
        directory.close()


def test_ethnic_names_get_sensible_addresses(db) -> None:
    jrai = db.scalars(
        select(Staff).where(Staff.family_name.in_(["Ksor", "Kpă", "Siu", "Nay", "Rơ Châm", "Rơ Mah"]))
    ).all()
    assert jrai, "the demo should contain Jrai names"
    for person in jrai:
        local = person.email.split("@")[0]
        assert local.isascii()
        assert local[0].isalpha()


def test_demo_login_reads_mail_over_imap(runtime, demo_logins, services) -> None:
    login = demo_logins["secretary"]
    imap = imaplib.IMAP4("127.0.0.1", services.config.imap_port)
    try:
        imap.login(login.login, login.password)
        status, _ = imap.select("INBOX")
        assert status == "OK"
    finally:
        imap.logout()


def test_demo_load_refuses_a_loaded_database(runtime) -> None:
    import pytest

    from demo.loader import DemoError, load_demo

    with pytest.raises(DemoError, match="already"):
        load_demo(runtime, staff_count=10)
