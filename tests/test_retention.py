"""Retention: after `intake purge` nothing can identify or reach a worker; the work remains."""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import phonenumbers
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_privacy import digit_runs, dump_database, formats
from werkzeug.test import TestResponse

from intake import create_app, db
from intake.audit import record
from intake.cli import main
from intake.config import Config
from intake.db import sessions
from intake.models import (
    AuditEvent,
    Case,
    CaseStatus,
    CheckBack,
    Message,
    Note,
    Outbox,
    OutboxKind,
    OutboxStatus,
    RemedyItem,
    RemedyStatus,
    Report,
    ReportCategory,
    Reporter,
    ReportStatus,
    Responsible,
    Role,
    SurveyAnswer,
    User,
    utcnow,
)
from intake.pipeline.identity import parse_address
from intake.remedy.checkback import case_confirmations, start_check_back
from intake.retention import RestTwilioLogs, purge

from conftest import ACCOUNT_SID, HOTLINE, Twilio, form

# Invented workers; each text names the worker or gives a number, which redaction removes.
CLOSED_CASE = ("+66812340201", "ผมชื่อสมชาย โทร 0812340299 โรงงานไม่จ่ายค่าล่วงเวลาสองเดือน")
CLOSED_REPORT = ("+84901230202", "Công ty không trả lương tháng này, gọi tôi số 0901230299")
SILENT = ("+447700900203", "My name is Peter Smith, call me on 07700 900299, no overtime pay")
OPTED_OUT = ("+5215512340204", "Me llamo Rosa, llámeme al 55 1234 0299, el supervisor nos grita")
ACTIVE = ("+60123400205", "gaji tak bayar dua bulan di kilang, tolong")
GONE = (CLOSED_CASE, CLOSED_REPORT, SILENT, OPTED_OUT)
# Numbers the workers wrote in their texts: as identifying as their own.
WRITTEN = ("0812340299", "0901230299", "07700 900299", "55 1234 0299")


def replies(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [node.text or "" for node in ElementTree.fromstring(response.get_data()).iter("Message")]


class StandIn:
    """Twilio's message log, as its REST API shows it, on loopback."""

    def __init__(self) -> None:
        self.log: dict[str, dict[str, str]] = {}
        self.deleted: list[str] = []
        self.fail_deletes = False
        self.authorised = True
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any] | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                stand_in.authorised &= self.headers.get("Authorization", "").startswith("Basic ")
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                found = [
                    {"sid": sid, **fields}
                    for sid, fields in stand_in.log.items()
                    if all(fields.get(key.lower()) == value for key, value in query.items()
                           if key in ("To", "From"))
                ]
                self._send(200, {"messages": found, "next_page_uri": None, "page": 0,
                                 "page_size": 50, "uri": url.path})

            def do_DELETE(self) -> None:
                match = re.search(r"/Accounts/(AC\w+)/Messages/(\w+)\.json$", self.path)
                if stand_in.fail_deletes or match is None or match[1] != ACCOUNT_SID:
                    self._send(500, {"code": 20500, "message": "error", "status": 500})
                    return
                if stand_in.log.pop(match[2], None) is None:
                    self._send(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                stand_in.deleted.append(match[2])
                self._send(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


@pytest.fixture
def twilio_config(config: Config, stand_in: StandIn) -> Config:
    return dataclasses.replace(config, purge_twilio_logs=True, twilio_api_base=stand_in.url)


def text(twilio: Twilio, stand_in: StandIn | None, body: str, sender: str) -> list[str]:
    """A worker texts the hotline; Twilio logs the message and our TwiML reply."""
    fields = form(body, sender=sender)
    answer = replies(twilio.post(fields))
    if stand_in is not None:
        stand_in.log[fields["MessageSid"]] = {"from": sender, "to": HOTLINE}
        if answer:
            stand_in.log["SM" + secrets.token_hex(16)] = {"from": HOTLINE, "to": sender}
    return answer


def build_history(app: Flask, twilio: Twilio, stand_in: StandIn | None) -> dict[str, Any]:
    """Five workers' reports, two cases, a remedy, a check-back answered, outbox, audit."""
    for sender, body in (*GONE, ACTIVE):
        text(twilio, stand_in, body, sender)
    text(twilio, stand_in, "ยังไม่ได้เงินเลย", CLOSED_CASE[0])  # a follow-up, in the thread
    text(twilio, stand_in, "STOP", OPTED_OUT[0])
    keyring = app.extensions["intake.hotline"].keyring
    with sessions(app)() as s:
        def report_of(sender: str) -> Report:
            pseudonym = keyring.pseudonym(parse_address(sender))
            query = select(Report).join(Reporter).where(Reporter.pseudonym == pseudonym)
            return s.scalars(query).one()

        in_closed, in_open = report_of(CLOSED_CASE[0]), report_of(ACTIVE[0])
        monitor = User(email="m@example.org", name="Monitor", password_hash="-", role=Role.ADMIN)
        s.add(monitor)
        closed = Case(title="Overtime unpaid, line 2", category="wages",
                      status=CaseStatus.REMEDIATION, reports=[in_closed])
        closed.remedies = [RemedyItem(action="Back pay", responsible=Responsible.FACTORY,
                                      status=RemedyStatus.DONE)]
        still_open = Case(title="Wages late", category="wages", status=CaseStatus.REMEDIATION,
                          reports=[in_open])
        s.add_all([closed, still_open])
        s.flush()
        [asked] = start_check_back(s, closed, user_id=monitor.id)
        survey = s.get(Outbox, asked.outbox_id)
        assert survey is not None
        survey.status, survey.twilio_sid = OutboxStatus.SENT, "SM" + secrets.token_hex(16)
        if stand_in is not None:
            stand_in.log[survey.twilio_sid] = {"from": HOTLINE, "to": CLOSED_CASE[0]}
        finished = report_of(CLOSED_REPORT[0])
        reply_to = [report_of(sender) for sender in (CLOSED_REPORT[0], ACTIVE[0])]
        finished.status, finished.closed_at = ReportStatus.CLOSED, utcnow()
        s.add(Note(report=finished, author_id=monitor.id, text="Resolved with the agency"))
        for report in reply_to:
            s.add(Outbox(kind=OutboxKind.REPLY, reporter_id=report.reporter_id,
                         report_id=report.id, author_id=monitor.id, body="We are on it."))
        record(s, "report.closed", user_id=monitor.id, target=finished)
        s.commit()
        closed_id = closed.id
    text(twilio, stand_in, "1", CLOSED_CASE[0])  # the check-back answer
    with sessions(app)() as s:
        case = s.get(Case, closed_id)
        assert case is not None
        case.status, case.closed_at = CaseStatus.CLOSED, utcnow()
        s.commit()
        tokens = {r.id: r.contact for r in s.scalars(select(Reporter))}
        kept = select(Message.original).where(Message.original.is_not(None))
        originals = list(s.scalars(kept))
    return {"case_id": closed_id, "tokens": tokens, "originals": originals}


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def raw_files(database_url: str) -> bytes:
    """The SQLite database's bytes on disk, WAL included: what a stolen disk would show."""
    path = Path(database_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_after_purge_nothing_can_identify_or_reach_a_worker_and_the_work_remains(
    twilio_config: Config, stand_in: StandIn, database_url: str
) -> None:
    app = create_app(twilio_config)
    try:
        twilio = Twilio(app.test_client())
        history = build_history(app, twilio, stand_in)
        keyring = app.extensions["intake.hotline"].keyring
        with sessions(app)() as s:
            before = {model: count(s, model) for model in (
                Report, Case, ReportCategory, Message, CheckBack, AuditEvent, Note, RemedyItem)}
            active = s.scalars(select(Reporter).where(
                Reporter.pseudonym == keyring.pseudonym(parse_address(ACTIVE[0])))).one()
        gone_tokens = [t for rid, t in history["tokens"].items() if rid != active.id and t]
        assert len(gone_tokens) == 4

        with sessions(app)() as s:
            result = purge(s, twilio_config, keyring, twilio=RestTwilioLogs(twilio_config),
                           now=utcnow() + timedelta(days=100))

        assert (result.contacts, result.outbox_cancelled, result.twilio_failed) == (4, 1, 0)
        assert result.originals == len(history["originals"])
        # Twilio's own logs: everything to or from the forgotten workers is gone.
        assert stand_in.authorised
        assert all(ACTIVE[0] in entry.values() for entry in stand_in.log.values())
        assert result.twilio_deleted == len(stand_in.deleted) > 0

        dump = dump_database(database_url)
        files = raw_files(database_url) if database_url.startswith("sqlite") else b""
        for sender, body in GONE:
            for written in formats(sender):
                assert written not in dump
                assert written.encode() not in files
            national = str(phonenumbers.parse(sender).national_number)
            assert not any(national in run for run in digit_runs(dump))
            assert body not in dump
            assert body.encode() not in files
        for written in WRITTEN:
            assert re.sub(r"\D", "", written) not in "".join(digit_runs(dump))
        for token in gone_tokens + history["originals"]:
            assert token.decode("latin-1") not in dump
            assert bytes(token) not in files
            assert bytes(token)[:40] not in files

        with sessions(app)() as s:
            after = {model: count(s, model) for model in before}
            assert after == before  # reports, cases, categories, answers, audit: all kept
            reachable = s.scalars(select(Reporter).where(Reporter.contact.is_not(None))).all()
            assert [r.id for r in reachable] == [active.id]
            assert keyring.decrypt_contact(reachable[0].contact) == ACTIVE[0]
            assert "wages" in s.scalars(select(ReportCategory.code)).all()
            case = s.get(Case, history["case_id"])
            assert case is not None
            assert case_confirmations(s, case).yes == 1
            assert s.scalars(select(CheckBack.answer)).all() == [SurveyAnswer.YES]
            statuses = {o.reporter_id: o.status for o in s.scalars(
                select(Outbox).where(Outbox.kind == OutboxKind.REPLY))}
            assert statuses[active.id] == OutboxStatus.QUEUED
            assert sorted(statuses.values()) == [OutboxStatus.CANCELLED, OutboxStatus.QUEUED]
            assert "[PHONE]" in dump
            assert "overtime" in dump
    finally:
        db.dispose(app)


def test_a_worker_is_kept_reachable_while_a_case_may_still_check_back(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    text(twilio, None, SILENT[1], SILENT[0])
    with sessions(app)() as s:
        report = s.scalars(select(Report)).one()
        case = Case(title="Overtime", category="wages", status=CaseStatus.CLOSED,
                    closed_at=utcnow(), reports=[report])
        case.remedies = [RemedyItem(action="Pay", responsible=Responsible.BRAND,
                                    status=RemedyStatus.DONE)]
        s.add(case)
        s.commit()
    config = app.config["INTAKE"]
    keyring = app.extensions["intake.hotline"].keyring
    silent_for = utcnow() + config.contact_retention + timedelta(days=1)
    window = config.checkback_window

    # Silent long enough, but the case closed within the check-back window.
    with sessions(app)() as s:
        assert purge(s, config, keyring, now=min(silent_for, utcnow() + window / 2)).contacts == 0
    # A survey still awaiting its answer keeps the number even after the window.
    with sessions(app)() as s:
        s.add(CheckBack(case_id=case.id, reporter_id=report.reporter_id, report_id=report.id,
                        asked_at=silent_for))
        s.commit()
    with sessions(app)() as s:
        assert purge(s, config, keyring, now=silent_for + timedelta(days=1)).contacts == 0
    with sessions(app)() as s:
        later = silent_for + window + timedelta(days=1)
        assert purge(s, config, keyring, now=later).contacts == 1
    assert session.scalars(select(Reporter.contact)).one() is None


def test_a_silent_worker_with_an_open_report_is_forgotten_only_after_the_retention(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    text(twilio, None, SILENT[1], SILENT[0])
    config = app.config["INTAKE"]
    keyring = app.extensions["intake.hotline"].keyring

    with sessions(app)() as s:
        soon = utcnow() + config.contact_retention - timedelta(days=1)
        assert purge(s, config, keyring, now=soon).contacts == 0
    with sessions(app)() as s:
        late = utcnow() + config.contact_retention + timedelta(days=1)
        assert purge(s, config, keyring, now=late).contacts == 1

    # Writing again makes the worker reachable again, and the report goes on.
    replies(twilio.sms("they still do not pay", sender=SILENT[0]))
    contact = session.scalars(select(Reporter.contact)).one()
    assert contact is not None
    assert keyring.decrypt_contact(contact) == SILENT[0]


def test_originals_of_finished_reports_go_before_their_retention_ends(
    app: Flask, twilio: Twilio, session: Session
) -> None:
    text(twilio, None, CLOSED_REPORT[1], CLOSED_REPORT[0])
    text(twilio, None, ACTIVE[1], ACTIVE[0])
    with sessions(app)() as s:
        first = s.scalars(select(Report).order_by(Report.id)).first()
        assert first is not None
        first.status = ReportStatus.CLOSED
        s.commit()
        finished_id = first.id

    with sessions(app)() as s:
        config, keyring = app.config["INTAKE"], app.extensions["intake.hotline"].keyring
        result = purge(s, config, keyring)

    assert (result.contacts, result.originals) == (1, 1)
    kept = {m.report_id: m.original for m in session.scalars(select(Message).where(
        Message.sid.is_not(None)))}
    assert kept[finished_id] is None
    assert all(original is not None for rid, original in kept.items() if rid != finished_id)


def test_when_twilio_cannot_delete_the_number_is_kept_for_tomorrow(
    twilio_config: Config, stand_in: StandIn
) -> None:
    app = create_app(twilio_config)
    try:
        twilio = Twilio(app.test_client())
        text(twilio, stand_in, OPTED_OUT[1], OPTED_OUT[0])
        text(twilio, stand_in, "STOP", OPTED_OUT[0])
        keyring = app.extensions["intake.hotline"].keyring
        stand_in.fail_deletes = True
        with sessions(app)() as s:
            result = purge(s, twilio_config, keyring, twilio=RestTwilioLogs(twilio_config))
        assert (result.contacts, result.twilio_failed) == (0, 1)

        stand_in.fail_deletes = False
        with sessions(app)() as s:
            result = purge(s, twilio_config, keyring, twilio=RestTwilioLogs(twilio_config))
        assert (result.contacts, result.twilio_failed) == (1, 0)
        assert stand_in.log == {}
    finally:
        db.dispose(app)


def test_the_purge_command_reports_what_it_deleted(
    twilio_config: Config, stand_in: StandIn
) -> None:
    app = create_app(twilio_config)
    try:
        twilio = Twilio(app.test_client())
        text(twilio, stand_in, OPTED_OUT[1], OPTED_OUT[0])
        text(twilio, stand_in, "STOP", OPTED_OUT[0])

        result = app.test_cli_runner().invoke(main, ["purge"])

        assert result.exit_code == 0, result.output
        assert "purged 1 contacts and 0 original texts" in result.output
        assert "deleted 3 messages from Twilio's logs; 0 numbers kept" in result.output
    finally:
        db.dispose(app)
