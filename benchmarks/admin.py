"""Server time of the triage queue and the report page with a million reports.

    .venv/bin/python -m benchmarks.admin [--reports 1000000] [--runs 50]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--no-sqlite]

Seeds a throwaway SQLite file and a throwaway PostgreSQL database (created on the given
server and dropped at the end) with benchmarks.seed, then times, on each, the query layer the
admin views call (intake.admin.queue, intake.admin.report_view) on an engine configured as the
app configures it: the queue's first page, a monitor's filtered page (their partner, a
category, a country), page 20 of the keyset, text searches, the facet counts and a report
page. Then the same pages through the real app: a Flask test client signed in with password
and TOTP, timing each GET (queries, counts and template: the server's whole work). Prints
median and p95 over `runs` runs and their ratio to the 100 ms target.
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session

from benchmarks.seed import RARE, Seeded, seed
from intake import accounts, create_app
from intake import db as intake_db
from intake.admin.access import Viewer
from intake.admin.queue import QueueFilters, queue_counts, triage_page
from intake.admin.report_view import load_report
from intake.config import Config
from intake.db import make_engine
from intake.models import Partner, Report, Role

TARGET_MS = 100.0
ADMIN = Viewer(user_id=1, role=Role.ADMIN)


def cases(session: Session, seeded: Seeded) -> list[tuple[str, Callable[[], Any]]]:
    """What a monitor does most, each as a callable that runs the view's queries."""
    monitor = Viewer(seeded.monitor_ids[0], Role.MONITOR, seeded.partner_ids[0])
    narrowed = QueueFilters(category="working_hours", country="MY")
    cursor = None
    for _ in range(19):
        cursor = triage_page(session, ADMIN, QueueFilters(), cursor).next_cursor
    largest = session.scalar(select(func.max(Report.id))) or 1
    rng = random.Random(1)

    def report_page() -> Any:
        return load_report(session, ADMIN, rng.randint(1, largest))

    return [
        ("queue, first page", lambda: triage_page(session, ADMIN, QueueFilters())),
        ("queue, monitor+category+country", lambda: triage_page(session, monitor, narrowed)),
        ("queue, page 20 (keyset)", lambda: triage_page(session, ADMIN, QueueFilters(), cursor)),
        ("search '没发工资' (common)", lambda: triage_page(
            session, ADMIN, QueueFilters(q="没发工资"))),
        (f"search '{RARE}' (rare)", lambda: triage_page(session, ADMIN, QueueFilters(q=RARE))),
        ("search '护照' (2 chars)", lambda: triage_page(session, ADMIN, QueueFilters(q="护照"))),
        ("facet counts, admin", lambda: queue_counts(session, ADMIN, QueueFilters())),
        ("facet counts, monitor filtered", lambda: queue_counts(session, monitor, narrowed)),
        ("report page", report_page),
    ]


BASE = "https://localhost"
PASSWORD = secrets.token_urlsafe(16)  # a throwaway account on a throwaway database


def web_cases(url: str, seeded: Seeded) -> tuple[Flask, list[tuple[str, Callable[[], Any]]]]:
    """The same pages through the app, each GET by a signed-in test client."""
    app = create_app(Config(
        env="production",
        database_url=url,
        twilio_auth_token="bench-" + secrets.token_hex(16),
        twilio_account_sid="AC" + "0" * 32,
        public_url=BASE,
        secret_key=secrets.token_hex(16),
        pseudonym_pepper=secrets.token_hex(16),
        contact_keys=(Fernet.generate_key().decode(),),
        text_keys=(Fernet.generate_key().decode(),),
    ))
    admin = _sign_in(app, Role.ADMIN, None)
    monitor = _sign_in(app, Role.MONITOR, seeded.partner_ids[0])
    with intake_db.sessions(app)() as session:
        largest = session.scalar(select(func.max(Report.id))) or 1
        cursor = None
        for _ in range(19):
            cursor = triage_page(session, ADMIN, QueueFilters(), cursor).next_cursor
    rng = random.Random(2)

    def get(client: FlaskClient, path: str) -> Callable[[], Any]:
        def call() -> Any:
            answer = client.get(BASE + path)
            assert answer.status_code == 200, (path, answer.status_code)
        return call

    def report_page() -> Any:
        get(admin, f"/admin/reports/{rng.randint(1, largest)}")()

    return app, [
        ("GET queue, first page", get(admin, "/admin/")),
        ("GET queue, monitor+category+country",
         get(monitor, "/admin/?category=working_hours&country=MY")),
        ("GET queue, page 20 (keyset)", get(admin, f"/admin/?after={cursor}")),
        ("GET search '没发工资' (common)", get(admin, "/admin/?q=没发工资")),
        ("GET report page", report_page),
    ]


def _sign_in(app: Flask, role: Role, partner_id: int | None) -> FlaskClient:
    secret = pyotp.random_base32()
    email = f"bench-{role.value}-{secrets.token_hex(4)}@example.org"
    keyring = app.extensions["intake.hotline"].keyring
    with intake_db.sessions(app)() as session, session.begin():
        partner = session.get(Partner, partner_id) if partner_id else None
        user = accounts.create_user(
            session, email=email, name="Bench", password=PASSWORD, role=role, partner=partner
        )
        accounts.enrol_totp(user, secret, keyring)
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = f"{BASE}/admin/"
    for path, data in (
        ("/admin/login", {"email": email, "password": PASSWORD}),
        ("/admin/login/code", {"code": pyotp.TOTP(secret).now()}),
    ):
        page = client.get(BASE + path).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, f"no CSRF token on {path}"
        answer = client.post(BASE + path, data={**data, "csrf_token": token.group(1)})
        assert answer.status_code == 302, (path, answer.status_code)
    return client


def measure(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median and p95 in milliseconds, after three warm-up calls."""
    for _ in range(3):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * len(times)) - 1)]


def bench(label: str, url: str, reports: int, runs: int) -> list[tuple[str, str, float, float]]:
    seeded = seed(url, reports)
    print(f"{label}: seeded {seeded.reports:,} reports, {seeded.messages:,} messages "
          f"in {seeded.seconds:.0f} s", flush=True)
    engine = make_engine(url)
    results = []
    try:
        with Session(engine) as session:
            for name, call in cases(session, seeded):
                median, p95 = measure(call, runs)
                results.append((label, name, median, p95))
                print(f"  {name:34} median {median:8.1f} ms   p95 {p95:8.1f} ms", flush=True)
                session.rollback()
    finally:
        engine.dispose()
    app, calls = web_cases(url, seeded)
    try:
        for name, call in calls:
            median, p95 = measure(call, runs)
            results.append((label, name, median, p95))
            print(f"  {name:34} median {median:8.1f} ms   p95 {p95:8.1f} ms", flush=True)
    finally:
        intake_db.dispose(app)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a server to create the throwaway database on ('' to skip)",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()

    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="intake-bench-") as directory:
            url = f"sqlite:///{Path(directory) / 'admin.sqlite'}"
            results += bench("SQLite", url, args.reports, args.runs)
    if args.postgres:
        server = make_url(args.postgres)
        name = f"intake_bench_admin_{secrets.token_hex(4)}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            results += bench("PostgreSQL", url, args.reports, args.runs)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    print(f"\n{args.reports:,} reports, {args.runs} runs each; target: median < {TARGET_MS:.0f} ms")
    print("| database | case | median ms | p95 ms | median / target |\n|---|---|---:|---:|---:|")
    for label, name, median, p95 in results:
        print(f"| {label} | {name} | {median:.1f} | {p95:.1f} | {median / TARGET_MS:.2f} |")


if __name__ == "__main__":
    main()
