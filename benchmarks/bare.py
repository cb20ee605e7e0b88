"""The baseline for benchmarks/webhook.py: Flask answering fixed TwiML, doing nothing else."""

from flask import Flask, Response

app = Flask(__name__)
REPLY = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Report K7P4QX received. '
    "Your number is hidden from everyone. Text again to add details. Reply STOP to stop."
    "</Message></Response>"
)


@app.post("/sms/inbound")
def inbound() -> Response:
    return Response(REPLY, mimetype="text/xml")
