"""A category classifier that learns from monitors: hashed character n-grams, one logistic
regression per taxonomy code.

It is language-agnostic on purpose: character n-grams catch the inflections, typos,
romanisations and code-mixing that exact lexicon terms miss, in any script. It learns from two
sources: lexicon terms (each a short positive example, so a fresh install is not empty) and the
labels monitors confirm. The saved file holds numbers and JSON only, never pickled code.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from intake.pipeline.evaluate import Counts
from intake.pipeline.types import CATEGORY_CODES

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
FORMAT = "intake-category-model"
# Bump when features are computed differently: an old file's weights would then mean nothing.
FORMAT_VERSION = 1
OTHER = "other"

_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*\]")
_LATIN_MARKS = re.compile("[\u0300-\u036f]")
_DIGIT = re.compile(r"\d")
_REPEAT = re.compile(r"(\D)\1{2,}")
# Thai, Lao, Myanmar, Khmer, kana, CJK ideographs, CJK compatibility and fullwidth forms.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3000-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)


class ModelFileError(ValueError):
    """A model file is not one this version can read."""


@dataclass(frozen=True)
class Example:
    """One text with its confirmed category codes."""

    text: str
    language: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class FeatureSettings:
    """How a text becomes features; saved with the weights so both always agree."""

    n_features: int = 2**18  # a power of two: a feature is a hash masked to this size
    ngram_min: int = 2
    ngram_max: int = 4

    def __post_init__(self) -> None:
        if self.n_features < 2 or self.n_features & (self.n_features - 1):
            raise ValueError("n_features must be a power of two")
        if not 1 <= self.ngram_min <= self.ngram_max:
            raise ValueError("need 1 <= ngram_min <= ngram_max")


def prepare(text: str) -> str:
    """Fold a text before n-grams: placeholders, case, Latin accents, digits and repeats."""
    # "[PHONE]" is redaction's, not the worker's: it must not become the word "phone".
    text = _PLACEHOLDER.sub(" ", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        # Workers often type Vietnamese, Czech or Spanish without accents; fold both ways
        # together. Only the Latin combining block goes: Indic and Thai marks are letters.
        text = _LATIN_MARKS.sub("", unicodedata.normalize("NFD", text))
        text = unicodedata.normalize("NFC", text).replace("\u0111", "d")
    # "12 hrs" and "14 hrs" are the same complaint; any script's digits count alike.
    text = _DIGIT.sub("0", text)
    return _REPEAT.sub(r"\1", text)  # "helppp", "ไม่จ่ายยยย"


def features(text: str, settings: FeatureSettings) -> NDArray[np.int32]:
    """Sorted distinct feature ids of a text: its words' padded character n-grams, hashed."""
    # crc32 is in the standard library, identical on every platform and Python version, and
    # cheap; a word's n-grams never cross into the next word, as with char_wb in scikit-learn.
    mask = settings.n_features - 1
    low, high = settings.ngram_min, settings.ngram_max
    found: set[int] = set()
    for word in prepare(text).split():
        # The edge marks say "a word starts or ends here"; in scripts written without spaces
        # between words (Chinese, Thai, Khmer, Myanmar) a term sits inside a longer run, so an
        # edge mark on a seed like "工资" would never match a message.
        head = "" if _UNSPACED.match(word) else " "
        tail = "" if _UNSPACED.match(word[-1]) else " "
        padded = f"{head}{word}{tail}"
        length = len(padded)
        for n in range(low, min(high, length) + 1):
            for start in range(length - n + 1):
                found.add(zlib.crc32(padded[start : start + n].encode()) & mask)
    return np.fromiter(sorted(found), dtype=np.int32, count=len(found))


class CategoryModel:
    """Per-code weights over hashed n-gram features; `predict` gives each code's probability."""

    def __init__(
        self,
        codes: Sequence[str],
        feature_ids: NDArray[np.int32],
        weights: NDArray[np.float32],
        intercepts: NDArray[np.float32],
        settings: FeatureSettings,
        info: Mapping[str, object] | None = None,
    ) -> None:
        if weights.shape != (len(feature_ids), len(codes)) or intercepts.shape != (len(codes),):
            raise ModelFileError("weights do not match codes and features")
        if len(feature_ids) and (
            np.any(np.diff(feature_ids) <= 0)
            or feature_ids[0] < 0
            or feature_ids[-1] >= settings.n_features
        ):
            raise ModelFileError("feature ids must be sorted, distinct and in range")
        self.codes: tuple[str, ...] = tuple(codes)
        self.settings = settings
        self.info: dict[str, object] = dict(info or {})
        self._feature_ids = feature_ids
        self._weights = weights
        self._intercepts = intercepts
        # Only features seen in training have weights; a dense id -> row map (4 bytes per
        # possible feature) makes the lookup one gather instead of a binary search.
        self._rows = np.full(settings.n_features, -1, dtype=np.int32)
        self._rows[feature_ids] = np.arange(len(feature_ids), dtype=np.int32)

    def predict(self, text: str) -> dict[str, float]:
        """The probability of every code this model knows, for one (redacted) text."""
        ids = features(text, self.settings)
        rows = self._rows[ids]
        known = rows[rows >= 0]
        scores = self._intercepts + self._weights[known].sum(axis=0, dtype=np.float32)
        probabilities = 1.0 / (1.0 + np.exp(-scores.astype(np.float64)))
        return dict(zip(self.codes, probabilities.tolist(), strict=True))

    def save(self, path: Path) -> None:
        """Write the model to one .npz file (arrays and a JSON header), replacing atomically."""
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "codes": list(self.codes),
            "settings": asdict(self.settings),
            "info": self.info,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # A running server may load the file at any moment: it must see the old or the new one.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez_compressed(
                    stream,
                    header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                    feature_ids=self._feature_ids,
                    weights=self._weights,
                    intercepts=self._intercepts,
                )
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> CategoryModel:
        """Read a file written by `save`; refuses pickled objects and other versions."""
        try:
            with np.load(path, allow_pickle=False) as arrays:
                header = json.loads(arrays["header"].tobytes().decode())
                feature_ids = arrays["feature_ids"].astype(np.int32, copy=False)
                weights = arrays["weights"].astype(np.float32, copy=False)
                intercepts = arrays["intercepts"].astype(np.float32, copy=False)
        except (OSError, KeyError, ValueError) as error:
            raise ModelFileError(f"{path}: not a category model: {error}") from error
        if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
            raise ModelFileError(
                f"{path}: unsupported format {header.get('format')!r} {header.get('version')!r}"
            )
        try:
            codes = [str(code) for code in header["codes"]]
            settings = FeatureSettings(**header["settings"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: bad header: {error}") from error
        unknown = set(codes) - set(CATEGORY_CODES)
        if unknown:
            raise ModelFileError(f"{path}: unknown codes {sorted(unknown)}")
        return cls(codes, feature_ids, weights, intercepts, settings, header.get("info"))


def seed_examples(lexicon_dir: Path = LEXICON_DIR) -> list[Example]:
    """One short example per lexicon term, labelled with every code that lists it."""
    examples: list[Example] = []
    # Lexicons are added language by language; a missing or empty folder just gives no seeds.
    for path in sorted(lexicon_dir.glob("*.toml")) if lexicon_dir.is_dir() else []:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            # Fail loudly: silently training without one language's seeds would go unnoticed.
            raise ValueError(f"{path.name}: not valid TOML: {error}") from error
        language = str(data.get("language", path.stem))
        labels: dict[str, set[str]] = defaultdict(set)
        tables = data.get("categories", {})
        for code in CATEGORY_CODES:
            table = tables.get(code) if isinstance(tables, dict) else None
            terms = table.get("terms", []) if isinstance(table, dict) else []
            for term in terms:
                if isinstance(term, str) and term.strip():
                    labels[term.strip()].add(code)
        # The [urgent] terms are not a category: the urgent flag stays with the lexicon rules.
        examples += [
            Example(term, language, tuple(c for c in CATEGORY_CODES if c in codes))
            for term, codes in labels.items()
        ]
    return examples


@dataclass(frozen=True)
class TrainingSettings:
    """Knobs of `train`, recorded in the model file so a result can be reproduced."""

    features: FeatureSettings = field(default_factory=FeatureSettings)
    c: float = 4.0  # inverse L2 strength; short seed texts need a weak penalty to be heard
    # Extra texts made by joining 2-3 examples of one language: they teach the model that
    # evidence adds up in a longer message, which single-term seeds alone cannot show.
    combined_per_example: float = 1.0


def train(
    examples: Sequence[Example],
    *,
    seed: int = 0,
    settings: TrainingSettings | None = None,
) -> CategoryModel:
    """Fit one logistic regression per code that has both positive and negative examples."""
    settings = settings or TrainingSettings()
    rng = np.random.default_rng(seed)
    texts = [example.text for example in examples]
    labels = [set(example.categories) for example in examples]
    for text, label in _combined(examples, settings.combined_per_example, rng):
        texts.append(text)
        labels.append(label)

    matrix = _matrix(texts, settings.features)
    codes = [c for c in CATEGORY_CODES if 0 < sum(c in ls for ls in labels) < len(labels)]
    if not codes:
        raise ValueError("training needs a code with both positive and negative examples")

    # Under an L2 penalty a feature no example has keeps a zero weight: fitting on the used
    # columns only gives the same solution, many times faster, and a small file.
    used = np.unique(matrix.indices)
    matrix = matrix[:, used]
    weights = np.zeros((len(used), len(codes)), dtype=np.float32)
    intercepts = np.zeros(len(codes), dtype=np.float32)
    for column, code in enumerate(codes):
        target = np.fromiter((code in ls for ls in labels), dtype=bool, count=len(labels))
        # No class re-weighting: the pipeline reads the output as a probability against a fixed
        # threshold, and balancing inflates the rare codes (it doubled false positives).
        # liblinear: measured 6x faster than lbfgs on the seeds, with the same held-out F1.
        regression = LogisticRegression(
            C=settings.c, solver="liblinear", max_iter=1000, random_state=seed
        )
        regression.fit(matrix, target)
        weights[:, column] = regression.coef_[0]
        intercepts[column] = regression.intercept_[0]

    info = {
        "examples": len(examples),
        "languages": sorted({example.language for example in examples}),
        "seed": seed,
        "c": settings.c,
        "combined_per_example": settings.combined_per_example,
    }
    return CategoryModel(codes, used.astype(np.int32), weights, intercepts, settings.features, info)


def _combined(
    examples: Sequence[Example], per_example: float, rng: np.random.Generator
) -> Iterable[tuple[str, set[str]]]:
    by_language: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_language[example.language].append(example)
    for language in sorted(by_language):
        pool = by_language[language]
        if len(pool) < 2:
            continue
        for _ in range(round(len(pool) * per_example)):
            size = int(rng.integers(2, min(3, len(pool)) + 1))
            picks = rng.choice(len(pool), size=size, replace=False)
            chosen = [pool[int(i)] for i in picks]
            codes = set().union(*(example.categories for example in chosen))
            if codes - {OTHER}:
                codes.discard(OTHER)  # "other" means none of the rest applies
            yield " ".join(example.text for example in chosen), codes


def _matrix(texts: Sequence[str], settings: FeatureSettings) -> csr_matrix:
    rows = [features(text, settings) for text in texts]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(row) for row in rows])
    indices = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    # Binary, not scaled to unit length: a seed is one or two n-grams and a message a hundred,
    # so scaling would make "工资" weigh 1.0 as a seed but 0.2 inside a message.
    data = np.ones(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(texts), settings.n_features))


def split(
    examples: Sequence[Example], *, test_fraction: float = 0.25, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """Training and held-out lists with the same share of each language, reproducibly."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be between 0 and 1")
    positions: dict[str, list[int]] = defaultdict(list)
    for position, example in enumerate(examples):
        positions[example.language].append(position)
    held: set[int] = set()
    rng = np.random.default_rng(seed)
    for language in sorted(positions):
        members = positions[language]
        # A language with one example can only train; with more, at least one is held out.
        size = min(len(members) - 1, max(1, round(len(members) * test_fraction)))
        held.update(members[int(i)] for i in rng.permutation(len(members))[:size])
    train_part = [e for i, e in enumerate(examples) if i not in held]
    test_part = [e for i, e in enumerate(examples) if i in held]
    return train_part, test_part


@dataclass(frozen=True)
class ModelReport:
    """Precision and recall of a model on held-out examples, micro over codes."""

    threshold: float
    overall: Counts
    by_language: Mapping[str, Counts]


def predicted_codes(probabilities: Mapping[str, float], threshold: float = 0.5) -> set[str]:
    """Codes at or over the threshold; "other" when none is."""
    codes = {code for code, p in probabilities.items() if p >= threshold}
    return codes or {OTHER}


def evaluate_model(
    model: CategoryModel, held_out: Sequence[Example], *, threshold: float = 0.5
) -> ModelReport:
    """Compare the model's codes (probability >= threshold) with each example's labels."""
    by_language: dict[str, Counts] = {}
    for example in held_out:
        truth = set(example.categories)
        predicted = predicted_codes(model.predict(example.text), threshold)
        counts = Counts(
            tp=len(truth & predicted), fp=len(predicted - truth), fn=len(truth - predicted)
        )
        by_language[example.language] = by_language.get(example.language, Counts()) + counts
    overall = sum(by_language.values(), Counts())
    return ModelReport(threshold, overall, dict(sorted(by_language.items())))


def format_model_report(report: ModelReport) -> str:
    """The report as a small fixed-width table."""
    lines = [f"{'lang':<8} {'P':>6} {'R':>6} {'F1':>6}   (threshold {report.threshold})"]
    for language, counts in [*report.by_language.items(), ("(all)", report.overall)]:
        lines.append(
            f"{language:<8} {counts.precision:>6.3f} {counts.recall:>6.3f} {counts.f1:>6.3f}"
        )
    return "\n".join(lines)
