"""Translation catalogs, compiled from the committed .po files in memory.

Fuzzy entries are included (every draft awaits native review): there is no build step to
forget, and no stale .mo to show yesterday's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from intake.config import ConfigError

LOCALES_DIR = Path(__file__).resolve().parent / "locales"


class MissingCatalog(ConfigError):
    """A configured language has no catalog: its workers would be answered in English."""


def require_catalogs(languages: Iterable[str], domain: str) -> None:
    """Compile every language's `domain` catalog now; a missing one stops the start-up."""
    languages = tuple(languages)
    missing = [
        language
        for language in languages
        if not (LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po").is_file()
    ]
    if missing:
        raise MissingCatalog(
            f"no {domain!r} catalog for {', '.join(missing)} in {LOCALES_DIR} "
            "(an incomplete install? the catalogs are package data)"
        )
    for language in languages:
        catalog(language, domain)


@cache
def catalog(language: str, domain: str = "messages") -> NullTranslations:
    """The `domain` catalog for `language`, or a pass-through one if there is none."""
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as source:
        parsed = read_po(source, locale=None)
    compiled = BytesIO()
    write_mo(compiled, parsed, use_fuzzy=True)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where a person reads it."""
    return message


class Refusal(ValueError):
    """A refused change, explained in words a person reads: `message` is marked with `N_`,
    with named placeholders filled from `values`, so a page can translate it first."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.values = values
