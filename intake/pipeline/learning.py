"""Monitors' confirmed categories, read from the database as training examples."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.db import read_existing
from intake.models import CategoryLabel
from intake.pipeline.model import Example


def labelled_examples(url: str) -> list[Example]:
    """Every label in the database at `url`; none where there is no database yet."""
    return read_existing(url, _examples, [])


def _examples(session: Session) -> list[Example]:
    return [
        Example(label.text, label.language or "", tuple(label.categories))
        for label in session.scalars(select(CategoryLabel).order_by(CategoryLabel.id))
        if label.text.strip()
    ]
