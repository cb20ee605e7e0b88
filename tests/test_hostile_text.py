"""Hostile texts of the largest body the webhook accepts: the whole analysis stays fast.

Every pattern that runs on a worker's text must be linear in its length; a quadratic one lets
four signed 60 KB bodies stall every gunicorn worker. One of the few timed tests: the time is
the promise. It counts CPU time of this thread, so a loaded machine does not fail it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from intake.config import Config
from intake.pipeline.analyze import Analyzer
from intake.pipeline.codes import codes_in
from intake.pipeline.factory import DEFAULT_FACTORY_CODE_PATTERN
from intake.pipeline.types import FactoryRef
from intake.sms.keywords import keyword

from conftest import form

# Generous: a linear pass over 64 KB takes well under 0.3 s; a quadratic one took 20 s.
BOUND_SECONDS = 1.0
FACTORIES = [
    FactoryRef(f"F-{n:04d}", (f"Factory {n} Electronics", f"Plant {n}")) for n in range(1, 200)
]


def body_chars() -> int:
    """As many characters as the largest form the webhook accepts holds, however encoded."""
    overhead = len(urlencode(form("")))
    return Config().max_body_bytes - overhead


def fill(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def around(left: str, middle: str, right: str) -> Callable[[int], str]:
    def build(length: int) -> str:
        half = (length - len(middle)) // 2
        return fill(left, half) + middle + fill(right, half)

    return build


def repeated(unit: str) -> Callable[[int], str]:
    return lambda length: fill(unit, length)


def after(prefix: str, unit: str) -> Callable[[int], str]:
    return lambda length: prefix + fill(unit, length - len(prefix))


HOSTILE: dict[str, Callable[[int], str]] = {
    # e-mail addresses: a local part or a domain that never ends
    "a*n @ b*n": around("a", "@", "b"),
    "a@ a@ a@": repeated("a@"),
    "a.a.a. ... @": lambda n: fill("a.", n - 1) + "@",
    "a@ b-b-b-": after("a@", "b-"),
    "a@b. a@b.": repeated("a@b."),
    "@a.a.a.": after("@", "a."),
    # numbers: long runs with every separator people put between digits
    "digits": repeated("1"),
    "1-1-1-": repeated("1-"),
    "1 - 1 - ": repeated("1 - "),
    "1 1 1 ": repeated("1 "),
    "1/1/1/": repeated("1/"),
    "1.1.1.": repeated("1."),
    "1,1,1,": repeated("1,"),
    "(1)(1)": repeated("(1)"),
    "+1+1+1": repeated("+1"),
    "12 / 12 / ": repeated("12 / "),
    "1/AB(1/AB(": repeated("1/AB("),
    "12:3 12:3": repeated("12:3"),
    "1,000 1,000": repeated("1,000 "),
    "1,000,000,": repeated("1,000,"),
    "1.000.000.": repeated("1.000."),
    "1,11,11,11": after("1", ",11"),
    "1 111 111 1111": lambda n: fill("1 111", n - 5) + " 1111",
    "RM1 RM1": repeated("RM1 "),
    "dates": repeated("2020-01-01-"),
    "phone numbers": repeated("0812345678 x "),
    "international numbers": repeated("+66 81 234 5678, "),
    "seven digits": repeated("1234567 "),
    "emails and money": repeated("a@b.cc 1,000 "),
    "A1A1A1": repeated("A1"),
    "AB1-AB1-": repeated("AB1-"),
    "badge 1-A1-A": after("badge ", "1-A"),
    "F-1F-1": repeated("F-1"),
    "F 123 F 123": repeated("F 123 "),
    # names, handles and the words that introduce them
    "capitalised words": repeated("Anna "),
    "my name is Anna ...": after("my name is ", "Anna "),
    "my name is, repeated": repeated("my name is Anna "),
    "i am i am": repeated("i am "),
    "zalo id a.a.": after("zalo id ", "a."),
    "a_a_a_": repeated("a_"),
    "a_a a_a": repeated("a_a "),
    "hello, hello,": repeated("hi, "),
    "ผม สมชาย": repeated("ผม สมชาย "),
    "ผมชื่อผมชื่อ": repeated("ผมชื่อ"),
    "นามสกุลนามสกุล": repeated("นามสกุล"),
    "ผมชื่อ and a long run": after("ผมชื่อ", "ก"),
    "我叫我叫": repeated("我叫"),
    "my name is and a long word": after("my name is ", "a"),
    "a_a_a_ ... é": lambda n: fill("a_", n - 1) + "é",
    "@aaaa ... é": lambda n: "@" + fill("a", n - 2) + "é",
    "zalo id aaa ... é": lambda n: "zalo id " + fill("a", n - 9) + "é",
    "ชื่อชื่อ": repeated("ชื่อ"),
    "我是王": repeated("我是王"),
    # each script alone
    "Thai": repeated("ก"),
    "Khmer": repeated("ក"),
    "Burmese": repeated("က"),
    "Burmese wa and digits": repeated("ဝ1"),
    "Han": repeated("王"),
    "Devanagari": repeated("न"),
    "Tamil": repeated("ந"),
    "Bengali": repeated("ব"),
    "accents": repeated("é"),
    "combining marks": repeated("e\u0301"),
    # cue words of the lexicons, and what is left
    "cue words": repeated("passport fire "),
    "overtime": repeated("no overtime pay "),
    "factory names": repeated("Factory 1 Electronics "),
    "placeholders": repeated("[PHONE"),
    "punctuation": repeated(".,;"),
    "spaces": repeated(" "),
    "newlines": repeated("\n"),
    "aaaa": repeated("a"),
    "helppp": repeated("helppp "),
}


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    analyzer = Analyzer(factories=FACTORIES, factory_code_pattern=DEFAULT_FACTORY_CODE_PATTERN)
    analyzer.analyze("warm up 0812345678", sender_region="TH", hotline_region="MY")
    return analyzer


def cpu_seconds(work: Callable[[], object]) -> float:
    started = time.thread_time()
    work()
    return time.thread_time() - started


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_whole_analysis_of_a_hostile_body_is_fast(analyzer: Analyzer, name: str) -> None:
    text = HOSTILE[name](body_chars())
    assert len(text) > 60_000

    def analyse() -> None:
        analyzer.analyze(text, sender_region="TH", hotline_region="MY")
        codes_in(text)
        keyword(text)

    assert cpu_seconds(analyse) < BOUND_SECONDS
