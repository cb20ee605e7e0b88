"""Which configured language an SMS is written in, decided offline in well under a millisecond.

The order of evidence: the writing system (certain, and enough for most Asian scripts), then
marker words a linguist can review in `data/language_markers.toml` (romanised Nepali, Hindi,
Bengali, Tamil, Khmer, Burmese and Thai, Vietnamese without tone marks, Malay versus
Indonesian, Tagalog in Taglish), then the
lingua detector among the configured Latin-script languages, then what we already know: the
reporter's earlier language and the hotline's country (`data/language_countries.toml`).
"""

from __future__ import annotations

import re
import string
import tomllib
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from typing import Any

from lingua import Language, LanguageDetectorBuilder

from intake.pipeline.types import DEFAULT_LANGUAGES, LanguageGuess

__all__ = ["LanguageDetector"]

# Letters by writing system; digits, punctuation and emoji fall outside and count for nothing.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = tuple(
    sorted(
        (
            (0x0041, 0x005A, "Latin"),
            (0x0061, 0x007A, "Latin"),
            (0x00C0, 0x00D6, "Latin"),
            (0x00D8, 0x00F6, "Latin"),
            (0x00F8, 0x02AF, "Latin"),
            (0x1E00, 0x1EFF, "Latin"),
            (0xFF21, 0xFF3A, "Latin"),
            (0xFF41, 0xFF5A, "Latin"),
            (0x0370, 0x03FF, "Greek"),
            (0x0400, 0x052F, "Cyrillic"),
            (0x0530, 0x058F, "Armenian"),
            (0x0590, 0x05FF, "Hebrew"),
            (0x0600, 0x06FF, "Arabic"),
            (0x0750, 0x077F, "Arabic"),
            (0xFB50, 0xFDFF, "Arabic"),
            (0xFE70, 0xFEFF, "Arabic"),
            (0x0900, 0x097F, "Devanagari"),
            (0xA8E0, 0xA8FF, "Devanagari"),
            (0x0980, 0x09FF, "Bengali"),
            (0x0A00, 0x0A7F, "Gurmukhi"),
            (0x0A80, 0x0AFF, "Gujarati"),
            (0x0B80, 0x0BFF, "Tamil"),
            (0x0C00, 0x0C7F, "Telugu"),
            (0x0C80, 0x0CFF, "Kannada"),
            (0x0D00, 0x0D7F, "Malayalam"),
            (0x0D80, 0x0DFF, "Sinhala"),
            (0x0E00, 0x0E7F, "Thai"),
            (0x0E80, 0x0EFF, "Lao"),
            (0x1000, 0x109F, "Myanmar"),
            (0xA9E0, 0xA9FF, "Myanmar"),
            (0xAA60, 0xAA7F, "Myanmar"),
            (0x10A0, 0x10FF, "Georgian"),
            (0x1200, 0x137F, "Ethiopic"),
            (0x1780, 0x17FF, "Khmer"),
            (0x19E0, 0x19FF, "Khmer"),
            (0x1100, 0x11FF, "Hangul"),
            (0x3130, 0x318F, "Hangul"),
            (0xAC00, 0xD7AF, "Hangul"),
            (0x3040, 0x30FF, "Kana"),
            (0x31F0, 0x31FF, "Kana"),
            (0xFF66, 0xFF9F, "Kana"),
            (0x3400, 0x4DBF, "Han"),
            (0x4E00, 0x9FFF, "Han"),
            (0xF900, 0xFAFF, "Han"),
            (0x20000, 0x3134F, "Han"),
        )
    )
)
_RANGE_STARTS = tuple(start for start, _, _ in _SCRIPT_RANGES)
# Character -> script, filled as characters are met; bounded so odd input cannot grow it.
_SCRIPT_CACHE: dict[str, str | None] = {}
_SCRIPT_CACHE_SIZE = 20_000
_UNSEEN = ""

# Non-Latin scripts; the Latin-script languages are the ones lingua lists as such.
_LANGUAGE_SCRIPT: Mapping[str, str] = {
    "zh": "Han", "ja": "Kana", "ko": "Hangul", "th": "Thai", "lo": "Lao", "km": "Khmer",
    "my": "Myanmar", "ta": "Tamil", "bn": "Bengali", "as": "Bengali", "ne": "Devanagari",
    "hi": "Devanagari", "mr": "Devanagari", "ar": "Arabic", "fa": "Arabic", "ur": "Arabic",
    "ru": "Cyrillic", "uk": "Cyrillic", "bg": "Cyrillic", "be": "Cyrillic", "mk": "Cyrillic",
    "sr": "Cyrillic", "kk": "Cyrillic", "mn": "Cyrillic", "el": "Greek", "he": "Hebrew",
    "ka": "Georgian", "hy": "Armenian", "gu": "Gujarati", "pa": "Gurmukhi", "te": "Telugu",
    "kn": "Kannada", "ml": "Malayalam", "si": "Sinhala", "am": "Ethiopic",
}  # fmt: skip

# Words per letter, so that 8 Han characters outweigh "OT salary" but not a whole sentence.
# English loanwords (OT, HR, salary) are everyday inside Thai, Chinese or Khmer messages and
# the reverse hardly happens, so Latin words count half (1/5 letters, halved).
_WORDS_PER_LETTER: Mapping[str, float] = {"Latin": 0.1, "Han": 1 / 1.5, "Kana": 0.5, "Hangul": 0.4}
_DEFAULT_WORDS_PER_LETTER = 0.25

# Lingua calls most formal Indonesian Malay, confidently, so only marker words, the reporter
# or the country decide these; failing all three the first does, as Indonesian speakers
# outnumber Malay speakers several times over, among migrant workers too.
_CONFUSABLE: tuple[tuple[str, ...], ...] = (("id", "ms"),)

# Thresholds, tuned on the shared corpora and the invented cases in tests/test_language.py.
_MIN_LETTERS = 8  # "ok", "help", "hola", a name: too few Latin letters to say anything
_STRONG, _WEAK, _LEAD = 3, 1, 3  # one strong word is a lead; two weak words are not
_SIGNAL_SCORE, _SIGNAL_WORDS = 4, 2  # below this the word lists have no say at all
_SURE_SCORE, _SURE_WORDS, _SURE_SHARE = 7, 3, 0.25  # above this lingua is not even asked
_OVERRIDE_SHARE = 0.2
# Romanised Bengali, Tamil, Khmer... are invisible to lingua, which is then sure of some
# other language: against a sure lingua their words need two strong ones or three in all.
_UNSEEN_SCORE, _UNSEEN_WORDS = 2 * _STRONG, 3
# Lingua (low-accuracy mode) is right 98% of the time above this confidence on 2-12 word
# snippets and 40-75% below it, where markers, the reporter and the country do better.
_LINGUA_SURE = 0.9
_PLAUSIBLE = 0.1
_LINGUA_MAX_CHARS = 240  # cost grows with length; accuracy stopped growing long before
_LINGUA_LOW_ACCURACY = True

_WORD = re.compile(r"\b[^\W\d_]+\b")
# Indic vowel signs are not word characters to `re`: split on spaces and punctuation instead.
_NATIVE_WORD = re.compile(r"[^\s\d!-/:-@\[-`{-~\u0964\u0965\u3000-\u303f\uff01-\uff20]+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff]")
_DROP_ASCII_LETTERS = str.maketrans("", "", string.ascii_letters)


@dataclass(frozen=True)
class _Evidence:
    """What the marker words say: the leading languages (near ties kept) and how strongly."""

    leaders: tuple[str, ...]
    strong: frozenset[str]  # leaders with a strong word's worth of evidence of their own
    score: int
    words: int
    share: float

    @property
    def signal(self) -> bool:
        return self.score >= _SIGNAL_SCORE and self.words >= _SIGNAL_WORDS

    @property
    def sure(self) -> bool:
        enough = self.score >= _SURE_SCORE and self.words >= _SURE_WORDS
        return enough and self.share >= _SURE_SHARE

    @property
    def confidence(self) -> float:
        return round(min(0.95, 0.5 + 0.04 * self.score), 3)


_NO_EVIDENCE = _Evidence((), frozenset(), 0, 0, 0.0)


class LanguageDetector:
    """Detects the language of worker SMS among a fixed, configured set of languages."""

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        """Validate the languages and build lingua once, with its models loaded up front."""
        codes = tuple(dict.fromkeys(code.strip().lower() for code in languages))
        if not codes:
            raise ValueError("at least one language must be configured")
        lingua_by_code = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}
        latin = {lang.iso_code_639_1.name.lower() for lang in Language.all_with_latin_script()}
        scripts = {code: "Latin" if code in latin else _LANGUAGE_SCRIPT.get(code) for code in codes}
        unknown = [code for code, script in scripts.items() if script is None]
        if unknown:
            raise ValueError(f"no way to recognise language code(s): {', '.join(unknown)}")

        self.languages = codes
        self._order = {code: i for i, code in enumerate(codes)}
        by_script: dict[str, list[str]] = {}
        for code, script in scripts.items():
            by_script.setdefault(str(script), []).append(code)
        self._by_script = {script: tuple(found) for script, found in by_script.items()}

        # Lingua only where the script leaves a choice between languages it has models for.
        ask_lingua = [
            code
            for found in self._by_script.values()
            if sum(c in lingua_by_code for c in found) > 1
            for code in found
            if code in lingua_by_code
        ]
        self._lingua_codes = frozenset(ask_lingua)
        self._lingua = None
        if len(ask_lingua) > 1:
            # Low accuracy: 70-150 us per 60-160 character text and +17 MB, against 190-320 us
            # and +169 MB; the 2-4 points it loses on snippets, markers and hints win back.
            builder = LanguageDetectorBuilder.from_languages(
                *(lingua_by_code[c] for c in ask_lingua)
            ).with_preloaded_language_models()
            if _LINGUA_LOW_ACCURACY:
                builder = builder.with_low_accuracy_mode()
            self._lingua = builder.build()

        self._markers = _marker_index(codes)
        self._pair_starts = frozenset(w.split(" ")[0] for w in self._markers if " " in w)
        self._countries, self._default_countries = _country_table()
        self._confusable = {
            code: tuple(c for c in group if c in self._order)
            for group in _CONFUSABLE
            for code in group
            if code in self._order and sum(c in self._order for c in group) > 1
        }

    def detect(
        self, text: str, *, known: str | None = None, country: str | None = None
    ) -> LanguageGuess:
        """Return the language of `text`, falling back to `known`, then `country`."""
        known = known.strip().lower() if known else None
        if known not in self._order:
            known = None
        country = country.strip().upper() if country else None
        if not text.isascii() and not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)

        weights, latin_letters = self._script_weights(text)
        if not weights:
            return self._fallback(known, country)
        script = max(weights, key=lambda s: (weights[s], s != "Latin"))
        if script == "Latin":
            return self._detect_latin(text, latin_letters, known, country)
        share = weights[script] / sum(weights.values())
        return self._detect_script(text, script, share, known, country)

    def _script_weights(self, text: str) -> tuple[dict[str, float], int]:
        """Estimated words per script (scripts we can use only), and the Latin letter count."""
        if text.isascii():
            letters = len(text) - len(text.translate(_DROP_ASCII_LETTERS))
            return ({"Latin": letters * _WORDS_PER_LETTER["Latin"]} if letters else {}), letters
        counts: dict[str, int] = {}
        for char, n in Counter(text).items():
            script = _SCRIPT_CACHE.get(char, _UNSEEN)
            if script is _UNSEEN:
                script = _script_of(char)
                if len(_SCRIPT_CACHE) < _SCRIPT_CACHE_SIZE:
                    _SCRIPT_CACHE[char] = script
            if script is not None:
                counts[script] = counts.get(script, 0) + n
        if "Kana" in counts and "Han" in counts:
            counts["Kana"] += counts.pop("Han")  # kanji inside kana is Japanese
        weights = {
            script: n * _WORDS_PER_LETTER.get(script, _DEFAULT_WORDS_PER_LETTER)
            for script, n in counts.items()
            if script == "Latin" or script in self._by_script
        }
        return weights, counts.get("Latin", 0)

    def _detect_script(
        self, text: str, script: str, share: float, known: str | None, country: str | None
    ) -> LanguageGuess:
        """Decide within one non-Latin script: usually the script alone names the language."""
        candidates = self._by_script[script]
        if len(candidates) == 1:
            return LanguageGuess(candidates[0], round(0.5 + 0.5 * share, 3), "script")
        evidence = self._weigh(_NATIVE_WORD.findall(text.lower()), allowed=candidates)
        if evidence.signal:
            return self._settle(
                evidence.leaders, {}, known, country, evidence.confidence, "lexicon"
            )
        probs = self._lingua_probs(text) if self._lingua_codes & set(candidates) else {}
        return self._settle(candidates, probs, known, country, 0.5, "script")

    def _detect_latin(
        self, text: str, letters: int, known: str | None, country: str | None
    ) -> LanguageGuess:
        """Decide a Latin-script text: marker words and lingua, then what we already know."""
        if letters < _MIN_LETTERS:
            return self._fallback(known, country)

        evidence = self._weigh(_WORD.findall(_fold(text)), allowed=None)
        if evidence.sure and (
            len(evidence.leaders) == 1 or all(code in self._confusable for code in evidence.leaders)
        ):
            return self._settle(
                evidence.leaders, {}, known, country, evidence.confidence, "lexicon"
            )
        probs = self._lingua_probs(text)
        top = max(probs, key=probs.__getitem__) if probs else None

        if evidence.signal:
            if top in evidence.leaders:
                # Lingua agreeing on Malay or Indonesian is no vote: it cannot tell them apart.
                source = "lexicon" if top in self._confusable else "detector"
                return self._settle(
                    evidence.leaders, probs, known, country, evidence.confidence, source
                )
            unseen = all(code not in self._lingua_codes for code in evidence.leaders)
            if (
                top is None
                or evidence.sure
                or (
                    evidence.share >= _OVERRIDE_SHARE
                    and (
                        not unseen
                        or evidence.score >= _UNSEEN_SCORE
                        or evidence.words >= _UNSEEN_WORDS
                    )
                )
                or probs[top] < _LINGUA_SURE
                or any(top in self._confusable.get(c, ()) for c in evidence.leaders)
            ):
                return self._settle(
                    evidence.leaders, probs, known, country, evidence.confidence, "lexicon"
                )

        if top is None:
            candidates = self._by_script.get("Latin", ())
            if len(candidates) == 1:
                return LanguageGuess(candidates[0], 0.6, "script")
            return self._fallback(known, country)
        group = self._confusable.get(top, (top,))
        confidence = sum(probs.get(code, 0.0) for code in group)
        if confidence < _LINGUA_SURE:
            # A strong marker word is evidence about this very text: it beats an unsure
            # lingua and what we know about the reporter.
            hinted = [
                code
                for code in evidence.strong
                if probs.get(code, 0.0) >= _PLAUSIBLE or code not in self._lingua_codes
            ]
            if hinted:
                return self._settle(hinted, probs, known, country, evidence.confidence, "lexicon")
            if known is not None:
                return LanguageGuess(known, 0.5, "reporter")
            plausible = [code for code, p in probs.items() if p >= _PLAUSIBLE]
            fallback = self._country_language(country, among=plausible)
            if fallback is not None and fallback not in group:
                return LanguageGuess(fallback, round(probs[fallback], 3), "country")
        if len(group) > 1:
            return self._settle(group, probs, known, country, confidence, "detector")
        return LanguageGuess(top, round(confidence, 3), "detector")

    def _weigh(self, tokens: Sequence[str], allowed: Iterable[str] | None) -> _Evidence:
        """Score the marker words in `tokens`; near ties between languages are kept."""
        if not tokens:
            return _NO_EVIDENCE
        words_in_text = len(tokens)
        counted = Counter(tokens)
        if self._pair_starts:
            starts = self._pair_starts
            counted.update(f"{a} {b}" for a, b in pairwise(tokens) if a in starts)
        # A word scores once ("je to tak, je to tak" is two weak words); repeats raise the share.
        markers = self._markers
        scores: dict[str, int] = {}
        hits: dict[str, int] = {}
        words: dict[str, int] = {}
        for token, n in counted.items():
            found = markers.get(token)
            if found is None and len(token) > 5 and token.endswith("nya"):
                found = markers.get(token[:-3])
            if found is None:
                continue
            for code, weight in found:
                scores[code] = scores.get(code, 0) + weight
                hits[code] = hits.get(code, 0) + n
                words[code] = words.get(code, 0) + 1
        if allowed is not None:
            keep = set(allowed)
            scores = {code: s for code, s in scores.items() if code in keep}
        if not scores:
            return _NO_EVIDENCE
        best = max(scores.values())
        leaders = tuple(
            sorted((c for c, s in scores.items() if s > best - _LEAD), key=self._order.__getitem__)
        )
        top = max(leaders, key=lambda c: (scores[c], words[c]))
        strong = frozenset(c for c in leaders if scores[c] >= _STRONG)
        return _Evidence(leaders, strong, best, words[top], hits[top] / words_in_text)

    def _lingua_probs(self, text: str) -> dict[str, float]:
        """Lingua's relative confidence for each language it was built with."""
        if self._lingua is None:
            return {}
        values = self._lingua.compute_language_confidence_values(text[:_LINGUA_MAX_CHARS])
        return {
            value.language.iso_code_639_1.name.lower(): value.value
            for value in values
            if value.value > 0.0
        }

    def _settle(
        self,
        candidates: Sequence[str],
        probs: Mapping[str, float],
        known: str | None,
        country: str | None,
        confidence: float,
        source: str,
    ) -> LanguageGuess:
        """Pick one of several plausible languages: reporter, country, lingua, then order."""
        candidates = sorted(candidates, key=self._order.__getitem__)
        if len(candidates) == 1:
            return LanguageGuess(candidates[0], round(confidence, 3), source)
        if known is not None and known in candidates:
            return LanguageGuess(known, round(confidence, 3), "reporter")
        by_country = self._country_language(country, among=candidates)
        if by_country is not None:
            return LanguageGuess(by_country, round(confidence, 3), "country")
        group = self._confusable.get(candidates[0], ())
        if all(code in group for code in candidates):
            first = next(code for code in group if code in candidates)
            return LanguageGuess(first, round(confidence / 2, 3), "default")
        scored = [code for code in candidates if code in probs]
        if scored:
            best = max(scored, key=probs.__getitem__)
            total = sum(probs[code] for code in scored)
            share = probs[best] / total if total else 0.0
            return LanguageGuess(best, round(min(confidence, share), 3), "detector")
        return LanguageGuess(candidates[0], round(confidence / len(candidates), 3), source)

    def _fallback(self, known: str | None, country: str | None) -> LanguageGuess:
        """Nothing in the text decides: the reporter's language, the country's, or the first."""
        if known is not None:
            return LanguageGuess(known, 0.5, "reporter")
        by_country = self._country_language(country, among=None)
        if by_country is not None:
            return LanguageGuess(by_country, 0.3, "country")
        return LanguageGuess(self.languages[0], 0.1, "default")

    def _country_language(self, country: str | None, among: Iterable[str] | None) -> str | None:
        """The first configured (and, if given, allowed) language of the hotline's country."""
        if not country:
            return None
        allowed = set(among) if among is not None else None
        for code in self._countries.get(country, self._default_countries):
            if code in self._order and (allowed is None or code in allowed):
                return code
        return None


def _script_of(char: str) -> str | None:
    """The writing system of one character, or None for digits, punctuation and emoji."""
    point = ord(char)
    i = bisect_right(_RANGE_STARTS, point) - 1
    if i >= 0 and point <= _SCRIPT_RANGES[i][1]:
        return _SCRIPT_RANGES[i][2]
    return None


def _fold(text: str) -> str:
    """Lower-case text without accents or tone marks, the form the marker lists are in."""
    text = text.lower()
    if text.isascii():
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFD", text.replace("đ", "d")))


def _load_toml(name: str) -> dict[str, Any]:
    """One of the reviewable data files beside this module."""
    data = resources.files("intake.pipeline").joinpath("data", name).read_text("utf-8")
    return tomllib.loads(data)


def _strings(value: object, where: str) -> tuple[str, ...]:
    """A list of strings from a data file, or a clear error naming the bad entry."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where} must be a list of strings")
    return tuple(value)


def _marker_index(configured: Sequence[str]) -> dict[str, tuple[tuple[str, int], ...]]:
    """Marker word -> (language, weight) pairs, for the configured languages only."""
    index: dict[str, dict[str, int]] = {}
    for name, table in _load_toml("language_markers.toml").items():
        if not isinstance(table, dict):
            raise ValueError(f"language_markers.toml: [{name}] must be a table")
        languages = _strings(table.get("languages", [name]), f"[{name}].languages")
        credited = [code for code in languages if code in configured]
        if not credited:
            otherwise = _strings(table.get("otherwise", []), f"[{name}].otherwise")
            credited = [code for code in otherwise if code in configured]
        for kind, weight in (("strong", _STRONG), ("weak", _WEAK)):
            for word in _strings(table.get(kind, []), f"[{name}].{kind}"):
                key = " ".join(word.replace("-", " ").split())
                if key.count(" ") > 1:
                    raise ValueError(f"[{name}].{kind}: {word!r} has more than two words")
                found = index.setdefault(unicodedata.normalize("NFC", key.lower()), {})
                for code in credited:
                    found[code] = max(found.get(code, 0), weight)
    return {word: tuple(found.items()) for word, found in index.items() if found}


def _country_table() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Country -> its languages, most likely first; and the row for any other country."""
    data = _load_toml("language_countries.toml")
    countries = data.get("countries", {})
    if not isinstance(countries, dict):
        raise ValueError("language_countries.toml: [countries] must be a table")
    table = {
        region.upper(): _strings(codes, f"countries.{region}")
        for region, codes in countries.items()
    }
    return table, _strings(data.get("default", []), "default")
