"""Simultaneous callers for concurrency tests: threads released together, as web workers or schedulers are."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_at_once(caller: Callable[[int], None], count: int, timeout: float = 120) -> None:
    """Run ``caller(0)`` … ``caller(count - 1)``, each in a thread of its own, all released by one barrier so
    they truly overlap; returns once every thread has finished (or ``timeout`` seconds each have passed)."""
    barrier = threading.Barrier(count)

    def released(n: int) -> None:
        barrier.wait()
        caller(n)

    threads = [threading.Thread(target=released, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
