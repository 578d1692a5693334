"""Sign-in pages and the helpers every view uses to know and check the actor.

A console session is a row in the database (:mod:`provisioning.sessions`); the signed cookie carries only its
random id. Sign-in is the password, then — for role holders who have one, or must have one — the second
factor (:mod:`admin_app.second_factor_views`); only then is the session recorded.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.exc import OperationalError
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from admin_app.context import db, runtime_of
from core.actors import Actor
from provisioning import sessions as console_sessions
from provisioning.directory import DirectoryUnavailable
from provisioning.second_factor import has_second_factor
from provisioning.signin import SignInError, authenticate, principal_of, record_success, resolve_principal

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
# Between a right password and the second factor: how long the half-done sign-in may wait.
PENDING_SECONDS = 300


class SignInForm(FlaskForm):
    login = StringField("login", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=512)])


class EmptyForm(FlaskForm):
    """CSRF token only: for buttons that change something (sign out, language)."""


def client_address() -> str:
    # The socket's peer, or the address X-Forwarded-For names behind CONGVU_TRUSTED_PROXIES proxies
    # (werkzeug's ProxyFix, installed by create_app, has already put it here).
    return request.remote_addr or ""


def _principal_of_row(row: Any) -> str:
    return f"staff:{row.staff_id}" if row.staff_id is not None else f"local:{row.local_admin_id}"


def current_actor() -> Actor | None:
    """The signed-in actor: a live console session whose owner still exists and is active."""
    if "actor" not in g:
        g.actor = None
        token = session.get("sid")
        row = console_sessions.find_session(db(), token, runtime_of().session_policy) if token else None
        if row is not None:
            g.actor = resolve_principal(db(), _principal_of_row(row), client_address())
            g.console_session_id = row.id
            if g.actor is not None and console_sessions.needs_touch(row):
                _touch(row.id)
    return g.actor


def signed_in_actor() -> Actor:
    """The signed-in actor of a page that needs one (401 otherwise)."""
    actor = current_actor()
    if actor is None:
        abort(401)
    return actor


def _touch(session_id: int) -> None:
    """Restart the idle clock in a short transaction of its own, so page views stay read-only."""
    side = runtime_of().session_factory()
    try:
        console_sessions.touch(side, session_id)
        side.commit()
    except OperationalError:  # the database is busy: the next request tries again
        side.rollback()
    finally:
        side.close()


def needs_second_factor(actor: Actor) -> bool:
    """Role holders and the break-glass admin sign in with a second factor when it is required."""
    return actor.kind == "local" or bool(actor.roles)


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        actor = current_actor()
        if actor is None:
            session.pop("sid", None)
            return redirect(url_for("auth.login", next=request.full_path))
        if session.get("must_change"):
            return redirect(url_for("auth.change_password"))
        if runtime_of().settings.is_2fa_required and needs_second_factor(actor) and not has_second_factor(db(), actor):
            return redirect(url_for("second_factor.setup"))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def require_role(role: str) -> Callable[[F], F]:
    """The actor holds ``role`` somewhere; the view still checks the unit it touches."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if actor is None or not actor.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def safe_next(target: str | None) -> str:
    """Only a path on this console: whitespace and control characters are dropped first (a browser drops
    them too, so ``/\\t/evil.example`` would otherwise leave for ``//evil.example``)."""
    text = "".join(ch for ch in (target or "") if not ch.isspace() and unicodedata.category(ch)[0] != "C")
    parts = urlsplit(text)
    if (
        text.startswith("/")
        and not text.startswith("//")
        and "\\" not in text
        and not parts.scheme
        and not parts.netloc
        and len(text) <= 2000
    ):
        return text
    return url_for("console.dashboard")


def refusal_message(exc: SignInError) -> str:
    """What a refused sign-in says, in words a person can act on."""
    when = format_datetime(exc.locked_until, "HH:mm dd/MM/yyyy") if exc.locked_until else ""
    if exc.reason == "locked":
        return _(
            "Too many failed attempts for this account from your address. It is locked for you until %(time)s; "
            "signing in from elsewhere is not affected.",
            time=when,
        )
    if exc.reason == "client_locked":
        return _(
            "Too many failed sign-ins from your network address. Sign-in from this address is paused until "
            "%(time)s, whatever account you use.",
            time=when,
        )
    return _("Wrong address or password.")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        runtime = runtime_of()
        login_name = form.login.data or ""
        try:
            actor = authenticate(
                db(), runtime.directory, login_name, form.password.data or "", runtime.throttle_policy, client_address()
            )
        except SignInError as exc:
            g.commit_on_error = True  # the failure count must be kept even though we answer 401
            return render_template("login.html", form=form, error=refusal_message(exc)), 401
        except DirectoryUnavailable:
            error = _("The directory server cannot be reached. Try again shortly or use the local admin account.")
            return render_template("login.html", form=form, error=error), 503
        next_path = safe_next(request.args.get("next"))
        wants_factor = has_second_factor(db(), actor) or (
            runtime.settings.is_2fa_required and needs_second_factor(actor)
        )
        if wants_factor:
            session.clear()
            session["pending"] = {
                "principal": principal_of(actor),
                "login": login_name.strip().lower(),
                "at": int(time.time()),
                "next": next_path,
            }
            if has_second_factor(db(), actor):
                return redirect(url_for("second_factor.code"))
            return redirect(url_for("second_factor.setup"))
        return complete_sign_in(actor, login_name, next_path)
    return render_template("login.html", form=form, error=error)


def pending_sign_in() -> tuple[Actor, str, str] | None:
    """The half-done sign-in (right password, second factor still to come), if recent: (actor, login, next)."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    actor = resolve_principal(db(), str(pending.get("principal", "")), client_address())
    if actor is None:
        return None
    return actor, str(pending.get("login", "")), safe_next(str(pending.get("next", "")))


def complete_sign_in(actor: Actor, login_name: str, next_path: str, *, then: Any = None) -> Any:
    """Record the session, end the run of failures, and go on (``then``: a response to give instead)."""
    record_success(db(), login_name, client_address())
    token = console_sessions.start_session(db(), actor, client_address(), request.headers.get("User-Agent", "")[:300])
    session.clear()
    session["sid"] = token
    session.permanent = True
    g.pop("actor", None)
    if actor.kind == "staff" and _must_change(actor):
        session["must_change"] = True  # the next page asks for a new password
        return then if then is not None else redirect(url_for("auth.change_password"))
    if then is not None:
        return then
    flash(_("Signed in as %(name)s.", name=actor.name), "success")
    return redirect(next_path)


def _staff_dn(actor: Actor) -> str | None:
    from provisioning.entries import staff_dn
    from provisioning.models import Staff

    person = db().get(Staff, actor.id)
    return staff_dn(person, runtime_of().settings.ldap_base_dn) if person else None


def _must_change(actor: Actor) -> bool:
    dn = _staff_dn(actor)
    try:
        return bool(dn) and runtime_of().directory.must_change(dn)  # type: ignore[arg-type]
    except DirectoryUnavailable:
        return False


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField("old_password", validators=[DataRequired(), Length(max=512)])
    new_password = PasswordField("new_password", validators=[DataRequired(), Length(max=512)])
    repeat = PasswordField("repeat", validators=[DataRequired(), Length(max=512)])


@bp.route("/password", methods=["GET", "POST"])
def change_password() -> Any:
    """Change one's own password; required after a reset (ppolicy's must-change). Other sessions end."""
    from core import changelog
    from provisioning.models import Staff
    from provisioning.passwords import WeakPasswordError, check_password

    actor = current_actor()
    if actor is None or actor.kind != "staff":
        return redirect(url_for("auth.login"))
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        person = db().get(Staff, actor.id)
        new = form.new_password.data or ""
        try:
            if new != form.repeat.data:
                raise WeakPasswordError(_("The two new passwords differ."))
            check_password(
                new,
                min_length=runtime_of().settings.password_min_length,
                personal=(person.family_name, person.given_name, person.email.split("@")[0]),
            )
            if new == form.old_password.data:
                raise WeakPasswordError(_("Choose a password different from the current one."))
        except WeakPasswordError as exc:
            error = str(exc)
        else:
            dn = _staff_dn(actor)
            if dn and runtime_of().directory.change_own_password(dn, form.old_password.data or "", new):
                ended = console_sessions.end_sessions_of(
                    db(), staff_id=actor.id, reason="password_changed", keep_token=session.get("sid")
                )
                after = {"other_sessions_ended": ended}
                changelog.record_of(db(), actor, "staff.change_own_password", person, after=after)
                session.pop("must_change", None)
                flash(_("Password changed."), "success")
                return redirect(url_for("console.dashboard"))
            error = _("The current password is wrong.")
    status = 422 if error else 200
    return render_template(
        "password_change.html", form=form, error=error, must_change=session.get("must_change", False)
    ), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    form = EmptyForm()
    if form.validate_on_submit():
        token = session.get("sid")
        if token:
            console_sessions.end_session(db(), token)
        session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/logout/everywhere", methods=["POST"])
def logout_everywhere() -> Any:
    """End every console session of the signed-in person, this one included."""
    from provisioning.models import Staff

    form = EmptyForm()
    actor = current_actor()
    if form.validate_on_submit() and actor is not None:
        if actor.kind == "staff":
            console_sessions.sign_out_everywhere(db(), actor, db().get(Staff, actor.id))
        else:
            console_sessions.end_sessions_of(db(), local_admin_id=actor.id, reason="signed_out_everywhere")
        session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str) -> Any:
    form = EmptyForm()
    if form.validate_on_submit() and code in ("vi", "en"):
        session["lang"] = code
    return redirect(safe_next(request.form.get("next")))
