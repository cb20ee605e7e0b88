"""A worker's number becomes a pseudonym at the edge; the number itself is only kept encrypted."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import phonenumbers
from cryptography.fernet import Fernet, MultiFernet

from intake.config import Config


@dataclass(frozen=True)
class Sender:
    """A parsed sender address: canonical form and region, both kept only in memory."""

    canonical: str  # E.164 where the address is a phone number, else the address as sent
    region: str | None  # ISO 3166 alpha-2, from the number's prefix
    address: str = ""  # as Twilio gave it ("whatsapp:+66..."): where replies must go


def parse_address(address: str) -> Sender:
    """Canonicalise a Twilio From/To address ("+66...", "whatsapp:+66...") for hashing."""
    sent = address.strip()
    bare = sent.removeprefix("whatsapp:")
    try:
        number = phonenumbers.parse(bare, None)
    except phonenumbers.NumberParseException:
        return Sender(canonical=bare, region=None, address=sent)
    region = phonenumbers.region_code_for_number(number)
    return Sender(
        canonical=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        # Satellite and international freephone numbers belong to no country ("001").
        region=region if region and len(region) == 2 and region.isalpha() else None,
        address=sent,
    )


class Keyring:
    """The keys of one deployment, each for one purpose."""

    def __init__(self, config: Config) -> None:
        self._pepper = config.pseudonym_pepper.encode()
        self._contact = MultiFernet([Fernet(key) for key in config.contact_keys])
        self._text = MultiFernet([Fernet(key) for key in config.text_keys])
        # Its own key, derived from the session secret rather than the pepper: a throttle row
        # cannot be matched with a pseudonym, nor reversed by hashing every address.
        self._address = hmac.new(
            config.secret_key.encode(), b"intake: client address", hashlib.sha256
        ).digest()

    def pseudonym(self, sender: Sender) -> str:
        """The keyed hash that identifies a reporter without revealing the number."""
        return hmac.new(self._pepper, sender.canonical.encode(), hashlib.sha256).hexdigest()

    def address_key(self, address: str) -> str:
        """The keyed hash by which the sign-in throttle knows a client's address."""
        return hmac.new(self._address, address.encode(), hashlib.sha256).hexdigest()

    def encrypt_contact(self, sender: Sender) -> bytes:
        """The address replies go to (number, with its channel), encrypted."""
        return self._contact.encrypt((sender.address or sender.canonical).encode())

    def decrypt_contact(self, token: bytes) -> str:
        """The number behind a stored contact token (only the sending worker needs this)."""
        return self._contact.decrypt(token).decode()

    def rotate_contact(self, token: bytes) -> bytes:
        """The token re-encrypted under the newest contact key."""
        return self._contact.rotate(token)

    def encrypt_text(self, text: str) -> bytes:
        """An original, unredacted message text, encrypted for its retention period."""
        return self._text.encrypt(text.encode("utf-8", "surrogatepass"))

    def rotate_text(self, token: bytes) -> bytes:
        """The token re-encrypted under the newest text key."""
        return self._text.rotate(token)

    def decrypt_text(self, token: bytes) -> str:
        """The original text behind a stored token."""
        return self._text.decrypt(token).decode("utf-8", "surrogatepass")
