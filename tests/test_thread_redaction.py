"""A number a worker hides from the filter (letter O for zero, split over two SMS) is hidden.

Issue 11, item 16. Every number here is invented.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Direction, Message
from intake.pipeline.redact import redact, redact_thread

from conftest import Twilio

SENDER = "+60123456789"


def inbound_texts(session: Session) -> list[str]:
    statement = (
        select(Message.text).where(Message.direction == Direction.INBOUND).order_by(Message.id)
    )
    return list(session.scalars(statement))


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def test_a_number_written_with_letter_o_for_zero_is_hidden_in_the_thread(
    twilio: Twilio, session: Session
) -> None:
    assert twilio.sms("pls call me O77OO9OO562 after 9pm", sender=SENDER).status_code == 200
    [text] = inbound_texts(session)
    assert "O77OO9OO562" not in text
    assert "77" not in digits(text)
    assert "[PHONE]" in text
    assert "9pm" in text


def test_a_number_split_over_two_sms_is_hidden_in_both(twilio: Twilio, session: Session) -> None:
    assert (
        twilio.sms("agent took my passport, call my sister 012 34", sender=SENDER).status_code
        == 200
    )
    assert twilio.sms("56789 she knows everything", sender=SENDER).status_code == 200
    first, second = inbound_texts(session)
    assert "012 34" not in first
    assert "56789" not in second
    assert "[PHONE]" in first
    assert "[PHONE]" in second
    assert "passport" in first
    assert "she knows everything" in second
    messages = session.scalars(
        select(Message).where(Message.direction == Direction.INBOUND).order_by(Message.id)
    ).all()
    assert messages[0].redactions.get("PHONE") == 1


def test_two_short_numbers_in_two_sms_of_one_thread_stay() -> None:
    # Line 4 and 3 hours are facts; only digits that read as one number across the join go.
    assert redact_thread(["line 4 again", "3 hours no break"]) == [
        "line 4 again",
        "3 hours no break",
    ]


def test_letters_for_digits_do_not_damage_words() -> None:
    for text in ("Oooh I got O2 mask only", "BOOK 10 Ollie Il Lo", "room 1O1 and 2O2"):
        assert redact(text).text == text
    assert "[PHONE]" in redact("my no. O8l2 345 6789", regions=("TH",)).text
    assert "[PHONE]" in redact("call o77oo9oo562", regions=("MY",)).text
