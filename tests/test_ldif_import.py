"""Bringing in another province's accounts from an LDIF export, against the real slapd and Dovecot: the
preview names every entry not taken, the people sign in to Dovecot with their old passwords where the hash
is kept, the others get one-time passwords, and no password the import did not keep is stored anywhere."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import logging
import os
import re
import subprocess
import uuid

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text

from core.actors import SYSTEM
from core.changelog import ChangeEntry
from core.db import utcnow
from provisioning import ldif_tasks
from provisioning.errors import ProvisioningError
from provisioning.ldif import read_entries, redact_passwords
from provisioning.ldif_import import LdifRefused, apply, preview
from provisioning.models import DirectoryJob, ImportBatch, MailAlias, Staff
from provisioning.password_hashes import classify
from tests.factories import csrf_token
from tests.mail_helpers import imap_login

OLD = {  # the people's passwords in the other province's directory
    "ssha": "Binh-Dinh-Ssha-2019!",
    "crypt": "Quy-Nhon-Crypt-77#",
    "sha": "An-Nhon-Sha-1-2020?",
    "argon2": "Tay-Son-Argon-88%",
}
CLEARTEXT = "Cleartext-Tuy-Phuoc-31$"


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def _sha(password: str) -> str:
    return "{SHA}" + base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()


def _crypt(password: str) -> str:
    made = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return "{CRYPT}" + made.stdout.strip()


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def export(domain: str, tag: str) -> bytes:
    """An export of the kind slapcat writes: a unit, six people, one without mail, one address twice."""
    base = "ou=people,dc=binhdinh,dc=gov,dc=vn"
    crypt = _crypt(OLD["crypt"])
    return f"""version: 1
# Bình Định, exported for the merger

dn: {base}
objectClass: organizationalUnit
ou: people

dn: uid=binhtt,{base}
objectClass: top
objectClass: inetOrgPerson
cn: Trần Thị Bình
sn: Trần
givenName: Bình
mail: binh.{tag}@{domain}
employeeNumber: {tag}-1
title: Chuyên viên
telephoneNumber: 0256 3822 001
userPassword:: {_b64(_ssha(OLD["ssha"]))}

dn: uid=anhnv,{base}
changetype: add
objectClass: inetOrgPerson
cn:: {_b64("Nguyễn Văn Ánh")}
sn:: {_b64("Nguyễn")}
mail: anh.{tag}@{domain}
employeeNumber: {tag}-2
userPassword: {crypt[:30]}
 {crypt[30:]}

dn: uid=ksor,{base}
objectClass: inetOrgPerson
cn: Ksor Y Phước
sn: Ksor
mail: phuoc.{tag}@{domain}
userPassword: {_sha(OLD["sha"])}

dn: uid=siu,{base}
objectClass: inetOrgPerson
sn: Siu
givenName: H'Mai
mail: hmai.{tag}@{domain}
employeeNumber: {tag}-4
userPassword: {{ARGON2}}{PasswordHasher(time_cost=1, memory_cost=8192).hash(OLD["argon2"])}

dn: uid=nay,{base}
objectClass: inetOrgPerson
cn: Nay Blum
sn: Nay
mail: blum.{tag}@{domain}
userPassword: {CLEARTEXT}

dn: uid=nomail,{base}
objectClass: inetOrgPerson
cn: Rơ Châm H'Yao
sn: Rơ Châm

dn: uid=binh2,{base}
objectClass: inetOrgPerson
cn: Trần Thị Bình
sn: Trần
mail: BINH.{tag}@{domain}
userPassword: {_sha("another")}
""".encode()


@pytest.fixture
def binhdinh(create_unit):
    """The unit the people come into, with the other province's (test-unique) mail domain."""
    domain = f"{uuid.uuid4().hex[:8]}.binhdinh.gov.vn"
    return create_unit(name="Sở Nội vụ Bình Định (thử)", kind="department", mail_domain=domain), domain


def _run(worker, db, batch: ImportBatch) -> ImportBatch:
    assert worker.run_one(batch.task_id) is not None
    db.expire_all()
    return db.get(ImportBatch, batch.id)


def _stored_text(db) -> str:
    """Everything the change trail, the tasks, the uploads and the directory jobs hold, as text."""
    rows = []
    for table in ("audit_entries", "tasks", "directory_jobs", "import_batches"):
        for row in db.execute(text(f"SELECT * FROM {table}")):
            rows.append(" ".join(v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in row))
    return "\n".join(rows)


def test_preview_names_every_entry_not_taken_and_which_passwords_are_kept(db, runtime, binhdinh) -> None:
    unit, domain = binhdinh
    result = preview(db, SYSTEM, unit, read_entries(export(domain, "p")), runtime.mailbox_policy)
    assert (result.total, result.takes, result.unchanged, result.unreadable) == (8, 5, 0, 0)
    refused = {r.line: (r.code, r.dn) for r in result.refused}
    assert [code for code, _ in refused.values()] == ["not_person", "no_mail", "duplicate"]
    assert refused[4] == ("not_person", "ou=people,dc=binhdinh,dc=gov,dc=vn")
    duplicate = next(r for r in result.refused if r.code == "duplicate")
    assert f"binh.p@{domain}" in duplicate.message
    assert "line 14" in duplicate.message
    assert result.kept == {"SSHA": 1, "CRYPT": 1, "SHA": 1, "ARGON2": 1}
    assert [(p["email"], p["scheme"]) for p in result.one_time] == [(f"blum.p@{domain}", "cleartext")]
    names = {s["email"]: s["full_name"] for s in result.samples}
    assert names[f"anh.p@{domain}"] == "Nguyễn Văn Ánh"  # base64 cn with its diacritics
    assert names[f"hmai.p@{domain}"] == "Siu H'Mai"  # from sn and givenName, family name first
    assert db.scalar(select(func.count(Staff.id)).where(Staff.email.like(f"%@{domain}"))) == 0


def test_imported_people_sign_in_to_dovecot_with_their_old_passwords(
    db, runtime, services, directory, binhdinh, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    unit, domain = binhdinh
    content = export(domain, "s")
    worker = runtime.task_worker("test-ldif")
    batch = ldif_tasks.upload(db, SYSTEM, unit, "binhdinh.ldif", content)
    db.commit()
    batch = _run(worker, db, batch)
    assert batch.status == "previewed"
    assert batch.summary["takes"] == 5
    assert CLEARTEXT.encode() not in batch.content  # the upload is stored without it
    ldif_tasks.queue(db, SYSTEM, batch, do_apply=True, alias_days=runtime.settings.reorg_alias_days)
    db.commit()
    batch = _run(worker, db, batch)
    assert batch.status == "applied", batch.summary

    people = {p.email: p for p in db.scalars(select(Staff).where(Staff.email.like(f"%@{domain}")))}
    assert set(people) == {f"{n}.s@{domain}" for n in ("binh", "anh", "phuoc", "hmai", "blum")}
    assert people[f"binh.s@{domain}"].staff_number == "s-1"
    assert people[f"binh.s@{domain}"].title == "Chuyên viên"
    found = directory.search(
        runtime.settings.ldap_base_dn, f"(&(objectClass=congvuMailbox)(mail=*@{domain}))", ["mail", "cn"]
    )
    assert {a["mail"][0] for _, a in found} == set(people)
    assert any(a["cn"] == ["Nguyễn Văn Ánh"] for _, a in found)

    for name, scheme in (("binh", "ssha"), ("anh", "crypt"), ("phuoc", "sha"), ("hmai", "argon2")):
        assert imap_login(services.config.imap_port, f"{name}.s@{domain}", OLD[scheme]), scheme
        # Wrong passwords are asked of slapd directly: Dovecot slows down every login after a failed one.
        assert directory.check_password(f"{name}.s@{domain}", OLD[scheme] + "x") is None
    assert directory.check_password(f"blum.s@{domain}", CLEARTEXT) is None  # not kept: a one-time password instead
    handout = ldif_tasks.take_passwords(db, SYSTEM, batch, runtime.secret_key)
    db.commit()
    assert [address for address, _ in handout] == [f"blum.s@{domain}"]
    assert imap_login(services.config.imap_port, f"blum.s@{domain}", handout[0][1])
    assert ldif_tasks.take_passwords(db, SYSTEM, batch, runtime.secret_key) == []  # handed out once

    stored = _stored_text(db)
    assert CLEARTEXT not in stored
    assert CLEARTEXT not in caplog.text
    assert handout[0][1] not in stored  # nor the one-time password
    trail = " ".join(str(e.after) for e in db.scalars(select(ChangeEntry)))
    assert "{SSHA}" not in trail
    assert "$6$" not in trail
    assert "argon2id$" not in trail
    hash_jobs = db.scalars(select(DirectoryJob).where(DirectoryJob.action == "set_password_hash")).all()
    assert hash_jobs
    assert all(job.payload == {} for job in hash_jobs)
    assert "{SSHA}" not in stored
    assert "$6$" not in stored

    # The same file again: everyone is already here, nobody is created.
    again = ldif_tasks.upload(db, SYSTEM, unit, "binhdinh.ldif", content)
    db.commit()
    again = _run(worker, db, again)
    assert (again.summary["takes"], again.summary["unchanged"]) == (0, 5)
    ldif_tasks.queue(db, SYSTEM, again, do_apply=True)
    db.commit()
    staff_before = db.scalar(select(func.count(Staff.id)))
    again = _run(worker, db, again)
    assert again.status == "applied"
    assert db.scalar(select(func.count(Staff.id))) == staff_before
    assert imap_login(services.config.imap_port, f"binh.s@{domain}", OLD["ssha"])


def test_alias_mode_gives_a_new_address_and_keeps_the_old_one_as_an_alias(
    db, runtime, services, create_unit, commit_and_sync
) -> None:
    old_domain = f"{uuid.uuid4().hex[:8]}.binhdinh.gov.vn"
    new_domain = f"{uuid.uuid4().hex[:8]}.gialai.gov.vn"
    create_unit(name="Bình Định (cũ, thử)", mail_domain=old_domain)  # the old domain stays the province's
    unit = create_unit(name="Sở Nội vụ (thử)", mail_domain=new_domain)
    entries = list(read_entries(export(old_domain, "a")))
    result = apply(db, SYSTEM, unit, entries, runtime.mailbox_policy, addresses="alias", alias_days=30)
    commit_and_sync()
    assert result.takes == 5
    person = db.scalar(select(Staff).where(Staff.staff_number == "a-1"))
    assert person.email == f"binhtt@{new_domain}"  # by the installation's policy
    alias = db.scalar(select(MailAlias).where(MailAlias.address == f"binh.a@{old_domain}"))
    assert alias is not None
    assert alias.staff_id == person.id
    assert abs(alias.expires_at.replace(tzinfo=dt.UTC) - (utcnow() + dt.timedelta(days=30))) < dt.timedelta(hours=1)
    assert imap_login(services.config.imap_port, person.email, OLD["ssha"])
    again = preview(db, SYSTEM, unit, entries, runtime.mailbox_policy, addresses="alias")
    assert (again.takes, again.unchanged) == (0, 5)

    # Kept as primary addresses they would have to be in the unit's domain.
    outside = preview(db, SYSTEM, unit, read_entries(export(f"x{old_domain}", "o")), runtime.mailbox_policy)
    assert outside.takes == 0
    assert {r.code for r in outside.refused} >= {"outside_domain"}


def test_address_once_used_is_not_given_again(db, runtime, binhdinh, create_staff) -> None:
    unit, domain = binhdinh
    someone = create_staff(unit, full_name="Lê Văn Khác", local_part="phuoc.u")
    assert someone.email == f"phuoc.u@{domain}"
    result = preview(db, SYSTEM, unit, read_entries(export(domain, "u")), runtime.mailbox_policy)
    taken = [r for r in result.refused if r.code == "address_taken"]
    assert [r.dn for r in taken] == ["uid=ksor,ou=people,dc=binhdinh,dc=gov,dc=vn"]


def test_malformed_ldif_names_the_line_and_applies_nothing(db, runtime, binhdinh, cli, tmp_path) -> None:
    unit, domain = binhdinh
    content = export(domain, "m").replace(b"sn: Ksor\n", b"sn Ksor\n").replace(b"cn: Nay Blum", b"cn:: !!!")
    result = preview(db, SYSTEM, unit, read_entries(content), runtime.mailbox_policy)
    unreadable = {r.line: r.message for r in result.refused if r.code == "unreadable"}
    lines = content.decode().splitlines()
    assert set(unreadable) == {lines.index("sn Ksor") + 1, lines.index("cn:: !!!") + 1}
    assert "expected 'attribute: value'" in unreadable[lines.index("sn Ksor") + 1]
    with pytest.raises(LdifRefused, match=f"line {lines.index('sn Ksor') + 1}"):
        apply(db, SYSTEM, unit, read_entries(content), runtime.mailbox_policy)
    path = tmp_path / "hong.ldif"
    path.write_bytes(content)
    out = cli(["directory", "import-ldif", str(path), "--unit", unit.code, "--apply"])
    assert out.exit_code != 0
    assert f"line {lines.index('sn Ksor') + 1}" in out.output
    assert db.scalar(select(func.count(Staff.id)).where(Staff.email.like(f"%@{domain}"))) == 0

    batch = ldif_tasks.upload(db, SYSTEM, unit, "hong.ldif", content)
    db.commit()
    batch = _run(runtime.task_worker("test-ldif"), db, batch)
    assert batch.summary["unreadable"] == 2
    with pytest.raises(ProvisioningError, match="unreadable"):
        ldif_tasks.queue(db, SYSTEM, batch, do_apply=True)


def test_cli_preview_then_apply_prints_one_time_passwords_once(db, runtime, services, binhdinh, cli, tmp_path) -> None:
    unit, domain = binhdinh
    path = tmp_path / "binhdinh.ldif"
    path.write_bytes(export(domain, "c"))
    shown = cli(["directory", "import-ldif", str(path), "--unit", unit.code])
    assert shown.exit_code == 0, shown.output
    assert "bring in 5" in shown.output
    assert "not taken 3" in shown.output
    assert "preview only" in shown.output
    assert db.scalar(select(func.count(Staff.id)).where(Staff.email.like(f"%@{domain}"))) == 0
    done = cli(["directory", "import-ldif", str(path), "--unit", unit.code, "--apply"])
    assert done.exit_code == 0, done.output
    line = next(x for x in done.output.splitlines() if x.startswith(f"blum.c@{domain}\t"))
    assert imap_login(services.config.imap_port, f"blum.c@{domain}", line.split("\t")[1])
    assert imap_login(services.config.imap_port, f"anh.c@{domain}", OLD["crypt"])
    assert CLEARTEXT not in done.output


def test_which_hashes_are_kept() -> None:
    assert classify(_ssha("x")).is_kept
    assert classify(_sha("x")).is_kept
    assert classify(_crypt("x")).is_kept
    assert classify("{ARGON2}" + PasswordHasher(time_cost=1, memory_cost=8192).hash("x")).is_kept
    for value, scheme in (
        ("{MD5}CY9rzUYh03PK3k6DJie09g==", "MD5"),
        ("{SMD5}aGVsbG8gd29ybGQ=", "SMD5"),
        ("{PBKDF2-SHA512}10000$abc$def", "PBKDF2-SHA512"),
        ("{CRYPT}$1$abc$defghijklmnopqrstuvwx", "CRYPT"),  # MD5-crypt: broken
        ("{CRYPT}abJnggxhB/yWI", "CRYPT"),  # DES crypt
        ("{my}secret", "cleartext"),  # braces in a cleartext are not a scheme to repeat
        ("hunter2", "cleartext"),
    ):
        verdict = classify(value)
        assert (verdict.scheme, verdict.is_kept) == (scheme, False), value
    redacted = redact_passwords(b"dn: uid=a\nuserPassword: {my}secret\n  folded\nmail: a@b.vn\n")
    assert redacted == b"dn: uid=a\nuserPassword: {NOT-KEPT}cleartext\n#\nmail: a@b.vn\n"


def test_console_upload_preview_apply_and_passwords_once(client_as, db, runtime, services, binhdinh) -> None:
    unit, domain = binhdinh
    worker = runtime.task_worker("test-ldif-web")
    client = client_as("unit_admin", unit=unit)
    assert f"/units/{unit.id}/import-ldif" in client.get(f"/units/{unit.id}").get_data(as_text=True)
    token = csrf_token(client, f"/units/{unit.id}/import-ldif")
    response = client.post(
        f"/units/{unit.id}/import-ldif",
        data={"file": (io.BytesIO(export(domain, "w")), "binhdinh.ldif"), "addresses": "primary", "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page_url = response.headers["Location"]
    assert 'id="import-phase"' in client.get(page_url).get_data(as_text=True)
    batch = db.get(ImportBatch, int(page_url.rsplit("/", 1)[1]))
    assert worker.run_one(batch.task_id) is not None
    page = client.get(page_url).get_data(as_text=True)
    assert 'id="takes">5<' in page
    assert 'id="refused">3<' in page
    assert "Không có địa chỉ thư" in page  # the reason, in Vietnamese
    assert client.post(page_url + "/apply", data={"csrf_token": token, "confirm": "yes"}).status_code == 302
    db.expire_all()
    assert worker.run_one(db.get(ImportBatch, batch.id).task_id) is not None
    applied = client.get(page_url).get_data(as_text=True)
    assert 'id="take-passwords"' in applied
    shown = client.post(page_url + "/passwords", data={"csrf_token": token}).get_data(as_text=True)
    password = re.search(rf"<td>blum\.w@{re.escape(domain)}</td><td class=\"secret\">([^<]+)</td>", shown)
    assert password is not None
    assert imap_login(services.config.imap_port, f"blum.w@{domain}", html.unescape(password.group(1)))
    again = client.post(page_url + "/passwords", data={"csrf_token": token})
    assert again.status_code == 302  # handed out once
    assert 'id="take-passwords"' not in client.get(page_url).get_data(as_text=True)
