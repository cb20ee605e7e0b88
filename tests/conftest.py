"""Fixtures shared by every test: databases, the app, its clients, and Twilio-signed requests.

The suite runs on SQLite by default. With INTAKE_TEST_DATABASE_URL set to a PostgreSQL server
(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) every database test runs there instead,
in a throwaway database created for the session.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, event, inspect, make_url, text
from sqlalchemy.orm import ORMExecuteState, Session
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from intake import config as config_module
from intake import create_app, db, migrate
from intake.config import Config

# The Twilio REST API stand-in and its `standin` fixture (tests/twilio_standin.py).
pytest_plugins = ["twilio_standin"]

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("INTAKE_TEST_DATABASE_URL", "")
AUTH_TOKEN = "test-auth-token-" + "0" * 16
ACCOUNT_SID = "AC" + "1" * 32
HOTLINE = "+60300000000"  # invented: parses to Malaysia, reaches nobody


# Things a fresh clone cannot hold: tests that need them skip, saying how to run them, unless
# the variable says they must run (.ci/run sets both: there a missing one is a failure).
REQUIRE_CORPORA = os.environ.get("INTAKE_REQUIRE_CORPORA", "") == "1"
REQUIRE_BROWSER = os.environ.get("INTAKE_REQUIRE_BROWSER", "") == "1"


def missing(what: str, *, required: bool, how: str) -> None:
    """Skip the test that needs `what`, or fail it where the environment requires `what`."""
    if required:
        pytest.fail(f"{what} is required here but missing: {how}")
    pytest.skip(f"{what} not found: {how}")


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The shared multilingual corpora (public texts the project must not copy into itself)."""
    path = Path(os.environ.get("INTAKE_CORPORA_DIR") or REPO.parent / "shared" / "corpora")
    if not path.is_dir():
        missing(
            f"the shared corpora ({path})",
            required=REQUIRE_CORPORA,
            how="place ../shared beside the repository, or set INTAKE_CORPORA_DIR "
            "to the corpora folder (INTAKE_REQUIRE_CORPORA=1 makes this a failure)",
        )
    return path


@pytest.fixture(autouse=True)
def instance_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own instance/ (development secrets, the demo database), never the checkout's:
    a demo run in this checkout must not turn the tests' production default into development."""
    path = tmp_path_factory.mktemp("instance")
    monkeypatch.setattr(config_module, "INSTANCE_DIR", path)
    return path


@dataclass(frozen=True)
class Server:
    """A database server tests may create throwaway databases on."""

    url: str

    @property
    def dialect(self) -> str:
        return make_url(self.url).get_backend_name()

    def create(self, name: str) -> str:
        """Create an empty database and return its URL."""
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Server | None:
    """The PostgreSQL server under test, or None on the SQLite pass."""
    return Server(POSTGRES_URL) if POSTGRES_URL else None


@pytest.fixture
def empty_database_url(postgres: Server | None, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database (for migration tests)."""
    if postgres is None:
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    name = f"intake_empty_{secrets.token_hex(4)}"
    url = postgres.create(name)
    yield url
    postgres.drop(name)


@pytest.fixture(scope="session")
def migrated_url(
    postgres: Server | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database migrated to head once per session: a template file, or a PostgreSQL db."""
    if postgres is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'template.sqlite'}"
        migrate.upgrade(url)
        yield url
        return
    name = f"intake_test_{secrets.token_hex(4)}"
    url = postgres.create(name)
    migrate.upgrade(url)
    yield url
    postgres.drop(name)


@pytest.fixture
def database_url(migrated_url: str, tmp_path: Path) -> str:
    """A migrated database with no rows, private to one test."""
    if migrated_url.startswith("sqlite"):
        copy = tmp_path / "intake.sqlite"
        shutil.copy(migrated_url.removeprefix("sqlite:///"), copy)
        return f"sqlite:///{copy}"
    engine = create_engine(migrated_url)
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as connection:
        # The audit log refuses TRUNCATE (a trigger); resetting a test database as its
        # superuser sets triggers aside for this one transaction.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return migrated_url


@pytest.fixture(scope="session")
def keys() -> dict[str, Any]:
    """Secrets for one test session, generated, never committed."""
    return {
        "secret_key": secrets.token_hex(16),
        "pseudonym_pepper": secrets.token_hex(16),
        "contact_keys": (Fernet.generate_key().decode(),),
        "text_keys": (Fernet.generate_key().decode(),),
    }


@pytest.fixture
def config(database_url: str, keys: dict[str, Any]) -> Config:
    """A production-mode configuration: every secret given, none generated."""
    return Config(
        env="production",
        database_url=database_url,
        twilio_auth_token=AUTH_TOKEN,
        twilio_account_sid=ACCOUNT_SID,
        public_url="http://localhost",
        database_timeout=2.0,
        **keys,
    )


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    """The app, on its own database."""
    app = create_app(config)
    yield app
    db.dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session for looking at what the app stored: every query sees the latest commit."""
    engine = db.sessions(app).kw["bind"].execution_options(isolation_level="AUTOCOMMIT")
    with Session(engine, expire_on_commit=False) as session:

        @event.listens_for(session, "do_orm_execute")
        def _fresh(state: ORMExecuteState) -> None:
            if state.is_select:
                state.update_execution_options(populate_existing=True)

        yield session


def form(
    body: str,
    *,
    sender: str = "+66812345670",
    to: str = HOTLINE,
    sid: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The form fields Twilio posts for one inbound SMS (invented values)."""
    fields = {
        "ToCountry": "MY",
        "ToState": "",
        "SmsMessageSid": sid or "SM" + secrets.token_hex(16),
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "10110",
        "SmsSid": "",
        "FromState": "Bangkok",
        "SmsStatus": "received",
        "FromCity": "BANGKOK",
        "Body": body,
        "FromCountry": "TH",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": "",
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    fields["MessageSid"] = fields["SmsSid"] = fields["SmsMessageSid"]
    fields.update(extra)
    return fields


class Twilio:
    """Posts to the webhook exactly as Twilio does, signed with twilio's own RequestValidator."""

    def __init__(self, client: FlaskClient, token: str = AUTH_TOKEN) -> None:
        self.client = client
        self.validator = RequestValidator(token)

    def post(
        self,
        fields: dict[str, str],
        *,
        path: str = "/sms/inbound",
        signed_url: str | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        """POST `fields` form-encoded, signed for `signed_url` (default: what the app sees)."""
        url = signed_url or f"http://localhost{path}"
        signature = self.validator.compute_signature(url, fields)
        headers = {"X-Twilio-Signature": signature, **kwargs.pop("headers", {})}
        return self.client.post(
            path,
            data=urlencode(fields),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
            **kwargs,
        )

    def sms(self, body: str, **kwargs: Any) -> TestResponse:
        """Deliver one SMS; keyword arguments go to `form`."""
        return self.post(form(body, **kwargs))


@pytest.fixture
def twilio(client: FlaskClient) -> Twilio:
    return Twilio(client)
