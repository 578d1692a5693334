"""The request's context: the runtime of the app that serves it, its one unit of work through the boundary,
and the language it is answered in. Views, the API and the sign-in pages import from here."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, session
from sqlalchemy.orm import Session

from admin_app.runtime import Runtime
from core.boundary import UnitOfWork
from core.db import READ_ONLY

LANGUAGES = ("vi", "en")


def select_locale() -> str:
    lang = session.get("lang")
    if lang in LANGUAGES:
        return lang
    return runtime_of().settings.default_locale


def runtime_of() -> Runtime:
    return current_app.extensions["congvu"]


def db() -> Session:
    """The request's session: one unit of work through the boundary, committed once after the view unless
    the response is an error; what it recorded (directory jobs, mail) is applied right after the commit."""
    if "uow" not in g:
        g.uow = runtime_of().boundary.begin("request")
    return g.uow.session


def mark_read_only() -> None:
    g.read_only_token = READ_ONLY.set(request.method in ("GET", "HEAD", "OPTIONS"))


def finish_unit_of_work(response: Any) -> Any:
    work: UnitOfWork | None = g.pop("uow", None)
    if work is None:
        return response
    if response.status_code < 400 or g.get("commit_on_error"):
        work.commit()
    else:
        work.rollback()
    return response


def close_session(exc: BaseException | None) -> None:
    token = g.pop("read_only_token", None)
    if token is not None:
        READ_ONLY.reset(token)
    work: UnitOfWork | None = g.pop("uow", None)
    if work is not None:  # the view raised: nothing it did is kept or applied
        work.rollback()
