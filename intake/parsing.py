"""Numbers and texts as they arrive over HTTP, parsed strictly: a bad one is None, never a crash.

`str.isdigit()` accepts "²" and "٣", which `int()` refuses, and `int()` refuses 4,301 digits
outright; PostgreSQL refuses NUL in any text and ids past its integer range. So a number is ASCII
digits, a few of them, within bounds, and a text holds no NUL.
"""

from __future__ import annotations

import re

# PostgreSQL's `integer`, the type of every id column; SQLite's 64-bit range is wider.
MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def ascii_int(value: str | None, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """`value` as an int if it is 1-10 ASCII digits within [minimum, maximum], else None."""
    if value is None or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


def ascii_id(value: str | None) -> int | None:
    """A database id (1 to MAX_ID) written in ASCII digits, else None."""
    return ascii_int(value, minimum=1)


def has_nul(value: str | None) -> bool:
    """Whether `value` holds NUL, which PostgreSQL cannot store in any text column."""
    return value is not None and "\x00" in value
