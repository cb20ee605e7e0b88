"""The routing page: an admin adds and switches rules, staff preview where a report would go."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import AuditEvent, Factory, Report, Role, RoutingRule

from admin_support import BASE_URL, add_account, add_partner, post_form, sign_in
from conftest import HOTLINE, Twilio

WAGES = "We have not been paid for two months"


@pytest.fixture
def partners(app: Flask) -> dict[str, int]:
    return {
        "default": add_partner(app, "Default Monitors", ["MY"]),
        "wages": add_partner(app, "Wage Watch"),
    }


def preview(client: object, **sample: str) -> str:
    answer = client.get(  # type: ignore[attr-defined]
        f"{BASE_URL}/admin/routing", query_string={"preview": "1", **sample}
    )
    assert answer.status_code == 200
    found = re.search(r'<section class="card" id="preview">(.*?)</section>', answer.text, re.S)
    assert found, "no preview on the page"
    return " ".join(found.group(1).split())


def test_an_admin_adds_a_rule_and_the_next_sms_follows_it(
    app: Flask, session: Session, partners: dict[str, int]
) -> None:
    twilio = Twilio(app.test_client())
    twilio.sms(WAGES, sender="+447700900401")  # loads the routing table into the cache
    admin = sign_in(app, add_account(app, Role.ADMIN))

    answer = post_form(
        admin,
        "/admin/routing",
        "/admin/routing",
        {
            "partner_id": str(partners["wages"]),
            "country": "my",
            "category": "wages",
            "priority": "50",
            "factory_id": "",
            "language": "",
        },
    )

    assert answer.status_code == 302
    rule = session.scalars(select(RoutingRule)).one()
    assert (rule.country, rule.category, rule.priority) == ("MY", "wages", 50)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "routing_rule.create")
    ).one()
    assert event.target_id == rule.id
    assert event.detail["conditions"] == ["category", "country"]
    twilio.sms(WAGES, sender="+447700900402")
    report = session.scalars(select(Report).order_by(Report.id.desc()).limit(1)).one()
    assert report.partner_id == partners["wages"]


def test_a_rule_without_conditions_is_refused(
    app: Flask, session: Session, partners: dict[str, int]
) -> None:
    admin = sign_in(app, add_account(app, Role.ADMIN))

    answer = post_form(
        admin,
        "/admin/routing",
        "/admin/routing",
        {
            "partner_id": str(partners["wages"]),
            "priority": "100",
            "factory_id": "",
            "language": "",
            "category": "",
        },
    )

    assert answer.status_code == 200
    assert "at least one condition" in answer.text
    assert session.scalars(select(RoutingRule)).all() == []


def test_switching_a_rule_off_is_audited_and_followed(
    app: Flask, session: Session, partners: dict[str, int]
) -> None:
    rule = RoutingRule(partner_id=partners["wages"], country="MY")
    session.add(rule)
    session.commit()
    admin = sign_in(app, add_account(app, Role.ADMIN))

    answer = post_form(admin, "/admin/routing", f"/admin/routing/{rule.id}/active", {"active": "0"})

    assert answer.status_code == 302
    assert session.scalars(select(RoutingRule.active)).one() is False
    assert session.scalars(
        select(AuditEvent).where(AuditEvent.action == "routing_rule.active")
    ).one().detail == {"on": False}
    Twilio(app.test_client()).sms(WAGES)
    assert session.scalars(select(Report)).one().partner_id == partners["default"]


def test_the_preview_explains_each_way_a_report_can_go(
    app: Flask, session: Session, partners: dict[str, int]
) -> None:
    factory_partner = add_partner(app, "Factory Friends")
    factory = Factory(code="F-2931", name="Invented Plastics", partner_id=factory_partner)
    narrow = RoutingRule(partner_id=partners["wages"], country="MY", category="wages")
    broad = RoutingRule(partner_id=partners["default"], language="en", priority=1)
    session.add_all([factory, narrow, broad])
    session.commit()
    coordinator = sign_in(app, add_account(app, Role.COORDINATOR))

    by_rule = preview(coordinator, hotline=HOTLINE, country="MY", language="en", categories="wages")
    by_factory = preview(coordinator, country="TH", factory_id=str(factory.id))
    by_country = preview(coordinator, country="MY")
    nobody = preview(coordinator, country="VN")

    assert f"To Wage Watch, by rule #{narrow.id}" in by_rule
    assert f'data-rule="{narrow.id}" data-matched="yes"' in by_rule
    assert f'data-rule="{broad.id}" data-matched="yes"' in by_rule
    assert by_rule.index(f'data-rule="{narrow.id}"') < by_rule.index(f'data-rule="{broad.id}"')
    assert "To Factory Friends, the factory's own partner" in by_factory
    assert "To Default Monitors, the partner covering the hotline's country" in by_country
    assert "To nobody" in nobody


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MONITOR])
def test_only_an_admin_may_change_rules(
    app: Flask, session: Session, partners: dict[str, int], role: Role
) -> None:
    rule = RoutingRule(partner_id=partners["wages"], country="MY")
    session.add(rule)
    session.commit()
    partner = partners["default"] if role is Role.MONITOR else None
    client = sign_in(app, add_account(app, role, partner_id=partner))

    token_page = "/admin/cases"
    added = post_form(
        client,
        token_page,
        "/admin/routing",
        {"partner_id": str(partners["wages"]), "country": "TH", "priority": "1"},
    )
    switched = post_form(client, token_page, f"/admin/routing/{rule.id}/active", {"active": "0"})

    assert added.status_code == 403
    assert switched.status_code == 403
    assert len(session.scalars(select(RoutingRule)).all()) == 1
    assert session.scalars(select(RoutingRule.active)).one() is True
