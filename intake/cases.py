"""Cases: the reports about one problem at one factory, their verification and remedy plan.

Every function takes the session and the viewer, checks the viewer's reach, owns its write
transaction, and records what it did in the audit log, which is also the case's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, String, cast, distinct, func, select
from sqlalchemy.orm import Session

from intake import audit
from intake.config import Config
from intake.db import write_transaction
from intake.i18n import N_
from intake.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Factory,
    Finding,
    RemedyItem,
    RemedyStatus,
    Report,
    ReportCategory,
    ReportStatus,
    Responsible,
    User,
    Verification,
    VerificationMethod,
    utcnow,
)
from intake.pipeline.redact import redact
from intake.remedy.checkback import all_remedies_done, start_check_back
from intake.triage import InvalidChange, OutOfReach, reachable_report

if TYPE_CHECKING:
    from intake.admin.access import Viewer


def reachable_case(session: Session, viewer: Viewer, case_id: int) -> Case:
    """The case, if it exists and the viewer's role reaches its partner."""
    case = session.get(Case, case_id)
    if case is None or not viewer.may_see(case.partner_id):
        raise OutOfReach(f"case {case_id}")
    return case


def open_case(
    session: Session, viewer: Viewer, report_id: int, *, title: str, category: str | None
) -> Case:
    """Open a case from a report: same factory and partner; the report joins it."""
    with write_transaction(session):
        report = reachable_report(session, viewer, report_id)
        case = Case(
            title=title.strip(),
            factory_id=report.factory_id,
            partner_id=report.partner_id,
            category=category or next(iter(report.category_codes), None),
            created_by_id=viewer.user_id,
        )
        session.add(case)
        session.flush()
        report.case_id = case.id
        if report.status is ReportStatus.NEW:
            report.status = ReportStatus.TRIAGED
        audit.record(session, "case.open", user_id=viewer.user_id, target=case, report=report.id)
    return case


def attach_report(session: Session, viewer: Viewer, report_id: int, case_id: int) -> None:
    """Add a report to an existing case of the same partner."""
    with write_transaction(session):
        report = reachable_report(session, viewer, report_id)
        case = reachable_case(session, viewer, case_id)
        if case.partner_id != report.partner_id and not viewer.sees_all_partners:
            raise OutOfReach(f"case {case_id}")
        report.case_id = case.id
        audit.record(session, "case.attach", user_id=viewer.user_id, target=case, report=report.id)


def add_verification(
    session: Session,
    viewer: Viewer,
    case_id: int,
    *,
    method: VerificationMethod,
    verified_on: date,
    finding: Finding,
    notes: str,
) -> Verification:
    """Record how the case was checked and what was found."""
    with write_transaction(session):
        case = reachable_case(session, viewer, case_id)
        verification = Verification(
            method=method,
            verified_on=verified_on,
            finding=finding,
            # Evidence notes name people ("interviewed supervisor Kevin Tan"): the same pass
            # as every text the system stores.
            notes=redact(notes.strip()).text,
            author_id=viewer.user_id,
        )
        case.verifications.append(verification)
        if case.status is CaseStatus.OPEN and finding in (Finding.SUBSTANTIATED, Finding.PARTLY):
            case.status = CaseStatus.VERIFIED
            for report in case.reports:
                if report.status in (ReportStatus.NEW, ReportStatus.TRIAGED):
                    report.status = ReportStatus.VERIFIED
        session.flush()
        audit.record(
            session,
            "case.verification",
            user_id=viewer.user_id,
            target=case,
            method=method.value,
            finding=finding.value,
        )
    return verification


def add_remedy(
    session: Session,
    viewer: Viewer,
    case_id: int,
    *,
    action: str,
    responsible: Responsible,
    due_on: date | None,
) -> RemedyItem:
    """Add one agreed step to the case's remedy plan."""
    with write_transaction(session):
        case = reachable_case(session, viewer, case_id)
        item = RemedyItem(action=action.strip(), responsible=responsible, due_on=due_on)
        case.remedies.append(item)
        if case.status in (CaseStatus.OPEN, CaseStatus.VERIFIED):
            case.status = CaseStatus.REMEDIATION
        session.flush()
        audit.record(
            session,
            "remedy.add",
            user_id=viewer.user_id,
            target=case,
            item=item.id,
            responsible=responsible.value,
            due_on=due_on.isoformat() if due_on else None,
        )
    return item


def update_remedy(
    session: Session,
    viewer: Viewer,
    item_id: int,
    *,
    status: RemedyStatus,
    evidence: str,
    config: Config,
    case_id: int | None = None,
) -> RemedyItem:
    """Move a remedy item on; when the last one is done, the workers are asked (check-back).

    `case_id` is the case the form was posted on: an item of another case is not found there.
    """
    with write_transaction(session):
        item = session.get(RemedyItem, item_id)
        if item is None or case_id not in (None, item.case_id):
            raise OutOfReach(f"remedy item {item_id}")
        case = reachable_case(session, viewer, item.case_id)
        before = item.status
        item.status = status
        item.evidence = evidence.strip()
        item.done_at = utcnow() if status is RemedyStatus.DONE else None
        audit.record(
            session,
            "remedy.update",
            user_id=viewer.user_id,
            target=case,
            item=item.id,
            before=before.value,
            after=status.value,
        )
        if before is not RemedyStatus.DONE and all_remedies_done(case):
            audit.record(session, "remedy.complete", user_id=viewer.user_id, target=case)
            # The workers who raised it are asked whether it really happened.
            start_check_back(
                session,
                case,
                max_per_month=config.checkback_max_per_month,
                window=config.checkback_window,
                user_id=viewer.user_id,
            )
    return item


def close_case(session: Session, viewer: Viewer, case_id: int) -> None:
    """Close the case and its reports."""
    with write_transaction(session):
        case = reachable_case(session, viewer, case_id)
        if case.status is CaseStatus.CLOSED:
            raise InvalidChange(N_("the case is closed already"))
        case.status = CaseStatus.CLOSED
        case.closed_at = utcnow()
        for report in case.reports:
            report.status = ReportStatus.CLOSED
            report.closed_at = case.closed_at
        audit.record(session, "case.close", user_id=viewer.user_id, target=case)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    action: str
    who: str | None
    detail: dict[str, object]


def timeline(session: Session, case: Case) -> list[TimelineEntry]:
    """Every step of the case, oldest first, from the audit log."""
    rows = session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(AuditEvent.target_type == Case.__tablename__, AuditEvent.target_id == case.id)
        .order_by(AuditEvent.id)
    )
    return [TimelineEntry(event.at, event.action, name, dict(event.detail)) for event, name in rows]


def cases_for(session: Session, viewer: Viewer, *, include_closed: bool = False) -> list[Case]:
    """The cases the viewer reaches, newest first."""
    query = select(Case).order_by(Case.opened_at.desc(), Case.id.desc())
    if not viewer.sees_all_partners:
        query = query.where(Case.partner_id == viewer.partner_id)
    if not include_closed:
        query = query.where(Case.status != CaseStatus.CLOSED)
    return list(session.scalars(query.limit(500)))


def overdue_items(case: Case, today: date | None = None) -> list[RemedyItem]:
    today = today or utcnow().date()
    return [item for item in case.remedies if item.is_overdue(today)]


@dataclass(frozen=True)
class PersistentIssue:
    factory_id: int
    factory_code: str
    factory_name: str
    category: str
    months: int
    reports: int
    last_month: str


def persistent_issues(
    session: Session,
    viewer: Viewer,
    *,
    window_months: int = 6,
    min_months: int = 3,
    today: date | None = None,
) -> list[PersistentIssue]:
    """Factory × category pairs reported in at least `min_months` of the last `window_months`.

    These recur whatever is done case by case: root causes for buyers and brands to address.
    """
    today = today or utcnow().date()
    since = datetime.combine(
        (today.replace(day=1) - timedelta(days=31 * (window_months - 1))).replace(day=1),
        datetime.min.time(),
    ).astimezone()
    month = _month(session)
    query = (
        select(
            Factory.id,
            Factory.code,
            Factory.name,
            ReportCategory.code,
            func.count(distinct(month)),
            func.count(distinct(Report.id)),
            func.max(month),
        )
        .join(ReportCategory, ReportCategory.report_id == Report.id)
        .join(Factory, Factory.id == Report.factory_id)
        .where(Report.created_at >= since, Report.merged_into_id.is_(None))
        .group_by(Factory.id, Factory.code, Factory.name, ReportCategory.code)
        .having(func.count(distinct(month)) >= min_months)
        .order_by(func.count(distinct(month)).desc(), func.count(distinct(Report.id)).desc())
    )
    if not viewer.sees_all_partners:
        query = query.where(Report.partner_id == viewer.partner_id)
    return [PersistentIssue(*row) for row in session.execute(query.limit(200))]


def _month(session: Session) -> ColumnElement[str]:
    # "YYYY-MM" of a report's arrival, in each dialect's own way.
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(Report.created_at, "YYYY-MM")
    return cast(func.strftime("%Y-%m", Report.created_at), String)
