"""Label a redacted report with taxonomy codes and the urgent flag, from reviewed lexicons.

Every label comes with the lexicon terms that produced it, so a monitor can see why, and a
linguist can fix a wrong label by editing `lexicons/<lang>.toml` without reading Python.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from types import MappingProxyType

from intake.pipeline.types import (
    CATEGORY_CODES,
    DEFAULT_LANGUAGES,
    Categorization,
    CategoryScore,
)

URGENT = "urgent"
OTHER = "other"
IGNORE = "ignore"
LEXICON_CODES: tuple[str, ...] = tuple(code for code in CATEGORY_CODES if code != OTHER)

# A term from another language's lexicon counts half: code-mixing and misdetected languages are
# common, but so are homographs across Latin-script languages once accents are stripped
# (Czech "časté" is English "caste", Spanish "no le" is Vietnamese "nô lệ").
FOREIGN_WEIGHT = 0.5
# Foreign terms shorter than this (after folding) are ignored in scripts that several lexicons
# share: short words collide across languages far more often than they help.
MIN_FOREIGN_LENGTH = 5
# In languages that glue on suffixes, shorter Latin-script terms are abbreviations (THR, PHK,
# K3) that must match whole words, or they would start half the vocabulary.
MIN_STEM_LENGTH = 4
# Detectors cannot tell Malay from Indonesian on short texts, so each counts as the other.
_SIBLINGS: Mapping[str, frozenset[str]] = MappingProxyType(
    {"ms": frozenset({"id"}), "id": frozenset({"ms"})}
)
_ALWAYS_FULL = frozenset({"en"})  # workers everywhere mix in English ("OT", "salary", "agent")
# A term may name an age as a placeholder ("umur {age}", "{age} வயசு"): it stands for every
# age written in digits, so a linguist writes the phrase once. Ages under 18 are minors; under
# 15 is below the minimum working age in the hotline's countries.
_SLOTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "{age}": tuple(str(age) for age in range(6, 18)),
    "{young_age}": tuple(str(age) for age in range(6, 15)),
})
_SLOT = re.compile(r"\{[a-z_]*\}")

# Letters and marks of scripts that separate words with spaces. A term in these scripts must
# start (and, unless its lexicon says suffixes attach, end) at the edge of such a run. Python's
# \b treats Indic vowel signs and viramas as non-word characters, so it cannot be used here.
_WORD_CLASS = "0-9a-z\u00c0-\u024f\u1e00-\u1eff\u0900-\u0963\u0966-\u0dff"
_WORD_CHAR = re.compile(f"[{_WORD_CLASS}]")
# Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, Han).
_UNSPACED_CLASS = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\u3400-\u9fff\uf900-\ufaff"

_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*\]")
_LATIN_MARKS = re.compile("[\u0300-\u036f]")
_FOLD_CHARS: dict[int, str | None] = {
    0x00AD: None,  # soft hyphen
    0x200B: None,  # zero-width space, typed between Khmer and Myanmar words
    0x200C: None,  # zero-width non-joiner, frequent in Bengali and Nepali text
    0x200D: None,
    0x2060: None,
    0xFEFF: None,
    ord("'"): None,  # "didn't" and "didnt" are both typed
    0x2019: None,
    ord("-"): " ",  # "pang-aabuso", "over-time"
    0x0111: "d",  # Vietnamese đ has no decomposition, so stripping marks misses it
}
# Workers type native digits or ASCII ones ("១២ម៉ោង", "12ម៉ោង"): compare them as ASCII.
for _zero in (0x0966, 0x09E6, 0x0BE6, 0x0E50, 0x1040, 0x17E0):
    _FOLD_CHARS.update({_zero + n: str(n) for n in range(10)})
_FOLD = str.maketrans(_FOLD_CHARS)
# Most texts hold none of those characters; a search is much cheaper than translate().
_FOLD_NEEDED = re.compile("[" + "".join(re.escape(chr(code)) for code in _FOLD_CHARS) + "]")
# Three or more repeats inside a word are emphasis in any script ("ไม่จ่ายยยย", "helppp"); in
# Latin script even doubles go, so "pasport" meets "passport". Digits ("1000") and a word that
# is one letter repeated (the Philippine "SSS") are left alone: the first alternative matches
# such a whole-word run and the template puts it back unchanged.
_TRIPLE = re.compile(r"(\D)\1\1")
_RUN3 = re.compile(r"(?<!\w)(\D)(\1{2,})(?!\w)|(\D)\3{2,}")
_LATIN_DOUBLE = re.compile(r"([a-z])\1+")
_SPACES = re.compile(r"\s+")
# Spaces typed inside a Thai, Khmer, Myanmar or Chinese phrase ("ไม่ จ่าย เงินเดือน") are dropped
# so that multi-word terms still match.
_UNSPACED_GAP = re.compile(
    f"(?<=[{_UNSPACED_CLASS}]) (?=[0-9{_UNSPACED_CLASS}])|(?<=[0-9]) (?=[{_UNSPACED_CLASS}])"
)


class LexiconError(ValueError):
    """A lexicon file is missing or does not follow the documented schema."""


@dataclass(frozen=True)
class Pair:
    """Two term lists: a term from each anywhere in one message counts as one hit."""

    first: tuple[str, ...]
    second: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Lexicon:
    """One language's terms for each taxonomy code, and the terms that make a report urgent."""

    language: str
    categories: Mapping[str, tuple[str, ...]]
    urgent: tuple[str, ...]
    # True for languages that glue suffixes to words (gaji -> gajinya, சம்பளம் -> சம்பளத்தை):
    # a term then also matches the start of a longer word.
    prefix_match: bool = False
    # Per taxonomy code or URGENT: word pairs whose order and distance vary too much for a
    # phrase ("the exit on floor 3 is blocked", "I complained ... they fired me").
    pairs: Mapping[str, tuple[Pair, ...]] = field(default_factory=lambda: MappingProxyType({}))
    # Phrases that contain a term but mean something else (Bengali "ইউনিয়ন পরিষদ" is local
    # government, not a union): they are matched like terms, and then count for nothing.
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Entry:
    target: str  # a taxonomy code, URGENT or IGNORE
    language: str
    term: str  # as written in the lexicon: this is what monitors see
    closed: bool  # must end at a word edge
    penalisable: bool  # foreign use is discounted: the term's script is shared by lexicons
    short: bool
    pair: int = -1  # for pair terms: which pair, and which of its two lists
    side: int = 0


@dataclass(frozen=True)
class _Table:
    pattern: re.Pattern[str]
    entries: Mapping[str, tuple[_Entry, ...]]


@dataclass(frozen=True)
class _Matcher:
    terms: _Table
    pairs: _Table | None


# per target: a key (normalised term, or a pair's id) -> (weight, evidence, first position)
_Hits = dict[str, dict[str, tuple[float, str, int]]]


def normalize(text: str) -> str:
    """Fold text or a term for matching: NFKC, case, Latin accents, repeats and spacing."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFD", text)
        text = _LATIN_MARKS.sub("", text)
        text = unicodedata.normalize("NFC", text)
    if _FOLD_NEEDED.search(text):
        text = text.translate(_FOLD)
    if _TRIPLE.search(text):
        text = _RUN3.sub(r"\1\2\3", text)
    text = _LATIN_DOUBLE.sub(_single_letter(text), text)
    text = _SPACES.sub(" ", text).strip()
    return text if text.isascii() else _UNSPACED_GAP.sub("", text)


def _single_letter(text: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        start, end = match.span()
        alone = (start == 0 or not text[start - 1].isalpha()) and (
            end == len(text) or not text[end].isalpha())
        return match.group() if alone else match.group(1)

    return replace


def load_lexicons(languages: Sequence[str] = DEFAULT_LANGUAGES) -> dict[str, Lexicon]:
    """Read and validate the lexicon of each language; files are read once per process."""
    return dict(_load_cached(tuple(languages)))


@cache
def _load_cached(languages: tuple[str, ...]) -> Mapping[str, Lexicon]:
    folder = resources.files("intake.pipeline").joinpath("lexicons")
    lexicons = {}
    for language in languages:
        path = folder.joinpath(f"{language}.toml")
        if not path.is_file():
            raise LexiconError(f"no lexicon file for language {language!r}")
        lexicons[language] = parse_lexicon(path.read_text(encoding="utf-8"), language)
    return MappingProxyType(lexicons)


def parse_lexicon(source: str, language: str) -> Lexicon:
    """Build a Lexicon from the text of a TOML lexicon file, rejecting anything off-schema."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise LexiconError(f"{language}: not valid TOML: {error}") from error
    if data.get("language") != language:
        raise LexiconError(f"{language}: 'language' must be {language!r}")
    tables = data.get("categories")
    if not isinstance(tables, dict):
        raise LexiconError(f"{language}: missing [categories.<code>] tables")
    unknown = set(tables) - set(LEXICON_CODES)
    if unknown:
        raise LexiconError(f"{language}: unknown category codes {sorted(unknown)}")
    prefix_match = data.get("prefix_match", False)
    if not isinstance(prefix_match, bool):
        raise LexiconError(f"{language}: 'prefix_match' must be true or false")
    categories, pairs = {}, {}
    for target, table in [*((code, tables.get(code)) for code in LEXICON_CODES),
                          (URGENT, data.get(URGENT))]:
        where = f"{language}: {target if target == URGENT else 'categories.' + target}"
        if not isinstance(table, dict):
            raise LexiconError(f"{where}: missing table")
        categories[target] = _strings(table.get("terms"), f"{where}.terms")
        pairs[target] = tuple(
            Pair(_strings(row.get("first"), f"{where}.pairs.first"),
                 _strings(row.get("second"), f"{where}.pairs.second"))
            for row in _rows(table.get("pairs", []), f"{where}.pairs")
        )
    urgent = categories.pop(URGENT)
    ignore = data.get(IGNORE)
    ignored = () if ignore is None else _strings(
        ignore.get("terms") if isinstance(ignore, dict) else None, f"{language}: ignore.terms")
    return Lexicon(language, MappingProxyType(categories), urgent, prefix_match,
                   MappingProxyType({target: rows for target, rows in pairs.items() if rows}),
                   ignored)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise LexiconError(f"{where}: must be a non-empty list")
    if not all(isinstance(term, str) and normalize(term) for term in value):
        raise LexiconError(f"{where}: every term must be a non-empty string")
    return tuple(expanded for term in value for expanded in _expand(term, where))


def _expand(term: str, where: str) -> Iterator[str]:
    found = _SLOT.search(term)
    if found is None:
        yield term
        return
    values = _SLOTS.get(found.group())
    if values is None:
        raise LexiconError(f"{where}: unknown placeholder {found.group()} in {term!r}")
    for value in values:
        yield from _expand(term.replace(found.group(), value, 1), where)


def _rows(value: object, where: str) -> list[dict[str, object]]:
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise LexiconError(f"{where}: must be [[...pairs]] tables with 'first' and 'second'")
    return value


def categorize(
    text: str, language: str, *, lexicons: Mapping[str, Lexicon] | None = None
) -> Categorization:
    """Label one redacted report with taxonomy codes and the urgent flag, with the terms used."""
    matcher = _matcher(tuple((lexicons if lexicons is not None else load_lexicons()).values()))
    # Placeholders are cut before folding: "[NAME]" must not become the word "name".
    folded = normalize(_PLACEHOLDER.sub(" ", text))
    full = _ALWAYS_FULL | _SIBLINGS.get(language, frozenset()) | {language}

    hits: _Hits = {}
    for key, entry, weight, start in _scan(matcher.terms, folded, full):
        _add(hits, entry.target, key, weight, entry.term, start)
    if matcher.pairs is not None:
        _add_pairs(hits, _scan(matcher.pairs, folded, full))

    hits.pop(IGNORE, None)
    urgent = hits.pop(URGENT, {})
    scored = [_score(code, found) for code, found in hits.items()]
    scored.sort(key=lambda item: (-item.score, LEXICON_CODES.index(item.code)))
    return Categorization(
        # "other" is what the taxonomy says a report is when nothing else fits.
        categories=tuple(scored) or (CategoryScore(OTHER, 1.0),),
        urgent=bool(urgent),
        urgent_evidence=_evidence(urgent),
    )


def _scan(table: _Table, folded: str, full: frozenset[str]) -> Iterator[
        tuple[str, _Entry, float, int]]:
    # Matches never overlap and the longest wins, so "fire exit" is not also an urgent "fire".
    for match in table.pattern.finditer(folded):
        key = match.group()
        edge = _WORD_CHAR.match(folded, match.end()) is None
        for entry in table.entries[key]:
            if entry.closed and not edge:
                continue
            if entry.language in full or not entry.penalisable:
                yield key, entry, 1.0, match.start()
            elif not entry.short:
                yield key, entry, FOREIGN_WEIGHT, match.start()


def _add(hits: _Hits, target: str, key: str, weight: float, evidence: str, start: int) -> None:
    found = hits.setdefault(target, {})
    previous = found.get(key)
    # A term repeated in one message counts once, in its best-weighted reading.
    if previous is None or weight > previous[0]:
        found[key] = (weight, evidence, start if previous is None else previous[2])


def _add_pairs(hits: _Hits, scanned: Iterable[tuple[str, _Entry, float, int]]) -> None:
    sides: dict[tuple[int, int], tuple[float, _Entry, int]] = {}
    for _, entry, weight, start in scanned:
        if entry.pair < 0:  # an ignored phrase
            continue
        best = sides.get((entry.pair, entry.side))
        if best is None or weight > best[0]:
            sides[(entry.pair, entry.side)] = (weight, entry, start)
    for (pair, side), (weight, entry, start) in sides.items():
        other = sides.get((pair, 1))
        if side == 0 and other is not None:
            evidence = f"{entry.term} + {other[1].term}"
            _add(hits, entry.target, f"\0{pair}", min(weight, other[0]), evidence,
                 min(start, other[2]))


def _score(code: str, found: Mapping[str, tuple[float, str, int]]) -> CategoryScore:
    # Each distinct term halves the remaining doubt: 1 term 0.5, 2 terms 0.75, 3 terms 0.875.
    weight = sum(hit[0] for hit in found.values())
    return CategoryScore(code, round(1.0 - 0.5**weight, 3), _evidence(found))


def _evidence(found: Mapping[str, tuple[float, str, int]]) -> tuple[str, ...]:
    ordered = sorted(found.values(), key=lambda hit: hit[2])
    return tuple(dict.fromkeys(hit[1] for hit in ordered))


# (normalised key, language, target, term as written, closed, pair number, pair side)
_Row = tuple[str, str, str, str, bool, int, int]


@lru_cache(maxsize=16)
def _matcher(lexicons: tuple[Lexicon, ...]) -> _Matcher:
    terms: list[_Row] = []
    pairs: list[_Row] = []
    number = 0
    for lexicon in lexicons:
        listed_by_target = [*lexicon.categories.items(), (URGENT, lexicon.urgent),
                            (IGNORE, lexicon.ignore)]
        for target, listed in listed_by_target:
            terms.extend(_row(lexicon, term, target) for term in listed)
        # An ignored phrase hides its words from pairs as well ("on the other hand" + "cut").
        pairs.extend(_row(lexicon, term, IGNORE) for term in lexicon.ignore)
        for target, rows in lexicon.pairs.items():
            for pair in rows:
                pairs.extend(_row(lexicon, term, target, number, 0) for term in pair.first)
                pairs.extend(_row(lexicon, term, target, number, 1) for term in pair.second)
                number += 1
    users: dict[str, set[str]] = {}
    for row in [*terms, *pairs]:
        users.setdefault(_script(row[0]), set()).add(row[1])
    shared = {script for script, languages in users.items() if len(languages) > 1}
    paired = any(row[2] != IGNORE for row in pairs)
    return _Matcher(_table(terms, shared), _table(pairs, shared) if paired else None)


def _row(lexicon: Lexicon, term: str, target: str, pair: int = -1, side: int = 0) -> _Row:
    key = normalize(term)
    closed = _WORD_CHAR.fullmatch(key[-1]) is not None and (
        not lexicon.prefix_match or (key.isascii() and len(key) < MIN_STEM_LENGTH)
    )
    return key, lexicon.language, target, term, closed, pair, side


def _table(rows: Iterable[_Row], shared_scripts: set[str]) -> _Table:
    entries: dict[str, list[_Entry]] = {}
    for key, language, target, term, closed, pair, side in rows:
        entry = _Entry(target, language, term, closed, _script(key) in shared_scripts,
                       len(key) < MIN_FOREIGN_LENGTH, pair, side)
        entries.setdefault(key, []).append(entry)
    # A key is matched open if any lexicon lets it run on; closed entries are checked per match.
    open_keys = {key for key, found in entries.items() if not all(e.closed for e in found)}
    return _Table(re.compile(_alternation(entries, open_keys)),
                  MappingProxyType({key: tuple(found) for key, found in entries.items()}))


def _script(key: str) -> str:
    for char in key:
        if char.isalpha():
            return unicodedata.name(char, "UNKNOWN").split()[0]
    return "COMMON"


class _TrieNode:
    __slots__ = ("children", "end")

    def __init__(self) -> None:
        self.children: dict[str, _TrieNode] = {}
        self.end: bool | None = None  # None: no key ends here; True: open end; False: closed


def _alternation(keys: Iterable[str], open_keys: set[str]) -> str:
    """One regex over every key, factored as a trie so each position tries few branches."""
    groups: dict[tuple[str, bool], _TrieNode] = {}
    for key in keys:
        starts_word = _WORD_CHAR.fullmatch(key[0]) is not None
        node = groups.setdefault((_script(key[0]), starts_word), _TrieNode())
        for char in key:
            node = node.children.setdefault(char, _TrieNode())
        node.end = key in open_keys
    # Each position is tested against few branches: a spaced-script key can only start a word,
    # and a class test on the first letter skips every other script's trie.
    spaced: list[str] = []
    unspaced: list[str] = []
    unspaced_first = ""
    for (_, starts_word), root in sorted(groups.items()):
        first = "".join(re.escape(char) for char in sorted(root.children))
        (spaced if starts_word else unspaced).append(f"(?=[{first}]){_trie(root)}")
        unspaced_first += "" if starts_word else first
    branches = []
    if spaced:
        branches.append(f"(?<![{_WORD_CLASS}])(?:{'|'.join(spaced)})")
    if unspaced:
        branches.append(f"(?=[{unspaced_first}])(?:{'|'.join(unspaced)})")
    return "|".join(branches)


def _trie(node: _TrieNode) -> str:
    branches = [re.escape(char) + _trie(child) for char, child in sorted(node.children.items())]
    if node.end is not None:
        # Longer keys are tried first; ending here is the last resort.
        branches.append("" if node.end else f"(?![{_WORD_CLASS}])")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"
