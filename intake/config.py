"""The one typed configuration, read from the environment once and validated at start-up."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from intake.pipeline.factory import DEFAULT_FACTORY_CODE_PATTERN
from intake.pipeline.types import DEFAULT_LANGUAGES

TWILIO_API_BASE = "https://api.twilio.com"

log = logging.getLogger(__name__)


def _instance_dir() -> Path:
    """instance/ beside the package in a source checkout; else under the environment's prefix,
    where Flask puts an installed package's instance folder."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout / "instance"
    return Path(sys.prefix) / "var" / "intake-instance"


INSTANCE_DIR = _instance_dir()
DEV_SECRETS = "dev-secrets.json"

# The secrets that production must be given; development generates throwaway ones.
SECRETS = ("secret_key", "pseudonym_pepper", "contact_keys", "text_keys", "twilio_auth_token")
# Any of these in the environment says "a deployment": INTAKE_ENV then defaults to production
# even where the demo left its throwaway secrets behind.
PRODUCTION_SETTINGS = (
    "DATABASE_URL",
    "INTAKE_PUBLIC_URL",
    "INTAKE_SECRET_KEY",
    "INTAKE_PSEUDONYM_PEPPER",
    "INTAKE_CONTACT_KEYS",
    "INTAKE_TEXT_KEYS",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_ACCOUNT_SID",
)

SMTP_SCHEMES = ("smtp", "smtps", "smtp+starttls")


class ConfigError(RuntimeError):
    """The environment does not describe a service that can safely start."""


@dataclass(frozen=True)
class Config:
    """Everything intake reads from its environment; see the README's configuration table."""

    env: str = "production"
    database_url: str = ""
    secret_key: str = ""
    # Keyed hash of the phone number: the reporter's stable, irreversible identity.
    pseudonym_pepper: str = ""
    # Fernet keys, newest first: the newest encrypts, all decrypt (rotation without loss).
    contact_keys: tuple[str, ...] = ()
    # A separate key for original message texts, so one leaked key does not expose both.
    text_keys: tuple[str, ...] = ()
    twilio_auth_token: str = ""
    twilio_account_sid: str = ""
    # The URL Twilio calls, as Twilio sees it (behind a TLS proxy the app sees another one).
    public_url: str = ""
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    thread_window: timedelta = timedelta(days=14)
    original_text_retention: timedelta = timedelta(days=30)
    # Roles that may see a message as the worker wrote it; everyone else sees redacted text.
    original_text_roles: tuple[str, ...] = ("admin", "coordinator")
    max_body_bytes: int = 64 * 1024
    # The most a request waits for the database in all before answering 503. Twilio gives up at
    # 15 s: 5 s leaves room for a request queued behind another worker's 503, and analysis.
    database_timeout: float = 5.0
    factory_code_pattern: str = DEFAULT_FACTORY_CODE_PATTERN
    model_path: str = ""
    log_level: str = "INFO"
    # Where urgent alerts are mailed from: smtp://host:port, smtps://..., or
    # smtp+starttls://user:password@host:587. Empty: alerts are recorded but not mailed.
    smtp_url: str = ""
    mail_from: str = ""
    # Exports show counts of reports or workers below this as "<k" (and hide complements).
    export_k: int = 5
    # Check-back surveys: at most this many per worker in any 30 days, answers accepted (and
    # contacts kept after a case closes) for the window.
    checkback_max_per_month: int = 2
    checkback_window: timedelta = timedelta(days=30)
    # A reporter's encrypted number is deleted after this long without a message, unless a case
    # of theirs still awaits check-back: 90 days covers triage and verification; a worker who
    # writes again is reachable again.
    contact_retention: timedelta = timedelta(days=90)
    # Delete from Twilio's own logs (REST API): `intake reconcile` the inbound messages it
    # stored, `intake purge` a worker's messages before forgetting their number. Twilio's
    # copies hold the number and the text, so deleting them is what makes our purge real.
    twilio_delete_logs: bool = False
    # Admin sessions: signed out after this long without a request, whatever the browser does.
    session_idle: timedelta = timedelta(minutes=30)
    # Failed sign-ins (password or code) before an account is locked, and for how long.
    login_max_failures: int = 5
    login_lockout: timedelta = timedelta(minutes=15)
    # Failed sign-ins from one client address (whatever the account) within the window before
    # that address gets 429. Counted in the database, so the limit holds across hosts.
    login_address_max_failures: int = 20
    login_address_window: timedelta = timedelta(minutes=10)
    # How many proxies in front of the app append to X-Forwarded-For and set
    # X-Forwarded-Proto; 0 trusts no such header (a client could forge it).
    proxy_hops: int = 0
    # Outbound SMS (intake/messaging): where the REST API is (tests point it at a stand-in),
    # which numbers send, and how the outbox worker retries.
    twilio_api_base: str = TWILIO_API_BASE
    twilio_timeout: float = 15.0
    # The hotline's own (public) numbers: a reply goes out from the one in the report's country.
    hotline_numbers: tuple[str, ...] = ()
    # If set, Twilio picks the sender (its "sticky sender" keeps a worker on one number).
    twilio_messaging_service_sid: str = ""
    outbox_max_attempts: int = 8
    outbox_backoff: float = 30.0  # seconds before the first retry; doubles each time
    # A row claimed longer ago than this by a worker that died is looked up at Twilio.
    outbox_stale_after: timedelta = timedelta(minutes=10)
    worker_poll: float = 2.0
    generated: tuple[str, ...] = field(default=())

    @property
    def production(self) -> bool:
        """Whether missing secrets are fatal (they are, unless INTAKE_ENV=development)."""
        return self.env != "development"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        require_secrets: bool = True,
    ) -> Config:
        """Read the environment (and test overrides), fill development secrets, validate."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "env": env.get("INTAKE_ENV") or default_env(env),
            "database_url": database_url(env),
            "secret_key": env.get("INTAKE_SECRET_KEY", ""),
            "pseudonym_pepper": env.get("INTAKE_PSEUDONYM_PEPPER", ""),
            "contact_keys": _split(env.get("INTAKE_CONTACT_KEYS", "")),
            "text_keys": _split(env.get("INTAKE_TEXT_KEYS", "")),
            "twilio_auth_token": env.get("TWILIO_AUTH_TOKEN", ""),
            "twilio_account_sid": env.get("TWILIO_ACCOUNT_SID", ""),
            "public_url": env.get("INTAKE_PUBLIC_URL", ""),
            "model_path": env.get("INTAKE_MODEL_PATH", ""),
            "log_level": env.get("INTAKE_LOG_LEVEL", "INFO"),
            "smtp_url": env.get("INTAKE_SMTP_URL", ""),
            "mail_from": env.get("INTAKE_MAIL_FROM", ""),
        }
        if "INTAKE_LANGUAGES" in env:
            values["languages"] = _split(env["INTAKE_LANGUAGES"])
        if "INTAKE_THREAD_WINDOW_DAYS" in env:
            values["thread_window"] = timedelta(days=float(env["INTAKE_THREAD_WINDOW_DAYS"]))
        if "INTAKE_ORIGINAL_TEXT_RETENTION_DAYS" in env:
            days = float(env["INTAKE_ORIGINAL_TEXT_RETENTION_DAYS"])
            values["original_text_retention"] = timedelta(days=days)
        if "INTAKE_ORIGINAL_TEXT_ROLES" in env:
            values["original_text_roles"] = _split(env["INTAKE_ORIGINAL_TEXT_ROLES"])
        if "INTAKE_MAX_BODY_BYTES" in env:
            values["max_body_bytes"] = int(env["INTAKE_MAX_BODY_BYTES"])
        if "INTAKE_DATABASE_TIMEOUT" in env:
            values["database_timeout"] = float(env["INTAKE_DATABASE_TIMEOUT"])
        if "INTAKE_EXPORT_K" in env:
            values["export_k"] = int(env["INTAKE_EXPORT_K"])
        if "INTAKE_CHECKBACK_MAX_PER_MONTH" in env:
            values["checkback_max_per_month"] = int(env["INTAKE_CHECKBACK_MAX_PER_MONTH"])
        if "INTAKE_CHECKBACK_WINDOW_DAYS" in env:
            days = float(env["INTAKE_CHECKBACK_WINDOW_DAYS"])
            values["checkback_window"] = timedelta(days=days)
        if "INTAKE_CONTACT_RETENTION_DAYS" in env:
            days = float(env["INTAKE_CONTACT_RETENTION_DAYS"])
            values["contact_retention"] = timedelta(days=days)
        if "INTAKE_TWILIO_DELETE_LOGS" in env:
            values["twilio_delete_logs"] = _flag(env["INTAKE_TWILIO_DELETE_LOGS"])
        if "INTAKE_SESSION_IDLE_MINUTES" in env:
            values["session_idle"] = timedelta(minutes=float(env["INTAKE_SESSION_IDLE_MINUTES"]))
        if "INTAKE_LOGIN_MAX_FAILURES" in env:
            values["login_max_failures"] = int(env["INTAKE_LOGIN_MAX_FAILURES"])
        if "INTAKE_LOGIN_LOCKOUT_MINUTES" in env:
            minutes = float(env["INTAKE_LOGIN_LOCKOUT_MINUTES"])
            values["login_lockout"] = timedelta(minutes=minutes)
        if "INTAKE_LOGIN_ADDRESS_MAX_FAILURES" in env:
            values["login_address_max_failures"] = int(env["INTAKE_LOGIN_ADDRESS_MAX_FAILURES"])
        if "INTAKE_LOGIN_ADDRESS_WINDOW_MINUTES" in env:
            minutes = float(env["INTAKE_LOGIN_ADDRESS_WINDOW_MINUTES"])
            values["login_address_window"] = timedelta(minutes=minutes)
        if "INTAKE_PROXY_HOPS" in env:
            values["proxy_hops"] = int(env["INTAKE_PROXY_HOPS"])
        if "INTAKE_FACTORY_CODE_PATTERN" in env:
            values["factory_code_pattern"] = env["INTAKE_FACTORY_CODE_PATTERN"]
        values.update(_messaging(env))
        values.update(overrides or {})
        config = cls(**values)
        if not require_secrets:
            return config
        if not config.production:
            config = config._with_development_secrets()
            _say_once(config._development_note(explicit=bool(env.get("INTAKE_ENV"))))
        config.validate()
        return config

    def validate(self) -> None:
        """Refuse to start with missing or malformed secrets."""
        missing = [name for name in SECRETS if not getattr(self, name)]
        if missing:
            names = ", ".join(_ENV_NAMES[name] for name in missing)
            raise ConfigError(
                f"missing {names}: production needs every secret "
                "(or set INTAKE_ENV=development for throwaway ones)"
            )
        for name in ("contact_keys", "text_keys"):
            for key in getattr(self, name):
                try:
                    Fernet(key)
                except ValueError as error:
                    raise ConfigError(f"{_ENV_NAMES[name]}: not a Fernet key") from error
        if self.production and not self.public_url:
            # Behind a TLS proxy the app cannot know the URL Twilio signed: every SMS would
            # get 403, and Twilio does not redeliver.
            raise ConfigError("missing INTAKE_PUBLIC_URL: the URL Twilio calls, e.g. https://...")
        if self.smtp_url:
            scheme = self.smtp_url.partition("://")[0]
            if scheme not in SMTP_SCHEMES:
                schemes = ", ".join(SMTP_SCHEMES)
                raise ConfigError(f"INTAKE_SMTP_URL: the scheme must be one of {schemes}")
            if "@" not in self.mail_from:
                raise ConfigError("missing INTAKE_MAIL_FROM: the address alerts are sent from")
        if self.export_k < 3:
            # With k = 2 the label "<2" itself says "1".
            raise ConfigError("INTAKE_EXPORT_K: must be at least 3")
        if self.twilio_delete_logs and not self.twilio_account_sid:
            raise ConfigError("INTAKE_TWILIO_DELETE_LOGS needs TWILIO_ACCOUNT_SID")
        if self.checkback_max_per_month < 0:
            raise ConfigError("INTAKE_CHECKBACK_MAX_PER_MONTH: must not be negative")
        # A send must finish well inside the stale time, or recovery could resend it.
        if self.twilio_timeout * 4 > self.outbox_stale_after.total_seconds():
            raise ConfigError("INTAKE_OUTBOX_STALE_MINUTES must be over 4 x INTAKE_TWILIO_TIMEOUT")
        if self.login_address_max_failures < 1:
            raise ConfigError("INTAKE_LOGIN_ADDRESS_MAX_FAILURES must be at least 1")
        if self.proxy_hops < 0:
            raise ConfigError("INTAKE_PROXY_HOPS: must not be negative")
        if self.outbox_max_attempts < 1:
            raise ConfigError("INTAKE_OUTBOX_MAX_ATTEMPTS must be at least 1")
        try:
            re.compile(self.factory_code_pattern)
        except re.error as error:
            raise ConfigError(f"INTAKE_FACTORY_CODE_PATTERN: {error}") from error
        unknown = set(self.languages) - set(DEFAULT_LANGUAGES)
        if unknown or not self.languages:
            raise ConfigError(f"INTAKE_LANGUAGES: unsupported {sorted(unknown)}")

    def _with_development_secrets(self) -> Config:
        """Fill missing secrets from instance/dev-secrets.json, creating it once."""
        missing = [name for name in SECRETS if not getattr(self, name)]
        if not missing:
            return self
        path = INSTANCE_DIR / DEV_SECRETS
        stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        if any(name not in stored for name in missing):
            stored = {name: _generate(name) for name in SECRETS} | stored
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(json.dumps(stored, indent=2))
        filled: dict[str, Any] = {
            name: tuple(stored[name]) if name.endswith("_keys") else stored[name]
            for name in missing
        }
        return dataclasses.replace(self, generated=tuple(missing), **filled)

    def _development_note(self, *, explicit: bool) -> str:
        """The one line that says this process runs in development mode, and why."""
        why = (
            "INTAKE_ENV=development" if explicit
            else f"{INSTANCE_DIR / DEV_SECRETS} exists and no production setting is given"
        )
        secrets_from = (
            f"throwaway secrets from {INSTANCE_DIR / DEV_SECRETS}" if self.generated
            else "secrets from the environment"
        )
        return f"development mode ({why}): {secrets_from}; never use it in production"


_ENV_NAMES = {
    "secret_key": "INTAKE_SECRET_KEY",
    "pseudonym_pepper": "INTAKE_PSEUDONYM_PEPPER",
    "contact_keys": "INTAKE_CONTACT_KEYS",
    "text_keys": "INTAKE_TEXT_KEYS",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
}


def default_env(environ: Mapping[str, str]) -> str:
    """Development where the demo left secrets and nothing says "deployment"; else production."""
    if (INSTANCE_DIR / DEV_SECRETS).is_file() and not any(
        environ.get(name) for name in PRODUCTION_SETTINGS
    ):
        return "development"
    return "production"


_said: set[str] = set()


def _say_once(line: str) -> None:
    # A command may build its configuration more than once; the note is said once a process.
    if line not in _said:
        _said.add(line)
        log.warning("%s", line)


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """DATABASE_URL, or the embedded SQLite file under instance/; migrations need no secrets."""
    env = os.environ if environ is None else environ
    return env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'intake.sqlite'}"


def _messaging(env: Mapping[str, str]) -> dict[str, Any]:
    """The outbox, worker and reconciliation settings that are present in `env`."""
    values: dict[str, Any] = {
        "twilio_api_base": env.get("INTAKE_TWILIO_API_BASE") or TWILIO_API_BASE,
        "hotline_numbers": _split(env.get("INTAKE_HOTLINE_NUMBERS", "")),
        "twilio_messaging_service_sid": env.get("TWILIO_MESSAGING_SERVICE_SID", ""),
    }
    if "INTAKE_TWILIO_TIMEOUT" in env:
        values["twilio_timeout"] = float(env["INTAKE_TWILIO_TIMEOUT"])
    if "INTAKE_OUTBOX_MAX_ATTEMPTS" in env:
        values["outbox_max_attempts"] = int(env["INTAKE_OUTBOX_MAX_ATTEMPTS"])
    if "INTAKE_OUTBOX_BACKOFF_SECONDS" in env:
        values["outbox_backoff"] = float(env["INTAKE_OUTBOX_BACKOFF_SECONDS"])
    if "INTAKE_OUTBOX_STALE_MINUTES" in env:
        minutes = float(env["INTAKE_OUTBOX_STALE_MINUTES"])
        values["outbox_stale_after"] = timedelta(minutes=minutes)
    if "INTAKE_WORKER_POLL_SECONDS" in env:
        values["worker_poll"] = float(env["INTAKE_WORKER_POLL_SECONDS"])
    return values


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _flag(value: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"not a yes/no value: {value!r}")


def _generate(name: str) -> Any:
    if name.endswith("_keys"):
        return [Fernet.generate_key().decode()]
    return secrets.token_hex(32)
