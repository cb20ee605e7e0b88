"""Sign-in in two steps (password, then TOTP), first-time TOTP enrolment, sign-out, language.

Every failed step is counted against the account (lockout) and the client address (429), both
in the database, so the limits hold however many hosts serve the pages.
"""

from __future__ import annotations

import time

import segno
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from intake import accounts, audit
from intake.admin import LANGUAGES, bp, hotline, settings
from intake.admin.access import EVERYONE, Viewer, roles, viewer
from intake.admin.forms import CodeForm, LanguageForm, LoginForm
from intake.admin.params import safe_next
from intake.db import get_session, write_transaction
from intake.models import User

# The password step must be followed by the code step within this many seconds.
PENDING_SECONDS = 300


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if request.args.get("expired"):
        flash(_("You were signed out after a period without activity."), "info")
    if form.validate_on_submit():
        db = get_session()
        client = _client()
        if accounts.address_blocked(db, settings(), client):
            abort(429)
        check = accounts.check_password(
            db, settings(), form.email.data or "", form.password.data or "", client=client
        )
        user = check.user
        if check.outcome is accounts.SignIn.OK and user is not None:
            session.clear()
            session["pending"] = {"user": user.id, "token": user.session_token, "at": time.time()}
            step = "admin.code" if user.totp_secret is not None else "admin.enrol"
            return redirect(url_for(step, next=_safe_next()))
        flash(_("Wrong e-mail or password, or the account is locked for a while."), "error")
    return render_template("admin/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def code() -> str | Response:
    form = CodeForm()
    if form.validate_on_submit():
        db = get_session()
        client = _client()
        if accounts.address_blocked(db, settings(), client):
            abort(429)
        with write_transaction(db):
            user = _pending_user(db)
            secret = accounts.totp_secret(user, hotline().keyring)
            if secret is None:
                abort(400)
            ok = not accounts.is_locked(user) and accounts.check_totp(
                db, user, secret, form.code.data or "", settings()
            )
            if ok:
                accounts.signed_in(db, user)
            else:
                accounts.address_failed(db, settings(), client)
                audit.record(db, "auth.refused", user_id=user.id, step="code")
        if ok:
            return _finish_sign_in(user)
        flash(_("That code did not work. Wait for a new one and try again."), "error")
    return render_template("admin/code.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"])
def enrol() -> str | Response:
    """First sign-in: the account gets its TOTP secret, shown once as a QR code."""
    db = get_session()
    user = _pending_user(db)
    if user.totp_secret is not None:
        return redirect(url_for("admin.code", next=_safe_next()))
    keyring = hotline().keyring
    if "enrol" not in session:
        session["enrol"] = keyring.encrypt_text(accounts.new_totp_secret()).decode()
    secret = keyring.decrypt_text(session["enrol"].encode())
    form = CodeForm()
    if form.validate_on_submit():
        with write_transaction(db):
            user = _pending_user(db)
            ok = accounts.check_totp(db, user, secret, form.code.data or "", settings())
            if ok:
                accounts.enrol_totp(user, secret, keyring)
                audit.record(db, "auth.totp_enrolled", user_id=user.id, target=user)
                accounts.signed_in(db, user)
        if ok:
            session.pop("enrol", None)
            return _finish_sign_in(user)
        flash(_("That code did not work. Wait for a new one and try again."), "error")
    qr = segno.make(accounts.provisioning_uri(secret, user), error="m")
    # segno writes the SVG itself from the secret: no user text reaches this markup.
    svg = Markup(qr.svg_inline(scale=5, title="TOTP"))  # noqa: S704
    return render_template("admin/enrol.html", form=form, qr=svg, secret=secret)


@bp.route("/logout", methods=["POST"])
@roles(*EVERYONE)
def logout() -> Response:
    db = get_session()
    with write_transaction(db):
        accounts.sign_out(db, viewer().user_id)
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


@bp.route("/language", methods=["POST"])
def language() -> Response:
    form = LanguageForm()
    form.locale.choices = list(LANGUAGES.items())
    if form.validate_on_submit() and form.locale.data in LANGUAGES:
        session["locale"] = form.locale.data
    return redirect(_safe_next() or url_for("admin.queue"))


def _pending_user(db: Session) -> User:
    pending = session.get("pending") or {}
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        session.pop("pending", None)
        abort(401)
    user = db.get(User, int(pending.get("user", 0)))
    # A sign-in half done when the account's sessions were ended (a new password, say) ends too.
    if user is None or not user.active or user.session_token != pending.get("token"):
        abort(401)
    return user


def _finish_sign_in(user: User) -> Response:
    target = _safe_next()
    session.clear()  # a fresh session: nothing from before the sign-in carries over
    login_user(Viewer.of(user))
    session["seen"] = time.time()
    return redirect(target or url_for("admin.queue"))


def _client() -> str:
    """The client's address as the throttle keeps it: a keyed hash, never the address.

    Behind a proxy this is the address the proxy saw, when INTAKE_PROXY_HOPS says to trust it.
    """
    return hotline().keyring.address_key(request.remote_addr or "?")


def _safe_next() -> str | None:
    # Only a path on this site: an open redirect would make phishing easy.
    return safe_next(request.args.get("next") or request.form.get("next"))

