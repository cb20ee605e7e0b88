"""Outgoing e-mail over SMTP (the standard library's smtplib), configured by one URL."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from intake.config import Config

# Long enough for a slow relay, short enough that a dead one does not hold a sweep for minutes.
SMTP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Mailer:
    """Where mail goes (INTAKE_SMTP_URL), whom it is from, and where its links point."""

    url: str
    sender: str
    # The service's public URL, for links in mails (INTAKE_PUBLIC_URL).
    public_url: str = ""
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_config(cls, config: Config) -> Mailer | None:
        """The configured mailer, or None where no SMTP server is configured."""
        if not config.smtp_url:
            return None
        return cls(config.smtp_url, config.mail_from, config.public_url.rstrip("/"))

    def link(self, path: str) -> str:
        """An absolute link to `path` on the service."""
        return f"{self.public_url}{path}"

    def message(self, to: str, subject: str, body: str, *, key: str) -> EmailMessage:
        """A plain-text mail; `key` makes its Message-ID stable, so a resent copy is the same."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        domain = self.sender.rpartition("@")[2] or "intake.invalid"
        message["Message-ID"] = f"<intake.{key}@{domain}>"
        message.set_content(body)
        return message

    @contextmanager
    def connect(self) -> Iterator[smtplib.SMTP]:
        """An SMTP connection, logged in if the URL has credentials; closed afterwards."""
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if parts.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, parts.port or 465, timeout=self.timeout, context=context)
        else:
            default = 587 if parts.scheme == "smtp+starttls" else 25
            smtp = smtplib.SMTP(host, parts.port or default, timeout=self.timeout)
        try:
            if parts.scheme == "smtp+starttls":
                smtp.starttls(context=context)
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            yield smtp
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
