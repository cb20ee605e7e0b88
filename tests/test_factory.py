"""Finding the factory a message is about, by code or by name, in any script."""

from __future__ import annotations

import pytest

from intake.pipeline.factory import DEFAULT_FACTORY_CODE_PATTERN, FactoryFinder
from intake.pipeline.types import FactoryRef

FACTORIES = [
    FactoryRef("F-2931", ("Sunrise Electronics Penang", "Sunrise", "日升电子")),
    FactoryRef("EW1042", ("Golden Lotus Components", "โกลเด้นโลตัส")),
    FactoryRef("F-3107", ("Red River Circuits", "Mạch Sông Hồng")),
    FactoryRef("F-0001", ("ABC",)),
]


@pytest.fixture(scope="module")
def finder() -> FactoryFinder:
    return FactoryFinder(FACTORIES, DEFAULT_FACTORY_CODE_PATTERN)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("we are at F-2931, line 4", "F-2931"),
        ("factory f2931 no pay", "F-2931"),
        ("kilang EW 1042 tak bayar gaji", "EW1042"),
        ("kilang ew-1042", "EW1042"),
        ("在日升电子工厂每天加班", "F-2931"),
        ("ที่โรงงานโกลเด้นโลตัสไม่จ่ายค่าแรง", "EW1042"),
        ("công ty Mạch Sông Hồng nợ lương", "F-3107"),
        ("I work at Golden Lotus Componets in the north", "EW1042"),  # typo, fuzzy
        ("red river circuit again no overtime pay", "F-3107"),
        ("my friend at ABC factory", "F-0001"),
    ],
)
def test_factories_are_found_by_code_or_name(finder: FactoryFinder, text: str, code: str) -> None:
    match = finder.find(text)

    assert match is not None
    assert match.code == code


def test_an_unknown_code_in_the_pattern_is_kept_as_written(finder: FactoryFinder) -> None:
    match = finder.find("factory F-9999 locked the exits")

    assert match is not None
    assert match.code == "F-9999"


@pytest.mark.parametrize(
    "text",
    ["no overtime pay this month", "ABCD is not a factory", "the sun rises at 6", "gaji 1500"],
)
def test_no_factory_is_invented(finder: FactoryFinder, text: str) -> None:
    assert finder.find(text) is None
