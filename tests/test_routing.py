"""Routing: which partner a report goes to, by rule, the factory's partner, or the country's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Factory, Partner, Report, RoutingRule
from intake.pipeline.route import (
    RouteFacts,
    Routes,
    RoutingTable,
    Rule,
    Via,
    preview_route,
)

from conftest import HOTLINE, Twilio

WAGES = "We have not been paid for two months"
FIRE = "FIRE on line 3 and the emergency exit is locked, people inside!"


# --- choosing among rules, without a database ---------------------------------------------


def facts(**values: object) -> RouteFacts:
    defaults: dict[str, object] = {
        "hotline": HOTLINE,
        "country": "MY",
        "language": "en",
        "categories": ["wages"],
    }
    return RouteFacts.of(**(defaults | values))  # type: ignore[arg-type]


def test_every_condition_a_rule_sets_must_match() -> None:
    table = RoutingTable(
        (
            Rule(1, partner_id=10, country="MY", category="health_safety"),
            Rule(2, partner_id=20, country="TH"),
        )
    )

    decision = table.decide(facts())

    assert decision.partner_id is None
    assert decision.via is Via.NOBODY


def test_the_most_specific_rule_wins_whatever_its_priority() -> None:
    table = RoutingTable(
        (
            Rule(1, partner_id=10, country="MY", priority=1),
            Rule(2, partner_id=20, country="MY", category="wages", priority=500),
            Rule(3, partner_id=30, language="en", priority=1),
        )
    )

    decision = table.decide(facts())

    assert decision.partner_id == 20
    assert decision.via is Via.RULE
    assert decision.rule is not None
    assert decision.rule.id == 2


def test_equally_specific_rules_go_by_priority_then_age() -> None:
    by_priority = RoutingTable(
        (Rule(1, partner_id=10, country="MY", priority=50), Rule(2, 20, language="en", priority=5))
    )
    by_age = RoutingTable(
        (Rule(7, partner_id=70, language="en"), Rule(3, partner_id=30, country="MY"))
    )

    assert by_priority.decide(facts()).partner_id == 20
    assert by_age.decide(facts()).partner_id == 30


def test_rules_and_facts_are_compared_however_they_were_spelled() -> None:
    rule = Rule(1, partner_id=10, hotline="+60300000000", country="MY", language="en")
    spelled = RouteFacts.of(hotline="+60 3-0000 0000", country="my", language="EN")

    assert rule.matches(spelled)


def test_a_category_rule_matches_any_of_the_reports_categories() -> None:
    table = RoutingTable((Rule(1, partner_id=10, category="wages"),))

    assert table.decide(facts(categories=["working_hours", "wages"])).partner_id == 10
    assert table.decide(facts(categories=["working_hours"])).partner_id is None


def test_without_a_rule_the_factorys_partner_then_the_countrys() -> None:
    table = RoutingTable((), countries=((5, frozenset({"TH"})), (6, frozenset({"MY", "SG"}))))

    with_factory = table.decide(facts(factory_id=1, factory_partner_id=9))
    by_country = table.decide(facts())
    nowhere = table.decide(facts(country="VN"))

    assert (with_factory.partner_id, with_factory.via) == (9, Via.FACTORY)
    assert (by_country.partner_id, by_country.via) == (6, Via.COUNTRY)
    assert (nowhere.partner_id, nowhere.via) == (None, Via.NOBODY)


# --- through the webhook --------------------------------------------------------------------


@pytest.fixture
def partners(session: Session) -> dict[str, Partner]:
    """Invented partners: one covering Malaysia by default, two reached only by rules."""
    made = {
        "default": Partner(name="Default Monitors", countries=["MY"]),
        "wages": Partner(name="Wage Watch"),
        "factory": Partner(name="Factory Friends"),
    }
    with session.begin():
        session.add_all(made.values())
    return made


@pytest.fixture
def clock(app: Flask) -> Iterator[list[float]]:
    """The hotline's routing cache on a hand-moved clock: `clock[0] += 10` is ten seconds."""
    now = [0.0]
    app.extensions["intake.hotline"].routes = Routes(clock=lambda: now[0])
    return now


def add(session: Session, *rows: object) -> None:
    session.add_all(rows)
    session.commit()


def latest_report(session: Session) -> Report:
    return session.scalars(select(Report).order_by(Report.id.desc()).limit(1)).one()


def test_a_new_report_goes_to_the_country_partner_without_rules(
    twilio: Twilio, session: Session, partners: dict[str, Partner]
) -> None:
    twilio.sms(WAGES)

    assert latest_report(session).partner_id == partners["default"].id


def test_a_matching_rule_beats_the_country_default(
    twilio: Twilio, session: Session, partners: dict[str, Partner]
) -> None:
    add(session, RoutingRule(partner_id=partners["wages"].id, country="MY", category="wages"))

    twilio.sms(WAGES)

    assert latest_report(session).partner_id == partners["wages"].id


def test_a_rule_for_another_hotline_number_does_not_match(
    twilio: Twilio, session: Session, partners: dict[str, Partner]
) -> None:
    add(session, RoutingRule(partner_id=partners["wages"].id, hotline="+60311111111"))

    twilio.sms(WAGES)

    assert latest_report(session).partner_id == partners["default"].id


def test_an_inactive_rule_is_ignored(
    twilio: Twilio, session: Session, partners: dict[str, Partner]
) -> None:
    add(session, RoutingRule(partner_id=partners["wages"].id, country="MY", active=False))

    twilio.sms(WAGES)

    assert latest_report(session).partner_id == partners["default"].id


def test_the_factorys_own_partner_comes_before_the_country_default(
    twilio: Twilio, session: Session, partners: dict[str, Partner]
) -> None:
    add(session, Factory(code="F-2931", name="Invented Plastics", partner=partners["factory"]))

    twilio.sms("At F-2931 " + WAGES.lower())

    report = latest_report(session)
    assert report.factory is not None
    assert report.factory.code == "F-2931"
    assert report.partner_id == partners["factory"].id


def test_a_rule_beats_the_factorys_own_partner(
    twilio: Twilio, session: Session, partners: dict[str, Partner]
) -> None:
    factory = Factory(code="F-2931", name="Invented Plastics", partner=partners["factory"])
    add(session, factory)
    add(session, RoutingRule(partner_id=partners["wages"].id, factory_id=factory.id))

    twilio.sms("At F-2931 " + WAGES.lower())

    assert latest_report(session).partner_id == partners["wages"].id


def test_a_report_without_a_partner_is_routed_when_a_follow_up_names_its_factory(
    twilio: Twilio, session: Session
) -> None:
    partner = Partner(name="Factory Friends")  # no countries: nobody covers Malaysia
    add(session, partner)
    add(session, Factory(code="F-2931", name="Invented Plastics", partner=partner))

    twilio.sms(WAGES, sender="+447700900301")
    assert latest_report(session).partner_id is None
    twilio.sms("It is factory F-2931", sender="+447700900301")

    report = latest_report(session)
    assert report.factory_id is not None
    assert report.partner_id == partner.id


def test_a_report_without_a_partner_is_routed_when_a_follow_up_adds_a_category(
    twilio: Twilio, session: Session
) -> None:
    partner = Partner(name="Safety First")
    add(session, partner)
    add(session, RoutingRule(partner_id=partner.id, category="health_safety"))

    twilio.sms(WAGES, sender="+447700900302")
    assert latest_report(session).partner_id is None
    twilio.sms(FIRE, sender="+447700900302")

    assert latest_report(session).partner_id == partner.id


def test_a_follow_up_never_moves_a_report_that_has_a_partner(
    twilio: Twilio, session: Session, partners: dict[str, Partner]
) -> None:
    twilio.sms(WAGES, sender="+447700900303")
    add(session, RoutingRule(partner_id=partners["wages"].id, category="health_safety"))
    twilio.sms(FIRE, sender="+447700900303")

    assert latest_report(session).partner_id == partners["default"].id


def test_rules_changed_at_runtime_are_followed_within_the_recheck(
    twilio: Twilio, session: Session, partners: dict[str, Partner], clock: list[float]
) -> None:
    twilio.sms(WAGES, sender="+447700900311")
    assert latest_report(session).partner_id == partners["default"].id

    rule = RoutingRule(partner_id=partners["wages"].id, category="wages")
    add(session, rule)
    twilio.sms(WAGES, sender="+447700900312")
    # Within the interval the cached table still routes: no query per SMS.
    assert latest_report(session).partner_id == partners["default"].id

    clock[0] += Routes().recheck
    twilio.sms(WAGES, sender="+447700900313")
    assert latest_report(session).partner_id == partners["wages"].id

    rule.active = False
    session.commit()
    clock[0] += Routes().recheck
    twilio.sms(WAGES, sender="+447700900314")
    assert latest_report(session).partner_id == partners["default"].id


def test_an_edit_in_this_process_is_followed_at_once_after_invalidate(
    app: Flask, twilio: Twilio, session: Session, partners: dict[str, Partner], clock: list[float]
) -> None:
    twilio.sms(WAGES, sender="+447700900321")
    add(session, RoutingRule(partner_id=partners["wages"].id, category="wages"))

    app.extensions["intake.hotline"].routes.invalidate()
    twilio.sms(WAGES, sender="+447700900322")

    assert latest_report(session).partner_id == partners["wages"].id


# --- the preview ----------------------------------------------------------------------------


def test_the_preview_names_the_rule_and_lists_what_was_considered(
    session: Session, partners: dict[str, Partner]
) -> None:
    broad = RoutingRule(partner_id=partners["default"].id, country="MY", priority=1)
    narrow = RoutingRule(partner_id=partners["wages"].id, country="MY", category="wages")
    other = RoutingRule(partner_id=partners["factory"].id, country="TH")
    add(session, broad, narrow, other)

    preview = preview_route(session, facts())

    assert preview.partner is not None
    assert preview.partner.name == "Wage Watch"
    assert preview.via is Via.RULE
    assert preview.rule is not None
    assert preview.rule.id == narrow.id
    assert [(rule.id, matched) for rule, matched in preview.considered] == [
        (narrow.id, True),
        (broad.id, True),
        (other.id, False),
    ]


def test_the_preview_explains_the_fallbacks(session: Session, partners: dict[str, Partner]) -> None:
    factory = Factory(code="F-2931", name="Invented Plastics", partner=partners["factory"])
    add(session, factory)

    by_factory = preview_route(session, facts(factory_id=factory.id))
    by_country = preview_route(session, facts())
    nobody = preview_route(session, facts(country="VN", hotline="+84900000000"))

    assert by_factory.via is Via.FACTORY
    assert by_factory.partner is not None
    assert by_factory.partner.id == partners["factory"].id
    assert by_country.via is Via.COUNTRY
    assert by_country.partner is not None
    assert by_country.partner.id == partners["default"].id
    assert nobody.via is Via.NOBODY
    assert nobody.partner is None
    assert nobody.rule is None


def test_the_preview_reads_the_rules_fresh(
    app: Flask, session: Session, partners: dict[str, Partner], clock: list[float]
) -> None:
    assert preview_route(session, facts()).via is Via.COUNTRY
    add(session, RoutingRule(partner_id=partners["wages"].id, language="en"))

    assert preview_route(session, facts()).via is Via.RULE
