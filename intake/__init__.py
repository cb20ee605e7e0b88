"""intake: a worker-voice SMS hotline for labour-rights monitoring."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, abort, current_app, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import configure_mappers
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from intake import db
from intake.config import Config

log = logging.getLogger(__name__)


class IntakeFlask(Flask):
    """Flask, logging unhandled errors without their messages, which may quote a worker."""

    def log_exception(self, exc_info: Any) -> None:
        _kind, error, trace = exc_info
        frames = "".join(traceback.format_list(traceback.extract_tb(trace)))
        self.logger.error("unhandled %s\n%s", type(error).__name__, frames)


def create_app(test_config: Config | Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, database, analysis, blueprints and error pages."""
    if isinstance(test_config, Config):
        config = test_config
    else:
        config = Config.from_env(overrides=test_config)
    app = IntakeFlask(__name__, instance_relative_config=True)
    app.config.update(
        INTAKE=config,
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=config.max_body_bytes,
    )
    logging.getLogger("intake").setLevel(config.log_level)
    if config.proxy_hops:
        # The client's address (sign-in throttle) and scheme (secure cookies) as the proxy saw
        # them. The webhook's signature is checked against INTAKE_PUBLIC_URL, not these.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops
        )
    db.init_app(app, config.database_url, config.database_timeout)

    from intake import admin
    from intake.i18n import require_catalogs
    from intake.mail import Mailer
    from intake.pipeline.escalate import Escalator
    from intake.pipeline.hotline import Hotline
    from intake.sms.views import bp as sms_bp

    # The models' mappers configure themselves on first use: a quarter second the first SMS
    # would wait for. Done here (no database needed), before gunicorn forks.
    configure_mappers()
    # Without its catalog a Thai worker would be answered in English: refuse to start instead.
    require_catalogs(config.languages, "messages")
    require_catalogs(admin.LANGUAGES, "admin")
    escalator = Escalator(db.sessions(app), Mailer.from_config(config))
    app.extensions["intake.hotline"] = Hotline(config, escalator=escalator)
    # `intake worker` retries alert mails an SMTP outage held back.
    app.extensions.setdefault("intake.sweeps", []).append(escalator.sweep)
    app.register_blueprint(sms_bp)
    admin.init_app(app, config)
    app.before_request(_bound_streamed_body)
    app.add_url_rule("/healthz", "healthz", _healthz)
    app.register_error_handler(HTTPException, _http_error)
    # Any database failure: nothing was committed, so Twilio (and its fallback URL) may retry.
    app.register_error_handler(DBAPIError, _database_unavailable)
    return app


def _bound_streamed_body() -> None:
    """Read a body sent without Content-Length (chunked) in full, or refuse it with 413."""
    environ = request.environ
    if request.content_length is not None or "wsgi.input_terminated" not in environ:
        return
    # Werkzeug stops reading a streamed body at MAX_CONTENT_LENGTH without an error: the form
    # would be parsed (and, signed over that prefix, stored) from the first 64 KB. Read one
    # byte past the limit to tell a body that ends there from one that goes on.
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    stream, body = environ["wsgi.input"], bytearray()
    while len(body) <= limit and (chunk := stream.read(limit + 1 - len(body))):
        body += chunk
    if len(body) > limit:
        abort(413)
    # From here on the body is an ordinary one with a length, as Content-Length would give.
    environ["wsgi.input"] = io.BytesIO(bytes(body))
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    del environ["wsgi.input_terminated"]


def _healthz() -> Response:
    with db.sessions()() as session:
        session.execute(text("SELECT 1"))
    return Response("ok\n", mimetype="text/plain")


def _http_error(error: HTTPException) -> Response:
    # Plain text: Twilio's debugger shows it, and nothing from the request is echoed back.
    return Response(
        f"{error.code} {error.name}: {error.description}\n",
        status=error.code,
        mimetype="text/plain",
    )


def _database_unavailable(error: Exception) -> Response:
    log.error("database unavailable: %s", type(error).__name__)
    return Response(
        "503 Service Unavailable: the database cannot be reached; nothing was stored\n",
        status=503,
        mimetype="text/plain",
        headers={"Retry-After": "30"},
    )
