"""Messages whose analysis failed when they arrived, analysed again from their originals."""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from intake.db import write_transaction
from intake.models import Direction, Message, Report, Reporter, UTCDateTime, utcnow
from intake.pipeline.analyze import WITHHELD
from intake.pipeline.hotline import Hotline
from intake.pipeline.receive import analysed_fields, factory_ids, fold
from intake.pipeline.thread import COLUMNS, ReportRow
from intake.sms.inbound import clean

log = logging.getLogger(__name__)

_PENDING = (
    select(Message.id)
    .where(
        Message.direction == Direction.INBOUND,
        Message.text == WITHHELD,
        Message.original.is_not(None),
        Message.original_expires_at > bindparam("now", type_=UTCDateTime()),
    )
    .order_by(Message.id)
)


def reanalyze(session: Session, hotline: Hotline) -> tuple[int, int]:
    """Retry every withheld message, one transaction each; returns (analysed, still failing)."""
    with session.begin():
        pending = list(session.scalars(_PENDING, {"now": utcnow()}))
    done = failed = 0
    for message_id in pending:
        try:
            with write_transaction(session):
                _reanalyze_one(session, hotline, message_id)
            done += 1
        except Exception as error:
            failed += 1
            log.error("reanalysis failed message=%d: %s", message_id, type(error).__name__)
    return done, failed


def _reanalyze_one(session: Session, hotline: Hotline, message_id: int) -> None:
    analyzer = hotline.analyzer(session)
    db = session.connection()
    row = db.execute(
        select(
            Message.original,
            Message.report_id,
            Message.created_at,
            Reporter.country,
            Reporter.language,
        )
        .join(Reporter, Reporter.id == Message.reporter_id)
        .where(Message.id == message_id)
    ).one()
    original, report_id, received, sender_region, known = row
    if original is None:
        raise LookupError(f"message {message_id}: original already purged")
    report = ReportRow(*db.execute(select(*COLUMNS).where(Report.id == report_id)).one())
    analysis = analyzer.analyze(
        clean(hotline.keyring.decrypt_text(original)),
        sender_region=sender_region,
        hotline_region=report.country,
        known_language=known,
    )
    db.execute(update(Message).where(Message.id == message_id).values(**analysed_fields(analysis)))
    # The message's own time: reanalysing an old message must not make its report look recent.
    fold(db, report, analysis, factory_ids(db, analysis), received)
    log.info("reanalysed message=%d report=%d", message_id, report.id)
