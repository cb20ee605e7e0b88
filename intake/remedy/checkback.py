"""Check-back: once a case's remedy is done, ask the workers who reported it whether it is.

Surveys are written to the outbox in the caller's transaction (the sending worker texts them);
answers arrive through the webhook (`intake.pipeline.receive`), which calls `open_check_back`
and `record_answer` inside its own write transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from intake.audit import record
from intake.models import (
    AuditEvent,
    Case,
    CaseStatus,
    CheckBack,
    Outbox,
    OutboxKind,
    OutboxStatus,
    RemedyItem,
    RemedyStatus,
    Report,
    Reporter,
    SurveyAnswer,
    UTCDateTime,
    utcnow,
)
from intake.sms.replies import Reply, problem_label, render

log = logging.getLogger(__name__)

DEFAULT_MAX_PER_MONTH = 2
DEFAULT_WINDOW = timedelta(days=30)
# "A month" for the survey limit.
MONTH = timedelta(days=30)
# A worker who says the problem is not, or only partly, fixed sends the remedy back to a
# monitor: "partly" means some agreed step did not happen, and only a person can tell which.
REOPENS = frozenset({SurveyAnswer.NO, SurveyAnswer.PARTLY})


class RemedyNotDone(ValueError):
    """A check-back was asked for a case whose remedy items are not all done."""


@dataclass(frozen=True)
class Confirmations:
    """What the workers surveyed on a case said, counting each worker's latest answer."""

    asked: int
    answered: int
    yes: int
    partly: int
    no: int

    @property
    def fixed(self) -> int:
        """How many say it is fixed (the "7" of "7 of 9 say fixed")."""
        return self.yes


@dataclass(frozen=True)
class OpenCheckBack:
    """An unanswered survey a worker's next message may answer."""

    id: int
    case_id: int
    report_id: int | None
    report_code: str | None


def all_remedies_done(case: Case) -> bool:
    """Whether the case has remedy items and every one of them is done."""
    return bool(case.remedies) and all(item.status == RemedyStatus.DONE for item in case.remedies)


def start_check_back(
    session: Session,
    case: Case,
    *,
    max_per_month: int = DEFAULT_MAX_PER_MONTH,
    window: timedelta = DEFAULT_WINDOW,
    user_id: int | None = None,
    now: datetime | None = None,
) -> list[CheckBack]:
    """Queue one survey per reachable, consenting worker who reported on `case`.

    Adds to the caller's transaction (the surveys are sent only if the change that finished
    the remedy commits). Skips workers surveyed `max_per_month` times in the last 30 days and
    those already asked about this case and not yet answered within `window`.
    """
    if not all_remedies_done(case):
        raise RemedyNotDone(f"case {case.id}: remedy items are not all done")
    now = now or utcnow()
    # Each worker is asked once, about their most recent report in the case.
    latest: dict[int, Report] = {}
    for report in sorted(case.reports, key=lambda r: (r.last_message_at, r.id)):
        latest[report.reporter_id] = report
    reachable = set(
        session.scalars(
            select(Reporter.id).where(
                Reporter.id.in_(latest),
                Reporter.contact.is_not(None),
                Reporter.consent.is_(True),
                Reporter.opted_out.is_(False),
            )
        )
    )
    recent: dict[int, int] = {
        reporter_id: count
        for reporter_id, count in session.execute(
            select(CheckBack.reporter_id, func.count(CheckBack.id))
            .where(CheckBack.reporter_id.in_(reachable), CheckBack.asked_at >= now - MONTH)
            .group_by(CheckBack.reporter_id)
        )
    }
    waiting = set(
        session.scalars(
            select(CheckBack.reporter_id).where(
                CheckBack.case_id == case.id,
                CheckBack.answer.is_(None),
                CheckBack.asked_at >= now - window,
            )
        )
    )
    languages: dict[int, str | None] = {
        reporter_id: language
        for reporter_id, language in session.execute(
            select(Reporter.id, Reporter.language).where(Reporter.id.in_(reachable))
        )
    }
    asked: list[CheckBack] = []
    for reporter_id, report in latest.items():
        if reporter_id not in reachable or reporter_id in waiting:
            continue
        if recent.get(reporter_id, 0) >= max_per_month:
            continue
        language = languages.get(reporter_id) or report.language or "en"
        body = render(
            Reply.SURVEY,
            language,
            code=report.code,
            problem=problem_label(case.category, language),
        )
        outbox = Outbox(
            kind=OutboxKind.SURVEY,
            reporter_id=reporter_id,
            report_id=report.id,
            case_id=case.id,
            author_id=user_id,
            body=body,
            language=language,
            status=OutboxStatus.QUEUED,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(outbox)
        session.flush()
        check_back = CheckBack(
            case_id=case.id,
            reporter_id=reporter_id,
            report_id=report.id,
            outbox_id=outbox.id,
            asked_at=now,
        )
        session.add(check_back)
        asked.append(check_back)
    session.flush()
    record(
        session,
        "check_back.started",
        user_id=user_id,
        target=case,
        check_back_ids=[check_back.id for check_back in asked],
        reporters=len(latest),
        asked=len(asked),
    )
    log.info("check-back case=%d asked=%d of %d", case.id, len(asked), len(latest))
    return asked


def case_confirmations(session: Session, case: Case) -> Confirmations:
    """How many workers were asked about `case`, and what their latest answers are."""
    rows = session.execute(
        select(CheckBack.reporter_id, CheckBack.answer)
        .where(CheckBack.case_id == case.id)
        .order_by(CheckBack.answered_at.is_(None), CheckBack.answered_at, CheckBack.id)
    )
    asked: set[int] = set()
    answers: dict[int, SurveyAnswer] = {}
    for reporter_id, answer in rows:
        asked.add(reporter_id)
        if answer is not None:
            answers[reporter_id] = answer
    counts = {answer: 0 for answer in SurveyAnswer}
    for answer in answers.values():
        counts[answer] += 1
    return Confirmations(
        asked=len(asked),
        answered=len(answers),
        yes=counts[SurveyAnswer.YES],
        partly=counts[SurveyAnswer.PARTLY],
        no=counts[SurveyAnswer.NO],
    )


# Prebuilt for the webhook's write transaction, like the statements in pipeline.receive.
_OPEN = (
    select(CheckBack.id, CheckBack.case_id, CheckBack.report_id, Report.code)
    .outerjoin(Report, Report.id == CheckBack.report_id)
    .where(
        CheckBack.reporter_id == bindparam("reporter_id"),
        CheckBack.answer.is_(None),
        CheckBack.asked_at >= bindparam("since", type_=UTCDateTime()),
    )
    .order_by(CheckBack.asked_at.desc(), CheckBack.id.desc())
    .limit(1)
)
_REOPEN_ITEMS = (
    update(RemedyItem)
    .where(
        RemedyItem.case_id == bindparam("reopen_case_id"),
        RemedyItem.status == RemedyStatus.DONE,
    )
    .values(status=RemedyStatus.REOPENED, updated_at=bindparam("now", type_=UTCDateTime()))
    .returning(RemedyItem.id)
)
_REOPEN_CASE = (
    update(Case)
    .where(Case.id == bindparam("case_id"), Case.status == CaseStatus.CLOSED)
    .values(status=CaseStatus.REMEDIATION, closed_at=None)
)


def open_check_back(db: Connection, reporter_id: int, since: datetime) -> OpenCheckBack | None:
    """The reporter's latest unanswered survey asked after `since`, if any."""
    row = db.execute(_OPEN, {"reporter_id": reporter_id, "since": since}).first()
    return OpenCheckBack(*row) if row is not None else None


def record_answer(
    db: Connection,
    check_back: OpenCheckBack,
    answer: SurveyAnswer,
    message_id: int,
    now: datetime,
) -> list[int]:
    """Store the answer; "no" or "partly" reopens the case's done remedy items (returned)."""
    db.execute(
        update(CheckBack)
        .where(CheckBack.id == check_back.id)
        .values(answer=answer, answered_at=now, answer_message_id=message_id)
    )
    if answer not in REOPENS:
        return []
    reopened = list(db.scalars(_REOPEN_ITEMS, {"reopen_case_id": check_back.case_id, "now": now}))
    if not reopened:
        return []
    case_reopened = db.execute(_REOPEN_CASE, {"case_id": check_back.case_id}).rowcount > 0
    # The worker, not a monitor, made this change: no user, but the log still says why.
    db.execute(
        insert(AuditEvent).values(
            at=now,
            user_id=None,
            action="remedy.reopened",
            target_type=Case.__tablename__,
            target_id=check_back.case_id,
            detail={
                "check_back_id": check_back.id,
                "answer": answer.value,
                "remedy_item_ids": reopened,
                "case_reopened": case_reopened,
            },
        )
    )
    return reopened
