"""Key rotation: re-encrypt stored tokens under the newest key, while every key still reads.

Rotating a Fernet key: put the new key first in INTAKE_CONTACT_KEYS (or INTAKE_TEXT_KEYS) and
restart (the new key encrypts, the old ones still decrypt), run `intake keys rotate-contacts`
(or `rotate-texts`), then remove the old key. The pseudonym pepper is deliberately not
rotatable this way: see the README.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from intake.db import write_transaction
from intake.models import Contact, Message, Reporter, User
from intake.pipeline.identity import Keyring

BATCH = 500


def rotate_contacts(session: Session, keyring: Keyring) -> int:
    """Re-encrypt every reporter's and on-call contact's number; returns how many."""
    rotate = keyring.rotate_contact
    return _rotate(session, Reporter.id, Reporter.contact, rotate) + _rotate(
        session, Contact.id, Contact.phone, rotate
    )


def rotate_texts(session: Session, keyring: Keyring) -> int:
    """Re-encrypt every original message text and TOTP secret; returns how many."""
    rotate = keyring.rotate_text
    return _rotate(session, Message.id, Message.original, rotate) + _rotate(
        session, User.id, User.totp_secret, rotate
    )


def _rotate(
    session: Session,
    key: InstrumentedAttribute[int],
    column: InstrumentedAttribute[Any],
    rotate: Callable[[bytes], bytes],
) -> int:
    """Rotate one column in short batches, so the webhook never waits long for the lock."""
    table = key.class_
    done, after = 0, 0
    while True:
        with write_transaction(session):
            db = session.connection()
            rows = db.execute(
                select(key, column)
                .where(column.is_not(None), key > after)
                .order_by(key)
                .limit(BATCH)
            ).all()
            for row_id, token in rows:
                # Compare-and-set: a token purged or replaced meanwhile is left alone.
                done += db.execute(
                    update(table)
                    .where(key == row_id, column == token)
                    .values({column.key: rotate(bytes(token))})
                ).rowcount
        if len(rows) < BATCH:
            return done
        after = rows[-1][0]
