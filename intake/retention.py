"""Retention: forget what can identify or reach a worker as soon as it is no longer needed.

`intake purge` (daily) runs `purge`. A reporter's encrypted number goes when

- they opted out (nothing may be sent to them; texting START brings the number back), or
- they have been silent for INTAKE_CONTACT_RETENTION_DAYS and no case of theirs may still
  check back with them, or
- every report of theirs is finished: closed outside a case, or in a case closed longer ago
  than INTAKE_CHECKBACK_WINDOW_DAYS,

and in no case while a survey to them still awaits its answer. Original texts go when their
retention ends, when their report is finished, and when their sender's number goes for the
last two reasons. Queued SMS to a reporter whose number is gone are cancelled. With
INTAKE_TWILIO_DELETE_LOGS the same messages are deleted from Twilio's own logs: Twilio's
copies hold both the number and the text, so deleting them is what makes the purge real,
and a number is forgotten here only once Twilio has forgotten it too.

What stays: the pseudonym (a keyed hash, useless without the pepper), redacted texts,
reports, cases, categories, check-back answers and the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select, update
from sqlalchemy.orm import Session, aliased

from intake.accounts import forget_address_failures
from intake.config import Config
from intake.db import write_transaction
from intake.models import (
    Case,
    CaseStatus,
    CheckBack,
    Message,
    Outbox,
    OutboxStatus,
    Report,
    Reporter,
    ReportStatus,
    utcnow,
)
from intake.pipeline.identity import Keyring

log = logging.getLogger(__name__)


class TwilioLogs(Protocol):
    """The part of Twilio's REST API that deletes messages from its logs."""

    def message_sids(self, address: str) -> Iterable[str]:
        """Every message Twilio still logs to or from `address`."""
        ...

    def delete(self, sid: str) -> None:
        """Delete one message (a message already gone is not an error)."""
        ...


class RestTwilioLogs:
    """TwilioLogs through intake's Twilio client (which logs no number), on TWILIO_ACCOUNT_SID."""

    def __init__(self, config: Config) -> None:
        from intake.messaging.twilio_api import Twilio

        self._client = Twilio(config).client

    def message_sids(self, address: str) -> list[str]:
        """Every message Twilio still logs to or from `address` (replies included)."""
        messages = self._client.messages
        return [m.sid for m in messages.stream(to=address)] + [
            m.sid for m in messages.stream(from_=address)
        ]

    def delete(self, sid: str) -> None:
        """Delete one message from Twilio's logs; one already gone counts as deleted."""
        from twilio.base.exceptions import TwilioRestException

        try:
            self._client.messages(sid).delete()
        except TwilioRestException as error:
            if error.status != 404:
                raise


@dataclass(frozen=True)
class PurgeResult:
    """What one purge deleted."""

    contacts: int
    originals: int
    outbox_cancelled: int
    twilio_deleted: int = 0
    # Reporters whose number was kept for another day because Twilio could not delete.
    twilio_failed: int = 0


def purge(
    session: Session,
    config: Config,
    keyring: Keyring,
    *,
    twilio: TwilioLogs | None = None,
    now: datetime | None = None,
) -> PurgeResult:
    """Delete contacts and original texts no longer needed; cancel what can no longer be sent."""
    now = now or utcnow()
    due = _contact_due(config, now)
    deleted = failed = 0
    with write_transaction(session):
        db = session.connection()
        # Originals of finished reports, of senders about to be forgotten, and expired ones.
        forgotten = select(Reporter.id).where(
            Reporter.contact.is_not(None), _finished_with(config, now)
        )
        purged = db.execute(
            update(Message)
            .where(
                Message.original.is_not(None),
                or_(
                    Message.original_expires_at <= now,
                    Message.report_id.in_(select(Report.id).where(_finished(config, now))),
                    Message.reporter_id.in_(forgotten),
                ),
            )
            .values(original=None)
            .returning(Message.sid)
        ).scalars().all()
        purged_sids = [sid for sid in purged if sid]
        candidates = db.execute(
            select(Reporter.id, Reporter.contact).where(Reporter.contact.is_not(None), due)
        ).all()
    if twilio is not None:
        deleted += _delete_sids(twilio, purged_sids)
    keep: set[int] = set()
    if twilio is not None:
        for reporter_id, token in candidates:
            if token is None:
                continue
            try:
                deleted += _delete_sids(
                    twilio, twilio.message_sids(keyring.decrypt_contact(token)), strict=True
                )
            except Exception as error:
                # Forgetting the number now would leave it in Twilio's logs for good.
                name = type(error).__name__
                log.error("twilio log deletion failed reporter=%d: %s", reporter_id, name)
                keep.add(reporter_id)
                failed += 1
    forget = [reporter_id for reporter_id, _ in candidates if reporter_id not in keep]
    with write_transaction(session):
        db = session.connection()
        # The conditions are checked again: a worker who wrote meanwhile stays reachable.
        contacts = db.execute(
            update(Reporter)
            .where(Reporter.id.in_(forget), Reporter.contact.is_not(None), due)
            .values(contact=None)
        ).rowcount
        cancelled = db.execute(
            update(Outbox)
            .where(
                Outbox.status == OutboxStatus.QUEUED,
                Outbox.reporter_id.in_(select(Reporter.id).where(Reporter.contact.is_(None))),
            )
            .values(status=OutboxStatus.CANCELLED, last_error="contact purged")
        ).rowcount
        # Hashed addresses of failed sign-ins, once the throttle no longer counts them.
        forget_address_failures(session, config, now)
    if contacts or purged:
        _scrub(session)
    result = PurgeResult(
        contacts=contacts,
        originals=len(purged),
        outbox_cancelled=cancelled,
        twilio_deleted=deleted,
        twilio_failed=failed,
    )
    log.info(
        "purge contacts=%d originals=%d outbox_cancelled=%d twilio_deleted=%d twilio_failed=%d",
        result.contacts,
        result.originals,
        result.outbox_cancelled,
        result.twilio_deleted,
        result.twilio_failed,
    )
    return result


def _scrub(session: Session) -> None:
    """On SQLite, rewrite the file so that deleted values do not linger in free pages or WAL."""
    engine = session.get_bind().engine
    if engine.dialect.name != "sqlite":
        # PostgreSQL's (auto)vacuum reclaims the dead row versions; the disk itself should be
        # encrypted in any case (see the README).
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.exec_driver_sql("VACUUM")
        db.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _delete_sids(twilio: TwilioLogs, sids: Iterable[str], *, strict: bool = False) -> int:
    done = 0
    for sid in sids:
        try:
            twilio.delete(sid)
            done += 1
        except Exception as error:
            if strict:
                raise
            # The sweep by number when the contact goes catches what is left.
            log.warning("twilio log deletion failed: %s", type(error).__name__)
    return done


def _open_case(config: Config, now: datetime) -> ColumnElement[bool]:
    """A case that may still check back with its workers."""
    return or_(
        Case.status != CaseStatus.CLOSED,
        Case.closed_at.is_(None),
        Case.closed_at > now - config.checkback_window,
    )


def _finished(config: Config, now: datetime) -> ColumnElement[bool]:
    """A report nobody needs to reach its worker about any more."""
    closed_case = (
        select(Case.id)
        .where(Case.id == Report.case_id, not_(_open_case(config, now)))
        .exists()
    )
    return or_(
        and_(Report.case_id.is_(None), Report.status == ReportStatus.CLOSED),
        and_(Report.case_id.is_not(None), closed_case),
    )


def _awaiting_answer(config: Config, now: datetime) -> ColumnElement[bool]:
    return exists().where(
        CheckBack.reporter_id == Reporter.id,
        CheckBack.answer.is_(None),
        CheckBack.asked_at >= now - config.checkback_window,
    )


def _finished_with(config: Config, now: datetime) -> ColumnElement[bool]:
    """Reporter rows that no report or survey needs: silent long enough, or all finished."""
    report = aliased(Report)
    case = aliased(Case)
    in_open_case = (
        select(report.id)
        .join(case, case.id == report.case_id)
        .where(
            report.reporter_id == Reporter.id,
            or_(
                case.status != CaseStatus.CLOSED,
                case.closed_at.is_(None),
                case.closed_at > now - config.checkback_window,
            ),
        )
        .exists()
    )
    silent = and_(Reporter.last_seen_at <= now - config.contact_retention, not_(in_open_case))
    has_report = select(Report.id).where(Report.reporter_id == Reporter.id).exists()
    unfinished = (
        select(Report.id)
        .where(Report.reporter_id == Reporter.id, not_(_finished(config, now)))
        .exists()
    )
    all_finished = and_(has_report, not_(unfinished))
    return and_(or_(silent, all_finished), not_(_awaiting_answer(config, now)))


def _contact_due(config: Config, now: datetime) -> ColumnElement[bool]:
    """Reporter rows whose encrypted number should go now."""
    opted_out = and_(Reporter.opted_out.is_(True), not_(_awaiting_answer(config, now)))
    return or_(opted_out, _finished_with(config, now))
