"""The buyer report: an HTML page (and a PDF) with charts a procurement officer can read."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from intake.exports.aggregate import ALL_CATEGORIES, FactoryMonth, shown_total
from intake.exports.query import Month, Scope

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


def build(
    folder: Path,
    where: Scope,
    month: Month,
    history: dict[Month, list[FactoryMonth]],
    k: int,
    *,
    pdf: bool,
    translations: NullTranslations | None = None,
) -> list[Path]:
    """Write report.html, its charts (PNG) and report.pdf into `folder`; return their paths."""
    gettext = (translations or NullTranslations()).gettext
    months = sorted(history)
    current = history[month]
    categories = _top_categories(history)
    charts = [
        _chart_categories(folder, months, history, categories, gettext),
        _chart_cases(folder, months, history, gettext),
        _chart_overdue(folder, months, history, gettext),
        _chart_persistent(folder, where, months, history, gettext),
    ]
    persistent = _persistent(where, months, history)
    more = max(0, len(persistent) - PERSISTENT_LISTED)
    persistent = persistent[:PERSISTENT_LISTED]
    factories = [
        {
            "code": where.factories[row.factory_id].code,
            "name": where.factories[row.factory_id].name,
            "country": where.factories[row.factory_id].country,
            "brands": ", ".join(where.factories[row.factory_id].brands),
            "values": {
                metric: row.label(metric, ALL_CATEGORIES, k)
                for metric in (
                    "reports",
                    "urgent_reports",
                    "cases_opened",
                    "remedies_done",
                    "remedies_overdue",
                    "checkback_confirmations",
                )
            },
        }
        for row in current
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
        buyer=where.buyer_name,
        month=month.label,
        first=months[0].label,
        k=k,
        charts=charts,
        factories=factories,
        persistent=persistent,
        more=more,
        totals={
            metric: shown_total(current, metric, ALL_CATEGORIES)
            for metric in ("reports", "urgent_reports", "cases_opened", "remedies_overdue")
        },
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


def _top_categories(history: dict[Month, list[FactoryMonth]], limit: int = 7) -> list[str]:
    totals: Counter[str] = Counter()
    for rows in history.values():
        for row in rows:
            for category, value in row.lines["reports"].cells.items():
                if row.value("reports", category) is not None:
                    totals[category] += value
    return [category for category, _count in totals.most_common(limit)]


def _figure() -> Any:
    # The object-oriented API renders with Agg and keeps no global state between exports.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def _save(figure: Any, folder: Path, name: str) -> str:
    figure.savefig(folder / name, format="png", metadata={"Software": None})
    return name


def _chart_categories(
    folder: Path,
    months: list[Month],
    history: dict[Month, list[FactoryMonth]],
    categories: list[str],
    gettext: Callable[[str], str],
) -> Chart:
    figure, axes = _figure()
    labels = [month.label for month in months]
    bottom = [0] * len(months)
    for category in categories:
        heights = [shown_total(history[month], "reports", category)[0] for month in months]
        axes.bar(labels, heights, bottom=bottom, label=category)
        bottom = [a + b for a, b in zip(bottom, heights, strict=True)]
    axes.set_ylabel(gettext(_("reports")))
    axes.tick_params(axis="x", labelrotation=45)
    if categories:
        axes.legend(fontsize="small")
    return Chart(
        file=_save(figure, folder, "reports-by-category.png"),
        title=gettext(_("What workers reported, month by month")),
        description=gettext(
            _("Reports per problem category over the last 12 months. Small counts are left out.")
        ),
    )


def _chart_cases(
    folder: Path,
    months: list[Month],
    history: dict[Month, list[FactoryMonth]],
    gettext: Callable[[str], str],
) -> Chart:
    figure, axes = _figure()
    positions = list(range(len(months)))
    series = (
        ("cases_opened", _("cases opened")),
        ("cases_closed", _("cases closed")),
        ("remedies_opened", _("remedy steps agreed")),
        ("remedies_done", _("remedy steps done")),
    )
    width = 0.2
    for index, (metric, label) in enumerate(series):
        heights = [shown_total(history[month], metric, ALL_CATEGORIES)[0] for month in months]
        axes.bar(
            [p + (index - 1.5) * width for p in positions], heights, width, label=gettext(label)
        )
    axes.set_xticks(positions, [month.label for month in months], rotation=45)
    axes.legend(fontsize="small")
    return Chart(
        file=_save(figure, folder, "cases-and-remedies.png"),
        title=gettext(_("Cases and remedies, opened and closed")),
        description=gettext(
            _("How many cases monitors opened and closed, and remedy steps agreed and done.")
        ),
    )


def _chart_overdue(
    folder: Path,
    months: list[Month],
    history: dict[Month, list[FactoryMonth]],
    gettext: Callable[[str], str],
) -> Chart:
    figure, axes = _figure()
    values = [
        shown_total(history[month], "remedies_overdue", ALL_CATEGORIES)[0] for month in months
    ]
    axes.plot([month.label for month in months], values, marker="o", color="firebrick")
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


def _persistent(
    where: Scope, months: list[Month], history: dict[Month, list[FactoryMonth]]
) -> list[dict[str, Any]]:
    """Factory and category pairs reported in at least PERSISTENT_MONTHS of the months."""
    seen: Counter[tuple[int | None, str]] = Counter()
    for month in months:
        for row in history[month]:
            # A hidden small count still says "some reports": that much is published anyway.
            for category, value in row.lines["reports"].cells.items():
                if value > 0:
                    seen[(row.factory_id, category)] += 1
    return [
        {
            "factory": where.factories[factory_id].name,
            "code": where.factories[factory_id].code,
            "category": category,
            "months": count,
        }
        for (factory_id, category), count in seen.most_common()
        if count >= PERSISTENT_MONTHS
    ]


def _chart_persistent(
    folder: Path,
    where: Scope,
    months: list[Month],
    history: dict[Month, list[FactoryMonth]],
    gettext: Callable[[str], str],
) -> Chart:
    figure, axes = _figure()
    items = _persistent(where, months, history)[:15]
    labels = [f"{item['code'] or item['factory']}: {item['category']}" for item in items]
    axes.barh(labels[::-1], [item["months"] for item in items][::-1], color="darkorange")
    axes.set_xlim(0, len(months))
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
