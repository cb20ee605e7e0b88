"""The Twilio webhook: parse, store through the pipeline, answer in TwiML."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from intake.db import get_session
from intake.pipeline.hotline import Hotline
from intake.pipeline.receive import receive_sms
from intake.sms.inbound import InboundSms, MalformedSms
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


def twiml(text: str | None) -> Response:
    """A TwiML answer with one message, or an empty one that sends nothing."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return Response(str(response), mimetype="text/xml")
