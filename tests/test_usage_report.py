"""Usage audit end to end: logs in → counters → the monthly report, with hand-computed figures."""

from __future__ import annotations

import datetime as dt
import gzip
import imaplib
import io
import os
import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from audit.events import Login
from audit.exports import to_csv, to_pdf, to_xlsx
from audit.ingest import ingest_file
from audit.models import UsageDay
from audit.parsing import parse_lines
from audit.report import Definitions, build_report, generate
from core.actors import SYSTEM
from provisioning import accounts
from provisioning.models import AccountKind, AccountStatus, Staff, StaffStatusChange, Unit, UnitKind
from provisioning.operations import StaffInput, create_staff, create_unit

DOMAIN = "thunghiem.gialai.gov.vn"
HOLIDAYS = frozenset({dt.date(2026, 12, 31), dt.date(2027, 1, 1)})


def _definitions(runtime: Runtime) -> Definitions:
    return Definitions(regular_days=10, holidays=HOLIDAYS, tz=runtime.settings.tz)


@pytest.fixture
def fixture_units(db: Session, province: Unit) -> dict[str, Any]:
    """Sở Thử nghiệm with Phòng A and Phòng B, and their mailboxes (one disabled before the month, one during it)."""
    root = province
    so = create_unit(
        db, SYSTEM, code="T-SO", name="Sở Thử nghiệm Đắk Đoa", kind=UnitKind.DEPARTMENT, parent=root, mail_domain=DOMAIN
    )
    a = create_unit(db, SYSTEM, code="T-SO-A", name="Phòng Ứng dụng – Ia Grai", kind=UnitKind.DEPARTMENT, parent=so)
    b = create_unit(db, SYSTEM, code="T-SO-B", name="Phòng Hạ tầng Chư Păh", kind=UnitKind.DEPARTMENT, parent=so)

    def person(unit: Unit, name: str, local: str, kind: str = AccountKind.PERSONAL) -> Staff:
        return create_staff(db, SYSTEM, unit, StaffInput(name, kind=kind, local_part=local), DOMAIN)

    people = {
        "an": person(a, "Nguyễn Văn An", "an"),
        "binh": person(a, "Trần Thị Bình", "binh"),
        "vanthu": person(a, "Văn thư Sở", "vanthu", AccountKind.FUNCTIONAL),
        "chau": person(b, "Ksor Châu", "chau"),
        "dung": person(b, "Rơ Mah Dung", "dung"),
        "eve": person(b, "Lê Thị Ê", "eve"),
    }
    accounts.disable(db, SYSTEM, people["eve"], "nghỉ việc")
    accounts.disable(db, SYSTEM, people["dung"], "chuyển công tác")
    db.flush()
    # When those changes happened, in the province's time: Ê left in November, Dung on 15 December.
    tz = dt.timezone(dt.timedelta(hours=7))
    for key, when in (
        ("eve", dt.datetime(2026, 11, 20, 9, tzinfo=tz)),
        ("dung", dt.datetime(2026, 12, 15, 16, tzinfo=tz)),
    ):
        change = db.scalar(select(StaffStatusChange).where(StaffStatusChange.staff_id == people[key].id))
        change.changed_at = when  # type: ignore[union-attr]
        people[key].created_at = dt.datetime(2026, 6, 1, tzinfo=tz)
    for key in ("an", "binh", "vanthu", "chau"):
        people[key].created_at = dt.datetime(2026, 6, 1, tzinfo=tz)
    db.commit()
    return {"so": so, "a": a, "b": b, **people}


WORKING_DEC = [
    d for d in (dt.date(2026, 12, 1) + dt.timedelta(days=i) for i in range(31)) if d.weekday() < 5 and d not in HOLIDAYS
]


def _dovecot_login(day: dt.date, hhmm: str, user: str, proto: str = "imap", n: int = 0) -> str:
    return (
        f"{day:%Y-%m-%d} {hhmm}:{n % 60:02d} {proto}-login: Info: Login: user=<{user}>, method=PLAIN, "
        f"rip=10.0.0.{n % 250}, lip=10.0.0.1, mpid={1000 + n}, secured, session=<S{n:08d}>"
    )


def _write_fixture_logs(folder: Path) -> dict[str, Path]:
    an, binh, chau, dung, vanthu = (f"{n}@{DOMAIN}" for n in ("an", "binh", "chau", "dung", "vanthu"))
    dovecot: list[str] = []
    for i, day in enumerate(WORKING_DEC[:12]):  # An: IMAP on 12 working days
        dovecot.append(_dovecot_login(day, "08:00", an, n=i))
        dovecot.append(
            f"{day:%Y-%m-%d} 08:30:00 imap({an})<{1000 + i}><S{i:08d}>: Info: Disconnected: Logged out in=320 "
            f"out=9000 deleted=0 expunged=0 trashed=0 hdr_count=3 hdr_bytes=900 body_count=2 body_bytes=8000"
        )
    for i, day in enumerate(WORKING_DEC[:10]):  # Dung: a phone polling POP3 on the 10 working days before leaving
        for k in range(3):
            dovecot.append(_dovecot_login(day, f"0{7 + k}:10", dung, "pop3", n=100 + i * 3 + k))
    for i, day in enumerate(WORKING_DEC[:5]):  # the functional mailbox: listed apart, not counted
        dovecot.append(_dovecot_login(day, "09:00", vanthu, n=200 + i))
    for k in range(5):  # a stale client or a guess: an address the directory does not know
        dovecot.append(
            f"2026-12-09 10:00:0{k} imap-login: Info: Disconnected: Aborted login by logging out (auth failed, 1 "
            f"attempts in 2 secs): user=<ghost@{DOMAIN}>, method=PLAIN, rip=203.0.113.9, lip=10.0.0.1, secured, "
            f"session=<G{k:07d}>"
        )
    dovecot.append("2026-12-09 10:00:09 imap-login: Info: Login: user=<broken")  # malformed: counted, not fatal
    dovecot.sort()

    # Postfix, classic syslog without a year, crossing New Year; the file was last written on 2 January.
    postfix = [
        "Dec 30 14:00:01 mail01 postfix/submission/smtpd[900]: 4A1B2C3D4E: "
        f"client=unknown[10.0.0.5], sasl_method=PLAIN, sasl_username={an}",
        f"Dec 30 14:00:02 mail01 postfix/qmgr[800]: 4A1B2C3D4E: from=<{an}>, size=2048, nrcpt=3 (queue active)",
        "Dec 30 14:00:03 mail01 postfix/qmgr[800]: 4A1B2C3D4E: removed",
        # Chau only receives mail: delivery is not use.
        "Dec 30 15:00:00 mail01 postfix/smtpd[901]: 5B2C3D4E5F: client=mx.example.vn[198.51.100.7]",
        "Dec 30 15:00:01 mail01 postfix/qmgr[800]: 5B2C3D4E5F: from=<someone@example.vn>, "
        "size=4000, nrcpt=1 (queue active)",
        f"Dec 30 15:00:02 mail01 postfix/virtual[902]: 5B2C3D4E5F: to=<{chau}>, "
        "relay=virtual, delay=0.1, status=sent (delivered to maildir)",
        "Dec 30 15:00:03 mail01 postfix/qmgr[800]: 5B2C3D4E5F: removed",
        # New Year's Day: belongs to January 2027, not to the report month (and not to January 2026).
        f"Jan  1 09:00:00 mail01 dovecot: imap-login: Login: user=<{binh}>, method=PLAIN, "
        "rip=10.0.0.8, lip=10.0.0.1, mpid=77, secured, session=<NY000001>",
        "Jan  2 07:59:00 mail01 CRON[1]: (root) CMD (run-parts /etc/cron.hourly)",
    ]
    # Binh: webmail on a Saturday, on the 31 December holiday and on one working day: active, not regular.
    roundcube = [
        "[05-Dec-2026 10:15:00 +0700]: <a1b2c3d4> Successful login "
        f"for {binh} (ID: 42) from 10.0.0.9 in session a1b2c3d4",
        "[16-Dec-2026 10:15:00 +0700]: <a1b2c3d5> Successful login "
        f"for {binh} (ID: 42) from 10.0.0.9 in session a1b2c3d5",
        "[31-Dec-2026 10:15:00 +0700]: <a1b2c3d6> Successful login "
        f"for {binh} (ID: 42) from 10.0.0.9 in session a1b2c3d6",
        "[17-Dec-2026 11:00:00 +0700]: <a1b2c3d7> Failed login for "
        f"{chau} from 10.0.0.10 in session a1b2c3d7 (error: 0)",
    ]
    paths = {
        "dovecot": folder / "dovecot.log",
        "mail": folder / "mail.log",
        "roundcube": folder / "userlogins.log",
    }
    for key, lines in (("dovecot", dovecot), ("mail", postfix), ("roundcube", roundcube)):
        paths[key].write_text("\n".join(lines) + "\n", encoding="utf-8")
    new_year = dt.datetime(2027, 1, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp()
    os.utime(paths["mail"], (new_year, new_year))
    return paths


def _ingest_all(runtime: Runtime, paths: list[Path]) -> None:
    for path in paths:
        ingest_file(runtime.session_factory, path, tz=runtime.settings.tz)


def _unit_row(report: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in report["units"] if r["code"] == code)


def test_fixture_month_gives_the_hand_computed_figures(
    db: Session, runtime: Runtime, fixture_units: dict[str, Any], tmp_path: Path
) -> None:
    paths = _write_fixture_logs(tmp_path)
    results = [ingest_file(runtime.session_factory, p, tz=runtime.settings.tz) for p in paths.values()]
    assert sum(r.malformed for r in results) == 1
    dovecot_result = results[0]
    assert dovecot_result.examples[0][1].endswith("user=<broken")

    report = build_report(db, "2026-12", _definitions(runtime))
    assert len(report["definitions"]["working_days"]) == 22  # 23 weekdays, 31 December a holiday
    so, a, b = (_unit_row(report, c)["subtree"] for c in ("T-SO", "T-SO-A", "T-SO-B"))
    # Counted: An, Bình, Châu, Dung (disabled mid-month); not Ê (left in November), not the functional box.
    assert {k: so[k] for k in ("counted", "active", "regular", "engaged")} == {
        "counted": 4,
        "active": 3,
        "regular": 2,
        "engaged": 1,
    }
    assert (so["active_share"], so["regular_share"], so["engaged_share"]) == (0.75, 0.5, 0.25)
    assert {k: a[k] for k in ("counted", "active", "regular", "engaged")} == {
        "counted": 2,
        "active": 2,
        "regular": 1,
        "engaged": 1,
    }
    assert {k: b[k] for k in ("counted", "active", "regular", "engaged")} == {
        "counted": 2,
        "active": 1,
        "regular": 1,
        "engaged": 0,
    }
    assert b["regular_share"] == 0.5
    inactive = {r["email"] for r in report["inactive"]}
    assert f"chau@{DOMAIN}" in inactive
    assert f"an@{DOMAIN}" not in inactive
    assert f"eve@{DOMAIN}" not in inactive
    assert report["other_accounts"].get("functional", 0) >= 1
    ghost = next(h for h in report["hotspots"]["unknown"] if h["address"] == f"ghost@{DOMAIN}")
    assert ghost["failed"] == 5
    assert any(h["email"] == f"chau@{DOMAIN}" and h["failed"] == 1 for h in report["hotspots"]["mailboxes"])
    # Channels of counted mailboxes: An 12 IMAP + 1 SMTP send, Dung 30 POP3, Bình 2 webmail logins in December.
    an_id = fixture_units["an"].id
    rows = db.scalars(select(UsageDay).where(UsageDay.staff_id == an_id)).all()
    assert sum(r.imap_logins for r in rows) == 12
    assert sum(r.sent_recipients for r in rows) == 3
    assert sum(r.fetched_bodies for r in rows) == 24
    binh_days = sorted(r.day for r in db.scalars(select(UsageDay).where(UsageDay.staff_id == fixture_units["binh"].id)))
    assert binh_days == [dt.date(2026, 12, 5), dt.date(2026, 12, 16), dt.date(2026, 12, 31), dt.date(2027, 1, 1)]

    january = build_report(db, "2027-01", _definitions(runtime))
    assert _unit_row(january, "T-SO")["subtree"]["active"] == 1  # Bình on New Year's Day
    assert _unit_row(january, "T-SO")["previous"]["active"] == 3


def test_ingesting_twice_or_rotated_plus_successor_counts_each_line_once(
    db: Session, runtime: Runtime, fixture_units: dict[str, Any], tmp_path: Path
) -> None:
    paths = _write_fixture_logs(tmp_path)
    dovecot = paths["dovecot"]
    lines = dovecot.read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(lines) // 2

    # First half written, read; then more lines appended and the file rotated and compressed; a new file starts.
    dovecot.write_text("".join(lines[:half]), encoding="utf-8")
    ingest_file(runtime.session_factory, dovecot, tz=runtime.settings.tz)
    ingest_file(runtime.session_factory, dovecot, tz=runtime.settings.tz)  # again: nothing new
    rotated = tmp_path / "dovecot.log.1.gz"
    with gzip.open(rotated, "wt", encoding="utf-8") as fh:
        fh.write("".join(lines[: half + 10]))
    dovecot.unlink()
    successor = tmp_path / "dovecot.log"
    successor.write_text("".join(lines[half + 10 :]), encoding="utf-8")
    for path in (rotated, successor, rotated, successor):
        ingest_file(runtime.session_factory, path, tz=runtime.settings.tz)
    _ingest_all(runtime, [paths["mail"], paths["roundcube"], paths["mail"]])
    twice = build_report(db, "2026-12", _definitions(runtime))
    assert {k: _unit_row(twice, "T-SO")["subtree"][k] for k in ("counted", "active", "regular", "engaged")} == {
        "counted": 4,
        "active": 3,
        "regular": 2,
        "engaged": 1,
    }
    an_rows = db.scalars(select(UsageDay).where(UsageDay.staff_id == fixture_units["an"].id)).all()
    assert sum(r.imap_logins for r in an_rows) == 12
    dung_rows = db.scalars(select(UsageDay).where(UsageDay.staff_id == fixture_units["dung"].id)).all()
    assert sum(r.pop3_logins for r in dung_rows) == 30


def test_exports_match_the_report_and_keep_vietnamese(
    db: Session, runtime: Runtime, fixture_units: dict[str, Any], tmp_path: Path
) -> None:
    _ingest_all(runtime, list(_write_fixture_logs(tmp_path).values()))
    snapshot = generate(db, SYSTEM, "2026-12", _definitions(runtime))
    again = generate(db, SYSTEM, "2026-12", _definitions(runtime))
    assert (snapshot.version, again.version) == (1, 2)
    data = snapshot.data
    workbook = openpyxl.load_workbook(io.BytesIO(to_xlsx(data)))
    sheet = workbook["Đơn vị"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "T-SO-B")
    figures = dict(zip(header, row, strict=True))
    subtree = _unit_row(data, "T-SO-B")["subtree"]
    assert figures["Đơn vị"].strip() == "Phòng Hạ tầng Chư Păh"
    assert (figures["Hộp thư tính"], figures["Hoạt động"], figures["Thường xuyên"], figures["Có gửi thư"]) == (
        2,
        1,
        1,
        0,
    )
    assert figures["Tỷ lệ thường xuyên (%)"] == round(subtree["regular_share"] * 100, 1) == 50.0
    summary = workbook["Tổng hợp"]
    assert any("ngày làm việc khác nhau" in str(c.value) for r in summary.iter_rows() for c in r)

    csv_text = to_csv(data).decode("utf-8-sig")
    assert "Sở Thử nghiệm Đắk Đoa" in csv_text
    assert "T-SO-A" in csv_text

    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(to_pdf(data)))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    for name in ("Sở Thử nghiệm Đắk Đoa", "Phòng Ứng dụng – Ia Grai", "Phòng Hạ tầng Chư Păh", "Thường xuyên"):
        assert name in text, name


def test_real_dovecot_login_counts_and_mere_delivery_does_not(
    db: Session, runtime: Runtime, services: Any, create_unit: Any
) -> None:
    unit = create_unit(name="Sở Thử nghiệm sử dụng")
    tag = uuid.uuid4().hex[:6]
    reader = create_staff(db, SYSTEM, unit, StaffInput("Siu Thanh", staff_number=f"T-USE-{tag}"), "gialai.gov.vn")
    receiver = create_staff(db, SYSTEM, unit, StaffInput("Nay Hlang", staff_number=f"T-RCV-{tag}"), "gialai.gov.vn")
    password = accounts.reset_password(db, SYSTEM, reader, secret_key=runtime.secret_key)
    db.commit()
    assert runtime.sync_directory().failed == 0

    imap = imaplib.IMAP4("127.0.0.1", services.config.imap_port)
    imap.login(reader.email, password)
    imap.select("INBOX")
    imap.logout()
    message = EmailMessage()
    message["From"] = "congvu@gialai.gov.vn"
    message["To"] = receiver.email
    message["Subject"] = "Thư chỉ để nhận"
    message.set_content("Nội dung")
    with smtplib.SMTP("127.0.0.1", services.config.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    deadline = time.monotonic() + 10
    while f"user=<{reader.email}>" not in services.dovecot_log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, "Dovecot did not log the login"
        time.sleep(0.1)
    while f"to=<{receiver.email}>" not in services.postfix_log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, "Postfix did not log the delivery"
        time.sleep(0.1)

    tz = runtime.settings.tz
    # The servers write the province's clock, whatever the machine's zone (CI runs in UTC): the login is read
    # back at the moment it happened, so a login at 00:30 in Gia Lai counts on that day, not the one before.
    now = dt.datetime.now(tz)
    logins = [
        event
        for event in parse_lines(
            services.dovecot_log_path.read_text(errors="replace").splitlines(), reference=now, tz=tz
        )
        if isinstance(event, Login) and event.address == reader.email
    ]
    assert logins
    assert abs((logins[-1].at - now).total_seconds()) < 120
    for path in (services.dovecot_log_path, services.postfix_log_path):
        result = ingest_file(runtime.session_factory, path, tz=tz)
        assert result.lines > 0
    today = dt.datetime.now(tz).date()
    day = db.get(UsageDay, (reader.id, today))
    assert day is not None
    assert day.imap_logins >= 1
    assert db.get(UsageDay, (receiver.id, today)) is None
    month = f"{today:%Y-%m}"
    report = build_report(db, month, Definitions(10, frozenset(), tz))
    inactive = {r["email"] for r in report["inactive"]}
    assert receiver.email in inactive
    assert reader.email not in inactive
    assert receiver.status == AccountStatus.ACTIVE


def test_follow_survives_rotation_and_truncation(
    db: Session, runtime: Runtime, fixture_units: dict[str, Any], tmp_path: Path
) -> None:
    """The scheduler's job: a log that is rotated (renamed, a new one started) or truncated in place
    (copytruncate) is read on, and every line is counted once."""
    from audit.ingest import follow

    an = f"an@{DOMAIN}"
    log = tmp_path / "dovecot.log"

    def logins(days: list[dt.date], n0: int) -> str:
        return "".join(_dovecot_login(d, "08:00", an, n=n0 + i) + "\n" for i, d in enumerate(days))

    def imap_total() -> int:
        db.expire_all()
        return sum(
            r.imap_logins for r in db.scalars(select(UsageDay).where(UsageDay.staff_id == fixture_units["an"].id))
        )

    tz = runtime.settings.tz
    log.write_text(logins(WORKING_DEC[0:3], 0), encoding="utf-8")
    follow(runtime.session_factory, [log], tz=tz)
    assert imap_total() == 3
    with log.open("a", encoding="utf-8") as fh:  # grows, then logrotate renames it and starts a new one
        fh.write(logins(WORKING_DEC[3:5], 3))
    log.rename(tmp_path / "dovecot.log.1")
    log.write_text(logins(WORKING_DEC[5:6], 5), encoding="utf-8")
    follow(runtime.session_factory, [log], tz=tz)
    follow(runtime.session_factory, [log], tz=tz)
    assert imap_total() == 6
    log.write_text("", encoding="utf-8")  # copytruncate: emptied in place, then written again
    follow(runtime.session_factory, [log], tz=tz)
    log.write_text(logins(WORKING_DEC[6:8], 6), encoding="utf-8")
    follow(runtime.session_factory, [log], tz=tz)
    assert imap_total() == 8
