"""The `intake` command as a newcomer uses it: demo data, a simulated SMS, offline analysis."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from intake import config as config_module
from intake.cli import main
from intake.config import PRODUCTION_SETTINGS
from intake.demo import DEMO_ON_CALL
from intake.models import AlertMail, AlertMailStatus, Factory, Message, Report

from conftest import ACCOUNT_SID, AUTH_TOKEN


@pytest.fixture
def environment(database_url: str, keys: dict[str, Any]) -> dict[str, str]:
    """The environment of a production-like deployment on the test database."""
    return {
        "INTAKE_ENV": "production",
        "DATABASE_URL": database_url,
        "INTAKE_SECRET_KEY": keys["secret_key"],
        "INTAKE_PSEUDONYM_PEPPER": keys["pseudonym_pepper"],
        "INTAKE_CONTACT_KEYS": keys["contact_keys"][0],
        "INTAKE_TEXT_KEYS": keys["text_keys"][0],
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "INTAKE_PUBLIC_URL": "http://localhost",
    }


def test_sms_sends_a_signed_message_in_process_and_prints_the_reply(
    environment: dict[str, str], database_url: str
) -> None:
    result = CliRunner().invoke(
        main,
        ["sms", "Kami tidak dibayar lembur sudah 3 bulan", "--from", "+6281200000001",
         "--to", "+62210000000"],
        env=environment,
    )

    assert result.exit_code == 0, result.output
    engine = create_engine(database_url)
    with Session(engine) as session:
        code = session.scalars(select(Report.code)).one()
        assert session.scalar(select(func.count()).select_from(Message)) == 2
    engine.dispose()
    assert code in result.output


def test_demo_seeds_once_without_serving(environment: dict[str, str], database_url: str) -> None:
    runner = CliRunner()
    development = dict(environment, INTAKE_ENV="development")
    first = runner.invoke(main, ["demo", "--no-serve"], env=development)
    second = runner.invoke(main, ["demo", "--no-serve"], env=development)

    assert first.exit_code == 0, first.output
    assert "(5 new messages)" in first.output
    assert "(0 new messages)" in second.output
    engine = create_engine(database_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Factory)) == 3
        reports = session.scalars(select(Report)).all()
    engine.dispose()
    assert len(reports) == 5
    assert sum(report.factory_id is not None for report in reports) >= 3
    assert all(report.partner_id is not None for report in reports)


def test_demo_refuses_to_seed_a_production_database(environment: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["demo", "--no-serve"], env=environment)

    assert result.exit_code != 0
    assert "not in production" in result.output


def test_analyze_works_on_a_fresh_install_without_database_or_secrets(tmp_path: Path) -> None:
    missing = tmp_path / "never-created.sqlite"
    lines = [
        {"text": "公司扣我们工资，每天加班到晚上11点，电话13800000001", "from": "+8613800000001"},
        {"text": "Fire in the warehouse, exit locked!", "to": "+60300000000"},
        {"text": "not json"},
    ]
    stdin = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n{oops\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTAKE_", "TWILIO_"))}
    env["DATABASE_URL"] = f"sqlite:///{missing}"
    result = subprocess.run(
        [sys.executable, "-m", "intake.cli", "analyze"],
        input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False,
    )

    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outputs) == 4
    chinese, fire, plain, broken = outputs
    assert chinese["language"] == "zh"
    assert "13800000001" not in chinese["redacted"]
    assert "wages" in chinese["categories"]
    assert set(chinese) >= {"language", "categories", "urgent", "redacted", "factory", "scores"}
    assert fire["urgent"] is True
    assert plain["language"] == "en"
    assert "error" in broken
    assert not missing.exists()


def test_model_train_learns_from_labels_and_evaluate_reports_figures(
    environment: dict[str, str], twilio: Any, session: Session, tmp_path: Path
) -> None:
    from intake.models import Report
    from intake.triage import confirm_categories

    twilio.sms("the agent holds our passports, we cannot go home", sender="+447700900400")
    with session.begin():
        confirm_categories(session, session.scalars(select(Report)).one(), ["forced_labour"])
    model = tmp_path / "model.npz"
    runner = CliRunner()

    trained = runner.invoke(main, ["model", "train", "--out", str(model)], env=environment)
    assert trained.exit_code == 0, trained.output
    assert "1 monitor labels" in trained.output
    header = next(line for line in trained.output.splitlines() if line.startswith("lang"))
    assert header.split()[1:3] == ["P", "R"]  # precision and recall per language
    assert "(all)" in trained.output
    assert model.exists()

    evaluated = runner.invoke(main, ["model", "evaluate", "--model", str(model)], env=environment)
    assert evaluated.exit_code == 0, evaluated.output
    for figure in ("language", "urgent", "leak"):
        assert figure in evaluated.output.lower()


# Settings a deployment gives; unset, a checkout's commands rely on what the demo left.
CLEAN = {name: None for name in (*PRODUCTION_SETTINGS, "INTAKE_ENV")}


def every_command(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(every_command(command, (*prefix, name)))
    return found


def test_help_needs_no_configuration() -> None:
    runner = CliRunner()
    commands = every_command(main)
    assert ("worker",) in commands
    assert ("db", "upgrade") in commands

    for command in [(), *commands]:
        result = runner.invoke(main, [*command, "--help"], env=CLEAN)
        assert result.exit_code == 0, (command, result.output)
        assert "Traceback" not in result.output
        assert "Usage:" in result.output
    assert "worker" in runner.invoke(main, ["--help"], env=CLEAN).output


def test_without_configuration_a_command_names_the_missing_setting_in_one_line() -> None:
    result = CliRunner().invoke(main, ["purge"], env=CLEAN)

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: missing INTAKE_SECRET_KEY")


def test_a_production_worker_without_a_number_to_send_from_says_so(
    environment: dict[str, str],
) -> None:
    result = CliRunner().invoke(main, ["worker", "--once"], env=environment)

    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "INTAKE_HOTLINE_NUMBERS" in line


def test_every_command_works_where_the_demo_left_its_secrets(
    instance_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--no-serve"], env=CLEAN)
    assert demo.exit_code == 0, demo.output
    assert (instance_dir / "dev-secrets.json").is_file()
    commands = [
        ["check-config"],
        ["reanalyze"],
        ["purge"],
        ["worker", "--once"],
        ["send-alerts"],
        ["keys", "rotate-contacts"],
        ["keys", "rotate-texts"],
        ["export", "--month", "2026-10", "--out", str(tmp_path), "--no-report"],
        ["routes"],
        ["sms", "Gaji tak bayar dua bulan", "--from", "+60120000001"],
        ["db", "upgrade"],
    ]
    for command in commands:
        monkeypatch.setattr(config_module, "_said", set())
        caplog.clear()
        result = runner.invoke(main, command, env=CLEAN)
        assert result.exit_code == 0, (command, result.output)
        notes = [r.getMessage() for r in caplog.records if "development mode" in r.getMessage()]
        if command[0] == "sms":  # the simulator asks for development mode itself
            assert len(notes) == 1, notes
            assert "INTAKE_ENV=development" in notes[0]
        elif command[0] != "db":  # migrations need no secrets and no mode
            assert len(notes) == 1, (command, notes)
            assert "dev-secrets.json exists" in notes[0]
    assert "mode: development" in runner.invoke(main, ["check-config"], env=CLEAN).output

    # Reconciling needs Twilio itself: one line says which setting.
    reconcile = runner.invoke(main, ["reconcile"], env=CLEAN)
    assert reconcile.exit_code == 1
    [line] = reconcile.output.strip().splitlines()
    assert "TWILIO_ACCOUNT_SID" in line
    # Any production setting means a deployment: its missing secrets are an error, as ever.
    deployed = runner.invoke(main, ["purge"], env=dict(CLEAN, INTAKE_PUBLIC_URL="https://x.example"))
    assert deployed.exit_code == 1
    assert "missing INTAKE_SECRET_KEY" in deployed.output


def test_the_demo_seeds_an_on_call_contact_and_its_urgent_alert_is_mailed_in_development(
    instance_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intake")
    result = CliRunner().invoke(main, ["demo", "--no-serve"], env=CLEAN)
    assert result.exit_code == 0, result.output

    engine = create_engine(f"sqlite:///{instance_dir / 'intake.sqlite'}")
    with Session(engine) as session:
        mails = session.scalars(select(AlertMail)).all()
        urgent = session.scalars(select(Report.code).where(Report.urgent.is_(True))).all()
    engine.dispose()
    assert urgent
    assert [mail.email for mail in mails] == [DEMO_ON_CALL] * len(urgent)
    assert all(mail.status is AlertMailStatus.SENT for mail in mails)
    logged = [r.getMessage() for r in caplog.records if "development mailer" in r.getMessage()]
    assert sorted(code for line in logged for code in urgent if code in line) == sorted(urgent)
    assert not any("@" in line for line in logged)


def test_the_demo_hint_names_the_command_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake.cli import _this_command

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [".venv/bin/intake", "demo"])
    assert _this_command() == ".venv/bin/intake"
    monkeypatch.setattr(sys, "argv", [str(tmp_path / ".venv" / "bin" / "intake"), "demo"])
    assert _this_command() == ".venv/bin/intake"
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/intake", "demo"])
    assert _this_command() == "/usr/local/bin/intake"
