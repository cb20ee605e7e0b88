"""Whatever a correctly signed form holds, the webhooks answer below 500 and store it once.

Twilio's signature proves who sent a form, not that it is well formed: an attacker holding the
token, a Twilio change or a proxy can post anything. Property-based: hypothesis invents the forms.
"""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from intake.models import Direction, Message, Report
from intake.sms.inbound import SID

from conftest import Twilio, form

TWILIO_FIELDS = (
    "MessageSid", "SmsMessageSid", "SmsSid", "Body", "From", "To", "NumMedia", "NumSegments",
    "FromCountry", "ToCountry", "AccountSid", "MessageStatus", "SmsStatus", "ErrorCode",
    "MediaUrl0", "MediaContentType0", "ApiVersion",
)  # fmt: skip
# Any unicode a form can carry (surrogates cannot be encoded), NUL and controls included.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
HOSTILE = st.sampled_from([
    "", "\x00", "a\x00b", "²", "٣", "１", "-1", "+1", "1e3", " 1", "1 ", "0x10", "1_000",
    "9" * 4301, "9" * 20, "\r\n", "\ufeff", "SM" + "a" * 32 + "\x00", "x" * 10_000,
])  # fmt: skip
VALUES = st.one_of(TEXT, HOSTILE)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def hostile_forms(base: dict[str, str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """A signed-looking form: Twilio's fields, some replaced, some repeated, some invented."""
    keys = st.one_of(st.sampled_from(TWILIO_FIELDS), TEXT)
    changes = st.lists(st.tuples(keys, VALUES), max_size=8)
    drops = st.sets(st.sampled_from(sorted(base)), max_size=4)
    repeats = st.lists(st.tuples(st.sampled_from(TWILIO_FIELDS), VALUES), max_size=3)

    def build(change: list[tuple[str, str]], drop: set[str], repeat: list[tuple[str, str]]) -> (
        list[tuple[str, str]]
    ):
        fields = {key: value for key, value in base.items() if key not in drop}
        fields.update(change)
        return [*fields.items(), *repeat]

    return st.builds(build, changes, drops, repeats)


def post(twilio: Twilio, path: str, pairs: list[tuple[str, str]]) -> TestResponse:
    """POST the pairs in order, duplicates kept, signed exactly as Twilio signs a form."""
    signature = twilio.validator.compute_signature(f"http://localhost{path}", MultiDict(pairs))
    return twilio.client.post(
        path,
        data=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def inbound_count(session: Session, sid: str | None = None) -> int:
    query = select(func.count()).select_from(Message).where(Message.direction == Direction.INBOUND)
    if sid is not None:
        query = query.where(Message.sid == sid)
    return session.scalar(query) or 0


@st.composite
def inbound_forms(draw: st.DrawFn) -> list[tuple[str, str]]:
    sid = "SM" + draw(st.binary(min_size=16, max_size=16)).hex()
    return draw(hostile_forms(form("We have not been paid", sid=sid)))


@given(pairs=inbound_forms())
@example(pairs=list(form("ok", NumMedia="²").items()))
@example(pairs=list(form("ok", NumMedia="9" * 4301).items()))
@example(pairs=list(form("ok", NumSegments="9" * 4301).items()))
@example(pairs=list(form("a\x00b", From="+6681\x002345670", To="+60\x00").items()))
@SETTINGS
def test_any_signed_form_to_the_inbound_webhook_is_answered_below_500(
    twilio: Twilio, session: Session, pairs: list[tuple[str, str]]
) -> None:
    fields = MultiDict(pairs)
    sid = fields.get("MessageSid") or fields.get("SmsMessageSid") or ""
    before = inbound_count(session)
    # Hypothesis may draw a SID it drew before; a SID that is none is refused before the query.
    retried = inbound_count(session, sid) if SID.fullmatch(sid) else 0
    reports = session.scalar(select(func.count()).select_from(Report))

    response = post(twilio, "/sms/inbound", pairs)

    assert response.status_code < 500, response.get_data(as_text=True)
    session.expire_all()
    if response.status_code == 200:
        assert inbound_count(session, sid) == 1
        assert inbound_count(session) == before + 1 - retried
    else:
        assert inbound_count(session) == before
        assert session.scalar(select(func.count()).select_from(Report)) == reports
