"""Many mailboxes at once: a preview of exactly what will change, then a background task through the same verbs,
and for a password reset, credential slips — one PDF per unit, handed over once — whose passwords sign in."""

from __future__ import annotations

import contextlib
import imaplib
import io
import re
from typing import Any

from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from core.tasks import Task
from provisioning.models import AccountStatus, Staff
from tests.conftest import csrf_token

GIVEN = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Khánh", "Lan", "Minh", "Nga", "Oanh", "Phúc", "Quang"]
FAMILY = ["Nguyễn Văn", "Trần Thị", "Lê Quốc", "Phạm Minh", "Rơ Mah", "Siu Thị", "Đinh Văn"]


def _people(create_staff: Any, unit: Any, n: int) -> list[Staff]:
    return [
        create_staff(unit, full_name=f"{FAMILY[i % len(FAMILY)]} {GIVEN[i % len(GIVEN)]} Khôi{i}") for i in range(n)
    ]


def test_a_bulk_reset_of_25_gives_one_pdf_of_slips_whose_passwords_sign_in_once(
    db: Session, runtime: Runtime, services: Any, create_unit: Any, create_staff: Any, client_as: Any,
    commit_and_sync: Any,
) -> None:  # fmt: skip
    unit = create_unit(name="Xã Ia Hrú", kind="commune")
    people = _people(create_staff, unit, 25)
    commit_and_sync()
    worker = runtime.task_worker("test-bulk")
    admin = client_as("unit_admin", unit=unit)
    token = csrf_token(admin, "/staff")
    chosen = {"csrf_token": token, "action": "reset_password", "staff_id": [p.id for p in people]}
    preview = admin.post("/staff/bulk", data=chosen)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert page.count("đặt mật khẩu dùng một lần") == 25
    assert admin.post("/staff/bulk/apply", data=chosen).status_code == 400  # not confirmed: nothing queued
    queued = admin.post("/staff/bulk/apply", data=chosen | {"confirm": "yes"})
    assert queued.status_code == 302
    task_id = int(queued.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert worker.run_one(task_id) is not None
    db.expire_all()
    task = db.get(Task, task_id)
    assert task is not None
    assert task.status == "done", task.error
    assert task.result["changed"] == 25
    (slip_id,) = task.result["slips"]

    done = admin.get(f"/tasks/{task_id}", follow_redirects=True).get_data(as_text=True)
    assert f'action="/slips/{slip_id}.pdf"' in done
    answer = admin.post(f"/slips/{slip_id}.pdf", data={"csrf_token": token})
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    text_ = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages)
    passwords = re.findall(r"Mật khẩu dùng một lần:\s*(\S+)", text_)
    assert len(passwords) == 25
    for person in people:
        assert person.full_name in text_
        assert person.email in text_
    assert admin.post(f"/slips/{slip_id}.pdf", data={"csrf_token": token}).status_code == 410  # once only

    # Each password signs in to the real Dovecot (in the order the slips list them: by name).
    by_name = sorted(people, key=lambda p: p.full_name)
    emails = re.findall(r"Địa chỉ thư:\s*(\S+)", text_)
    assert emails == [p.email for p in by_name]
    for email, password in zip(emails, passwords, strict=True):
        imap = imaplib.IMAP4("127.0.0.1", services.config.imap_port)
        try:
            assert imap.login(email, password)[0] == "OK"
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, imaplib.IMAP4.abort):
                imap.logout()
    # The passwords are nowhere else: not in the change trail, nor in the task row.
    trail = " ".join(str(r) for r in db.execute(text("SELECT before, after FROM audit_entries")).all())
    tasks = " ".join(str(r) for r in db.execute(text("SELECT params, result FROM tasks")).all())
    for password in passwords:
        assert password not in trail
        assert password not in tasks


def test_a_bulk_disable_previews_who_changes_and_refuses_those_out_of_scope(
    db: Session, runtime: Runtime, create_unit: Any, create_staff: Any, client_as: Any, commit_and_sync: Any
) -> None:
    unit, other = create_unit(kind="commune"), create_unit(kind="commune")
    mine = _people(create_staff, unit, 3)
    mine[2].status = AccountStatus.DISABLED
    outsider = create_staff(other, full_name="Người Ở Xã Khác")
    commit_and_sync()
    admin = client_as("unit_admin", unit=unit)
    token = csrf_token(admin, "/staff")
    chosen = {"csrf_token": token, "action": "disable", "staff_id": [*(p.id for p in mine), outsider.id]}
    refused = admin.post("/staff/bulk", data=chosen)  # no reason given
    assert refused.status_code == 422
    page = admin.post("/staff/bulk", data=chosen | {"reason": "Nghỉ hưu"}).get_data(as_text=True)
    assert page.count("khóa: Nghỉ hưu") == 2
    assert "đã khóa" in page
    assert "ngoài phạm vi quản trị của bạn" in page
    queued = admin.post("/staff/bulk/apply", data=chosen | {"reason": "Nghỉ hưu", "confirm": "yes"})
    task_id = int(queued.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert runtime.task_worker("test-bulk").run_one(task_id) is not None
    db.expire_all()
    statuses = {p.id: db.get(Staff, p.id).status for p in [*mine, outsider]}  # type: ignore[union-attr]
    assert statuses == {
        mine[0].id: "disabled",
        mine[1].id: "disabled",
        mine[2].id: "disabled",
        outsider.id: "active",  # outside the admin's unit: untouched
    }
    assert admin.post("/staff/bulk", data={"csrf_token": token, "action": "x", "staff_id": "9" * 30}).status_code == 400
    assert admin.post("/staff/bulk", data={"action": "disable", "staff_id": mine[0].id}).status_code == 400  # no CSRF


def test_the_staff_list_filters_by_status_and_idle_days_and_shows_unit_and_last_sign_in(
    db: Session, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    unit = create_unit(name="Phường Diên Hồng", kind="commune")
    active, off = _people(create_staff, unit, 2)
    off.status = AccountStatus.DISABLED
    db.flush()
    admin = client_as("unit_admin", unit=unit)
    page = admin.get(f"/staff?unit={unit.id}&status=disabled").get_data(as_text=True)
    assert off.full_name in page
    assert active.full_name not in page
    page = admin.get(f"/staff?unit={unit.id}&idle=30&sort=given").get_data(as_text=True)
    assert "Phường Diên Hồng" in page
    assert active.full_name in page  # never signed in: inactive for any number of days
    assert admin.get("/staff?idle=abc").status_code == 400
    assert admin.get("/staff?idle=" + "9" * 40).status_code == 400
    assert admin.get(f"/staff?status=nonsense&unit={unit.id}").status_code == 200


def test_the_staff_list_sorts_in_vietnamese_order_by_given_name(
    db: Session, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    unit = create_unit(name="Xã Thứ Tự", kind="commune")
    for name in ("Phạm Văn Đức", "Trần Văn Ánh", "Hồ Dũng", "Lê Văn Ăn", "Nguyễn Thị An", "Võ Anh"):
        create_staff(unit, full_name=name)
    admin = client_as("system_admin")
    page = admin.get(f"/staff?unit={unit.id}&sort=given").get_data(as_text=True)
    shown = re.findall(r'href="/staff/\d+">([^<]+)</a>', page)
    assert shown == ["Nguyễn Thị An", "Võ Anh", "Trần Văn Ánh", "Lê Văn Ăn", "Hồ Dũng", "Phạm Văn Đức"]


def test_the_chosen_mailboxes_export_as_a_formula_safe_csv(
    db: Session, create_unit: Any, create_staff: Any, client_as: Any
) -> None:
    unit = create_unit(kind="commune")
    a = create_staff(unit, full_name="Nguyễn Văn Xuất", title="=HYPERLINK('http://x')")
    b = create_staff(unit, full_name="Trần Thị Khẩu")
    admin = client_as("unit_admin", unit=unit)
    token = csrf_token(admin, "/staff")
    answer = admin.post("/staff/bulk", data={"csrf_token": token, "action": "export", "staff_id": [a.id, b.id]})
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    text_ = answer.data.decode("utf-8-sig")
    assert "Nguyễn Văn Xuất" in text_
    assert "Trần Thị Khẩu" in text_
    assert ",=HYPERLINK" not in text_  # the formula guard applies
