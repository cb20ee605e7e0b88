"""Tables to files, streamed: CSV (with a BOM, so Excel reads any script), XLSX and JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import xlsxwriter

from intake.exports.safety import neutralise

FORMATS = ("csv", "xlsx", "json")
# Excel's limit; the record-level table is split over sheets beyond it.
_XLSX_ROWS = 1_048_575


class TableWriter(Protocol):
    """Writes one table's rows, one at a time."""

    path: Path

    def write(self, row: Sequence[Any]) -> None: ...

    def close(self) -> None: ...


class CsvWriter:
    """UTF-8 with a byte-order mark: without it Excel reads Thai or Burmese as mojibake."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(columns)

    def write(self, row: Sequence[Any]) -> None:
        self._writer.writerow([neutralise(value) for value in row])

    def close(self) -> None:
        self._file.close()


class XlsxWriter:
    """xlsxwriter in constant-memory mode; every text is written as text, never as a formula."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self._book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self._columns = list(columns)
        self._sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheets += 1
        self._sheet = self._book.add_worksheet(
            "rows" if self._sheets == 1 else f"rows {self._sheets}"
        )
        self._sheet.write_row(0, 0, self._columns)
        self._row = 1

    def write(self, row: Sequence[Any]) -> None:
        if self._row > _XLSX_ROWS:
            self._new_sheet()
        for column, value in enumerate(row):
            if isinstance(value, str):
                self._sheet.write_string(self._row, column, neutralise(value))
            else:
                self._sheet.write_number(self._row, column, value)
        self._row += 1

    def close(self) -> None:
        self._book.close()


class JsonWriter:
    """A JSON array of objects, written as it goes (json.load reads it back whole)."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self._columns = list(columns)
        self._file: IO[str] = path.open("w", encoding="utf-8")
        self._file.write("[")
        self._first = True

    def write(self, row: Sequence[Any]) -> None:
        item = dict(zip(self._columns, row, strict=True))
        self._file.write(("\n" if self._first else ",\n") + json.dumps(item, ensure_ascii=False))
        self._first = False

    def close(self) -> None:
        self._file.write("\n]\n")
        self._file.close()


def open_table(folder: Path, name: str, kind: str, columns: Sequence[str]) -> TableWriter:
    """A writer for `folder/name.kind`."""
    path = folder / f"{name}.{kind}"
    if kind == "csv":
        return CsvWriter(path, columns)
    if kind == "xlsx":
        return XlsxWriter(path, columns)
    if kind == "json":
        return JsonWriter(path, columns)
    raise ValueError(f"unknown format {kind!r}")
