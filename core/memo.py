"""Values worked out once per process from inputs that never change, such as a stored report version (a
snapshot is never changed once stored: audit.report_store), so that a page read over and over does not parse
or write the same thing each time.

A :class:`Memo` is bounded (the least recently used value goes first) and safe to share between a worker's
threads. What it holds is shared by every request that asks for the same key: values are frozen
(:func:`frozen`) so that no caller can change what the next one reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any


class Memo:
    """At most ``size`` values by key, each made once by the ``make`` of the first :meth:`get` that asks for it."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a memo holds at least one value")
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()  # outside the lock: two threads may both make a missing value; the last one is kept
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._values)


def frozen(value: Any) -> Any:
    """``value`` (JSON-shaped: dicts, lists, scalars) read-only all the way down: dicts as mapping proxies,
    lists as tuples. Reading it (``x["k"]``, ``x.get``, ``{**x}``, iterating, Jinja's ``x.k``) is unchanged."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    return value
