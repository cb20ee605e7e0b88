"""Cases and remedies as plain functions: reach, status flow, overdue items, persistent issues."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from intake import cases
from intake.admin.access import Viewer
from intake.db import sessions, write_transaction
from intake.models import (
    CaseStatus,
    Factory,
    Finding,
    Partner,
    RemedyStatus,
    Report,
    ReportCategory,
    Reporter,
    ReportStatus,
    Responsible,
    Role,
    VerificationMethod,
)
from intake.triage import InvalidChange, OutOfReach

from admin_support import add_account


def _viewer(app: Flask, role: Role, partner_id: int | None = None) -> Viewer:
    account = add_account(app, role, partner_id=partner_id)
    return Viewer(account.id, role, account.partner_id)


def _world(app: Flask) -> tuple[int, int, int]:
    """Two partners' factories and a reporter; returns (partner A, partner B, factory of A)."""
    with sessions(app)() as session, write_transaction(session):
        a, b = Partner(name="A"), Partner(name="B")
        factory = Factory(code="F-1001", name="Invented Works", partner=a)
        session.add_all([a, b, factory, Reporter(pseudonym="p" * 64)])
        session.flush()
        return a.id, b.id, factory.id


def _report(
    session: Session,
    partner_id: int,
    factory_id: int | None,
    when: datetime,
    code: str,
    category: str = "wages",
) -> int:
    with write_transaction(session):
        report = Report(
            code=code,
            reporter_id=1,
            partner_id=partner_id,
            factory_id=factory_id,
            created_at=when,
            last_message_at=when,
        )
        report.categories.append(ReportCategory(code=category, score=1.0))
        session.add(report)
        session.flush()
        return report.id


def test_case_flow_from_open_to_closed(app: Flask, session: Session) -> None:
    a, _b, factory = _world(app)
    report_id = _report(session, a, factory, datetime(2026, 10, 2, tzinfo=UTC), "AAAA11")
    monitor = _viewer(app, Role.MONITOR, a)
    case = cases.open_case(session, monitor, report_id, title="Wages", category=None)
    assert case.category == "wages"
    assert case.factory_id == factory
    cases.add_verification(
        session,
        monitor,
        case.id,
        method=VerificationMethod.SITE_VISIT,
        verified_on=date(2026, 10, 20),
        finding=Finding.SUBSTANTIATED,
        notes="",
    )
    item = cases.add_remedy(
        session,
        monitor,
        case.id,
        action="Back pay",
        responsible=Responsible.BRAND,
        due_on=date(2026, 11, 1),
    )
    session.expire_all()
    found = cases.reachable_case(session, monitor, case.id)
    assert found.status is CaseStatus.REMEDIATION
    assert [i.id for i in cases.overdue_items(found, date(2026, 11, 2))] == [item.id]
    assert cases.overdue_items(found, date(2026, 10, 31)) == []
    cases.update_remedy(
        session, monitor, item.id, status=RemedyStatus.DONE, evidence="Payslips",
        config=app.config["INTAKE"],
    )
    cases.close_case(session, monitor, case.id)
    session.expire_all()
    assert session.get(Report, report_id).status is ReportStatus.CLOSED
    with pytest.raises(InvalidChange):
        cases.close_case(session, monitor, case.id)
    steps = [entry.action for entry in cases.timeline(session, found)]
    assert steps == [
        "case.open",
        "case.verification",
        "remedy.add",
        "remedy.update",
        "remedy.complete",
        "check_back.started",
        "case.close",
    ]


def test_other_partners_cases_are_out_of_reach(app: Flask, session: Session) -> None:
    a, b, factory = _world(app)
    report_id = _report(session, a, factory, datetime(2026, 10, 2, tzinfo=UTC), "AAAA22")
    case = cases.open_case(
        session, _viewer(app, Role.COORDINATOR), report_id, title="x", category="wages"
    )
    stranger = _viewer(app, Role.MONITOR, b)
    with pytest.raises(OutOfReach):
        cases.reachable_case(session, stranger, case.id)
    with pytest.raises(OutOfReach):
        cases.add_remedy(
            session, stranger, case.id, action="x", responsible=Responsible.FACTORY, due_on=None
        )
    assert cases.cases_for(session, stranger) == []


def test_persistent_issues_are_months_not_counts(app: Flask, session: Session) -> None:
    a, _b, factory = _world(app)
    # Wages in three different months: persistent. Hours, five times in one month: not.
    for n, month in enumerate((7, 9, 11)):
        _report(session, a, factory, datetime(2026, month, 3, tzinfo=UTC), f"WAGE{n}0")
    for n in range(5):
        _report(
            session,
            a,
            factory,
            datetime(2026, 11, 4 + n, tzinfo=UTC),
            f"HOUR{n}0",
            category="working_hours",
        )
    found = cases.persistent_issues(
        session, _viewer(app, Role.COORDINATOR), today=date(2026, 11, 24)
    )
    assert [(i.factory_code, i.category, i.months, i.reports) for i in found] == [
        ("F-1001", "wages", 3, 3)
    ]
    assert found[0].last_month == "2026-11"
    assert (
        cases.persistent_issues(session, Viewer(9, Role.MONITOR, _b), today=date(2026, 11, 24))
        == []
    )


def test_evidence_notes_are_stored_without_names_or_numbers(app: Flask, session: Session) -> None:
    a, _b, factory = _world(app)
    report_id = _report(session, a, factory, datetime(2026, 10, 2, tzinfo=UTC), "AAAA12")
    monitor = _viewer(app, Role.MONITOR, a)
    case = cases.open_case(session, monitor, report_id, title="Wages", category=None)
    verification = cases.add_verification(
        session,
        monitor,
        case.id,
        method=VerificationMethod.WORKER_INTERVIEWS,
        verified_on=date(2026, 10, 20),
        finding=Finding.SUBSTANTIATED,
        notes="interviewed supervisor Kevin Tan, his phone +60 12-345 6789",
    )
    assert "Kevin" not in verification.notes
    assert "6789" not in verification.notes
    assert verification.notes.startswith("interviewed supervisor [NAME]")
