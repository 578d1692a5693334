"""A person's page: the last IMAP sign-in the real Dovecot logged (after ingestion), the 12-month strip, the
meetings they are invited to, the history of changes to them, and editing their name, title and phone."""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import re
import time
from typing import Any

from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from tests.conftest import csrf_token
from tests.factories import PASSWORD


def test_the_page_shows_the_last_imap_login_dovecot_logged_after_ingestion(
    db: Session, runtime: Runtime, services: Any, cli: Any, create_staff: Any, client_as: Any
) -> None:
    person = create_staff(full_name="Siu Thị Hồng", password=PASSWORD)
    admin = client_as("system_admin")
    before = admin.get(f"/staff/{person.id}").get_data(as_text=True)
    assert re.search(r'data-channel="imap"><span class="muted">[^<]+</span>', before)  # never, yet

    imap = imaplib.IMAP4("127.0.0.1", services.config.imap_port)
    try:
        imap.login(person.email, PASSWORD)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, imaplib.IMAP4.abort):
            imap.logout()
    needle = f"user=<{person.email}>"
    deadline = time.monotonic() + 10
    while needle not in services.dovecot_log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, "Dovecot never logged the login"
        time.sleep(0.1)
    result = cli(["logs", "ingest", str(services.dovecot_log_path)])
    assert result.exit_code == 0, result.output

    page = admin.get(f"/staff/{person.id}").get_data(as_text=True)
    cell = re.search(r'data-channel="imap">([^<]+)</td>', page)
    assert cell is not None, page
    today = dt.datetime.now(runtime.settings.tz).strftime("%d/%m/%Y")
    assert today in cell.group(1)  # dd/mm/yyyy hh:mm, the login of a moment ago
    strip = re.findall(r'<li title="[^"]*" class="level-(\d)"><span>[^<]*</span><b>(\d+)</b></li>', page)
    assert len(strip) == 12
    assert strip[-1][1] == "1"  # this month: one day with a sign-in


def test_the_page_shows_meetings_history_and_edits_name_title_and_phone(
    db: Session, create_staff: Any, client_as: Any, create_point: Any, create_meeting: Any
) -> None:
    person = create_staff(full_name="Nguyễn Văn Sửa", title="Chuyên viên")
    create_meeting([create_point()], title="Họp có người này", invitees=[(person.email, "")])
    admin = client_as("system_admin")
    page = admin.get(f"/staff/{person.id}").get_data(as_text=True)
    assert "Họp có người này" in page
    assert "staff.create" in page  # the history of changes to them

    token = csrf_token(admin, f"/staff/{person.id}")
    form = {"csrf_token": token, "verb": "edit", "full_name": "Nguyễn Văn Sửa Tên", "title": "Phó trưởng phòng"}
    answer = admin.post(f"/staff/{person.id}/action", data=form | {"phone": "0269 3822 111"})
    assert answer.status_code in (200, 302), answer.get_data(as_text=True)
    db.expire_all()
    assert (person.full_name, person.title, person.phone) == ("Nguyễn Văn Sửa Tên", "Phó trưởng phòng", "0269 3822 111")
    page = admin.get(f"/staff/{person.id}").get_data(as_text=True)
    assert "staff.update" in page
    bad = admin.post(f"/staff/{person.id}/action", data=form | {"full_name": "x\x00" * 300})
    assert bad.status_code in (200, 422)
    assert "Nguyễn Văn Sửa Tên" in admin.get(f"/staff/{person.id}").get_data(as_text=True)
    history = admin.get(f"/audit?staff={person.id}").get_data(as_text=True)
    assert "staff.update" in history
