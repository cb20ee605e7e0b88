"""Original texts: encrypted at rest, readable by allowed roles only, and only while kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Direction, Message, utcnow
from intake.pipeline.originals import OriginalGone, OriginalNotAllowed, read_original

from conftest import Twilio

BODY = "my name is Maria Santos, call 07700 900461, the boss hits us"


@pytest.fixture
def stored(twilio: Twilio, session: Session) -> Message:
    assert twilio.sms(BODY, sender="+447700900460").status_code == 200
    return session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()


def test_everyone_sees_redacted_text(stored: Message) -> None:
    assert "Maria" not in stored.text
    assert "900461" not in stored.text
    assert "[NAME]" in stored.text
    assert "[PHONE]" in stored.text
    assert BODY.encode() not in (stored.original or b"")


def test_an_allowed_role_reads_the_original(app: Flask, stored: Message) -> None:
    config = app.config["INTAKE"]
    keyring = app.extensions["intake.hotline"].keyring

    text = read_original(
        stored, keyring, role="coordinator", allowed_roles=config.original_text_roles
    )
    assert text == BODY


def test_a_monitor_is_refused(app: Flask, stored: Message) -> None:
    keyring = app.extensions["intake.hotline"].keyring

    with pytest.raises(OriginalNotAllowed):
        read_original(stored, keyring, role="monitor", allowed_roles=("admin", "coordinator"))


def test_the_original_is_gone_after_its_retention(app: Flask, stored: Message) -> None:
    keyring = app.extensions["intake.hotline"].keyring
    retention = app.config["INTAKE"].original_text_retention
    assert stored.original_expires_at is not None
    assert abs(stored.original_expires_at - (utcnow() + retention)) < timedelta(minutes=1)

    with pytest.raises(OriginalGone):
        read_original(
            stored, keyring, role="admin", allowed_roles=("admin",),
            now=utcnow() + retention + timedelta(seconds=1),
        )


def test_purge_deletes_only_expired_originals(
    app: Flask, twilio: Twilio, session: Session, stored: Message
) -> None:
    from intake.db import sessions
    from intake.pipeline.originals import purge_expired_originals

    twilio.sms("a second, newer message", sender="+447700900461")
    retention = app.config["INTAKE"].original_text_retention
    with sessions(app)() as fresh:
        assert purge_expired_originals(fresh) == 0
        later = utcnow() + retention + timedelta(minutes=5)
        assert purge_expired_originals(fresh, now=later) == 2

    originals = session.scalars(select(Message.original).where(Message.sid.is_not(None)))
    assert list(originals) == [None, None]
    assert "[NAME]" in session.get(Message, stored.id).text  # the redacted text stays
