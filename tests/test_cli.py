"""The `intake` command as a newcomer uses it: demo data, a simulated SMS, offline analysis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from intake.cli import main
from intake.models import Factory, Message, Report

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
