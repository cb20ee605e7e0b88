"""What stands between the database and a file: formula neutralising and the leak scan."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Contact, User
from intake.pipeline.redact import EMAIL, ID, PHONE, redact

# A spreadsheet treats a cell starting with one of these as a formula (OWASP's list: tab and
# carriage return too, since Excel strips them and reads what follows).
_FORMULA_START = frozenset("=+-@\t\r")
_LEAK_KINDS = {PHONE: "phone number", ID: "ID number", EMAIL: "email address"}
# Distinct short values (codes, names, statuses) repeat on every row: scan each one once.
_CACHE_LIMIT = 200_000
_DIGIT_OR_AT = re.compile(r"[\d@]")
_UNSEEN = object()
# What a record's cell says in place of a value the leak scan refused: never the value.
WITHHELD = "[withheld: personal data]"


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet will show as text, never run: a leading quote before a formula."""
    if value.__class__ is str and value[:1] in _FORMULA_START:
        return "'" + value
    return value


class LeakFound(RuntimeError):  # noqa: N818  (names what happened, as the caller reads it)
    """A cell about to be exported holds personal data; the message never quotes the value."""

    def __init__(self, table: str, row: int, column: str, kind: str) -> None:
        super().__init__(
            f"export stopped: {table} row {row}, column {column!r} looks like it holds a {kind}; "
            "nothing was written"
        )
        self.table, self.row, self.column, self.kind = table, row, column, kind


class LeakScanner:
    """Checks every cell for phone numbers, ID numbers, emails and the names intake knows."""

    def __init__(self, names: Iterable[str], regions: Sequence[str] = ()) -> None:
        usable = sorted({name.strip() for name in names if len(name.strip()) >= 3}, key=len)
        # Longest first, whole words only, case-folded: "Ann" must not fire inside "planned".
        pattern = "|".join(re.escape(name.casefold()) for name in reversed(usable))
        self._names = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)") if usable else None
        self._regions = tuple(regions)
        self._cache: dict[str, str | None] = {}

    def kind(self, value: str) -> str | None:
        """What personal data `value` holds, or None."""
        if self._names is not None and self._names.search(value.casefold()):
            return "name known to intake"
        # The redaction engine is the one that knows what a phone or ID number looks like in
        # each country (and what a date, a time or a wage looks like); only digits or an @
        # can make one, and only those values are worth remembering.
        if _DIGIT_OR_AT.search(value) is None:
            return None
        cached = self._cache.get(value, _UNSEEN)
        if cached is not _UNSEEN:
            return cached  # type: ignore[return-value]
        found = None
        counts = redact(value, regions=self._regions).counts
        for kind in (PHONE, ID, EMAIL):
            if counts.get(kind):
                found = _LEAK_KINDS[kind]
                break
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[value] = found
        return found

    def check(self, table: str, row: int, columns: Sequence[str], values: Sequence[Any]) -> None:
        """Raise LeakFound at the first cell of the row that holds personal data."""
        for column, value in zip(columns, values, strict=True):
            if value.__class__ is str and value:
                found = self.kind(value)
                if found is not None:
                    raise LeakFound(table, row, column, found)

    def withhold(
        self, table: str, row: int, columns: Sequence[str], values: Sequence[Any]
    ) -> tuple[list[Any], list[Withheld]]:
        """The row with every cell that holds personal data replaced by WITHHELD, and which."""
        kept: list[Any] = []
        withheld: list[Withheld] = []
        for column, value in zip(columns, values, strict=True):
            found = self.kind(value) if value.__class__ is str and value else None
            if found is None:
                kept.append(value)
            else:
                kept.append(WITHHELD)
                withheld.append(Withheld(table, row, column, found))
        return kept, withheld


@dataclass(frozen=True)
class Withheld:
    """A cell the leak scan took out of an export: where it was and why, never its value."""

    table: str
    row: int
    column: str
    kind: str

    def as_dict(self) -> dict[str, str | int]:
        return {"table": self.table, "row": self.row, "column": self.column, "kind": self.kind}


def known_names(session: Session) -> list[str]:
    """The names of people intake knows: partners' contacts and admin users."""
    contacts = session.scalars(select(Contact.name)).all()
    users = session.scalars(select(User.name)).all()
    return [*contacts, *users]
