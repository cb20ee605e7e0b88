"""Hide what could identify a worker: phone and ID numbers, emails and the names they give."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import accumulate, islice
from pathlib import Path
from typing import Any, NamedTuple

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from intake.pipeline.types import Redaction

DATA_FILE = Path(__file__).resolve().parent / "data" / "redaction.toml"

PHONE = "PHONE"
ID = "ID"
EMAIL = "EMAIL"
NAME = "NAME"

# When two detectors claim overlapping text, the union is hidden and the most specific names it.
_RANK_EMAIL = 6
_RANK_NAME = 5
_RANK_ID_FORMAT = 4
_RANK_VALID_PHONE = 3
_RANK_ID_LENGTH = 2
_RANK_POSSIBLE_PHONE = 1
_RANK_DIGIT_RUN = 0

# Kept text is overwritten with this before numbers are searched: not a digit, not a separator.
_MASK = "_"
# Run style: Thai, Khmer and Burmese write a name and what follows without a space.
_RUN_CAP = 24
# The phone matcher costs ~0.2 ms a candidate, 2-5 s on a 60 KB body of numbers: it reads at
# most this many numbers (and as many failed tries) a region, more than an SMS of 1,600
# characters can hold. Whatever it leaves unread, the digit-run pass below still hides.
_MAX_PHONE_TRIES = 100
# ITU-T E.164 numbers have at most 15 digits; a longer run is an ID.
_MAX_PHONE_DIGITS = 15

# How sure a phrase is that a name follows it; see `[names]` in the data file.
_STRONG = 0  # "my name is": whatever follows
_WEAK = 1  # "I am": a capitalised word that is no stop word
_INTRO = 2  # "ami", "ผม": as weak, and closed at once by a closer, punctuation or a number
_STRICT_INTRO = 3  # "si ... ito": as weak, and closed by a closer word

# RFC 5321 bounds (local part 64, domain label 63): unbounded runs made this quadratic, 20 s
# for "a" * 30000 + "@" + "b" * 30000. Labels hold no dot, so their repetition cannot backtrack.
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
# Digits joined by what people put between the digits of a phone number. A comma joins only
# without a space after it, so "rooms 301, 302, 303" stays three numbers.
_DIGIT_RUN = re.compile(
    r"(?<!\d)\+?\(?\d+(?:(?:[ \t]?[-./~()*·‧•]{1,2}[ \t]?|[ \t]{1,2}|\n|,)\d+)*"
)
_BURMESE_WA_RUN = re.compile(r"[0-9ဝ]{2,}")
_TIME = re.compile(r"(?<![\d:])(?:[01]?\d|2[0-3])[:h][0-5]\d(?::[0-5]\d)?(?![\d:])")
_DATE = re.compile(
    r"(?<!\d)(?:"
    r"(?:19|20|25)\d\d(?P<a>[-./])(?:0?[1-9]|1[0-2])(?P=a)(?:0?[1-9]|[12]\d|3[01])"
    r"|(?:0?[1-9]|[12]\d|3[01])(?P<b>[-./])(?:0?[1-9]|[12]\d|3[01])(?P=b)(?:19|20|25)\d\d"
    r")(?!\d)"
)
# Thousands in groups of three ("1,200,000"), Indian lakhs ("1,20,000") or a plain amount.
_AMOUNT = (
    r"(?<![\d.,])(?:[1-9]\d{0,2}(?P<g>[,. ])\d{3}(?:(?P=g)\d{3})*"
    r"|[1-9]\d?(?:,\d\d)+,\d{3}|[1-9]\d{0,9})(?:[.,]\d{1,2})?(?!\d)"
)
_GROUPED = re.compile(
    r"(?<![\d.,])[1-9]\d{0,2}(?P<g>[,.])\d{3}(?:(?P=g)\d{3})+(?:[.,]\d\d?)?(?!\d)"
)
# What may stand between a kept number and other digits without making them one number.
_GLUE = frozenset(" \t\n,-./~()*·‧•")
_NAME_SEPARATORS = frozenset(" \t\r\n:=-\"'“”«»")
# What ends a self-introduction that has no verb: "ami Sumon, 012…", "ma Sita. …"
_CLOSING = frozenset(',.;:!?()[]{}<>|"“”-/、。，！？：；…।॥។៕။၊')
_PUNCTUATION = r".,;:!?()\[\]{}\"“”<>\\|_、。…।॥។៕။၊"
_MAX_TOKEN = 64
# A word of a name: anything up to whitespace, punctuation or a digit; "a/l" stays one word.
# Bounded, as no name is longer: an unspaced phrase repeated ("ผมชื่อผมชื่อ...") would read the
# rest of the text once per phrase.
_TOKEN = re.compile(rf"(?:[^\s\d/{_PUNCTUATION}]|/(?=[^\W\d_])){{1,{_MAX_TOKEN}}}")
# A chat-app account name: "prasert_ew", "@nong.may"; it must hold a Latin letter.
_HANDLE = r"(?P<value>@?[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?)(?![A-Za-z0-9_])"
_BARE_HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z0-9_](?:[A-Za-z0-9._]*[A-Za-z0-9_])?(?![\w@])")
# Nobody writes "hoa_92" or "prasert_ew" but as an account name.
_UNDERSCORED = re.compile(r"(?<![\w.@])[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+(?![\w@])")
_MIN_HANDLE = 3


class _Span(NamedTuple):
    start: int
    end: int
    kind: str
    rank: int


@dataclass(frozen=True)
class _NameRule:
    style: str  # "words" | "han" | "run"
    level: int  # _STRONG, _WEAK, _INTRO or _STRICT_INTRO
    surname_first: bool
    surname_only: bool
    max_words: int
    skip: tuple[str, ...]
    titles: tuple[str, ...]
    closers: tuple[str, ...]
    closer_may_glue: bool
    verb_endings: tuple[str, ...]
    stop_words: frozenset[str]
    cut_words: tuple[str, ...]
    not_names: tuple[str, ...]
    particles: frozenset[str]
    surnames: frozenset[str]
    compound_surnames: frozenset[str]
    stop_chars: frozenset[str]

    @property
    def weak(self) -> bool:
        return self.level >= _WEAK


@dataclass(frozen=True)
class _Rules:
    fold: dict[int, int]
    min_digits: int
    min_id_digits: int
    id_lengths: frozenset[int]
    id_formats: re.Pattern[str]
    badges: re.Pattern[str]
    money: tuple[re.Pattern[str], ...]
    handles: re.Pattern[str]
    app_names: frozenset[str]
    not_handles: frozenset[str]
    name_phrases: re.Pattern[str]
    name_rules: dict[str, _NameRule]
    greetings: re.Pattern[str]
    opening: _NameRule | None


def redact(text: str, *, regions: Sequence[str] = ()) -> Redaction:
    """Replace phone numbers, ID numbers, emails and self-given names with typed placeholders."""
    rules = _rules()
    if not unicodedata.is_normalized("NFC", text):
        # Decomposed Vietnamese would slip past the phrases; NFC reads the same to a monitor.
        text = unicodedata.normalize("NFC", text)
    folded = _fold(text, rules)
    found = [*_emails(folded), *_handles(folded, rules), *_names(folded, rules)]
    digits = _digit_count(folded)
    # Most messages carry few digits; the number searches below are the costly part.
    if digits >= rules.min_id_digits:
        found.extend(_id_formats(folded, rules))
        found.extend(_badges(folded, rules))
    if digits >= rules.min_digits:
        phone_regions = _phone_regions(tuple(regions))
        masked = _mask_kept(folded, found, rules, phone_regions)
        found.extend(_numbers(masked, rules, phone_regions))
    return _replace(text, found)


@cache
def _rules() -> _Rules:
    with DATA_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    fold = _fold_table()
    numbers, handles = data["numbers"], data["handles"]
    formats = "|".join(f"(?:{entry['pattern']})" for entry in data["id_formats"])
    return _Rules(
        fold=fold,
        min_digits=int(numbers["min_digits"]),
        min_id_digits=int(numbers["min_id_digits"]),
        id_lengths=frozenset(int(n) for n in numbers["id_lengths"]),
        id_formats=re.compile(rf"(?<![0-9A-Za-z+])(?:{formats})(?![0-9A-Za-z])", re.IGNORECASE),
        badges=re.compile(
            _phrase_pattern(data["badges"]["phrases"], fold)
            + r"[\s:#.,=号號是為为-]{0,4}(?P<value>(?:[A-Z]{1,3}[ -]?)?\d[\dA-Z-]*)",
            re.IGNORECASE,
        ),
        money=_money_patterns(data["keep"], fold),
        handles=re.compile(
            "(?P<phrase>"
            + _phrase_pattern([*handles["phrases"], *handles["app_names"]], fold)
            + r")[\s:：=-]{0,3}"
            + _HANDLE,
            re.IGNORECASE,
        ),
        app_names=frozenset(_key(w.translate(fold)) for w in handles["app_names"]),
        not_handles=frozenset(w.lower() for w in handles["not_handles"]),
        name_phrases=re.compile(_phrase_pattern(_all_phrases(data["names"]), fold), re.IGNORECASE),
        name_rules=_name_rules(data["names"], fold),
        greetings=re.compile(
            r"(?:[\W_]*(?:" + _phrase_pattern(_greetings(data["names"]), fold) + r"))*[\W_]*",
            re.IGNORECASE,
        ),
        opening=_opening_rule(data["names"], fold),
    )


def _fold_table() -> dict[int, int]:
    # One code point for one, so offsets in the folded text are offsets in the original.
    table = {
        code: ord("0") + unicodedata.decimal(chr(code))
        for code in range(0x80, 0x110000)
        if chr(code).isdecimal()
    }
    table.update({code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)})
    # U+200B: Khmer and Burmese separate words with a zero-width space.
    table.update(
        {
            ord(c): ord(" ")
            for c in "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004"
            "\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u202f\u205f\u3000"
        }
    )
    table.update({ord(c): ord("-") for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"})
    table.update({ord(c): ord("'") for c in "\u2018\u2019\u02bc"})
    return table


def _fold(text: str, rules: _Rules) -> str:
    folded = text.translate(rules.fold)
    if "ဝ" in folded:
        folded = _BURMESE_WA_RUN.sub(_wa_to_zero, folded)
    return folded


def _wa_to_zero(match: re.Match[str]) -> str:
    # Burmese writers often type the letter wa "ဝ" for the digit zero "၀" in phone numbers.
    run = match.group()
    return run.replace("ဝ", "0") if any(c.isdigit() for c in run) else run


def _key(phrase: str) -> str:
    return "".join(phrase.lower().split())


def _unspaced(char: str) -> bool:
    code = ord(char)
    return (
        0x0E00 <= code <= 0x0E7F  # Thai
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0x1780 <= code <= 0x17FF  # Khmer
        or 0x3000 <= code <= 0x9FFF  # CJK
        or 0xF900 <= code <= 0xFAFF
    )


def _phrase_pattern(phrases: Iterable[str], fold: dict[int, int]) -> str:
    spaced: list[str] = []
    unspaced: list[str] = []
    for phrase in phrases:
        phrase = " ".join(phrase.translate(fold).lower().split())
        (unspaced if _unspaced(phrase[0]) else spaced).append(phrase)
    # Indic vowel signs are not \w, so they are named to keep "नाम" from matching in "नामा".
    words = _trie(spaced, r"\s+")
    pattern = rf"(?<![\w\u0900-\u0dff])(?:{words})(?![\w\u0300-\u036f\u0900-\u0dff])"
    if unspaced:
        # A Thai leading vowel before the phrase makes another word: "เชื่อ" is not "ชื่อ".
        pattern += r"|(?<![\u0e40-\u0e44])(?:" + _trie(unspaced, r"\s*") + ")"
    return f"(?:{pattern})"


def _trie(words: Iterable[str], space: str) -> str:
    # A trie keeps the alternation fast: re would otherwise try every phrase at every position.
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def walk(node: dict[str, Any]) -> str:
        branches = [
            (space if char == " " else "['’]" if char == "'" else re.escape(char)) + walk(child)
            for char, child in sorted(node.items())
            if char
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return walk(root)


# Phrase lists of a `[names.*]` table, how sure each is, and whether only a surname follows.
_PHRASE_KINDS = (
    ("phrases", _STRONG, False, False),
    ("weak_phrases", _WEAK, False, False),
    ("surname_first_phrases", _WEAK, True, False),
    ("surname_phrases", _STRONG, False, True),
    ("intro_phrases", _INTRO, False, False),
    ("strict_intro_phrases", _STRICT_INTRO, False, False),
)


def _phrases(table: dict[str, Any], key: str) -> Iterator[str]:
    # "{I} tên là" stands for "tôi tên là", "em tên là", ... with each of the table's pronouns.
    for phrase in table.get(key, ()):
        if "{I}" in phrase:
            yield from (phrase.replace("{I}", pronoun) for pronoun in table["pronouns"])
        else:
            yield phrase


def _all_phrases(names: dict[str, Any]) -> Iterator[str]:
    for table in names.values():
        for key, *_ in _PHRASE_KINDS:
            yield from _phrases(table, key)


def _greetings(names: dict[str, Any]) -> Iterator[str]:
    for table in names.values():
        if table.get("opening_closers"):
            yield from table.get("greetings", ())


def _words(table: dict[str, Any], key: str, fold: dict[int, int]) -> tuple[str, ...]:
    # Longest first, so "md." is tried before "md" and "ပါရှင်" before "ပါ".
    folded = {w.translate(fold).lower() for w in table.get(key, ())}
    return tuple(sorted(folded, key=len, reverse=True))


def _base_rule(table: dict[str, Any], fold: dict[int, int]) -> _NameRule:
    def words(key: str) -> tuple[str, ...]:
        return _words(table, key, fold)

    stop = [w.lower() for w in table.get("stop_words", ())]
    return _NameRule(
        style=table["style"],
        level=_STRONG,
        surname_first=False,
        surname_only=False,
        max_words=int(table.get("max_words", 3)),
        skip=words("skip") + words("titles"),
        titles=words("titles"),
        closers=words("closers"),
        closer_may_glue=bool(table.get("closer_may_glue", False)),
        verb_endings=words("verb_endings"),
        stop_words=frozenset(stop),
        cut_words=tuple(w for w in stop if len(w) >= 3),
        not_names=tuple(w.lower() for w in table.get("not_names", ())),
        particles=frozenset(w.lower() for w in table.get("particles", ())),
        surnames=frozenset(table.get("surnames", "").lower().split()),
        compound_surnames=frozenset(table.get("compound_surnames", "").split()),
        stop_chars=frozenset(table.get("stop_chars", "")),
    )


def _name_rules(names: dict[str, Any], fold: dict[int, int]) -> dict[str, _NameRule]:
    rules: dict[str, _NameRule] = {}
    for table in names.values():
        base = _base_rule(table, fold)
        for key, level, surname_first, surname_only in _PHRASE_KINDS:
            rule = replace(
                base, level=level, surname_first=surname_first, surname_only=surname_only
            )
            for phrase in _phrases(table, key):
                phrase_key = _key(phrase.translate(fold))
                # "nama saya" is Malay and Indonesian: hide by the union of both tables.
                rules[phrase_key] = _merge(rules[phrase_key], rule) if phrase_key in rules else rule
    return rules


def _opening_rule(names: dict[str, Any], fold: dict[int, int]) -> _NameRule | None:
    # "Rhea Villanueva po, ..." and "Anan here, ...": a message may open with the name itself.
    rule: _NameRule | None = None
    for table in names.values():
        if table.get("opening_closers"):
            closers = _words(table, "opening_closers", fold)
            own = replace(_base_rule(table, fold), level=_STRICT_INTRO, closers=closers)
            rule = own if rule is None else _merge(rule, own)
    return rule


def _merge(a: _NameRule, b: _NameRule) -> _NameRule:
    # A phrase shared by two languages is read by the less demanding of their rules.
    return _NameRule(
        style=a.style,
        level=min(a.level, b.level),
        surname_first=a.surname_first and b.surname_first,
        surname_only=a.surname_only and b.surname_only,
        max_words=max(a.max_words, b.max_words),
        skip=a.skip + b.skip,
        titles=a.titles + b.titles,
        closers=a.closers + b.closers,
        closer_may_glue=a.closer_may_glue or b.closer_may_glue,
        verb_endings=a.verb_endings + b.verb_endings,
        stop_words=a.stop_words | b.stop_words,
        cut_words=a.cut_words + b.cut_words,
        not_names=a.not_names + b.not_names,
        particles=a.particles | b.particles,
        surnames=a.surnames | b.surnames,
        compound_surnames=a.compound_surnames | b.compound_surnames,
        stop_chars=a.stop_chars | b.stop_chars,
    )


def _money_patterns(keep: dict[str, Any], fold: dict[int, int]) -> tuple[re.Pattern[str], ...]:
    def alternation(markers: Iterable[str], latin: bool) -> str:
        chosen = {m.translate(fold) for m in markers if (m.translate(fold)[-1].isascii()) == latin}
        return "|".join(re.escape(m) for m in sorted(chosen, key=len, reverse=True))

    before, after = keep["currency_before"], keep["currency_after"]
    # A Latin-letter marker must be a whole word: "3000 bahts" yes, "12 days" no.
    marker_before = (
        rf"(?:(?<![^\W\d_])(?:{alternation(before, True)})|{alternation(before, False)})"
    )
    marker_after = rf"(?:(?:{alternation(after, True)})(?![^\W\d_])|{alternation(after, False)})"
    return (
        re.compile(rf"{marker_before} ?{_AMOUNT}", re.IGNORECASE),
        re.compile(rf"{_AMOUNT} ?{marker_after}", re.IGNORECASE),
    )


@cache
def _phone_regions(regions: tuple[str, ...]) -> tuple[str, ...]:
    known = phonenumbers.SUPPORTED_REGIONS
    chosen = tuple(dict.fromkeys(r.upper() for r in regions if r.upper() in known))
    # "ZZ" (unknown) still finds numbers written with a +country code.
    return chosen or ("ZZ",)


def _emails(folded: str) -> Iterator[_Span]:
    if "@" in folded:
        for match in _EMAIL.finditer(folded):
            yield _Span(match.start(), match.end(), EMAIL, _RANK_EMAIL)


def _handles(folded: str, rules: _Rules) -> Iterator[_Span]:
    for match in rules.handles.finditer(folded):
        value = match.group("value")
        if not _is_handle(value) or value.lower() in rules.not_handles:
            continue
        if _key(match.group("phrase")) in rules.app_names and not _looks_like_account(value):
            continue  # "facebook group", "zalo Tak": words, not accounts
        yield _Span(match.start("value"), match.end("value"), ID, _RANK_ID_FORMAT)
    for marker, pattern in (("@", _BARE_HANDLE), ("_", _UNDERSCORED)):
        if marker in folded:
            for match in pattern.finditer(folded):
                if _is_handle(match.group()):
                    yield _Span(match.start(), match.end(), ID, _RANK_ID_FORMAT)


def _is_handle(value: str) -> bool:
    name = value.lstrip("@")
    return len(name) >= _MIN_HANDLE and any(c.isascii() and c.isalpha() for c in name)


def _looks_like_account(value: str) -> bool:
    return value.startswith("@") or any(c.isdigit() or c in "._" for c in value)


def _id_formats(folded: str, rules: _Rules) -> Iterator[_Span]:
    for match in rules.id_formats.finditer(folded):
        yield _Span(match.start(), match.end(), ID, _RANK_ID_FORMAT)


def _badges(folded: str, rules: _Rules) -> Iterator[_Span]:
    for match in rules.badges.finditer(folded):
        yield _Span(match.start("value"), match.end("value"), ID, _RANK_ID_FORMAT)


def _names(folded: str, rules: _Rules) -> Iterator[_Span]:
    greeted = rules.greetings.match(folded)
    if rules.opening is not None and greeted is not None:
        start = _skip_words(folded, greeted.end(), rules.opening.titles)
        # Only Latin-script languages open with a bare name, and it is capitalised.
        end = (
            _intro_name(folded, start, rules.opening)
            if folded[start : start + 1].isupper()
            else start
        )
        if end > start:
            yield _Span(start, end, NAME, _RANK_NAME)
    for match in rules.name_phrases.finditer(folded):
        rule = rules.name_rules[_key(match.group())]
        if rule.weak and rule.style == "run" and not _word_start(folded, match.start()):
            continue  # "รายชื่อ" (a list of names) is not "ชื่อ" (name: ...)
        if match.end() < len(folded) and _is_mark(folded[match.end()]):
            continue  # the phrase ends inside a syllable: "ကျမ" in "ကျမ်း"
        if rule.level >= _INTRO:
            start = _skip_words(folded, match.end(), rule.titles)
            end = _intro_name(folded, start, rule)
            if end > start:
                yield _Span(start, end, NAME, _RANK_NAME)
            continue
        start = _skip_words(folded, match.end(), rule.skip)
        if start >= len(folded):
            continue
        if rule.style == "han" and not folded[start].isascii():
            end = _han_name(folded, start, rule)
        elif rule.style == "run" and not folded[start].isascii():
            end = _run_name(folded, start, rule)
        else:
            end = _word_name(folded, start, rule)
        if end > start:
            yield _Span(start, end, NAME, _RANK_NAME)


def _word_start(text: str, index: int) -> bool:
    return index == 0 or not (text[index - 1].isalnum() or _is_mark(text[index - 1]))


def _skip_words(text: str, index: int, skip: tuple[str, ...]) -> int:
    for _ in range(4):
        while index < len(text) and text[index] in _NAME_SEPARATORS:
            index += 1
        for word in skip:
            end = index + len(word)
            if text[index:end].lower() != word:
                continue
            if _unspaced(word[0]) or end >= len(text) or not text[end].isalnum():
                index = end
                break
        else:
            return index
    return index


def _word_name(text: str, start: int, rule: _NameRule) -> int:
    words: list[tuple[str, int]] = []
    position = start
    while len(words) < rule.max_words + 4:
        match = _TOKEN.match(text, position)
        if match is None:
            break
        word = match.group().rstrip("'-")
        if not word:
            break
        end = match.start() + len(word)
        if text[end : end + 1].isdigit():
            break  # "Mp3", "Line7": a word glued to digits is no name
        if len(word) == 1 and text[end : end + 1] == ".":
            end += 1  # an initial: "Maria J. Santos"
        words.append((word, end))
        if text[end : end + 1] != " ":
            break
        position = end + 1
    if not words:
        return start
    first, end = words[0]
    lower = first.lower()
    if rule.weak and (
        not first[0].isupper() or lower in rule.stop_words or lower in rule.not_names
    ):
        return start
    if rule.surname_first and lower not in rule.surnames:
        return start  # "a la Tran Van Minh" is Vietnamese; "a la Junta" is Spanish
    mode = "upper" if first[0].isupper() else "lower" if first[0].islower() else "uncased"
    count, index = 1, 1
    while index < len(words) and count < rule.max_words:
        if words[index][0].lower() in rule.particles:
            # "de la Cruz", "bin Ahmad": a particle belongs to the name only if a name follows.
            after = index
            while after < len(words) and words[after][0].lower() in rule.particles:
                after += 1
            if after == len(words) or not _continues_name(words[after][0], mode, rule):
                break
            index = after
        word, word_end = words[index]
        if not _continues_name(word, mode, rule):
            break
        end, count, index = word_end, count + 1, index + 1
    return end


def _continues_name(word: str, mode: str, rule: _NameRule) -> bool:
    lower = word.lower()
    if mode == "upper":
        # A capitalised name ends at the first lower-case word; SHOUTED text also at stop words.
        shouted_stop = word.isupper() and len(word) > 1 and lower in rule.stop_words
        return word[0].isupper() and not shouted_stop
    return lower not in rule.stop_words


def _intro_name(text: str, start: int, rule: _NameRule) -> int:
    # A name said without a verb ("ami Sumon, ...", "ผม สมชาย ครับ") is only taken when something
    # closes it at once; "ami kaj kori" and "ผมเหนื่อยมาก" run on and are left alone.
    if start >= len(text):
        return start
    if rule.style == "run" and not text[start].isascii():
        return _run_intro(text, start, rule)
    position, end, count = start, start, 0
    mode = ""
    while count < rule.max_words:
        match = _TOKEN.match(text, position)
        if match is None:
            return start
        word = match.group().rstrip("'-")
        word_end = match.start() + len(word)
        lower = word.lower()
        if not word or text[word_end : word_end + 1].isdigit():
            return start
        if not mode:
            mode = "upper" if word[0].isupper() else "lower" if word[0].islower() else "uncased"
            if mode == "lower" or not word[0].isalpha():
                return start  # "ami kaj", "It is *very* good"
        if lower in rule.stop_words or lower in rule.not_names or _ends_like_verb(lower, rule):
            return start
        if mode == "upper" and not word[0].isupper():
            if lower not in rule.particles:
                return start  # "ma Nepal ma kaam" : the name would have to end at "Nepal"
        else:
            end, count = word_end, count + 1
            if _closed(text, end, rule):
                return end
        position = word_end
        while position < len(text) and text[position] in " \t":
            position += 1
    return start


def _run_intro(text: str, start: int, rule: _NameRule) -> int:
    position = start
    for chunk_number in range(rule.max_words):
        match = _TOKEN.match(text, position)
        if match is None:
            return start
        chunk = match.group().lower()
        if chunk in rule.stop_words or chunk.startswith(rule.cut_words + rule.not_names):
            return start  # as in _run_name, a short stop word counts only as a whole chunk
        if chunk_number == 0 and chunk.startswith(rule.closers):
            return start
        cuts = [at for word in (*rule.cut_words, *rule.closers) if (at := chunk.find(word, 2)) > 0]
        length = min([*cuts, len(chunk), _RUN_CAP])
        end = match.start() + length
        if _closed(text, end, rule):
            return end
        if length < len(chunk) or text[end : end + 1] != " ":
            return start
        position = end + 1
    return start


def _ends_like_verb(word: str, rule: _NameRule) -> bool:
    return word.endswith(rule.verb_endings) and word not in rule.verb_endings


def _closed(text: str, end: int, rule: _NameRule) -> bool:
    index = _skip_space(text, end)
    closer = _closer_at(text, index, rule)
    if rule.level == _STRICT_INTRO:
        # "si Mark ito, ..." yes; "Sana po ba ..." (a sentence, not a name) no.
        return closer is not None and (
            _punctuated(text, closer)
            or _closer_at(text, _skip_space(text, closer), rule) is not None
        )
    return closer is not None or "\n" in text[end:index] or _punctuated(text, index)


def _punctuated(text: str, index: int) -> bool:
    index = _skip_space(text, index)
    return index >= len(text) or text[index] in _CLOSING or text[index] in "+0123456789"


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _closer_at(text: str, index: int, rule: _NameRule) -> int | None:
    """Where the closer word at `index` ends, if there is one."""
    for closer in rule.closers:
        end = index + len(closer)
        if text[index:end].lower() != closer:
            continue
        # Burmese "ပါ" closes a name, "ပါတယ်" ends a verb; Thai "ครับ" may run on into the next word.
        if rule.closer_may_glue or end >= len(text) or not _is_letter(text[end]):
            return end
    return None


def _is_letter(char: str) -> bool:
    return char.isalpha() or _is_mark(char)


def _is_mark(char: str) -> bool:
    # Vowel signs and tone marks: "ာ" and "်" belong to the letter before them.
    return unicodedata.category(char).startswith("M")


def _han_name(text: str, start: int, rule: _NameRule) -> int:
    if rule.weak and any(text.startswith(word, start) for word in rule.not_names):
        return start
    if text[start : start + 2] in rule.compound_surnames:
        index, has_surname, given_max = start + 2, True, 2
    elif text[start] in rule.surnames:
        index, has_surname, given_max = start + 1, True, 2
    elif rule.weak or not _is_han(text[start]):
        return start
    else:
        index, has_surname, given_max = start + 1, False, 2
    if rule.surname_only:
        return index
    given = 0
    while given < given_max and index < len(text) and _is_han(text[index]):
        if (given or not has_surname) and text[index] in rule.stop_chars:
            break
        index, given = index + 1, given + 1
    if rule.weak and given == 0:
        return start
    return index


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _run_name(text: str, start: int, rule: _NameRule) -> int:
    end, position = start, start
    for chunk_number in range(rule.max_words):
        match = _TOKEN.match(text, position)
        if match is None:
            break
        chunk = match.group().lower()
        # Short stop words only as a whole chunk: "มา" (come) must not stop the name "มานพ".
        opens_with_stop = chunk in rule.stop_words or chunk.startswith(rule.cut_words)
        if (
            chunk_number == 0
            and rule.weak
            and (opens_with_stop or chunk.startswith(rule.not_names))
        ):
            return start
        if chunk_number > 0 and opens_with_stop:
            break
        cuts = [at for word in rule.cut_words if (at := chunk.find(word, 2)) > 0]
        length = min([*cuts, len(chunk), _RUN_CAP])
        end = match.start() + length
        if length < len(chunk) or text[end : end + 1] != " ":
            break
        position = end + 1
    return end


def _mask_kept(folded: str, found: list[_Span], rules: _Rules, regions: tuple[str, ...]) -> str:
    masked = folded
    # claimed[i]: how many characters before i some detector already hides; one pass over the
    # spans, so checking a kept number against them costs nothing however many there are.
    claimed = list(accumulate((_covered(found, len(folded))), initial=0))
    for pattern in (_TIME, _DATE, *rules.money, _GROUPED):
        kept = [
            (m.start(), m.end())
            for m in pattern.finditer(masked)
            # A colon never joins phone digits, so a time is kept even right after a date.
            if (pattern is _TIME or not _glued(masked, m.start(), m.end()))
            and claimed[m.end()] == claimed[m.start()]
            # Unmarked "601.123.456" is a Czech mobile, "15.000.000" rupiah: ask the dialling plan.
            and (pattern is not _GROUPED or not _is_phone(m.group(), regions))
        ]
        if kept:
            parts, position = [], 0
            for start, end in kept:
                parts += [masked[position:start], _MASK * (end - start)]
                position = end
            masked = "".join([*parts, masked[position:]])
    return masked


def _covered(spans: list[_Span], length: int) -> list[int]:
    """1 for each character inside one of `spans`, else 0."""
    marks = [0] * (length + 1)
    for span in spans:
        marks[span.start] += 1
        marks[span.end] -= 1
    return [1 if depth else 0 for depth in accumulate(marks[:length])]


def _glued(text: str, start: int, end: int) -> bool:
    # "15.10.2026 12 34 56" may be a phone number that happens to start like a date.
    before = start - 1
    if before >= 0 and text[before] in _GLUE:
        before -= 1
    if before >= 0 and (text[before].isdigit() or text[before] == "+"):
        return True
    after = end
    if after < len(text) and text[after] in _GLUE:
        after += 1
    return after < len(text) and text[after].isdigit()


def _is_phone(candidate: str, regions: tuple[str, ...]) -> bool:
    for region in regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


def _numbers(masked: str, rules: _Rules, regions: tuple[str, ...]) -> list[_Span]:
    if _digit_count(masked) < rules.min_digits:
        return []  # the phone matcher costs ~30 µs a region; most messages skip it here
    found: list[_Span] = []
    for region in regions:
        matcher = PhoneNumberMatcher(
            masked, region, leniency=Leniency.POSSIBLE, max_tries=_MAX_PHONE_TRIES
        )
        for phone in islice(matcher, _MAX_PHONE_TRIES):
            if _digit_count(phone.raw_string) >= rules.min_digits:
                valid = phonenumbers.is_valid_number(phone.number)
                rank = _RANK_VALID_PHONE if valid else _RANK_POSSIBLE_PHONE
                found.append(_Span(phone.start, phone.end, PHONE, rank))
    # Anything the matcher did not vouch for is still hidden if it is long enough.
    for match in _DIGIT_RUN.finditer(masked):
        run = match.group()
        digits = _digit_count(run)
        if digits < rules.min_digits:
            continue
        if run.isdigit() and digits in rules.id_lengths:
            found.append(_Span(match.start(), match.end(), ID, _RANK_ID_LENGTH))
        else:
            kind = PHONE if digits <= _MAX_PHONE_DIGITS else ID
            found.append(_Span(match.start(), match.end(), kind, _RANK_DIGIT_RUN))
    return found


def _digit_count(text: str) -> int:
    # Called on folded text, where every decimal digit is already 0-9.
    return sum(map(text.count, "0123456789"))


def _replace(text: str, found: list[_Span]) -> Redaction:
    if not found:
        return Redaction(text=text, counts={})
    merged: list[_Span] = []
    for span in sorted(found):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            best = span if span.rank > last.rank else last
            merged[-1] = _Span(last.start, max(last.end, span.end), best.kind, best.rank)
        else:
            merged.append(span)
    parts: list[str] = []
    counts: dict[str, int] = {}
    position = 0
    for span in merged:
        parts.append(text[position : span.start])
        parts.append(f"[{span.kind}]")
        counts[span.kind] = counts.get(span.kind, 0) + 1
        position = span.end
    parts.append(text[position:])
    return Redaction(text="".join(parts), counts=counts)
