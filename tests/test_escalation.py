"""Urgent reports e-mailed to the partner's on-call contacts, through a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, event, func, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from intake import create_app, db
from intake.cli import main
from intake.config import Config, ConfigError
from intake.mail import Mailer
from intake.models import (
    Alert,
    AlertMail,
    AlertMailStatus,
    Contact,
    Factory,
    Partner,
    Report,
    Reporter,
    utcnow,
)
from intake.pipeline.escalate import Escalator, send_pending_alerts

from conftest import HOTLINE, Twilio

FIRE = "FIRE on line 3 and the emergency exit is locked, people inside!"
WAGES = "We have not been paid for two months"
SENDER = "+66812345670"


@dataclass
class Inbox:
    """What the SMTP server on loopback received."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    @property
    def recipients(self) -> list[str]:
        return sorted(address for rcpt_tos, _ in self.messages for address in rcpt_tos)


class SmtpServer:
    """aiosmtpd on 127.0.0.1 at a fixed port, which a test can stop and start again."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.inbox = Inbox()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(config: Config, smtp: SmtpServer) -> Iterator[Flask]:
    """The app, mailing alerts to the loopback SMTP server."""
    app = create_app(replace(config, smtp_url=smtp.url, mail_from="alerts@intake.example"))
    yield app
    escalator(app).drain()
    db.dispose(app)


@pytest.fixture
def hotline(mail_app: Flask) -> Twilio:
    return Twilio(mail_app.test_client())


@pytest.fixture
def look(mail_app: Flask) -> Iterator[Session]:
    """A session that sees every commit, like conftest's `session`, on the mailing app."""
    engine = create_engine(config_of(mail_app).database_url, isolation_level="AUTOCOMMIT")
    with Session(engine, expire_on_commit=False) as session:

        @event.listens_for(session, "do_orm_execute")
        def _fresh(state: ORMExecuteState) -> None:
            if state.is_select:
                state.update_execution_options(populate_existing=True)

        yield session
    engine.dispose()


def config_of(app: Flask) -> Config:
    config: Config = app.config["INTAKE"]
    return config


def escalator(app: Flask) -> Escalator:
    found: Escalator = app.extensions["intake.hotline"].escalator
    return found


@pytest.fixture
def partners(look: Session) -> dict[str, Partner]:
    """Invented partners and contacts: who is on call, who is not, who has no address."""
    monitors = Partner(
        name="Invented Monitors",
        countries=["MY"],
        contacts=[
            Contact(name="Ana", email="ana@monitors.example"),
            Contact(name="Ben", email="ben@monitors.example"),
            Contact(name="Off Duty", email="off@monitors.example", on_call=False),
            Contact(name="No Mail", email=None),
            # The same person twice: one mail.
            Contact(name="Ana again", email="ANA@monitors.example"),
        ],
    )
    others = Partner(
        name="Other Partner",
        countries=["TH"],
        contacts=[Contact(name="Cy", email="cy@other.example")],
    )
    look.add_all([monitors, others])
    look.commit()
    return {"monitors": monitors, "others": others}


def sweep(app: Flask, now: datetime) -> int:
    """What `intake worker` does periodically: send what is due, on a fresh session."""
    mailer = Mailer.from_config(config_of(app))
    assert mailer is not None
    with db.sessions(app)() as session:
        return send_pending_alerts(session, mailer, now)


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def report_of(session: Session) -> Report:
    return session.scalars(select(Report).order_by(Report.id.desc()).limit(1)).one()


def test_an_urgent_sms_mails_each_on_call_contact_once_without_personal_data(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    factory = Factory(code="F-2931", name="Invented Plastics")
    look.add(factory)
    look.commit()

    response = hotline.sms("At F-2931: " + FIRE, sender=SENDER)
    assert response.status_code == 200
    assert escalator(mail_app).drain()

    report = report_of(look)
    assert report.urgent
    assert report.partner_id == partners["monitors"].id
    assert smtp.inbox.recipients == ["ana@monitors.example", "ben@monitors.example"]
    pseudonym = look.scalars(select(Reporter.pseudonym)).one()
    for _rcpt, message in smtp.inbox.messages:
        body = message.get_content()
        whole = message.as_string()
        assert report.code in message["Subject"]
        assert report.code in body
        assert "Invented Monitors" in body
        assert "F-2931 Invented Plastics" in body
        assert "health_safety" in body
        assert f"http://localhost/admin/reports/{report.id}" in body
        assert message["From"] == "alerts@intake.example"
        for private in ("FIRE", "emergency exit", "locked", SENDER, SENDER[1:], pseudonym):
            assert private not in whole
    alert = look.scalars(select(Alert)).one()
    assert alert.done_at is not None
    assert {mail.status for mail in alert.mails} == {AlertMailStatus.SENT}


def test_a_report_that_stays_urgent_is_mailed_only_once(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    hotline.sms(FIRE, sender=SENDER)
    hotline.sms("Still burning, " + FIRE, sender=SENDER)
    assert escalator(mail_app).drain()

    assert count(look, Report) == 1
    assert count(look, Alert) == 1
    assert len(smtp.inbox.messages) == 2
    # A later sweep finds nothing left to send.
    assert sweep(mail_app, utcnow() + timedelta(days=1)) == 0
    assert len(smtp.inbox.messages) == 2


def test_a_follow_up_that_makes_a_report_urgent_mails_then(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    hotline.sms(WAGES, sender=SENDER)
    assert escalator(mail_app).drain()
    assert smtp.inbox.messages == []
    assert count(look, Alert) == 0

    hotline.sms(FIRE, sender=SENDER)
    assert escalator(mail_app).drain()

    assert count(look, Report) == 1
    assert smtp.inbox.recipients == ["ana@monitors.example", "ben@monitors.example"]
    assert look.scalars(select(Alert.reasons)).one() == ["health_safety"]


def test_a_non_urgent_report_sends_nothing(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    assert hotline.sms(WAGES).status_code == 200
    assert escalator(mail_app).drain()

    assert smtp.inbox.messages == []
    assert count(look, Alert) == 0


def test_other_partners_contacts_get_nothing(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    # A Thai hotline number: the other partner's report.
    hotline.sms(FIRE, to="+6620000000")
    assert escalator(mail_app).drain()

    assert report_of(look).partner_id == partners["others"].id
    assert smtp.inbox.recipients == ["cy@other.example"]


def test_smtp_down_at_arrival_delays_the_mail_but_loses_nothing(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    smtp.stop()

    response = hotline.sms(FIRE, sender=SENDER)

    assert response.status_code == 200
    assert escalator(mail_app).drain()
    assert count(look, Report) == 1
    mails = look.scalars(select(AlertMail)).all()
    assert {mail.status for mail in mails} == {AlertMailStatus.PENDING}
    assert all(mail.last_error for mail in mails)
    assert look.scalars(select(Alert.done_at)).one() is None

    smtp.start()
    later = utcnow() + timedelta(minutes=5)
    assert sweep(mail_app, later) == 2
    assert sweep(mail_app, later + timedelta(hours=2)) == 0

    assert smtp.inbox.recipients == ["ana@monitors.example", "ben@monitors.example"]
    assert look.scalars(select(Alert.done_at)).one() is not None


def test_a_sweep_before_the_retry_time_waits(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    smtp.stop()
    hotline.sms(FIRE, sender=SENDER)
    assert escalator(mail_app).drain()
    smtp.start()

    assert sweep(mail_app, utcnow()) == 0
    assert smtp.inbox.messages == []


def test_a_mail_claimed_by_another_sender_is_not_sent_again(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    smtp.stop()
    hotline.sms(FIRE, sender=SENDER)
    assert escalator(mail_app).drain()
    smtp.start()
    # Another sender is sending Ana's mail right now.
    ana = look.scalars(select(AlertMail).where(AlertMail.email == "ana@monitors.example")).one()
    ana.status, ana.claimed_at = AlertMailStatus.SENDING, utcnow()
    look.commit()

    assert sweep(mail_app, utcnow() + timedelta(minutes=5)) == 1
    assert smtp.inbox.recipients == ["ben@monitors.example"]


def test_without_smtp_settings_alerts_are_recorded_for_later(
    app: Flask, twilio: Twilio, session: Session, partners_plain: None
) -> None:
    assert twilio.sms(FIRE).status_code == 200

    assert count(session, Alert) == 1
    assert count(session, AlertMail) == 0


@pytest.fixture
def partners_plain(session: Session) -> None:
    session.add(
        Partner(
            name="Invented Monitors",
            countries=["MY"],
            contacts=[Contact(name="Ana", email="ana@monitors.example")],
        )
    )
    session.commit()


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"INTAKE_SMTP_URL": "http://mail.example", "INTAKE_MAIL_FROM": "a@b.example"}, "scheme"),
        ({"INTAKE_SMTP_URL": "smtp://127.0.0.1:25"}, "INTAKE_MAIL_FROM"),
    ],
)
def test_bad_mail_settings_stop_the_start(
    settings: dict[str, str], problem: str, keys: dict[str, Any]
) -> None:
    environ = {"INTAKE_PUBLIC_URL": "https://hotline.example", "TWILIO_AUTH_TOKEN": "t", **settings}
    with pytest.raises(ConfigError, match=problem):
        Config.from_env(environ, overrides=keys)


def test_mail_settings_are_read_from_the_environment(keys: dict[str, Any]) -> None:
    environ = {
        "INTAKE_PUBLIC_URL": "https://hotline.example",
        "TWILIO_AUTH_TOKEN": "t",
        "INTAKE_SMTP_URL": "smtp+starttls://alerts:secret@mail.example:587",
        "INTAKE_MAIL_FROM": "alerts@hotline.example",
    }
    config = Config.from_env(environ, overrides=keys)

    assert config.smtp_url.startswith("smtp+starttls://")
    assert config.mail_from == "alerts@hotline.example"
    assert HOTLINE  # the invented hotline stays the tests' only number


def test_intake_send_alerts_sends_what_an_outage_left(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    smtp.stop()
    hotline.sms(FIRE, sender=SENDER)
    assert escalator(mail_app).drain()
    smtp.start()
    # The retry time has come.
    look.execute(update(AlertMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    look.commit()

    result = mail_app.test_cli_runner().invoke(main, ["send-alerts"])

    assert result.exit_code == 0, result.output
    assert "sent 2 alert mails" in result.output
    assert smtp.inbox.recipients == ["ana@monitors.example", "ben@monitors.example"]


def test_intake_send_alerts_needs_smtp(runner: FlaskCliRunner) -> None:
    result = runner.invoke(main, ["send-alerts"])

    assert result.exit_code != 0
    assert "INTAKE_SMTP_URL" in result.output


def test_intake_worker_retries_alert_mails(
    mail_app: Flask, hotline: Twilio, smtp: SmtpServer, look: Session, partners: dict[str, Any]
) -> None:
    from intake.messaging.worker import Worker

    smtp.stop()
    hotline.sms(FIRE, sender=SENDER)
    assert escalator(mail_app).drain()
    smtp.start()
    look.execute(update(AlertMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    look.commit()

    worker = Worker(db.sessions(mail_app), mail_app.extensions["intake.sweeps"])

    assert worker.run_once() == 2
    assert worker.run_once() == 0
    assert smtp.inbox.recipients == ["ana@monitors.example", "ben@monitors.example"]
