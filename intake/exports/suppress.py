"""Small-cell suppression: hide counts below k, and enough others that none can be worked out.

What is published, and so what an attacker can combine, is decided in one place
(`intake.exports.aggregate`): one row per factory and month, with a cell per category and the
factory's total. A row's cells and total are computed from that factory's data alone, so the
row (and which of its cells are hidden) is the same in every export that includes it: two
buyers' exports of the same month differ only by which whole rows they contain, and
differencing them reveals nothing that either does not show. Totals across factories are
never published as exact sums over hidden cells (see `aggregate.shown_total`).

Within a row the attacker is assumed to know the strongest plausible relation, that the
category cells add up to the total (true when every report has one category; with several
categories per report the total is smaller and the attacker learns less). Under that
relation, with each hidden cell known only to lie in its box ([1, k-1] for a small count,
[k, inf) for a cell hidden to protect it), the exact integer range of every hidden cell is
computed and further cells are hidden until no small count's range is a single value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

TOTAL = "*"
INFINITY = math.inf


@dataclass(frozen=True)
class Line:
    """One published line of counts: the cells, their total, and which of them are hidden."""

    cells: Mapping[str, int]
    total: int
    primary: frozenset[str]
    hidden: frozenset[str]
    # A line whose total is below k is published as its total alone: the categories with
    # anything in them would otherwise say how small each share is (four categories under a
    # total under 5 are 1 each).
    collapsed: bool = False

    def shown(self, key: str) -> int | None:
        """The published value of `key` (a cell, or TOTAL), or None where it is hidden."""
        if key in self.hidden:
            return None
        return self.total if key == TOTAL else self.cells.get(key, 0)


def is_small(value: int, k: int) -> bool:
    """Whether a count must be hidden: zero is shown, 1 to k-1 never are."""
    return 0 < value < k


def box(
    key: str,
    value: int,
    k: int,
    primary: frozenset[str],
    lower: Mapping[str, float],
    upper: Mapping[str, float],
) -> tuple[float, float]:
    """What an attacker knows of a hidden cell from its label and from related published counts."""
    low, high = (1.0, float(k - 1)) if key in primary else (float(k), INFINITY)
    return max(low, lower.get(key, 0.0)), min(high, upper.get(key, INFINITY))


def ranges(
    line_cells: Mapping[str, int],
    total: int,
    hidden: frozenset[str],
    primary: frozenset[str],
    k: int,
    lower: Mapping[str, float] | None = None,
    upper: Mapping[str, float] | None = None,
) -> dict[str, tuple[float, float]]:
    """The exact integer range of each hidden cell (the total included) given what is shown.

    The line says: hidden cells - hidden total = C, with C known from the shown values, each
    hidden value in its box. Each one's range is its box cut by what the others' boxes allow.
    One equation with coefficients of one over integer boxes reaches every integer in that
    range, so the range is exact, not an estimate.
    """
    lower, upper = lower or {}, upper or {}
    values = {**line_cells, TOTAL: total}
    boxes = {key: box(key, values.get(key, 0), k, primary, lower, upper) for key in hidden}
    sign = {key: -1 if key == TOTAL else 1 for key in hidden}
    known = (0 if TOTAL in hidden else total) - sum(
        value for key, value in line_cells.items() if key not in hidden
    )
    signed = {
        key: (low, high) if sign[key] > 0 else (-high, -low) for key, (low, high) in boxes.items()
    }
    result: dict[str, tuple[float, float]] = {}
    for key, (low, high) in boxes.items():
        # sign * x = known - (the others' signed sum); summed apart: inf - inf has no value.
        rest_low = sum(bounds[0] for other, bounds in signed.items() if other != key)
        rest_high = sum(bounds[1] for other, bounds in signed.items() if other != key)
        low_signed, high_signed = known - rest_high, known - rest_low
        if sign[key] < 0:
            low_signed, high_signed = -high_signed, -low_signed
        result[key] = (max(low, low_signed), min(high, high_signed))
    return result


def protect(
    cells: Mapping[str, int],
    total: int,
    k: int,
    *,
    hidden: frozenset[str] = frozenset(),
    lower: Mapping[str, float] | None = None,
    upper: Mapping[str, float] | None = None,
) -> Line:
    """Hide the small counts of a line, then complements until no small count can be pinned."""
    values = {**cells, TOTAL: total}
    primary = frozenset(key for key, value in values.items() if is_small(value, k))
    if TOTAL in primary:
        everything = frozenset(cells) | {TOTAL}
        return Line(cells=dict(cells), total=total, primary=primary, hidden=everything,
                    collapsed=True)
    hidden = frozenset(hidden) | primary
    if not primary:
        # Nothing small to protect (the usual case for a busy factory).
        return Line(cells=dict(cells), total=total, primary=primary, hidden=hidden)
    while True:
        pinned = [
            key
            for key, (low, high) in ranges(cells, total, hidden, primary, k, lower, upper).items()
            if key in primary and low >= high
        ]
        if not pinned:
            return Line(cells=dict(cells), total=total, primary=primary, hidden=hidden)
        extra = _complement(cells, hidden)
        if extra in hidden:
            # Nothing left to hide: publish the total alone (as the "<k" or "hidden" it is).
            everything = frozenset(cells) | {TOTAL}
            return Line(cells=dict(cells), total=total, primary=primary, hidden=everything,
                        collapsed=True)
        hidden = hidden | {extra}


def _complement(cells: Mapping[str, int], hidden: frozenset[str]) -> str:
    """The cell that costs readers least to hide: the smallest shown non-zero one, else the total.

    Zeros are never hidden as complements: a hidden zero would sit in a box it does not belong
    to and protect nothing. Ties go by name so that the same data always hides the same cells.
    """
    candidates = sorted(
        (value, key) for key, value in cells.items() if key not in hidden and value > 0
    )
    return candidates[0][1] if candidates else TOTAL
