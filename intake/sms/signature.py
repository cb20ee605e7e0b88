"""Only Twilio may post to the webhooks: every request must carry Twilio's signature."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Request, abort, current_app, request
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from intake.config import Config

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def signed_url(req: Request, public_url: str) -> str:
    """The URL as Twilio requested it: public base, path, and the query string undecoded."""
    # Flask's request.url decodes the query and, behind a TLS proxy, names the internal host;
    # either one breaks the signature.
    base = public_url.rstrip("/") if public_url else req.host_url.rstrip("/") + req.script_root
    query = req.query_string.decode("latin-1")
    return base + req.path + (f"?{query}" if query else "")


def twilio_signed(view: Callable[P, R]) -> Callable[P, R]:
    """Answer 403, and touch nothing, unless the request is signed with our Twilio token."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        config: Config = current_app.config["INTAKE"]
        signature = request.headers.get("X-Twilio-Signature")
        # RequestValidator crashes on a missing signature: refuse before asking it.
        if not signature:
            log.warning("webhook refused: no signature path=%s", request.path)
            abort(403, "missing X-Twilio-Signature")
        validator = RequestValidator(config.twilio_auth_token)
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        url = signed_url(request, config.public_url)
        if not validator.validate(url, request.form, signature, algorithm):
            log.warning("webhook refused: bad signature path=%s", request.path)
            abort(403, "invalid X-Twilio-Signature")
        account = request.form.get("AccountSid")
        if config.twilio_account_sid and account != config.twilio_account_sid:
            log.warning("webhook refused: other account path=%s", request.path)
            abort(403, "request is for another Twilio account")
        return view(*args, **kwargs)

    return guarded
