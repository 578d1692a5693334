"""The web console and JSON API. :func:`create_app` wires things up and does nothing else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from admin_app import context
from admin_app.runtime import Runtime
from config import load_settings
from core.validation import MAX_ID, InputError

csrf = CSRFProtect()


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in every route: an id beyond what the database holds is simply not found (404)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def create_app(overrides: Mapping[str, Any] | None = None, *, engine: Engine | None = None) -> Flask:
    """Build the Flask app from settings (defaults, instance file, ``CONGVU_*``, then ``overrides``)."""
    overrides = dict(overrides or {})
    instance_path = overrides.pop("instance_path", None)
    settings = load_settings(instance_path, overrides)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=True)
    app.url_map.converters["int"] = BoundedIntConverter
    trust_proxies(app, settings.trusted_proxies)
    runtime = Runtime(settings, engine)
    app.extensions["congvu"] = runtime
    app.config.update(
        SECRET_KEY=runtime.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        SESSION_COOKIE_NAME="congvu_session",
        # The cookie only carries the session's id; its row decides (idle and absolute lifetimes).
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_max_hours),
        WTF_CSRF_TIME_LIMIT=settings.session_max_hours * 3600,
        TESTING=settings.env == "testing",
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    csrf.init_app(app)
    Babel(app, locale_selector=context.select_locale, timezone_selector=lambda: settings.timezone)
    context.install_gettext(app)

    from admin_app import (
        accounts_views,
        api,
        auth,
        bulk_views,
        filters,
        ldif_views,
        meetings_views,
        my_views,
        people_views,
        reorg_views,
        reports_views,
        roles_views,
        second_factor_views,
        tasks_views,
        views,
    )

    filters.register(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(ldif_views.bp)
    app.register_blueprint(meetings_views.bp)
    app.register_blueprint(people_views.bp)
    app.register_blueprint(my_views.bp)
    app.register_blueprint(bulk_views.bp)
    app.register_blueprint(reports_views.bp)
    app.register_blueprint(tasks_views.bp)
    app.register_blueprint(second_factor_views.bp)
    app.register_blueprint(roles_views.bp)
    app.register_blueprint(reorg_views.bp)
    app.register_blueprint(meetings_views.events_bp)
    csrf.exempt(meetings_views.events_bp)  # Jitsi posts with a bearer token, never with the console's cookie
    csrf.exempt(api.bp)  # bearer tokens, not cookies: cross-site requests carry no credentials
    for code in (400, 401, 403, 404, 405, 413, 500):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(InputError, _input_error)
    app.before_request(context.mark_read_only)
    app.after_request(context.finish_unit_of_work)
    app.teardown_request(context.close_session)
    app.after_request(_security_headers)
    return app


def trust_proxies(app: Flask, count: int) -> None:
    """The client is the address ``count`` proxies back in X-Forwarded-For; without proxies, the socket's."""
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)  # type: ignore[method-assign]


def _error_page(exc: Exception) -> Any:
    from flask import jsonify, render_template
    from flask_babel import gettext as _
    from werkzeug.exceptions import HTTPException, InternalServerError, NotFound

    http = exc if isinstance(exc, HTTPException) else InternalServerError()
    if http.code == 405 and _names_an_impossible_id(request.path):
        http = NotFound()  # routing tried another method's rule first; no object has such an id
    code = http.code or 500
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": http.name.lower().replace(" ", "_"), "message": http.description}}), code
    titles = {
        400: _("Bad request"),
        401: _("Sign-in needed"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Not allowed"),
        413: _("File too large"),
        500: _("Server error"),
    }
    messages = {
        403: _("This page belongs to a unit outside your responsibility."),
        404: _("The page or object does not exist."),
    }
    return render_template(
        "error.html",
        code=code,
        title=titles.get(code, http.name),
        message=messages.get(code, http.description),
    ), code


def _names_an_impossible_id(path: str) -> bool:
    return any(part.isdigit() and int(part) > MAX_ID for part in path.split("/"))


def _input_error(exc: InputError) -> Any:
    """A query string or form value out of bounds: 400 naming the field, nothing written."""
    from flask import jsonify, render_template
    from flask_babel import gettext as _

    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": "bad_request", "message": str(exc)}}), 400
    return render_template("error.html", code=400, title=_("Bad request"), message=str(exc)), 400


def _security_headers(response: Any) -> Any:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
