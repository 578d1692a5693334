"""Second-factor pages: the code after a right password, setting up TOTP (a QR code drawn here, never fetched
from elsewhere) and the recovery codes shown once. A wrong code counts as a failed sign-in."""

from __future__ import annotations

from typing import Any

import segno
from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from admin_app.auth import (
    SignInForm,
    client_address,
    complete_sign_in,
    current_actor,
    pending_sign_in,
    refusal_message,
)
from admin_app.context import db, runtime_of
from core.actors import Actor
from provisioning.errors import ProvisioningError
from provisioning.second_factor import enrol, has_second_factor, new_secret, provisioning_uri, verify_code
from provisioning.signin import SignInError, check_allowed, record_failure

bp = Blueprint("second_factor", __name__)


class CodeForm(FlaskForm):
    code = StringField("code", validators=[DataRequired(), Length(max=40)])


def _no_store(response: Any) -> Any:
    response = response if isinstance(response, Response) else Response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login/code", methods=["GET", "POST"])
def code() -> Any:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    pending = pending_sign_in()
    if pending is None:
        return redirect(url_for("auth.login"))
    actor, login_name, next_path = pending
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        runtime = runtime_of()
        try:
            check_allowed(db(), login_name, client_address(), runtime.throttle_policy)
        except SignInError as exc:
            session.pop("pending", None)
            g.commit_on_error = True
            return render_template("login_code.html", form=form, error=refusal_message(exc)), 401
        if verify_code(db(), actor, form.code.data or "", runtime.secret_key):
            return complete_sign_in(actor, login_name, next_path)
        record_failure(db(), login_name, client_address(), runtime.throttle_policy)
        g.commit_on_error = True  # the failure counts although the answer is 401
        error = _("Wrong code. Use the current code from your authenticator app, or an unused recovery code.")
        return render_template("login_code.html", form=form, error=error), 401
    return render_template("login_code.html", form=form, error=error)


def _qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)


def _setup_page(actor: Actor, form: CodeForm, error: str | None, status: int = 200) -> Any:
    secret = session.get("totp_secret")
    if not isinstance(secret, str) or len(secret) != 32:
        secret = new_secret()
        session["totp_secret"] = secret
    issuer = f"congvu {runtime_of().settings.province_name}"
    uri = provisioning_uri(secret, actor.name, issuer)
    page = render_template(
        "second_factor_setup.html", form=form, error=error, secret=secret, qr=_qr_data_uri(uri), actor=actor
    )
    return _no_store(Response(page, status=status))


@bp.route("/account/second-factor", methods=["GET", "POST"])
def setup() -> Any:
    """Set up TOTP: during a sign-in that needs it (the session starts once it works), or when signed in."""
    pending = pending_sign_in()
    actor = pending[0] if pending else current_actor()
    if actor is None or actor.kind not in ("staff", "local"):
        return redirect(url_for("auth.login"))
    if has_second_factor(db(), actor):
        if pending:
            return redirect(url_for("second_factor.code"))
        return render_template("second_factor_setup.html", actor=actor, done=True)
    form = CodeForm()
    if not form.validate_on_submit():
        return _setup_page(actor, form, None, 422 if request.method == "POST" else 200)
    runtime = runtime_of()
    login_name = pending[1] if pending else actor.name
    try:
        check_allowed(db(), login_name, client_address(), runtime.throttle_policy)
        codes = enrol(db(), actor, str(session.get("totp_secret", "")), form.code.data or "", runtime.secret_key)
    except SignInError as exc:
        session.pop("pending", None)
        g.commit_on_error = True
        return render_template("login.html", form=SignInForm(formdata=None), error=refusal_message(exc)), 401
    except ProvisioningError:
        record_failure(db(), login_name, client_address(), runtime.throttle_policy)
        g.commit_on_error = True
        return _setup_page(actor, form, _("Wrong code. Check the time on the phone and try again."), 401)
    session.pop("totp_secret", None)
    shown = _no_store(Response(render_template("recovery_codes.html", codes=codes)))
    if pending:
        return complete_sign_in(actor, login_name, pending[2], then=shown)
    return shown
