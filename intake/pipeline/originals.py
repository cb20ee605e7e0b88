"""The original, unredacted text of a message: encrypted, kept for a while, shown to few."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from intake.db import write_transaction
from intake.models import Message, utcnow
from intake.pipeline.identity import Keyring


class OriginalNotAllowed(PermissionError):
    """This role may only see redacted text."""


class OriginalGone(LookupError):
    """The original was purged or its retention period is over."""


def read_original(
    message: Message,
    keyring: Keyring,
    *,
    role: str,
    allowed_roles: Collection[str],
    now: datetime | None = None,
) -> str:
    """The message as the worker wrote it, for a role allowed to see it (the caller audits)."""
    if role not in allowed_roles:
        raise OriginalNotAllowed(f"role {role!r} sees redacted text only")
    expires = message.original_expires_at
    if message.original is None or (expires is not None and expires <= (now or utcnow())):
        raise OriginalGone(f"message {message.id}: original no longer kept")
    return keyring.decrypt_text(message.original)


def purge_expired_originals(session: Session, now: datetime | None = None) -> int:
    """Delete every original text whose retention period is over; returns how many."""
    with write_transaction(session):
        result = session.connection().execute(
            update(Message)
            .where(Message.original.is_not(None), Message.original_expires_at <= (now or utcnow()))
            .values(original=None)
        )
    return result.rowcount
