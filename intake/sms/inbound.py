"""The inbound SMS as the webhook receives it: only the fields intake keeps, made safe to store."""

from __future__ import annotations

import re
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from intake.parsing import ascii_int

# C0 and C1 controls except tab, newline and carriage return; PostgreSQL rejects NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
MAX_MEDIA = 10  # Twilio's own limit on attachments to one message


def clean(text: str) -> str:
    """`text` with control characters (NUL first: PostgreSQL rejects it) as U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


class MalformedSms(ValueError):
    """The request is signed but is not an SMS webhook intake can store."""


@dataclass(frozen=True)
class InboundSms:
    """An SMS from Twilio. FromCity, FromState and FromZip are dropped: they locate the worker."""

    sid: str
    sender: str
    to: str
    body: str  # exactly as received, for the encrypted original
    from_country: str | None = None
    num_media: int = 0

    @property
    def text(self) -> str:
        """The body, safe for any database and any page."""
        return clean(self.body)

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> InboundSms:
        """Parse Twilio's form fields; raise MalformedSms naming what is missing or wrong."""
        sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
        # Once Twilio's signature checks out, store whatever we can: only what identifies the
        # message and its sender is required.
        fields = {"MessageSid": sid, "From": form.get("From")}
        missing = [name for name, value in fields.items() if not value]
        if "Body" not in form:
            missing.append("Body")
        if missing:
            raise MalformedSms(f"missing field(s): {', '.join(missing)}")
        if not SID.fullmatch(sid):
            raise MalformedSms("MessageSid is not a Twilio message SID")
        country = (form.get("FromCountry") or "").strip().upper()
        # Media are not stored; the count only shapes the reply, so a bad one reads as none.
        num_media = ascii_int(form.get("NumMedia"), maximum=MAX_MEDIA) or 0
        return cls(
            sid=sid,
            sender=form["From"],
            to=form.get("To") or "",
            body=form["Body"],
            from_country=country if re.fullmatch(r"[A-Z]{2}", country) else None,
            num_media=num_media,
        )
