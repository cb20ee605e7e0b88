"""Every admin route, for every role: a monitor of partner A never reaches partner B's data."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import cases
from intake.admin.access import Viewer
from intake.db import sessions, write_transaction
from intake.models import (
    AuditEvent,
    Buyer,
    Contact,
    Factory,
    Message,
    Report,
    Responsible,
    Role,
    RoutingRule,
)

from admin_support import BASE_URL, World, browser, build_world, csrf, sign_in

# Routes that only sign a person in or out, or set the language: open to everyone by design.
PUBLIC = {"admin.login", "admin.code", "admin.enrol", "admin.language", "admin.logout"}
# Who may use each route at all (the partner scope is checked separately).
STAFF_ONLY = {"admin.partners", "admin.buyers", "admin.exports", "admin.routing"}
ADMIN_ONLY = {
    "admin.users",
    "admin.audit_log",
    "admin.factory",
    "admin.partner_contact",
    "admin.contact_on_call",
    "admin.buyer_contract",
    "admin.user_change",
    "admin.routing_rule_active",
}


@pytest.fixture
def world(app: Flask) -> World:
    return build_world(app)


def _ids(app: Flask, world: World) -> dict[str, int]:
    """Ids of partner B's records, to put in every URL."""
    admin = Viewer(world.admin.id, Role.ADMIN, None)
    with sessions(app)() as session:
        case = cases.open_case(session, admin, world.report_b, title="Locked exit", category=None)
        item = cases.add_remedy(
            session,
            admin,
            case.id,
            action="Unlock the exits",
            responsible=Responsible.FACTORY,
            due_on=date(2026, 12, 1),
        )
        message = session.scalar(select(Message.id).where(Message.report_id == world.report_b))
        with write_transaction(session):
            factory = Factory(code="F-9001", name="Invented Plant", partner_id=world.partner_b)
            buyer = Buyer(name="Invented County Council")
            contact = Contact(partner_id=world.partner_b, name="On-call B", email="b@example.org")
            rule = RoutingRule(partner_id=world.partner_b, country="VN")
            session.add_all([factory, buyer, contact, rule])
        return {
            "report_id": world.report_b,
            "user_id": world.monitor_b.id,
            "case_id": case.id,
            "item_id": item.id,
            "message_id": message,
            "factory_id": factory.id,
            "partner_id": world.partner_b,
            "contact_id": contact.id,
            "buyer_id": buyer.id,
            "rule_id": rule.id,
        }


def _routes(app: Flask, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint in PUBLIC:
            continue
        path = rule.rule
        for name, value in ids.items():
            path = path.replace(f"<int:{name}>", str(value))
        path = re.sub(r"<any\((\w+)[^>]*>", r"\1", path)
        assert "<" not in path, f"no id for {rule.rule}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, path))
    return found


def _changes(session: Session) -> tuple[int, ...]:
    """Counts that any successful change would move."""
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.not_in(["auth.sign_in", "auth.refused"]))
        )
        or 0,
        session.scalar(select(func.count()).select_from(Report).where(Report.case_id.isnot(None)))
        or 0,
    )


def test_anonymous_reaches_nothing(app: Flask, world: World, session: Session) -> None:
    ids = _ids(app, world)
    client = browser(app)
    before = _changes(session)
    for endpoint, method, path in _routes(app, ids):
        answer = client.open(f"{BASE_URL}{path}", method=method, data={"csrf_token": "x"})
        assert answer.status_code in (302, 400, 401), (endpoint, method, answer.status_code)
        if answer.status_code == 302:
            assert "/admin/login" in answer.headers["Location"]
    assert _changes(session) == before


def test_monitor_of_partner_a_never_reaches_partner_b(
    app: Flask, world: World, session: Session
) -> None:
    ids = _ids(app, world)
    client = sign_in(app, world.monitor_a)
    token = csrf(client, f"{BASE_URL}/admin/cases")
    before = _changes(session)
    for endpoint, method, path in _routes(app, ids):
        answer = client.open(
            f"{BASE_URL}{path}",
            method=method,
            data={
                "csrf_token": token,
                "text": "x",
                "title": "x",
                "codes": "wages",
                "status": "closed",
                "code": "ZZZZZZ",
                "report_id": str(ids["report_id"]),
            },
        )
        body = answer.get_data(as_text=True)
        if endpoint in ADMIN_ONLY or endpoint in STAFF_ONLY:
            assert answer.status_code == 403, (endpoint, method)
        elif method == "GET" and "<int:" not in str(app.url_map._rules_by_endpoint[endpoint][0]):
            # Lists: allowed, but show nothing of partner B.
            assert answer.status_code == 200, endpoint
            assert "Locked exit" not in body
            assert "fire exit" not in body
            assert "F-9001" not in body
        else:
            assert answer.status_code in (403, 404), (endpoint, method, answer.status_code)
    assert _changes(session) == before


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ADMIN])
def test_staff_reach_every_partner(app: Flask, world: World, role: Role) -> None:
    ids = _ids(app, world)
    account = world.coordinator if role is Role.COORDINATOR else world.admin
    client = sign_in(app, account)
    for endpoint, method, path in _routes(app, ids):
        if method != "GET":
            continue
        answer = client.get(f"{BASE_URL}{path}")
        expected = 403 if role is Role.COORDINATOR and endpoint in ADMIN_ONLY else 200
        assert answer.status_code == expected, (endpoint, answer.status_code)


def test_audit_log_is_append_only(app: Flask, world: World, session: Session) -> None:
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DatabaseError

    engine = sessions(app).kw["bind"]
    for statement in (update(AuditEvent).values(action="forged"), delete(AuditEvent)):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    assert session.scalar(select(func.count()).select_from(AuditEvent))


def test_audit_log_refuses_truncate(app: Flask, world: World, session: Session) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    engine = sessions(app).kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE: DELETE without WHERE meets the DELETE trigger")
    kept = session.scalar(select(func.count()).select_from(AuditEvent))
    assert kept
    for statement in ("TRUNCATE audit_event", "TRUNCATE audit_event RESTART IDENTITY CASCADE"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == kept
