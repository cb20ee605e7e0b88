"""No phone number, in any format, reaches a table, a log line or a response."""

from __future__ import annotations

import logging
import re

import phonenumbers
import pytest
from flask import Flask
from sqlalchemy import create_engine, inspect, text

from conftest import Twilio

# Invented numbers in several countries (all-zero or fictional ranges where one exists).
SENDERS = ["+8613800000001", "+66812340001", "+84901230001", "+60123400001", "+447700900555"]
PNF = phonenumbers.PhoneNumberFormat


def formats(number: str) -> list[str]:
    """Ways a number can be written: E.164, international, national, bare digits."""
    parsed = phonenumbers.parse(number)
    national = str(parsed.national_number)
    return [
        number,
        number.lstrip("+"),
        phonenumbers.format_number(parsed, PNF.INTERNATIONAL),
        phonenumbers.format_number(parsed, PNF.NATIONAL),
        national,
    ]


def digit_runs(dump: str) -> list[str]:
    """Every run of digits in `dump`, with the separators people type between them removed."""
    return [re.sub(r"\D", "", run) for run in re.findall(r"\d[\d\s().\-/]{5,}\d", dump)]


def assert_no_number(dump: str, where: str) -> None:
    runs = digit_runs(dump)
    for number in SENDERS:
        national = str(phonenumbers.parse(number).national_number)
        for written in formats(number):
            assert written not in dump, f"{where} contains a phone number"
        assert not any(national in run for run in runs), f"{where} contains a phone number"


def dump_database(url: str) -> str:
    engine = create_engine(url)
    parts = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("latin-1")
                    parts.append(str(value))
    engine.dispose()
    return "\n".join(parts)


def test_no_phone_number_is_stored_logged_or_answered(
    app: Flask, twilio: Twilio, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    responses = []
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
        try:
            for number in SENDERS:
                parsed = phonenumbers.parse(number)
                national = phonenumbers.format_number(parsed, PNF.NATIONAL)
                for body in (
                    "They did not pay overtime this month",
                    f"call me on {national}, my number is {number}",
                    f"我的电话{parsed.national_number}请联系",
                    "STOP",
                    "START",
                    "HELP",
                ):
                    response = twilio.sms(body, sender=number)
                    assert response.status_code == 200
                    responses.append(response.get_data(as_text=True))
            twilio.client.post("/sms/inbound", data={"From": SENDERS[0], "Body": "unsigned"})
        finally:
            logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    assert len(caplog.records) > 20, "the test should have seen the app's and SQLAlchemy's logs"
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    assert_no_number(logged, "a log line")
    assert_no_number("\n".join(responses), "a response")
    stored = dump_database(database_url)
    assert "did not pay overtime" in stored  # the dump really holds the data
    assert_no_number(stored, "the database")


def test_the_contact_number_can_still_be_recovered_for_replies(
    app: Flask, twilio: Twilio, database_url: str
) -> None:
    twilio.sms("hello", sender=SENDERS[1])
    engine = create_engine(database_url)
    with engine.connect() as connection:
        token = connection.execute(text("SELECT contact FROM reporter")).scalar_one()
    engine.dispose()

    keyring = app.extensions["intake.hotline"].keyring
    assert keyring.decrypt_contact(bytes(token)) == SENDERS[1]
