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


# Everything a route reads from its path, its query or its form, for the fuzz walk below.
PARAMETERS = (
    "action", "after", "before", "category", "country", "expired", "factory", "from",
    "language", "next", "partner", "q", "status", "to", "urgent", "preview", "active",
    "on_call", "codes", "text", "title", "code", "report_id", "case_id", "factory_id",
    "assignee_id", "method", "verified_on", "finding", "notes", "responsible", "due_on",
    "evidence", "name", "aliases", "region", "brands", "suppliers", "partner_id", "countries",
    "email", "phone", "reference", "factory_ids", "starts_on", "ends_on", "role", "password",
    "hotline", "priority", "categories", "month", "buyer", "format", "records", "locale",
)  # fmt: skip
HOSTILE_VALUES = (
    "99999999999999999999", "2147483648", "-1", "0", "²", "٣", "\x00", "a\x00b", "\r\nX-A: b",
    "/\r\n/evil.example", "x" * 10_000, "9999-12-31", "0000-00-00", "2026-02-30", "",
)  # fmt: skip
HOSTILE_IDS = ("99999999999999999999", "2147483648", "0", "²", "٣")


def _hostile_paths(app: Flask, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """Every admin route with real ids, and with each hostile id in every id's place."""
    found = []
    for rule in app.url_map.iter_rules():
        # Sign-in's own hostile input is tested in test_admin_auth: wrong passwords here would
        # trip the per-address throttle for every later test.
        if not rule.endpoint.startswith("admin.") or rule.endpoint in PUBLIC - {"admin.language"}:
            continue
        path = re.sub(r"<any\((\w+)[^>]*>", r"\1", rule.rule)
        variants = [path]
        for value in HOSTILE_IDS:
            variants.append(re.sub(r"<int:(\w+)>", value, path))
        for name, value in ids.items():
            variants = [v.replace(f"<int:{name}>", str(value)) for v in variants]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.extend((rule.endpoint, method, variant) for variant in dict.fromkeys(variants))
    return found


def test_hostile_values_anywhere_never_give_a_server_error(app: Flask, world: World) -> None:
    ids = _ids(app, world)
    client = sign_in(app, world.admin)
    token = csrf(client, f"{BASE_URL}/admin/cases")
    failures = []
    for endpoint, method, path in _hostile_paths(app, ids):
        for value in HOSTILE_VALUES:
            fields = dict.fromkeys(PARAMETERS, value)
            if method == "GET":
                answer = client.get(f"{BASE_URL}{path}", query_string=fields)
            else:
                data = {**fields, "csrf_token": token}
                answer = client.post(f"{BASE_URL}{path}", query_string=fields, data=data)
            if answer.status_code >= 500:
                failures.append((endpoint, method, path, value[:20], answer.status_code))
            assert "\n" not in answer.headers.get("Location", "")
    summary = sorted({(e, m, "id" if any(i in p for i in HOSTILE_IDS) else "", v[:12], c)
                      for e, m, p, v, c in failures})
    assert not failures, "\n".join(map(repr, summary))


@pytest.mark.parametrize(
    "path",
    ["/admin/audit?before=²", "/admin/audit?before=99999999999999999999", "/admin/?q=a%00b",
     "/admin/audit?action=" + "x" * 300],
)
def test_bad_input_gets_a_400_page_in_the_layout_in_the_monitors_language(
    app: Flask, world: World, path: str
) -> None:
    client = sign_in(app, world.admin)
    token = csrf(client, f"{BASE_URL}/admin/cases")
    client.post(f"{BASE_URL}/admin/language", data={"locale": "es", "csrf_token": token})

    answer = client.get(f"{BASE_URL}{path}")

    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert '<header class="top">' in page
    assert "Solicitud incorrecta" in page


def test_a_filter_date_far_away_is_ignored_not_a_crash(app: Flask, world: World) -> None:
    client = sign_in(app, world.admin)
    for value in ("9999-12-31", "0001-01-01", "2026-02-30"):
        assert client.get(f"{BASE_URL}/admin/", query_string={"to": value}).status_code == 200
        assert client.get(f"{BASE_URL}/admin/", query_string={"from": value}).status_code == 200
