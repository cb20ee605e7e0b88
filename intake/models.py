"""What intake stores: reporters known only by pseudonym, their messages, reports and routing."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
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


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as the readable value, checked by a named CHECK constraint, not a PostgreSQL type.
    return Enum(
        cls,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=16,
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

    reporter: Mapped[Reporter] = relationship(back_populates="reports")
    factory: Mapped[Factory | None] = relationship()
    partner: Mapped[Partner | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="report", order_by="Message.id"
    )
    categories: Mapped[list[ReportCategory]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportCategory.id"
    )

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
    __table_args__ = (UniqueConstraint("report_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32), index=True)
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
