"""The audit log: who did what to which record. Append-only; never message text or contacts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from intake.db import Base
from intake.models import AuditEvent


def record(
    session: Session,
    action: str,
    *,
    user_id: int | None,
    target: Base | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add one audit event to the caller's transaction (it commits with the change it records)."""
    event = AuditEvent(
        user_id=user_id,
        action=action,
        target_type=target.__tablename__ if target is not None else None,
        target_id=getattr(target, "id", None),
        detail=detail,
    )
    session.add(event)
    return event
