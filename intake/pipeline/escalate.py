"""Urgent reports mailed to their partner's on-call contacts: at once, once each, never lost.

The webhook only records an `Alert` row in its own write transaction (one INSERT) and, after
commit, wakes a background thread; the thread (and `intake worker`'s periodic sweep, for
anything that failed) chooses the recipients and mails them. Each address is claimed before it
is mailed, so two senders never mail it twice; an SMTP failure releases the claim for a later
retry. Only a process dying between SMTP's "250 accepted" and marking the mail sent can send a
second copy, after STALE_CLAIM, with the same Message-ID: for an urgent report that is better
than none.
"""

from __future__ import annotations

import hashlib
import logging
import os
import smtplib
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from intake.db import write_transaction
from intake.i18n import catalog
from intake.mail import REPORT_HEADER, Mailer
from intake.models import (
    Alert,
    AlertMail,
    AlertMailStatus,
    Contact,
    Factory,
    Partner,
    Report,
    ReportCategory,
    UTCDateTime,
    utcnow,
)

log = logging.getLogger(__name__)

# A claim older than this belongs to a sender that died mid-mail: the mail is sent again.
STALE_CLAIM = timedelta(minutes=10)
# Retries back off from 30 s to an hour; after this many attempts a person must look.
MAX_ATTEMPTS = 20
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
# The background thread ends after this long without work; the next alert starts another.
IDLE_SECONDS = 30.0

_INSERT_ALERT = insert(Alert)
_NOW = bindparam("now", type_=UTCDateTime())
_STALE = bindparam("stale", type_=UTCDateTime())
_DUE = or_(
    and_(AlertMail.status == AlertMailStatus.PENDING, AlertMail.next_attempt_at <= _NOW),
    and_(AlertMail.status == AlertMailStatus.SENDING, AlertMail.claimed_at < _STALE),
)


# Contacts have no language of their own: alerts are written in the admin pages' first one.
MAIL_LANGUAGE = "en"


def _(message: str) -> str:
    """Mark a string for the admin catalog (scripts/extract-messages); translated on use."""
    return message


def _translated(message: str) -> str:
    return catalog(MAIL_LANGUAGE, "admin").gettext(message)


# Translators: the subject of an urgent-report mail to a monitoring partner's on-call staff.
SUBJECT = _("Urgent report %(code)s for %(partner)s")
# Translators: an urgent-report mail to a partner's on-call staff; keep every %(name)s.
BODY = _(
    "An urgent report has arrived on the hotline.\n"
    "\n"
    "Report: %(code)s\n"
    "Partner: %(partner)s\n"
    "Factory: %(factory)s\n"
    "Categories: %(categories)s\n"
    "Urgent because of: %(reasons)s\n"
    "Hotline country: %(country)s\n"
    "Received: %(time)s\n"
    "\n"
    "Open it (sign-in required): %(link)s\n"
    "\n"
    "This mail holds none of the worker's words and no phone number: read the report in intake."
)
# Translators: in an urgent-report mail, where the factory was not recognised.
NO_FACTORY = _("not identified")
# Translators: in an urgent-report mail, for a missing value.
UNKNOWN = _("unknown")


def record_alert(db: Connection, report_id: int, reasons: Sequence[str], now: datetime) -> None:
    """Note, in the caller's transaction, that a report just turned urgent and why (codes)."""
    db.execute(_INSERT_ALERT, {"report_id": report_id, "reasons": list(reasons), "created_at": now})


def send_pending_alerts(session: Session, mailer: Mailer, now: datetime) -> int:
    """Mail every alert recipient that is due (new, or retry time reached); returns mails sent."""
    _plan(session, now)
    with session.begin():
        due = list(
            session.scalars(
                select(AlertMail.id).where(_DUE).order_by(AlertMail.id),
                {"now": now, "stale": now - STALE_CLAIM},
            )
        )
    sent = 0
    with ExitStack() as stack:
        try:
            smtp = stack.enter_context(mailer.connect()) if due else None
        except (smtplib.SMTPException, OSError) as error:
            _postpone(session, due, now, error)
            return 0
        for position, mail_id in enumerate(due):
            if smtp is None or not _claim(session, mail_id, now):
                continue  # another sender has it
            try:
                smtp.send_message(_compose(session, mail_id, mailer))
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
                _release(session, mail_id, now, error)  # this address or this mail only
                continue
            except (smtplib.SMTPException, OSError) as error:
                # The server went away: everything left waits for the next retry time.
                _release(session, mail_id, now, error)
                _postpone(session, due[position + 1 :], now, error)
                break
            except Exception as error:
                _release(session, mail_id, now, error)
                raise
            _mark_sent(session, mail_id, now)
            sent += 1
    _close_done(session, now)
    return sent


def _postpone(session: Session, mail_ids: Sequence[int], now: datetime, error: Exception) -> None:
    """Count a failed attempt against mails that could not even be tried (server down)."""
    for mail_id in mail_ids:
        if _claim(session, mail_id, now):
            _release(session, mail_id, now, error)


def _plan(session: Session, now: datetime) -> None:
    """Choose the recipients of every new alert: its partner's on-call contacts with e-mail."""
    with session.begin():
        new = list(session.scalars(select(Alert.id).where(Alert.planned_at.is_(None))))
    for alert_id in new:
        with write_transaction(session):
            db = session.connection()
            claimed = db.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.planned_at.is_(None))
                .values(planned_at=now)
            )
            if claimed.rowcount != 1:
                continue  # another sender planned it
            partner_id = db.scalar(
                select(Report.partner_id)
                .join(Alert, Alert.report_id == Report.id)
                .where(Alert.id == alert_id)
            )
            contacts = db.execute(
                select(Contact.id, Contact.email)
                .where(
                    Contact.partner_id == partner_id,
                    Contact.on_call.is_(True),
                    Contact.email.is_not(None),
                    Contact.email != "",
                )
                .order_by(Contact.id)
            ).all()
            recipients: dict[str, int] = {}
            for contact_id, email in contacts:
                recipients.setdefault(str(email).strip().lower(), contact_id)
            if recipients:
                db.execute(
                    insert(AlertMail),
                    [
                        {
                            "alert_id": alert_id,
                            "contact_id": contact_id,
                            "email": email,
                            "status": AlertMailStatus.PENDING,
                            "attempts": 0,
                            "next_attempt_at": now,
                        }
                        for email, contact_id in recipients.items()
                    ],
                )
            else:
                # Nobody to mail: the report is still urgent on the admin pages.
                log.warning(
                    "alert=%d partner=%s: no on-call contact with e-mail", alert_id, partner_id
                )
            log.info("alert=%d planned recipients=%d", alert_id, len(recipients))


def _claim(session: Session, mail_id: int, now: datetime) -> bool:
    with write_transaction(session):
        claimed = session.connection().execute(
            update(AlertMail)
            .where(AlertMail.id == mail_id, _DUE)
            .values(
                status=AlertMailStatus.SENDING,
                claimed_at=_NOW,
                attempts=AlertMail.attempts + 1,
            ),
            {"now": now, "stale": now - STALE_CLAIM},
        )
    return bool(claimed.rowcount == 1)


def _release(session: Session, mail_id: int, now: datetime, error: Exception) -> None:
    """Give the claim back with a later retry time, or give up after MAX_ATTEMPTS."""
    code = getattr(error, "smtp_code", None)
    reason = f"{type(error).__name__} {code}" if code else type(error).__name__
    with write_transaction(session):
        attempts = session.scalar(select(AlertMail.attempts).where(AlertMail.id == mail_id)) or 1
        delay = min(FIRST_RETRY * 2 ** (attempts - 1), LAST_RETRY)
        status = AlertMailStatus.FAILED if attempts >= MAX_ATTEMPTS else AlertMailStatus.PENDING
        session.execute(
            update(AlertMail)
            .where(AlertMail.id == mail_id)
            .values(status=status, claimed_at=None, next_attempt_at=now + delay, last_error=reason)
        )
    log.error("alert mail=%d not sent (attempt %d): %s", mail_id, attempts, reason)


def _mark_sent(session: Session, mail_id: int, now: datetime) -> None:
    with write_transaction(session):
        session.execute(
            update(AlertMail)
            .where(AlertMail.id == mail_id)
            .values(status=AlertMailStatus.SENT, sent_at=now, last_error=None)
        )
    log.info("alert mail=%d sent", mail_id)


def _close_done(session: Session, now: datetime) -> None:
    """Mark alerts whose every mail is sent (or given up) as done."""
    unsent = exists().where(
        AlertMail.alert_id == Alert.id,
        AlertMail.status.in_([AlertMailStatus.PENDING, AlertMailStatus.SENDING]),
    )
    with write_transaction(session):
        session.execute(
            update(Alert)
            .where(Alert.planned_at.is_not(None), Alert.done_at.is_(None), ~unsent)
            .values(done_at=now)
        )


def _compose(session: Session, mail_id: int, mailer: Mailer) -> EmailMessage:
    """The mail for one recipient: codes, names and a link; no text, number or pseudonym."""
    with session.begin():
        row = session.execute(
            select(
                AlertMail.email,
                Alert.id,
                Alert.reasons,
                Alert.created_at,
                Report.id,
                Report.code,
                Report.country,
                Partner.name,
                Factory.code,
                Factory.name,
            )
            .join(Alert, Alert.id == AlertMail.alert_id)
            .join(Report, Report.id == Alert.report_id)
            .outerjoin(Partner, Partner.id == Report.partner_id)
            .outerjoin(Factory, Factory.id == Report.factory_id)
            .where(AlertMail.id == mail_id)
        ).one()
        email, alert_id, reasons, created, report_id, code, country = row[:7]
        partner, factory_code, factory_name = row[7:]
        categories = list(
            session.scalars(
                select(ReportCategory.code)
                .where(ReportCategory.report_id == report_id)
                .order_by(ReportCategory.score.desc(), ReportCategory.id)
            )
        )
    unknown = _translated(UNKNOWN)
    values = {
        "code": code,
        "partner": partner or unknown,
        "factory": f"{factory_code} {factory_name}" if factory_code else _translated(NO_FACTORY),
        "categories": ", ".join(categories) or unknown,
        "reasons": ", ".join(reasons or []) or unknown,
        "country": country or unknown,
        "time": created.strftime("%Y-%m-%d %H:%M UTC"),
        "link": mailer.link(f"/admin/reports/{report_id}"),
    }
    message = mailer.message(
        email,
        _translated(SUBJECT) % values,
        _translated(BODY) % values,
        key=f"alert-{alert_id}-{_digest(email)}",
    )
    # For mail filters, and the development mailer's log line: the code, as in the subject.
    message[REPORT_HEADER] = code
    return message


def _digest(email: str) -> str:
    # The Message-ID names the alert and the recipient without spelling out the address.
    return hashlib.sha256(email.encode()).hexdigest()[:16]


class Escalator:
    """Sends alerts from one background thread per process, woken right after a commit.

    Mailing never happens on the request's thread: Twilio waits for the webhook's answer, and
    an SMTP server that hangs must not make it wait.
    """

    def __init__(self, sessions: sessionmaker[Session], mailer: Mailer | None) -> None:
        self.sessions = sessions
        self.mailer = mailer
        self._wake = threading.Condition()
        self._requested = 0
        self._finished = 0
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._warned = False

    def kick(self) -> None:
        """Send what is due now, in the background."""
        if self.mailer is None:
            if not self._warned:
                self._warned = True
                log.warning("urgent alerts are recorded, not mailed: INTAKE_SMTP_URL is not set")
            return
        with self._wake:
            self._requested += 1
            alive = self._thread is not None and self._thread.is_alive()
            # A forked worker inherits the object but not the thread.
            if not alive or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="intake-alerts", daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def sweep(self, session: Session) -> int:
        """One retry round for `intake worker`: mail what is due now; returns mails sent."""
        if self.mailer is None:
            return 0
        return send_pending_alerts(session, self.mailer, utcnow())

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every kick so far has been handled (tests; a clean shutdown)."""
        with self._wake:
            target = self._requested
            return self._wake.wait_for(lambda: self._finished >= target, timeout)

    def _run(self) -> None:
        mailer = self.mailer
        if mailer is None:
            return
        while True:
            with self._wake:
                if not self._wake.wait_for(lambda: self._requested > self._finished, IDLE_SECONDS):
                    self._thread = None
                    return
                target = self._requested
            try:
                with self.sessions() as session:
                    send_pending_alerts(session, mailer, utcnow())
            except Exception as error:
                # The sweep of `intake worker` retries whatever this run left unsent.
                log.error("alert sending failed: %s", type(error).__name__)
            with self._wake:
                self._finished = max(self._finished, target)
                self._wake.notify_all()
