"""Monthly anonymised exports and buyer reports: one function behind the CLI and the admin page.

`export` reads one month (and eleven before it, for the report's charts), protects every
count (`suppress`, `aggregate`), optionally builds a record-level table (`records`), checks
every cell for personal data (`safety`) and only then moves the files to where they were
asked for, with a manifest, and records the export in the audit log. Personal data in the
counts or the reference data stops the export (someone must correct the source); in one
record's cell, that cell is withheld and the manifest says which.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from intake import audit
from intake.db import write_transaction
from intake.exports import aggregate, manifest, records, report
from intake.exports.query import ExportError, Month, count_reports, scope
from intake.exports.safety import LeakFound, LeakScanner, Withheld, known_names
from intake.exports.writers import FORMATS, open_table

__all__ = ["ExportError", "ExportParams", "ExportResult", "LeakFound", "Month", "export"]

HISTORY_MONTHS = 12
# (done, total) in steps: a month of counts is one step, a report of the record table one.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportParams:
    """What to export, for whom, and how."""

    month: Month
    out_dir: Path
    buyer: str | None = None
    format: str = "csv"
    records: bool = False
    text: bool = False
    report: bool = True
    pdf: bool = True
    k: int = 5
    user_id: int | None = None
    # Which front door: "cli" or "admin", for the audit log.
    via: str = "cli"
    today: date | None = None

    def check(self) -> None:
        """Refuse parameters that would give a wrong or unsafe export."""
        if self.format not in FORMATS:
            raise ExportError(f"format must be one of {', '.join(FORMATS)}")
        if self.k < 3:
            # With k = 2, "<2" itself says "1".
            raise ExportError("k must be at least 3")
        if self.text and not self.records:
            raise ExportError("text is part of the record-level table: ask for records too")


@dataclass
class ExportResult:
    """Where the export went and what it says about itself."""

    folder: Path
    files: dict[str, str]
    suppressed: dict[str, dict[str, int]]
    record_counts: dict[str, int] | None
    audit_event_id: int | None = None
    notes: list[str] = field(default_factory=list)
    # Cells of the record table taken out by the leak scan: table, row, column and kind.
    withheld_cells: list[dict[str, str | int]] = field(default_factory=list)


def export(
    session: Session, params: ExportParams, progress: Progress | None = None
) -> ExportResult:
    """Write one month's protected export; raise LeakFound (and write nothing) on personal data
    outside the record table, whose leaking cells are withheld instead."""
    params.check()
    today = params.today or datetime.now(UTC).date()
    months = params.month.last(HISTORY_MONTHS)
    where = scope(session, params.buyer, months)
    total = len(months) + (count_reports(session, where, params.month) if params.records else 0)
    done = 0

    def advance(steps: int) -> None:
        nonlocal done
        done += steps
        if progress is not None:
            progress(done, total)

    history: dict[Month, list[aggregate.FactoryMonth]] = {}
    for month in months:
        history.update(aggregate.factory_months(session, where, [month], params.k, today))
        advance(1)
    current = history[params.month]
    # What the export publishes of each month: the aggregate table, and all the report sees.
    published = {
        month: aggregate.publish(rows, where, params.k) for month, rows in history.items()
    }
    regions = sorted({info.country for info in where.factories.values() if info.country})
    scanner = LeakScanner(known_names(session), regions)

    # Everything small is scanned before a byte is written; the record table is scanned row
    # by row into a private folder, each cell that fails withheld before it is written.
    table = list(aggregate.table_rows(published[params.month]))
    for number, row in enumerate(table, start=1):
        scanner.check("aggregates", number, aggregate.COLUMNS, row)
    for number, info in enumerate(where.factories.values(), start=1):
        scanner.check("factories", number, ("name", "brands"), (info.name, " ".join(info.brands)))
    if where.buyer_name:
        scanner.check("parameters", 1, ("buyer",), (where.buyer_name,))

    params.out_dir.mkdir(parents=True, exist_ok=True)
    name = _folder_name(params, datetime.now(UTC))
    staging = params.out_dir / f".{name}.partial-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    try:
        written, counts, withheld = _write(
            session, params, where, current, published, table, scanner, staging, today, advance
        )
        withheld_cells = [cell.as_dict() for cell in withheld]
        suppressed = aggregate.suppressed_counts(current)
        parameters = {
            "month": params.month.label,
            "buyer": where.buyer_name,
            "format": params.format,
            "records": params.records,
            "text": params.text,
            "k": params.k,
            "months_charted": [month.label for month in months],
            "as_of": today.isoformat(),
        }
        _, hashes = manifest.write(
            staging,
            written,
            parameters=parameters,
            k=params.k,
            suppressed=suppressed,
            record_counts=counts.as_dict() if counts else None,
            withheld_cells=withheld_cells,
            factories=len(current),
        )
        folder = params.out_dir / name
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # End the read transaction (one snapshot for every table) before the audit write.
    session.rollback()
    with write_transaction(session):
        event = audit.record(
            session,
            "export",
            user_id=params.user_id,
            target=None,
            via=params.via,
            buyer_id=where.buyer_id,
            **{key: value for key, value in parameters.items() if key != "buyer"},
            suppressed=suppressed,
            record_counts=counts.as_dict() if counts else None,
            withheld_cells=withheld_cells,
            files=hashes,
        )
    notes = (
        []
        if not params.report or not params.pdf or "report.pdf" in hashes
        else ["PDF not written: WeasyPrint is not available on this machine"]
    )
    notes.extend(
        f"withheld: {cell.table} row {cell.row}, column {cell.column!r} looked like it held "
        f"a {cell.kind}"
        for cell in withheld
    )
    return ExportResult(
        folder=folder,
        files=hashes,
        suppressed=suppressed,
        record_counts=counts.as_dict() if counts else None,
        audit_event_id=event.id,
        notes=notes,
        withheld_cells=withheld_cells,
    )


def _write(
    session: Session,
    params: ExportParams,
    where: Any,
    current: list[aggregate.FactoryMonth],
    published: dict[Month, list[aggregate.PublishedRow]],
    table: list[list[Any]],
    scanner: LeakScanner,
    staging: Path,
    today: date,
    advance: Callable[[int], None],
) -> tuple[list[Path], records.RecordCounts | None, list[Withheld]]:
    writer = open_table(staging, "aggregates", params.format, aggregate.COLUMNS)
    try:
        for row in table:
            writer.write(row)
    finally:
        writer.close()
    written = [writer.path]
    counts = None
    withheld: list[Withheld] = []
    if params.records:
        counts = records.RecordCounts()
        columns = [*records.COLUMNS, *([records.TEXT_COLUMN] if params.text else [])]
        writer = open_table(staging, "records", params.format, columns)
        try:
            rows = records.records(
                session,
                where,
                params.month,
                current,
                params.k,
                today,
                with_text=params.text,
                counts=counts,
                progress=advance,
            )
            for number, row in enumerate(rows, start=1):
                # Worker text is never fully predictable: one hit must not cost the month.
                safe, found = scanner.withhold("records", number, columns, row)
                withheld.extend(found)
                writer.write(safe)
        finally:
            writer.close()
        written.append(writer.path)
    if params.report:
        written.extend(
            report.build(
                staging,
                published,
                params.month,
                params.k,
                buyer=where.buyer_name,
                pdf=params.pdf,
            )
        )
    return written, counts, withheld


def _folder_name(params: ExportParams, now: datetime) -> str:
    buyer = re.sub(r"[^a-z0-9]+", "-", (params.buyer or "all").casefold()).strip("-") or "buyer"
    return f"intake-export-{params.month.label}-{buyer}-{now:%Y%m%dT%H%M%SZ}"
