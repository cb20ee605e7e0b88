"""The Twilio REST client, pointed at the configured API base and kept quiet in the logs."""

from __future__ import annotations

import enum
import logging
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from intake.config import TWILIO_API_BASE, Config

log = logging.getLogger(__name__)
# urllib3 logs each request line at DEBUG, query string included: a lookup by To= would put
# a worker's number in the logs of anyone who turns DEBUG on.
logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)

# Twilio statuses in the order a message moves through them; the last ones are final.
DELIVERY_ORDER = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}


# twilio ships no type hints, hence the ignore.
class _HttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Twilio's own HTTP client, sending to `base` and logging no number or text.

    The library logs query parameters (a list by `To=` names a worker's number) at INFO;
    these overrides log the method and path only. The last response's headers are kept so
    the worker can honour Retry-After, which TwilioRestException does not carry.
    """

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base = base.rstrip("/")
        self.last_headers: dict[str, str] = {}

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._base != TWILIO_API_BASE and url.startswith(TWILIO_API_BASE):
            url = self._base + url[len(TWILIO_API_BASE) :]
        self.last_headers = {}
        response = super().request(method, url, *args, **kwargs)
        self.last_headers = dict(response.headers or {})
        return response

    def log_request(self, kwargs: dict[str, Any]) -> None:
        log.debug("twilio %s %s", kwargs["method"], str(kwargs["url"]).split("?", 1)[0])

    def log_response(self, status_code: int, response: Any) -> None:
        log.debug("twilio answered %d", status_code)


class Twilio:
    """One REST client per worker (not shared across threads: it remembers the last answer)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.http = _HttpClient(config.twilio_api_base, config.twilio_timeout)
        self.client = Client(
            config.twilio_account_sid or None,
            config.twilio_auth_token or None,
            http_client=self.http,
        )

    def retry_after(self) -> float | None:
        """Seconds the last answer asked us to wait (Retry-After), if it said."""
        value = {k.lower(): v for k, v in self.http.last_headers.items()}.get("retry-after")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:
            return None


class Failure(enum.Enum):
    """What a failed create tells us about whether Twilio has the message."""

    REFUSED = "refused"  # a 4xx: not created, and trying again will not help
    RATE_LIMITED = "rate_limited"  # 429: not created; try again after Retry-After
    UNKNOWN = "unknown"  # 5xx, timeout, broken connection: it may have been created


def classify(error: Exception) -> Failure:
    """Whether a failed create may have sent the message, and whether to try again."""
    if isinstance(error, TwilioRestException):
        if error.status == 429:
            return Failure.RATE_LIMITED
        if error.status < 500:
            return Failure.REFUSED
    return Failure.UNKNOWN


def short_error(error: Exception) -> str:
    """An error a monitor may see: status and Twilio's code, never the URL (it names a SID)."""
    if isinstance(error, TwilioRestException):
        code = f" error {error.code}" if error.code else ""
        return f"Twilio HTTP {error.status}{code}"
    return type(error).__name__
