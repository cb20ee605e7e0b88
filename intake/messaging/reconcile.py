"""`intake reconcile`: store the inbound SMS whose webhook failed, from Twilio's own log.

Twilio does not redeliver an inbound SMS whose webhook failed or timed out (it tries the
fallback URL once). Each SID Twilio lists that we lack goes through `receive_sms`, the
webhook's own path, whose unique MessageSid makes running this twice (or beside the
webhook) harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.db import write_transaction
from intake.messaging.twilio_api import Twilio, short_error
from intake.models import Message, Outbox, OutboxKind, OutboxStatus, utcnow
from intake.pipeline.hotline import Hotline
from intake.pipeline.receive import receive_sms
from intake.sms.inbound import SID, InboundSms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciled:
    """What one run found: inbound messages listed, newly stored, and deleted at Twilio."""

    listed: int
    stored: int
    deleted: int
    delete_failed: int


def reconcile(
    session: Session,
    hotline: Hotline,
    twilio: Twilio,
    *,
    since: timedelta,
    delete: bool,
    now: datetime | None = None,
) -> Reconciled:
    """Store every inbound SMS Twilio received since `since` ago that we lack; maybe delete."""
    now = now or utcnow()
    inbound = [
        message
        for message in twilio.client.messages.stream(date_sent_after=now - since, page_size=200)
        if message.direction == "inbound" and SID.fullmatch(message.sid or "")
    ]
    stored = 0
    for message in inbound:
        if _known(session, message.sid):
            continue
        sms = InboundSms(
            sid=message.sid,
            sender=message.from_ or "",
            to=message.to or "",
            body=message.body or "",
            num_media=max(0, min(int(message.num_media or 0), 10)),
        )
        receipt = receive_sms(session, sms, hotline, now=message.date_sent or now)
        if receipt.duplicate:
            continue
        stored += 1
        log.info("reconciled inbound message=%d", receipt.message_id)
        if receipt.reply:
            _queue_answer(session, receipt.message_id)
    deleted = failed = 0
    if delete:
        for message in inbound:
            # Only what we hold is deleted: a message we failed to store stays for next time.
            if not _known(session, message.sid):
                continue
            try:
                twilio.client.messages(message.sid).delete()
                deleted += 1
            except Exception as error:
                failed += 1
                log.warning("reconcile: delete failed: %s", short_error(error))
    return Reconciled(listed=len(inbound), stored=stored, deleted=deleted, delete_failed=failed)


def _known(session: Session, sid: str) -> bool:
    with session.begin():
        return session.scalar(select(Message.id).where(Message.sid == sid)) is not None


def _queue_answer(session: Session, inbound_id: int) -> None:
    """The automatic answer the webhook would have given, sent late through the outbox."""
    with write_transaction(session):
        answer = session.execute(
            select(
                Message.id, Message.reporter_id, Message.report_id, Message.text, Message.language
            ).where(Message.reply_to_id == inbound_id)
        ).first()
        if answer is None:
            return
        values: dict[str, Any] = {
            "kind": OutboxKind.REPLY,
            "reporter_id": answer.reporter_id,
            "report_id": answer.report_id,
            "body": answer.text,
            "language": answer.language,
            "status": OutboxStatus.QUEUED,
            "attempts": 0,
            "message_id": answer.id,
        }
        session.add(Outbox(**values))
