"""What admin pages read from a URL, parsed where it enters: path ids, query arguments, `next`.

A bad value is a 400 (or, for a path id, a 404: no such record), never a query that crashes.
"""

from __future__ import annotations

from datetime import date

from flask import abort, request
from werkzeug.routing import IntegerConverter, Map

from intake.parsing import MAX_ID, ascii_id, has_nul

# Dates a monitor may type or filter by; outside them date arithmetic overflows (9999-12-31).
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)
MAX_TEXT = 200  # a query argument is a filter or a cursor, never prose


class IdConverter(IntegerConverter):
    """`<int:...>` in admin URLs: 1-10 ASCII digits within the database's integer range."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Map, *args: object, **kwargs: object) -> None:  # noqa: A002
        super().__init__(map, min=1, max=MAX_ID)


def parse_date(value: str | None) -> date | None:
    """An ISO date between MIN_DATE and MAX_DATE, else None."""
    try:
        parsed = date.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed if MIN_DATE <= parsed <= MAX_DATE else None


def arg_id(name: str) -> int | None:
    """The query argument `name` as a database id; absent is None, anything else a 400."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    parsed = ascii_id(value)
    if parsed is None:
        abort(400)
    return parsed


def arg_text(name: str, max_length: int = MAX_TEXT) -> str:
    """The query argument `name`, stripped; too long is a 400 (NUL never gets this far)."""
    value = request.args.get(name, "").strip()
    if len(value) > max_length:
        abort(400)
    return value


def refuse_nul() -> None:
    """400 for a request with NUL in any argument or form field: no database stores it."""
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    if any(has_nul(key) or has_nul(value) for key, value in fields):
        abort(400)


def safe_next(target: str | None) -> str | None:
    """`target` if it is an admin path on this site, else None.

    No scheme or host ("//evil", "/\\evil"), no controls: CR/LF in a Location header made
    Werkzeug raise a 500, after the sign-in code was already spent.
    """
    if (
        not target
        or not target.startswith("/admin")
        or "\\" in target
        or len(target) > 2000
        or any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in target)
    ):
        return None
    return target
