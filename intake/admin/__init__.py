"""The monitors' workspace: sign-in, triage, reports, cases, reference data, audit log.

One blueprint; a module per section. Every route is guarded by `access.roles`.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from babel.support import NullTranslations
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import Babel, Domain, get_locale, gettext
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from intake.admin.access import Viewer
from intake.admin.params import IdConverter, refuse_nul
from intake.config import Config
from intake.db import get_session
from intake.i18n import Refusal, catalog
from intake.models import User
from intake.pipeline.hotline import Hotline

bp = Blueprint("admin", __name__, url_prefix="/admin")
LANGUAGES = {"en": "English", "zh": "中文", "th": "ไทย", "es": "Español"}

# Strict by default: no inline script or style, no framing, forms post only to us.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


login = LoginManager()
login.login_view = "admin.login"
login.session_protection = "strong"
csrf = CSRFProtect()


class AdminDomain(Domain):
    """Flask-Babel's domain, reading the committed .po files (see intake.i18n)."""

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        return catalog(str(locale) if locale else "en", "admin")


class AdminBabel(Babel):
    """Flask-Babel with the admin catalog compiled in memory rather than from .mo files."""

    @property
    def domain_instance(self) -> Domain:
        return ADMIN_DOMAIN


ADMIN_DOMAIN = AdminDomain(domain="admin")
babel = AdminBabel()


def init_app(app: Flask, config: Config) -> None:
    """Sessions, sign-in, CSRF, translations and security headers for the admin pages."""
    app.config.update(
        SESSION_COOKIE_SECURE=config.production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="intake_session",
        PERMANENT_SESSION_LIFETIME=config.session_idle,
        WTF_CSRF_TIME_LIMIT=None,  # the session's idle timeout bounds it
        # Only the admin pages take forms; Twilio's webhooks are signed instead.
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    login.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale, default_domain="admin")
    app.after_request(_security_headers)
    # Admin ids are bounded where they enter: "<int:...>" takes 1-10 ASCII digits up to the
    # database's integer range; 20 digits gave 500 on SQLite and 503 on PostgreSQL.
    app.url_map.converters["int"] = IdConverter
    app.register_blueprint(bp)


@login.user_loader
def _load_viewer(session_id: str) -> Viewer | None:
    # The cookie names "<account id>:<session token>" (Viewer.get_id); a token that is no
    # longer the account's means that session was ended: signed out, or its account changed.
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    db = get_session()
    user = db.scalar(select(User).where(User.id == int(user_id), User.active.is_(True)))
    db.commit()  # end the read; a view's write transaction begins afresh
    if user is None or user.totp_secret is None:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return Viewer.of(user)


def _locale() -> str:
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or "en"


@bp.before_request
def _idle_timeout() -> BaseResponse | None:
    now = time.time()
    idle = settings().session_idle.total_seconds()
    if current_user.is_authenticated and now - float(session.get("seen", 0)) > idle:
        logout_user()
        session.clear()
        return redirect(url_for("admin.login", expired=1))
    session["seen"] = now
    session.permanent = True
    return None


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin: Flask-WTF checks the Referer of HTTPS form posts; other sites see none.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.blueprint == "admin":
        # Reports must not linger in shared or browser caches.
        headers["Cache-Control"] = "no-store"
    if settings().production:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


@bp.before_request
def _csrf() -> None:
    csrf.protect()


bp.before_request(refuse_nul)


@bp.errorhandler(400)
def _bad_request(error: HTTPException) -> tuple[str, int]:
    # Inside the layout and translated; the plain-text answer is for Twilio's debugger.
    return render_template("admin/error.html"), 400


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    return {"languages": LANGUAGES, "current_locale": _locale()}


def refused(error: Refusal) -> None:
    """Tell the monitor, in their language, why a change was refused."""
    flash(gettext(error.message, **error.values), "error")


def settings() -> Config:
    """The app's configuration, for the admin views."""
    config: Config = current_app.config["INTAKE"]
    return config


def hotline() -> Hotline:
    """The app's hotline: its keyring, analysis and routing, for the admin views."""
    found: Hotline = current_app.extensions["intake.hotline"]
    return found


from intake.admin import (  # noqa: E402, F401  (the routes)
    auth,
    casework,
    exports,
    reference,
    reports,
    routing,
)
