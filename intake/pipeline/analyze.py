"""The analysis of one message, in order: language, redaction, categories and urgency, factory."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intake.pipeline.categorize import categorize, load_lexicons
from intake.pipeline.factory import DEFAULT_FACTORY_CODE_PATTERN, FactoryFinder
from intake.pipeline.language import LanguageDetector
from intake.pipeline.redact import redact
from intake.pipeline.types import (
    DEFAULT_LANGUAGES,
    Categorization,
    CategoryScore,
    FactoryMatch,
    FactoryRef,
    LanguageGuess,
    Redaction,
)

if TYPE_CHECKING:
    from intake.pipeline.model import CategoryModel

# A learned category is only added when the model is this sure; lexicon hits always count.
# Measured on the development set with a seed-only model: 0.5 cost 0.19 precision for 0.08
# recall; 0.9 keeps most of the recall. Revisit once monitors' labels outnumber the seeds.
MODEL_THRESHOLD = 0.9


@dataclass(frozen=True)
class Analysis:
    """Everything the analysis found in one message; free of the original text."""

    language: LanguageGuess
    redaction: Redaction
    categorization: Categorization
    factory: FactoryMatch | None

    @property
    def categories(self) -> list[str]:
        """Category codes, best first."""
        return [category.code for category in self.categorization.categories]

    @property
    def urgent(self) -> bool:
        """Whether someone is in danger now."""
        return self.categorization.urgent

    @property
    def redacted(self) -> str:
        """The text with personal data replaced by placeholders."""
        return self.redaction.text

    def as_json(self) -> dict[str, Any]:
        """The `intake analyze` output line for this message."""
        return {
            "language": self.language.code,
            "categories": self.categories,
            "urgent": self.urgent,
            "redacted": self.redacted,
            "factory": self.factory.code if self.factory else None,
            "scores": {c.code: round(c.score, 3) for c in self.categorization.categories},
            "evidence": {c.code: list(c.evidence) for c in self.categorization.categories},
            "urgent_evidence": list(self.categorization.urgent_evidence),
            "language_source": self.language.source,
        }


class Analyzer:
    """Loads detectors, lexicons and the learned model once; analyses any number of messages."""

    def __init__(
        self,
        *,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        factories: Sequence[FactoryRef] = (),
        factory_code_pattern: str = DEFAULT_FACTORY_CODE_PATTERN,
        model_path: str | Path | None = None,
    ) -> None:
        self.languages = tuple(languages)
        self._detector = LanguageDetector(self.languages)
        self._lexicons = load_lexicons(self.languages)
        self._code_pattern = factory_code_pattern
        self.factories = FactoryFinder(factories, factory_code_pattern)
        self._model = _load_model(model_path)

    def with_factories(self, factories: Sequence[FactoryRef]) -> Analyzer:
        """The same analyzer, knowing a new list of factories."""
        clone = copy.copy(self)
        clone.factories = FactoryFinder(factories, self._code_pattern)
        return clone

    def fallback_language(self, known: str | None, country: str | None) -> str:
        """The language to answer a text-less message in: the worker's, else the country's."""
        return self._detector.detect("", known=known, country=country).code

    def analyze(
        self,
        text: str,
        *,
        sender_region: str | None = None,
        hotline_region: str | None = None,
        known_language: str | None = None,
    ) -> Analysis:
        """Analyse one message text; regions are ISO 3166 codes of the two phone numbers."""
        language = self._detector.detect(
            text, known=known_language, country=hotline_region or sender_region
        )
        regions = tuple(dict.fromkeys(r for r in (sender_region, hotline_region) if r))
        redaction = redact(text, regions=regions)
        categorization = categorize(redaction.text, language.code, lexicons=self._lexicons)
        if self._model is not None:
            categorization = _merge(categorization, self._model.predict(redaction.text))
        # The factory is looked for in the original: a name can sit inside a redacted phrase.
        factory = self.factories.find(text)
        return Analysis(language, redaction, categorization, factory)


@cache
def shared_analyzer(
    languages: tuple[str, ...], factory_code_pattern: str, model_path: str | None
) -> Analyzer:
    """One analyzer per process and settings: detectors and lexicons are costly to load."""
    analyzer = Analyzer(
        languages=languages, factory_code_pattern=factory_code_pattern, model_path=model_path
    )
    # The first analysis loads the language models and dialling plans (1.5-3 s): done here, at
    # start-up, it is not taken from the first worker's SMS and its database deadline.
    analyzer.analyze(_WARM_UP, sender_region="TH", hotline_region="MY")
    return analyzer


_WARM_UP = "They have not paid us overtime, call 0812345678"  # invented


# What monitors see of a message whose analysis failed: never the unredacted text.
WITHHELD = "[text withheld: analysis failed; see the original]"


def failed_analysis(language: str) -> Analysis:
    """A placeholder analysis that hides the text, for a message the analysis crashed on."""
    return Analysis(
        language=LanguageGuess(language, 0.0, "default"),
        redaction=Redaction(WITHHELD, {}),
        categorization=Categorization((CategoryScore("other", 0.0, ("analysis failed",)),), False),
        factory=None,
    )


def _load_model(path: str | Path | None) -> CategoryModel | None:
    if not path or not Path(path).exists():
        return None
    # Imported only when a model exists: scikit-learn costs start-up time the lexicons don't.
    from intake.pipeline.model import CategoryModel

    return CategoryModel.load(Path(path))


def _merge(categorization: Categorization, predicted: dict[str, float]) -> Categorization:
    """Lexicon categories, raised or joined by what the learned model is sure of."""
    scores = {c.code: c for c in categorization.categories if c.code != "other"}
    for code, probability in predicted.items():
        if code == "other" or probability < MODEL_THRESHOLD:
            continue
        evidence = f"model {probability:.2f}"
        known = scores.get(code)
        if known is None:
            scores[code] = CategoryScore(code, probability, (evidence,))
        elif probability > known.score:
            scores[code] = CategoryScore(code, probability, (*known.evidence, evidence))
    if not scores:
        return categorization
    ordered = tuple(sorted(scores.values(), key=lambda c: -c.score))
    return replace(categorization, categories=ordered)
