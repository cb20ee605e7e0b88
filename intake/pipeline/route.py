"""Which monitoring partner a report goes to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from intake.models import Partner

_PARTNERS = select(Partner.id, Partner.countries).order_by(Partner.id)


def route(db: Connection, country: str | None) -> int | None:
    """The partner covering the hotline's country, if any (a factory's own partner comes first)."""
    if not country:
        return None
    for partner_id, countries in db.execute(_PARTNERS):
        if country in (countries or []):
            return int(partner_id)
    return None
