"""Which report a message belongs to: the one whose code it names, else the sender's open one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Report, Reporter, ReportStatus
from intake.pipeline.codes import codes_in


def find_report(
    session: Session, reporter: Reporter, text: str, *, now: datetime, window: timedelta
) -> Report | None:
    """The existing report this message continues, or None for a new report."""
    codes = codes_in(text)
    if codes:
        named = session.scalar(select(Report).where(Report.code.in_(codes)).limit(1))
        if named is not None:
            return named
    return session.scalar(
        select(Report)
        .where(
            Report.reporter_id == reporter.id,
            Report.status != ReportStatus.CLOSED,
            Report.last_message_at >= now - window,
        )
        .order_by(Report.last_message_at.desc(), Report.id.desc())
        .limit(1)
    )
