"""`congvu directory reconcile` finds what changed behind its back and `--apply` repairs it."""

import subprocess

from flask.cli import ScriptInfo
from sqlalchemy import select

from admin_app.cli import main
from core.actors import SYSTEM
from provisioning.entries import staff_dn
from provisioning.models import Unit
from provisioning.operations import StaffInput, create_staff


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def _ldapmodify(runtime, ldif: str) -> None:
    s = runtime.settings
    subprocess.run(
        ["ldapmodify", "-x", "-H", s.ldap_url, "-D", s.ldap_bind_dn, "-w", s.ldap_bind_password],
        input=ldif,
        text=True,
        check=True,
        capture_output=True,
    )


def test_reconcile_finds_an_ldapmodify_change_and_apply_repairs_it(app, db, runtime) -> None:
    unit = db.scalar(select(Unit).where(Unit.code == "SYT"))
    person = create_staff(
        db, SYSTEM, unit, StaffInput("Hiao Nhí", title="Chuyên viên", staff_number="T-REC-1"), "gialai.gov.vn"
    )
    db.commit()
    runtime.sync_directory()
    dn = staff_dn(person, runtime.settings.ldap_base_dn)
    _ldapmodify(
        runtime,
        f"dn: {dn}\nchangetype: modify\nreplace: title\ntitle: Giám đốc\n-\n"
        "replace: congvuMailStatus\ncongvuMailStatus: active\n",
    )
    _ldapmodify(runtime, f"dn: {dn}\nchangetype: modify\nreplace: congvuMailQuota\ncongvuMailQuota: 999999\n")

    report = _cli(app, "directory", "reconcile")
    assert report.exit_code == 2, report.output
    assert f"differs  {dn}: title is ['Giám đốc'], should be ['Chuyên viên']" in report.output
    assert "congvuMailQuota is ['999999']" in report.output
    assert runtime.directory.read(dn, ["title"])["title"] == ["Giám đốc"]  # dry run changed nothing

    repaired = _cli(app, "directory", "reconcile", "--apply")
    assert repaired.exit_code == 0, repaired.output
    assert "after repair: 0 drifts" in repaired.output
    assert runtime.directory.read(dn, ["title", "congvuMailQuota"]) == {
        "title": ["Chuyên viên"],
        "congvuMailQuota": [str(person.quota_mb)],
    }


def test_reconcile_reports_entries_missing_and_extra(app, db, runtime) -> None:
    unit = db.scalar(select(Unit).where(Unit.code == "SYT"))
    person = create_staff(db, SYSTEM, unit, StaffInput("Puih Bă", staff_number="T-REC-2"), "gialai.gov.vn")
    db.commit()
    runtime.sync_directory()
    base = runtime.settings.ldap_base_dn
    dn = staff_dn(person, base)
    _ldapmodify(runtime, f"dn: {dn}\nchangetype: delete\n")
    stray = f"uid=stray@gialai.gov.vn,ou=SYT,{base}"
    _ldapmodify(
        runtime,
        f"dn: {stray}\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: congvuMailbox\n"
        "cn: Stray\nsn: Stray\nmail: stray@gialai.gov.vn\ncongvuMailStatus: active\n",
    )
    report = _cli(app, "directory", "reconcile")
    assert f"missing  {dn.lower()}" in report.output
    assert f"extra    {stray}" in report.output
    repaired = _cli(app, "directory", "reconcile", "--apply")
    assert "after repair: 0 drifts" in repaired.output, repaired.output
    assert runtime.directory.read(stray, ["mail"]) is None
    assert runtime.directory.read(dn, ["mail"])["mail"] == [person.email]
