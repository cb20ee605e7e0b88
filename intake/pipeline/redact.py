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
# How much of each end of two neighbouring messages the thread pass reads together.
_THREAD_WINDOW = 160
# Letter O for zero, I or l for one, typed inside a number ("O77OO9OO562"); a whole word only
# (no letter or digit before or after), so "Ollie", "BOOK", "Il" and "ABCDE1234I" stay.
_LETTER_DIGIT = re.compile(r"[0-9][OoIl]|[OoIl][0-9]")
_LETTERS_IN_DIGITS = re.compile(r"(?<![^\W_])[0-9OoIl]{2,40}(?![^\W_])")
_DIGIT_LETTERS = str.maketrans("OoIl", "0011")
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
    if not unicodedata.is_normalized("NFC", text):
        # Decomposed Vietnamese would slip past the phrases; NFC reads the same to a monitor.
        text = unicodedata.normalize("NFC", text)
    return _replace(text, _found(text, regions))


def redact_thread(texts: Sequence[str], *, regions: Sequence[str] = ()) -> list[str]:
    """Texts of one thread, each already redacted, with what only their join reveals hidden.

    A worker may split a number over two SMS ("012 34", "56789"): each pair of neighbours is
    read as one text, joined by a line break as the export joins them, and a span that crosses
    from one message into the next is hidden in both.
    """
    pieces = [unicodedata.normalize("NFC", text) for text in texts]
    hidden: list[list[_Span]] = [[] for _ in pieces]
    for i in range(len(pieces) - 1):
        # Only the ends that meet matter, and a number or a name is short: the window keeps
        # the pass cheap on long (or hostile) messages.
        head = pieces[i][-_THREAD_WINDOW:]
        tail = pieces[i + 1][:_THREAD_WINDOW]
        offset = len(pieces[i]) - len(head)
        joint = len(head)
        for span in _union(_found(f"{head}\n{tail}", regions)):
            if span.start < joint and span.end > joint + 1:
                hidden[i].append(_Span(span.start + offset, offset + joint, span.kind, span.rank))
                hidden[i + 1].append(_Span(0, span.end - joint - 1, span.kind, span.rank))
    return [
        _replace(piece, spans).text if spans else piece
        for piece, spans in zip(pieces, hidden, strict=True)
    ]


def _union(found: list[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for span in sorted(found):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            best = span if span.rank > last.rank else last
            merged[-1] = _Span(last.start, max(last.end, span.end), best.kind, best.rank)
        else:
            merged.append(span)
    return merged


def _found(text: str, regions: Sequence[str]) -> list[_Span]:
    rules = _rules()
    folded = _fold(text, rules)
    found = [*_emails(folded), *_handles(folded, rules), *_names(folded, rules)]
    found.extend(_people_names(folded, _people()))
    digits = _digit_count(folded)
    # Most messages carry few digits; the number searches below are the costly part.
    if digits >= rules.min_id_digits:
        found.extend(_id_formats(folded, rules))
        found.extend(_badges(folded, rules))
    if digits >= rules.min_digits:
        phone_regions = _phone_regions(tuple(regions))
        masked = _mask_kept(folded, found, rules, phone_regions)
        found.extend(_numbers(masked, rules, phone_regions))
    return found


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
    if _LETTER_DIGIT.search(folded):
        folded = _LETTERS_IN_DIGITS.sub(_letters_to_digits, folded)
    return folded


def _letters_to_digits(match: re.Match[str]) -> str:
    # "O77OO9OO562": letters typed for digits, only inside a run that holds real digits.
    run = match.group()
    digits = sum(c.isdigit() for c in run)
    return run.translate(_DIGIT_LETTERS) if 2 <= digits < len(run) else run


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
    merged = _union(found)
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


# --- other people's names ----------------------------------------------------------------------
#
# A supervisor or a colleague named in a report identifies the worker as surely as their own
# name: "there is one Kevin Tan on line B3". Cue words and honorifics are in `[people]` of the
# data file; the name and common-word lists are generated into data/people/ (see SOURCES.md).

PEOPLE_DIR = DATA_FILE.parent / "people"
# A name after a cue in Thai, Khmer or Burmese (written without spaces) is rarely longer.
_PERSON_RUN_CAP = 16
# A name in Latin letters has at most this many words: "Maria de la Cruz Santos".
_PERSON_MAX_WORDS = 4
_PERSON_SEPARATORS = frozenset(" \t:,-")
# A word of a name: letters and vowel signs up to whitespace, punctuation or a digit.
_PERSON_WORD = re.compile(rf"[^\s\d/{_PUNCTUATION}@#*&+=~^$%]{{1,40}}")
# Not a given name's characters: "那边有个师傅" is "there is a master there", not 边有个.
_UNSPACED_CHAR = re.compile("[\u0e00-\u0e7f\u1000-\u109f\u1780-\u17ff\u3000-\u9fff\uf900-\ufaff]")
_HAN_FILLERS = frozenset("有个個这這那些位一")
# One Vietnamese syllable: up to three consonants, one group of vowels, a final c/ch/m/n/ng/
# nh/p/t (Vietnamese writes no f, j, w or z).
_VI_VOWELS = "aeiouyàáảãạăắằẳẵặâấầẩẫậèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ"
_VI_SYLLABLE = re.compile(f"[bcdghklmnpqrstvxđ]{{0,3}}[{_VI_VOWELS}]{{1,3}}[cghmnpt]{{0,2}}")
# After 总 of "李总" these make a word: 总共, 总是, 总结, 总算, 总部, 总数 ...
_HAN_AFTER_TITLE = frozenset("共是结結算体體部数數额額计計裁监監统統之")
# Before "李总" a sentence or these: "说李总", "被李总", "和李总".
_HAN_NAME_OPENERS = frozenset("被把跟和与與说說叫给給让讓找问問的是")
# How much a cue vouches for what follows: a role word ("supervisor") only for a capitalised
# word that is no common English word; "Encik", "pak" also for a lower-case uncommon word.
# An open honorific ("encik", "kuya") vouches for any lower-case word that is no common one.
_ROLE, _SHORT_HONORIFIC, _HONORIFIC, _OPEN = 0, 1, 2, 3


@dataclass(frozen=True)
class _People:
    cues: re.Pattern[str]
    titles: frozenset[str]  # keys of the cues that are honorifics, not role words
    cased: re.Pattern[str] | None
    post: re.Pattern[str]
    skip: dict[str, tuple[str, ...]]  # by first character, longest first
    names: frozenset[str]  # given and family names, any script, lower case
    extra: frozenset[str]  # hand-listed names, taken even where a common list has the word
    common: frozenset[str]  # common words of every language (Vietnamese syllables aside)
    english: frozenset[str]  # the common English words, which every language mixes in
    vietnamese: frozenset[str]  # Vietnamese syllables: a name only when capitalised
    stop: frozenset[str]
    particles: frozenset[str]
    org: frozenset[str]
    not_names: frozenset[str]
    han_not_names: frozenset[str]
    han_org: tuple[str, ...]
    surnames: frozenset[str]
    compound_surnames: frozenset[str]
    vi_surnames: frozenset[str]
    stop_chars: frozenset[str]
    han_titles: frozenset[str]
    strong: frozenset[str]  # honorifics after which a listed name may also be a word
    cue_heads: frozenset[str]  # first words of the cues written with spaces
    post_heads: frozenset[str]
    after_name: frozenset[str]  # words that follow a subject (a name) rather than a verb
    place_phrases: tuple[str, ...]  # "bình dương": names together, a place
    conjunctions: frozenset[str]  # "and", "dan", "y": a word joined to a name is one too
    joined: re.Pattern[str]  # a conjunction between two words
    open_titles: frozenset[str]
    bare_titles: frozenset[str]  # "မ": a name after it only before a particle or a space
    name_particles: tuple[str, ...]
    legal_forms: frozenset[str]  # "sdn", "ltd": an organisation whatever the case of its name
    surname_posts: frozenset[str]  # "总" of "李总": after a surname alone


def _marks() -> str:
    # The vowel signs of the Indic, Thai, Burmese and Khmer blocks, as a character class.
    return "".join(
        re.escape(chr(code))
        for code in range(0x0900, 0x1800)
        if unicodedata.category(chr(code)).startswith("M")
    )


def _read_list(path: Path) -> frozenset[str]:
    if not path.exists():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


@cache
def _people() -> _People:
    with DATA_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    fold = _fold_table()
    people = data["people"]
    tables = {k: v for k, v in people.items() if isinstance(v, dict)}

    def gather(key: str) -> list[str]:
        return [w for table in tables.values() for w in table.get(key, ())]

    def lower(words: Iterable[str]) -> frozenset[str]:
        return frozenset(w.translate(fold).lower() for w in words)

    roles, titles = gather("roles"), [*gather("honorifics"), *gather("bare_honorifics")]
    names = frozenset().union(
        *(_read_list(p) for p in sorted(PEOPLE_DIR.glob("names-*.txt")) if p.stem != "names-zh")
    )
    common = frozenset().union(
        *(
            _read_list(p)
            for p in sorted(PEOPLE_DIR.glob("common-*.txt"))
            if p.stem not in ("common-vi", "common-zh")
        )
    )
    extra = frozenset(people.get("extra_names", "").lower().split())
    han_surnames = set(data["names"]["zh"]["surnames"].split())
    han_surnames |= {n for n in _read_list(PEOPLE_DIR / "names-zh.txt") if len(n) == 1}
    compound = set(data["names"]["zh"]["compound_surnames"].split())
    compound |= {n for n in _read_list(PEOPLE_DIR / "names-zh.txt") if len(n) == 2}
    # What the self-introduction rules know is not a name (nationalities, religions, jobs)
    # is no third person's name either.
    not_names = [
        *people["not_names"],
        *(w for table in data["names"].values() for w in table.get("not_names", ())),
    ]
    cased = gather("cased_honorifics")
    post = [*gather("post_honorifics"), *gather("surname_posts")]
    zh = tables["zh"]
    return _People(
        # A cue never ends inside a syllable: "မမြင့်" is "မ" (Ma) and a name, not "မမ".
        cues=re.compile(
            f"(?:{_phrase_pattern([*roles, *titles], fold)})(?![{_marks()}])", re.IGNORECASE
        ),
        titles=frozenset(_key(w.translate(fold)) for w in titles),
        cased=(
            re.compile(r"(?<![^\W\d_])(?:" + "|".join(map(re.escape, cased)) + r")(?= [A-Z])")
            if cased
            else None
        ),
        post=re.compile(_phrase_pattern(post, fold), re.IGNORECASE),
        skip=_by_first(lower(gather("skip"))),
        names=(names | extra) - lower(people["not_names"]),
        extra=extra,
        common=common,
        english=_read_list(PEOPLE_DIR / "common-en.txt"),
        vietnamese=_read_list(PEOPLE_DIR / "common-vi.txt"),
        stop=lower(gather("stop_words")) | lower(data["names"]["en"]["stop_words"]),
        particles=frozenset(
            (
                "bin",
                "binti",
                "bt",
                "a/l",
                "a/p",
                "de",
                "del",
                "la",
                "las",
                "los",
                "van",
                "der",
                "da",
                "dos",
                "dela",
                "delos",
                "y",
            )
        ),
        org=lower([*people["org_words"], *people["place_words"]]),
        not_names=lower(w for w in not_names if not _is_han(w[0])),
        han_not_names=frozenset(w for w in not_names if _is_han(w[0])),
        han_org=tuple(people["han_org_suffixes"]),
        surnames=frozenset(han_surnames),
        compound_surnames=frozenset(compound),
        vi_surnames=frozenset(data["names"]["vi"]["surnames"].lower().split()),
        stop_chars=frozenset(
            data["names"]["zh"]["stop_chars"] + "打骂罵扣罚罰让讓没沒对對把天每总總说說"
        ),
        han_titles=frozenset(w for w in zh.get("honorifics", ()) if len(w) == 1),
        strong=frozenset(_key(w.translate(fold)) for w in gather("strong_honorifics")),
        cue_heads=_heads([*roles, *titles], fold),
        post_heads=_heads(post, fold),
        after_name=lower(gather("after_name")),
        place_phrases=tuple(
            w.lower() for w in people["not_names"] if " " in w and not _is_han(w[0])
        ),
        conjunctions=lower(people.get("conjunctions", ())),
        joined=re.compile(
            " (?:" + "|".join(map(re.escape, people.get("conjunctions", ()))) + ") ",
            re.IGNORECASE,
        ),
        legal_forms=lower(people.get("legal_forms", ())),
        bare_titles=frozenset(gather("bare_honorifics")),
        open_titles=frozenset(_key(w.translate(fold)) for w in people.get("open_honorifics", ())),
        name_particles=tuple(gather("name_particles")),
        surname_posts=frozenset(zh.get("surname_posts", ())),
    )


def _heads(phrases: Iterable[str], fold: dict[int, int]) -> frozenset[str]:
    heads = set()
    for phrase in phrases:
        match = _PERSON_WORD.match(phrase.translate(fold).lower())
        if match is not None:
            heads.add(match.group())
    return frozenset(heads)


def _cue_matches(
    text: str, pattern: re.Pattern[str], heads: frozenset[str], unspaced: bool
) -> Iterator[re.Match[str]]:
    # The cue patterns are long alternations, costly at every position; in a text written
    # with spaces only the words that can start a cue are tried.
    if unspaced:
        yield from pattern.finditer(text)
        return
    for word in _PERSON_WORD.finditer(text):
        if word.group().lower() in heads:
            match = pattern.match(text, word.start())
            if match is not None:
                yield match


def _by_first(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        table.setdefault(word[:1], []).append(word)
    return {first: tuple(group) for first, group in table.items()}


def _han_listed(text: str, index: int, people: _People) -> bool:
    # Listed brands and places are 2-4 characters: a few set lookups, whatever the list holds.
    return any(text[index : index + n] in people.han_not_names for n in range(2, 6))


def _people_names(folded: str, people: _People) -> list[_Span]:
    """Names of third persons: after a role word or honorific, before one, listed, or joined."""
    found = list(_cued_names(folded, people))
    pairs = [*_name_pairs(folded, people), *_han_pairs(folded, people)]
    return [*found, *_joined_names(folded, found, people), *pairs]


def _cued_names(folded: str, people: _People) -> Iterator[_Span]:
    chained_to = 0
    unspaced = _UNSPACED_CHAR.search(folded) is not None
    for match in _cue_matches(folded, people.cues, people.cue_heads, unspaced):
        if match.start() < chained_to:
            continue  # "supervisor Mr Tan": "Mr" was read after "supervisor" already
        if match.end() < len(folded) and _is_mark(folded[match.end()]):
            continue  # the cue ends inside a syllable
        if _is_han(match.group()[0]):
            end = _han_person(folded, match.start(), match.end(), match.group(), people)
            if end > match.end():
                yield _Span(match.end(), end, NAME, _RANK_NAME)
            continue
        if _unspaced(match.group()[0]) and not _word_start(folded, match.start()):
            if "\u0e00" <= match.group()[0] <= "\u0e7f" and match.end() < len(folded):
                # Thai glues words: "โดนน้องเบียร์ตบ" (hit by young Beer); inside a word a
                # cue ("ลูกน้อง", subordinate) vouches only for a listed name no word shares.
                end = _run_person(
                    folded,
                    match.end(),
                    people,
                    listed_only=True,
                    cue_start=match.start(),
                    strong=False,
                )
                if end > match.end() and folded[match.end() : end] not in people.common:
                    yield _Span(match.end(), end, NAME, _RANK_NAME)
            continue
        start, level = _after_cue(folded, match.end(), people, _cue_level(match.group(), people))
        chained_to = start
        strong = any(folded.endswith(cue, match.start(), start) for cue in people.strong)
        end = _person_at(folded, start, people, level=level, cue_start=match.start(), strong=strong)
        if match.group() in people.bare_titles and not _before_particle(folded, end, people):
            continue  # "မလှဘူး" (not pretty): Burmese "မ" (Ma) is also "not"
        if end <= start:
            start, end = _title_as_name(folded, match.end(), start, people)
        if end > start:
            yield _Span(start, end, NAME, _RANK_NAME)
    if people.cased is not None:
        for match in people.cased.finditer(folded):
            start = match.end() + 1
            end = _person_at(folded, start, people, level=_HONORIFIC, cue_start=match.start())
            if end > start:
                yield _Span(start, end, NAME, _RANK_NAME)
    for match in _cue_matches(folded, people.post, people.post_heads, unspaced):
        yield from _before_post(folded, match.start(), match.group(), people)
    yield from _listed_names(folded, people)


def _before_particle(text: str, end: int, people: _People) -> bool:
    if end >= len(text) or text[end].isspace() or _punctuated(text, end):
        return True
    return any(text.startswith(p, end) for p in people.name_particles)


def _title_as_name(text: str, begin: int, start: int, people: _People) -> tuple[int, int]:
    # "to truong Tuan chui em": a capitalised word read as a chained honorific (Malay "tuan")
    # with no name after it is the name itself.
    words = list(_PERSON_WORD.finditer(text, begin, start))
    last = words[-1] if words else None
    if last is None or not last.group()[0].isupper() or last.group().isupper():
        return start, start
    word = last.group()
    if not _word_ok(word, people) or word.lower() in people.english:
        return start, start
    return last.start(), last.end()


def _cue_level(cue: str, people: _People) -> int:
    key = _key(cue)
    if key not in people.titles:
        return _ROLE
    if key in people.open_titles:
        return _OPEN
    return _HONORIFIC if len(key) > 3 else _SHORT_HONORIFIC


def _after_cue(text: str, index: int, people: _People, level: int) -> tuple[int, int]:
    # "supervisor name is Mr. Tan": little words and further cues before the name.
    for _ in range(4):
        while index < len(text) and text[index] in _PERSON_SEPARATORS:
            index += 1
        chained = people.cues.match(text, index)
        # A cue glued to the one before is a suffix: "ပွဲစားကို" is "the broker" (object).
        spaced = index > 0 and text[index - 1] in _PERSON_SEPARATORS
        if chained is not None and spaced and not _is_han(chained.group()[0]):
            level = max(level, _cue_level(chained.group(), people))
            index = chained.end()
            continue
        for word in people.skip.get(text[index : index + 1].lower(), ()):
            end = index + len(word)
            if text[index:end].lower() == word and (
                end >= len(text)
                or (not text[end].isalnum() and not _is_mark(text[end]))
                or (_unspaced(word[0]) and not _is_mark(text[end]) and len(word) > 1)
            ):
                index = end
                break
        else:
            return index, level
    return index, level


def _person_at(
    text: str, start: int, people: _People, *, level: int, cue_start: int, strong: bool = False
) -> int:
    if start >= len(text):
        return start
    first = text[start]
    if _unspaced(first) and not _is_han(first):
        # Glued to its cue ("หัวหน้าสมชาย"), only a listed name is taken: "คุณภาพ" is quality.
        glued = start > 0 and not text[start - 1].isspace() and not strong
        # After a role word ("ခေါင်းဆောင်က နေ့တိုင်း", the leader every day) only a listed name.
        listed_only = (glued or level == _ROLE) and not strong
        return _run_person(
            text, start, people, listed_only=listed_only, cue_start=cue_start, strong=strong
        )
    if not first.isalpha():
        return start
    return _word_person(text, start, people, level=level)


def _word_ok(word: str, people: _People) -> bool:
    lower = word.lower()
    return not (lower in people.stop or lower in people.not_names or lower in people.org)


def _word_person(text: str, start: int, people: _People, *, level: int) -> int:
    words = _words_at(text, start)
    if not words:
        return start
    first, end = words[0]
    lower = first.lower()
    cased = first[0].isupper() or first[0].islower()
    listed = lower in people.names
    if not _word_ok(first, people):
        return start
    if not cased:
        # Tamil, Bengali, Devanagari: any word that is not a common one. A joiner ("হ‌ওয়ার")
        # marks a word form, not a name.
        if "\u200c" in first or "\u200d" in first:
            return start
        if not listed and level == _ROLE and not _subject_ends(text, end, people):
            # After "জনাব" (Mr) a name may be any word; after "গার্ড" (guard) only a listed
            # one or one the object follows: "গার্ড পাহারা দেয়" is the guard keeping watch.
            return start
    elif first[0].isupper():
        if first.isupper() and len(first) <= 4 and not listed:
            return start  # "tu INE", "supervisor QC": an acronym, not a name
        if level == _ROLE and lower in people.english and lower not in people.extra:
            # "supervisor Line 4", "manager Office"; but "ketua line Ah Seng"
            second = words[1][0] if len(words) > 1 else ""
            if not (second[:1].isupper() and second.lower() not in people.english):
                return start
    elif not (
        lower not in people.common and not _vietnamese(lower, people) and (listed or level == _OPEN)
    ):
        # "boss shouts", "pani ko samasya"; but "pak bambang", "supervisor kevin", and after
        # a long honorific any uncommon word: "encik rosli"
        return start
    upper = first[0].isupper()
    count, index = 1, 1
    while index < len(words) and count < _PERSON_MAX_WORDS:
        word, word_end = words[index]
        if upper and word.lower() in people.particles:
            if index + 1 < len(words) and words[index + 1][0][0].isupper():
                index += 1
                continue
            break
        if not _continues_person(word, upper, cased, people):
            break
        end, count, index = word_end, count + 1, index + 1
    taken = [w.lower() for w, e in words if e <= end]
    if _org_after(text, end, people, upper=upper) or any(w in people.org for w in taken):
        return start  # "Jaya Sdn Bhd", "Melati Garments", "Golden Star Footwear"
    return end


def _vietnamese(lower: str, people: _People) -> bool:
    # The Vietnamese list holds loans too ("jason", "kevin"), which are no one syllable.
    return lower in people.vietnamese and _VI_SYLLABLE.fullmatch(lower) is not None


def _continues_person(word: str, upper: bool, cased: bool, people: _People) -> bool:
    lower = word.lower()
    if not _word_ok(word, people):
        return False
    if upper:
        shouted = word.isupper() and len(word) > 1 and lower in people.common
        return word[0].isupper() and not shouted
    if lower in people.extra:
        return True
    if not cased:
        return lower in people.names or lower not in people.common
    return lower in people.names and lower not in people.common


def _words_at(text: str, start: int) -> list[tuple[str, int]]:
    words: list[tuple[str, int]] = []
    position = start
    while len(words) < _PERSON_MAX_WORDS + 2:
        match = _PERSON_WORD.match(text, position)
        if match is None:
            break
        word = match.group().rstrip("'-")
        if not word:
            break
        end = match.start() + len(word)
        if text[end : end + 1].isdigit() or _unspaced(word[0]) or _glued_handle(text, end):
            break  # "Line7", "B3", "hoa_92": a word glued to digits or an account is no name
        if len(word) == 1 and text[end : end + 1] == ".":
            end += 1
        words.append((word, end))
        if text[end : end + 1] != " ":
            break
        position = end + 1
    return words


def _glued_handle(text: str, end: int) -> bool:
    after = text[end : end + 1]
    return after == "_" or (after in (".", "@") and text[end + 1 : end + 2].isalnum())


def _subject_ends(text: str, end: int, people: _People) -> bool:
    index = _skip_space(text, end)
    if index >= len(text) or text[index] in _CLOSING or text[index].isdigit():
        return True
    match = _PERSON_WORD.match(text, index)
    return match is not None and match.group().lower() in people.after_name


def _sentence_start(text: str, index: int) -> bool:
    before = text[max(0, index - 3) : index].rstrip()
    return not before or before[-1] in ".!?\n。！？"


def _org_after(text: str, end: int, people: _People, *, upper: bool = False) -> bool:
    match = _PERSON_WORD.match(text, end + 1) if text[end : end + 1] == " " else None
    if match is None or match.group().lower() not in people.org:
        return False
    # "Melati Garments", "Jaya sdn bhd"; but "warden Senthil hostel la": a place after a name
    word = match.group()
    return not upper or word[0].isupper() or word.lower() in people.legal_forms


def _run_person(
    text: str, start: int, people: _People, *, listed_only: bool, cue_start: int, strong: bool
) -> int:
    # Thai: the longest listed name here; else, as in Khmer and Burmese, the letters up to a
    # space, cut where a common word starts, without a stop word at its end.
    limit = min(len(text), start + _PERSON_RUN_CAP)
    # Burmese and Khmer names are syllables that each are listed: only Thai looks a name up.
    thai = "\u0e00" <= text[start] <= "\u0e7f"
    if thai and not ("\u0e01" <= text[start] <= "\u0e2e" or "\u0e40" <= text[start] <= "\u0e44"):
        # A Thai word starts with a consonant or a leading vowel (เบียร์): "นางาม" is no
        # "นาง" + name.
        return start
    for end in range(limit, start + 2, -1):
        candidate = text[start:end]
        if candidate not in people.names or _is_mark(text[end : end + 1] or " "):
            continue
        if not thai and not listed_only:
            break
        if text[cue_start:end] in people.common:
            return start  # "คุณภาพ", "นายจ้าง": the cue and what follows are one word
        # A name that is also a word ("ประเสริฐ", excellent) only after นาย or before a space.
        if (
            candidate not in people.common
            or strong
            or _punctuated(text, end)
            or (end < len(text) and text[end].isspace())
        ):
            return end if thai else _more_syllables(text, end, limit, people)
    if listed_only:
        return start
    end = start
    while end < limit and not text[end].isspace() and _unspaced(text[end]):
        end += 1
    for cut in range(start + 1, end):
        if _is_mark(text[cut]):
            continue
        if any(
            text[cut : cut + n] in people.stop or text[cut : cut + n] in people.common
            for n in range(2, 7)
        ):
            end = cut
            break
    if any(
        text[start : start + n] in people.stop or text[start : start + n] in people.common
        for n in range(3, 10)
    ):
        return start  # the cue is followed by a word, not a name: "คุณประโยชน์"
    return end if end - start >= 2 else start


def _more_syllables(text: str, end: int, limit: int, people: _People) -> int:
    # A Burmese or Khmer name is listed syllables, often doubled: "မြင့်မြင့်", "ဇော်ဇော်".
    for _ in range(3):
        for stop in range(limit, end, -1):
            if text[end:stop] in people.names and not _is_mark(text[stop : stop + 1] or " "):
                end = stop
                break
        else:
            return end
    return end


def _han_person(text: str, cue_start: int, index: int, cue: str, people: _People) -> int:
    # "拉长刘建华", "组长李强": a listed surname and at most two more characters; "老王": one.
    while index < len(text) and text[index] in " 的是叫：:":
        index += 1
        if index - cue_start > len(cue) + 3:
            return index
    # "小米" is a brand, "车间主任" a role whose first characters are also listed.
    if _han_listed(text, index, people) or (
        cue in people.han_titles and _han_listed(text, cue_start, people)
    ):
        return index
    if text[index : index + 2] in people.compound_surnames:
        end = index + 2
    elif text[index : index + 1] in people.surnames:
        end = index + 1
    else:
        return index
    # "老王", "小李", "姓王": a surname only.
    given_max = 0 if cue in people.han_titles or cue == "姓" else 2
    given = 0
    while given < given_max and end < len(text) and _is_han(text[end]):
        if text[end] in people.stop_chars or text.startswith(people.han_org, end):
            break
        end, given = end + 1, given + 1
    if (
        cue in people.han_titles
        and end < len(text)
        and _is_han(text[end])
        and text[end] not in people.stop_chars
    ):
        return index  # "老师", "小时": 老/小/阿 and two more characters is a word, not "old Wang"
    if text.startswith(people.han_org, end):
        return index  # "李宁公司", "张江镇"
    return end


def _before_post(text: str, start: int, post: str, people: _People) -> Iterator[_Span]:
    if _is_han(post[0]):
        if post in people.surname_posts:
            # "李总说": a surname alone before it; "总共", "总是" are words of their own.
            after = text[start + len(post) : start + len(post) + 1]
            opened = (
                start < 2 or not _is_han(text[start - 2]) or text[start - 2] in _HAN_NAME_OPENERS
            )
            if (
                start > 0
                and text[start - 1] in people.surnames
                and after not in _HAN_AFTER_TITLE
                and opened
            ):
                yield _Span(start - 1, start, NAME, _RANK_NAME)
            return
        for length in (3, 2, 1):
            begin = start - length
            if begin < 0:
                continue
            candidate = text[begin:start]
            if not all(_is_han(c) for c in candidate) or any(
                c in people.stop_chars or c in _HAN_FILLERS for c in candidate[1:]
            ):
                continue
            if candidate[:2] in people.compound_surnames or candidate[0] in people.surnames:
                if _han_listed(text, begin, people):
                    return
                yield _Span(begin, start, NAME, _RANK_NAME)
                return
        return
    end = start
    while end > 0 and end > start - 2 and text[end - 1] in " -":
        end -= 1
    begin = end
    while (
        begin > 0
        and end - begin < 40
        and not (
            text[begin - 1].isspace() or text[begin - 1] in _CLOSING or text[begin - 1].isdigit()
        )
    ):
        begin -= 1
    word = text[begin:end]
    if not word or not word[0].isalpha() or not _word_ok(word, people):
        return
    lower = word.lower()
    if word[0].isupper() and _sentence_start(text, begin):
        # "Tiada apa-apa": any word may open a sentence, but no common one names a person
        ok = lower in people.names or (len(post) > 2 and lower not in people.common)
    elif word[0].isupper():
        ok = lower not in people.english or lower in people.names
    elif word[0].islower():
        # "rahim bhai", "sumon vai": listed (though a word elsewhere) or no word at all
        # (an unlisted word only before a post-name honorific that is no word itself: "da")
        ok = (lower in people.names and lower not in people.english) or (
            len(post) > 2
            and post.lower() not in people.common
            and lower not in people.common
            and not _vietnamese(lower, people)
        )
    else:
        ok = True  # "राम दाइ": before a post-name honorific, any word but a pronoun
    if ok:
        yield _Span(begin, end, NAME, _RANK_NAME)


def _listed_names(text: str, people: _People) -> Iterator[_Span]:
    # Without a cue: a capitalised listed name ("... then Kevin Tan came"), a Vietnamese
    # surname leading capitalised words ("Nguyễn Văn Hùng"), two listed names in a script
    # without capitals, or a listed Thai name standing alone between spaces.
    previous_end = -1
    previous = ""  # the word before, as written
    previous_start = 0
    for match in _PERSON_WORD.finditer(text):
        word, start = match.group(), match.start()
        first = word[0]
        before, before_start = previous, previous_start
        previous, previous_start = word, start
        if first.islower() or start <= previous_end:
            continue  # most words: whatever follows needs a listed word here
        lower = word.lower()
        if lower not in people.names and lower not in people.vi_surnames:
            continue
        if _unspaced(first):
            if (
                "\u0e00" <= first <= "\u0e7f"
                and (start == 0 or text[start - 1].isspace())
                and (match.end() == len(text) or text[match.end()].isspace())
                and len(word) >= 3
                and word in people.names
                and word not in people.common
            ):
                yield _Span(start, match.end(), NAME, _RANK_NAME)
            continue
        if not first.isalpha() or text[match.end() : match.end() + 1].isdigit():
            continue
        if before.lower() in people.org or not _word_ok(word, people):
            continue
        if first.isupper():
            vi = lower in people.vi_surnames
            listed = lower in people.names and (lower not in people.common or lower in people.extra)
            if not (listed or vi):
                continue
            if before[:1].isupper() and text[before_start + len(before) : start] == " ":
                if not _sentence_start(text, before_start):
                    continue  # "Bình Dương", "Sunrise Jaya": a capitalised run that is no name
                if before.lower() not in people.english and _word_ok(before, people):
                    start = before_start  # "Juan Perez no paga"
            end = _word_person(text, match.start(), people, level=_HONORIFIC)
            words = [e for _, e in _words_at(text, start) if e <= end]
            # At a sentence start a capitalised word may be any word: there, two names are
            # needed ("Kevin Tan said"), as after a Vietnamese surname ("Nguyễn Văn Hùng").
            if (vi and not listed and len(words) < 3) or (
                _sentence_start(text, start) and len(words) < 2
            ):
                continue
        elif first.islower() or lower not in people.names or lower in people.common:
            continue
        else:
            following = _words_at(text, start)
            second = following[1][0].lower() if len(following) > 1 else ""
            if second not in people.names or second in people.common or second in people.stop:
                continue
            if not _subject_ends(text, following[1][1], people):
                continue  # "शान्ति पूर्ण सभा" (peaceful assembly): words that are also names
            end = following[1][1]  # Tamil, Bengali, Devanagari: "রহিম উদ্দিন"
        if end > start and not _in_place(text, start, end, people):
            previous_end = end
            yield _Span(start, end, NAME, _RANK_NAME)


def _joined_names(text: str, found: list[_Span], people: _People) -> Iterator[_Span]:
    # "Ali and Siti", "sina Mark at Jessa", "Tomáš a Lukáš": a name joined by a conjunction
    # to a name found makes the other word a name too, where it may be one.
    for span in found:
        if span.start >= len(text) or _unspaced(text[span.start]) or _is_han(text[span.start]):
            continue
        after = _joined_after(text, span.end, people)
        if after is not None:
            yield _Span(*after, NAME, _RANK_NAME)
        before = _joined_before(text, span.start, people)
        if before is not None:
            yield _Span(*before, NAME, _RANK_NAME)


def _name_pairs(text: str, people: _People) -> Iterator[_Span]:
    # "Ahmad dan Siti kena buang": two capitalised words joined, one of them a listed name;
    # in Khmer, two listed names ("ស្រីនាង និង សុភា").
    for match in people.joined.finditer(text):
        before = _joined_before(text, match.start() + 1 + len(match.group()) - 1, people)
        after = _joined_after(text, match.start(), people)
        if before is None or after is None:
            continue
        first, second = text[before[0] : before[1]], text[after[0] : after[1]]
        if first[0].isupper() != second[0].isupper():
            continue
        listed = [w.lower() in people.names for w in (first, second)]
        if (first[0].isupper() and any(listed)) or (
            not first[0].islower() and not first[0].isupper() and all(listed)
        ):
            yield _Span(*before, NAME, _RANK_NAME)
            yield _Span(*after, NAME, _RANK_NAME)


# "刘志强和陈小红都被扣了": two full Chinese names joined, then what follows a subject.
_HAN_PAIR = re.compile(
    "(?<![\u4e00-\u9fff])([\u4e00-\u9fff]{3})[和跟与與]([\u4e00-\u9fff]{3})"
    "(?=[都被把说說也俩倆两兩一])"
)


def _han_pairs(text: str, people: _People) -> Iterator[_Span]:
    for match in _HAN_PAIR.finditer(text):
        spans = [(match.start(1), match.end(1)), (match.start(2), match.end(2))]
        if all(_han_full_name(text, start, people) for start, _ in spans):
            for start, end in spans:
                yield _Span(start, end, NAME, _RANK_NAME)


def _han_full_name(text: str, start: int, people: _People) -> bool:
    name = text[start : start + 3]
    return (
        name[0] in people.surnames
        and not any(c in people.stop_chars or c in _HAN_FILLERS for c in name[1:])
        and not _han_listed(text, start, people)
        and not any(suffix in name[1:] for suffix in people.han_org)
    )


def _joined_after(text: str, end: int, people: _People) -> tuple[int, int] | None:
    if text[end : end + 1] != " ":
        return None
    conjunction = _PERSON_WORD.match(text, end + 1)
    if conjunction is None or conjunction.group().lower() not in people.conjunctions:
        return None
    index = conjunction.end() + 1
    if text[index - 1 : index] != " ":
        return None
    title = people.cues.match(text, index)
    if (
        title is not None
        and _key(title.group()) in people.titles
        and text[title.end() : title.end() + 1] == " "
    ):
        index = title.end() + 1  # "Ahmad dan Encik Rosli"
    if _unspaced(text[index : index + 1] or " "):
        # Khmer or Burmese written with spaces between words: the word up to the next space
        match = _PERSON_WORD.match(text, index)
        if match is None or text[match.end() : match.end() + 1] not in ("", " "):
            return None
        words = [(match.group(), match.end())]
    else:
        words = _words_at(text, index)
    if not words or not _joinable(words[0][0], people):
        return None
    return index, words[0][1]


def _joined_before(text: str, start: int, people: _People) -> tuple[int, int] | None:
    if start < 2 or text[start - 1] != " ":
        return None
    head = text[max(0, start - 48) : start - 1]
    parts = head.rsplit(" ", 2)
    if len(parts) < 2 or parts[-1].lower() not in people.conjunctions:
        return None
    word = parts[-2]
    begin = start - 1 - len(parts[-1]) - 1 - len(word)
    if len(parts) < 3 and begin > 0:
        return None  # the word was cut by the window: longer than any name
    match = _PERSON_WORD.fullmatch(word)
    if match is None or not _joinable(word, people):
        return None
    return begin, begin + len(word)


def _joinable(word: str, people: _People) -> bool:
    lower = word.lower()
    if not word[0].isalpha() or not _word_ok(word, people) or lower in people.conjunctions:
        return False
    if word[0].isupper():
        if word.isupper() and len(word) <= 4:
            return lower in people.names  # "HR and QC": acronyms
        return lower not in people.english or lower in people.names
    if word[0].islower():
        return lower in people.names and lower not in people.common
    return lower in people.names or lower not in people.common


def _in_place(text: str, start: int, end: int, people: _People) -> bool:
    # "Bình Dương", "Shah Alam": listed names that stand together as a place.
    window = text[max(0, start - 24) : end + 24].lower()
    return any(phrase in window for phrase in people.place_phrases)
