"""A worker's SMS through the real webhook: stored once, pseudonymous, answered in kind."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from intake.models import Direction, Message, MessageKind, Report, Reporter, utcnow
from intake.pipeline.codes import ALPHABET, LENGTH

from conftest import HOTLINE, Twilio, form


def replies(response: TestResponse) -> list[str]:
    """The texts of the <Message> elements of a TwiML answer."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ElementTree.fromstring(response.get_data())
    assert root.tag == "Response"
    return [node.text or "" for node in root.iter("Message")]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_new_report_is_stored_and_answered_in_the_workers_language(
    twilio: Twilio, session: Session
) -> None:
    response = twilio.sms("หัวหน้าบังคับให้ทำโอทีทุกวัน ไม่จ่ายค่าแรงสองเดือนแล้ว", sender="+66812345670")

    [reply] = replies(response)
    report = session.scalars(select(Report)).one()
    assert len(report.code) == LENGTH
    assert set(report.code) <= set(ALPHABET)
    assert report.code in reply
    assert "STOP" in reply
    assert any("\u0e00" <= char <= "\u0e7f" for char in reply), "reply should be in Thai"
    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert inbound.language == "th"
    assert inbound.report_id == report.id
    assert report.reporter.language == "th"
    outbound = session.scalars(select(Message).where(Message.direction == Direction.OUTBOUND)).one()
    assert outbound.text == reply
    assert outbound.reply_to_id == inbound.id


def test_a_retried_delivery_stores_nothing_new_and_gets_the_same_answer(
    twilio: Twilio, session: Session
) -> None:
    fields = form("We have not been paid for two months", sender="+447700900123")
    first = replies(twilio.post(fields))
    again = replies(twilio.post(fields))

    assert first == again
    assert count(session, Message) == 2  # the SMS and our answer, once each
    assert count(session, Report) == 1


def test_follow_up_threads_into_the_open_report(twilio: Twilio, session: Session) -> None:
    [first] = replies(twilio.sms("Supervisor shouts at us every day", sender="+447700900124"))
    [second] = replies(twilio.sms("It happened again on line 4 today", sender="+447700900124"))

    report = session.scalars(select(Report)).one()
    assert report.code in first
    assert report.code in second
    assert first != second  # "received" vs "added to"
    assert count(session, Message) == 4


def test_a_message_after_the_window_starts_a_new_report(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    twilio.sms("No overtime pay this month", sender="+447700900125")
    with session.begin():
        report = session.scalars(select(Report)).one()
        report.last_message_at = utcnow() - app.config["INTAKE"].thread_window - timedelta(hours=1)
    twilio.sms("Now they lock the toilets during the shift", sender="+447700900125")

    assert count(session, Report) == 2


def test_a_report_code_in_the_text_threads_into_that_report(
    twilio: Twilio, session: Session
) -> None:
    twilio.sms("They kept my passport", sender="+447700900126")
    code = session.scalars(select(Report)).one().code
    # The same worker on a borrowed phone, typing the code in lower case.
    text = f"this is about {code.lower()}: still no passport"
    [reply] = replies(twilio.sms(text, sender="+447700900127"))

    assert count(session, Report) == 1
    assert code in reply
    assert count(session, Reporter) == 2


def test_urgent_danger_is_flagged_on_the_report(twilio: Twilio, session: Session) -> None:
    twilio.sms("FIRE on line 3 and the emergency exit is locked, people inside!")

    report = session.scalars(select(Report)).one()
    assert report.urgent
    assert "health_safety" in report.category_codes


def test_location_fields_derived_from_the_number_are_not_kept(
    twilio: Twilio, session: Session
) -> None:
    twilio.post(form("hello", FromCity="SAMUT PRAKAN", FromState="SP", FromZip="10270"))

    stored = " ".join(
        str(value)
        for model in (Message, Reporter, Report)
        for row in session.scalars(select(model))
        for value in vars(row).values()
    )
    for value in ("SAMUT PRAKAN", "10270"):
        assert value not in stored
    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert inbound.from_country == "TH"


# --- signatures -----------------------------------------------------------------------------


def test_an_unsigned_request_is_refused_and_nothing_is_stored(
    client: Flask, session: Session
) -> None:
    response = client.post("/sms/inbound", data=form("hello"))

    assert response.status_code == 403
    assert "signature" in response.get_data(as_text=True).lower()
    assert count(session, Message) == 0


def test_a_wrong_signature_is_refused(twilio: Twilio, session: Session) -> None:
    fields = form("hello")
    signature = twilio.validator.compute_signature("http://localhost/sms/inbound", fields)
    fields["Body"] = "tampered"
    response = twilio.client.post(
        "/sms/inbound", data=fields, headers={"X-Twilio-Signature": signature}
    )

    assert response.status_code == 403
    assert count(session, Message) == 0


def test_a_request_signed_with_another_token_is_refused(
    client: Flask, session: Session
) -> None:
    response = Twilio(client, token="someone-elses-token").sms("hello")

    assert response.status_code == 403
    assert count(session, Message) == 0


def test_a_request_for_another_account_is_refused(twilio: Twilio, session: Session) -> None:
    response = twilio.post(form("hello", AccountSid="AC" + "9" * 32))

    assert response.status_code == 403
    assert count(session, Message) == 0


def test_the_signature_covers_the_raw_query_string(twilio: Twilio) -> None:
    # Twilio signs the URL exactly as configured; %2F must not be decoded before checking.
    fields = form("hello")
    path = "/sms/inbound?hotline=a%2Fb&x=1"
    signature = twilio.validator.compute_signature(f"http://localhost{path}", fields)
    response = twilio.client.post(path, data=fields, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 200


def test_behind_a_tls_proxy_the_public_url_is_what_is_signed(config: object) -> None:
    from dataclasses import replace

    from intake import create_app

    public = "https://hotline.example.org"
    app = create_app(replace(config, public_url=public))  # type: ignore[type-var]
    twilio = Twilio(app.test_client())
    fields = form("hello")

    # The app sees http://localhost; Twilio signed the public https URL.
    assert twilio.post(fields, signed_url=f"{public}/sms/inbound").status_code == 200
    assert twilio.post(form("again"), signed_url="http://localhost/sms/inbound").status_code == 403


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["From", "Body", "MessageSid"])
def test_a_signed_request_missing_a_field_gets_400(
    twilio: Twilio, session: Session, missing: str
) -> None:
    fields = form("hello")
    del fields[missing]
    if missing == "MessageSid":
        del fields["SmsMessageSid"]
    response = twilio.post(fields)

    assert response.status_code == 400
    assert missing in response.get_data(as_text=True)
    assert count(session, Message) == 0


def test_once_signed_odd_fields_are_stored_not_refused(twilio: Twilio, session: Session) -> None:
    fields = form("no pay for 2 months", sender="+447700900140", NumMedia="abc")
    del fields["To"]
    replies(twilio.post(fields))

    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert inbound.num_media == 0
    assert session.scalars(select(Report)).one().country is None


@pytest.mark.parametrize(
    ("sender", "hotline"),
    [
        ("+870773100000", HOTLINE),  # a satellite phone at sea: no country
        ("+88216000000", HOTLINE),
        ("+447700900141", "+80012345678"),  # an international freephone hotline
        ("whatsapp:+447700900142", "whatsapp:+60300000000"),
        ("IntakeTest", HOTLINE),  # an alphanumeric sender id
    ],
)
def test_any_twilio_address_is_stored(
    app: Flask, twilio: Twilio, session: Session, sender: str, hotline: str
) -> None:
    replies(twilio.sms("the boss keeps our passports", sender=sender, to=hotline))
    replies(twilio.sms("HELP", sender=sender, to=hotline))

    reporter = session.scalars(select(Reporter)).one()
    assert reporter.country is None or len(reporter.country) == 2
    keyring = app.extensions["intake.hotline"].keyring
    # Replies go back on the channel the worker used.
    assert keyring.decrypt_contact(reporter.contact or b"") == sender


def test_a_message_naming_a_closed_reports_code_opens_a_new_report(
    twilio: Twilio, session: Session
) -> None:
    from intake.models import ReportStatus

    twilio.sms("they hold our passports", sender="+447700900143")
    with session.begin():
        report = session.scalars(select(Report)).one()
        report.status = ReportStatus.CLOSED
    twilio.sms(f"{report.code} now they fired me", sender="+447700900144")

    assert count(session, Report) == 2


def test_a_malformed_message_sid_gets_400(twilio: Twilio, session: Session) -> None:
    response = twilio.post(form("hello", MessageSid="'; DROP TABLE message; --"))

    assert response.status_code == 400
    assert count(session, Message) == 0


def test_a_body_over_the_limit_gets_413(twilio: Twilio, session: Session) -> None:
    response = twilio.sms("x" * 200_000)

    assert response.status_code == 413
    assert count(session, Message) == 0


def test_a_non_form_body_is_refused_not_crashed(twilio: Twilio, session: Session) -> None:
    response = twilio.client.post(
        "/sms/inbound",
        data=bytes(range(256)) * 8,
        content_type="application/octet-stream",
        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    )

    assert response.status_code == 403
    assert count(session, Message) == 0


def test_a_long_text_is_stored_whole(twilio: Twilio, session: Session) -> None:
    text = ("We work 13 hours a day without a rest day. " * 45)[:1800]
    replies(twilio.sms(text, sender="+447700900128"))

    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert inbound.text == text


def _raw_form(fields: dict[str, str], body: str) -> str:
    """Form-encode `fields` by hand, with `body` (already percent-encoded) as the Body."""
    from urllib.parse import quote

    return "&".join(
        f"{key}={body if key == 'Body' else quote(value, safe='')}" for key, value in fields.items()
    )


def test_percent_encoded_invalid_utf8_is_kept_visible_not_lost(
    twilio: Twilio, session: Session
) -> None:
    fields = form("PLACEHOLDER", sender="+447700900129")
    # The form parser keeps undecodable escapes as written; the signature covers that text.
    signed = dict(fields, Body="café%FF%FEend")
    signature = twilio.validator.compute_signature("http://localhost/sms/inbound", signed)
    response = twilio.client.post(
        "/sms/inbound",
        data=_raw_form(fields, "caf%C3%A9%FF%FEend"),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )

    replies(response)
    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert inbound.text == "café%FF%FEend"


def test_raw_invalid_utf8_bytes_get_a_clear_4xx_and_store_nothing(
    twilio: Twilio, session: Session
) -> None:
    fields = form("PLACEHOLDER", sender="+447700900129")
    raw = _raw_form(fields, "BODY").encode().replace(b"Body=BODY", b"Body=caf\xff\xfe")
    signature = twilio.validator.compute_signature("http://localhost/sms/inbound", fields)
    response = twilio.client.post(
        "/sms/inbound",
        data=raw,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )

    # The form parser gives up on the whole body, so no signature can match it: Twilio
    # itself never sends such bytes.
    assert response.status_code == 403
    assert "signature" in response.get_data(as_text=True).lower()
    assert count(session, Message) == 0


def test_nul_and_control_characters_are_stored_safely(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    body = "wages\x00 not\x07 paid\x1b[31m\nline two\ttab"
    replies(twilio.sms(body, sender="+447700900130"))

    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert inbound.text == "wages\ufffd not\ufffd paid\ufffd[31m\nline two\ttab"
    keyring = app.extensions["intake.hotline"].keyring
    assert inbound.original is not None
    assert keyring.decrypt_text(inbound.original) == body  # nothing lost


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert('x')</script> no pay",
        "'; DROP TABLE message; -- no pay",
        "Robert'); DELETE FROM report WHERE ('1'='1",
    ],
)
def test_markup_and_sql_are_stored_as_plain_text(
    twilio: Twilio, session: Session, body: str
) -> None:
    response = twilio.sms(body, sender="+447700900131")

    replies(response)
    assert "<script>" not in response.get_data(as_text=True)
    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert inbound.text == body
    assert count(session, Report) == 1


def test_an_unreachable_database_gets_503(config: object, twilio: Twilio) -> None:
    from dataclasses import replace

    from intake import create_app

    for url in (
        "sqlite:////nonexistent-directory/intake.sqlite",
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
    ):
        app = create_app(replace(config, database_url=url, database_timeout=1.0))  # type: ignore[type-var]
        response = Twilio(app.test_client()).sms("hello")
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert "nothing was stored" in response.get_data(as_text=True)


def test_a_database_failing_mid_transaction_gets_503_and_stores_nothing(
    app: Flask, twilio: Twilio, session: Session, database_url: str
) -> None:
    from sqlalchemy import create_engine, text

    other = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with other.connect() as connection:
        if database_url.startswith("sqlite"):
            connection.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            # Reporter and report are written, then the categories table is locked away.
            connection.execute(text("BEGIN"))
            connection.execute(text("LOCK TABLE report_category IN ACCESS EXCLUSIVE MODE"))
        response = twilio.sms("no overtime pay again", sender="+447700900132")
        connection.execute(text("ROLLBACK"))
    other.dispose()

    assert response.status_code == 503
    for model in (Message, Report, Reporter):
        assert count(session, model) == 0


# --- opt-out --------------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", "stop", "Unsubscribe", "CANCEL", "END", "QUIT "])
def test_opt_out_keywords_are_recorded_and_silence_all_replies(
    twilio: Twilio, session: Session, word: str
) -> None:
    sender = "+447700900133"
    replies(twilio.sms("We are not paid overtime", sender=sender))
    assert replies(twilio.sms(word, sender=sender)) == []

    reporter = session.scalars(select(Reporter)).one()
    assert reporter.opted_out
    assert reporter.opted_out_at is not None
    assert not reporter.can_receive
    # A later report is still stored, but nothing is sent back.
    assert replies(twilio.sms("Now they lock the gate at night", sender=sender)) == []
    kinds = session.scalars(select(Message.kind).where(Message.direction == Direction.INBOUND))
    assert list(kinds) == [MessageKind.REPORT, MessageKind.OPT_OUT, MessageKind.REPORT]


def test_start_resumes_and_help_explains(twilio: Twilio, session: Session) -> None:
    sender = "+447700900134"
    twilio.sms("They make us work on Sundays without pay", sender=sender)
    twilio.sms("STOP", sender=sender)
    [resumed] = replies(twilio.sms("START", sender=sender))
    [help_text] = replies(twilio.sms("help", sender=sender))

    assert "again" in resumed
    assert "STOP" in help_text
    assert not session.scalars(select(Reporter)).one().opted_out


def test_an_empty_message_asks_for_words_in_the_workers_language(twilio: Twilio) -> None:
    twilio.sms("We are not paid for overtime", sender="+447700900135")
    [reply] = replies(twilio.sms("   ", sender="+447700900135"))

    assert "no text" in reply


def test_the_hotline_country_decides_the_report_country(twilio: Twilio, session: Session) -> None:
    twilio.sms("gaji tak bayar dua bulan", to=HOTLINE)

    assert session.scalars(select(Report)).one().country == "MY"


def test_help_from_a_new_worker_is_answered_in_the_hotlines_language(twilio: Twilio) -> None:
    [reply] = replies(twilio.sms("HELP", sender="+66812345699", to="+6620000000"))

    assert "STOP" in reply
    assert any("\u0e00" <= char <= "\u0e7f" for char in reply), "a Thai hotline answers in Thai"
