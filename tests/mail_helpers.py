"""Reading what the private Postfix delivered: delivery is queued, so a test waits for it, boundedly."""

from __future__ import annotations

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
