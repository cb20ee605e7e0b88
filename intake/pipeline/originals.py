"""The original, unredacted text of a message: encrypted, kept for a while, shown to few."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

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
