"""The private Postfix started by ``congvu services``: plain SMTP on loopback, submission authenticated by
Dovecot against slapd, delivery into per-address Maildirs and Postfix's own log in the state folder."""

from __future__ import annotations

import re
import smtplib
import time
import uuid
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from core.actors import SYSTEM
from provisioning import accounts
from provisioning.operations import StaffInput, create_staff
from tests.mail_helpers import wait_for_mail

DELIVERY_TIMEOUT = 10.0


def _log_size(services: Any) -> int:
    return services.postfix_log_path.stat().st_size


def _log_line(services: Any, pattern: str, since: int) -> str | None:
    """The first line of Postfix's log after byte ``since`` that matches ``pattern``, waiting up to the timeout."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        with services.postfix_log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode("utf-8", errors="replace")
        match = re.search(pattern, text, re.MULTILINE)
        if match or time.monotonic() > deadline:
            return match.group(0) if match else None
        time.sleep(0.1)


def _tail(services: Any) -> str:
    return services.postfix_log_path.read_text(encoding="utf-8", errors="replace")[-3000:]


@pytest.fixture
def mailbox_owner(db: Session, runtime: Runtime, create_unit: Any) -> tuple[str, str]:
    """A staff member with an active mailbox in the real slapd and a known password: (address, password)."""
    unit = create_unit(name="Sở Thử nghiệm thư")
    person = create_staff(
        db, SYSTEM, unit, StaffInput("Ksor Y Phước", staff_number=f"T-PF-{uuid.uuid4().hex[:8]}"), "gialai.gov.vn"
    )
    password = accounts.reset_password(db, SYSTEM, person, secret_key=runtime.secret_key)
    db.commit()
    result = runtime.sync_directory()
    assert not result.unavailable
    assert result.failed == 0, result
    assert person.email
    return person.email, password


def test_plain_smtp_delivers_to_the_recipients_maildir_with_a_vietnamese_subject(services: Any) -> None:
    address = "someone@example.gov.vn"
    before = len(services.received(address))
    tag = uuid.uuid4().hex[:8]
    subject = f"Giấy mời họp trực tuyến: Hội nghị sơ kết 6 tháng – Đắk Đoa, Ia Pa ({tag})"
    message = EmailMessage()
    message["From"] = "vanphong@gialai.gov.vn"
    message["To"] = address
    message["Subject"] = subject
    message.set_content("Kính gửi đồng chí, trân trọng kính mời dự họp.")
    with smtplib.SMTP("127.0.0.1", services.config.smtp_port, timeout=10) as smtp:
        refused = smtp.send_message(message)
    assert refused == {}

    got = wait_for_mail(services, address, before + 1, DELIVERY_TIMEOUT)
    assert len(got) == before + 1
    delivered = got[-1]
    assert delivered["Subject"] == subject
    assert delivered["Delivered-To"] == address
    assert "trân trọng kính mời" in delivered.get_content()
    # One Maildir per address, <state>/postfix/mail/<domain>/<localpart>/, nothing for anyone else.
    assert services.mailbox_path(address) == services.postfix_dir / "mail" / "example.gov.vn" / "someone"
    assert services.received(f"someone-else-{tag}@example.gov.vn") == []


def test_submission_authenticates_a_directory_account_and_delivers_to_two_recipients(
    services: Any, mailbox_owner: tuple[str, str]
) -> None:
    sender, password = mailbox_owner
    first, second = (f"{n}.{uuid.uuid4().hex[:8]}@gialai.gov.vn" for n in ("mot", "hai"))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"{first}, {second}"
    message["Subject"] = "Báo cáo tuần: chỉ số chuyển đổi số"
    message.set_content("Gửi hai đồng chí báo cáo tuần.")
    log_start = _log_size(services)
    with smtplib.SMTP("127.0.0.1", services.config.submission_port, timeout=20) as smtp:
        smtp.login(sender, password)
        refused = smtp.send_message(message)
    assert refused == {}

    for address in (first, second):
        (delivered,) = wait_for_mail(services, address, 1, DELIVERY_TIMEOUT)
        assert delivered["Subject"] == "Báo cáo tuần: chỉ số chuyển đổi số"
        assert delivered["From"] == sender

    # Postfix's own log in the state folder: who signed in, and the message queued for two recipients.
    escaped = re.escape(sender)
    auth = _log_line(
        services,
        rf"^.* postfix/submission/smtpd\[\d+\]: (?P<id>[0-9A-F]+): client=localhost\[127\.0\.0\.1\], "
        rf"sasl_method=PLAIN, sasl_username={escaped}$",
        log_start,
    )
    assert auth is not None, _tail(services)
    queue_id = re.search(r"\]: ([0-9A-F]+): client=", auth).group(1)  # type: ignore[union-attr]
    qmgr = _log_line(
        services,
        rf"^.* postfix/qmgr\[\d+\]: {queue_id}: from=<{escaped}>, size=\d+, nrcpt=2 \(queue active\)$",
        log_start,
    )
    assert qmgr is not None, _tail(services)


def test_submission_refuses_a_wrong_password(services: Any, mailbox_owner: tuple[str, str]) -> None:
    sender, password = mailbox_owner
    with smtplib.SMTP("127.0.0.1", services.config.submission_port, timeout=20) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(sender, password + "-sai")
        # Not signed in, submission relays nothing.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail(sender, ["ai.do@gialai.gov.vn"], b"Subject: x\r\n\r\nx\r\n")


def test_plain_smtp_port_does_not_offer_authentication(services: Any) -> None:
    with smtplib.SMTP("127.0.0.1", services.config.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
    with smtplib.SMTP("127.0.0.1", services.config.submission_port, timeout=10) as smtp:
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features.get("auth", "").upper()
