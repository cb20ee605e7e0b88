"""Messages whose webhook failed are fetched from Twilio's log and stored exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from intake import db
from intake.cli import main
from intake.config import Config
from intake.messaging.worker import Sender, Worker
from intake.models import Direction, Message, MessageKind, Outbox, OutboxStatus, Report

from conftest import HOTLINE, Twilio, form
from twilio_standin import TwilioStandIn

WORKERS = [f"+6681234{n:04d}" for n in range(6)]  # invented


@pytest.fixture
def config(config: Config, standin: TwilioStandIn) -> Config:
    # A short database timeout: each webhook post during the outage gets its 503 quickly.
    return replace(
        config, twilio_api_base=standin.url, hotline_numbers=(HOTLINE,), database_timeout=0.5
    )


@contextmanager
def database_down(database_url: str) -> Iterator[None]:
    """Writes to the message table fail while inside (as when the database is unavailable)."""
    other = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with other.connect() as connection:
        if database_url.startswith("sqlite"):
            connection.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            connection.execute(text("BEGIN"))
            connection.execute(text("LOCK TABLE message IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            connection.execute(text("ROLLBACK"))
    other.dispose()


def deliver(twilio: Twilio, standin: TwilioStandIn, body: str, sender: str) -> int:
    """Twilio receives an SMS (its log holds it) and posts it to our webhook once."""
    sid = standin.add_inbound(body, sender=sender, to=HOTLINE)
    return twilio.post(form(body, sender=sender, sid=sid)).status_code


def stored_per_sid(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Message.sid, func.count())
        .where(Message.direction == Direction.INBOUND)
        .group_by(Message.sid)
    )
    return {sid: count for sid, count in rows}


def environment(config: Config) -> dict[str, str]:
    return {
        "INTAKE_ENV": "production",
        "DATABASE_URL": config.database_url,
        "INTAKE_SECRET_KEY": config.secret_key,
        "INTAKE_PSEUDONYM_PEPPER": config.pseudonym_pepper,
        "INTAKE_CONTACT_KEYS": ",".join(config.contact_keys),
        "INTAKE_TEXT_KEYS": ",".join(config.text_keys),
        "TWILIO_AUTH_TOKEN": config.twilio_auth_token,
        "TWILIO_ACCOUNT_SID": config.twilio_account_sid,
        "INTAKE_PUBLIC_URL": config.public_url,
        "INTAKE_TWILIO_API_BASE": config.twilio_api_base,
        "INTAKE_HOTLINE_NUMBERS": HOTLINE,
    }


def test_messages_lost_while_the_database_was_down_are_stored_once_by_reconcile(
    app: Flask,
    config: Config,
    database_url: str,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
) -> None:
    statuses = [deliver(twilio, standin, "No overtime pay again", WORKERS[0])]
    with database_down(database_url):
        statuses += [
            deliver(twilio, standin, f"The fire exit on floor {n} is locked", sender)
            for n, sender in enumerate(WORKERS[1:4], start=1)
        ]
    statuses.append(deliver(twilio, standin, "Still no overtime pay", WORKERS[0]))
    standin.add_inbound("STOP", sender=WORKERS[4], to=HOTLINE)  # fallback URL failed too
    assert statuses == [200, 503, 503, 503, 200]
    assert len(stored_per_sid(session)) == 2

    env = environment(config)
    first = CliRunner().invoke(main, ["reconcile", "--since", "30"], env=env)
    again = CliRunner().invoke(main, ["reconcile", "--since", "30"], env=env)

    assert first.exit_code == 0, first.output
    assert "stored 4 missing ones" in first.output
    assert "stored 0 missing ones" in again.output
    held = {sid for sid, m in standin.messages.items() if m["direction"] == "inbound"}
    assert stored_per_sid(session) == dict.fromkeys(held, 1)
    assert session.scalar(select(func.count()).select_from(Report)) == 4
    stop = session.scalars(select(Message).where(Message.kind == MessageKind.OPT_OUT)).one()
    assert stop.reporter.opted_out
    # The late answers ("Report … received") wait in the outbox, one per new report.
    queued = session.scalars(select(Outbox).where(Outbox.status == OutboxStatus.QUEUED)).all()
    assert len(queued) == 3
    assert standin.calls("delete") == []


def test_the_late_answer_is_sent_once_and_marks_the_threads_reply(
    app: Flask, config: Config, session: Session, standin: TwilioStandIn
) -> None:
    standin.add_inbound("They kept my passport", sender=WORKERS[5], to=HOTLINE)
    result = CliRunner().invoke(main, ["reconcile"], env=environment(config))
    assert result.exit_code == 0, result.output

    keyring = app.extensions["intake.hotline"].keyring
    Worker(db.sessions(app), Sender(config, keyring).sweeps).run_once()

    [sent] = standin.created
    assert sent["to"] == WORKERS[5]
    answer = session.scalars(
        select(Message).where(Message.direction == Direction.OUTBOUND)
    ).one()  # the thread's automatic reply, not a second copy
    assert answer.kind is MessageKind.AUTO_REPLY
    assert answer.sid == sent["sid"]
    assert answer.text == sent["body"]
    code = session.scalars(select(Report.code)).one()
    assert code in sent["body"]


def test_delete_removes_what_we_hold_from_twilios_log(
    config: Config, twilio: Twilio, session: Session, standin: TwilioStandIn
) -> None:
    deliver(twilio, standin, "No overtime pay again", WORKERS[0])
    standin.add_inbound("Missed by the webhook", sender=WORKERS[1], to=HOTLINE)
    env = environment(config) | {"INTAKE_TWILIO_DELETE_AFTER_PROCESSING": "true"}

    result = CliRunner().invoke(main, ["reconcile"], env=env)

    assert result.exit_code == 0, result.output
    assert "deleted 2 from Twilio (0 failed)" in result.output
    assert [m for m in standin.messages.values() if m["direction"] == "inbound"] == []
    assert len(stored_per_sid(session)) == 2
