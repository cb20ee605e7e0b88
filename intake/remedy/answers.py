"""Understanding a worker's answer to a check-back survey, from the word lists in data/."""

from __future__ import annotations

import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from intake.models import SurveyAnswer

ANSWERS_FILE = Path(__file__).with_name("data") / "answers.toml"
# The survey says "1 yes, 2 partly, 3 no" in every language.
DIGITS = {1: SurveyAnswer.YES, 2: SurveyAnswer.PARTLY, 3: SurveyAnswer.NO}


def normalize(text: str) -> str:
    """Compatibility-folded, case-folded, punctuation dropped, single spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(c).startswith("P") else c for c in folded)
    return " ".join(kept.split())


@cache
def _words() -> tuple[Mapping[str, Mapping[str, SurveyAnswer]], Mapping[str, SurveyAnswer]]:
    """Per language {phrase: answer}, and the phrases that mean one answer in every language."""
    with ANSWERS_FILE.open("rb") as source:
        data = tomllib.load(source)
    per_language: dict[str, dict[str, SurveyAnswer]] = {}
    meanings: dict[str, set[SurveyAnswer]] = defaultdict(set)
    for language, lists in data.items():
        table = per_language.setdefault(language, {})
        for answer in SurveyAnswer:
            for phrase in lists.get(answer.value, []):
                table[normalize(phrase)] = answer
                meanings[normalize(phrase)].add(answer)
    unambiguous = {phrase: found.pop() for phrase, found in meanings.items() if len(found) == 1}
    return per_language, unambiguous


def _token(token: str, language: str | None) -> SurveyAnswer | None:
    if len(token) == 1 and unicodedata.digit(token, 0) in DIGITS:
        return DIGITS[unicodedata.digit(token)]
    per_language, anywhere = _words()
    own = per_language.get(language or "", {})
    return own.get(token) or anywhere.get(token)


def survey_answer(text: str, language: str | None = None) -> SurveyAnswer | None:
    """The answer `text` gives to a survey, if all of it is one; `language` breaks ties."""
    normalized = normalize(text)
    if not normalized or len(normalized) > 60:
        return None
    whole = _token(normalized, language)
    if whole is not None:
        return whole
    found = {_token(token, language) for token in normalized.split(" ")}
    if len(found) == 1 and None not in found:
        return found.pop()
    return None
