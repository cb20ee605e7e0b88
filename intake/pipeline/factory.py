"""Which factory a text is about: its code, or a name or alias fuzzy-matched in any script."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cached_property

from rapidfuzz import fuzz, process

from intake.pipeline.types import FactoryMatch, FactoryRef

# "F-2931", "EW1042": the formats monitoring partners give factories; configurable.
DEFAULT_FACTORY_CODE_PATTERN = r"\b(?:F|EW)[-\s]?\d{3,5}\b"
# Typos and missing spaces are common in SMS; below this the matches were mostly other words.
FUZZY_CUTOFF = 88.0
# Shorter names ("ABC") only match exactly, as whole words: fuzzy hits on them are noise.
MIN_FUZZY_LENGTH = 5


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _compact(text: str) -> str:
    # Codes are typed as "F-2931", "f2931", "F 2931": compare letters and digits only.
    return re.sub(r"[\W_]+", "", text).upper()


class FactoryFinder:
    """Finds factories in texts; built once from the Factory table, reused for every message."""

    def __init__(self, factories: Sequence[FactoryRef], code_pattern: str) -> None:
        self._code_pattern = re.compile(code_pattern, re.IGNORECASE)
        self._by_code = {_compact(factory.code): factory.code for factory in factories}
        self._names: dict[str, str] = {}
        for factory in factories:
            for name in factory.names:
                folded = _fold(name).strip()
                if folded:
                    self._names.setdefault(folded, factory.code)

    @cached_property
    def _fuzzy_names(self) -> list[str]:
        return [name for name in self._names if len(name) >= MIN_FUZZY_LENGTH]

    def find(self, text: str) -> FactoryMatch | None:
        """The best factory for `text`, or None; a written code beats a name."""
        for match in self._code_pattern.finditer(text):
            written = match.group(0)
            # A code that follows the pattern but is not (yet) in the table is still a fact.
            code = self._by_code.get(_compact(written), re.sub(r"\s+", "", written).upper())
            return FactoryMatch(code=code, score=1.0, evidence=written)
        folded = _fold(text)
        exact = [name for name in self._names if _contains(folded, name)]
        if exact:
            name = max(exact, key=len)
            return FactoryMatch(code=self._names[name], score=1.0, evidence=name)
        if not self._fuzzy_names:
            return None
        best = process.extractOne(
            folded, self._fuzzy_names, scorer=fuzz.partial_ratio, score_cutoff=FUZZY_CUTOFF
        )
        if best is None:
            return None
        name, score, _ = best
        return FactoryMatch(code=self._names[name], score=round(score / 100, 3), evidence=name)


def _contains(text: str, name: str) -> bool:
    start = text.find(name)
    if start < 0:
        return False
    if not name.isascii():
        # Scripts written without spaces (Chinese, Thai, Khmer, Burmese) have no word edges.
        return True
    before = text[start - 1] if start else " "
    end = start + len(name)
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())

