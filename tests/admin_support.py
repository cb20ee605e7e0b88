"""Builders for the admin tests: partners, accounts with enrolled TOTP, signed-in clients."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from intake import accounts
from intake.db import sessions, write_transaction
from intake.models import Partner, Role, User

PASSWORD = "correct horse battery staple"
BASE_URL = "https://localhost"  # session cookies are Secure


@dataclass
class Account:
    id: int
    email: str
    role: Role
    partner_id: int | None
    secret: str


def add_partner(app: Flask, name: str, countries: list[str] | None = None) -> int:
    with sessions(app)() as session, write_transaction(session):
        partner = Partner(name=name, countries=countries or [])
        session.add(partner)
        session.flush()
        return partner.id


def add_account(
    app: Flask, role: Role, *, partner_id: int | None = None, email: str | None = None
) -> Account:
    """An account with TOTP already enrolled (its secret returned for making codes)."""
    keyring = app.extensions["intake.hotline"].keyring
    secret = pyotp.random_base32()
    email = email or f"{role.value}{time.monotonic_ns()}@example.org"
    with sessions(app)() as session, write_transaction(session):
        partner = session.get(Partner, partner_id) if partner_id else None
        user = accounts.create_user(
            session,
            email=email,
            name=f"{role.value.title()} Person",
            password=PASSWORD,
            role=role,
            partner=partner,
        )
        accounts.enrol_totp(user, secret, keyring)
        session.flush()
        return Account(user.id, email, role, user.partner_id, secret)


def csrf(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on `path`."""
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def next_code(account: Account, step_offset: int = 0) -> str:
    totp = pyotp.TOTP(account.secret)
    return totp.at(time.time() + 30 * step_offset)


def browser(app: Flask) -> FlaskClient:
    """A client that behaves like a browser on our HTTPS site (Flask-WTF checks the Referer)."""
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = f"{BASE_URL}/admin/"
    return client


def sign_in(app: Flask, account: Account, *, step_offset: int = 0) -> FlaskClient:
    """A client signed in through both real steps: password, then the TOTP code."""
    client = browser(app)
    token = csrf(client, f"{BASE_URL}/admin/login")
    answer = client.post(
        f"{BASE_URL}/admin/login",
        data={"email": account.email, "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert "/admin/login/code" in answer.headers["Location"]
    token = csrf(client, f"{BASE_URL}/admin/login/code")
    answer = client.post(
        f"{BASE_URL}/admin/login/code",
        data={"code": next_code(account, step_offset), "csrf_token": token},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def user(session: Session, account: Account) -> User:
    found = session.get(User, account.id)
    assert found is not None
    return found


VN_HOTLINE = "+842800000000"  # invented: parses to Viet Nam, reaches nobody


@dataclass
class World:
    """Two partners, each with a monitor and a report of its own, plus staff accounts."""

    partner_a: int
    partner_b: int
    admin: Account
    coordinator: Account
    monitor_a: Account
    monitor_b: Account
    report_a: int
    report_b: int


def build_world(app: Flask) -> World:
    from conftest import HOTLINE, Twilio

    partner_a = add_partner(app, "Partner A", ["MY"])
    partner_b = add_partner(app, "Partner B", ["VN"])
    twilio = Twilio(app.test_client())
    twilio.sms(
        "We worked 15 hours a day and overtime was not paid <script>alert(1)</script>",
        sender="+66812345671",
        to=HOTLINE,
    )
    twilio.sms("The fire exit is locked at night", sender="+84912345672", to=VN_HOTLINE)
    from intake.models import Report

    with sessions(app)() as session:
        reports = {r.partner_id: r.id for r in session.query(Report).all()}
    return World(
        partner_a=partner_a,
        partner_b=partner_b,
        admin=add_account(app, Role.ADMIN),
        coordinator=add_account(app, Role.COORDINATOR),
        monitor_a=add_account(app, Role.MONITOR, partner_id=partner_a),
        monitor_b=add_account(app, Role.MONITOR, partner_id=partner_b),
        report_a=reports[partner_a],
        report_b=reports[partner_b],
    )


def post_form(client: FlaskClient, page: str, action: str, data: dict[str, object]):  # type: ignore[no-untyped-def]
    """Post `data` to `action` with the CSRF token of the form on `page`."""
    token = csrf(client, f"{BASE_URL}{page}")
    return client.post(f"{BASE_URL}{action}", data={**data, "csrf_token": token})
