"""A monitor's reply reaches the worker from the hotline, once, and threads into the report.

Twilio's REST API is the stand-in in tests/twilio_standin.py, on loopback; time is a clock
the tests move, so backoff is checked from what is stored, never by waiting.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake import db
from intake.cli import main
from intake.config import Config, ConfigError
from intake.messaging.outbox import (
    BadBody,
    CannotReach,
    failed_for_report,
    queue_alert,
    queue_reply,
)
from intake.messaging.worker import Sender, Worker
from intake.models import (
    AuditEvent,
    Contact,
    Direction,
    Message,
    Outbox,
    OutboxStatus,
    Partner,
    Report,
    Reporter,
    Role,
    User,
    utcnow,
)

from conftest import HOTLINE, REPO, Twilio
from twilio_standin import Outcome, TwilioStandIn

WORKER = "+66812345670"  # invented
T = TypeVar("T")


@pytest.fixture
def config(config: Config, standin: TwilioStandIn) -> Config:
    """The test configuration, sending through the stand-in from the invented hotline."""
    return replace(
        config,
        twilio_api_base=standin.url,
        hotline_numbers=("+66200000000", HOTLINE),
        outbox_backoff=30.0,
        outbox_max_attempts=4,
    )


class Clock:
    """The worker's time: the real time, moved ahead by the test."""

    def __init__(self) -> None:
        self.offset = timedelta()

    @property
    def now(self) -> datetime:
        return utcnow() + self.offset

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sender(app: Flask, config: Config, clock: Clock) -> Sender:
    return Sender(config, app.extensions["intake.hotline"].keyring, clock=clock)


def run(app: Flask, sender: Sender) -> int:
    """One `intake worker --once`, with the test's sender."""
    return Worker(db.sessions(app), sender.sweeps).run_once()


def fresh(session: Session, model: type[T], row_id: int | None) -> T:
    """The row as stored now (a SELECT, which the session fixture always refreshes)."""
    return session.scalars(select(model).where(model.id == row_id)).one()  # type: ignore[attr-defined]


def monitor(session: Session) -> User:
    with session.begin():
        user = User(
            email="monitor@example.org", name="A Monitor", password_hash="x", role=Role.MONITOR
        )
        session.add(user)
    return user


def reported(twilio: Twilio, session: Session, text: str = "No overtime pay this month") -> Report:
    """A worker's report, arrived through the signed webhook."""
    assert twilio.sms(text, sender=WORKER).status_code == 200
    report = session.scalars(select(Report).order_by(Report.id.desc())).one()
    session.commit()  # end the read, so tests may begin their own transactions
    return report


def reply(
    app: Flask, report_id: int, body: str, author_id: int | None = None
) -> int:
    """A monitor's reply, queued in its own committed transaction as a page would."""
    with db.sessions(app)() as work, work.begin():
        outbox = queue_reply(work, work.get_one(Report, report_id), body, author_id=author_id)
        return outbox.id


def test_a_monitors_reply_is_sent_from_the_hotline_and_kept_redacted_in_the_thread(
    app: Flask, twilio: Twilio, session: Session, standin: TwilioStandIn, sender: Sender
) -> None:
    report = reported(twilio, session)
    author = monitor(session)
    body = "Thank you. Can you call Ms Lee on +66 81 999 0000 tomorrow?"
    outbox_id = reply(app, report.id, body, author.id)

    assert run(app, sender) == 1
    [sent] = standin.created
    assert sent["to"] == WORKER
    assert sent["from"] == HOTLINE  # the report came in on the Malaysian hotline
    assert sent["body"] == body
    assert sent["status_callback"] == "http://localhost/sms/status"
    outbox = fresh(session, Outbox, outbox_id)
    assert outbox.status is OutboxStatus.SENT
    assert outbox.twilio_sid == sent["sid"]
    assert outbox.attempts == 1
    assert "+66 81 999 0000" not in outbox.body  # the plain text is not kept once sent
    message = fresh(session, Message, outbox.message_id)
    assert message.direction is Direction.OUTBOUND
    assert message.report_id == report.id
    assert message.author_id == author.id
    assert message.sid == sent["sid"]
    assert message.delivery_status == "queued"
    assert "+66 81 999 0000" not in message.text
    assert "[PHONE]" in message.text or "PHONE" in message.text
    assert message.original is not None
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.reply")).one()
    assert audit.user_id == author.id
    assert body not in str(audit.detail)


def test_nothing_can_be_queued_for_a_worker_who_opted_out_or_has_no_number(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    report = reported(twilio, session)
    twilio.sms("STOP", sender=WORKER)
    with pytest.raises(CannotReach) as error:
        reply(app, report.id, "Are you safe?")
    assert error.value.reason == "opted_out"

    with session.begin():
        session.execute(update(Reporter).values(opted_out=False, contact=None))
    with pytest.raises(CannotReach) as error:
        reply(app, report.id, "Are you safe?")
    assert error.value.reason == "no_contact"
    with pytest.raises(BadBody):
        reply(app, report.id, "   ")
    assert session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_a_worker_who_opts_out_after_the_reply_was_queued_gets_nothing(
    app: Flask, twilio: Twilio, session: Session, standin: TwilioStandIn, sender: Sender
) -> None:
    report = reported(twilio, session)
    outbox_id = reply(app, report.id, "Are you safe?")
    twilio.sms("STOP", sender=WORKER)

    run(app, sender)

    assert standin.created == []
    assert fresh(session, Outbox, outbox_id).status is OutboxStatus.CANCELLED


def test_a_refusal_fails_at_once(
    app: Flask, twilio: Twilio, session: Session, standin: TwilioStandIn, sender: Sender
) -> None:
    report = reported(twilio, session)
    outbox_id = reply(app, report.id, "Are you safe?")
    standin.plan("create", Outcome(status=400, code=21211))

    run(app, sender)

    row = fresh(session, Outbox, outbox_id)
    assert row.status is OutboxStatus.FAILED
    assert row.attempts == 1
    assert row.last_error == "Twilio HTTP 400 error 21211"
    assert standin.created == []


def test_twilio_refusing_an_opted_out_number_records_the_opt_out(
    app: Flask, twilio: Twilio, session: Session, standin: TwilioStandIn, sender: Sender
) -> None:
    report = reported(twilio, session)
    outbox_id = reply(app, report.id, "Are you safe?")
    standin.plan("create", Outcome(status=400, code=21610))

    run(app, sender)

    assert fresh(session, Outbox, outbox_id).status is OutboxStatus.CANCELLED
    assert fresh(session, Reporter, report.reporter_id).opted_out


def test_a_rate_limit_waits_as_long_as_twilio_asks_then_sends_once(
    app: Flask,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
    sender: Sender,
    clock: Clock,
) -> None:
    report = reported(twilio, session)
    first = reply(app, report.id, "First question")
    second = reply(app, report.id, "Second question")
    standin.plan("create", Outcome(status=429, retry_after=300))
    before = clock.now

    run(app, sender)

    for outbox_id in (first, second):
        row = fresh(session, Outbox, outbox_id)
        assert row.status is OutboxStatus.QUEUED
        # Twilio asked for 300 s, more than the backoff: the whole batch waits that long.
        assert row.next_attempt_at >= before + timedelta(seconds=300)
    assert fresh(session, Outbox, first).attempts == 1
    assert fresh(session, Outbox, second).attempts == 0  # never tried
    assert fresh(session, Outbox, first).last_error == "Twilio HTTP 429 error 20429"
    assert len(standin.calls("create")) == 1

    clock.advance(seconds=301)
    run(app, sender)
    assert [m["body"] for m in standin.created] == ["First question", "Second question"]


def test_a_server_error_is_checked_with_twilio_before_sending_again(
    app: Flask,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
    sender: Sender,
    clock: Clock,
) -> None:
    report = reported(twilio, session)
    outbox_id = reply(app, report.id, "Did they pay you?")
    # Twilio took the first one but answered 502; the second attempt is refused with 500.
    standin.plan("create", Outcome(status=502, accept=True))

    run(app, sender)
    row = fresh(session, Outbox, outbox_id)
    assert row.status is OutboxStatus.SENDING
    assert row.attempts == 1
    assert len(standin.calls("list")) == 0  # not yet: backoff first

    clock.advance(seconds=31)
    run(app, sender)

    [sent] = standin.created
    row = fresh(session, Outbox, outbox_id)
    assert row.status is OutboxStatus.SENT
    assert row.twilio_sid == sent["sid"]
    assert len(standin.calls("create")) == 1  # found at Twilio, not sent again
    [lookup] = standin.calls("list")
    assert lookup.query["To"] == WORKER


def test_a_send_twilio_never_took_is_sent_again_after_the_check(
    app: Flask,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
    sender: Sender,
    clock: Clock,
) -> None:
    report = reported(twilio, session)
    outbox_id = reply(app, report.id, "Did they pay you?")
    standin.plan("create", Outcome(status=500))

    run(app, sender)
    clock.advance(seconds=31)
    run(app, sender)

    assert len(standin.created) == 1
    assert len(standin.calls("create")) == 2
    row = fresh(session, Outbox, outbox_id)
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 2


def test_after_the_last_attempt_the_failure_shows_in_the_thread(
    app: Flask,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
    sender: Sender,
    clock: Clock,
) -> None:
    report = reported(twilio, session)
    outbox_id = reply(app, report.id, "Did they pay you?")
    standin.plan("create", *[Outcome(status=503)] * 10)

    for _ in range(12):
        run(app, sender)
        clock.advance(hours=2)

    assert len(standin.calls("create")) == 4  # outbox_max_attempts
    row = fresh(session, Outbox, outbox_id)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error == "not sent after 4 attempts"
    assert WORKER not in (row.last_error or "")
    assert [r.id for r in failed_for_report(session, report.id)] == [outbox_id]
    shown = fresh(session, Message, row.message_id)
    assert shown.delivery_status == "failed"
    assert shown.report_id == report.id


def test_a_timeout_after_twilio_took_the_message_does_not_send_it_twice(
    app: Flask,
    config: Config,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    report = reported(twilio, session)
    outbox_id = reply(app, report.id, "Is the exit still locked?")
    standin.plan("create", Outcome(delay=3, accept=True))
    impatient = Sender(
        replace(config, twilio_timeout=0.3),
        app.extensions["intake.hotline"].keyring,
        clock=clock,
    )

    run(app, impatient)
    clock.advance(minutes=1)
    run(app, impatient)

    assert len(standin.created) == 1
    assert fresh(session, Outbox, outbox_id).twilio_sid == standin.created[0]["sid"]


def test_a_row_a_dead_worker_left_sending_is_settled_by_asking_twilio(
    app: Flask,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
    sender: Sender,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    report = reported(twilio, session)
    reached = reply(app, report.id, "Same words")
    lost = reply(app, report.id, "Same words")  # a monitor sent the same text twice
    other = reply(app, report.id, "Never reached Twilio")
    # A worker claimed all three, Twilio took the first, then the worker died.
    with session.begin():
        session.execute(
            update(Outbox).values(status=OutboxStatus.SENDING, claimed_at=clock.now)
        )
    standin._create("", {"To": WORKER, "From": HOTLINE, "Body": "Same words"})

    run(app, sender)
    assert len(standin.created) == 1  # a fresh claim is left alone

    clock.advance(minutes=11)  # past outbox_stale_after
    run(app, sender)

    statuses = {i: fresh(session, Outbox, i).status for i in (reached, lost, other)}
    assert set(statuses.values()) == {OutboxStatus.SENT}
    bodies = sorted(m["body"] for m in standin.created)
    assert bodies == ["Never reached Twilio", "Same words", "Same words"]
    sids = {fresh(session, Outbox, i).twilio_sid for i in (reached, lost, other)}
    assert len(sids) == 3
    assert standin.calls("list")  # the lookups name the number to Twilio, and only there
    assert WORKER.lstrip("+") not in caplog.text


def test_an_alert_goes_to_the_on_call_contact_without_a_thread_entry(
    app: Flask, session: Session, standin: TwilioStandIn, sender: Sender
) -> None:
    keyring = app.extensions["intake.hotline"].keyring
    from intake.pipeline.identity import parse_address

    with session.begin():
        partner = Partner(name="Invented Monitors", countries=["TH"])
        contact = Contact(
            partner=partner,
            name="On call",
            phone=keyring.encrypt_contact(parse_address("+66899999999")),
        )
        session.add_all([partner, contact])
    with db.sessions(app)() as work, work.begin():
        outbox_id = queue_alert(work, work.get_one(Contact, contact.id), "Urgent report K7P4QX").id

    run(app, sender)

    [sent] = standin.created
    assert sent["to"] == "+66899999999"
    assert sent["from"] == "+66200000000"  # the Thai hotline: no report, the default sender
    assert fresh(session, Outbox, outbox_id).status is OutboxStatus.SENT
    assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_two_workers_racing_send_each_message_once(
    app: Flask, config: Config, twilio: Twilio, session: Session, standin: TwilioStandIn
) -> None:
    report = reported(twilio, session)
    with db.sessions(app)() as work, work.begin():
        subject = work.get_one(Report, report.id)
        for number in range(60):
            queue_reply(work, subject, f"question {number}", author_id=None)
    keyring = app.extensions["intake.hotline"].keyring
    workers = [Worker(db.sessions(app), Sender(config, keyring, batch=5).sweeps) for _ in "ab"]
    start = threading.Barrier(len(workers))

    def work(worker: Worker) -> None:
        start.wait()
        worker.run_once()

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    bodies = [m["body"] for m in standin.created]
    assert sorted(bodies) == sorted(f"question {n}" for n in range(60))
    sent = session.scalar(
        select(func.count()).select_from(Outbox).where(Outbox.status == OutboxStatus.SENT)
    )
    assert sent == 60


def environment(config: Config, **extra: str) -> dict[str, str]:
    """The environment of a deployment configured like `config`."""
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
        "INTAKE_HOTLINE_NUMBERS": ",".join(config.hotline_numbers),
        **extra,
    }


def test_the_worker_command_sends_and_exits_with_once(
    app: Flask, config: Config, twilio: Twilio, session: Session, standin: TwilioStandIn
) -> None:
    report = reported(twilio, session)
    reply(app, report.id, "Thank you for telling us")

    result = CliRunner().invoke(main, ["worker", "--once"], env=environment(config))

    assert result.exit_code == 0, result.output
    assert "handled 1" in result.output
    assert len(standin.created) == 1
    assert standin.requests[0].account == config.twilio_account_sid


def test_the_worker_command_needs_a_sender(config: Config) -> None:
    env = environment(config, INTAKE_HOTLINE_NUMBERS="")
    result = CliRunner().invoke(main, ["worker", "--once"], env=env)

    assert result.exit_code != 0
    assert "INTAKE_HOTLINE_NUMBERS" in result.output


def test_the_anonymous_relay_threads_the_workers_answer_into_the_same_report(
    app: Flask,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
    sender: Sender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the twilio library's included
    report = reported(twilio, session, "They keep our passports at the dormitory office")
    reply(app, report.id, "Which factory is this? You can answer here.")
    run(app, sender)
    [sent] = standin.created

    # The worker answers the number the question came from: the hotline.
    answer = twilio.sms("Factory F-1234, line 2", sender=sent["to"], to=sent["from"])
    assert answer.status_code == 200

    assert session.scalar(select(func.count()).select_from(Report)) == 1
    thread = session.scalars(
        select(Message).where(Message.report_id == report.id).order_by(Message.id)
    ).all()
    kinds = [(m.direction, m.author_id is None) for m in thread]
    assert kinds[0][0] is Direction.INBOUND
    assert thread[-2].direction is Direction.INBOUND  # the answer
    assert "Factory" in thread[-2].text
    # Nobody in the system sees the number: not in any stored text or column.
    for model in (Message, Report, Reporter, Outbox):
        for row in session.scalars(select(model)):
            for value in vars(row).values():
                assert WORKER not in str(value)
                assert WORKER.lstrip("+") not in str(value)
    assert WORKER.lstrip("+") not in caplog.text


@pytest.mark.slow
def test_a_worker_killed_mid_send_leaves_nothing_to_send_twice(
    app: Flask,
    config: Config,
    twilio: Twilio,
    session: Session,
    standin: TwilioStandIn,
    clock: Clock,
) -> None:
    report = reported(twilio, session)
    taken = reply(app, report.id, "Twilio takes this one, then the worker dies")
    waiting = reply(app, report.id, "This one was claimed but never tried")
    standin.plan("create", Outcome(delay=60, accept=True))
    process = subprocess.Popen(
        [sys.executable, "-m", "intake", "worker"],
        cwd=REPO,
        env=dict(os.environ, **environment(config)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not standin.created and time.monotonic() < deadline:
            time.sleep(0.05)
        assert standin.created, "the worker never called Twilio"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert {fresh(session, Outbox, i).status for i in (taken, waiting)} == {OutboxStatus.SENDING}

    clock.advance(minutes=11)
    keyring = app.extensions["intake.hotline"].keyring
    run(app, Sender(config, keyring, clock=clock))

    assert sorted(m["body"] for m in standin.created) == [
        "This one was claimed but never tried",
        "Twilio takes this one, then the worker dies",
    ]
    assert len(standin.calls("create")) == 2
    assert fresh(session, Outbox, taken).twilio_sid == standin.created[0]["sid"]
    assert {fresh(session, Outbox, i).status for i in (taken, waiting)} == {OutboxStatus.SENT}


def test_the_messaging_settings_come_from_the_environment() -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    env = {
        "INTAKE_SECRET_KEY": "s" * 32,
        "INTAKE_PSEUDONYM_PEPPER": "p" * 32,
        "INTAKE_CONTACT_KEYS": key,
        "INTAKE_TEXT_KEYS": key,
        "TWILIO_AUTH_TOKEN": "t" * 32,
        "INTAKE_PUBLIC_URL": "https://hotline.example.org",
        "INTAKE_HOTLINE_NUMBERS": "+60300000000, +66200000000",
        "INTAKE_TWILIO_API_BASE": "http://127.0.0.1:9",
        "INTAKE_OUTBOX_MAX_ATTEMPTS": "3",
        "INTAKE_OUTBOX_STALE_MINUTES": "5",
        "INTAKE_TWILIO_DELETE_AFTER_PROCESSING": "yes",
    }
    config = Config.from_env(env)

    assert config.hotline_numbers == ("+60300000000", "+66200000000")
    assert config.twilio_api_base == "http://127.0.0.1:9"
    assert config.outbox_max_attempts == 3
    assert config.outbox_stale_after == timedelta(minutes=5)
    assert config.twilio_delete_after_processing
    with pytest.raises(ConfigError, match="INTAKE_OUTBOX_STALE_MINUTES"):
        Config.from_env(env | {"INTAKE_TWILIO_TIMEOUT": "120"})
