"""Which report a message belongs to: the one whose code it names, else the sender's open one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from intake.models import Report, ReportStatus, UTCDateTime


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
