"""Which report a message belongs to: the one whose code it names, else the sender's open one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from intake.models import Direction, Message, Report, ReportStatus, UTCDateTime
from intake.pipeline.redact import EMAIL, ID, NAME, PHONE, redact_thread

# How many of a report's latest inbound messages are read together when one joins: a number
# is split over two or three SMS, not ten, and the pass runs inside the write transaction.
THREAD_PASS_MESSAGES = 4


@dataclass
class ReportRow:
    """The few columns of a report that receiving a message reads and updates."""

    id: int
    code: str
    country: str | None
    urgent: bool = False
    language: str | None = None
    factory_id: int | None = None
    partner_id: int | None = None


COLUMNS = (
    Report.id,
    Report.code,
    Report.country,
    Report.urgent,
    Report.language,
    Report.factory_id,
    Report.partner_id,
)


_NAMED = (
    select(*COLUMNS)
    .where(
        Report.code.in_(bindparam("codes", expanding=True)),
        Report.status != ReportStatus.CLOSED,
    )
    .order_by(Report.id.desc())
    .limit(1)
)
_RECENT = (
    select(*COLUMNS)
    .where(
        Report.reporter_id == bindparam("reporter_id"),
        Report.status != ReportStatus.CLOSED,
        Report.last_message_at >= bindparam("since", type_=UTCDateTime()),
    )
    .order_by(Report.last_message_at.desc(), Report.id.desc())
    .limit(1)
)


def find_report(
    db: Connection,
    reporter_id: int,
    codes: Sequence[str],
    *,
    now: datetime,
    window: timedelta,
) -> ReportRow | None:
    """The existing report this message continues, or None for a new report."""
    if codes:
        named = db.execute(_NAMED, {"codes": list(codes)}).first()
        if named is not None:
            return ReportRow(*named)
    recent = db.execute(_RECENT, {"reporter_id": reporter_id, "since": now - window}).first()
    return ReportRow(*recent) if recent is not None else None


_LATEST = (
    select(Message.id, Message.text, Message.redactions)
    .where(Message.report_id == bindparam("report_id"), Message.direction == Direction.INBOUND)
    .order_by(Message.id.desc())
    .limit(THREAD_PASS_MESSAGES)
)


def redact_joined(db: Connection, report_id: int, regions: Sequence[str]) -> int:
    """Hide what the report's latest texts reveal only together; returns how many changed."""
    rows = list(reversed(db.execute(_LATEST, {"report_id": report_id}).all()))
    if len(rows) < 2:
        return 0
    texts = [text or "" for _, text, _ in rows]
    changed = 0
    for (message_id, old, counts), new in zip(
        rows, redact_thread(texts, regions=regions), strict=True
    ):
        if new == (old or ""):
            continue
        counts = dict(counts or {})
        for kind in (PHONE, ID, EMAIL, NAME):
            added = new.count(f"[{kind}]") - (old or "").count(f"[{kind}]")
            if added > 0:
                counts[kind] = counts.get(kind, 0) + added
        db.execute(
            update(Message).where(Message.id == message_id).values(text=new, redactions=counts)
        )
        changed += 1
    return changed
