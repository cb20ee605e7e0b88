"""`intake worker`: send the outbox through Twilio, each message once, retrying what may pass.

A row moves queued -> sending (committed before Twilio is called) -> sent, or back to queued
with a later `next_attempt_at`, or to failed/cancelled. The committed `sending` state is what
keeps a message from going out twice: a row left there by a worker that died is never simply
sent again; `recover` asks Twilio whether it went out (see `Sender.recover`).
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from intake.config import Config, ConfigError
from intake.db import write_transaction
from intake.messaging.twilio_api import Failure, Twilio, classify, short_error
from intake.models import (
    Contact,
    Direction,
    Message,
    MessageKind,
    Outbox,
    OutboxStatus,
    Report,
    Reporter,
    utcnow,
)
from intake.pipeline.identity import Keyring, parse_address
from intake.pipeline.redact import redact

log = logging.getLogger(__name__)

# A sweep does one round of one kind of work and says how much it did; the worker loops over
# its sweeps and sleeps when none did anything. Other senders (e-mail alerts) add their own.
Sweep = Callable[[Session], int]

# Twilio's error for a recipient who texted STOP: they opted out at the carrier.
UNSUBSCRIBED = 21610
MAX_BACKOFF = timedelta(hours=1)
# How far back in the recipient's Twilio log a lost send is looked for.
LOOKUP_PAGE = 50
_INSERT_MESSAGE = insert(Message).returning(Message.id)


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    reporter_id: int | None
    contact_id: int | None
    report_id: int | None
    author_id: int | None
    message_id: int | None
    body: str
    language: str | None
    attempts: int
    claimed_at: datetime
    previous_claim: datetime | None
    address: bytes | None  # the Fernet token of the number, never the number
    opted_out: bool
    country: str | None
    report_code: str | None


_CLAIM_COLUMNS = (
    Outbox.id,
    Outbox.kind,
    Outbox.reporter_id,
    Outbox.contact_id,
    Outbox.report_id,
    Outbox.author_id,
    Outbox.message_id,
    Outbox.body,
    Outbox.language,
    Outbox.attempts,
    Outbox.claimed_at,
)


class Sender:
    """The outbox sweeps of one worker: `send` due rows, `recover` rows a dead worker left."""

    def __init__(
        self,
        config: Config,
        keyring: Keyring,
        twilio: Twilio | None = None,
        *,
        batch: int = 20,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.keyring = keyring
        self.twilio = twilio or Twilio(config)
        self.batch = batch
        self.clock = clock
        self._pending: list[Callable[[], None]] = []

    @property
    def sweeps(self) -> list[Sweep]:
        """This sender's sweeps, in the order the worker runs them."""
        return [self.recover, self.send]

    # --- claiming -------------------------------------------------------------------------

    def _claim(self, session: Session, status: OutboxStatus, before: datetime) -> list[_Claimed]:
        """Mark up to `batch` rows as ours and commit, so no other worker takes them.

        PostgreSQL: FOR UPDATE SKIP LOCKED lets several workers claim side by side. SQLite
        ignores it; the writer lock of `write_transaction` serialises the claims instead.
        """
        now = self.clock()
        when = Outbox.next_attempt_at if status is OutboxStatus.QUEUED else Outbox.claimed_at
        due = (
            select(*_CLAIM_COLUMNS)
            .where(Outbox.status == status, when <= before)
            .order_by(when, Outbox.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        )
        with write_transaction(session):
            rows = session.execute(due).all()
            if not rows:
                return []
            ids = [row.id for row in rows]
            session.execute(
                update(Outbox)
                .where(Outbox.id.in_(ids))
                .values(status=OutboxStatus.SENDING, claimed_at=now)
                .execution_options(synchronize_session=False)
            )
            recipients = self._recipients(session, rows)
        return [
            _Claimed(
                id=row.id,
                kind=str(row.kind),
                reporter_id=row.reporter_id,
                contact_id=row.contact_id,
                report_id=row.report_id,
                author_id=row.author_id,
                message_id=row.message_id,
                body=row.body,
                language=row.language,
                attempts=row.attempts,
                claimed_at=now,
                previous_claim=row.claimed_at,
                **recipients[row.id],
            )
            for row in rows
        ]

    def _recipients(self, session: Session, rows: Sequence[Any]) -> dict[int, dict[str, Any]]:
        """Each row's encrypted address, opt-out flag and country, read with the claim."""
        reporter_ids = {row.reporter_id for row in rows if row.reporter_id is not None}
        contact_ids = {row.contact_id for row in rows if row.contact_id is not None}
        report_ids = {row.report_id for row in rows if row.report_id is not None}
        reporters = {
            r.id: r
            for r in session.execute(
                select(Reporter.id, Reporter.contact, Reporter.opted_out, Reporter.country).where(
                    Reporter.id.in_(reporter_ids)
                )
            )
        }
        contacts = {
            row.id: row.phone
            for row in session.execute(
                select(Contact.id, Contact.phone).where(Contact.id.in_(contact_ids))
            )
        }
        reports = {
            row.id: row
            for row in session.execute(
                select(Report.id, Report.country, Report.code).where(Report.id.in_(report_ids))
            )
        }
        found: dict[int, dict[str, Any]] = {}
        for row in rows:
            reporter = reporters.get(row.reporter_id)
            report = reports.get(row.report_id)
            country = (report.country if report else None) or (
                reporter.country if reporter else None
            )
            found[row.id] = {
                "address": reporter.contact if reporter else contacts.get(row.contact_id),
                "opted_out": bool(reporter.opted_out) if reporter else False,
                "country": country,
                "report_code": report.code if report else None,
            }
        return found

    # --- sending --------------------------------------------------------------------------

    def _later(self, write: Callable[[], None]) -> None:
        """Keep a write for `_flush`."""
        self._pending.append(write)

    def _flush(self, session: Session) -> None:
        """Commit the batch's outcomes in one transaction.

        One commit per batch, not per message: should the worker die before it, its sends are
        still `sending`, and `recover` finds them at Twilio; nothing is sent twice.
        """
        pending, self._pending = self._pending, []
        if pending:
            with write_transaction(session):
                for write in pending:
                    write()

    def send(self, session: Session) -> int:
        """Send the due queued rows, one batch; returns how many were handled."""
        claimed = self._claim(session, OutboxStatus.QUEUED, self.clock())
        try:
            self._send_batch(session, claimed)
        finally:
            self._flush(session)
        return len(claimed)

    def _send_batch(self, session: Session, claimed: list[_Claimed]) -> None:
        # A send must be over long before a row counts as abandoned (see `recover`); the
        # configuration guarantees that one request fits in half the stale time.
        deadline = self.config.outbox_stale_after / 2
        for index, row in enumerate(claimed):
            now = self.clock()
            if now - row.claimed_at > deadline:
                self._release(session, claimed[index:], now)
                break
            delay = self._send_one(session, row)
            if delay is not None:
                # Twilio asked us to slow down: the rest of the batch waits too, unattempted.
                self._release(session, claimed[index + 1 :], self.clock() + delay)
                break

    def _send_one(self, session: Session, row: _Claimed) -> timedelta | None:
        """Send one claimed row; returns the wait Twilio asked for (429), if it asked."""
        if row.reporter_id is not None and row.opted_out:
            self._finish(session, row, OutboxStatus.CANCELLED, error="opted out")
            return None
        if row.address is None:
            self._finish(session, row, OutboxStatus.FAILED, error="no number on record")
            return None
        try:
            to = self.keyring.decrypt_contact(row.address)
        except InvalidToken:
            # Its key was retired before the number was rotated: nobody can send this.
            self._finish(session, row, OutboxStatus.FAILED, error="number unreadable")
            return None
        try:
            sid, status = self._deliver(row, to)
        except Exception as error:
            return self._failed_attempt(session, row, error)
        self._sent(session, row, sid, status, attempts=row.attempts + 1)
        return None

    def _deliver(self, row: _Claimed, to: str) -> tuple[str | None, Any]:
        """Hand one SMS to Twilio; its SID and status."""
        message = self.twilio.client.messages.create(
            to=to, body=row.body, **self._origin(to, row.country)
        )
        return message.sid, message.status

    def _origin(self, to: str, country: str | None) -> dict[str, Any]:
        """From (or the messaging service) and the status callback for a message to `to`."""
        origin: dict[str, Any] = {}
        if self.config.public_url:
            origin["status_callback"] = self.config.public_url.rstrip("/") + "/sms/status"
        if self.config.twilio_messaging_service_sid:
            origin["messaging_service_sid"] = self.config.twilio_messaging_service_sid
            return origin
        numbers = self.config.hotline_numbers
        if not numbers:
            raise RuntimeError("no sender: set INTAKE_HOTLINE_NUMBERS or a messaging service")
        # The worker knows the number in their own country; the first one is the default.
        local = [n for n in numbers if parse_address(n).region == country]
        sender = (local or list(numbers))[0]
        channel = to.split(":", 1)[0] + ":" if ":" in to else ""
        origin["from_"] = channel + sender.split(":", 1)[-1]
        return origin

    def _failed_attempt(
        self, session: Session, row: _Claimed, error: Exception
    ) -> timedelta | None:
        """Settle a failed create; returns the wait Twilio asked for (429), if it asked."""
        attempts = row.attempts + 1
        text = short_error(error)
        failure = classify(error)
        last = attempts >= self.config.outbox_max_attempts
        if getattr(error, "code", None) == UNSUBSCRIBED and row.reporter_id is not None:
            self._opted_out_at_carrier(session, row)
            return None
        if failure is Failure.REFUSED or (failure is Failure.RATE_LIMITED and last):
            log.warning("outbox %d failed after %d attempts: %s", row.id, attempts, text)
            self._finish(session, row, OutboxStatus.FAILED, error=text, attempts=attempts)
            return None
        retry_after = self.twilio.retry_after() if failure is Failure.RATE_LIMITED else None
        delay = timedelta(seconds=self._backoff(attempts, retry_after))
        log.info("outbox %d attempt %d: %s; again in %.0fs", row.id, attempts, text, delay.seconds)
        values: dict[str, Any] = {"attempts": attempts, "last_error": text}
        if failure is Failure.RATE_LIMITED:
            values.update(status=OutboxStatus.QUEUED, next_attempt_at=self.clock() + delay)
        else:
            # Twilio may have taken it (a 5xx or a timeout after the request went out): it
            # stays `sending`, dated so that `recover` asks Twilio about it once `delay` is
            # over, and only sends again if Twilio does not have it.
            stale = self.config.outbox_stale_after
            values.update(claimed_at=self.clock() + delay - stale)
        def write() -> None:
            session.execute(
                update(Outbox)
                .where(Outbox.id == row.id, Outbox.status == OutboxStatus.SENDING)
                .values(**values)
            )
        self._later(write)
        return timedelta(seconds=retry_after) if retry_after is not None else None

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, never sooner than Twilio asked."""
        ceiling = min(
            self.config.outbox_backoff * 2 ** (attempts - 1), MAX_BACKOFF.total_seconds()
        )
        # Jitter spreads retries so many failed sends do not all come back at once.
        delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311  (timing, not secrecy)
        return max(delay, retry_after or 0.0)

    def _release(self, session: Session, rows: Sequence[_Claimed], when: datetime) -> None:
        """Give claimed, unattempted rows back to the queue."""
        if not rows:
            return
        def write() -> None:
            session.execute(
                update(Outbox)
                .where(Outbox.id.in_([r.id for r in rows]), Outbox.status == OutboxStatus.SENDING)
                .values(status=OutboxStatus.QUEUED, next_attempt_at=when)
                .execution_options(synchronize_session=False)
            )
        self._later(write)

    def _sent(
        self, session: Session, row: _Claimed, sid: str | None, status: Any, *, attempts: int
    ) -> None:
        """Record a send Twilio accepted, and put it in the report's thread."""
        now = self.clock()
        thread = self._thread_entry(row, now, sid=sid, status=str(status or "queued"))
        def write() -> None:
            message_id = row.message_id
            if message_id is not None:
                # Already in the thread (an automatic reply): it now has its SID and status.
                session.execute(
                    update(Message)
                    .where(Message.id == message_id)
                    .values(sid=sid, delivery_status=thread["delivery_status"])
                )
            elif thread["reporter_id"] is not None:
                message_id = session.scalar(_INSERT_MESSAGE, thread)
            session.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(
                    status=OutboxStatus.SENT,
                    twilio_sid=sid,
                    sent_at=now,
                    attempts=attempts,
                    last_error=None,
                    message_id=message_id,
                    body=thread["text"],
                )
            )
        self._later(write)
        log.info("outbox %d sent", row.id)

    def _finish(
        self,
        session: Session,
        row: _Claimed,
        status: OutboxStatus,
        *,
        error: str,
        attempts: int | None = None,
    ) -> None:
        """Give up on a row; a reply that failed shows in its thread, marked as failed."""
        now = self.clock()
        thread = self._thread_entry(row, now, sid=None, status=status.value)
        def write() -> None:
            message_id = row.message_id
            if message_id is not None:
                session.execute(
                    update(Message)
                    .where(Message.id == message_id)
                    .values(delivery_status=status.value)
                )
            elif status is OutboxStatus.FAILED and row.reporter_id:
                message_id = session.scalar(_INSERT_MESSAGE, thread)
            session.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(
                    status=status,
                    attempts=row.attempts if attempts is None else attempts,
                    last_error=error,
                    message_id=message_id,
                    body=thread["text"],
                )
            )
        self._later(write)

    def _thread_entry(
        self, row: _Claimed, now: datetime, *, sid: str | None, status: str
    ) -> dict[str, Any]:
        """The redacted thread copy of a row; the original is kept only encrypted, for a time."""
        regions = [row.country] if row.country else []
        return {
            "sid": sid,
            "direction": Direction.OUTBOUND,
            "kind": MessageKind.REPORT,
            "reporter_id": row.reporter_id,
            "report_id": row.report_id,
            "author_id": row.author_id,
            "text": redact(row.body, regions=regions).text,
            "original": self.keyring.encrypt_text(row.body),
            "original_expires_at": now + self.config.original_text_retention,
            "language": row.language,
            "delivery_status": status,
            "created_at": now,
        }

    def _opted_out_at_carrier(self, session: Session, row: _Claimed) -> None:
        """Twilio refused: the worker sent STOP. Record it, as the webhook would have."""
        now = self.clock()
        def write() -> None:
            session.execute(
                update(Reporter)
                .where(Reporter.id == row.reporter_id, Reporter.opted_out.is_(False))
                .values(opted_out=True, opted_out_at=now)
            )
        self._later(write)
        self._finish(session, row, OutboxStatus.CANCELLED, error="opted out", attempts=row.attempts)

    # --- recovery -------------------------------------------------------------------------

    def recover(self, session: Session) -> int:
        """Settle rows left `sending` by a worker that died, without ever sending twice.

        Such a row may or may not have reached Twilio. Its claim is older than the stale time,
        which is over twice the longest possible request, so any request it made has been
        answered by now: if Twilio has it, the recipient's message log shows it. Found, it is
        recorded as sent; not found, it was never accepted and goes back to the queue.
        """
        stale = self.clock() - self.config.outbox_stale_after
        claimed = self._claim(session, OutboxStatus.SENDING, stale)
        for row in claimed:
            # One commit per row: the next row's lookup must see this one's SID as taken.
            try:
                self._recover_one(session, row)
            finally:
                self._flush(session)
        return len(claimed)

    def _recover_one(self, session: Session, row: _Claimed) -> None:
        if row.address is None:
            self._finish(session, row, OutboxStatus.FAILED, error="no number on record")
            return
        try:
            sid, status = self._look_up(session, row)
        except Exception as error:
            # Unknown: stay claimed; a later sweep asks again, and gives up in the end.
            attempts = row.attempts + 1
            text = "lookup: " + short_error(error)
            if attempts >= self.config.outbox_max_attempts:
                text += "; may have been sent"
                self._finish(session, row, OutboxStatus.FAILED, error=text, attempts=attempts)
            else:
                self._note(session, row, attempts, text)
            return
        if sid is not None:
            log.info("outbox %d found at Twilio after a lost send", row.id)
            self._sent(session, row, sid, status, attempts=max(row.attempts, 1))
        elif row.attempts >= self.config.outbox_max_attempts:
            reason = f"not sent after {row.attempts} attempts"
            self._finish(session, row, OutboxStatus.FAILED, error=reason)
        else:
            self._release(session, [row], self.clock())

    def _look_up(self, session: Session, row: _Claimed) -> tuple[str | None, str | None]:
        """The SID and status of this row's message in Twilio's log, if it is there."""
        to = self.keyring.decrypt_contact(row.address or b"")
        since = (row.previous_claim or row.claimed_at) - timedelta(minutes=5)
        candidates = [
            message
            for message in self.twilio.client.messages.list(to=to, limit=LOOKUP_PAGE)
            if message.body == row.body
            and str(message.direction or "").startswith("outbound")
            and (message.date_created is None or message.date_created >= since)
        ]
        if not candidates:
            return None, None
        # The same words sent twice to one worker: another row's send is not this one's.
        with session.begin():
            recorded = set(
                session.scalars(
                    select(Outbox.twilio_sid).where(
                        Outbox.twilio_sid.in_([m.sid for m in candidates])
                    )
                )
            )
        for message in reversed(candidates):  # Twilio lists newest first
            if message.sid not in recorded:
                return message.sid, message.status
        return None, None

    def _note(self, session: Session, row: _Claimed, attempts: int, text: str) -> None:
        def write() -> None:
            session.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(attempts=attempts, last_error=text)
            )
        self._later(write)


class DevelopmentSender(Sender):
    """Development mode without a Twilio account: each SMS is logged by report code and kind
    and marked sent, so the demo's threads show replies sent; nothing leaves the machine."""

    def __init__(
        self,
        config: Config,
        keyring: Keyring,
        *,
        batch: int = 20,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if config.production:
            raise ConfigError("the development sender is for development mode only")
        super().__init__(config, keyring, batch=batch, clock=clock)

    def _deliver(self, row: _Claimed, to: str) -> tuple[str | None, Any]:
        log.info(
            "development sender: %s for report %s marked sent; nothing left this machine "
            "(outbox %d)",
            row.kind,
            row.report_code or "-",
            row.id,
        )
        return "DEV" + secrets.token_hex(16), "sent"

    def _look_up(self, session: Session, row: _Claimed) -> tuple[str | None, str | None]:
        # Nothing ever left: a send a stopped demo left behind goes (to the log) again.
        return None, None


def outbox_sender(config: Config, keyring: Keyring, *, batch: int = 20) -> Sender:
    """The outbox's sender: Twilio's REST API, or in development without a Twilio account the
    development sender. Production never gets the development sender."""
    if not config.production and not config.twilio_account_sid:
        return DevelopmentSender(config, keyring, batch=batch)
    if not (config.hotline_numbers or config.twilio_messaging_service_sid):
        raise ConfigError(
            "missing INTAKE_HOTLINE_NUMBERS or TWILIO_MESSAGING_SERVICE_SID: nothing to send from"
        )
    if not config.twilio_account_sid:
        raise ConfigError("missing TWILIO_ACCOUNT_SID: the outbox sends through Twilio's API")
    return Sender(config, keyring, batch=batch)


class Worker:
    """Runs sweeps until stopped; each sweep gets a fresh session and its own transactions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        sweeps: Sequence[Sweep],
        *,
        poll: float = 2.0,
    ) -> None:
        self.sessions = sessions
        self.sweeps = list(sweeps)
        self.poll = poll
        self.stopping = threading.Event()

    def run_once(self) -> int:
        """Run every sweep until none finds work due now; returns the work done."""
        total = 0
        while not self.stopping.is_set():
            done = self._round()
            total += done
            if not done:
                break
        return total

    def run(self) -> None:
        """Run until `stopping` is set (SIGTERM), sleeping `poll` seconds when idle."""
        while not self.stopping.is_set():
            try:
                done = self._round()
            except SQLAlchemyError as error:
                # The database is away: nothing is lost, the rows wait for us.
                log.error("worker round failed: %s", type(error).__name__)
                done = 0
            if not done:
                self.stopping.wait(self.poll)

    def _round(self) -> int:
        done = 0
        for sweep in self.sweeps:
            with self.sessions() as session:
                done += sweep(session)
        return done
