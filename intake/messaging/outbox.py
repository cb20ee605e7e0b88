"""Queue an SMS in the caller's transaction: it is sent later by `intake worker`, exactly once.

Writing the outbox row with the action that causes it (a monitor's reply, a survey, an alert)
means the message is sent if and only if the action commits; nothing here talks to Twilio.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from intake import audit
from intake.db import write_transaction
from intake.messaging.twilio_api import DELIVERY_ORDER
from intake.models import Contact, Direction, Message, Outbox, OutboxKind, OutboxStatus, Report

# Twilio refuses bodies over 1,600 characters; a monitor's reply should be far shorter.
MAX_BODY = 1600


class OutboxError(ValueError):
    """A message that cannot be queued; `reason` is a short code a page can translate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CannotReach(OutboxError):
    """The recipient opted out, or we no longer hold a number for them."""


class BadBody(OutboxError):
    """The text is empty or longer than one SMS conversation allows."""


def _body(body: str) -> str:
    text = body.strip()
    if not text:
        raise BadBody("empty")
    if len(text) > MAX_BODY:
        raise BadBody("too_long")
    return text


def queue_reply(
    session: Session,
    report: Report,
    body: str,
    *,
    author_id: int | None,
    kind: OutboxKind = OutboxKind.REPLY,
) -> Outbox:
    """Queue `body` (a monitor's own words) to the worker behind `report`; the caller commits."""
    text = _body(body)
    reporter = report.reporter
    if reporter.opted_out:
        raise CannotReach("opted_out")
    if reporter.contact is None:
        raise CannotReach("no_contact")
    outbox = Outbox(
        kind=kind,
        reporter_id=reporter.id,
        report_id=report.id,
        case_id=report.case_id,
        author_id=author_id,
        body=text,
        language=report.language or reporter.language,
        status=OutboxStatus.QUEUED,
        attempts=0,
    )
    session.add(outbox)
    session.flush()
    if author_id is not None:
        audit.record(
            session, f"outbox.{kind.value}", user_id=author_id, target=outbox, report_id=report.id
        )
    return outbox


def queue_alert(
    session: Session,
    contact: Contact,
    body: str,
    *,
    report: Report | None = None,
    author_id: int | None = None,
) -> Outbox:
    """Queue an alert to a partner's on-call contact; the caller commits."""
    text = _body(body)
    if contact.phone is None:
        raise CannotReach("no_contact")
    outbox = Outbox(
        kind=OutboxKind.ALERT,
        contact_id=contact.id,
        report_id=report.id if report is not None else None,
        author_id=author_id,
        body=text,
        status=OutboxStatus.QUEUED,
        attempts=0,
    )
    session.add(outbox)
    session.flush()
    if author_id is not None:
        audit.record(session, "outbox.alert", user_id=author_id, target=outbox)
    return outbox


def failed_for_report(session: Session, report_id: int) -> list[Outbox]:
    """What could not be sent for a report, for the monitors' thread view."""
    return list(
        session.scalars(
            select(Outbox)
            .where(Outbox.report_id == report_id, Outbox.status == OutboxStatus.FAILED)
            .order_by(Outbox.id)
        )
    )


def record_status(session: Session, sid: str, status: str, error_code: str | None) -> bool:
    """Record Twilio's delivery status for the message `sid`; never move a status backwards.

    Returns whether the SID is one we sent. Each update is a single conditional statement, so
    two callbacks racing ("sent" and "delivered" at once) cannot undo each other.
    """
    rank = DELIVERY_ORDER.get(status)
    # A worker's inbound SMS has a SID too: a callback naming it must not touch it.
    outbound = and_(Message.sid == sid, Message.direction == Direction.OUTBOUND)
    with write_transaction(session):
        known = session.scalar(select(Outbox.id).where(Outbox.twilio_sid == sid)) is not None
        known = known or session.scalar(select(Message.id).where(outbound)) is not None
        if rank is None or not known:
            return known
        lower = [name for name, order in DELIVERY_ORDER.items() if order < rank]
        session.execute(
            update(Message)
            .where(
                outbound,
                or_(Message.delivery_status.is_(None), Message.delivery_status.in_(lower)),
            )
            .values(delivery_status=status)
        )
        if status in ("undelivered", "failed"):
            detail = f"delivery {status}" + (f" error {error_code}" if error_code else "")
            session.execute(
                update(Outbox)
                .where(and_(Outbox.twilio_sid == sid, Outbox.status == OutboxStatus.SENT))
                .values(last_error=detail[:300])
            )
    return True
