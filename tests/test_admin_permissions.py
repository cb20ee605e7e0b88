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
    # SQLite has no TRUNCATE: its nearest, a DELETE without WHERE, must meet the trigger too
    # (SQLite's truncate optimisation is off for a table with triggers).
    statements = (
        ("TRUNCATE audit_event", "TRUNCATE audit_event RESTART IDENTITY CASCADE")
        if engine.dialect.name == "postgresql"
        else ("DELETE FROM audit_event",)
    )
    kept = session.scalar(select(func.count()).select_from(AuditEvent))
    assert kept
    for statement in statements:
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == kept


def _snapshot(session: Session) -> dict[str, list[tuple[object, ...]]]:
    """Every row the app keeps, but sign-in bookkeeping: what any change would move."""
    from intake.db import Base

    tables = {}
    for table in Base.metadata.sorted_tables:
        if table.name == "user_account" or any(
            word in table.name for word in ("session", "login", "throttle")
        ):
            continue
        query = select(table)
        if table.name == AuditEvent.__tablename__:
            query = query.where(AuditEvent.action.not_like("auth.%"))
        rows = session.execute(query).all()
        tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def test_a_monitor_posting_partner_bs_ids_in_their_own_forms_changes_nothing(
    app: Flask, world: World, session: Session
) -> None:
    ids = _ids(app, world)
    monitor = Viewer(world.monitor_a.id, Role.MONITOR, world.partner_a)
    with sessions(app)() as own:
        mine = cases.open_case(own, monitor, world.report_a, title="Unpaid overtime", category=None)
        code_b = own.scalar(select(Report.code).where(Report.id == world.report_b))
        unrouted = Factory(code="F-0001", name="Nobody's Plant")
        with write_transaction(own):
            own.add(unrouted)
    report, case, item = world.report_a, mine.id, ids["item_id"]
    # Each form a monitor may use on their own report or case, carrying one of B's ids.
    forms = [
        (f"/admin/reports/{report}/factory", {"factory_id": ids["factory_id"]}),
        (f"/admin/reports/{report}/factory", {"factory_id": unrouted.id}),
        (f"/admin/reports/{report}/assign", {"assignee_id": world.monitor_b.id}),
        (f"/admin/reports/{report}/merge", {"code": code_b}),
        (f"/admin/reports/{report}/case", {"case_id": ids["case_id"]}),
        ("/admin/cases/new", {"report_id": world.report_b, "title": "Taken over"}),
        (
            f"/admin/cases/{case}/remedies/{item}",
            {f"item{item}-status": "done", f"item{item}-evidence": "photos"},
        ),
        (f"/admin/reports/{report}/messages/{ids['message_id']}/original", {}),
    ]
    client = sign_in(app, world.monitor_a)
    token = csrf(client, f"{BASE_URL}/admin/reports/{report}")
    before = _snapshot(session)
    for path, data in forms:
        answer = client.post(
            f"{BASE_URL}{path}",
            data={"csrf_token": token, f"item{item}-csrf_token": token, **data},
        )
        assert answer.status_code in (302, 404), (path, data, answer.status_code)
        if answer.status_code == 302:
            assert f"/admin/cases/{ids['case_id']}" not in answer.headers["Location"]
        assert _snapshot(session) == before, (path, data)


def test_every_domain_function_refuses_an_id_out_of_reach(
    app: Flask, world: World, session: Session
) -> None:
    from intake import reference, triage
    from intake.models import Finding, RemedyStatus, ReportStatus, VerificationMethod

    ids = _ids(app, world)
    monitor = Viewer(world.monitor_a.id, Role.MONITOR, world.partner_a)
    admin = Viewer(world.admin.id, Role.ADMIN, None)
    keyring, config = app.extensions["intake.hotline"].keyring, app.config["INTAKE"]
    with sessions(app)() as own:
        mine = cases.open_case(own, monitor, world.report_a, title="Unpaid overtime", category=None)
        code_b = own.scalar(select(Report.code).where(Report.id == world.report_b)) or ""
    a, b, missing = world.report_a, world.report_b, 10**9
    factory = {"code": "F-7", "name": "x", "aliases": [], "country": None, "region": None,
               "brands": [], "suppliers": []}
    # (who, call) for every domain function that takes an id, with one out of reach.
    calls = [
        (monitor, lambda s, v: triage.set_categories(s, v, b, ["wages"])),
        (monitor, lambda s, v: triage.update_report(s, v, b, status=ReportStatus.CLOSED)),
        (monitor, lambda s, v: triage.set_factory(s, v, b, None)),
        (monitor, lambda s, v: triage.set_factory(s, v, a, ids["factory_id"])),
        (admin, lambda s, v: triage.set_factory(s, v, a, missing)),
        (monitor, lambda s, v: triage.assign(s, v, b, None)),
        (monitor, lambda s, v: triage.assign(s, v, a, world.monitor_b.id)),
        (monitor, lambda s, v: triage.add_note(s, v, b, "x")),
        (monitor, lambda s, v: triage.merge_into(s, v, b, "ZZZZZZ")),
        (monitor, lambda s, v: triage.merge_into(s, v, a, code_b)),
        (monitor, lambda s, v: triage.show_original(s, v, ids["message_id"], keyring, config)),
        (monitor, lambda s, v: triage.reply_to_worker(s, v, b, "x")),
        (monitor, lambda s, v: cases.open_case(s, v, b, title="x", category=None)),
        (monitor, lambda s, v: cases.attach_report(s, v, a, ids["case_id"])),
        (monitor, lambda s, v: cases.attach_report(s, v, b, mine.id)),
        (monitor, lambda s, v: cases.add_verification(
            s, v, ids["case_id"], method=VerificationMethod.SITE_VISIT,
            verified_on=date(2026, 11, 1), finding=Finding.SUBSTANTIATED, notes="")),
        (monitor, lambda s, v: cases.add_remedy(
            s, v, ids["case_id"], action="x", responsible=Responsible.FACTORY, due_on=None)),
        (monitor, lambda s, v: cases.update_remedy(
            s, v, ids["item_id"], status=RemedyStatus.DONE, evidence="", config=config)),
        (monitor, lambda s, v: cases.close_case(s, v, ids["case_id"])),
        (monitor, lambda s, v: reference.save_factory(
            s, v, ids["factory_id"], **factory, partner_id=None)),
        (monitor, lambda s, v: reference.save_factory(
            s, v, None, **{**factory, "code": "F-8"}, partner_id=world.partner_b)),
        (admin, lambda s, v: reference.save_factory(
            s, v, None, **{**factory, "code": "F-9"}, partner_id=missing)),
        (monitor, lambda s, v: reference.add_contact(
            s, v, keyring, world.partner_b, name="x", email=None, phone=None)),
        (monitor, lambda s, v: reference.set_on_call(s, v, ids["contact_id"], False)),
        (monitor, lambda s, v: reference.add_contract(
            s, v, ids["buyer_id"], reference="x", brands=[], factory_ids=[ids["factory_id"]],
            starts_on=None, ends_on=None)),
        (admin, lambda s, v: reference.add_contract(
            s, v, ids["buyer_id"], reference="x", brands=[], factory_ids=[missing],
            starts_on=None, ends_on=None)),
        (admin, lambda s, v: reference.add_contract(
            s, v, missing, reference="x", brands=[], factory_ids=[], starts_on=None, ends_on=None)),
        (monitor, lambda s, v: reference.add_routing_rule(
            s, v, partner_id=world.partner_b, country="VN")),
        (monitor, lambda s, v: reference.add_routing_rule(
            s, v, partner_id=world.partner_a, factory_id=ids["factory_id"])),
        (admin, lambda s, v: reference.add_routing_rule(
            s, v, partner_id=world.partner_a, factory_id=missing)),
        (monitor, lambda s, v: reference.set_rule_active(s, v, ids["rule_id"], False)),
    ]
    before = _snapshot(session)
    for number, (who, call) in enumerate(calls):
        with sessions(app)() as own, pytest.raises((triage.OutOfReach, triage.InvalidChange)):
            call(own, who)
        assert _snapshot(session) == before, number


def test_ids_in_a_url_must_belong_together(app: Flask, world: World, session: Session) -> None:
    ids = _ids(app, world)
    admin = Viewer(world.admin.id, Role.ADMIN, None)
    with sessions(app)() as own:
        other = cases.open_case(own, admin, world.report_a, title="Unpaid overtime", category=None)
    item = ids["item_id"]
    client = sign_in(app, world.admin)
    token = csrf(client, f"{BASE_URL}/admin/cases/{other.id}")
    before = _snapshot(session)
    for path, data in [
        # Case A's page, case B's remedy item; report A's page, report B's message.
        (f"/admin/cases/{other.id}/remedies/{item}",
         {f"item{item}-status": "done", f"item{item}-csrf_token": token}),
        (f"/admin/reports/{world.report_a}/messages/{ids['message_id']}/original", {}),
    ]:
        answer = client.post(f"{BASE_URL}{path}", data={"csrf_token": token, **data})
        assert answer.status_code == 404, (path, answer.status_code)
        assert _snapshot(session) == before, path


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
