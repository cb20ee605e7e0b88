"""Twilio's delivery status callbacks: signed, recorded on our message, never moving backwards."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_hostile_forms import SETTINGS, hostile_forms, post

from intake import db
from intake.config import Config
from intake.messaging.outbox import queue_reply
from intake.messaging.twilio_api import DELIVERY_ORDER
from intake.messaging.worker import Sender, Worker
from intake.models import Message, Outbox, Report

from conftest import ACCOUNT_SID, HOTLINE, Twilio
from twilio_standin import TwilioStandIn

WORKER = "+66812345671"  # invented


@pytest.fixture
def config(config: Config, standin: TwilioStandIn) -> Config:
    return replace(config, twilio_api_base=standin.url, hotline_numbers=(HOTLINE,))


@pytest.fixture
def sent_sid(app: Flask, config: Config, twilio: Twilio, session: Session) -> str:
    """The SID of a monitor's reply that the worker has sent."""
    assert twilio.sms("They took our passports", sender=WORKER).status_code == 200
    with db.sessions(app)() as work, work.begin():
        report = work.scalars(select(Report)).one()
        queue_reply(work, report, "Are you safe now?", author_id=None)
    keyring = app.extensions["intake.hotline"].keyring
    Worker(db.sessions(app), Sender(config, keyring).sweeps).run_once()
    sid = session.scalars(select(Outbox.twilio_sid)).one()
    assert sid is not None
    return sid


def callback(twilio: Twilio, sid: str, status: str, **extra: str) -> int:
    fields = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": HOTLINE,
        "To": WORKER,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return twilio.post(fields, path="/sms/status").status_code


def delivery(session: Session, sid: str) -> str | None:
    return session.scalars(select(Message.delivery_status).where(Message.sid == sid)).one()


def test_status_moves_forward_and_a_late_sent_does_not_undo_delivered(
    twilio: Twilio, session: Session, sent_sid: str
) -> None:
    assert delivery(session, sent_sid) == "queued"
    for status, expected in [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("sent", "delivered"),  # arrived late
        ("queued", "delivered"),
    ]:
        assert callback(twilio, sent_sid, status) == 204
        assert delivery(session, sent_sid) == expected


def test_undelivered_is_shown_with_twilios_error_code(
    twilio: Twilio, session: Session, sent_sid: str
) -> None:
    assert callback(twilio, sent_sid, "undelivered", ErrorCode="30003") == 204

    assert delivery(session, sent_sid) == "undelivered"
    outbox = session.scalars(select(Outbox)).one()
    assert outbox.last_error == "delivery undelivered error 30003"


def test_an_unknown_sid_is_answered_and_nothing_is_stored(
    twilio: Twilio, session: Session
) -> None:
    before = session.scalar(select(func.count()).select_from(Message))

    assert callback(twilio, "SM" + "f" * 32, "delivered") == 204

    assert session.scalar(select(func.count()).select_from(Message)) == before


def test_an_unsigned_or_malformed_callback_is_refused(
    app: Flask, twilio: Twilio, session: Session, sent_sid: str
) -> None:
    unsigned = app.test_client().post(
        "/sms/status", data={"MessageSid": sent_sid, "MessageStatus": "failed"}
    )
    assert unsigned.status_code == 403
    assert callback(twilio, "not-a-sid", "delivered") == 400
    assert callback(twilio, sent_sid, "") == 400
    assert delivery(session, sent_sid) == "queued"


@pytest.mark.parametrize("status", ["delivered", "failed"])
def test_a_callback_for_an_inbound_sid_changes_nothing(
    twilio: Twilio, session: Session, status: str
) -> None:
    # A worker's own SMS has a SID too; a callback naming it is not about anything we sent.
    inbound = "SM" + "c" * 32
    assert twilio.sms("They took our passports", sender=WORKER, sid=inbound).status_code == 200

    assert callback(twilio, inbound, status) == 204

    assert delivery(session, inbound) is None
    assert session.scalar(select(func.count()).select_from(Outbox)) == 0


@given(data=st.data())
@SETTINGS
def test_any_signed_callback_is_answered_below_500_and_keeps_a_known_status(
    twilio: Twilio, session: Session, sent_sid: str, data: st.DataObject
) -> None:
    base = {"MessageSid": sent_sid, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}
    pairs = data.draw(hostile_forms({**base, "ErrorCode": "30003"}))
    nul = [*{**base, "MessageStatus": "failed", "ErrorCode": "\x00"}.items()]
    pairs = data.draw(st.sampled_from([pairs, nul]))
    before = session.scalar(select(func.count()).select_from(Message))

    response = post(twilio, "/sms/status", pairs)

    assert response.status_code < 500, response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Message)) == before
    assert delivery(session, sent_sid) in DELIVERY_ORDER
    last_error = session.scalars(select(Outbox.last_error)).one()
    assert last_error is None or last_error.isprintable()
