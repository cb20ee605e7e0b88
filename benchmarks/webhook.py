"""The real webhook against a bare Flask endpoint, both under the same gunicorn on loopback.

    .venv/bin/python -m benchmarks.webhook [--seconds 10] [--workers 2] [--database-url URL]

Prints requests/s, p50 and p99 for each, and the ratio real/bare (target: at least 0.5 on SQLite).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session

from benchmarks.load import drive
from intake import migrate
from intake.models import Message

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(target: str, env: dict[str, str], workers: int) -> Iterator[int]:
    """Serve `target` with gunicorn on a free loopback port until the block ends."""
    port = free_port()
    env = dict(env, INTAKE_PUBLIC_URL=f"http://127.0.0.1:{port}")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", target],
        cwd=REPO, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"gunicorn {target} did not start") from None
                time.sleep(0.2)
        # One request loads the analysis in every worker before timing starts.
        for _ in range(workers * 4):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30).read()  # noqa: S310
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


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
        results = {}
        for name, target in (("bare", "benchmarks.bare:app"), ("real", "wsgi:app")):
            with gunicorn(target, env, args.workers) as port:
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
    for name, result in results.items():
        print(f"{name:5s} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:6.1f} ms  "
              f"p99 {result['p99_ms']:6.1f} ms  requests {result['requests']:.0f}  "
              f"errors {result['errors']:.0f}")
    ratio = results["real"]["rps"] / results["bare"]["rps"] if results["bare"]["rps"] else 0
    print(f"ratio real/bare: {ratio:.2f} (target >= 0.50)")
    print(f"stored inbound messages: {stored} (answered: {results['real']['requests']:.0f})")


if __name__ == "__main__":
    main()
