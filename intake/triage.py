"""Monitors' decisions on a report's categories, kept as labels the classifier learns from."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import CategoryLabel, Direction, Message, Report, ReportCategory
from intake.pipeline.types import CATEGORY_CODES


class UnknownCategory(ValueError):
    """A code that is not in the taxonomy."""


def confirm_categories(session: Session, report: Report, codes: Iterable[str]) -> CategoryLabel:
    """Set the report's categories to a monitor's choice and store it as a training label.

    The caller owns the transaction (the admin view commits it with its audit entry).
    """
    chosen = list(dict.fromkeys(codes))
    unknown = [code for code in chosen if code not in CATEGORY_CODES]
    if unknown:
        raise UnknownCategory(f"not taxonomy codes: {', '.join(unknown)}")
    existing = {category.code: category for category in report.categories}
    for code, category in existing.items():
        if code not in chosen:
            report.categories.remove(category)
    for code in chosen:
        kept = existing.get(code)
        if kept is None:
            report.categories.append(
                ReportCategory(code=code, score=1.0, evidence=["monitor"], source="monitor")
            )
        else:
            kept.score, kept.source = 1.0, "monitor"
    label = CategoryLabel(
        report_id=report.id,
        text=report_text(session, report),
        language=report.language,
        categories=chosen,
    )
    session.add(label)
    return label


def report_text(session: Session, report: Report) -> str:
    """The report's inbound messages, redacted, in order: what a monitor reads and judges."""
    texts = session.scalars(
        select(Message.text)
        .where(Message.report_id == report.id, Message.direction == Direction.INBOUND)
        .order_by(Message.id)
    )
    return "\n".join(text for text in texts if text)
