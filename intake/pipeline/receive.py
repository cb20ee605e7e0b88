"""An inbound SMS, stored with its report in one transaction before anyone answers Twilio.

The work is split in two: everything that needs only the CPU (parsing, hashing, encrypting,
the analysis) happens before the write transaction, so that the transaction, which
serialises writers on SQLite, holds its lock for a few statements only.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    LargeBinary,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
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
    SurveyAnswer,
    UTCDateTime,
    utcnow,
)
from intake.pipeline.analyze import Analysis, failed_analysis
from intake.pipeline.codes import codes_in, new_code
from intake.pipeline.escalate import record_alert
from intake.pipeline.hotline import Hotline
from intake.pipeline.identity import parse_address
from intake.pipeline.route import RouteFacts, RoutingTable, route
from intake.pipeline.thread import ReportRow, find_report, redact_joined
from intake.pipeline.types import CategoryScore
from intake.remedy.answers import survey_answer
from intake.remedy.checkback import REOPENS, OpenCheckBack, open_check_back, record_answer
from intake.sms.inbound import InboundSms
from intake.sms.keywords import Keyword, keyword
from intake.sms.replies import Reply, render

log = logging.getLogger(__name__)

# A new reporter, a new report code or the same SID from two hosts at once can collide.
ATTEMPTS = 3
# Languages decided from the text itself, worth remembering as the worker's language.
CONFIDENT_SOURCES = frozenset({"script", "detector", "lexicon"})

# Built once, executed with parameters: rebuilding statements per message cost more than
# running them.
_REPORTER_LANGUAGE = select(Reporter.language).where(Reporter.pseudonym == bindparam("pseudonym"))
_FACTORY = select(Factory.id, Factory.partner_id).where(Factory.code == bindparam("code"))
_LOCK_REPORTER = (
    select(Reporter.id, Reporter.language, Reporter.opted_out)
    .where(Reporter.pseudonym == bindparam("pseudonym"))
    .with_for_update()
)
_INSERT_REPORTER = insert(Reporter).returning(Reporter.id)
_INSERT_REPORT = insert(Report).returning(Report.id)
_INSERT_MESSAGE = insert(Message).returning(Message.id)
_INSERT_CATEGORIES = insert(ReportCategory)
_TOUCH_REPORTER = (
    update(Reporter)
    .where(Reporter.id == bindparam("reporter_id"))
    .values(
        last_seen_at=bindparam("now", type_=UTCDateTime()),
        contact=func.coalesce(Reporter.contact, bindparam("contact", type_=LargeBinary())),
        language=func.coalesce(bindparam("language", type_=String()), Reporter.language),
    )
)
_FOLD_REPORT = (
    update(Report)
    .where(Report.id == bindparam("report_id"))
    .values(
        last_message_at=case(
            (Report.last_message_at < bindparam("now", type_=UTCDateTime()), bindparam("now")),
            else_=Report.last_message_at,
        ),
        urgent=or_(Report.urgent, bindparam("urgent", type_=Boolean())),
        language=func.coalesce(Report.language, bindparam("language", type_=String())),
        factory_id=func.coalesce(Report.factory_id, bindparam("factory_id", type_=Integer())),
        partner_id=func.coalesce(Report.partner_id, bindparam("partner_id", type_=Integer())),
    )
)
# Only the message that flips the flag records an alert, even when two arrive at once.
_MARK_URGENT = (
    update(Report)
    .where(Report.id == bindparam("report_id"), Report.urgent.is_(False))
    .values(urgent=True)
)
_REPORT_CATEGORIES = select(ReportCategory.code).where(
    ReportCategory.report_id == bindparam("report_id")
)


@dataclass(frozen=True)
class Receipt:
    """What happened to one inbound SMS, and what (if anything) to answer."""

    message_id: int
    reply: str | None
    report_code: str | None
    duplicate: bool = False
    # The report turned urgent: an alert waits to be mailed once this is committed.
    alerted: bool = False


@dataclass(frozen=True)
class Prepared:
    """One SMS made ready to store: nothing in it can identify the worker in plain text."""

    sms: InboundSms
    pseudonym: str
    contact: bytes
    original: bytes
    sender_region: str | None
    hotline_region: str | None
    hotline_number: str  # the number the worker texted, E.164
    command: Keyword | None
    language: str  # what the worker is answered in
    analysis: Analysis | None
    routes: RoutingTable
    # What the text would answer to a check-back survey; only an open survey makes it one.
    answer: SurveyAnswer | None = None


def receive_sms(
    session: Session, sms: InboundSms, hotline: Hotline, *, now: datetime | None = None
) -> Receipt:
    """Store `sms` exactly once, thread it into a report, and decide the reply."""
    now = now or utcnow()
    prepared = prepare(session, sms, hotline)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with write_transaction(session):
                # The unique MessageSid decides: a retried delivery fails to insert, and the
                # next attempt finds what the first one stored.
                known = _stored(session, sms.sid) if attempt > 1 else None
                receipt = known or _store(session.connection(), prepared, hotline, now)
        except IntegrityError:
            log.info("inbound conflict, attempt %d", attempt)
            if attempt == ATTEMPTS:
                raise
            continue
        if receipt.alerted and hotline.escalator is not None:
            # Committed: the mail may go now, on another thread, while Twilio gets its 200.
            hotline.escalator.kick()
        return receipt
    raise AssertionError("unreachable")


def prepare(session: Session, sms: InboundSms, hotline: Hotline) -> Prepared:
    """The CPU-bound half, before any lock: identity, encryption, analysis, quick reads."""
    sender, to = parse_address(sms.sender), parse_address(sms.to)
    keyring = hotline.keyring
    pseudonym = keyring.pseudonym(sender)
    command = keyword(sms.text)
    analysis = None
    with session.begin():
        known = session.connection().scalar(_REPORTER_LANGUAGE, {"pseudonym": pseudonym})
        routes = hotline.routes.table(session.connection())
        language = known or "en"
        try:
            analyzer = hotline.analyzer(session)
            language = analyzer.fallback_language(known, to.region)
            if command is None:
                analysis = analyzer.analyze(
                    sms.text,
                    sender_region=sender.region,
                    hotline_region=to.region,
                    known_language=known,
                )
                language = analysis.language.code
        except Exception as error:
            # Twilio never redelivers: a bug in the analysis must not lose the SMS. It is
            # stored with its text withheld, and `intake reanalyze` retries it later.
            frame = traceback.extract_tb(error.__traceback__)[-1]
            log.error(
                "analysis failed: %s at %s:%s", type(error).__name__, frame.filename, frame.lineno
            )
            analysis = failed_analysis(language) if command is None else None
    return Prepared(
        sms=sms,
        pseudonym=pseudonym,
        contact=keyring.encrypt_contact(sender),
        original=keyring.encrypt_text(sms.body),
        sender_region=sender.region,
        hotline_region=to.region,
        hotline_number=to.canonical,
        command=command,
        language=language,
        analysis=analysis,
        routes=routes,
        answer=survey_answer(sms.text, known),
    )


def analysed_fields(analysis: Analysis) -> dict[str, Any]:
    """The message columns the analysis fills: redacted text, language, what it found."""
    return {
        "text": analysis.redacted,
        "language": analysis.language.code,
        "language_source": analysis.language.source,
        "redactions": dict(analysis.redaction.counts),
        "analysis": {k: v for k, v in analysis.as_json().items() if k != "redacted"},
    }


def factory_ids(db: Connection, analysis: Analysis) -> tuple[int, int | None] | None:
    """The id and partner of the known factory the analysis found, if any."""
    if analysis.factory is None:
        return None
    row = db.execute(_FACTORY, {"code": analysis.factory.code}).first()
    return (row[0], row[1]) if row else None


def _stored(session: Session, sid: str) -> Receipt | None:
    """The receipt of a delivery we already stored: same message, same answer."""
    row = session.execute(
        select(Message.id, Report.code)
        .outerjoin(Report, Report.id == Message.report_id)
        .where(Message.sid == sid)
    ).first()
    if row is None:
        return None
    reply = session.scalar(select(Message.text).where(Message.reply_to_id == row[0]))
    log.info("inbound duplicate message=%d", row[0])
    return Receipt(message_id=row[0], reply=reply, report_code=row[1], duplicate=True)


def _store(db: Connection, prepared: Prepared, hotline: Hotline, now: datetime) -> Receipt:
    guess = prepared.analysis.language if prepared.analysis is not None else None
    confident = guess.code if guess and guess.source in CONFIDENT_SOURCES else None
    reporter = _reporter(db, prepared, confident, now)
    sms = prepared.sms
    # Only a text that reads as an answer costs a look for an open survey; "YES" is Twilio's
    # opt-in word too, which wins for a worker who had opted out.
    survey = None
    if prepared.answer is not None and (
        prepared.command is None
        or (prepared.command is Keyword.OPT_IN and not reporter.opted_out)
    ):
        since = now - hotline.config.checkback_window
        survey = open_check_back(db, reporter.id, since)
    message: dict[str, Any] = {
        "sid": sms.sid,
        "direction": Direction.INBOUND,
        "reporter_id": reporter.id,
        "original": prepared.original,
        "original_expires_at": now + hotline.config.original_text_retention,
        "from_country": sms.from_country or prepared.sender_region,
        "num_media": sms.num_media,
        "created_at": now,
    }
    if survey is not None:
        return _survey_answer(db, prepared, message, reporter, survey, now)
    if prepared.command is not None:
        message.update(text=sms.text.strip(), kind=MessageKind(prepared.command.value))
        return _keyword(db, prepared.command, message, reporter, prepared.language, now)
    analysis = _analysis(prepared)
    language = analysis.language
    report = find_report(
        db, reporter.id, codes_in(sms.text), now=now, window=hotline.config.thread_window
    )
    follow_up = report is not None
    # Looked up inside the transaction, so a factory deleted meanwhile is simply not found.
    factory = factory_ids(db, analysis)
    if report is None:
        report = _new_report(db, reporter.id, prepared, factory, now)
        alerted = report.urgent
    else:
        alerted = fold(
            db,
            report,
            analysis,
            factory,
            now,
            hotline=prepared.hotline_number,
            routes=prepared.routes,
        )
    message.update(report_id=report.id, **analysed_fields(analysis))
    message_id = _insert_message(db, message)
    if follow_up:
        # A number split over two SMS ("012 34", "56789") is hidden in both stored texts.
        regions = [r for r in (prepared.sender_region, prepared.hotline_region) if r]
        redact_joined(db, report.id, regions)
    if not sms.text.strip() and not sms.num_media:
        kind = Reply.EMPTY
    else:
        kind = Reply.FOLLOW_UP if follow_up else Reply.NEW_REPORT
    reply = render(kind, language.code, code=report.code)
    answer = _answer(db, message_id, report.id, reporter, reply, language.code, now)
    log.info(
        "inbound stored message=%d report=%d new_report=%s urgent=%s",
        message_id,
        report.id,
        not follow_up,
        report.urgent or analysis.urgent,
    )
    return Receipt(message_id=message_id, reply=answer, report_code=report.code, alerted=alerted)


@dataclass(frozen=True)
class _Reporter:
    id: int
    language: str | None
    opted_out: bool


def _reporter(
    db: Connection, prepared: Prepared, language: str | None, now: datetime
) -> _Reporter:
    """The sender's reporter row, created or touched; `language` is remembered if given."""
    # Locking the reporter serialises one worker's simultaneous messages (PostgreSQL), so two
    # of them cannot both open a new report; SQLite's writer lock already serialises.
    row = db.execute(_LOCK_REPORTER, {"pseudonym": prepared.pseudonym}).first()
    if row is None:
        values = {
            "pseudonym": prepared.pseudonym,
            "contact": prepared.contact,
            "country": prepared.sender_region,
            "language": language,
            "consent": True,
            "opted_out": False,
            "created_at": now,
            "last_seen_at": now,
        }
        return _Reporter(_inserted(db.scalar(_INSERT_REPORTER, values)), language, False)
    # A purged contact comes back: the worker wrote again, so we may answer again.
    touch = {"reporter_id": row[0], "now": now, "contact": prepared.contact, "language": language}
    db.execute(_TOUCH_REPORTER, touch)
    return _Reporter(row[0], language or row[1], row[2])


def _new_report(
    db: Connection,
    reporter_id: int,
    prepared: Prepared,
    factory: tuple[int, int | None] | None,
    now: datetime,
) -> ReportRow:
    """A report opened by this message, with everything its analysis found."""
    analysis = _analysis(prepared)
    factory_id, factory_partner_id = factory or (None, None)
    facts = RouteFacts.of(
        hotline=prepared.hotline_number,
        country=prepared.hotline_region,
        factory_id=factory_id,
        language=analysis.language.code,
        categories=analysis.categories,
        factory_partner_id=factory_partner_id,
    )
    report = ReportRow(
        id=0,
        code=new_code(),
        country=prepared.hotline_region,
        urgent=analysis.urgent,
        language=analysis.language.code,
        factory_id=factory_id,
        partner_id=route(db, facts, prepared.routes),
    )
    values = {
        "code": report.code,
        "reporter_id": reporter_id,
        "country": report.country,
        "urgent": report.urgent,
        "language": report.language,
        "factory_id": report.factory_id,
        "partner_id": report.partner_id,
        "created_at": now,
        "last_message_at": now,
    }
    report.id = _inserted(db.scalar(_INSERT_REPORT, values))
    db.execute(
        _INSERT_CATEGORIES, _category_rows(report.id, analysis.categorization.categories)
    )
    if report.urgent:
        record_alert(db, report.id, analysis.categories, now)
    return report


def _category_rows(report_id: int, categories: Iterable[CategoryScore]) -> list[dict[str, Any]]:
    return [
        {
            "report_id": report_id,
            "code": category.code,
            "score": category.score,
            "evidence": list(category.evidence),
            "source": "analysis",
        }
        for category in categories
    ]


def fold(
    db: Connection,
    report: ReportRow,
    analysis: Analysis,
    factory: tuple[int, int | None] | None,
    now: datetime,
    *,
    hotline: str | None = None,
    routes: RoutingTable | None = None,
) -> bool:
    """Fold one message's analysis into its report; a monitor's decision is never overwritten.

    A report still without a partner is routed again with what it now knows (`hotline` is the
    number texted, if known). Returns whether the report turned urgent (an alert is recorded).
    """
    factory_id, factory_partner_id = factory or (None, None)
    partner_id = None
    if report.partner_id is None:
        known = db.scalars(_REPORT_CATEGORIES, {"report_id": report.id})
        facts = RouteFacts.of(
            hotline=hotline,
            country=report.country,
            factory_id=report.factory_id or factory_id,
            language=report.language or analysis.language.code,
            categories={*known, *analysis.categories},
            factory_partner_id=factory_partner_id if report.factory_id is None else None,
        )
        partner_id = route(db, facts, routes)
    alerted = False
    if analysis.urgent and not report.urgent:
        flipped = db.execute(_MARK_URGENT, {"report_id": report.id})
        if flipped.rowcount == 1:
            record_alert(db, report.id, analysis.categories, now)
            alerted = True
    report.urgent = report.urgent or analysis.urgent
    values = {
        "report_id": report.id,
        "now": now,
        "urgent": analysis.urgent,
        "language": analysis.language.code,
        "factory_id": factory_id,
        "partner_id": partner_id,
    }
    db.execute(_FOLD_REPORT, values)
    _fold_categories(db, report.id, analysis)
    return alerted


def _fold_categories(db: Connection, report_id: int, analysis: Analysis) -> None:
    """Merge a message's categories into its report's, keeping the best score and evidence."""
    found = {c.code: c for c in analysis.categorization.categories}
    rows = db.execute(
        select(
            ReportCategory.id,
            ReportCategory.code,
            ReportCategory.source,
            ReportCategory.score,
            ReportCategory.evidence,
        ).where(ReportCategory.report_id == report_id)
    ).all()
    existing = {row.code: row for row in rows}
    if any(row.source == "monitor" for row in rows):
        # A monitor has decided this report's categories: new suggestions stay on the message
        # (message.analysis) instead of reappearing on the report.
        return
    real = [code for code in found if code != "other"]
    if real and "other" in existing and existing["other"].source == "analysis":
        db.execute(delete(ReportCategory).where(ReportCategory.id == existing["other"].id))
        del existing["other"]
    new = []
    for code, score in found.items():
        if code == "other" and (existing or real):
            continue
        row = existing.get(code)
        if row is None:
            new.append(score)
        elif row.source == "analysis":
            db.execute(
                update(ReportCategory)
                .where(ReportCategory.id == row.id)
                .values(
                    score=max(row.score, score.score),
                    evidence=sorted({*row.evidence, *score.evidence}),
                )
            )
    if new:
        db.execute(_INSERT_CATEGORIES, _category_rows(report_id, new))


def _keyword(
    db: Connection,
    command: Keyword,
    message: dict[str, Any],
    reporter: _Reporter,
    language: str,
    now: datetime,
) -> Receipt:
    message_id = _insert_message(db, message)
    opted_out = reporter.opted_out
    if command in (Keyword.OPT_OUT, Keyword.OPT_IN):
        opted_out = command is Keyword.OPT_OUT
        db.execute(
            update(Reporter)
            .where(Reporter.id == reporter.id)
            .values(opted_out=opted_out, opted_out_at=now if opted_out else None)
        )
    reply = {Keyword.OPT_IN: Reply.RESUMED, Keyword.HELP: Reply.HELP}.get(command)
    answer = None
    if reply is not None:
        current = _Reporter(reporter.id, reporter.language, opted_out)
        text = render(reply, language)
        answer = _answer(db, message_id, None, current, text, language, now)
    log.info("inbound keyword message=%d kind=%s", message_id, command.value)
    return Receipt(message_id=message_id, reply=answer, report_code=None)


def _survey_answer(
    db: Connection,
    prepared: Prepared,
    message: dict[str, Any],
    reporter: _Reporter,
    survey: OpenCheckBack,
    now: datetime,
) -> Receipt:
    """A worker's answer to a check-back: recorded, threaded into the report asked about."""
    answer = prepared.answer
    if answer is None:
        raise RuntimeError("only an answer answers a survey")
    if prepared.analysis is not None:
        message.update(analysed_fields(prepared.analysis))
    else:  # "YES", Twilio's opt-in word: nothing in it to redact
        message.update(text=prepared.sms.text.strip())
    message["analysis"] = {
        **message.get("analysis", {}),
        "survey": {"check_back_id": survey.id, "answer": answer.value},
    }
    message.update(report_id=survey.report_id, kind=MessageKind.REPORT)
    message_id = _insert_message(db, message)
    reopened = record_answer(db, survey, answer, message_id, now)
    language = reporter.language or prepared.language
    reply = render(Reply.SURVEY_REOPENED if answer in REOPENS else Reply.SURVEY_THANKS, language)
    text = _answer(db, message_id, survey.report_id, reporter, reply, language, now)
    log.info(
        "inbound survey answer message=%d check_back=%d answer=%s reopened=%d",
        message_id,
        survey.id,
        answer.value,
        len(reopened),
    )
    return Receipt(message_id=message_id, reply=text, report_code=survey.report_code)


def _insert_message(db: Connection, values: dict[str, Any]) -> int:
    return _inserted(db.scalar(_INSERT_MESSAGE, values))


def _inserted(row_id: int | None) -> int:
    if row_id is None:
        raise RuntimeError("INSERT ... RETURNING gave no id")
    return row_id


def _analysis(prepared: Prepared) -> Analysis:
    if prepared.analysis is None:
        raise RuntimeError("a message that is not a keyword must have been analysed")
    return prepared.analysis


def _answer(
    db: Connection,
    inbound_id: int,
    report_id: int | None,
    reporter: _Reporter,
    text: str,
    language: str,
    now: datetime,
) -> str | None:
    """Record the automatic reply in the thread, unless the worker has opted out."""
    if reporter.opted_out:
        return None
    _insert_message(
        db,
        {
            "direction": Direction.OUTBOUND,
            "kind": MessageKind.AUTO_REPLY,
            "reporter_id": reporter.id,
            "report_id": report_id,
            "reply_to_id": inbound_id,
            "text": text,
            "language": language,
            "created_at": now,
        },
    )
    return text
