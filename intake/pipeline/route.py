"""Which monitoring partner a report goes to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Partner, Report


def route(session: Session, report: Report) -> Partner | None:
    """The factory's partner, else the partner covering the hotline's country, else nobody yet."""
    if report.factory is not None and report.factory.partner is not None:
        return report.factory.partner
    if report.country:
        for partner in session.scalars(select(Partner).order_by(Partner.id)):
            if report.country in (partner.countries or []):
                return partner
    return None
