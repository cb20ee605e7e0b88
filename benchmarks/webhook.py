"""The real webhook against a bare Flask endpoint, both under the same gunicorn on loopback.

    .venv/bin/python -m benchmarks.webhook [--seconds 10] [--workers 2] [--database-url URL]
        [--contended]

gunicorn runs as the Procfile's web line does (--preload: the analysis is loaded before the
workers fork). Prints the first signed SMS's latency right after the port opens, then warms up
with real signed SMS and prints requests/s, p50, p99 and failures for each, and the ratio
real/bare (target: at least 0.5 on SQLite). --contended keeps one busy process per core running
during the timed run (the target there: the real webhook's p99 under 1 s, no failed request).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from benchmarks.load import drive, sms_fields
from intake import migrate
from intake.models import Message

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signed_sms(port: int, token: str, number: int) -> tuple[int, float]:
    """Post one signed SMS as Twilio would; its HTTP status and latency in seconds."""
    fields = sms_fields(number)
    signature = RequestValidator(token).compute_signature(
        f"http://127.0.0.1:{port}/sms/inbound", fields
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        connection.request(
            "POST", "/sms/inbound", urlencode(fields),
            {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


@contextlib.contextmanager
def gunicorn(
    target: str, env: dict[str, str], workers: int, token: str, first: dict[str, float]
) -> Iterator[int]:
    """Serve `target` with gunicorn on a free loopback port until the block ends; `first`
    gets the start-up time and the first signed SMS's latency; then real SMS warm it up."""
    port = free_port()
    env = dict(env, INTAKE_PUBLIC_URL=f"http://127.0.0.1:{port}")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", target],
        cwd=REPO, env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"gunicorn {target} did not start") from None
                time.sleep(0.05)
        first["start_s"] = time.monotonic() - started
        status, first["first_ms"] = signed_sms(port, token, 0)
        first["first_ms"] *= 1000
        first["first_status"] = status
        # Real signed SMS, several per worker, before timing starts.
        for number in range(1, workers * 8):
            signed_sms(port, token, number)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _spin(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        sum(range(10_000))


@contextlib.contextmanager
def contention(enabled: bool) -> Iterator[None]:
    """One busy process per core (other tenants of a shared machine), while the block runs."""
    if not enabled:
        yield
        return
    stop = multiprocessing.Event()
    spinners = [
        multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
        for _ in range(os.cpu_count() or 1)
    ]
    for spinner in spinners:
        spinner.start()
    try:
        yield
    finally:
        stop.set()
        for spinner in spinners:
            spinner.join(timeout=10)


@contextlib.contextmanager
def database(server_url: str, tmp: str) -> Iterator[str]:
    """A throwaway database: an SQLite file, or a new database on the given PostgreSQL server."""
    if not server_url:
        yield f"sqlite:///{tmp}/bench.sqlite"
        return
    name = f"intake_bench_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2, help="load-generating processes")
    parser.add_argument("--connections", type=int, default=4, help="connections per process")
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL server; a throwaway database is made on it"
    )
    parser.add_argument(
        "--contended", action="store_true", help="one busy process per core during the timed run"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as url:
        migrate.upgrade(url)
        token = secrets.token_hex(16)
        env = dict(
            os.environ,
            INTAKE_ENV="production",
            DATABASE_URL=url,
            INTAKE_SECRET_KEY=secrets.token_hex(16),
            INTAKE_PSEUDONYM_PEPPER=secrets.token_hex(16),
            INTAKE_CONTACT_KEYS=Fernet.generate_key().decode(),
            INTAKE_TEXT_KEYS=Fernet.generate_key().decode(),
            TWILIO_AUTH_TOKEN=token,
            INTAKE_LOG_LEVEL="WARNING",
        )
        results: dict[str, dict[str, float]] = {}
        firsts: dict[str, dict[str, float]] = {}
        for name, target in (("bare", "benchmarks.bare:app"), ("real", "wsgi:app")):
            firsts[name] = {}
            with gunicorn(target, env, args.workers, token, firsts[name]) as port, contention(
                args.contended
            ):
                results[name] = drive(
                    port, token, seconds=args.seconds,
                    processes=args.processes, connections=args.connections,
                )
        engine = create_engine(url)
        with Session(engine) as session:
            stored = session.scalar(
                select(func.count()).select_from(Message).where(Message.sid.is_not(None))
            )
        engine.dispose()

    load = f"{args.processes} processes x {args.connections} connections, {args.seconds:.0f} s"
    print(f"database: {url.split(':')[0]}, gunicorn workers: {args.workers}, load: {load}")
    print(f"contention: {os.cpu_count()} busy processes, one per core" if args.contended
          else "contention: none added (other tenants of the machine aside)")
    for name, first in firsts.items():
        print(f"{name:5s} started in {first['start_s']:.1f} s; first signed SMS "
              f"{first['first_ms']:.1f} ms (HTTP {first['first_status']:.0f})")
    for name, result in results.items():
        print(f"{name:5s} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.1f} ms  "
              f"p99 {result['p99_ms']:6.1f} ms  requests {result['requests']:.0f}  "
              f"errors {result['errors']:.0f}")
    if args.contended:
        verdict = results["real"]["p99_ms"] < 1000 and not results["real"]["errors"]
        print(f"contended target (real p99 < 1000 ms, no failed request): "
              f"{'met' if verdict else 'MISSED'}")
    ratio = results["real"]["rps"] / results["bare"]["rps"] if results["bare"]["rps"] else 0
    print(f"ratio real/bare: {ratio:.2f} (target >= 0.50)")
    print(f"stored inbound messages: {stored} (answered: {results['real']['requests']:.0f})")


if __name__ == "__main__":
    main()
