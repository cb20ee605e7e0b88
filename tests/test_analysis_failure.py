"""A crash in the analysis never loses an SMS: it is stored withheld and analysed again later."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.db import sessions
from intake.models import Direction, Message, Report
from intake.pipeline.analyze import WITHHELD
from intake.pipeline.hotline import Hotline
from intake.pipeline.reanalyze import reanalyze

from conftest import Twilio

BODY = "FIRE in dorm B, the gate is locked! call me 07700 900470"


class CrashingAnalyzer:
    """Fault injection: an analysis with a bug in it."""

    def with_factories(self, _factories: Any) -> CrashingAnalyzer:
        return self

    def fallback_language(self, known: str | None, _country: str | None) -> str:
        return known or "en"

    def analyze(self, text: str, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug in a lexicon")


def test_a_crashing_analysis_stores_the_sms_withheld_and_reanalysis_recovers_it(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    working: Hotline = app.extensions["intake.hotline"]
    app.extensions["intake.hotline"] = Hotline(working.config, analyzer=CrashingAnalyzer())  # type: ignore[arg-type]

    response = twilio.sms(BODY, sender="+447700900470")

    assert response.status_code == 200
    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert inbound.text == WITHHELD
    assert "900470" not in inbound.text
    assert working.keyring.decrypt_text(inbound.original or b"") == BODY
    report = session.scalars(select(Report)).one()
    assert report.code in response.get_data(as_text=True)

    app.extensions["intake.hotline"] = working
    with sessions(app)() as fresh:
        assert reanalyze(fresh, working) == (1, 0)

    inbound = session.scalars(select(Message).where(Message.direction == Direction.INBOUND)).one()
    assert "FIRE" in inbound.text
    assert "[PHONE]" in inbound.text
    report = session.scalars(select(Report)).one()
    assert report.urgent
    assert "health_safety" in report.category_codes
    with sessions(app)() as fresh:
        assert reanalyze(fresh, working) == (0, 0)
