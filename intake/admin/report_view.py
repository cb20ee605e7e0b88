"""One report as a monitor reads it: the thread, categories, notes, case and duplicates.

`load_report` answers None both for a report that does not exist and for one outside the
viewer's reach, so a view answers 404 for both and a monitor learns nothing about other
partners' reports from the URL. A handful of queries per report, however long the thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from intake.admin.access import Viewer
from intake.admin.queue import scope_condition
from intake.models import (
    Alert,
    AlertMail,
    AlertMailStatus,
    Case,
    CaseStatus,
    Direction,
    Factory,
    Message,
    MessageKind,
    Note,
    Partner,
    Report,
    ReportCategory,
    ReportStatus,
    User,
)


@dataclass(frozen=True)
class ThreadMessage:
    """One SMS of the thread, redacted; `other_reporter` when someone else sent it."""

    id: int
    created_at: datetime
    direction: Direction
    kind: MessageKind
    language: str | None
    text: str
    delivery_status: str | None
    author_name: str | None
    other_reporter: bool


@dataclass(frozen=True)
class CategoryDetail:
    """A category on the report, with the words that put it there."""

    code: str
    score: float
    evidence: list[str]
    source: str


@dataclass(frozen=True)
class NoteDetail:
    """A monitor's internal note."""

    id: int
    created_at: datetime
    author_name: str | None
    text: str


@dataclass(frozen=True)
class LinkedReport:
    """Another report named on this one's page (a duplicate, or the report it merged into)."""

    id: int
    code: str
    created_at: datetime


@dataclass(frozen=True)
class CaseSummary:
    """The case a report belongs to."""

    id: int
    title: str
    status: CaseStatus


@dataclass(frozen=True)
class AlertSummary:
    """An urgent alert about the report: how its mails to the on-call contacts went."""

    created_at: datetime
    planned: bool  # its recipients were chosen
    sent: int
    waiting: int
    failed: int


@dataclass(frozen=True)
class ReportDetail:
    """Everything the report page shows."""

    id: int
    code: str
    status: ReportStatus
    urgent: bool
    language: str | None
    country: str | None
    created_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    factory_id: int | None
    factory_code: str | None
    factory_name: str | None
    partner_id: int | None
    partner_name: str | None
    assignee_id: int | None
    assignee_name: str | None
    case: CaseSummary | None
    merged_into: LinkedReport | None
    duplicates: list[LinkedReport]
    thread: list[ThreadMessage]
    categories: list[CategoryDetail]
    notes: list[NoteDetail]
    alerts: list[AlertSummary]
    # How many reporters besides the report's own wrote into this thread (by naming its code):
    # the page warns, because a code can be shared, guessed or mistyped.
    other_reporters: int

    @property
    def other_codes(self) -> bool:
        """Whether messages from more than one reporter were threaded into this report."""
        return self.other_reporters > 0


def load_report(session: Session, viewer: Viewer, report_id: int) -> ReportDetail | None:
    """The report `report_id` as `viewer` may see it, or None if missing or out of reach."""
    assignee = aliased(User)
    target = aliased(Report)
    head = session.execute(
        select(
            Report,
            Factory.code,
            Factory.name,
            Partner.name,
            assignee.name,
            Case.id,
            Case.title,
            Case.status,
            target.id,
            target.code,
            target.created_at,
        )
        .outerjoin(Factory, Factory.id == Report.factory_id)
        .outerjoin(Partner, Partner.id == Report.partner_id)
        .outerjoin(assignee, assignee.id == Report.assignee_id)
        .outerjoin(Case, Case.id == Report.case_id)
        .outerjoin(target, target.id == Report.merged_into_id)
        .where(Report.id == report_id, scope_condition(viewer))
    ).first()
    if head is None:
        return None
    report: Report = head[0]
    thread = _thread(session, report)
    return ReportDetail(
        id=report.id,
        code=report.code,
        status=report.status,
        urgent=report.urgent,
        language=report.language,
        country=report.country,
        created_at=report.created_at,
        last_message_at=report.last_message_at,
        closed_at=report.closed_at,
        factory_id=report.factory_id,
        factory_code=head[1],
        factory_name=head[2],
        partner_id=report.partner_id,
        partner_name=head[3],
        assignee_id=report.assignee_id,
        assignee_name=head[4],
        case=CaseSummary(head[5], head[6], head[7]) if head[5] is not None else None,
        merged_into=LinkedReport(head[8], head[9], head[10]) if head[8] is not None else None,
        duplicates=_duplicates(session, viewer, report.id),
        thread=thread,
        categories=_categories(session, report.id),
        notes=_notes(session, report.id),
        alerts=_alerts(session, report.id),
        other_reporters=len(_other_reporters(session, report)),
    )


def _thread(session: Session, report: Report) -> list[ThreadMessage]:
    author = aliased(User)
    rows = session.execute(
        select(
            Message.id,
            Message.created_at,
            Message.direction,
            Message.kind,
            Message.language,
            Message.text,
            Message.delivery_status,
            author.name,
            Message.reporter_id,
        )
        .outerjoin(author, author.id == Message.author_id)
        .where(Message.report_id == report.id)
        .order_by(Message.created_at, Message.id)
    )
    return [
        ThreadMessage(
            id=row[0],
            created_at=row[1],
            direction=row[2],
            kind=row[3],
            language=row[4],
            text=row[5],
            delivery_status=row[6],
            author_name=row[7],
            other_reporter=row[8] != report.reporter_id,
        )
        for row in rows
    ]


def _other_reporters(session: Session, report: Report) -> set[Any]:
    return set(
        session.scalars(
            select(Message.reporter_id)
            .where(
                Message.report_id == report.id,
                Message.direction == Direction.INBOUND,
                Message.reporter_id != report.reporter_id,
            )
            .distinct()
        )
    )


def _categories(session: Session, report_id: int) -> list[CategoryDetail]:
    rows = session.scalars(
        select(ReportCategory)
        .where(ReportCategory.report_id == report_id)
        .order_by(ReportCategory.score.desc(), ReportCategory.id)
    )
    return [
        CategoryDetail(row.code, row.score, list(row.evidence or []), row.source) for row in rows
    ]


def _notes(session: Session, report_id: int) -> list[NoteDetail]:
    rows = session.execute(
        select(Note.id, Note.created_at, User.name, Note.text)
        .outerjoin(User, User.id == Note.author_id)
        .where(Note.report_id == report_id)
        .order_by(Note.created_at, Note.id)
    )
    return [NoteDetail(*row) for row in rows]


def _alerts(session: Session, report_id: int) -> list[AlertSummary]:
    # One query: each alert with its mails counted by status (an unplanned one has none).
    rows = session.execute(
        select(
            Alert.id, Alert.created_at, Alert.planned_at, AlertMail.status, func.count(AlertMail.id)
        )
        .outerjoin(AlertMail, AlertMail.alert_id == Alert.id)
        .where(Alert.report_id == report_id)
        .group_by(Alert.id, Alert.created_at, Alert.planned_at, AlertMail.status)
        .order_by(Alert.created_at, Alert.id)
    )
    alerts: dict[int, tuple[datetime, bool, dict[AlertMailStatus, int]]] = {}
    for alert_id, created_at, planned_at, status, count in rows:
        _, _, mails = alerts.setdefault(alert_id, (created_at, planned_at is not None, {}))
        if status is not None:
            mails[status] = count
    return [
        AlertSummary(
            created_at=created_at,
            planned=planned,
            sent=mails.get(AlertMailStatus.SENT, 0),
            waiting=mails.get(AlertMailStatus.PENDING, 0) + mails.get(AlertMailStatus.SENDING, 0),
            failed=mails.get(AlertMailStatus.FAILED, 0),
        )
        for created_at, planned, mails in alerts.values()
    ]


def _duplicates(session: Session, viewer: Viewer, report_id: int) -> list[LinkedReport]:
    rows = session.execute(
        select(Report.id, Report.code, Report.created_at)
        .where(Report.merged_into_id == report_id, scope_condition(viewer))
        .order_by(Report.created_at, Report.id)
    )
    return [LinkedReport(*row) for row in rows]
