"""Sign-in under attack from many connections at once: one code signs in once, lockout and the
per-address throttle count every failure, on every host."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import create_app, db
from intake.config import Config
from intake.models import LoginFailure, Role, utcnow
from intake.retention import purge

from admin_support import (
    BASE_URL,
    PASSWORD,
    Account,
    add_account,
    browser,
    csrf,
    next_code,
    user,
)
from conftest import REPO, Twilio, form

LOGIN = f"{BASE_URL}/admin/login"
CODE = f"{BASE_URL}/admin/login/code"


@pytest.fixture
def admin(app: Flask) -> Account:
    return add_account(app, Role.ADMIN)


def at_once(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run every job in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def password_step(client: FlaskClient, email: str, password: str = PASSWORD, **kw: Any) -> Any:
    token = csrf(client, LOGIN)
    return client.post(
        LOGIN, data={"email": email, "password": password, "csrf_token": token}, **kw
    )


def wrong_password(client: FlaskClient, email: str) -> Callable[[], int]:
    """A prepared wrong-password post (its CSRF token fetched beforehand)."""
    token = csrf(client, LOGIN)
    data = {"email": email, "password": "not the password!", "csrf_token": token}
    return lambda: client.post(LOGIN, data=data).status_code


def test_one_code_from_eight_sessions_at_once_signs_in_one(app: Flask, admin: Account) -> None:
    jobs = []
    code = next_code(admin)
    for _ in range(8):
        client = browser(app)
        assert "/admin/login/code" in password_step(client, admin.email).headers["Location"]
        token = csrf(client, CODE)
        jobs.append(
            lambda c=client, t=token: c.post(CODE, data={"code": code, "csrf_token": t})
        )
    answers = at_once(jobs)
    signed_in = [a for a in answers if a.status_code == 302]
    assert len(signed_in) == 1, [a.status_code for a in answers]


def test_concurrent_wrong_passwords_lock_the_account_at_exactly_the_maximum(
    app: Flask, admin: Account, session: Session, config: Config
) -> None:
    most = config.login_max_failures
    # One fewer than the maximum, all at once: every one counted, none lost.
    at_once([wrong_password(browser(app), admin.email) for _ in range(most - 1)])
    stored = user(session, admin)
    assert stored.failed_logins == most - 1
    assert stored.locked_until is None
    # Eight more at once: the first of them locks, the rest meet a locked account.
    at_once([wrong_password(browser(app), admin.email) for _ in range(8)])
    session.refresh(stored)
    assert stored.locked_until is not None
    assert stored.failed_logins == 0


@pytest.fixture
def two_hosts(config: Config) -> Iterator[tuple[Flask, Flask]]:
    """Two app instances on one database, as two hosts behind a load balancer are."""
    settings = dataclasses.replace(config, login_address_max_failures=4, proxy_hops=1)
    first, second = create_app(settings), create_app(settings)
    yield first, second
    db.dispose(first)
    db.dispose(second)


def _from(address: str) -> dict[str, Any]:
    return {"headers": {"X-Forwarded-For": address}}


# Another host: its own process, configured from the environment as production is.
OTHER_HOST = """
import sys
from admin_support import browser, csrf
from intake import create_app
client = browser(create_app())
for email in sys.argv[1:]:
    token = csrf(client, "https://localhost/admin/login")
    answer = client.post(
        "https://localhost/admin/login",
        data={"email": email, "password": "wrong", "csrf_token": token},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    print(answer.status_code)
"""


def other_host(config: Config, *emails: str) -> list[int]:
    """Wrong passwords from the attacker's address, posted to a second host (a process)."""
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO / "tests"),
        INTAKE_ENV="production",
        DATABASE_URL=config.database_url,
        INTAKE_SECRET_KEY=config.secret_key,
        INTAKE_PSEUDONYM_PEPPER=config.pseudonym_pepper,
        INTAKE_CONTACT_KEYS=config.contact_keys[0],
        INTAKE_TEXT_KEYS=config.text_keys[0],
        TWILIO_AUTH_TOKEN=config.twilio_auth_token,
        INTAKE_PUBLIC_URL=config.public_url,
        INTAKE_LOGIN_ADDRESS_MAX_FAILURES=str(config.login_address_max_failures),
        INTAKE_PROXY_HOPS=str(config.proxy_hops),
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", OTHER_HOST, *emails],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    return [int(line) for line in done.stdout.split()]


def test_address_throttle_holds_across_hosts(two_hosts: tuple[Flask, Flask]) -> None:
    first, second = two_hosts
    attacker, colleague = _from("203.0.113.7"), _from("198.51.100.20")
    config: Config = first.config["INTAKE"]
    for n, host in enumerate((first, second)):
        answer = password_step(browser(host), f"guess{n}@example.org", "wrong", **attacker)
        assert answer.status_code == 200
    # Two more failures on another host reach the limit there; the next one is refused.
    later = other_host(config, "guess3@example.org", "guess4@example.org", "guess5@example.org")
    assert later == [200, 200, 429]
    for host in (first, second):
        answer = password_step(browser(host), "guess6@example.org", "wrong", **attacker)
        assert answer.status_code == 429
    # Someone else behind the same proxy is not held up.
    assert password_step(browser(second), "x@example.org", "w", **colleague).status_code == 200


def test_forwarded_for_is_ignored_without_a_trusted_proxy(config: Config) -> None:
    app = create_app(dataclasses.replace(config, login_address_max_failures=3))
    try:
        for n in range(3):
            spoofed = _from(f"192.0.2.{n}")
            assert password_step(browser(app), "a@example.org", "w", **spoofed).status_code == 200
        answer = password_step(browser(app), "a@example.org", "w", **_from("192.0.2.9"))
        assert answer.status_code == 429
    finally:
        db.dispose(app)


def test_the_throttle_stores_no_address(two_hosts: tuple[Flask, Flask], session: Session) -> None:
    first, _ = two_hosts
    password_step(browser(first), "a@example.org", "wrong", **_from("203.0.113.77"))
    keys = session.scalars(select(LoginFailure.client)).all()
    assert len(keys) == 1
    assert "203.0.113.77" not in keys[0]


def test_behind_a_proxy_the_webhook_still_checks_the_public_url(
    two_hosts: tuple[Flask, Flask],
) -> None:
    first, _ = two_hosts
    twilio = Twilio(first.test_client())
    proxied = {"X-Forwarded-For": "54.172.60.1", "X-Forwarded-Proto": "https"}
    # Signed for INTAKE_PUBLIC_URL (http://localhost in the tests): accepted.
    assert twilio.post(form("Overtime unpaid"), headers=proxied).status_code == 200
    # Signed for the URL the proxy headers describe instead: refused.
    answer = twilio.post(
        form("Overtime unpaid"), signed_url="https://localhost/sms/inbound", headers=proxied
    )
    assert answer.status_code == 403


def test_the_daily_purge_forgets_failures_past_the_window(
    two_hosts: tuple[Flask, Flask], session: Session
) -> None:
    first, _ = two_hosts
    config: Config = first.config["INTAKE"]
    password_step(browser(first), "a@example.org", "wrong", **_from("203.0.113.8"))
    count = select(func.count()).select_from(LoginFailure)
    keyring = first.extensions["intake.hotline"].keyring
    purge(db.sessions(first)(), config, keyring, now=utcnow())
    assert session.scalar(count) == 1
    later = utcnow() + config.login_address_window + timedelta(seconds=1)
    purge(db.sessions(first)(), config, keyring, now=later)
    assert session.scalar(count) == 0
