"""`congvu directory reconcile` finds what changed behind its back and `--apply` repairs it."""

import subprocess

from provisioning.entries import staff_dn, unit_dn


def _ldapmodify(runtime, ldif: str) -> None:
    s = runtime.settings
    subprocess.run(
        ["ldapmodify", "-x", "-H", s.ldap_url, "-D", s.ldap_bind_dn, "-w", s.ldap_bind_password],
        input=ldif,
        text=True,
        check=True,
        capture_output=True,
    )


def test_reconcile_finds_an_ldapmodify_change_and_apply_repairs_it(
    runtime, cli, create_unit, create_staff, commit_and_sync
) -> None:
    unit = create_unit(name="Sở Y tế")
    person = create_staff(unit, full_name="Hiao Nhí", title="Chuyên viên", staff_number="T-REC-1")
    commit_and_sync()
    dn = staff_dn(person, runtime.settings.ldap_base_dn)
    _ldapmodify(
        runtime,
        f"dn: {dn}\nchangetype: modify\nreplace: title\ntitle: Giám đốc\n-\n"
        "replace: congvuMailStatus\ncongvuMailStatus: active\n",
    )
    _ldapmodify(runtime, f"dn: {dn}\nchangetype: modify\nreplace: congvuMailQuota\ncongvuMailQuota: 999999\n")

    report = cli(["directory", "reconcile"])
    assert report.exit_code == 2, report.output
    assert f"differs  {dn}: title is ['Giám đốc'], should be ['Chuyên viên']" in report.output
    assert "congvuMailQuota is ['999999']" in report.output
    assert runtime.directory.read(dn, ["title"])["title"] == ["Giám đốc"]  # dry run changed nothing

    repaired = cli(["directory", "reconcile", "--apply"])
    assert repaired.exit_code == 0, repaired.output
    assert "after repair: 0 drifts" in repaired.output
    assert runtime.directory.read(dn, ["title", "congvuMailQuota"]) == {
        "title": ["Chuyên viên"],
        "congvuMailQuota": [str(person.quota_mb)],
    }


def test_reconcile_reports_entries_missing_and_extra(runtime, cli, create_unit, create_staff, commit_and_sync) -> None:
    unit = create_unit(name="Sở Y tế")
    person = create_staff(unit, full_name="Puih Bă", staff_number="T-REC-2")
    commit_and_sync()
    base = runtime.settings.ldap_base_dn
    dn = staff_dn(person, base)
    _ldapmodify(runtime, f"dn: {dn}\nchangetype: delete\n")
    stray = f"uid=stray@gialai.gov.vn,{unit_dn(unit, base)}"
    _ldapmodify(
        runtime,
        f"dn: {stray}\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: congvuMailbox\n"
        "cn: Stray\nsn: Stray\nmail: stray@gialai.gov.vn\ncongvuMailStatus: active\n",
    )
    report = cli(["directory", "reconcile"])
    assert f"missing  {dn.lower()}" in report.output
    assert f"extra    {stray}" in report.output
    repaired = cli(["directory", "reconcile", "--apply"])
    assert "after repair: 0 drifts" in repaired.output, repaired.output
    assert runtime.directory.read(stray, ["mail"]) is None
    assert runtime.directory.read(dn, ["mail"])["mail"] == [person.email]
