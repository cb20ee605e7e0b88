"""Several gunicorn workers on one database: concurrent deliveries store each SMS exactly once."""

from __future__ import annotations

import contextlib
import logging
import os
import runpy
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
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from intake.models import Message, Report, Reporter

from conftest import ACCOUNT_SID, AUTH_TOKEN, REPO, form

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(database_url: str, keys: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """gunicorn as the Procfile runs it (preloaded, forked), three workers on loopback."""
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
        [sys.executable, "-m", "gunicorn", "--preload", "--workers", "3", "--bind",
         f"127.0.0.1:{port}",
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
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        INTAKE_ENV="production",
        DATABASE_URL=database_url,
        INTAKE_SECRET_KEY=keys["secret_key"],
        INTAKE_PSEUDONYM_PEPPER=keys["pseudonym_pepper"],
        INTAKE_CONTACT_KEYS=keys["contact_keys"][0],
        INTAKE_TEXT_KEYS=keys["text_keys"][0],
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        INTAKE_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    log_path = tmp_path / "web.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", f"exec {web}"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
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
            # A monitor's search: words of worker texts, in the query string and the Referer.
            search = urllib.request.Request(  # noqa: S310
                f"{base}/admin/?q=overtime+unpaid+dormitory",
                headers={"Referer": f"{base}/admin/?q=wages+withheld+passport"},
            )
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(search, timeout=30).read()  # noqa: S310
        finally:
            process.terminate()
            process.wait(timeout=30)
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
