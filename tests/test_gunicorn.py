"""Several gunicorn workers on one database: concurrent deliveries store each SMS exactly once."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from intake.config import Config
from intake.models import Message, Report, Reporter

from conftest import ACCOUNT_SID, AUTH_TOKEN, REPO, form

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(database_url: str, keys: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """gunicorn with three workers serving wsgi:app on loopback, configured from the environment."""
    port = free_port()
    env = dict(
        os.environ,
        INTAKE_ENV="production",
        DATABASE_URL=database_url,
        INTAKE_SECRET_KEY=keys["secret_key"],
        INTAKE_PSEUDONYM_PEPPER=keys["pseudonym_pepper"],
        INTAKE_CONTACT_KEYS=keys["contact_keys"][0],
        INTAKE_TEXT_KEYS=keys["text_keys"][0],
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        INTAKE_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}",
         "wsgi:app"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=5).read()  # noqa: S310
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail((tmp_path / "gunicorn.log").read_text())
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=30)
    log.close()


def post(base: str, fields: dict[str, str]) -> tuple[int, str]:
    url = f"{base}/sms/inbound"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, fields)
    request = urllib.request.Request(  # noqa: S310
        url, data=urlencode(fields).encode(), headers={"X-Twilio-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_concurrent_deliveries_store_each_sms_exactly_once(server: str, database_url: str) -> None:
    # The same SID eight times at once (a retry racing the original, a fallback host), and five
    # first messages from one new number at once (racing to create the same reporter).
    duplicated = form("Overtime unpaid for three months", sender="+447700900200")
    first_messages = [form(f"message {n} about unpaid wages", sender="+447700900201")
                      for n in range(5)]
    jobs = [duplicated] * 8 + first_messages
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(lambda fields: post(server, fields), jobs))

    assert [status for status, _ in results] == [200] * len(jobs)
    assert len({body for _, body in results[:8]}) == 1, "a retry must get the same answer"
    engine = create_engine(database_url)
    with Session(engine) as session:
        sids = session.scalars(select(Message.sid).where(Message.sid.is_not(None))).all()
        reporters = session.scalar(select(func.count()).select_from(Reporter))
        reports = session.scalar(select(func.count()).select_from(Report))
    engine.dispose()
    assert sorted(sids) == sorted({fields["MessageSid"] for fields in jobs})
    assert reporters == 2
    assert reports == 2  # the five racing messages thread into one report


def post_chunked(base: str, body: bytes, signed: dict[str, str]) -> tuple[int, str]:
    """POST `body` with Transfer-Encoding: chunked (no Content-Length), signed over `signed`."""
    url = f"{base}/sms/inbound"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, signed)
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    chunks = (body[start : start + 8192] for start in range(0, len(body), 8192))
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    try:
        connection.request("POST", "/sms/inbound", body=chunks, headers=headers,
                           encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_a_chunked_body_over_the_limit_gets_413_and_stores_nothing(
    server: str, database_url: str
) -> None:
    # Cut at the limit, such a body still parses; an attacker signs what the cut leaves.
    fields = form("", sender="+447700900202")
    # The body last, so that what the cut leaves is a whole SMS with a shorter text.
    fields["Body"] = fields.pop("Body") + "overtime " * 10_000
    body = urlencode(fields).encode()
    limit = Config().max_body_bytes
    assert len(body) > limit
    prefix = MultiDict(parse_qsl(body[:limit].decode(), keep_blank_values=True))

    status, _ = post_chunked(server, body, prefix)

    assert status == 413
    engine = create_engine(database_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    engine.dispose()


def test_a_chunked_body_within_the_limit_is_stored(server: str, database_url: str) -> None:
    fields = form("They keep our passports", sender="+447700900203")

    status, _ = post_chunked(server, urlencode(fields).encode(), fields)

    assert status == 200
    engine = create_engine(database_url)
    with Session(engine) as session:
        sids = session.scalars(select(Message.sid).where(Message.sid.is_not(None))).all()
    engine.dispose()
    assert sids == [fields["MessageSid"]]
