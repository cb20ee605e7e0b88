"""An inbound SMS, stored with its report in one transaction before anyone answers Twilio."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.db import write_transaction
from intake.models import (
    Direction,
    Factory,
    Message,
    MessageKind,
    Report,
    ReportCategory,
    Reporter,
    utcnow,
)
from intake.pipeline.analyze import Analysis
from intake.pipeline.codes import new_code
from intake.pipeline.hotline import Hotline
from intake.pipeline.identity import Keyring, Sender, parse_address
from intake.pipeline.route import route
from intake.pipeline.thread import find_report
from intake.sms.inbound import InboundSms
from intake.sms.keywords import Keyword, keyword
from intake.sms.replies import Reply, render

log = logging.getLogger(__name__)

# A new reporter, a new report code or the same SID from two hosts at once can collide.
ATTEMPTS = 3
# Languages decided from the text itself, worth remembering as the worker's language.
CONFIDENT_SOURCES = frozenset({"script", "detector", "lexicon"})


@dataclass(frozen=True)
class Receipt:
    """What happened to one inbound SMS, and what (if anything) to answer."""

    message_id: int
    reply: str | None
    report_code: str | None
    duplicate: bool = False


def receive_sms(
    session: Session, sms: InboundSms, hotline: Hotline, *, now: datetime | None = None
) -> Receipt:
    """Store `sms` exactly once, thread it into a report, and decide the reply."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with write_transaction(session):
                known = _stored(session, sms.sid)
                if known is not None:
                    return known
                return _receive(session, sms, hotline, now or utcnow())
        except IntegrityError:
            # A concurrent delivery won the race; the next attempt finds what it stored.
            log.info("inbound conflict, attempt %d", attempt)
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _stored(session: Session, sid: str) -> Receipt | None:
    """The receipt of a delivery we already stored: same message, same answer."""
    message = session.scalar(select(Message).where(Message.sid == sid))
    if message is None:
        return None
    reply = session.scalar(select(Message).where(Message.reply_to_id == message.id))
    log.info("inbound duplicate message=%d", message.id)
    return Receipt(
        message_id=message.id,
        reply=reply.text if reply is not None else None,
        report_code=message.report.code if message.report is not None else None,
        duplicate=True,
    )


def _receive(session: Session, sms: InboundSms, hotline: Hotline, now: datetime) -> Receipt:
    sender, to = parse_address(sms.sender), parse_address(sms.to)
    reporter = _reporter(session, hotline.keyring, sender, now)
    text = sms.text
    message = Message(
        sid=sms.sid,
        direction=Direction.INBOUND,
        reporter=reporter,
        original=hotline.keyring.encrypt_text(sms.body),
        original_expires_at=now + hotline.config.original_text_retention,
        from_country=sms.from_country or sender.region,
        num_media=sms.num_media,
        created_at=now,
    )
    session.add(message)
    command = keyword(text)
    if command is not None:
        return _keyword(session, message, reporter, command, text, now)
    analysis = hotline.analyzer(session).analyze(
        text,
        sender_region=sender.region,
        hotline_region=to.region,
        known_language=reporter.language,
    )
    language = analysis.language
    message.text = analysis.redacted
    message.language, message.language_source = language.code, language.source
    message.redactions = dict(analysis.redaction.counts)
    message.analysis = {k: v for k, v in analysis.as_json().items() if k != "redacted"}
    if language.source in CONFIDENT_SOURCES:
        reporter.language = language.code
    report = find_report(session, reporter, text, now=now, window=hotline.config.thread_window)
    follow_up = report is not None
    if report is None:
        report = Report(code=new_code(), reporter=reporter, country=to.region, created_at=now)
        session.add(report)
    message.report = report
    _apply(session, report, analysis, now)
    session.flush()
    if not text.strip() and not sms.num_media:
        reply = Reply.EMPTY
    else:
        reply = Reply.FOLLOW_UP if follow_up else Reply.NEW_REPORT
    answer = _answer(session, message, reporter, render(reply, language.code, code=report.code))
    log.info(
        "inbound stored message=%d report=%d new_report=%s urgent=%s",
        message.id,
        report.id,
        not follow_up,
        report.urgent,
    )
    return Receipt(message_id=message.id, reply=answer, report_code=report.code)


def _reporter(session: Session, keyring: Keyring, sender: Sender, now: datetime) -> Reporter:
    pseudonym = keyring.pseudonym(sender)
    # Locking the reporter serialises one worker's simultaneous messages (PostgreSQL), so two
    # of them cannot both open a new report; SQLite's BEGIN IMMEDIATE already serialises.
    reporter = session.scalar(
        select(Reporter).where(Reporter.pseudonym == pseudonym).with_for_update()
    )
    if reporter is None:
        reporter = Reporter(pseudonym=pseudonym, country=sender.region, created_at=now)
        session.add(reporter)
    if reporter.contact is None:
        reporter.contact = keyring.encrypt_contact(sender)
    reporter.last_seen_at = now
    return reporter


def _keyword(
    session: Session,
    message: Message,
    reporter: Reporter,
    command: Keyword,
    text: str,
    now: datetime,
) -> Receipt:
    message.text = text.strip()
    message.kind = MessageKind(command.value)
    if command is Keyword.OPT_OUT:
        reporter.opted_out, reporter.opted_out_at = True, now
    elif command is Keyword.OPT_IN:
        reporter.opted_out, reporter.opted_out_at = False, None
    session.flush()
    reply = {Keyword.OPT_IN: Reply.RESUMED, Keyword.HELP: Reply.HELP}.get(command)
    language = reporter.language or "en"
    answer = _answer(session, message, reporter, render(reply, language)) if reply else None
    log.info("inbound keyword message=%d kind=%s", message.id, message.kind.value)
    return Receipt(message_id=message.id, reply=answer, report_code=None)


def _answer(session: Session, inbound: Message, reporter: Reporter, text: str) -> str | None:
    """Record the automatic reply in the thread, unless the worker has opted out."""
    if reporter.opted_out:
        return None
    session.add(
        Message(
            direction=Direction.OUTBOUND,
            kind=MessageKind.AUTO_REPLY,
            reporter=reporter,
            report_id=inbound.report_id,
            reply_to_id=inbound.id,
            text=text,
            language=inbound.language or reporter.language,
            created_at=inbound.created_at,
        )
    )
    return text


def _apply(session: Session, report: Report, analysis: Analysis, now: datetime) -> None:
    """Fold one message's analysis into its report; a monitor's decision is never overwritten."""
    report.last_message_at = now
    report.language = report.language or analysis.language.code
    report.urgent = report.urgent or analysis.urgent
    found = {c.code: c for c in analysis.categorization.categories}
    existing = {category.code: category for category in report.categories}
    real = [code for code in found if code != "other"]
    if real and "other" in existing and existing["other"].source == "analysis":
        report.categories.remove(existing.pop("other"))
    for code, score in found.items():
        if code == "other" and (existing or real):
            continue
        category = existing.get(code)
        if category is None:
            report.categories.append(
                ReportCategory(code=code, score=score.score, evidence=list(score.evidence))
            )
        elif category.source == "analysis":
            category.score = max(category.score, score.score)
            category.evidence = sorted({*category.evidence, *score.evidence})
    if report.factory_id is None and analysis.factory is not None:
        report.factory = session.scalar(
            select(Factory).where(Factory.code == analysis.factory.code)
        )
    if report.partner_id is None:
        report.partner = route(session, report)
