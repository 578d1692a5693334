"""Reading what the private Postfix delivered and asking the private Dovecot who may sign in: delivery is
queued, so a test waits for it, boundedly."""

from __future__ import annotations

import contextlib
import imaplib
import time
from email.message import EmailMessage
from typing import Any


def wait_for_mail(services: Any, address: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
    """What ``address`` has received once ``count`` messages are there, or at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        got = services.received(address)
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def imap_login(port: int, address: str, password: str) -> bool:
    """Whether the Dovecot on ``port`` lets ``address`` sign in to IMAP with ``password``."""
    imap = imaplib.IMAP4("127.0.0.1", port)
    try:
        imap.login(address, password)
    except imaplib.IMAP4.error:
        return False
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, imaplib.IMAP4.abort):
            imap.logout()
    return True
