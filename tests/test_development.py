"""Development mode shows every flow without Twilio or SMTP; production never pretends to send.

In development mode (the demo) outbound SMS and alert mails go to a development sender that
logs one line per message, naming the report and the kind, and marks it sent.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import db
from intake.config import Config, ConfigError
from intake.mail import DevelopmentMailer, Mailer
from intake.messaging.outbox import queue_reply
from intake.messaging.worker import DevelopmentSender, Sender, Worker, outbox_sender
from intake.models import (
    AlertMail,
    AlertMailStatus,
    Contact,
    Direction,
    Message,
    Outbox,
    OutboxStatus,
    Partner,
    Report,
    Role,
)
from intake.pipeline.identity import Keyring

from admin_support import BASE_URL, add_account, sign_in
from conftest import Twilio

WORKER = "+66812345670"  # invented
FIRE = "Fire in the warehouse, exit locked!"
NUMBER_OR_ADDRESS = re.compile(r"\d{6,}|@")


@pytest.fixture
def config(config: Config) -> Config:
    """Development mode, as the demo runs: no Twilio account, no SMTP server."""
    return replace(config, env="development", twilio_account_sid="", smtp_url="")


@pytest.fixture
def on_call(session: Session) -> None:
    session.add(
        Partner(
            name="Invented Monitors",
            countries=["MY"],
            contacts=[Contact(name="Invented Desk", email="desk@monitors.example")],
        )
    )
    session.commit()


def test_a_reply_and_an_urgent_alert_show_as_sent_without_twilio_or_smtp(
    app: Flask, twilio: Twilio, session: Session, on_call: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intake")
    assert twilio.sms(FIRE, sender=WORKER).status_code == 200
    report = session.scalars(select(Report)).one()
    assert app.extensions["intake.hotline"].escalator.drain()
    with db.sessions(app)() as work, work.begin():
        queue_reply(
            work, work.get_one(Report, report.id), "Are you safe? Call +66 81 999 0000",
            author_id=None,
        )
    sender = outbox_sender(app.config["INTAKE"], app.extensions["intake.hotline"].keyring)
    assert isinstance(sender, DevelopmentSender)

    assert Worker(db.sessions(app), sender.sweeps).run_once() == 1

    outbox = session.scalars(select(Outbox)).one()
    assert outbox.status is OutboxStatus.SENT
    reply = session.scalars(select(Message).where(Message.direction == Direction.OUTBOUND)).all()
    assert [m.delivery_status for m in reply if m.id == outbox.message_id] == ["sent"]
    mail = session.scalars(select(AlertMail)).one()
    assert mail.status is AlertMailStatus.SENT
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("intake.m")]
    sent_lines = [line for line in lines if "development" in line]
    assert len(sent_lines) == 2, lines  # one line per message
    assert all(report.code in line for line in sent_lines)
    assert any("reply" in line for line in sent_lines)
    assert any("alert" in line for line in sent_lines)
    assert not any(NUMBER_OR_ADDRESS.search(line) for line in sent_lines)
    assert not any("safe" in line or "Fire" in line for line in sent_lines)

    # The report page shows both: the reply as sent, the alert as mailed.
    client = sign_in(app, add_account(app, Role.ADMIN))
    page = client.get(f"{BASE_URL}/admin/reports/{report.id}").get_data(as_text=True)
    assert "Urgent alert mail: 1 sent, 0 waiting, 0 failed." in page
    assert "delivery-sent" in page


def test_production_never_uses_the_development_sender(config: Config) -> None:
    production = replace(config, env="production", twilio_account_sid="AC" + "1" * 32)
    keyring = Keyring(production)

    with pytest.raises(ConfigError, match="INTAKE_HOTLINE_NUMBERS"):
        outbox_sender(production, keyring)
    with_numbers = replace(production, hotline_numbers=("+60300000000",))
    assert type(outbox_sender(with_numbers, keyring)) is Sender
    # A production configuration without a Twilio account is refused, not given it.
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID"):
        outbox_sender(replace(with_numbers, twilio_account_sid=""), keyring)
    with pytest.raises(ConfigError, match="development mode only"):
        DevelopmentSender(production, keyring)
    assert Mailer.from_config(production) is None
    with pytest.raises(ConfigError, match="development mode only"):
        DevelopmentMailer.for_config(production)


def test_development_with_a_twilio_account_sends_through_twilio(config: Config) -> None:
    account = replace(config, twilio_account_sid="AC" + "1" * 32, hotline_numbers=("+6030",))
    keyring = Keyring(account)

    assert type(outbox_sender(account, keyring)) is Sender
