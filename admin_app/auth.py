"""Sign-in pages and the helpers every view uses to know and check the actor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from admin_app.context import db, runtime_of
from core.actors import Actor
from provisioning.directory import DirectoryUnavailable
from provisioning.signin import SignInError, authenticate, principal_of, resolve_principal

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


class SignInForm(FlaskForm):
    login = StringField("login", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=512)])


class EmptyForm(FlaskForm):
    """CSRF token only: for buttons that change something (sign out, language)."""


def client_address() -> str:
    return request.remote_addr or ""


def current_actor() -> Actor | None:
    if "actor" not in g:
        principal = session.get("principal")
        g.actor = resolve_principal(db(), principal, client_address()) if principal else None
    return g.actor


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_actor() is None:
            session.pop("principal", None)
            return redirect(url_for("auth.login", next=request.full_path))
        if session.get("must_change"):
            return redirect(url_for("auth.change_password"))
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


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link borrow our sign-in page.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        runtime = runtime_of()
        try:
            actor = authenticate(
                db(),
                runtime.directory,
                form.login.data or "",
                form.password.data or "",
                runtime.throttle_policy,
                client_address(),
            )
        except SignInError as exc:
            g.commit_on_error = True  # the failure count must be kept even though we answer 401
            if exc.reason == "locked" and exc.locked_until is not None:
                error = _(
                    "Too many failed attempts. This account is locked until %(time)s.",
                    time=format_datetime(exc.locked_until, "HH:mm dd/MM/yyyy"),
                )
            else:
                error = _("Wrong address or password.")
            return render_template("login.html", form=form, error=error), 401
        except DirectoryUnavailable:
            error = _("The directory server cannot be reached. Try again shortly or use the local admin account.")
            return render_template("login.html", form=form, error=error), 503
        session.clear()
        session["principal"] = principal_of(actor)
        if actor.kind == "staff" and _must_change(actor):
            session["must_change"] = True
            session.permanent = True
            return redirect(url_for("auth.change_password"))
        session.permanent = True
        flash(_("Signed in as %(name)s.", name=actor.name), "success")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form, error=error)


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
    """Change one's own password; required after a reset (ppolicy's must-change)."""
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
                changelog.record(
                    db(),
                    actor,
                    "staff.change_own_password",
                    "staff",
                    actor.id,
                    target_label=actor.name,
                    unit_id=person.unit_id,
                )
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
        session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str) -> Any:
    form = EmptyForm()
    if form.validate_on_submit() and code in ("vi", "en"):
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")))
