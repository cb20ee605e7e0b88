"""Report codes a worker can read and type back on a cheap phone."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B, U/V: pairs that are misread on small screens.
ALPHABET = "ACDEFHJKMNPQRTWXY3479"
LENGTH = 6
_DIGITS = "3479"
_LETTERS = "".join(char for char in ALPHABET if char not in _DIGITS)

# A code always mixes letters and digits, so an ordinary word ("ACCEPT") is never one.
_CANDIDATE = re.compile(
    rf"(?<![0-9A-Za-z])([{ALPHABET}{ALPHABET.lower()}]{{{LENGTH}}})(?![0-9A-Za-z])"
)


def new_code() -> str:
    """A random code with at least one letter and one digit."""
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if _is_code(code):
            return code


def codes_in(text: str) -> list[str]:
    """Every token in `text` that could be a report code, upper-cased, in order."""
    found = (match.group(1).upper() for match in _CANDIDATE.finditer(text))
    return [code for code in found if _is_code(code)]


def _is_code(token: str) -> bool:
    return any(char in _DIGITS for char in token) and any(char in _LETTERS for char in token)
