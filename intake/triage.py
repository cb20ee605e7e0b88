"""Monitors' work on a report: categories (kept as labels for the learner), status, factory,
assignment, notes, merging duplicates, and reading the original text. Every change is audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake import audit
from intake.config import Config
from intake.db import write_transaction
from intake.i18n import N_, Refusal
from intake.messaging.outbox import queue_reply
from intake.models import (
    CategoryLabel,
    Direction,
    Factory,
    Message,
    Note,
    Report,
    ReportCategory,
    ReportStatus,
    Role,
    User,
    utcnow,
)
from intake.pipeline.identity import Keyring
from intake.pipeline.originals import read_original
from intake.pipeline.redact import redact
from intake.pipeline.types import CATEGORY_CODES, Redaction

if TYPE_CHECKING:
    from intake.admin.access import Viewer


class UnknownCategory(Refusal):
    """A code that is not in the taxonomy."""


def confirm_categories(session: Session, report: Report, codes: Iterable[str]) -> CategoryLabel:
    """Set the report's categories to a monitor's choice and store it as a training label.

    The caller owns the transaction (the admin view commits it with its audit entry).
    """
    chosen = list(dict.fromkeys(codes))
    unknown = [code for code in chosen if code not in CATEGORY_CODES]
    if unknown:
        raise UnknownCategory(N_("not taxonomy codes: %(codes)s"), codes=", ".join(unknown))
    existing = {category.code: category for category in report.categories}
    for code, category in existing.items():
        if code not in chosen:
            report.categories.remove(category)
    for code in chosen:
        kept = existing.get(code)
        if kept is None:
            report.categories.append(
                ReportCategory(code=code, score=1.0, evidence=["monitor"], source="monitor")
            )
        else:
            kept.score, kept.source = 1.0, "monitor"
    label = CategoryLabel(
        report_id=report.id,
        text=report_text(session, report),
        language=report.language,
        categories=chosen,
    )
    session.add(label)
    return label


def report_text(session: Session, report: Report) -> str:
    """The report's inbound messages, redacted, in order: what a monitor reads and judges."""
    texts = session.scalars(
        select(Message.text)
        .where(Message.report_id == report.id, Message.direction == Direction.INBOUND)
        .order_by(Message.id)
    )
    return "\n".join(text for text in texts if text)


class OutOfReach(LookupError):
    """No such record, or not this viewer's partner's: both look the same from outside."""


class InvalidChange(Refusal):
    """A change that makes no sense (merging a report into itself, say)."""


def reachable_report(session: Session, viewer: Viewer, report_id: int) -> Report:
    """The report, if it exists and the viewer's role reaches its partner."""
    report = session.get(Report, report_id)
    if report is None or not viewer.may_see(report.partner_id):
        raise OutOfReach(f"report {report_id}")
    return report


def set_categories(session: Session, viewer: Viewer, report_id: int, codes: list[str]) -> None:
    """A monitor's correction of the categories, kept as a label for the learner."""
    with write_transaction(session):
        report = reachable_report(session, viewer, report_id)
        before = report.category_codes
        confirm_categories(session, report, codes)
        audit.record(
            session,
            "report.categories",
            user_id=viewer.user_id,
            target=report,
            before=sorted(before),
            after=sorted(codes),
        )


def update_report(
    session: Session,
    viewer: Viewer,
    report_id: int,
    *,
    status: ReportStatus | None = None,
    urgent: bool | None = None,
) -> None:
    """Change a report's status or urgency."""
    with write_transaction(session):
        report = reachable_report(session, viewer, report_id)
        changes: dict[str, object] = {}
        if status is not None and status != report.status:
            changes["status"] = [report.status.value, status.value]
            report.status = status
            report.closed_at = utcnow() if status is ReportStatus.CLOSED else None
        if urgent is not None and urgent != report.urgent:
            changes["urgent"] = [report.urgent, urgent]
            report.urgent = urgent
        if changes:
            audit.record(session, "report.update", user_id=viewer.user_id, target=report, **changes)


def set_factory(session: Session, viewer: Viewer, report_id: int, factory_id: int | None) -> None:
    """Link the report to one of the viewer's factories (or none)."""
    with write_transaction(session):
        report = reachable_report(session, viewer, report_id)
        if factory_id is not None:
            factory = session.get(Factory, factory_id)
            # Another partner's factory looks like none at all (reference.visible_factories):
            # attached there, a report would count in that partner's exports.
            if factory is None or not viewer.may_see(factory.partner_id):
                raise InvalidChange(N_("no such factory"))
        if factory_id != report.factory_id:
            audit.record(
                session,
                "report.factory",
                user_id=viewer.user_id,
                target=report,
                before=report.factory_id,
                after=factory_id,
            )
            report.factory_id = factory_id


def assign(session: Session, viewer: Viewer, report_id: int, assignee_id: int | None) -> None:
    """Give the report to a colleague who can see it (or to nobody)."""
    with write_transaction(session):
        report = reachable_report(session, viewer, report_id)
        if assignee_id is not None:
            assignee = session.get(User, assignee_id)
            partner_id = report.partner_id
            if assignee is None or not (assignee.active and _user_sees(assignee, partner_id)):
                raise InvalidChange(N_("that person cannot see this report"))
        if assignee_id != report.assignee_id:
            report.assignee_id = assignee_id
            audit.record(
                session, "report.assign", user_id=viewer.user_id, target=report, to=assignee_id
            )


def monitor_words(report: Report, text: str) -> Redaction:
    """A monitor's own words as they may be stored: numbers, IDs and names hidden."""
    # A note that repeats a worker's number or names their supervisor identifies them as
    # surely as the worker's own message would.
    return redact(text.strip(), regions=[report.country] if report.country else [])


def add_note(session: Session, viewer: Viewer, report_id: int, text: str) -> Redaction:
    """An internal note, redacted as a worker's text is; returns what was saved and hidden."""
    with write_transaction(session):
        report = reachable_report(session, viewer, report_id)
        saved = monitor_words(report, text)
        note = Note(report_id=report.id, author_id=viewer.user_id, text=saved.text)
        session.add(note)
        session.flush()
        audit.record(session, "report.note", user_id=viewer.user_id, target=report, note=note.id)
    return saved


def merge_into(session: Session, viewer: Viewer, report_id: int, code: str) -> Report:
    """Fold a duplicate into the report with `code`: its messages move, it is closed."""
    with write_transaction(session):
        duplicate = reachable_report(session, viewer, report_id)
        target = session.scalar(select(Report).where(Report.code == code.strip().upper()))
        if target is None or not viewer.may_see(target.partner_id):
            raise OutOfReach(f"report code {code!r}")
        if target.id == duplicate.id or target.merged_into_id is not None:
            raise InvalidChange(N_("a report cannot be merged into itself or into a merged one"))
        moved = session.scalar(
            select(func.count()).select_from(Message).where(Message.report_id == duplicate.id)
        )
        session.execute(
            update(Message).where(Message.report_id == duplicate.id).values(report_id=target.id)
        )
        have = set(target.category_codes)
        for category in duplicate.categories:
            if category.code not in have:
                target.categories.append(
                    ReportCategory(
                        code=category.code,
                        score=category.score,
                        evidence=list(category.evidence),
                        source=category.source,
                    )
                )
        target.urgent = target.urgent or duplicate.urgent
        target.last_message_at = max(target.last_message_at, duplicate.last_message_at)
        duplicate.merged_into_id = target.id
        duplicate.status = ReportStatus.CLOSED
        duplicate.closed_at = utcnow()
        audit.record(
            session,
            "report.merge",
            user_id=viewer.user_id,
            target=duplicate,
            into=target.id,
            messages=moved,
        )
    return target


def show_original(
    session: Session,
    viewer: Viewer,
    message_id: int,
    keyring: Keyring,
    config: Config,
    report_id: int | None = None,
) -> str:
    """The message as the worker wrote it, for roles allowed to see it; every view is audited.

    `report_id` is the report the form was posted on: another report's message is not found.
    """
    with write_transaction(session):
        message = session.get(Message, message_id)
        report = message.report if message is not None else None
        if (
            message is None
            or report is None
            or report_id not in (None, report.id)
            or not viewer.may_see(report.partner_id)
        ):
            raise OutOfReach(f"message {message_id}")
        text = read_original(
            message,
            keyring,
            role=viewer.role.value,
            allowed_roles=config.original_text_roles,
        )
        audit.record(
            session,
            "original.view",
            user_id=viewer.user_id,
            target=message,
            report=report.id,
        )
    return text


def _user_sees(user: User, partner_id: int | None) -> bool:
    return user.role is not Role.MONITOR or user.partner_id == partner_id


def colleagues(session: Session, partner_id: int | None) -> list[User]:
    """The active accounts a report of this partner can be assigned to."""
    people = session.scalars(select(User).where(User.active.is_(True)).order_by(User.name))
    return [user for user in people if _user_sees(user, partner_id)]


def reply_to_worker(session: Session, viewer: Viewer, report_id: int, text: str) -> Redaction:
    """Queue a monitor's SMS to the report's worker, sent from the hotline number.

    The reply is redacted as a note is before it is stored; returns what was queued.
    Raises `OutboxError` (`CannotReach`: opted out or number purged; `BadBody`).
    """
    with write_transaction(session):
        report = reachable_report(session, viewer, report_id)
        saved = monitor_words(report, text)
        queue_reply(session, report, saved.text, author_id=viewer.user_id)
    return saved
