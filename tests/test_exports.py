"""Monthly exports as a coordinator and a public buyer meet them: counts, files, safety."""

from __future__ import annotations

import csv
import itertools
import json
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import db
from intake.cli import main
from intake.exports import ExportError, ExportParams, ExportResult, LeakFound, Month, export
from intake.exports.safety import WITHHELD
from intake.models import (
    AuditEvent,
    Buyer,
    Case,
    CheckBack,
    Contact,
    Contract,
    Factory,
    Message,
    Partner,
    RemedyItem,
    RemedyStatus,
    Report,
    ReportCategory,
    Reporter,
    Responsible,
    SurveyAnswer,
)

OCTOBER = Month(2026, 10)
MID_OCTOBER = datetime(2026, 10, 14, 9, 30, tzinfo=UTC)
TODAY = date(2026, 11, 3)
_numbers = itertools.count(1)


def add_factory(session: Session, code: str, name: str, brands: list[str] | None = None) -> Factory:
    factory = Factory(code=code, name=name, country="TH", brands=brands or [])
    session.add(factory)
    session.commit()
    return factory


def add_buyer(
    session: Session, name: str, factories: list[Factory], brands: list[str] | None = None
) -> Buyer:
    buyer = Buyer(name=name, country="GB")
    buyer.contracts.append(
        Contract(reference=f"C-{name[:3]}", brands=brands or [], factories=factories)
    )
    session.add(buyer)
    session.commit()
    return buyer


def add_reports(
    session: Session,
    factory: Factory | None,
    count: int,
    categories: tuple[str, ...] = ("wages",),
    *,
    language: str = "th",
    urgent: int = 0,
    at: datetime = MID_OCTOBER,
    text: str = "the supervisor kept our wages for two months",
) -> list[Report]:
    reports = []
    for index in range(count):
        number = next(_numbers)
        reporter = Reporter(pseudonym=f"pseudonym-{number:06d}", country="TH")
        report = Report(
            code=f"R{number:07d}",
            reporter=reporter,
            factory_id=factory.id if factory else None,
            language=language,
            country="TH",
            urgent=index < urgent,
            created_at=at,
            last_message_at=at,
        )
        report.categories = [ReportCategory(code=code, score=1.0) for code in categories]
        session.add(report)
        session.flush()
        session.add(
            Message(direction="inbound", reporter=reporter, report=report, text=text, created_at=at)
        )
        reports.append(report)
    session.commit()
    return reports


def run(app: Flask, tmp_path: Path, **options: Any) -> ExportResult:
    # The report's charts take a second to draw; only the tests about the report ask for it.
    options.setdefault("report", False)
    params = ExportParams(
        month=OCTOBER, out_dir=tmp_path / "out", today=TODAY, pdf=False, **options
    )
    with db.sessions(app)() as session:
        return export(session, params)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        return list(csv.DictReader(source))


def cells(rows: list[dict[str, str]], factory: str) -> dict[str, dict[str, str]]:
    return {row["category"]: row for row in rows if row["factory_code"] == factory}


@pytest.fixture
def factories(session: Session) -> dict[str, Factory]:
    return {
        "one": add_factory(session, "TH-001", "Golden Needle Garments", ["Northwind"]),
        "two": add_factory(session, "TH-002", "Riverside Knitwear"),
        "three": add_factory(session, "TH-003", "Lotus Footwear", ["Contoso"]),
    }


def test_small_counts_are_hidden_with_a_complement(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    add_reports(session, factories["one"], 3, ("wages",), urgent=1)
    add_reports(session, factories["one"], 10, ("hours",))
    add_reports(session, factories["one"], 20, ("safety",), urgent=6)

    result = run(app, tmp_path)

    rows = cells(read_csv(result.folder / "aggregates.csv"), "TH-001")
    assert rows["wages"]["reports"] == "<5"
    # Alone, "<5" could be worked out from the total: the smallest other count goes too.
    assert rows["hours"]["reports"] == "hidden"
    assert rows["safety"]["reports"] == "20"
    assert rows["all categories"]["reports"] == "33"
    assert rows["wages"]["urgent_reports"] == "<5"
    # The urgent line has its own small count (1 of 7), so its only other count goes too.
    assert rows["safety"]["urgent_reports"] == "hidden"
    assert rows["all categories"]["urgent_reports"] == "7"
    assert result.suppressed["reports"] == {"small": 1, "complementary": 1, "collapsed_lines": 0}
    # No percentage anywhere: counts and labels only.
    assert not any("%" in value for row in rows.values() for value in row.values())


def test_a_factory_with_few_reports_shows_its_total_alone(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    for category in ("wages", "hours", "safety", "housing"):
        add_reports(session, factories["two"], 1, (category,))

    result = run(app, tmp_path)

    rows = cells(read_csv(result.folder / "aggregates.csv"), "TH-002")
    # Four categories under a total below 5 would say "one each": no breakdown at all.
    assert list(rows) == ["all categories"]
    assert rows["all categories"]["reports"] == "<5"


def test_a_buyer_sees_only_its_factories_and_brands(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    add_buyer(session, "Northshire County Council", [factories["two"]], brands=["northwind"])
    add_buyer(session, "St Elsewhere Hospital", [factories["three"]])
    for factory in factories.values():
        add_reports(session, factory, 6, ("wages",))
        add_reports(session, factory, 2, ("hours",))
    add_reports(session, None, 7, ("wages",))

    council = run(app, tmp_path / "a", buyer="Northshire County Council")
    hospital = run(app, tmp_path / "b", buyer="St Elsewhere Hospital")
    everyone = run(app, tmp_path / "c")

    council_rows = read_csv(council.folder / "aggregates.csv")
    assert {row["factory_code"] for row in council_rows} == {"TH-001", "TH-002"}
    assert {row["factory_code"] for row in read_csv(hospital.folder / "aggregates.csv")} == {
        "TH-003"
    }
    everyone_rows = read_csv(everyone.folder / "aggregates.csv")
    assert {row["factory_code"] for row in everyone_rows} == {"TH-001", "TH-002", "TH-003", ""}
    # A factory's rows are the same whoever asks: comparing exports reveals nothing new.
    for code in ("TH-001", "TH-002"):
        assert cells(council_rows, code) == cells(everyone_rows, code)


def test_unknown_buyer_is_a_clear_error(app: Flask, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no buyer named"):
        run(app, tmp_path, buyer="Nobody")


def test_each_format_opens_in_its_own_reader(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    sneaky = add_factory(session, "TH-009", '=HYPERLINK("http://example.invalid","x")')
    thai = add_factory(session, "TH-010", "โรงงานทอผ้าสยาม")
    add_reports(session, sneaky, 8, ("wages",))
    add_reports(session, thai, 8, ("hours",))

    table = {
        kind: run(app, tmp_path / kind, format=kind, records=True, report=False).folder
        for kind in ("csv", "xlsx", "json")
    }

    raw = (table["csv"] / "aggregates.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    csv_rows = read_csv(table["csv"] / "aggregates.csv")
    names = {row["factory_name"] for row in csv_rows}
    assert "'" + '=HYPERLINK("http://example.invalid","x")' in names
    assert "โรงงานทอผ้าสยาม" in names

    book = openpyxl.load_workbook(table["xlsx"] / "aggregates.xlsx", read_only=True)
    sheet = book.worksheets[0]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    xlsx_names = {row[header.index("factory_name")] for row in rows}
    assert xlsx_names == names
    assert sheet.cell(row=2, column=header.index("reports") + 1).data_type == "n"
    book.close()

    items = json.loads((table["json"] / "aggregates.json").read_text(encoding="utf-8"))
    # JSON is not a spreadsheet: it keeps the text exactly, and numbers stay numbers.
    assert {item["factory_name"] for item in items} == {
        '=HYPERLINK("http://example.invalid","x")',
        "โรงงานทอผ้าสยาม",
    }
    assert all(isinstance(item["reports"], int) for item in items)
    records = json.loads((table["json"] / "records.json").read_text(encoding="utf-8"))
    assert len(records) == 16


def test_a_planted_phone_number_stops_the_export_and_writes_nothing(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    planted = add_factory(session, "TH-011", "Call +66 81 234 5670 for jobs")
    add_reports(session, planted, 6)

    with pytest.raises(LeakFound) as stopped:
        run(app, tmp_path)

    message = str(stopped.value)
    assert "aggregates row 1" in message
    assert "'factory_name'" in message
    assert "phone number" in message
    assert "5670" not in message
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


def _every_text(folder: Path) -> str:
    """What a reader of the folder can read: every file, spreadsheets cell by cell."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            parts.extend(
                str(value)
                for sheet in book.worksheets
                for row in sheet.iter_rows(values_only=True)
                for value in row
                if value is not None
            )
            book.close()
        elif path.is_file():
            parts.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(parts).casefold()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_known_name_in_one_text_withholds_that_cell_and_the_export_goes_on(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path, kind: str
) -> None:
    partner = Partner(name="Labour Rights Monitor", countries=["TH"])
    partner.contacts.append(Contact(name="Somchai Rattanakorn"))
    session.add(partner)
    session.commit()
    add_reports(session, factories["one"], 6)
    add_reports(session, factories["one"], 1, text="somchai rattanakorn told us to keep quiet")

    result = run(app, tmp_path, records=True, text=True, report=True, format=kind)

    if kind == "csv":
        rows = read_csv(result.folder / "records.csv")
    else:
        book = openpyxl.load_workbook(result.folder / "records.xlsx", read_only=True)
        header, *values = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
        rows = [dict(zip(header, row, strict=True)) for row in values]
    assert len(rows) == 7
    texts = [row["text"] for row in rows]
    assert texts.count(WITHHELD) == 1
    assert texts.count("the supervisor kept our wages for two months") == 6
    manifest = json.loads((result.folder / "manifest.json").read_text(encoding="utf-8"))
    row = texts.index(WITHHELD) + 1
    expected = [{"table": "records", "row": row, "column": "text", "kind": "name known to intake"}]
    assert manifest["withheld_cells"] == expected
    assert result.withheld_cells == expected
    assert any("records row" in note for note in result.notes)
    everything = _every_text(result.folder)
    assert "somchai" not in everything
    assert "rattanakorn" not in everything
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.detail["withheld_cells"] == expected
    assert "somchai" not in json.dumps(event.detail).casefold()


def test_record_rows_say_month_only_and_link_only_within_one_export(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    reports = add_reports(session, factories["one"], 8, ("wages",))
    # One worker sent two reports: linked inside an export, never across exports.
    reports[1].reporter_id = reports[0].reporter_id
    session.commit()
    add_reports(session, factories["one"], 5, ("hours",), language="my")
    add_reports(session, factories["one"], 2, ("hours",), language="km")
    add_reports(session, factories["one"], 3, ("hours",), language="ne")
    add_reports(session, factories["one"], 5, ("safety",), language="my")
    add_reports(session, factories["one"], 5, ("safety",), language="th")
    add_reports(session, factories["one"], 1, ("safety",), language="bn")

    first = run(app, tmp_path / "1", records=True)
    second = run(app, tmp_path / "2", records=True)

    rows = read_csv(first.folder / "records.csv")
    assert {row["month"] for row in rows} == {"2026-10"}
    keys = [row["reporter"] for row in rows]
    assert len(set(keys)) == len(keys) - 1
    stored = set(session.scalars(select(Reporter.pseudonym)))
    assert not stored & set(keys)
    assert not set(keys) & {row["reporter"] for row in read_csv(second.folder / "records.csv")}
    # Khmer (2) and Nepali (3) would each be too few: together they are five, language hidden.
    hours = [row for row in rows if row["categories"] == "hours"]
    assert sorted(row["language"] for row in hours) == ["my"] * 5 + ["not shown"] * 5
    # The one Bengali safety report has nobody to hide among: left out, and counted.
    assert "bn" not in {row["language"] for row in rows}
    assert first.record_counts == {
        "rows": 28,
        "generalised_language": 5,
        "left_out_unique": 1,
        "left_out_hidden_count": 0,
        "urgency_not_shown": 0,
    }
    manifest = json.loads((first.folder / "manifest.json").read_text())
    assert manifest["record_counts"] == first.record_counts


def test_reports_behind_a_hidden_count_are_left_out_of_the_records(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    add_reports(session, factories["one"], 3, ("wages",))
    add_reports(session, factories["one"], 10, ("hours",))
    add_reports(session, factories["one"], 20, ("safety",))

    result = run(app, tmp_path, records=True)

    rows = read_csv(result.folder / "records.csv")
    assert {row["categories"] for row in rows} == {"safety"}
    assert result.record_counts is not None
    assert result.record_counts["left_out_hidden_count"] == 13


def test_case_and_remedy_counts_and_worker_confirmations(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    reports = add_reports(session, factories["one"], 6, ("wages",))
    case = Case(
        title="Unpaid wages", factory_id=factories["one"].id, category="wages",
        opened_at=MID_OCTOBER,
    )
    case.remedies = [
        RemedyItem(action="pay back wages", responsible=Responsible.FACTORY,
                   due_on=date(2026, 10, 20), created_at=MID_OCTOBER),
        RemedyItem(action="payslips", responsible=Responsible.FACTORY, status=RemedyStatus.DONE,
                   done_at=datetime(2026, 10, 25, tzinfo=UTC), created_at=MID_OCTOBER),
    ]
    session.add(case)
    session.flush()
    for report in reports:
        session.add(CheckBack(case_id=case.id, reporter_id=report.reporter_id,
                              answer=SurveyAnswer.YES, asked_at=MID_OCTOBER,
                              answered_at=datetime(2026, 10, 28, tzinfo=UTC)))
    session.commit()

    result = run(app, tmp_path)

    wages = cells(read_csv(result.folder / "aggregates.csv"), "TH-001")["wages"]
    assert wages["cases_opened"] == "1"
    assert wages["remedies_opened"] == "2"
    assert wages["remedies_done"] == "1"
    assert wages["remedies_overdue"] == "1"
    assert wages["checkback_confirmations"] == "6"


def test_a_factory_shown_as_its_total_alone_shows_no_category_anywhere(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    # Riverside: fewer than 5 reports every month, about the same problem; and this month a
    # case in a category of its own. Golden Needle: enough reports to chart.
    for month in range(7, 11):
        at = datetime(2026, month, 3, tzinfo=UTC)
        add_reports(session, factories["two"], 2, ("freedom_of_association",), at=at)
        add_reports(session, factories["one"], 6, ("wages",), at=at)
    session.add(
        Case(title="Dismissed organisers", factory_id=factories["two"].id,
             category="harassment", opened_at=MID_OCTOBER)
    )
    session.commit()

    result = run(app, tmp_path, report=True)

    rows = cells(read_csv(result.folder / "aggregates.csv"), "TH-002")
    assert list(rows) == ["all categories"]
    assert rows["all categories"]["reports"] == "<5"
    assert rows["all categories"]["cases_opened"] == "1"
    page = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "freedom_of_association" not in page
    assert "harassment" not in page
    # Golden Needle's wages came back every month, and say so.
    assert "wages" in page


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.headings = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        if tag in ("h1", "h2"):
            self.headings += 1


def test_buyer_report_manifest_and_audit(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    add_buyer(session, "Northshire County Council", [factories["one"]])
    for month in range(6, 11):
        add_reports(session, factories["one"], 5, ("wages",),
                    at=datetime(2026, month, 3, tzinfo=UTC))

    params = ExportParams(month=OCTOBER, out_dir=tmp_path, buyer="Northshire County Council",
                          today=TODAY, records=True, user_id=7, via="admin")
    with db.sessions(app)() as own:
        result = export(own, params)

    page = _Page()
    page.feed((result.folder / "report.html").read_text(encoding="utf-8"))
    assert len(page.images) == 4
    for image in page.images:
        assert (result.folder / image).read_bytes().startswith(b"\x89PNG")
    assert (result.folder / "report.pdf").read_bytes().startswith(b"%PDF")
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["k"] == 5
    assert manifest["parameters"]["buyer"] == "Northshire County Council"
    assert set(manifest["files"]) == {
        path.name for path in result.folder.iterdir() if path.name != "manifest.json"
    }
    for name, digest in manifest["files"].items():
        from intake.exports.manifest import sha256

        assert sha256(result.folder / name) == digest
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.user_id == 7
    assert event.detail["via"] == "admin"
    assert event.detail["month"] == "2026-10"
    assert event.detail["files"] == manifest["files"]


def test_cli_exports_with_a_progress_bar(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    add_reports(session, factories["one"], 7)
    runner = CliRunner()
    script = ScriptInfo(create_app=lambda: app)

    result = runner.invoke(
        main,
        ["export", "--month", "2026-10", "--format", "json", "--records", "--no-pdf",
         "--out", str(tmp_path)],
        obj=script,
    )

    assert result.exit_code == 0, result.output
    assert "aggregates.json" in result.output
    assert "manifest.json" not in result.output.split("wrote", 1)[0]
    bad = runner.invoke(main, ["export", "--month", "October", "--out", str(tmp_path)], obj=script)
    assert bad.exit_code != 0
    assert "2026-10" in bad.output


def test_the_second_redaction_pass_hides_a_third_persons_name(
    app: Flask, session: Session, factories: dict[str, Factory], tmp_path: Path
) -> None:
    # Issue 13: a text stored before the name rules existed still leaves without the name.
    add_reports(session, factories["one"], 6, text="our supervisor Kevin Tan kept our wages")
    result = run(app, tmp_path, records=True, text=True)
    texts = [row["text"] for row in read_csv(result.folder / "records.csv")]
    assert texts
    assert all("Kevin" not in text and "[NAME]" in text for text in texts)
