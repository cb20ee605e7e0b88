"""A stand-in for Twilio's Messages REST API on loopback, for tests and benchmarks.

The twilio client is pointed at it with `Config.twilio_api_base` (INTAKE_TWILIO_API_BASE);
nothing is patched. It implements what intake calls:

    POST   /2010-04-01/Accounts/{AccountSid}/Messages.json          create (an outbound SMS)
    GET    /2010-04-01/Accounts/{AccountSid}/Messages.json          list (To, From, DateSent>,
                                                                      DateSent<, PageSize, Page)
    GET    /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json    fetch
    DELETE /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json    delete

Use it through the `standin` fixture (registered by tests/conftest.py):

    standin.plan("create", Outcome(status=500), Outcome(status=429, retry_after=2))
        the next two creates fail so; later ones succeed. Outcome(delay=5) answers slowly;
        Outcome(delay=30, accept=True) stores the message, then hangs (a lost answer).
    standin.add_inbound("text", sender="+66...", to=HOTLINE)   a message Twilio received
    standin.created      the messages created through the API, in order (dicts as Twilio's JSON)
    standin.requests     every request: Recorded(method, endpoint, form, query, account)
    standin.messages     every message it holds, by SID
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

API = "/2010-04-01/Accounts/"


@dataclass(frozen=True)
class Outcome:
    """How the stand-in answers one request: a status, after a delay, with Retry-After."""

    status: int = 0  # 0: the endpoint's success status
    delay: float = 0.0
    retry_after: float | None = None
    code: int | None = None  # Twilio's error code in an error answer (e.g. 21610)
    # With an error or a delay: store the created message first (Twilio took it, the answer
    # was lost or never read).
    accept: bool = False


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in received it."""

    method: str
    endpoint: str  # create | list | fetch | delete
    form: dict[str, str]
    query: dict[str, str]
    account: str
    sid: str | None = None


@dataclass
class TwilioStandIn:
    """The server and what it holds; thread-safe, so several workers may call it at once."""

    url: str = ""
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    _plans: dict[str, list[Outcome]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, endpoint: str, *outcomes: Outcome) -> None:
        """Answer the next calls to `endpoint` with `outcomes`, in order; then succeed."""
        with self._lock:
            self._plans.setdefault(endpoint, []).extend(outcomes)

    def add_inbound(
        self,
        body: str,
        *,
        sender: str,
        to: str,
        sid: str | None = None,
        date_sent: datetime | None = None,
    ) -> str:
        """Hold an inbound SMS, as if Twilio had received it; returns its SID."""
        sid = sid or "SM" + secrets.token_hex(16)
        with self._lock:
            self.messages[sid] = _resource(
                sid, sender, to, body, "inbound", "received", date_sent or datetime.now(UTC)
            )
        return sid

    @property
    def created(self) -> list[dict[str, Any]]:
        """The messages created through the API (what was sent), oldest first."""
        with self._lock:
            return [m for m in self.messages.values() if m["direction"] == "outbound-api"]

    def calls(self, endpoint: str) -> list[Recorded]:
        """The recorded requests to one endpoint."""
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    # --- called by the handler ------------------------------------------------------------

    def _next(self, endpoint: str) -> Outcome:
        with self._lock:
            plan = self._plans.get(endpoint)
            return plan.pop(0) if plan else Outcome()

    def _record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def _create(self, account: str, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        sender = form.get("From") or form.get("MessagingServiceSid", "")
        message = _resource(
            sid, sender, form.get("To", ""), form.get("Body", ""), "outbound-api", "queued",
            datetime.now(UTC), account=account,
        )
        message["messaging_service_sid"] = form.get("MessagingServiceSid")
        message["status_callback"] = form.get("StatusCallback")
        with self._lock:
            self.messages[sid] = message
        return message

    def _list(self, query: dict[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            found = list(self.messages.values())
        for name in ("To", "From"):
            if name in query:
                found = [m for m in found if m[name.lower()] == query[name]]
        if "DateSent>" in query:
            after = _parse(query["DateSent>"])
            found = [m for m in found if m["_sent"] >= after]
        if "DateSent<" in query:
            before = _parse(query["DateSent<"])
            found = [m for m in found if m["_sent"] <= before]
        # Twilio lists newest first.
        return sorted(found, key=lambda m: m["_order"], reverse=True)


_ORDER = iter(range(1, 1 << 62))


def _resource(
    sid: str,
    sender: str,
    to: str,
    body: str,
    direction: str,
    status: str,
    when: datetime,
    *,
    account: str = "",
) -> dict[str, Any]:
    stamp = format_datetime(when.astimezone(UTC), usegmt=True)
    return {
        "sid": sid,
        "account_sid": account,
        "from": sender,
        "to": to,
        "body": body,
        "direction": direction,
        "status": status,
        "num_media": "0",
        "num_segments": "1",
        "date_created": stamp,
        "date_updated": stamp,
        "date_sent": stamp,
        "error_code": None,
        "error_message": None,
        "_sent": when,
        "_order": next(_ORDER),
    }


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _handler(standin: TwilioStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as Twilio's API does: the workers' connection pools reuse sockets.
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes: without this, Nagle's algorithm and the
            # client's delayed ACK add 40 ms to every answer.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return  # quiet: the requests are recorded instead

        def do_POST(self) -> None:
            self._handle("POST")

        def do_GET(self) -> None:
            self._handle("GET")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if not parts.path.startswith(API):
                return self._send(404, {"status": 404, "message": "not found"})
            account, _, rest = parts.path[len(API) :].partition("/")
            sid = None
            if rest == "Messages.json":
                endpoint = "create" if method == "POST" else "list"
            elif rest.startswith("Messages/") and rest.endswith(".json"):
                sid = rest[len("Messages/") : -len(".json")]
                endpoint = {"GET": "fetch", "DELETE": "delete"}.get(method, "update")
            else:
                return self._send(404, {"status": 404, "message": "not found"})
            standin._record(Recorded(method, endpoint, form, query, account, sid))
            outcome = standin._next(endpoint)
            accepted = None
            if endpoint == "create" and (outcome.accept or not outcome.status):
                accepted = standin._create(account, form)
            if outcome.delay:
                time.sleep(outcome.delay)
            if outcome.status and outcome.status >= 400:
                headers = {}
                if outcome.retry_after is not None:
                    headers["Retry-After"] = f"{outcome.retry_after:g}"
                code = outcome.code or (20429 if outcome.status == 429 else 20500)
                body = {"code": code, "message": "stand-in error", "status": outcome.status}
                return self._send(outcome.status, body, headers)
            if endpoint == "create":
                return self._send(201, _public(accepted or {}))
            if endpoint == "list":
                return self._send(200, self._page(account, parts.path, query))
            with standin._lock:
                message = standin.messages.get(sid or "")
                if message is not None and endpoint == "delete":
                    del standin.messages[sid or ""]
            if message is None:
                return self._send(404, {"code": 20404, "message": "not found", "status": 404})
            if endpoint == "delete":
                return self._send(204, None)
            return self._send(200, _public(message))

        def _page(self, account: str, path: str, query: dict[str, str]) -> dict[str, Any]:
            found = standin._list(query)
            size = int(query.get("PageSize") or 50)
            page = int(query.get("Page") or 0)
            chunk = found[page * size : (page + 1) * size]
            following = None
            if (page + 1) * size < len(found):
                rest = {k: v for k, v in query.items() if k not in ("Page", "PageToken")}
                following = path + "?" + "&".join(
                    f"{k}={v}" for k, v in {**rest, "Page": str(page + 1)}.items()
                )
            return {
                "messages": [_public(m) for m in chunk],
                "page": page,
                "page_size": size,
                "first_page_uri": path,
                "previous_page_uri": None,
                "next_page_uri": following,
                "uri": path,
                "start": page * size,
                "end": page * size + len(chunk),
            }

        def _send(
            self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def serve() -> tuple[TwilioStandIn, ThreadingHTTPServer]:
    """Start a stand-in on a free loopback port; shut the server down when done."""
    standin = TwilioStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    server.block_on_close = False
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin, server


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    """A fresh Twilio stand-in for one test."""
    stand_in, server = serve()
    yield stand_in
    server.shutdown()
    server.server_close()
