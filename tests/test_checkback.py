"""Check-back: workers are asked whether a remedy really happened, and their answers count."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from intake.db import sessions
from intake.models import (
    AuditEvent,
    Case,
    CaseStatus,
    CheckBack,
    Direction,
    Message,
    MessageKind,
    Outbox,
    OutboxKind,
    OutboxStatus,
    RemedyItem,
    RemedyStatus,
    Report,
    Reporter,
    Responsible,
    Role,
    SurveyAnswer,
    User,
    utcnow,
)
from intake.remedy.answers import survey_answer
from intake.remedy.checkback import (
    RemedyNotDone,
    all_remedies_done,
    case_confirmations,
    start_check_back,
)

from conftest import Twilio, form

# Invented workers: a Thai, a Vietnamese, a Spanish-speaking and an English-speaking one.
THAI = ("+66812340101", "โรงงานไม่จ่ายค่าล่วงเวลามาสองเดือนแล้ว")
VIETNAMESE = ("+84901230102", "Công ty không trả tiền làm thêm giờ hai tháng nay")
SPANISH = ("+5215512340103", "No nos pagan las horas extra desde hace dos meses")
ENGLISH = ("+447700900104", "They have not paid our overtime for two months")


def replies(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [node.text or "" for node in ElementTree.fromstring(response.get_data()).iter("Message")]


def open_case(app: Flask, *, done: bool = True, status: CaseStatus = CaseStatus.REMEDIATION) -> int:
    """A wages case holding every report so far, with two remedy items."""
    item_status = RemedyStatus.DONE if done else RemedyStatus.IN_PROGRESS
    with sessions(app)() as db:
        case = Case(title="Unpaid overtime, line 3", category="wages", status=status)
        case.reports = list(db.scalars(select(Report).where(Report.case_id.is_(None))))
        case.remedies = [
            RemedyItem(action="Back pay for overtime", responsible=Responsible.FACTORY,
                       status=RemedyStatus.DONE),
            RemedyItem(action="Pay slips every month", responsible=Responsible.FACTORY,
                       status=item_status),
        ]
        db.add(case)
        db.commit()
        return case.id


def ask(app: Flask, case_id: int, **options: object) -> list[int]:
    with sessions(app)() as db:
        asked = start_check_back(db, db.get(Case, case_id), **options)  # type: ignore[arg-type]
        db.commit()
        return [check_back.id for check_back in asked]


@pytest.fixture
def surveyed(app: Flask, twilio: Twilio) -> int:
    """Four workers reported; their case's remedy is done and each has been asked."""
    for sender, text in (THAI, VIETNAMESE, SPANISH, ENGLISH):
        replies(twilio.sms(text, sender=sender))
    case_id = open_case(app)
    assert len(ask(app, case_id)) == 4
    return case_id


def check_back_of(session: Session, sender: str, app: Flask) -> CheckBack:
    keyring = app.extensions["intake.hotline"].keyring
    from intake.pipeline.identity import parse_address

    reporter = session.scalars(
        select(Reporter).where(Reporter.pseudonym == keyring.pseudonym(parse_address(sender)))
    ).one()
    return session.scalars(select(CheckBack).where(CheckBack.reporter_id == reporter.id)).one()


def test_a_done_remedy_surveys_each_worker_once_in_their_language(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    for sender, text in (THAI, VIETNAMESE, ENGLISH):
        replies(twilio.sms(text, sender=sender))
    # The English worker's second report, naming another code, is in the same case too.
    twilio.post(form("Still no overtime pay and now no pay slips", sender=ENGLISH[0]))
    # Workers who opted out, or whose number is gone, are not asked.
    replies(twilio.sms("Supervisor shouts at us every day", sender="+447700900105"))
    replies(twilio.sms("STOP", sender="+447700900105"))
    replies(twilio.sms("We get no breaks at all on night shift", sender="+447700900106"))
    gone = session.scalars(select(Reporter).order_by(Reporter.id.desc())).first()
    assert gone is not None
    with sessions(app)() as db:
        db.get(Reporter, gone.id).contact = None  # type: ignore[union-attr]
        db.commit()
    case_id = open_case(app)
    with sessions(app)() as db:
        monitor = User(email="monitor@example.org", name="A monitor", password_hash="-",
                       role=Role.COORDINATOR)
        db.add(monitor)
        db.commit()
        monitor_id = monitor.id

    asked = ask(app, case_id, user_id=monitor_id)

    assert len(asked) == 3
    surveys = session.scalars(select(Outbox).order_by(Outbox.id)).all()
    assert [s.kind for s in surveys] == [OutboxKind.SURVEY] * 3
    assert {s.status for s in surveys} == {OutboxStatus.QUEUED}
    assert {s.case_id for s in surveys} == {case_id}
    by_language = {s.language: s for s in surveys}
    assert set(by_language) == {"th", "vi", "en"}
    assert "ค่าจ้าง" in by_language["th"].body  # "wages", in Thai
    assert "tiền lương" in by_language["vi"].body
    assert "(wages)" in by_language["en"].body
    for survey in surveys:
        report = session.get(Report, survey.report_id)
        assert report is not None
        assert report.code in survey.body
        assert all(digit in survey.body for digit in "123")
        assert "STOP" in survey.body
    assert by_language["en"].report_id == max(
        r.id for r in session.scalars(select(Report).where(Report.case_id == case_id))
        if r.reporter_id == by_language["en"].reporter_id
    )
    check_backs = session.scalars(select(CheckBack)).all()
    assert {c.outbox_id for c in check_backs} == {s.id for s in surveys}
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "check_back.started"))
    [started] = event.all()
    assert started.user_id == monitor_id
    assert started.target_id == case_id
    assert sorted(started.detail["check_back_ids"]) == sorted(asked)


def test_surveys_wait_until_every_remedy_item_is_done(app: Flask, twilio: Twilio) -> None:
    replies(twilio.sms(ENGLISH[1], sender=ENGLISH[0]))
    case_id = open_case(app, done=False)

    with sessions(app)() as db:
        case = db.get(Case, case_id)
        assert case is not None
        assert not all_remedies_done(case)
        with pytest.raises(RemedyNotDone):
            start_check_back(db, case)
        case.remedies[1].status = RemedyStatus.DONE
        assert all_remedies_done(case)
        assert not all_remedies_done(Case(title="no remedy agreed yet"))


def test_asking_twice_does_not_text_a_worker_twice(app: Flask, surveyed: int) -> None:
    assert ask(app, surveyed) == []


def test_no_worker_is_surveyed_more_than_the_monthly_limit(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    replies(twilio.sms(ENGLISH[1], sender=ENGLISH[0]))
    first = open_case(app)
    replies(twilio.sms("Also the fire exit is locked", sender=ENGLISH[0]))
    second, third = open_case(app), open_case(app)
    # Each case gets the worker's report: move the one report between cases for the test.
    for case_id, expected in ((first, 1), (second, 1), (third, 0)):
        with sessions(app)() as db:
            for report in db.scalars(select(Report)):
                report.case_id = case_id
            db.commit()
        assert len(ask(app, case_id, max_per_month=2)) == expected

    next_month = utcnow() + timedelta(days=31)
    assert len(ask(app, third, max_per_month=2, now=next_month)) == 1
    assert len(session.scalars(select(Outbox)).all()) == 3


@pytest.mark.parametrize(
    ("worker", "text", "answer", "thanks"),
    [
        (THAI, "1", SurveyAnswer.YES, "ขอบคุณ"),
        (THAI, "แก้แล้ว", SurveyAnswer.YES, "ขอบคุณ"),
        (THAI, "๓", SurveyAnswer.NO, "ตรวจสอบอีกครั้ง"),
        (VIETNAMESE, "Có", SurveyAnswer.YES, "Cảm ơn"),
        (VIETNAMESE, "mot phan", SurveyAnswer.PARTLY, "xem xét lại"),
        (SPANISH, "sí", SurveyAnswer.YES, "Gracias"),
        (SPANISH, "2", SurveyAnswer.PARTLY, "revisar de nuevo"),
        (ENGLISH, "3 no", SurveyAnswer.NO, "look into it again"),
        (ENGLISH, "YES", SurveyAnswer.YES, "Thank you for your answer"),
    ],
)
def test_an_answer_is_recorded_threaded_and_thanked_in_the_workers_language(
    app: Flask,
    twilio: Twilio,
    session: Session,
    surveyed: int,
    worker: tuple[str, str],
    text: str,
    answer: SurveyAnswer,
    thanks: str,
) -> None:
    [reply] = replies(twilio.sms(text, sender=worker[0]))

    assert thanks in reply
    check_back = check_back_of(session, worker[0], app)
    assert check_back.answer == answer
    assert check_back.answered_at is not None
    message = session.get(Message, check_back.answer_message_id)
    assert message is not None
    assert message.report_id == check_back.report_id
    assert message.kind == MessageKind.REPORT
    assert message.analysis["survey"] == {"check_back_id": check_back.id, "answer": answer.value}
    # The answer is not a new report, and the survey's report stays as it was.
    assert len(session.scalars(select(Report)).all()) == 4


def test_no_reopens_the_remedy_for_review_and_the_log_says_so(
    app: Flask, twilio: Twilio, session: Session, surveyed: int
) -> None:
    with sessions(app)() as db:
        case = db.get(Case, surveyed)
        assert case is not None
        case.status, case.closed_at = CaseStatus.CLOSED, utcnow()
        db.commit()
    replies(twilio.sms("1", sender=THAI[0]))
    items = session.scalars(select(RemedyItem).where(RemedyItem.case_id == surveyed)).all()
    assert {item.status for item in items} == {RemedyStatus.DONE}

    replies(twilio.sms("3", sender=ENGLISH[0]))

    items = session.scalars(select(RemedyItem).where(RemedyItem.case_id == surveyed)).all()
    assert {item.status for item in items} == {RemedyStatus.REOPENED}
    case = session.get(Case, surveyed)
    assert case is not None
    assert case.status == CaseStatus.REMEDIATION
    assert case.closed_at is None
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "remedy.reopened"))
    assert event.user_id is None
    assert (event.target_type, event.target_id) == ("case_file", surveyed)
    assert sorted(event.detail["remedy_item_ids"]) == sorted(item.id for item in items)
    assert event.detail["answer"] == "no"
    # A second "no" finds nothing left to reopen and logs nothing more.
    replies(twilio.sms("no", sender=SPANISH[0]))
    reopened = select(AuditEvent).where(AuditEvent.action == "remedy.reopened")
    assert len(session.scalars(reopened).all()) == 1


def test_the_case_shows_how_many_workers_say_it_is_fixed(
    app: Flask, twilio: Twilio, session: Session, surveyed: int
) -> None:
    replies(twilio.sms("1", sender=THAI[0]))
    replies(twilio.sms("yes", sender=ENGLISH[0]))
    replies(twilio.sms("en parte", sender=SPANISH[0]))
    case = session.get(Case, surveyed)
    assert case is not None

    confirmations = case_confirmations(session, case)

    assert (confirmations.asked, confirmations.answered) == (4, 3)
    assert (confirmations.yes, confirmations.partly, confirmations.no) == (2, 1, 0)
    assert confirmations.fixed == 2


def test_a_retried_answer_is_stored_once(
    app: Flask, twilio: Twilio, session: Session, surveyed: int
) -> None:
    fields = form("3", sender=ENGLISH[0])
    first = replies(twilio.post(fields))
    again = replies(twilio.post(fields))

    assert first == again
    inbound = session.scalars(select(Message).where(Message.sid == fields["MessageSid"])).all()
    assert len(inbound) == 1
    assert check_back_of(session, ENGLISH[0], app).answer == SurveyAnswer.NO


@pytest.mark.parametrize("text", ["1", "2", "3", "no", "แก้แล้ว"])
def test_an_answer_outside_a_survey_is_a_normal_report(
    twilio: Twilio, session: Session, text: str
) -> None:
    [reply] = replies(twilio.sms(text, sender="+447700900107"))

    report = session.scalars(select(Report)).one()
    assert report.code in reply
    [message] = session.scalars(select(Message).where(Message.direction == Direction.INBOUND))
    assert message.report_id == report.id
    assert message.kind == MessageKind.REPORT
    assert "survey" not in message.analysis


def test_an_answer_after_the_window_is_a_normal_report(
    app: Flask, twilio: Twilio, session: Session, surveyed: int
) -> None:
    window = app.config["INTAKE"].checkback_window
    with sessions(app)() as db:
        for check_back in db.scalars(select(CheckBack)):
            check_back.asked_at = utcnow() - window - timedelta(hours=1)
        db.commit()

    [reply] = replies(twilio.sms("3", sender=ENGLISH[0]))

    assert "look into it again" not in reply
    assert check_back_of(session, ENGLISH[0], app).answer is None


def test_yes_from_a_worker_who_opted_out_resumes_and_answers_nothing(
    app: Flask, twilio: Twilio, session: Session, surveyed: int
) -> None:
    replies(twilio.sms("STOP", sender=ENGLISH[0]))
    [reply] = replies(twilio.sms("YES", sender=ENGLISH[0]))

    assert "again" in reply
    assert check_back_of(session, ENGLISH[0], app).answer is None
    assert not session.scalars(
        select(Reporter).where(Reporter.opted_out.is_(True))
    ).all()


@pytest.mark.parametrize(
    ("text", "language", "answer"),
    [
        ("1", None, SurveyAnswer.YES),
        ("１", None, SurveyAnswer.YES),
        ("১", None, SurveyAnswer.YES),
        ("၃", None, SurveyAnswer.NO),
        ("2.", None, SurveyAnswer.PARTLY),
        ("Yes!", None, SurveyAnswer.YES),
        ("1 yes", None, SurveyAnswer.YES),
        ("没有", None, SurveyAnswer.NO),
        ("部分解决", None, SurveyAnswer.PARTLY),
        ("ya", "id", SurveyAnswer.YES),
        ("belum", "ms", SurveyAnswer.NO),
        ("oo", "tl", SurveyAnswer.YES),
        ("भएन", "ne", SurveyAnswer.NO),
        ("ano", "cs", SurveyAnswer.YES),
        ("ទេ", "km", SurveyAnswer.NO),
        ("ஓரளவு", "ta", SurveyAnswer.PARTLY),
        ("না", "bn", SurveyAnswer.NO),
        ("12", None, None),
        ("1 yes 3 no", None, None),
        ("1 more thing: they hit us", None, None),
        ("yes they still lock the exit", None, None),
        ("", None, None),
    ],
)
def test_answers_are_understood_as_digits_or_words(
    text: str, language: str | None, answer: SurveyAnswer | None
) -> None:
    assert survey_answer(text, language) == answer
