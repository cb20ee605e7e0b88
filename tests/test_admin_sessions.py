"""Ending sessions server-side: a cookie copied before sign-out (or before the account was
switched off, its second factor reset or its password changed) opens nothing afterwards."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import accounts
from intake.cli import main
from intake.db import sessions, write_transaction
from intake.models import Role, User

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
)

COOKIE = "intake_session"
PAGES = ("/admin/", "/admin/exports")


@pytest.fixture
def admin(app: Flask) -> Account:
    return add_account(app, Role.ADMIN)


@pytest.fixture
def monitor(app: Flask) -> Account:
    return add_account(app, Role.MONITOR, partner_id=add_partner(app, "Partner A"))


def saved_cookie(client: FlaskClient) -> str:
    """The session cookie as someone copying it from the browser would keep it."""
    cookie = client.get_cookie(COOKIE, domain="localhost")
    assert cookie is not None
    return cookie.value


def replay(app: Flask, cookie: str) -> FlaskClient:
    """A fresh client (another machine) presenting a copied cookie."""
    client = browser(app)
    client.set_cookie(COOKIE, cookie, domain="localhost", secure=True)
    return client


def assert_signed_out(app: Flask, cookie: str) -> None:
    client = replay(app, cookie)
    for page in PAGES:
        answer = client.get(f"{BASE_URL}{page}")
        assert answer.status_code == 302, page
        assert "/admin/login" in answer.headers["Location"]


def test_a_copied_cookie_opens_the_workspace_until_sign_out(app: Flask, admin: Account) -> None:
    client = sign_in(app, admin)
    cookie = saved_cookie(client)
    for page in PAGES:
        assert replay(app, cookie).get(f"{BASE_URL}{page}").status_code == 200
    token = csrf(client, f"{BASE_URL}/admin/")
    assert client.post(f"{BASE_URL}/admin/logout", data={"csrf_token": token}).status_code == 302
    assert_signed_out(app, cookie)


def test_sign_out_ends_every_session_of_the_account(app: Flask, admin: Account) -> None:
    laptop = sign_in(app, admin)
    phone = sign_in(app, admin, step_offset=1)
    token = csrf(laptop, f"{BASE_URL}/admin/")
    laptop.post(f"{BASE_URL}/admin/logout", data={"csrf_token": token})
    assert phone.get(f"{BASE_URL}/admin/").status_code == 302


def _change(client: FlaskClient, account: Account, change: str) -> None:
    """An admin's change to another account, through the users page."""
    token = csrf(client, f"{BASE_URL}/admin/users")
    answer = client.post(
        f"{BASE_URL}/admin/users/{account.id}/{change}", data={"csrf_token": token}
    )
    assert answer.status_code == 302


def test_switching_an_account_off_and_on_again_ends_its_sessions(
    app: Flask, admin: Account, monitor: Account
) -> None:
    cookie = saved_cookie(sign_in(app, monitor))
    staff = sign_in(app, admin)
    _change(staff, monitor, "deactivate")
    _change(staff, monitor, "activate")
    assert_signed_out(app, cookie)


def test_resetting_the_second_factor_ends_the_sessions(
    app: Flask, admin: Account, monitor: Account
) -> None:
    cookie = saved_cookie(sign_in(app, monitor))
    _change(sign_in(app, admin), monitor, "reset")
    # The owner enrols a new phone; the old cookie stays dead.
    keyring = app.extensions["intake.hotline"].keyring
    with sessions(app)() as session, write_transaction(session):
        stored = session.get(User, monitor.id)
        assert stored is not None
        accounts.enrol_totp(stored, monitor.secret, keyring)
    assert_signed_out(app, cookie)


def test_a_new_password_ends_the_sessions(app: Flask, monitor: Account) -> None:
    cookie = saved_cookie(sign_in(app, monitor))
    with sessions(app)() as session, write_transaction(session):
        stored = session.get(User, monitor.id)
        assert stored is not None
        accounts.set_password(session, stored, "a brand new passphrase", actor_id=None)
    assert_signed_out(app, cookie)


def test_a_new_password_ends_a_sign_in_half_done(app: Flask, monitor: Account) -> None:
    client = browser(app)
    token = csrf(client, f"{BASE_URL}/admin/login")
    client.post(
        f"{BASE_URL}/admin/login",
        data={"email": monitor.email, "password": PASSWORD, "csrf_token": token},
    )
    token = csrf(client, f"{BASE_URL}/admin/login/code")
    with sessions(app)() as session, write_transaction(session):
        stored = session.get(User, monitor.id)
        assert stored is not None
        accounts.set_password(session, stored, "a brand new passphrase", actor_id=None)
    answer = client.post(
        f"{BASE_URL}/admin/login/code", data={"code": next_code(monitor), "csrf_token": token}
    )
    assert answer.status_code == 401


def test_the_cli_sets_a_new_password_and_ends_the_sessions(app: Flask, monitor: Account) -> None:
    cookie = saved_cookie(sign_in(app, monitor))
    result = app.test_cli_runner().invoke(
        main,
        args=["user", "set-password", "--email", monitor.email.upper()],
        input="a brand new passphrase\na brand new passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "passphrase" not in result.output
    assert_signed_out(app, cookie)
    old = browser(app)
    token = csrf(old, f"{BASE_URL}/admin/login")
    refused = old.post(
        f"{BASE_URL}/admin/login",
        data={"email": monitor.email, "password": PASSWORD, "csrf_token": token},
    )
    assert refused.status_code == 200


def test_the_cli_refuses_an_unknown_account(app: Flask) -> None:
    runner = app.test_cli_runner()
    nobody = runner.invoke(
        main, args=["user", "set-password", "--email", "nobody@example.org"],
        input="a brand new passphrase\na brand new passphrase\n",
    )
    assert nobody.exit_code != 0
    assert "no account" in nobody.output
