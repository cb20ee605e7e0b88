"""Pseudonyms and encrypted contacts: stable for a worker, useless to anyone without the keys."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.fernet import Fernet, InvalidToken

from intake.config import Config
from intake.pipeline.codes import ALPHABET, codes_in, new_code
from intake.pipeline.identity import Keyring, parse_address


def keyring(**changes: object) -> Keyring:
    base = Config(
        secret_key="s",
        pseudonym_pepper="pepper-one",
        contact_keys=(Fernet.generate_key().decode(),),
        text_keys=(Fernet.generate_key().decode(),),
        twilio_auth_token="t",
    )
    return Keyring(dataclasses.replace(base, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "written", ["+66812345670", " +66 81 234 5670", "+66-81-234-5670", "whatsapp:+66812345670"]
)
def test_one_number_however_written_is_one_pseudonym(written: str) -> None:
    ring = keyring()

    assert ring.pseudonym(parse_address(written)) == ring.pseudonym(parse_address("+66812345670"))
    assert parse_address(written).region == "TH"


def test_another_pepper_unlinks_every_reporter() -> None:
    sender = parse_address("+66812345670")

    assert keyring().pseudonym(sender) != keyring(pseudonym_pepper="pepper-two").pseudonym(sender)


def test_a_pseudonym_reveals_no_digits_of_the_number() -> None:
    pseudonym = keyring().pseudonym(parse_address("+66812345670"))

    assert len(pseudonym) == 64
    assert "812345670" not in pseudonym


def test_contacts_decrypt_under_an_old_key_during_rotation() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sender = parse_address("+66812345670")
    token = keyring(contact_keys=(old,)).encrypt_contact(sender)
    rotating = keyring(contact_keys=(new, old))

    assert rotating.decrypt_contact(token) == "+66812345670"
    rotated = rotating.rotate_contact(token)
    assert keyring(contact_keys=(new,)).decrypt_contact(rotated) == "+66812345670"
    with pytest.raises(InvalidToken):
        keyring(contact_keys=(new,)).decrypt_contact(token)


def test_contact_and_text_keys_are_separate() -> None:
    ring = keyring()
    token = ring.encrypt_text("my number is in here")

    with pytest.raises(InvalidToken):
        ring.decrypt_contact(token)


def test_report_codes_are_unambiguous_and_found_in_text() -> None:
    codes = {new_code() for _ in range(500)}

    assert len(codes) == 500
    for code in codes:
        assert set(code) <= set(ALPHABET)
        assert any(c.isdigit() for c in code)
        assert any(c.isalpha() for c in code)
        assert codes_in(f"re {code.lower()}, more details") == [code]
    # Ordinary words made of code letters are never codes.
    assert codes_in("ACCEPT the FACT, MARKET") == []
