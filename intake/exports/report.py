"""The buyer report: an HTML page (and a PDF) with charts a procurement officer can read.

The report is made from the protected table alone (`aggregate.PublishedRow`, the rows an
export publishes), never from raw counts: every figure it shows, in a table, a sentence or
a chart, a reader could work out from the aggregate tables of the months it covers.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from intake.exports.aggregate import ALL_CATEGORIES, SEE_TOTAL, PublishedRow, shown_total
from intake.exports.query import FactoryInfo, Month

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "exports"
PERSISTENT_MONTHS = 3
# A reader acts on the worst few; the full list is in the aggregate table.
PERSISTENT_LISTED = 25


def _(message: str) -> str:
    """Mark a string for extraction; `render` translates it."""
    return message


@dataclass(frozen=True)
class Chart:
    """One PNG chart and what it shows, in words, for readers who cannot see it."""

    file: str
    title: str
    description: str


# The metrics of the factories table and of the cases chart, in their order.
FACTORY_METRICS = (
    "reports",
    "urgent_reports",
    "cases_opened",
    "remedies_done",
    "remedies_overdue",
    "checkback_confirmations",
)
CASE_METRICS = ("cases_opened", "cases_closed", "remedies_opened", "remedies_done")
TOTAL_METRICS = ("reports", "urgent_reports", "cases_opened", "remedies_overdue")

History = Mapping[Month, Sequence[PublishedRow]]


@dataclass(frozen=True)
class Content:
    """Every figure the report shows, in its tables, its text and its charts."""

    months: list[Month]
    # Per metric: what the shown counts add up to, and how many counts that leaves out.
    totals: dict[str, tuple[int, int]]
    factories: list[dict[str, Any]]
    persistent: list[dict[str, Any]]
    more: int
    # Chart series: one value per month, oldest first.
    by_category: dict[str, list[int]]
    cases: dict[str, list[int]]
    overdue: list[int]


def summarise(history: History, month: Month) -> Content:
    """The report's figures, from the protected table alone (the rows an export publishes)."""
    months = sorted(history)
    current = history[month]
    persistent = _persistent(months, history)
    return Content(
        months=months,
        totals={
            metric: shown_total(current, metric, ALL_CATEGORIES) for metric in TOTAL_METRICS
        },
        factories=[
            {
                "code": row.factory.code,
                "name": row.factory.name,
                "country": row.factory.country,
                "brands": ", ".join(row.factory.brands),
                "values": {metric: row.labels[metric] for metric in FACTORY_METRICS},
            }
            for row in current
            if row.category == ALL_CATEGORIES
        ],
        persistent=persistent[:PERSISTENT_LISTED],
        more=max(0, len(persistent) - PERSISTENT_LISTED),
        by_category={
            category: [shown_total(history[m], "reports", category)[0] for m in months]
            for category in _top_categories(history)
        },
        cases={
            metric: [shown_total(history[m], metric, ALL_CATEGORIES)[0] for m in months]
            for metric in CASE_METRICS
        },
        overdue=[shown_total(history[m], "remedies_overdue", ALL_CATEGORIES)[0] for m in months],
    )


def build(
    folder: Path,
    history: History,
    month: Month,
    k: int,
    *,
    buyer: str | None,
    pdf: bool,
    translations: NullTranslations | None = None,
) -> list[Path]:
    """Write report.html, its charts (PNG) and report.pdf into `folder`; return their paths.

    `history` is the protected table of each month charted: nothing else reaches the report.
    """
    gettext = (translations or NullTranslations()).gettext
    content = summarise(history, month)
    charts = [
        _chart_categories(folder, content, gettext),
        _chart_cases(folder, content, gettext),
        _chart_overdue(folder, content, gettext),
        _chart_persistent(folder, content, gettext),
    ]
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations or NullTranslations(), newstyle=True
    )
    html = environment.get_template("report.html").render(
        buyer=buyer,
        month=month.label,
        first=content.months[0].label,
        k=k,
        charts=charts,
        factories=content.factories,
        persistent=content.persistent,
        more=content.more,
        totals=content.totals,
    )
    page = folder / "report.html"
    page.write_text(html, encoding="utf-8")
    written = [page, *(folder / chart.file for chart in charts)]
    if pdf:
        written.extend(_pdf(page))
    return written


def _pdf(page: Path) -> list[Path]:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        # WeasyPrint needs Pango from the system; without it the HTML report still stands.
        log.warning("PDF report skipped: WeasyPrint unavailable (%s)", type(error).__name__)
        return []
    target = page.with_suffix(".pdf")
    HTML(filename=str(page), base_url=str(page.parent)).write_pdf(str(target))
    return [target]


def _top_categories(history: History, limit: int = 7) -> list[str]:
    totals: Counter[str] = Counter()
    for rows in history.values():
        for row in rows:
            value = row.shown("reports")
            if row.category != ALL_CATEGORIES and value is not None:
                totals[row.category] += value
    return [category for category, _count in totals.most_common(limit)]


def _figure() -> Any:
    # The object-oriented API renders with Agg and keeps no global state between exports.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def _save(figure: Any, folder: Path, name: str) -> str:
    figure.savefig(folder / name, format="png", metadata={"Software": None})
    return name


def _chart_categories(folder: Path, content: Content, gettext: Callable[[str], str]) -> Chart:
    figure, axes = _figure()
    labels = [month.label for month in content.months]
    bottom = [0] * len(labels)
    for category, heights in content.by_category.items():
        axes.bar(labels, heights, bottom=bottom, label=category)
        bottom = [a + b for a, b in zip(bottom, heights, strict=True)]
    axes.set_ylabel(gettext(_("reports")))
    axes.tick_params(axis="x", labelrotation=45)
    if content.by_category:
        axes.legend(fontsize="small")
    return Chart(
        file=_save(figure, folder, "reports-by-category.png"),
        title=gettext(_("What workers reported, month by month")),
        description=gettext(
            _("Reports per problem category over the last 12 months. Small counts are left out.")
        ),
    )


def _chart_cases(folder: Path, content: Content, gettext: Callable[[str], str]) -> Chart:
    figure, axes = _figure()
    positions = list(range(len(content.months)))
    names = {
        "cases_opened": _("cases opened"),
        "cases_closed": _("cases closed"),
        "remedies_opened": _("remedy steps agreed"),
        "remedies_done": _("remedy steps done"),
    }
    width = 0.2
    for index, (metric, heights) in enumerate(content.cases.items()):
        axes.bar(
            [p + (index - 1.5) * width for p in positions],
            heights,
            width,
            label=gettext(names[metric]),
        )
    axes.set_xticks(positions, [month.label for month in content.months], rotation=45)
    axes.legend(fontsize="small")
    return Chart(
        file=_save(figure, folder, "cases-and-remedies.png"),
        title=gettext(_("Cases and remedies, opened and closed")),
        description=gettext(
            _("How many cases monitors opened and closed, and remedy steps agreed and done.")
        ),
    )


def _chart_overdue(folder: Path, content: Content, gettext: Callable[[str], str]) -> Chart:
    figure, axes = _figure()
    axes.plot(
        [month.label for month in content.months], content.overdue, marker="o", color="firebrick"
    )
    axes.set_ylabel(gettext(_("remedy steps overdue")))
    axes.set_ylim(bottom=0)
    axes.tick_params(axis="x", labelrotation=45)
    return Chart(
        file=_save(figure, folder, "overdue.png"),
        title=gettext(_("Remedy steps past their deadline")),
        description=gettext(
            _("Agreed remedy steps not done by their due date, at the end of each month.")
        ),
    )


def _persistent(months: list[Month], history: History) -> list[dict[str, Any]]:
    """Factory and category pairs with reports in at least PERSISTENT_MONTHS of the months.

    A month counts where the published table has the pair's row with reports not zero:
    `<k` and `hidden` say "some reports" there, `see total` says nothing of the category.
    """
    seen: Counter[tuple[FactoryInfo, str]] = Counter()
    for month in months:
        for row in history[month]:
            if row.category != ALL_CATEGORIES and row.labels["reports"] not in (0, SEE_TOTAL):
                seen[(row.factory, row.category)] += 1
    return [
        {
            "factory": factory.name,
            "code": factory.code,
            "category": category,
            "months": count,
        }
        for (factory, category), count in seen.most_common()
        if count >= PERSISTENT_MONTHS
    ]


def _chart_persistent(folder: Path, content: Content, gettext: Callable[[str], str]) -> Chart:
    figure, axes = _figure()
    items = content.persistent[:15]
    labels = [f"{item['code'] or item['factory']}: {item['category']}" for item in items]
    axes.barh(labels[::-1], [item["months"] for item in items][::-1], color="darkorange")
    axes.set_xlim(0, len(content.months))
    axes.set_xlabel(gettext(_("months with reports (of the last 12)")))
    return Chart(
        file=_save(figure, folder, "persistent-issues.png"),
        title=gettext(_("Problems that keep coming back")),
        description=gettext(
            _(
                "Factories and problems that workers reported in three or more "
                "of the last 12 months."
            )
        ),
    )
