"""Score an analysis function against the invented evaluation set in `data/evaluation/`.

Pure: no Flask, no database. The caller passes any function with the shape of the pipeline,
so the same report measures the real analyzer, a baseline, or a fake in a test.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from intake.pipeline.types import CATEGORY_CODES, LanguageGuess

EVALUATION_DIR = Path(__file__).resolve().parent / "data" / "evaluation"
# Written by someone who saw none of the rules, after they were tuned: the honest figures.
HOLDOUT_DIR = Path(__file__).resolve().parent / "data" / "holdout"
# A second blind set, written after the name pass and before its misses were studied.
HOLDOUT2_DIR = Path(__file__).resolve().parent / "data" / "holdout2"

# A PII key shorter than this is too common to call a leak ("3 days", "line 4").
MIN_LEAK_DIGITS = 5
# National and international forms of one phone number share only their last digits
# ("+66 81 437 2956" and "081 437 2956"), so that tail alone counts as the number.
LEAK_TAIL_DIGITS = 8
# Digits split by spaces, hyphens, dots, slashes or brackets still read as one number.
_DIGIT_RUN = re.compile(r"\d(?:[\s\-./()]{0,2}\d)*")
_NOT_DIGIT = re.compile(r"\D")


class EvaluationSetError(ValueError):
    """A line of the evaluation set is not valid JSON or does not follow the schema."""


@dataclass(frozen=True)
class EvalItem:
    """One invented message with what the analysis should find in it."""

    text: str
    language: str
    categories: tuple[str, ...]
    urgent: bool
    pii: tuple[str, ...]  # substrings that must not survive redaction
    sender: str  # E.164
    hotline: str  # E.164
    keep: tuple[str, ...] = ()  # facts a monitor needs, which redaction must leave alone
    where: str = ""  # "th.jsonl:7", to point at a line without repeating its text
    names: tuple[str, ...] = ()  # other people's names (a supervisor's), which must be hidden


class Outcome(Protocol):
    """What evaluation reads from one analysed message."""

    @property
    def language(self) -> str | LanguageGuess: ...
    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def urgent(self) -> bool: ...
    @property
    def redacted(self) -> str: ...


AnalyzeFn = Callable[[str, str, str], Outcome]  # (text, sender, hotline) -> outcome


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives of one binary decision."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """Share of positive decisions that were right; 0 when nothing was predicted."""
        predicted = self.tp + self.fp
        return self.tp / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        """Share of true cases that were found; 0 when there were none."""
        actual = self.tp + self.fn
        return self.tp / actual if actual else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else 0.0


@dataclass(frozen=True)
class Accuracy:
    """How many of a number of guesses were right."""

    correct: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        """Correct share; 0 for no guesses."""
        return self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class EvaluationReport:
    """Every figure of one evaluation run; locations, never message text or PII."""

    items: int
    language: Accuracy
    language_by_language: Mapping[str, Accuracy]
    language_confusions: Mapping[tuple[str, str], int]  # (true, guessed) -> count, wrong only
    categories: Mapping[str, Counts]  # per code, including codes the taxonomy does not have
    categories_by_language: Mapping[str, Counts]  # micro over codes, per true language
    urgent: Counts
    pii_total: int
    leaks: tuple[str, ...]  # "where" of each PII string that survived, once per string
    facts_total: int
    facts_lost: tuple[str, ...]  # "where" of each fact that redaction removed
    leaks_by_language: Mapping[str, int] = field(default_factory=dict)
    names_by_language: Mapping[str, Accuracy] = field(default_factory=dict)  # hidden of total
    facts_by_language: Mapping[str, Accuracy] = field(default_factory=dict)  # kept of total
    names_left: tuple[str, ...] = ()  # "where" of each third person's name that survived

    @property
    def categories_micro(self) -> Counts:
        """Counts summed over every code."""
        return sum(self.categories.values(), Counts())


def load_evaluation_set(
    dir: Path = EVALUATION_DIR,  # named as in the shared interface, though it hides dir()
    *,
    languages: Iterable[str] | None = None,
) -> list[EvalItem]:
    """Read `<lang>.jsonl` files (all, or those of `languages`) in file then line order."""
    if languages is None:
        paths = sorted(dir.glob("*.jsonl"))
    else:
        paths = [dir / f"{language}.jsonl" for language in languages]
    items: list[EvalItem] = []
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    items.append(_parse_item(line, path.stem, f"{path.name}:{number}"))
    return items


def _parse_item(line: str, language: str, where: str) -> EvalItem:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise EvaluationSetError(f"{where}: not JSON: {error}") from error
    if not isinstance(row, dict):
        raise EvaluationSetError(f"{where}: not a JSON object")
    if row.get("language") != language:
        raise EvaluationSetError(f"{where}: 'language' must be {language!r}, as the file name")
    strings = {key: row.get(key) for key in ("text", "from", "to")}
    for key, value in strings.items():
        if not isinstance(value, str) or not value:
            raise EvaluationSetError(f"{where}: {key!r} must be a non-empty string")
    if not isinstance(row.get("urgent"), bool):
        raise EvaluationSetError(f"{where}: 'urgent' must be true or false")
    categories = _strings(row, "categories", where)
    unknown = set(categories) - set(CATEGORY_CODES)
    if not categories or unknown:
        raise EvaluationSetError(f"{where}: categories must be taxonomy codes, got {unknown}")
    return EvalItem(
        text=row["text"],
        language=language,
        categories=categories,
        urgent=row["urgent"],
        pii=_strings(row, "pii", where),
        sender=row["from"],
        hotline=row["to"],
        keep=_strings(row, "keep", where, required=False),
        where=where,
        names=_strings(row, "names", where, required=False),
    )


def _strings(
    row: dict[str, object], key: str, where: str, *, required: bool = True
) -> tuple[str, ...]:
    value = row.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise EvaluationSetError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(value)


def evaluate(analyze_fn: AnalyzeFn, items: Sequence[EvalItem]) -> EvaluationReport:
    """Run `analyze_fn` on every item and count what it got right, missed, and leaked."""
    language_hits: Counter[str] = Counter()
    language_totals: Counter[str] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    per_code: dict[str, Counts] = {code: Counts() for code in CATEGORY_CODES}
    per_language: dict[str, Counts] = {}
    urgent = Counts()
    leaks: list[str] = []
    leaks_by_language: Counter[str] = Counter()
    lost: list[str] = []
    names_left: list[str] = []
    names: dict[str, Accuracy] = {}
    facts: dict[str, Accuracy] = {}

    for item in items:
        outcome = analyze_fn(item.text, item.sender, item.hotline)
        guessed = _language_code(outcome.language)
        language_totals[item.language] += 1
        if guessed == item.language:
            language_hits[item.language] += 1
        else:
            confusions[(item.language, guessed)] += 1

        truth, predicted = set(item.categories), set(outcome.categories)
        for code in truth | predicted:
            counts = Counts(
                tp=int(code in truth and code in predicted),
                fp=int(code in predicted and code not in truth),
                fn=int(code in truth and code not in predicted),
            )
            per_code[code] = per_code.get(code, Counts()) + counts
            per_language[item.language] = per_language.get(item.language, Counts()) + counts

        urgent += Counts(
            tp=int(item.urgent and outcome.urgent),
            fp=int(outcome.urgent and not item.urgent),
            fn=int(item.urgent and not outcome.urgent),
        )
        item_leaks = [item.where for secret in item.pii if leaked(secret, outcome.redacted)]
        leaks += item_leaks
        leaks_by_language[item.language] += len(item_leaks)
        item_lost = [item.where for fact in item.keep if fact not in outcome.redacted]
        lost.extend(item_lost)
        item_named = [item.where for name in item.names if leaked(name, outcome.redacted)]
        names_left.extend(item_named)
        names[item.language] = _add(
            names.get(item.language), len(item.names) - len(item_named), len(item.names)
        )
        facts[item.language] = _add(
            facts.get(item.language), len(item.keep) - len(item_lost), len(item.keep)
        )

    return EvaluationReport(
        items=len(items),
        language=Accuracy(sum(language_hits.values()), sum(language_totals.values())),
        language_by_language={
            language: Accuracy(language_hits[language], total)
            for language, total in language_totals.items()
        },
        language_confusions=dict(confusions),
        categories=per_code,
        categories_by_language=per_language,
        urgent=urgent,
        pii_total=sum(len(item.pii) for item in items),
        leaks=tuple(leaks),
        facts_total=sum(len(item.keep) for item in items),
        facts_lost=tuple(lost),
        leaks_by_language={lang: n for lang, n in leaks_by_language.items() if n},
        names_by_language=names,
        facts_by_language=facts,
        names_left=tuple(names_left),
    )


def _add(accuracy: Accuracy | None, correct: int, total: int) -> Accuracy:
    accuracy = accuracy or Accuracy()
    return Accuracy(accuracy.correct + correct, accuracy.total + total)


def _language_code(language: str | LanguageGuess) -> str:
    return language if isinstance(language, str) else language.code


def leaked(secret: str, redacted: str) -> bool:
    """Whether a PII string survives in a redacted text, as written or as its digits."""
    folded_secret, folded_text = _fold(secret), _fold(redacted)
    if folded_secret in folded_text:
        return True
    key = max(
        (_NOT_DIGIT.sub("", run) for run in _DIGIT_RUN.findall(folded_secret)), key=len, default=""
    )
    if len(key) < MIN_LEAK_DIGITS:
        return False
    tail = key[-LEAK_TAIL_DIGITS:]
    return any(tail in _NOT_DIGIT.sub("", run) for run in _DIGIT_RUN.findall(folded_text))


def _fold(text: str) -> str:
    """Case, compatibility forms and every script's digits folded, so ๐๘๑ equals 081."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


def format_report(report: EvaluationReport) -> str:
    """The report as fixed-width tables a monitor or reviewer can read in a terminal."""
    lines = [f"Evaluation of {report.items} messages", ""]
    lines.append(f"Language accuracy: {_rate(report.language)}")
    by_language = sorted(set(report.language_by_language) | set(report.categories_by_language))
    lines.append(
        f"  {'lang':<5} {'language':>12} {'cat P':>6} {'cat R':>6} {'cat F1':>6} {'leaks':>5}"
    )
    for language in by_language:
        accuracy = report.language_by_language.get(language, Accuracy())
        counts = report.categories_by_language.get(language, Counts())
        lines.append(
            f"  {language:<5} {_rate(accuracy):>12} {_cells(counts)}"
            f" {report.leaks_by_language.get(language, 0):>5}"
        )
    if report.language_confusions:
        worst = sorted(report.language_confusions.items(), key=lambda pair: (-pair[1], pair[0]))
        lines.append(
            "  most confused: "
            + ", ".join(f"{true}->{guess} {n}" for (true, guess), n in worst[:8])
        )
    lines += ["", f"  {'category':<24} {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for code, counts in [*report.categories.items(), ("(micro)", report.categories_micro)]:
        lines.append(f"  {code:<24} {_cells(counts)} {counts.tp:>4} {counts.fp:>4} {counts.fn:>4}")
    urgent = report.urgent
    lines += [
        "",
        f"Urgent: recall {_ratio(urgent.recall, urgent.tp + urgent.fn).strip()}"
        f", precision {_ratio(urgent.precision, urgent.tp + urgent.fp).strip()}"
        f" (tp {urgent.tp}, fp {urgent.fp}, fn {urgent.fn})",
        f"Redaction: {len(report.leaks)} of {report.pii_total} PII strings leaked"
        + (f" at {', '.join(report.leaks)}" if report.leaks else ""),
        f"Redaction: {len(report.facts_lost)} of {report.facts_total} kept facts lost"
        + (f" at {', '.join(report.facts_lost)}" if report.facts_lost else ""),
    ]
    if report.names_by_language:
        lines += _redaction_table(report)
    return "\n".join(lines)


def _redaction_table(report: EvaluationReport) -> list[str]:
    """Third persons' names hidden, facts kept and PII leaked, per language."""
    names_total = sum(a.total for a in report.names_by_language.values())
    names_hidden = sum(a.correct for a in report.names_by_language.values())
    lines = [
        "",
        f"Names of other people: {names_hidden} of {names_total} hidden"
        + (f"; left at {', '.join(report.names_left)}" if report.names_left else ""),
        f"  {'lang':<5} {'names hidden':>16} {'facts kept':>16} {'PII leaks':>9}",
    ]
    for language in sorted(report.names_by_language):
        hidden = report.names_by_language[language]
        kept = report.facts_by_language.get(language, Accuracy())
        lines.append(
            f"  {language:<5} {_fraction(hidden):>16} {_fraction(kept):>16}"
            f" {report.leaks_by_language.get(language, 0):>9}"
        )
    return lines


def _fraction(accuracy: Accuracy) -> str:
    rate = f" {accuracy.rate:.3f}" if accuracy.total else ""
    return f"{accuracy.correct}/{accuracy.total}{rate}"


def _rate(accuracy: Accuracy) -> str:
    return f"{accuracy.rate:.3f} ({accuracy.correct}/{accuracy.total})"


def _cells(counts: Counts) -> str:
    return " ".join(
        (
            _ratio(counts.precision, counts.tp + counts.fp),
            _ratio(counts.recall, counts.tp + counts.fn),
            _ratio(counts.f1, counts.tp + counts.fp + counts.fn),
        )
    )


def _ratio(value: float, denominator: int) -> str:
    # An undefined ratio (nothing predicted, nothing to find) shows as n/a, not as a zero.
    return f"{value:>6.3f}" if denominator else f"{'n/a':>6}"
