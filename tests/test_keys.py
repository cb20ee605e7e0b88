"""Rotating the contact key: old and new keys both read during rotation; replies never break."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask
from sqlalchemy import select

from intake import create_app, db
from intake.cli import main
from intake.config import Config
from intake.db import sessions
from intake.models import Contact, Message, Partner, Reporter
from intake.pipeline.identity import Keyring, parse_address

from conftest import Twilio

WORKER = "+66812340301"
ON_CALL = "+447700900302"


def stored_tokens(app: Flask) -> tuple[list[bytes], list[bytes]]:
    with sessions(app)() as s:
        contacts = [bytes(t) for t in s.scalars(select(Reporter.contact)) if t]
        contacts += [bytes(t) for t in s.scalars(select(Contact.phone)) if t]
        originals = [bytes(t) for t in s.scalars(select(Message.original)) if t]
    return contacts, originals


def test_the_contact_key_rotates_without_losing_a_number(config: Config) -> None:
    old, new = config.contact_keys[0], Fernet.generate_key().decode()
    first = create_app(config)
    Twilio(first.test_client()).sms("They keep our passports", sender=WORKER)
    with sessions(first)() as s:
        keyring = first.extensions["intake.hotline"].keyring
        partner = Partner(name="Monitor org")
        partner.contacts = [Contact(name="On call", phone=keyring.encrypt_contact(
            parse_address(ON_CALL)))]
        s.add(partner)
        s.commit()
    db.dispose(first)

    # 1. The new key goes first: it encrypts, the old one still decrypts.
    rotating = dataclasses.replace(config, contact_keys=(new, old))
    app = create_app(rotating)
    try:
        keyring = app.extensions["intake.hotline"].keyring
        contacts, _ = stored_tokens(app)
        assert sorted(keyring.decrypt_contact(t) for t in contacts) == sorted([WORKER, ON_CALL])
        # 2. Re-encrypt everything under the new key.
        result = app.test_cli_runner().invoke(main, ["keys", "rotate-contacts"])
        assert result.exit_code == 0, result.output
        assert "re-encrypted 2 contacts" in result.output
    finally:
        db.dispose(app)

    # 3. The old key is removed: every number still decrypts, and the old key reads none.
    rotated = dataclasses.replace(config, contact_keys=(new,))
    app = create_app(rotated)
    try:
        keyring = app.extensions["intake.hotline"].keyring
        contacts, _ = stored_tokens(app)
        assert sorted(keyring.decrypt_contact(t) for t in contacts) == sorted([WORKER, ON_CALL])
        for token in contacts:
            with pytest.raises(InvalidToken):
                Keyring(config).decrypt_contact(token)
        # The worker texts again: same reporter, still reachable.
        Twilio(app.test_client()).sms("and they took my ID card too", sender=WORKER)
        with sessions(app)() as s:
            [reporter] = s.scalars(select(Reporter)).all()
            assert reporter.contact is not None
            assert keyring.decrypt_contact(reporter.contact) == WORKER
    finally:
        db.dispose(app)


def test_the_text_key_rotates_too(config: Config) -> None:
    old, new = config.text_keys[0], Fernet.generate_key().decode()
    first = create_app(config)
    Twilio(first.test_client()).sms("They keep our passports", sender=WORKER)
    db.dispose(first)

    app = create_app(dataclasses.replace(config, text_keys=(new, old)))
    try:
        result = app.test_cli_runner().invoke(main, ["keys", "rotate-texts"])
        assert result.exit_code == 0, result.output
        assert "re-encrypted 1 texts" in result.output
    finally:
        db.dispose(app)

    _, originals = stored_tokens(app)
    only_new = Keyring(dataclasses.replace(config, text_keys=(new,)))
    assert [only_new.decrypt_text(t) for t in originals] == ["They keep our passports"]
