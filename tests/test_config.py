"""Start-up configuration: production refuses missing secrets, development says what it made."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from intake import config as config_module
from intake.config import Config, ConfigError


def test_production_without_secrets_refuses_to_start_and_names_them() -> None:
    with pytest.raises(ConfigError) as error:
        Config.from_env({"DATABASE_URL": "sqlite://"})

    message = str(error.value)
    for name in ("INTAKE_SECRET_KEY", "INTAKE_PSEUDONYM_PEPPER", "INTAKE_CONTACT_KEYS",
                 "INTAKE_TEXT_KEYS", "TWILIO_AUTH_TOKEN"):
        assert name in message


def test_production_reads_every_setting_from_the_environment() -> None:
    contact, text = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    config = Config.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg://intake@db.internal/intake",
            "INTAKE_SECRET_KEY": "s" * 32,
            "INTAKE_PSEUDONYM_PEPPER": "p" * 32,
            "INTAKE_CONTACT_KEYS": f"{contact}, {Fernet.generate_key().decode()}",
            "INTAKE_TEXT_KEYS": text,
            "TWILIO_AUTH_TOKEN": "t" * 32,
            "TWILIO_ACCOUNT_SID": "AC" + "2" * 32,
            "INTAKE_PUBLIC_URL": "https://hotline.example.org",
            "INTAKE_LANGUAGES": "en,th,my",
            "INTAKE_THREAD_WINDOW_DAYS": "7",
        }
    )

    assert config.production
    assert config.contact_keys[0] == contact
    assert len(config.contact_keys) == 2
    assert config.languages == ("en", "th", "my")
    assert config.thread_window.days == 7
    assert config.generated == ()


def test_one_setting_deletes_from_twilios_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_module, "INSTANCE_DIR", tmp_path)  # the throwaway secrets
    env = {"INTAKE_ENV": "development", "TWILIO_ACCOUNT_SID": "AC" + "2" * 32}

    assert not Config.from_env(env).twilio_delete_logs
    assert Config.from_env(env | {"INTAKE_TWILIO_DELETE_LOGS": "yes"}).twilio_delete_logs
    with pytest.raises(ConfigError, match="needs TWILIO_ACCOUNT_SID"):
        Config.from_env({"INTAKE_ENV": "development", "INTAKE_TWILIO_DELETE_LOGS": "1"})


def test_production_needs_the_public_url_twilio_signs() -> None:
    with pytest.raises(ConfigError, match="INTAKE_PUBLIC_URL"):
        Config(
            secret_key="s", pseudonym_pepper="p", contact_keys=(Fernet.generate_key().decode(),),
            text_keys=(Fernet.generate_key().decode(),), twilio_auth_token="t",
        ).validate()


def test_a_malformed_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="INTAKE_CONTACT_KEYS"):
        Config(
            secret_key="s", pseudonym_pepper="p", contact_keys=("not-a-key",),
            text_keys=(Fernet.generate_key().decode(),), twilio_auth_token="t",
            public_url="https://hotline.example.org",
        ).validate()


def test_an_unsupported_language_is_refused() -> None:
    with pytest.raises(ConfigError, match="INTAKE_LANGUAGES"):
        Config.from_env({"INTAKE_ENV": "development", "INTAKE_LANGUAGES": "en,xx"})


def test_a_factory_code_pattern_that_is_no_pattern_is_refused() -> None:
    with pytest.raises(ConfigError, match="INTAKE_FACTORY_CODE_PATTERN"):
        Config.from_env({"INTAKE_ENV": "development", "INTAKE_FACTORY_CODE_PATTERN": "F-(\\d"})


def test_development_generates_throwaway_secrets_once_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(config_module, "INSTANCE_DIR", tmp_path)
    with caplog.at_level(logging.WARNING, logger="intake.config"):
        first = Config.from_env({"INTAKE_ENV": "development"})
    second = Config.from_env({"INTAKE_ENV": "development"})

    assert "throwaway secrets" in caplog.text
    assert set(first.generated) == set(config_module.SECRETS)
    # Kept in instance/, so the demo database stays readable across restarts.
    assert first.pseudonym_pepper == second.pseudonym_pepper
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
    assert first.database_url.endswith("intake.sqlite")
