"""The published counts: one row per factory, category and month, small counts hidden.

Each factory's month is protected on its own (see `intake.exports.suppress`): what an export
shows of a factory does not depend on which buyer asked or which other factories it lists.
`publish` turns the protected lines into the rows an export shows (`PublishedRow`: labels
only, never a raw count); the aggregate table and the buyer report are both made from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from intake.exports.query import FactoryInfo, Month, Scope, month_counts
from intake.exports.suppress import TOTAL, Line, protect, ranges

# Every metric, in column order; the first three count people or their reports.
METRICS = (
    "reports",
    "urgent_reports",
    "cases_opened",
    "cases_closed",
    "substantiated_findings",
    "remedies_opened",
    "remedies_done",
    "remedies_overdue",
    "checkback_confirmations",
)
PROTECTED = ("reports", "urgent_reports", "checkback_confirmations")
ALL_CATEGORIES = "all categories"
HIDDEN = "hidden"
# A collapsed line's category cells: see the factory's "all categories" row.
SEE_TOTAL = "see total"

COLUMNS = ("month", "factory_code", "factory_name", "country", "category", *METRICS)


@dataclass(frozen=True)
class FactoryMonth:
    """One factory's protected counts for one month."""

    month: Month
    factory_id: int | None
    lines: dict[str, Line]

    @property
    def categories(self) -> list[str]:
        """The categories with any published count this month, sorted.

        A collapsed line's categories do not count: a row for them would say they are not zero.
        Nor does any category of a factory whose reports line is collapsed: a case or a remedy
        step in a category says that a worker reported it, which "<k" alone does not.
        """
        if self.lines["reports"].collapsed:
            return []
        return sorted(
            {
                key
                for line in self.lines.values()
                if not line.collapsed
                for key, value in line.cells.items()
                if value
            }
        )

    def label(self, metric: str, category: str, k: int) -> int | str:
        """What a reader sees in the cell: the count, `<k`, or `hidden`."""
        line = self.lines[metric]
        key = TOTAL if category == ALL_CATEGORIES else category
        if line.collapsed and key != TOTAL:
            return SEE_TOTAL
        if key not in line.hidden:
            return line.total if key == TOTAL else line.cells.get(key, 0)
        return f"<{k}" if key in line.primary else HIDDEN

    def hides(self, metric: str, keys: Iterable[str]) -> bool:
        """Whether any of these cells (or the factory's total) is hidden for `metric`."""
        hidden = self.lines[metric].hidden
        return TOTAL in hidden or any(key in hidden for key in keys)


def protect_month(
    cells: Mapping[str, Mapping[str, int]], totals: Mapping[str, int], k: int
) -> dict[str, Line]:
    """Protect one factory's month: every metric's line, urgent reports tied to reports."""
    lines = {
        metric: Line(
            cells=dict(cells.get(metric, {})),
            total=totals.get(metric, 0),
            primary=frozenset(),
            hidden=frozenset(),
        )
        for metric in METRICS
    }
    lines["checkback_confirmations"] = protect(
        cells.get("checkback_confirmations", {}), totals.get("checkback_confirmations", 0), k
    )
    reports_cells, reports_total = cells.get("reports", {}), totals.get("reports", 0)
    urgent_cells, urgent_total = cells.get("urgent_reports", {}), totals.get("urgent_reports", 0)
    reports = protect(reports_cells, reports_total, k)
    urgent = protect(urgent_cells, urgent_total, k)
    if reports.collapsed or urgent.collapsed or not (reports.hidden or urgent.hidden):
        # A collapsed line publishes no category cells to play against the other one's (and
        # urgent reports <= reports: a collapsed reports line means a small urgent total).
        lines["reports"], lines["urgent_reports"] = reports, urgent
        return lines
    # Urgent reports are some of the reports: each count bounds the other. Propagate the
    # bounds and protect both lines again until neither changes.
    while True:
        urgent_values = {**urgent_cells, TOTAL: urgent_total}
        reports_values = {**reports_cells, TOTAL: reports_total}
        urgent_ranges = ranges(
            urgent_cells,
            urgent_total,
            urgent.hidden,
            urgent.primary,
            k,
            upper=_upper(reports, reports_values, k),
        )
        lower = {key: float(value) for key, value in urgent_values.items()}
        lower.update({key: low for key, (low, _) in urgent_ranges.items()})
        new_reports = protect(reports_cells, reports_total, k, hidden=reports.hidden, lower=lower)
        # Where a report count is hidden, its urgent count is too (unless it is zero).
        tied = frozenset(key for key in new_reports.hidden if urgent_values.get(key, 0) > 0)
        if new_reports.collapsed:
            reports, urgent = new_reports, protect(urgent_cells, urgent_total, k, hidden=tied)
            break
        new_urgent = protect(
            urgent_cells,
            urgent_total,
            k,
            hidden=urgent.hidden | tied,
            upper=_upper(new_reports, reports_values, k),
        )
        if new_urgent.collapsed or (
            new_reports.hidden == reports.hidden and new_urgent.hidden == urgent.hidden
        ):
            reports, urgent = new_reports, new_urgent
            break
        reports, urgent = new_reports, new_urgent
    lines["reports"], lines["urgent_reports"] = reports, urgent
    return lines


def _upper(reports: Line, values: Mapping[str, int], k: int) -> dict[str, float]:
    bounds: dict[str, float] = {key: float(value) for key, value in values.items()}
    for key, (_, high) in ranges(
        reports.cells, reports.total, reports.hidden, reports.primary, k
    ).items():
        bounds[key] = high
    return bounds


def factory_months(
    session: Session, where: Scope, months: Iterable[Month], k: int, today: date
) -> dict[Month, list[FactoryMonth]]:
    """Every factory in scope with anything to count, per month, protected."""
    result: dict[Month, list[FactoryMonth]] = {}
    for month in months:
        counts = month_counts(session, where, month, today)
        grouped: dict[int | None, dict[str, dict[str, int]]] = {}
        totals: dict[int | None, dict[str, int]] = {}
        for metric, cells in counts.cells.items():
            for (factory_id, category), value in cells.items():
                grouped.setdefault(factory_id, {}).setdefault(metric, {})[category] = value
        for metric, per_factory in counts.totals.items():
            for factory_id, value in per_factory.items():
                totals.setdefault(factory_id, {})[metric] = value
        rows = []
        for factory_id in sorted(set(grouped) | set(totals), key=_factory_order(where)):
            if factory_id not in where.factories:
                continue
            lines = protect_month(grouped.get(factory_id, {}), totals.get(factory_id, {}), k)
            rows.append(FactoryMonth(month=month, factory_id=factory_id, lines=lines))
        result[month] = rows
    return result


def _factory_order(where: Scope) -> Any:
    def key(factory_id: int | None) -> str:
        info = where.factories.get(factory_id)
        # The unknown factory (code "") sorts last.
        return info.code if info is not None and info.code else "\uffff"

    return key


@dataclass(frozen=True)
class PublishedRow:
    """One row of the aggregate table as an export shows it: labels, never a raw count."""

    month: Month
    factory: FactoryInfo
    category: str
    # Per metric: the count, `<k`, `hidden` or `see total`.
    labels: Mapping[str, int | str]

    def shown(self, metric: str) -> int | None:
        """The published count, or None where the row shows a label instead."""
        value = self.labels[metric]
        return value if isinstance(value, int) else None

    def cells(self) -> list[Any]:
        """The row in COLUMNS order."""
        info = self.factory
        return [
            self.month.label,
            info.code,
            info.name,
            info.country,
            self.category,
            *(self.labels[metric] for metric in METRICS),
        ]


def publish(rows: Iterable[FactoryMonth], where: Scope, k: int) -> list[PublishedRow]:
    """The protected table: a row per category and one for all categories, per factory."""
    return [
        PublishedRow(
            month=row.month,
            factory=where.factories[row.factory_id],
            category=category,
            labels={metric: row.label(metric, category, k) for metric in METRICS},
        )
        for row in rows
        for category in [*row.categories, ALL_CATEGORIES]
    ]


def table_rows(rows: Iterable[PublishedRow]) -> Iterator[list[Any]]:
    """The aggregate table's rows, in COLUMNS order."""
    for row in rows:
        yield row.cells()


def shown_total(rows: Iterable[PublishedRow], metric: str, category: str) -> tuple[int, int]:
    """The sum of the shown counts across factories, and how many counts it leaves out.

    An exact total over hidden cells would give them away (and comparing two buyers' totals
    would give away whole factories' cells), so totals across factories add up only what
    is shown, and say how many hidden counts they leave out.
    """
    total, hidden = 0, 0
    for row in rows:
        if row.category != category:
            continue
        value = row.shown(metric)
        if value is None:
            hidden += 1
        else:
            total += value
    return total, hidden


def suppressed_counts(rows: Iterable[FactoryMonth]) -> dict[str, dict[str, int]]:
    """How many counts each protected metric hides, small ones and their complements apart."""
    result = {
        metric: {"small": 0, "complementary": 0, "collapsed_lines": 0} for metric in PROTECTED
    }
    for row in rows:
        for metric in PROTECTED:
            line = row.lines[metric]
            result[metric]["small"] += len(line.primary)
            if line.collapsed:
                result[metric]["collapsed_lines"] += 1
            else:
                result[metric]["complementary"] += len(line.hidden - line.primary)
    return result
