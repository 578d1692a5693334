"""The request's context: the runtime of the app that serves it, its one unit of work through the boundary,
and the language it is answered in. Views, the API and the sign-in pages import from here."""

from __future__ import annotations

from typing import Any

import flask_babel
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


def translations() -> Any:
    """The request's translations, as flask_babel.get_translations gives them, looked up once per request and
    locale: Flask-Babel looks them up again for every string (about 7 µs each; a report page asks for a hundred).
    A changed locale (flask_babel.force_locale, refresh) is a new locale object, so it looks up again."""
    ctx = g.get("_flask_babel")
    locale = getattr(ctx, "babel_locale", None)
    if locale is None:  # the request's first string: Flask-Babel selects the locale now
        return flask_babel.get_translations()
    held = getattr(ctx, "congvu_translations", None)
    if held is not None and held[0] is locale:
        return held[1]
    found = flask_babel.get_translations()
    ctx.congvu_translations = (locale, found)
    return found


def install_gettext(app: Any) -> None:
    """The templates' ``_``, ``ngettext``, ``pgettext`` and ``npgettext`` through :func:`translations`
    (Jinja's newstyle gettext as Flask-Babel installs it: autoescaped, with ``%`` variables)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )
