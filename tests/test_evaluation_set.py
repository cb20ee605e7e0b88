"""The invented evaluation set is well-formed, covers the taxonomy, and its PII is really there."""

from __future__ import annotations

from collections import Counter

import phonenumbers
import pytest

from intake.pipeline.evaluate import EVALUATION_DIR, EvalItem, leaked, load_evaluation_set
from intake.pipeline.types import CATEGORY_CODES, DEFAULT_LANGUAGES


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_evaluation_set(EVALUATION_DIR, languages=DEFAULT_LANGUAGES)


def by_language(items: list[EvalItem], language: str) -> list[EvalItem]:
    return [item for item in items if item.language == language]


def test_every_file_parses_and_names_its_language() -> None:
    files = {path.stem for path in EVALUATION_DIR.glob("*.jsonl")}
    assert files == set(DEFAULT_LANGUAGES)
    assert len(load_evaluation_set()) == len(load_evaluation_set(languages=DEFAULT_LANGUAGES))


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES)
def test_each_language_has_enough_varied_messages(items: list[EvalItem], language: str) -> None:
    mine = by_language(items, language)
    assert len(mine) >= 18
    assert any(item.urgent for item in mine)
    assert any("other" in item.categories for item in mine)
    covered = {code for item in mine for code in item.categories}
    assert covered == set(CATEGORY_CODES)
    # About a third of real reports carry a name or number; the set must exercise redaction.
    # A third person's name (`names`) is personal data as the sender's own is.
    with_pii = sum(1 for item in mine if item.pii or item.names)
    assert with_pii >= len(mine) / 4


def test_only_taxonomy_codes_and_no_duplicates(items: list[EvalItem]) -> None:
    assert all(set(item.categories) <= set(CATEGORY_CODES) for item in items)
    assert all("other" not in item.categories or len(item.categories) == 1 for item in items)
    assert not [text for text, n in Counter(item.text for item in items).items() if n > 1]


def test_pii_and_kept_facts_occur_in_their_text(items: list[EvalItem]) -> None:
    for item in items:
        for secret in (*item.pii, *item.keep):
            assert secret in item.text, item.where
        # The leak check must be able to see every secret in the unredacted text...
        assert all(leaked(secret, item.text) for secret in item.pii), item.where
        # ...and must not mistake a fact that should stay for personal data.
        assert not any(leaked(secret, " ".join(item.keep)) for secret in item.pii), item.where


def test_sender_and_hotline_are_valid_mobile_numbers(items: list[EvalItem]) -> None:
    mobile = {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    for item in items:
        for number in (item.sender, item.hotline):
            parsed = phonenumbers.parse(number)
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
            assert phonenumbers.is_valid_number(parsed), item.where
            assert phonenumbers.number_type(parsed) in mobile, item.where
