"""The Twilio webhook: parse, store through the pipeline, answer in TwiML."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from intake.db import get_session
from intake.messaging.outbox import record_status
from intake.parsing import ascii_int
from intake.pipeline.hotline import Hotline
from intake.pipeline.receive import receive_sms
from intake.sms.inbound import SID, InboundSms, MalformedSms
from intake.sms.signature import twilio_signed

bp = Blueprint("sms", __name__, url_prefix="/sms")


@bp.post("/inbound")
@twilio_signed
def inbound() -> Response:
    """Twilio posts every SMS to the hotline here."""
    try:
        sms = InboundSms.from_form(request.form)
    except MalformedSms as error:
        abort(400, str(error))
    hotline: Hotline = current_app.extensions["intake.hotline"]
    receipt = receive_sms(get_session(), sms, hotline)
    return twiml(receipt.reply)


@bp.post("/status")
@twilio_signed
def status() -> Response:
    """Twilio posts each outbound message's delivery status here (StatusCallback)."""
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    state = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    if not SID.fullmatch(sid) or not state or len(state) > 16:
        abort(400, "MessageSid and MessageStatus are required")
    # Twilio's error codes are numbers ("30003"); anything else (NUL too) is not kept.
    code = ascii_int(request.form.get("ErrorCode"))
    error_code = str(code) if code is not None else None
    # An unknown SID is answered 200 and stores nothing: Twilio does not retry a callback, and
    # a 4xx would only fill its debugger for messages sent outside intake (the console).
    record_status(get_session(), sid, state, error_code)
    return Response(status=204)


def twiml(text: str | None) -> Response:
    """A TwiML answer with one message, or an empty one that sends nothing."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return Response(str(response), mimetype="text/xml")
