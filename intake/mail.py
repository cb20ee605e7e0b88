"""Outgoing e-mail over SMTP (the standard library's smtplib), configured by one URL."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage, Message
from typing import Any
from urllib.parse import unquote, urlsplit

from intake.config import Config, ConfigError

log = logging.getLogger(__name__)

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
        """The configured mailer; without an SMTP server, development's or (production) none."""
        if not config.smtp_url:
            # Production records alerts unmailed (and says so); development shows them sent.
            return None if config.production else DevelopmentMailer.for_config(config)
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


# The header that names an alert mail's report (a code, never a worker's words or number).
REPORT_HEADER = "X-Intake-Report"


@dataclass(frozen=True)
class DevelopmentMailer(Mailer):
    """Development mode without SMTP: each mail is logged by its report code and counted as
    sent, so the demo shows an urgent report's alert; nothing leaves the machine."""

    @classmethod
    def for_config(cls, config: Config) -> DevelopmentMailer:
        """The development mailer; production must never get one."""
        if config.production:
            raise ConfigError("the development mailer is for development mode only")
        return cls("", "intake@localhost", config.public_url.rstrip("/"))

    @contextmanager
    def connect(self) -> Iterator[smtplib.SMTP]:
        """A connection that logs each mail instead of sending it."""
        yield _LoggingSmtp()


class _LoggingSmtp(smtplib.SMTP):
    """An unconnected SMTP object whose send_message writes one log line."""

    def __init__(self) -> None:
        super().__init__(local_hostname="localhost")  # no host: no connection, no DNS lookup

    def send_message(self, msg: Message, *args: Any, **kwargs: Any) -> dict[str, tuple[int, bytes]]:
        log.info(
            "development mailer: alert mail for report %s marked sent; nothing left this "
            "machine (INTAKE_SMTP_URL is not set)",
            msg.get(REPORT_HEADER, "-"),
        )
        return {}

    def quit(self) -> tuple[int, bytes]:
        return 221, b"nothing to close"
