"""Signing in to the admin pages: argon2 password, TOTP, lockout, CSRF, cookies and headers."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import create_app, db
from intake.cli import main
from intake.config import Config
from intake.models import AuditEvent, Role, User

from admin_support import (
    BASE_URL,
    PASSWORD,
    Account,
    add_account,
    add_partner,
    browser,
    csrf,
    next_code,
    sign_in,
    user,
)


@pytest.fixture
def admin(app: Flask) -> Account:
    return add_account(app, Role.ADMIN)


def _password_step(client, account: Account, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf(client, f"{BASE_URL}/admin/login")
    return client.post(
        f"{BASE_URL}/admin/login",
        data={"email": account.email, "password": password, "csrf_token": token},
    )


def test_pages_need_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    answer = client.get(f"{BASE_URL}/admin/")
    assert answer.status_code == 302
    assert "/admin/login" in answer.headers["Location"]


def test_password_and_code_sign_in(app: Flask, admin: Account, session: Session) -> None:
    client = sign_in(app, admin)
    page = client.get(f"{BASE_URL}/admin/")
    assert page.status_code == 200
    assert "Reports" in page.get_data(as_text=True)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.user_id == admin.id))
    assert "auth.sign_in" in list(actions)
    stored = user(session, admin)
    assert stored.password_hash.startswith("$argon2id$")
    assert stored.totp_secret is not None
    assert admin.secret.encode() not in stored.totp_secret


def test_password_alone_is_not_enough(app: Flask, admin: Account) -> None:
    client = browser(app)
    assert _password_step(client, admin).status_code == 302
    assert client.get(f"{BASE_URL}/admin/").status_code == 302


def test_wrong_code_and_replayed_code_are_refused(app: Flask, admin: Account) -> None:
    client = browser(app)
    _password_step(client, admin)
    token = csrf(client, f"{BASE_URL}/admin/login/code")
    wrong = client.post(
        f"{BASE_URL}/admin/login/code", data={"code": "000000", "csrf_token": token}
    )
    assert wrong.status_code == 200
    assert "did not work" in wrong.get_data(as_text=True)
    sign_in(app, admin)
    # The same code a second time (someone watching the screen): refused.
    other = browser(app)
    _password_step(other, admin)
    token = csrf(other, f"{BASE_URL}/admin/login/code")
    replay = other.post(
        f"{BASE_URL}/admin/login/code", data={"code": next_code(admin), "csrf_token": token}
    )
    assert replay.status_code == 200


def test_account_locks_after_repeated_failures(
    app: Flask, admin: Account, session: Session
) -> None:
    client = browser(app)
    for _ in range(5):
        assert _password_step(client, admin, "wrong password!").status_code == 200
    assert user(session, admin).locked_until is not None
    # Even the right password is refused while locked, with the same message.
    answer = _password_step(client, admin)
    assert answer.status_code == 200
    assert "locked for a while" in answer.get_data(as_text=True)


def test_unknown_email_looks_like_a_wrong_password(app: Flask) -> None:
    ghost = Account(0, "nobody@example.org", Role.ADMIN, None, pyotp.random_base32())
    answer = _password_step(browser(app), ghost)
    assert answer.status_code == 200
    assert "Wrong e-mail or password" in answer.get_data(as_text=True)


def test_first_sign_in_enrols_totp(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        main,
        args=[
            "user",
            "create",
            "--email",
            "new@example.org",
            "--name",
            "New Admin",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        ],
    )
    assert result.exit_code == 0, result.output
    account = Account(0, "new@example.org", Role.ADMIN, None, "")
    client = browser(app)
    answer = _password_step(client, account)
    assert "/admin/login/enrol" in answer.headers["Location"]
    page = client.get(f"{BASE_URL}/admin/login/enrol").get_data(as_text=True)
    assert "<svg" in page
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page)
    assert secret
    token = csrf(client, f"{BASE_URL}/admin/login/enrol")
    done = client.post(
        f"{BASE_URL}/admin/login/enrol",
        data={"code": pyotp.TOTP(secret.group(1)).now(), "csrf_token": token},
    )
    assert done.status_code == 302
    assert client.get(f"{BASE_URL}/admin/").status_code == 200
    stored = session.scalar(select(User).where(User.email == "new@example.org"))
    assert stored is not None
    assert stored.totp_secret is not None


def test_cli_refuses_a_short_password_and_a_monitor_without_partner(app: Flask) -> None:
    runner = app.test_cli_runner()
    short = runner.invoke(
        main,
        args=[
            "user",
            "create",
            "--email",
            "a@example.org",
            "--name",
            "A",
            "--role",
            "admin",
            "--password",
            "short",
        ],
    )
    assert short.exit_code != 0
    assert "12 characters" in short.output
    lonely = runner.invoke(
        main,
        args=[
            "user",
            "create",
            "--email",
            "m@example.org",
            "--name",
            "M",
            "--role",
            "monitor",
            "--password",
            PASSWORD,
        ],
    )
    assert lonely.exit_code != 0
    assert "partner" in lonely.output


def test_forms_need_a_csrf_token(app: Flask, admin: Account) -> None:
    client = sign_in(app, admin)
    answer = client.post(f"{BASE_URL}/admin/logout", data={})
    assert answer.status_code == 400
    assert client.get(f"{BASE_URL}/admin/").status_code == 200


def test_cookie_and_security_headers(app: Flask, admin: Account) -> None:
    client = browser(app)
    page = client.get(f"{BASE_URL}/admin/login")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    html = page.get_data(as_text=True)
    assert "<script>" not in html
    assert " style=" not in html


def test_idle_session_is_signed_out(config: Config, admin: Account) -> None:
    idle = create_app(dataclasses.replace(config, session_idle=timedelta(0)))
    try:
        account = add_account(idle, Role.ADMIN)
        client = sign_in(idle, account)
        answer = client.get(f"{BASE_URL}/admin/")
        assert answer.status_code == 302
        assert "expired=1" in answer.headers["Location"]
    finally:
        db.dispose(idle)


def test_next_parameter_cannot_leave_the_site(app: Flask, admin: Account) -> None:
    client = browser(app)
    token = csrf(client, f"{BASE_URL}/admin/login")
    client.post(
        f"{BASE_URL}/admin/login?next=https://evil.example/",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": token},
    )
    token = csrf(client, f"{BASE_URL}/admin/login/code")
    answer = client.post(
        f"{BASE_URL}/admin/login/code?next=//evil.example/",
        data={"code": next_code(admin), "csrf_token": token},
    )
    assert answer.headers["Location"].endswith("/admin/")


@pytest.mark.parametrize(
    "target", ["/admin/\r\nSet-Cookie: x=1", "/admin/%0d%0a", "/admin\\evil", "/admin/\x7f"]
)
def test_a_next_with_controls_signs_in_and_stays_on_the_queue(
    app: Flask, admin: Account, target: str
) -> None:
    # The code is spent before the redirect: a Location that cannot be sent was a 500 then.
    client = browser(app)
    token = csrf(client, f"{BASE_URL}/admin/login")
    client.post(
        f"{BASE_URL}/admin/login",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": token},
    )
    token = csrf(client, f"{BASE_URL}/admin/login/code")
    answer = client.post(
        f"{BASE_URL}/admin/login/code",
        query_string={"next": target},
        data={"code": next_code(admin), "csrf_token": token},
    )
    assert answer.status_code == 302
    assert "\n" not in answer.headers["Location"]
    assert client.get(f"{BASE_URL}/admin/").status_code == 200


def test_monitor_account_needs_its_partner(app: Flask) -> None:
    partner = add_partner(app, "Partner A")
    monitor = add_account(app, Role.MONITOR, partner_id=partner)
    assert monitor.partner_id == partner


def test_admin_switches_an_account_off_and_resets_its_second_factor(
    app: Flask, admin: Account, session: Session
) -> None:
    partner = add_partner(app, "Partner A")
    monitor = add_account(app, Role.MONITOR, partner_id=partner)
    theirs = sign_in(app, monitor)
    assert theirs.get(f"{BASE_URL}/admin/").status_code == 200
    mine = sign_in(app, admin)
    token = csrf(mine, f"{BASE_URL}/admin/users")
    mine.post(f"{BASE_URL}/admin/users/{monitor.id}/deactivate", data={"csrf_token": token})
    # Signed out at the next request, and cannot sign in again.
    assert theirs.get(f"{BASE_URL}/admin/").status_code == 302
    assert _password_step(browser(app), monitor).status_code == 200
    mine.post(f"{BASE_URL}/admin/users/{monitor.id}/activate", data={"csrf_token": token})
    mine.post(f"{BASE_URL}/admin/users/{monitor.id}/reset", data={"csrf_token": token})
    again = _password_step(browser(app), monitor)
    assert "/admin/login/enrol" in again.headers["Location"]
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == monitor.id))
    )
    assert {"user.active", "user.reset_totp"} <= actions
