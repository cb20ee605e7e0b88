"""Several gunicorn workers on one database: concurrent deliveries store each SMS exactly once."""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import runpy
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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


def production_environment(
    database_url: str, keys: dict[str, Any], port: int, **settings: str
) -> dict[str, str]:
    """This process's environment with a complete production configuration for `port`."""
    return dict(
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
        **settings,
    )


@contextmanager
def gunicorn(
    database_url: str, keys: dict[str, Any], log_path: Path, *args: str, **settings: str
) -> Iterator[str]:
    """gunicorn serving wsgi:app on loopback, configured from the environment; its base URL."""
    port = free_port()
    env = production_environment(database_url, keys, port, **settings)
    command = [sys.executable, "-m", "gunicorn", *args, "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    with serving(command, env, port, log_path) as base:
        yield base


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, log_path: Path) -> Iterator[str]:
    """`command` running from the checkout until its /healthz answers on `port`; its base URL."""
    log = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5).read()  # noqa: S310
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(log_path.read_text())
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def server(database_url: str, keys: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """gunicorn as the Procfile runs it (preloaded, forked), three workers on loopback."""
    with gunicorn(
        database_url, keys, tmp_path / "gunicorn.log", "--preload", "--workers", "3"
    ) as base:
        yield base


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


def test_the_procfile_access_log_names_paths_without_query_strings(
    database_url: str, keys: dict[str, Any], tmp_path: Path
) -> None:
    # The web line exactly as the Procfile has it, run by a shell as a platform would.
    web = next(
        line.removeprefix("web:").strip()
        for line in (REPO / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )
    port = free_port()
    env = production_environment(
        database_url, keys, port,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        PORT=str(port),
        WEB_CONCURRENCY="1",
    )
    log_path = tmp_path / "web.log"
    with serving(["/bin/sh", "-c", f"exec {web}"], env, port, log_path) as base:
        # A monitor's search: words of worker texts, in the query string and the Referer.
        search = urllib.request.Request(  # noqa: S310
            f"{base}/admin/?q=overtime+unpaid+dormitory",
            headers={"Referer": f"{base}/admin/?q=wages+withheld+passport"},
        )
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(search, timeout=30).read()  # noqa: S310
    logged = log_path.read_text()
    assert "GET /admin/ " in logged, logged
    for word in ("overtime", "dormitory", "wages", "passport", "?q="):
        assert word not in logged, logged


def test_gunicorn_error_log_names_paths_without_query_strings() -> None:
    from gunicorn.config import Config as GunicornConfig

    settings = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    logger = settings["logger_class"](GunicornConfig())
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger.error_log.addHandler(handler)
    try:
        raise RuntimeError("a broken pipe, say")
    except RuntimeError:
        logger.exception("Error handling request %s %s", "GET", "/admin/?q=overtime+unpaid")
    logger.warning("Invalid request from ip=x: Invalid HTTP request line: 'GET /admin/?q=dorm'")
    assert seen == [
        "Error handling request GET /admin/",
        "Invalid request from ip=x: Invalid HTTP request line: 'GET /admin/'",
    ]


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


# Twilio gives up on a webhook after 15 s. Every answer, 200 or 503, must come within the
# database timeout and this much more (analysis, TwiML, loopback, a loaded test machine).
MARGIN = 1.5
LOCK_TIMEOUT = 2.0


@contextmanager
def database_locked(database_url: str, seconds: float) -> Iterator[None]:
    """Another connection holds the write lock (SQLite) or `message` (PostgreSQL) for `seconds`."""
    held = threading.Event()

    def hold() -> None:
        if database_url.startswith("sqlite"):
            connection = sqlite3.connect(database_url.removeprefix("sqlite:///"),
                                         isolation_level=None)
            connection.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(seconds)
            connection.execute("ROLLBACK")
            connection.close()
            return
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.exec_driver_sql("LOCK TABLE message IN ACCESS EXCLUSIVE MODE")
            held.set()
            time.sleep(seconds)
        engine.dispose()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        yield
    finally:
        holder.join()


def timed_post(base: str, fields: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    status, _ = post(base, fields)
    return status, time.monotonic() - started


def test_during_a_database_lock_every_answer_comes_within_the_timeout(
    database_url: str, keys: dict[str, Any], tmp_path: Path
) -> None:
    # One SMS for each worker, as the Procfile runs them (sync): a request waiting for a busy
    # worker waits outside the app, which can bound only its own time.
    concurrent = 4
    with gunicorn(
        database_url, keys, tmp_path / "gunicorn.log", "--workers", str(concurrent),
        INTAKE_DATABASE_TIMEOUT=str(LOCK_TIMEOUT),
    ) as base:
        # Every worker has booted and answered once before the lock.
        warm = [form(f"warm up {n}", sender="+447700900210") for n in range(concurrent)]
        with ThreadPoolExecutor(max_workers=concurrent) as pool:
            assert {s for s, _ in pool.map(lambda f: post(base, f), warm)} == {200}
        jobs = [form(f"no pay for {n} months", sender=f"+4477009002{20 + n}")
                for n in range(concurrent)]
        with (database_locked(database_url, LOCK_TIMEOUT * 2 + 2),
              ThreadPoolExecutor(max_workers=concurrent) as pool):
            results = list(pool.map(lambda fields: timed_post(base, fields), jobs))

    slowest = max(elapsed for _, elapsed in results)
    print(f"answers during the lock: {results}")  # noqa: T201
    assert slowest < LOCK_TIMEOUT + MARGIN, results
    assert {status for status, _ in results} <= {200, 503}
    engine = create_engine(database_url)
    with Session(engine) as session:
        stored = session.scalars(select(Message.sid).where(Message.sid.is_not(None))).all()
    engine.dispose()
    for fields, (status, _) in zip(jobs, results, strict=True):
        assert stored.count(fields["MessageSid"]) == (1 if status == 200 else 0)
