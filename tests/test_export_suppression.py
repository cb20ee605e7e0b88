"""Small-cell suppression: no hidden count can be worked out from what an export shows.

Each check solves the attacker's problem exactly, as an integer program (scipy's MILP),
independently of the ranges the suppression code computes for itself. The buyer report is
checked against the protected table: every figure it shows is worked out again from the
published rows alone.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from intake.exports.aggregate import (
    ALL_CATEGORIES,
    METRICS,
    FactoryMonth,
    PublishedRow,
    protect_month,
    publish,
)
from intake.exports.query import FactoryInfo, Month, Scope
from intake.exports.report import PERSISTENT_MONTHS, summarise
from intake.exports.suppress import TOTAL, Line, protect

BIG = 10**6
counts = st.integers(min_value=0, max_value=14)
categories = st.sampled_from(["wages", "hours", "safety", "harassment", "contract", "housing"])


def attacker_ranges(
    lines: dict[str, Line], k: int, linked: tuple[str, str] | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """Each hidden small count's (min, max) over every table consistent with what is shown."""
    variables: list[tuple[str, str]] = []
    bounds_low: list[float] = []
    bounds_high: list[float] = []
    for metric, line in lines.items():
        # A collapsed line publishes its total alone: its cells are not in the attacker's view.
        for key in [TOTAL] if line.collapsed else sorted(line.hidden):
            variables.append((metric, key))
            small = key in line.primary
            bounds_low.append(1 if small else k)
            bounds_high.append(k - 1 if small else BIG)
    index = {variable: position for position, variable in enumerate(variables)}
    rows, low, high = [], [], []
    for metric, line in lines.items():
        if line.collapsed:
            continue
        # cells - total = 0, shown values moved to the right-hand side.
        row = np.zeros(len(variables))
        constant = 0.0
        for key in [*line.cells, TOTAL]:
            coefficient = -1 if key == TOTAL else 1
            value = line.total if key == TOTAL else line.cells[key]
            if key in line.hidden:
                row[index[(metric, key)]] = coefficient
            else:
                constant -= coefficient * value
        rows.append(row)
        low.append(constant)
        high.append(constant)
    if linked is not None:
        part, whole = linked
        either_collapsed = lines[part].collapsed or lines[whole].collapsed
        for key in [TOTAL] if either_collapsed else [*lines[whole].cells, TOTAL]:
            # part <= whole, cell by cell (urgent reports are some of the reports).
            row = np.zeros(len(variables))
            constant = 0.0
            for metric, sign in ((part, 1), (whole, -1)):
                line = lines[metric]
                if key in line.hidden:
                    row[index[(metric, key)]] = sign
                else:
                    constant -= sign * (line.total if key == TOTAL else line.cells.get(key, 0))
            rows.append(row)
            low.append(-np.inf)
            high.append(constant)
    result = {}
    if not rows:
        rows, low, high = [np.zeros(len(variables))], [0.0], [0.0]
    for variable in variables:
        metric, key = variable
        if key not in lines[metric].primary:
            continue
        found = []
        for direction in (1, -1):
            objective = np.zeros(len(variables))
            objective[index[variable]] = direction
            solution = milp(
                objective,
                integrality=np.ones(len(variables)),
                bounds=Bounds(bounds_low, bounds_high),
                constraints=LinearConstraint(np.array(rows), low, high),
            )
            assert solution.success, "the true table must be consistent with what is shown"
            found.append(round(solution.x[index[variable]]))
        result[variable] = (found[0], found[1])
    return result


@settings(max_examples=60, deadline=None)
@given(
    cells=st.dictionaries(categories, counts, min_size=1, max_size=6),
    k=st.integers(min_value=3, max_value=6),
)
def test_no_hidden_count_of_a_line_can_be_derived(cells: dict[str, int], k: int) -> None:
    total = sum(cells.values())
    line = protect(cells, total, k)
    assert all(key in line.hidden for key, value in cells.items() if 0 < value < k)
    if 0 < total < k:
        assert line.collapsed
    for (_, key), (low, high) in attacker_ranges({"reports": line}, k).items():
        assert low < high, f"{key} pinned to {low} in {cells} with k={k}"


@settings(max_examples=40, deadline=None)
@given(
    cells=st.dictionaries(categories, st.tuples(counts, counts), min_size=1, max_size=5),
    k=st.integers(min_value=3, max_value=6),
)
def test_urgent_reports_cannot_be_played_against_reports(
    cells: dict[str, tuple[int, int]], k: int
) -> None:
    # Each category: (reports, urgent among them); urgent can never exceed reports.
    reports = {key: max(a, b) for key, (a, b) in cells.items()}
    urgent = {key: min(a, b) for key, (a, b) in cells.items()}
    lines = protect_month(
        {"reports": reports, "urgent_reports": urgent},
        {"reports": sum(reports.values()), "urgent_reports": sum(urgent.values())},
        k,
    )
    pair = {"reports": lines["reports"], "urgent_reports": lines["urgent_reports"]}
    for variable, (low, high) in attacker_ranges(pair, k, ("urgent_reports", "reports")).items():
        assert low < high, f"{variable} pinned to {low} in {cells} with k={k}"


def test_a_lone_small_count_takes_the_next_smallest_with_it() -> None:
    line = protect({"wages": 3, "hours": 10, "safety": 20}, 33, 5)
    assert line.primary == {"wages"}
    assert line.hidden == {"wages", "hours"}


def test_zero_is_shown_and_never_hidden_as_a_complement() -> None:
    line = protect({"wages": 2, "hours": 0, "safety": 9}, 11, 5)
    assert line.hidden == {"wages", "safety"}


def test_a_small_total_is_published_alone() -> None:
    # Four categories with a total under 5 would say "one each": only the total is shown.
    line = protect({"wages": 1, "hours": 1, "safety": 1, "housing": 1}, 4, 5)
    assert line.collapsed
    assert line.shown(TOTAL) is None



MONTHS = Month(2026, 10).last(4)
small = st.integers(min_value=0, max_value=3)
# One factory's month: per category, (reports, urgent among them, cases opened, remedy steps
# overdue, workers confirming a remedy).
factory_month = st.dictionaries(
    categories, st.tuples(counts, counts, small, small, st.integers(0, 7)), max_size=4
)


def _protected(
    data: list[list[dict[str, tuple[int, int, int, int, int]]]], k: int
) -> tuple[dict[Month, list[FactoryMonth]], dict[Month, list[PublishedRow]]]:
    where = Scope(
        None,
        None,
        {n: FactoryInfo(n, f"F-{n}", f"Factory {n}", "TH") for n in range(len(data))},
    )
    raw: dict[Month, list[FactoryMonth]] = {}
    for index, month in enumerate(MONTHS):
        rows = []
        for factory_id, months in enumerate(data):
            cells: dict[str, dict[str, int]] = {metric: {} for metric in METRICS}
            for category, (a, b, opened, overdue, confirmed) in months[index].items():
                cells["reports"][category] = max(a, b)
                cells["urgent_reports"][category] = min(a, b)
                cells["cases_opened"][category] = opened
                cells["remedies_overdue"][category] = overdue
                cells["checkback_confirmations"][category] = confirmed
            totals = {metric: sum(values.values()) for metric, values in cells.items()}
            rows.append(FactoryMonth(month, factory_id, protect_month(cells, totals, k)))
        raw[month] = rows
    return raw, {month: publish(rows, where, k) for month, rows in raw.items()}


def _sum_shown(rows: list[PublishedRow], metric: str, category: str) -> tuple[int, int]:
    labels = [row.labels[metric] for row in rows if row.category == category]
    return (
        sum(label for label in labels if isinstance(label, int)),
        sum(not isinstance(label, int) for label in labels),
    )


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.lists(factory_month, min_size=4, max_size=4), min_size=1, max_size=3),
    k=st.integers(min_value=3, max_value=6),
)
def test_the_report_shows_only_what_the_protected_table_shows(
    data: list[list[dict[str, tuple[int, int, int, int, int]]]], k: int
) -> None:
    raw, published = _protected(data, k)
    current = published[MONTHS[-1]]

    # The protected table itself: a factory shown as its total alone has no category rows
    # (a case or a remedy step in a category would say what its few workers reported).
    for month in MONTHS:
        for factory in raw[month]:
            if factory.lines["reports"].collapsed:
                named = {
                    row.category
                    for row in published[month]
                    if row.factory.id == factory.factory_id
                }
                assert named == {ALL_CATEGORIES}, (month, factory.factory_id, named)

    content = summarise(published, MONTHS[-1])

    # Each figure, worked out again from the published rows alone.
    for metric, total in content.totals.items():
        assert total == _sum_shown(current, metric, ALL_CATEGORIES), metric
    assert [item["values"] for item in content.factories] == [
        {metric: row.labels[metric] for metric in item["values"]}
        for row, item in zip(
            [row for row in current if row.category == ALL_CATEGORIES],
            content.factories,
            strict=True,
        )
    ]
    for category, heights in content.by_category.items():
        assert any(row.category == category for m in MONTHS for row in published[m])
        assert heights == [_sum_shown(published[m], "reports", category)[0] for m in MONTHS]
    for metric, heights in content.cases.items():
        assert heights == [_sum_shown(published[m], metric, ALL_CATEGORIES)[0] for m in MONTHS]
    assert content.overdue == [
        _sum_shown(published[m], "remedies_overdue", ALL_CATEGORIES)[0] for m in MONTHS
    ]
    # "Problems that keep coming back": months whose published row says "some reports".
    reported: dict[tuple[str, str], int] = {}
    for month in MONTHS:
        for row in published[month]:
            if row.category != ALL_CATEGORIES and row.labels["reports"] not in (0, "see total"):
                key = (row.factory.code, row.category)
                reported[key] = reported.get(key, 0) + 1
    assert content.more == 0
    assert {(item["code"], item["category"]): item["months"] for item in content.persistent} == {
        key: count for key, count in reported.items() if count >= PERSISTENT_MONTHS
    }
