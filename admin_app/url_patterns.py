"""Addresses of many rows of one kind (a meeting's page, a person's page) on one page: ``url_for`` once, the id written
into it for each row (``url_for`` costs about as much as rendering the row's cell)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import url_for

MARK = 987_654_321  # an id no table reaches, written into an address to be replaced


def addresses(endpoint: str, name: str, **args: Any) -> Callable[[int], str]:
    """``url_for(endpoint, name=id, **args)`` for many ids: built once, each id written where the mark was."""
    built = url_for(endpoint, **{name: MARK}, **args)
    if built.count(str(MARK)) != 1:  # the mark also stands elsewhere: build each one
        return lambda value: url_for(endpoint, **{name: value}, **args)
    before, after = built.split(str(MARK))
    return lambda value: f"{before}{value}{after}"
