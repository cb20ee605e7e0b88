"""Value types passed between the analysis steps: plain, frozen, free of Flask and SQL."""

from __future__ import annotations

from dataclasses import dataclass, field

# Order matters: the first configured language wins ties; codes are ISO 639-1.
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "en", "zh", "th", "vi", "ms", "id", "ta", "es", "cs", "km", "my", "tl", "ne", "bn",
)

CATEGORY_CODES: tuple[str, ...] = (
    "forced_labour",
    "child_labour",
    "working_hours",
    "wages",
    "harsh_treatment",
    "discrimination",
    "freedom_of_association",
    "health_safety",
    "living_conditions",
    "employment_terms",
    "retaliation",
    "other",
)


@dataclass(frozen=True)
class LanguageGuess:
    """The language of one text and how we decided it."""

    code: str  # ISO 639-1, one of the configured languages
    confidence: float  # 0..1
    # "script" | "detector" | "lexicon" | "reporter" | "country" | "default"
    source: str


@dataclass(frozen=True)
class Redaction:
    """A text with personal data replaced by typed placeholders."""

    text: str
    # placeholder kind ("PHONE", "ID", "EMAIL", "NAME") -> how many were replaced
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CategoryScore:
    """One taxonomy code with its score and the evidence a monitor sees."""

    code: str
    score: float  # 0..1
    evidence: tuple[str, ...] = ()  # matched terms or features, never personal data


@dataclass(frozen=True)
class Categorization:
    """Categories (best first) and the urgent flag for one redacted text."""

    categories: tuple[CategoryScore, ...]
    urgent: bool
    urgent_evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class FactoryRef:
    """What the analysis needs to know about a factory: its code and every name it goes by."""

    code: str
    names: tuple[str, ...] = ()  # name and aliases, any script


@dataclass(frozen=True)
class FactoryMatch:
    """The factory a text is about, and the words that gave it away."""

    code: str
    score: float  # 0..1
    evidence: str  # the code or name as it was matched
