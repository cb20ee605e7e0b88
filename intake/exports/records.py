"""The record-level table: one row per report, with nothing that finds the worker again."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from intake.exports.aggregate import FactoryMonth
from intake.exports.query import (
    Month,
    Scope,
    quasi_identifier_counts,
    remedy_status,
    report_texts,
    stream_reports,
)
from intake.pipeline.redact import redact

COLUMNS = (
    "month",
    "country",
    "factory_code",
    "factory_name",
    "categories",
    "urgent",
    "status",
    "case_status",
    "remedy_status",
    "language",
    "reporter",
)
TEXT_COLUMN = "text"
NOT_SHOWN = "not shown"
# Hex digits as letters: a reporter key never looks like a number to the leak scan.
_LETTERS = str.maketrans("0123456789abcdef", "ghjkmnpqrstvwxyz")


@dataclass
class RecordCounts:
    """What the record-level table left out or generalised, and why."""

    rows: int = 0
    generalised_language: int = 0
    left_out_unique: int = 0
    left_out_hidden_count: int = 0
    urgency_not_shown: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Rekeyer:
    """Reporter keys for one export: a fresh random key, never stored, so rows link only here."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def __call__(self, reporter_id: int) -> str:
        digest = hmac.new(self.key, str(reporter_id).encode(), hashlib.sha256).hexdigest()
        return digest[:16].translate(_LETTERS)


def records(
    session: Session,
    where: Scope,
    month: Month,
    rows: list[FactoryMonth],
    k: int,
    today: date,
    *,
    with_text: bool,
    counts: RecordCounts,
    progress: Any = None,
) -> Iterator[list[Any]]:
    """The month's rows, protected; `counts` says afterwards what was left out and why.

    A report is left out when any of its counts is hidden in the aggregates (its row would
    give that count away), and when its factory + language + categories are shared by fewer
    than k reports even after the language is generalised.
    """
    protected = {row.factory_id: row for row in rows}
    groups = quasi_identifier_counts(session, where, month)
    generalised: dict[tuple[int | None, tuple[str, ...]], int] = {}
    for (factory_id, _language, codes), count in groups.items():
        if count < k:
            key = (factory_id, codes)
            generalised[key] = generalised.get(key, 0) + count
    rekey = Rekeyer()
    order_key = (secrets.randbelow(2**30) + 1, secrets.randbelow(2**30))
    remedies: dict[int, str] = {}
    # What each factory + categories combination may show; a few thousand of them at most.
    decided: dict[tuple[int | None, tuple[str, ...]], tuple[bool, bool]] = {}
    for batch in stream_reports(session, where, month, order_key):
        if progress is not None:
            progress(len(batch))
        new_cases = sorted({r.case_id for r in batch if r.case_id and r.case_id not in remedies})
        remedies.update(remedy_status(session, new_cases, today))
        texts = report_texts(session, [r.report_id for r in batch]) if with_text else {}
        for report in batch:
            info = where.factories.get(report.factory_id)
            combination = (report.factory_id, report.codes)
            if combination not in decided:
                factory = protected.get(report.factory_id)
                decided[combination] = (
                    factory is None or info is None or factory.hides("reports", report.codes),
                    factory is None or factory.hides("urgent_reports", report.codes),
                )
            left_out, urgency_hidden = decided[combination]
            if left_out or info is None:
                counts.left_out_hidden_count += 1
                continue
            language = report.language
            if groups.get((report.factory_id, language, report.codes), 0) < k:
                if generalised.get((report.factory_id, report.codes), 0) < k:
                    counts.left_out_unique += 1
                    continue
                counts.generalised_language += 1
                language = NOT_SHOWN
            if urgency_hidden:
                urgent = NOT_SHOWN
                counts.urgency_not_shown += 1
            else:
                urgent = "yes" if report.urgent else "no"
            counts.rows += 1
            row: list[Any] = [
                month.label,
                info.country or report.country,
                info.code,
                info.name,
                "; ".join(report.codes),
                urgent,
                report.status,
                report.case_status,
                remedies.get(report.case_id, "none") if report.case_id else "none",
                language,
                rekey(report.reporter_id),
            ]
            if with_text:
                # A second pass over text that was redacted when it arrived: the rules may
                # have learnt since, and an export leaves intake for good.
                regions = [info.country] if info.country else []
                row.append(redact(texts.get(report.report_id, ""), regions=regions).text)
            yield row
