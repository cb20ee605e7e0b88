"""A monitor's category correction replaces the analysis and becomes a training label."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import CategoryLabel, Report
from intake.triage import UnknownCategory, confirm_categories

from conftest import Twilio


def test_a_correction_replaces_the_analysis_and_is_stored_as_a_label(
    twilio: Twilio, session: Session
) -> None:
    twilio.sms("The agent keeps our passports and we cannot leave", sender="+447700900300")
    twilio.sms("my number is 07700 900300, they also shout at us", sender="+447700900300")
    with session.begin():
        report = session.scalars(select(Report)).one()
        confirm_categories(session, report, ["forced_labour", "harsh_treatment"])

    report = session.scalars(select(Report)).one()
    assert sorted(report.category_codes) == ["forced_labour", "harsh_treatment"]
    assert {category.source for category in report.categories} == {"monitor"}
    label = session.scalars(select(CategoryLabel)).one()
    assert label.categories == ["forced_labour", "harsh_treatment"]
    assert "passports" in label.text
    assert "900300" not in label.text  # labels hold redacted text only


def test_a_later_message_does_not_undo_a_monitors_decision(
    twilio: Twilio, session: Session
) -> None:
    twilio.sms("We are not paid overtime", sender="+447700900301")
    with session.begin():
        report = session.scalars(select(Report)).one()
        confirm_categories(session, report, ["working_hours"])
    twilio.sms("still no overtime pay", sender="+447700900301")

    report = session.scalars(select(Report)).one()
    monitor = [c for c in report.categories if c.source == "monitor"]
    assert [c.code for c in monitor] == ["working_hours"]


def test_codes_outside_the_taxonomy_are_refused(twilio: Twilio, session: Session) -> None:
    twilio.sms("hello", sender="+447700900302")
    report = session.scalars(select(Report)).one()

    with pytest.raises(UnknownCategory, match="overtime"):
        confirm_categories(session, report, ["overtime"])
