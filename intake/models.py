"""What intake stores: reporters known only by pseudonym, their messages, reports and routing."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.db import Base


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that comes back timezone-aware on SQLite too (which stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: intake stores UTC-aware timestamps only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    # Stored as the readable value, checked by a named CHECK constraint, not a PostgreSQL type.
    return Enum(
        cls,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=length,
        name=cls.__name__.lower(),
    )


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageKind(enum.StrEnum):
    """What a message did: part of a report, an opt-out keyword, or an automatic answer."""

    REPORT = "report"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    AUTO_REPLY = "auto_reply"


class ReportStatus(enum.StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    VERIFIED = "verified"
    CLOSED = "closed"


class Partner(Base):
    """A monitoring organisation that receives reports."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The ISO 3166 regions whose hotline numbers this partner covers by default.
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="partner", order_by="Contact.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Partner {self.id}>"


class Factory(Base):
    """A workplace reports are about."""

    __tablename__ = "factory"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    brands: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=sql_text("'[]'"))
    suppliers: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=sql_text("'[]'")
    )
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The analysis reloads its factory list when this moves (see pipeline.hotline).
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )

    partner: Mapped[Partner | None] = relationship()

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every alias, as the analysis matches them."""
        return (self.name, *(self.aliases or []))

    def __repr__(self) -> str:
        return f"<Factory {self.code}>"


class Reporter(Base):
    """A worker, known only by a keyed hash of their number; the number itself is encrypted."""

    __tablename__ = "reporter"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    # Fernet token of the E.164 number, only for replies; purged when no longer needed.
    contact: Mapped[bytes | None] = mapped_column(LargeBinary)
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(8))
    # Texting in after being told "your number is hidden, STOP to stop" is consent to replies.
    consent: Mapped[bool] = mapped_column(default=True)
    opted_out: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reports: Mapped[list[Report]] = relationship(back_populates="reporter")

    @property
    def can_receive(self) -> bool:
        """Whether anything may be sent to this reporter at all."""
        return self.contact is not None and not self.opted_out

    def __repr__(self) -> str:
        return f"<Reporter {self.id}>"


class Report(Base):
    """One worker's account of a problem, threaded from one or more messages."""

    __tablename__ = "report"
    # The triage queue's order (urgent, new first, newest) read as index ranges; merged
    # duplicates are never in the queue, so they stay out of these indexes.
    __table_args__ = (
        Index(
            "ix_report_queue",
            "urgent",
            "status",
            "created_at",
            "id",
            postgresql_where=sql_text("merged_into_id IS NULL"),
            sqlite_where=sql_text("merged_into_id IS NULL"),
        ),
        Index(
            "ix_report_queue_partner",
            "partner_id",
            "urgent",
            "status",
            "created_at",
            "id",
            postgresql_where=sql_text("merged_into_id IS NULL"),
            sqlite_where=sql_text("merged_into_id IS NULL"),
        ),
        # The duplicates listed on a report's page.
        Index(
            "ix_report_merged_into_id",
            "merged_into_id",
            postgresql_where=sql_text("merged_into_id IS NOT NULL"),
            sqlite_where=sql_text("merged_into_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporter.id"), index=True)
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), default=ReportStatus.NEW)
    urgent: Mapped[bool] = mapped_column(default=False, index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    # Region of the hotline number the worker texted: a coarse fact, not the worker's own.
    country: Mapped[str | None] = mapped_column(String(2))
    factory_id: Mapped[int | None] = mapped_column(ForeignKey("factory.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="SET NULL"), index=True
    )
    # A duplicate is closed and points at the report its messages were moved to.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    reporter: Mapped[Reporter] = relationship(back_populates="reports")
    factory: Mapped[Factory | None] = relationship()
    partner: Mapped[Partner | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="report", order_by="Message.id"
    )
    categories: Mapped[list[ReportCategory]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportCategory.id"
    )
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    case: Mapped[Case | None] = relationship(back_populates="reports")
    notes: Mapped[list[Note]] = relationship(back_populates="report", order_by="Note.id")

    @property
    def category_codes(self) -> list[str]:
        """The report's category codes, best first."""
        ordered = sorted(self.categories, key=lambda category: -category.score)
        return [category.code for category in ordered]

    def __repr__(self) -> str:
        return f"<Report {self.id}>"


class ReportCategory(Base):
    """A taxonomy code on a report, with the score and evidence that put it there."""

    __tablename__ = "report_category"
    __table_args__ = (
        UniqueConstraint("report_id", "code"),
        # The queue's category counts read a code's reports newest first from this index.
        Index("ix_report_category_code_report_id", "code", "report_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "analysis" until a monitor confirms or corrects it.
    source: Mapped[str] = mapped_column(String(16), default="analysis")

    report: Mapped[Report] = relationship(back_populates="categories")

    def __repr__(self) -> str:
        return f"<ReportCategory {self.report_id}:{self.code}>"


class Message(Base):
    """One SMS in or out. `text` is redacted; the original is only kept encrypted, for a time."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Twilio's MessageSid: unique, so a retried delivery can never be stored twice.
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind), default=MessageKind.REPORT)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporter.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    original: Mapped[bytes | None] = mapped_column(LargeBinary)
    original_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(8))
    language_source: Mapped[str | None] = mapped_column(String(16))
    from_country: Mapped[str | None] = mapped_column(String(2))
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    redactions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the analysis found in this message alone: categories, scores, evidence, urgency.
    analysis: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default=sql_text("'{}'")
    )
    # Outbound only: who wrote it, and Twilio's last delivery status for it.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report | None] = relationship(back_populates="messages")
    reporter: Mapped[Reporter] = relationship()

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.direction}>"


class CategoryLabel(Base):
    """A monitor's confirmed categories for a report: what `intake model train` learns from."""

    __tablename__ = "category_label"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("report.id", ondelete="SET NULL"), index=True
    )
    # The redacted text the monitor judged: labels outlive the report's messages.
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CategoryLabel {self.id}>"


class Role(enum.StrEnum):
    """What an account may do; a monitor sees only their own partner's work."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MONITOR = "monitor"


def new_session_token() -> str:
    """A random value that every session cookie of one account carries (see User)."""
    return secrets.token_urlsafe(32)


class User(Base):
    """A person who signs in to the admin pages."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    # Fernet token of the TOTP secret (text keys); None until enrolment is confirmed.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[Role] = mapped_column(_enum(Role))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session cookie of this account: a new one (sign-out, a new password or
    # second factor, switched off) ends all of them at their next request, server-side.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    partner: Mapped[Partner | None] = relationship()

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class LoginFailure(Base):
    """A failed sign-in from one client address: the throttle every host shares.

    The address is kept as a keyed hash only (a monitor's address is personal data), and rows
    older than the throttle's window are deleted as new ones come.
    """

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_client_at", "client", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<LoginFailure {self.id}>"


class Contact(Base):
    """A partner's on-call person: urgent reports are mailed (and texted) to them."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # Fernet token (contact keys): no phone number is ever stored in plain text.
    phone: Mapped[bytes | None] = mapped_column(LargeBinary)
    on_call: Mapped[bool] = mapped_column(default=True)

    partner: Mapped[Partner] = relationship(back_populates="contacts")

    def __repr__(self) -> str:
        return f"<Contact {self.id}>"


class Buyer(Base):
    """A public buyer (council, hospital, university) and what its contracts cover."""

    __tablename__ = "buyer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contracts: Mapped[list[Contract]] = relationship(
        back_populates="buyer", order_by="Contract.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Buyer {self.id}>"


contract_factory = Table(
    "contract_factory",
    Base.metadata,
    Column("contract_id", ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True),
    Column("factory_id", ForeignKey("factory.id", ondelete="CASCADE"), primary_key=True),
)


class Contract(Base):
    """A buyer's contract: the brands it buys and the factories that make them."""

    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyer.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(100))
    brands: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    buyer: Mapped[Buyer] = relationship(back_populates="contracts")
    factories: Mapped[list[Factory]] = relationship(secondary=contract_factory)

    def __repr__(self) -> str:
        return f"<Contract {self.id}>"


class RoutingRule(Base):
    """Sends matching reports to a partner; the most specific active rule wins, then priority."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    # Each condition is optional; a rule matches when every condition it sets matches.
    hotline: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    factory_id: Mapped[int | None] = mapped_column(ForeignKey("factory.id", ondelete="CASCADE"))
    language: Mapped[str | None] = mapped_column(String(8))
    category: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship()
    factory: Mapped[Factory | None] = relationship()

    def __repr__(self) -> str:
        return f"<RoutingRule {self.id}>"


class Note(Base):
    """A monitor's internal note on a report: never sent to the worker."""

    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Note {self.id}>"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    VERIFIED = "verified"
    REMEDIATION = "remediation"
    CLOSED = "closed"


class Case(Base):
    """The reports about one problem at one factory, worked on together."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    factory_id: Mapped[int | None] = mapped_column(ForeignKey("factory.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    factory: Mapped[Factory | None] = relationship()
    partner: Mapped[Partner | None] = relationship()
    reports: Mapped[list[Report]] = relationship(back_populates="case", order_by="Report.id")
    verifications: Mapped[list[Verification]] = relationship(
        back_populates="case", order_by="Verification.id", cascade="all, delete-orphan"
    )
    remedies: Mapped[list[RemedyItem]] = relationship(
        back_populates="case", order_by="RemedyItem.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Case {self.id}>"


class VerificationMethod(enum.StrEnum):
    WORKER_INTERVIEWS = "interviews"
    DOCUMENT_REVIEW = "documents"
    SITE_VISIT = "site_visit"
    MANAGEMENT_INTERVIEW = "management"
    OTHER = "other"


class Finding(enum.StrEnum):
    SUBSTANTIATED = "substantiated"
    PARTLY = "partly"
    NOT_SUBSTANTIATED = "not_substantiated"
    INCONCLUSIVE = "inconclusive"


class Verification(Base):
    """How a case was checked and what was found."""

    __tablename__ = "verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    method: Mapped[VerificationMethod] = mapped_column(_enum(VerificationMethod))
    verified_on: Mapped[date] = mapped_column(Date)
    finding: Mapped[Finding] = mapped_column(_enum(Finding, 24))
    notes: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="verifications")

    def __repr__(self) -> str:
        return f"<Verification {self.id}>"


class Responsible(enum.StrEnum):
    FACTORY = "factory"
    SUPPLIER = "supplier"
    BRAND = "brand"
    RESELLER = "reseller"
    BUYER = "buyer"


class RemedyStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    # Workers said it did not happen: a monitor must look again.
    REOPENED = "reopened"


class RemedyItem(Base):
    """One agreed step of a remedy: what, by whom, by when, and the evidence it happened."""

    __tablename__ = "remedy_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(Text)
    responsible: Mapped[Responsible] = mapped_column(_enum(Responsible))
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[RemedyStatus] = mapped_column(
        _enum(RemedyStatus), default=RemedyStatus.PLANNED
    )
    evidence: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    case: Mapped[Case] = relationship(back_populates="remedies")

    def is_overdue(self, today: date) -> bool:
        """Past its due date and not done."""
        return (
            self.due_on is not None and self.due_on < today and self.status != RemedyStatus.DONE
        )

    def __repr__(self) -> str:
        return f"<RemedyItem {self.id}>"


class OutboxStatus(enum.StrEnum):
    QUEUED = "queued"
    # Claimed by a worker; if the worker dies here we cannot know whether Twilio took it.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboxKind(enum.StrEnum):
    REPLY = "reply"
    SURVEY = "survey"
    ALERT = "alert"


class Outbox(Base):
    """An SMS to send, written in the same transaction as the action that causes it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(_enum(OutboxKind))
    # Exactly one recipient: a reporter (by pseudonymous id) or a partner's on-call contact.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporter.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus), default=OutboxStatus.QUEUED, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The thread entry written when it was sent.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Outbox {self.id} {self.status}>"


class SurveyAnswer(enum.StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class CheckBack(Base):
    """A worker asked whether a case's remedy really happened, and their answer."""

    __tablename__ = "check_back"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporter.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer: Mapped[SurveyAnswer | None] = mapped_column(_enum(SurveyAnswer))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))

    def __repr__(self) -> str:
        return f"<CheckBack {self.id}>"


class AuditEvent(Base):
    """One thing a person did. Append-only: the database refuses UPDATE and DELETE."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Kept as plain ids, not foreign keys, so the log outlives what it names.
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    # Ids, codes and field names only: never message text or contact data.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"


class AlertMailStatus(enum.StrEnum):
    PENDING = "pending"
    # Claimed by one sender: nobody else mails this address for this alert meanwhile.
    SENDING = "sending"
    SENT = "sent"
    # Gave up after many attempts: a person must look (the log says which alert).
    FAILED = "failed"


class Alert(Base):
    """A report that turned urgent: its partner's on-call contacts must be mailed at once.

    Written in the same transaction as the message that made the report urgent, so that an
    SMTP outage (or a crash right after Twilio's 200) can delay the mail but never lose it.
    """

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    # Category codes of the message that made the report urgent: never its words.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When its recipients were chosen (the on-call contacts at that moment).
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When every recipient had their mail (or given up on); unsent alerts have none.
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    report: Mapped[Report] = relationship()
    mails: Mapped[list[AlertMail]] = relationship(
        back_populates="alert", order_by="AlertMail.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Alert {self.id}>"


class AlertMail(Base):
    """One alert's mail to one address: unique, so nobody is mailed the same alert twice."""

    __tablename__ = "alert_mail"
    __table_args__ = (UniqueConstraint("alert_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[AlertMailStatus] = mapped_column(
        _enum(AlertMailStatus), default=AlertMailStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An exception's class name or the SMTP reply code: never an address or a message.
    last_error: Mapped[str | None] = mapped_column(String(300))

    alert: Mapped[Alert] = relationship(back_populates="mails")

    def __repr__(self) -> str:
        return f"<AlertMail {self.id} {self.status}>"
