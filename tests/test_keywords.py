"""HELP, STOP and START in the worker's language; Twilio's keywords are English words."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from intake.models import Direction, Message, MessageKind, Reporter
from intake.sms.replies import Reply, render

from conftest import Twilio

# (language, an invented worker, a first report that sets the worker's language)
WORKERS = [
    ("th", "+66812340401", "หัวหน้าด่าพวกเราทุกวันและไม่ให้พักเลย"),
    ("vi", "+84901230402", "Quản đốc chửi mắng công nhân mỗi ngày và không cho nghỉ"),
    ("zh", "+8613800000403", "主管每天骂我们，也不让我们休息"),
    ("es", "+5215512340404", "El supervisor nos insulta todos los días y no nos deja descansar"),
    ("my", "+95912340405", "ကြီးကြပ်ရေးမှူးက နေ့တိုင်း ဆဲဆိုပြီး အနားမပေးပါ"),
]


def replies(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [node.text or "" for node in ElementTree.fromstring(response.get_data()).iter("Message")]


@pytest.mark.parametrize(("language", "sender", "report"), WORKERS)
def test_help_stop_and_start_answer_in_the_workers_language(
    twilio: Twilio, session: Session, language: str, sender: str, report: str
) -> None:
    replies(twilio.sms(report, sender=sender))
    assert session.scalars(select(Reporter.language)).one() == language

    assert replies(twilio.sms("HELP", sender=sender)) == [render(Reply.HELP, language)]
    assert replies(twilio.sms("Stop", sender=sender)) == []
    assert replies(twilio.sms(report, sender=sender)) == []  # stored, not answered
    assert replies(twilio.sms("START", sender=sender)) == [render(Reply.RESUMED, language)]
    [again] = replies(twilio.sms("info", sender=sender))

    assert again == render(Reply.HELP, language)
    assert not session.scalars(select(Reporter.opted_out)).one()
    kinds = session.scalars(
        select(Message.kind).where(Message.direction == Direction.INBOUND).order_by(Message.id)
    ).all()
    assert kinds == [
        MessageKind.REPORT, MessageKind.HELP, MessageKind.OPT_OUT, MessageKind.REPORT,
        MessageKind.OPT_IN, MessageKind.HELP,
    ]


def test_every_language_has_its_own_help_text() -> None:
    texts = {language: render(Reply.HELP, language) for language, _, _ in WORKERS}
    assert len(set(texts.values())) == len(texts)
    assert all("STOP" in text for text in texts.values())
