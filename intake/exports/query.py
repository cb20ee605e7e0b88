"""What exports read: the buyer's scope, monthly counts grouped in SQL, and reports streamed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from intake.models import (
    Buyer,
    Case,
    CheckBack,
    Contract,
    Factory,
    Finding,
    Message,
    RemedyItem,
    RemedyStatus,
    Report,
    ReportCategory,
    SurveyAnswer,
    Verification,
)

T = TypeVar("T")
UNCATEGORISED = "uncategorised"
# Large enough for any report id; prime, so (id * a + b) mod P is a permutation of the ids.
_PRIME = 2_147_483_647


class ExportError(ValueError):
    """The export was asked for something it cannot do (unknown buyer, bad month)."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, in UTC."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-10` as a Month; anything else is an ExportError."""
        try:
            year, month = (int(part) for part in text.split("-"))
            date(year, month, 1)
        except ValueError:
            raise ExportError(f"month must look like 2026-10, not {text!r}") from None
        return cls(year, month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.shift(1).start

    def shift(self, months: int) -> Month:
        """The month `months` later (or earlier, if negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def last(self, count: int) -> list[Month]:
        """The `count` months ending with this one, oldest first."""
        return [self.shift(offset) for offset in range(1 - count, 1)]


@dataclass(frozen=True)
class FactoryInfo:
    """What an export may say about a factory: public facts, no people."""

    id: int | None
    code: str
    name: str
    country: str
    brands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """Which factories an export covers: every one, or those in one buyer's contracts."""

    buyer_id: int | None
    buyer_name: str | None
    factories: dict[int | None, FactoryInfo] = field(default_factory=dict)

    @property
    def factory_ids(self) -> list[int] | None:
        """The factory ids to filter on, or None for every report (unknown factory included)."""
        if self.buyer_id is None:
            return None
        return [key for key in self.factories if key is not None]


UNKNOWN_FACTORY = FactoryInfo(id=None, code="", name="(factory not known)", country="")


def scope(session: Session, buyer_name: str | None, months: Sequence[Month]) -> Scope:
    """Every factory, or the factories and brands of the buyer's contracts running in `months`."""
    factories = session.scalars(select(Factory).order_by(Factory.code)).all()
    if buyer_name is None:
        infos: dict[int | None, FactoryInfo] = {
            factory.id: _info(factory, ()) for factory in factories
        }
        infos[None] = UNKNOWN_FACTORY
        return Scope(buyer_id=None, buyer_name=None, factories=infos)
    buyer = session.scalar(select(Buyer).where(Buyer.name == buyer_name))
    if buyer is None:
        raise ExportError(f"no buyer named {buyer_name!r}")
    first, last = min(months).first_day, max(months).shift(1).first_day
    contracts = session.scalars(
        select(Contract).where(
            Contract.buyer_id == buyer.id,
            or_(Contract.starts_on.is_(None), Contract.starts_on < last),
            or_(Contract.ends_on.is_(None), Contract.ends_on >= first),
        )
    ).all()
    linked = {factory.id for contract in contracts for factory in contract.factories}
    wanted = {brand.casefold(): brand for contract in contracts for brand in contract.brands}
    infos = {}
    for factory in factories:
        # A contract names brands as well as factories: a factory making a contracted brand is
        # in the buyer's supply chain even where the contract does not list it.
        brands = tuple(b for b in factory.brands or [] if b.casefold() in wanted)
        if factory.id in linked or brands:
            infos[factory.id] = _info(factory, brands)
    return Scope(buyer_id=buyer.id, buyer_name=buyer.name, factories=infos)


def _info(factory: Factory, brands: tuple[str, ...]) -> FactoryInfo:
    return FactoryInfo(
        id=factory.id,
        code=factory.code,
        name=factory.name,
        country=factory.country or "",
        brands=brands,
    )


Counts = dict[tuple[int | None, str], int]
Totals = dict[int | None, int]


@dataclass
class MonthCounts:
    """Every metric of one month: per factory and category, and per factory over categories."""

    cells: dict[str, Counts] = field(default_factory=lambda: defaultdict(dict))
    totals: dict[str, Totals] = field(default_factory=lambda: defaultdict(dict))


def month_counts(session: Session, where: Scope, month: Month, today: date) -> MonthCounts:
    """Count one month in SQL (reports are never loaded one by one for the aggregates)."""
    start, end = month.start, month.end
    ids = where.factory_ids
    counts = MonthCounts()

    def run(
        metrics: dict[str, ColumnElement[Any]],
        factory: Any,
        category: Any,
        base: Select[Any],
    ) -> None:
        if ids is not None:
            base = base.where(factory.in_(ids))
        for grouped, keys in ((True, (factory, category)), (False, (factory,))):
            columns = [label.label(name) for name, label in metrics.items()]
            for row in session.execute(base.with_only_columns(*keys, *columns).group_by(*keys)):
                key = (row[0], row[1] or UNCATEGORISED) if grouped else row[0]
                for offset, name in enumerate(metrics, start=len(keys)):
                    value = int(row[offset] or 0)
                    if value:
                        target = counts.cells[name] if grouped else counts.totals[name]
                        target[key] = value  # type: ignore[index]

    _report_counts(session, counts, start, end, ids)
    cases = select(Case.id)
    run(
        {
            "cases_opened": func.count(case((_between(Case.opened_at, start, end), 1))),
            "cases_closed": func.count(case((_between(Case.closed_at, start, end), 1))),
        },
        Case.factory_id,
        Case.category,
        cases.where(
            or_(_between(Case.opened_at, start, end), _between(Case.closed_at, start, end))
        ),
    )
    run(
        {"substantiated_findings": func.count(Verification.id)},
        Case.factory_id,
        Case.category,
        cases.join(Verification, Verification.case_id == Case.id).where(
            Verification.finding == Finding.SUBSTANTIATED,
            Verification.verified_on >= month.first_day,
            Verification.verified_on < month.shift(1).first_day,
        ),
    )
    # Overdue at the month's end (or today, for the running month): due before then, and
    # not done by then, whatever happened since.
    as_of = min(end, datetime(today.year, today.month, today.day, tzinfo=UTC))
    not_done_then = or_(
        and_(RemedyItem.done_at.is_(None), RemedyItem.status != RemedyStatus.DONE),
        RemedyItem.done_at >= as_of,
    )
    overdue = and_(RemedyItem.due_on < as_of.date(), RemedyItem.created_at < as_of, not_done_then)
    done = and_(RemedyItem.status == RemedyStatus.DONE, _between(RemedyItem.done_at, start, end))
    run(
        {
            "remedies_opened": func.count(case((_between(RemedyItem.created_at, start, end), 1))),
            "remedies_done": func.count(case((done, 1))),
            "remedies_overdue": func.count(case((overdue, 1))),
        },
        Case.factory_id,
        Case.category,
        cases.join(RemedyItem, RemedyItem.case_id == Case.id).where(RemedyItem.created_at < end),
    )
    run(
        {"checkback_confirmations": func.count(func.distinct(CheckBack.reporter_id))},
        Case.factory_id,
        Case.category,
        cases.join(CheckBack, CheckBack.case_id == Case.id).where(
            CheckBack.answer == SurveyAnswer.YES, _between(CheckBack.answered_at, start, end)
        ),
    )
    return counts


def _report_counts(
    session: Session, counts: MonthCounts, start: datetime, end: datetime, ids: list[int] | None
) -> None:
    """Reports and urgent reports per factory and category, and per factory."""
    urgent = func.sum(case((Report.urgent, 1), else_=0))
    in_month = _of_month(session, Month(start.year, start.month), ids)
    has_category = (
        select(ReportCategory.id).where(ReportCategory.report_id == Report.id).exists()
    )
    # (report_id, code) is unique: a plain count per code counts reports, no DISTINCT needed.
    factory = _unindexed(session, Month(start.year, start.month), Report.__table__.c.factory_id)
    per_category = (
        select(Report.factory_id, ReportCategory.code, func.count(), urgent)
        .join(ReportCategory, ReportCategory.report_id == Report.id)
        .where(*in_month)
        .group_by(factory, ReportCategory.code)
    )
    uncategorised = (
        select(Report.factory_id, literal(UNCATEGORISED), func.count(), urgent)
        .where(*in_month, ~has_category)
        .group_by(factory)
    )
    for statement in (per_category, uncategorised):
        for factory_id, code, number, urgent_number in session.execute(statement):
            counts.cells["reports"][(factory_id, code)] = int(number)
            if urgent_number:
                counts.cells["urgent_reports"][(factory_id, code)] = int(urgent_number)
    totals = select(Report.factory_id, func.count(), urgent).where(*in_month)
    for factory_id, number, urgent_number in session.execute(totals.group_by(factory)):
        counts.totals["reports"][factory_id] = int(number)
        if urgent_number:
            counts.totals["urgent_reports"][factory_id] = int(urgent_number)


def _between(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _codes_of(session: Session) -> ColumnElement[Any]:
    """A report's category codes joined by commas, looked up by the (report_id, code) index."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    joined = (
        func.string_agg(ReportCategory.code, literal_column("','"))
        if postgresql
        else func.group_concat(ReportCategory.code, ",")
    )
    return (
        select(joined)
        .where(ReportCategory.report_id == Report.id)
        .correlate(Report)
        .scalar_subquery()
    )


def _of_month(session: Session, month: Month, ids: list[int] | None) -> list[ColumnElement[bool]]:
    """The month's reports (duplicates merged away), in the factories `ids` if given."""
    created = _unindexed(session, month, Report.__table__.c.created_at)
    return [
        created >= month.start,
        created < month.end,
        Report.merged_into_id.is_(None),
        *([Report.factory_id.in_(ids)] if ids is not None else []),
    ]


def _unindexed(session: Session, month: Month, column: ColumnElement[T]) -> ColumnElement[T]:
    """`column`, kept from its index where the month is most of the table (SQLite only).

    SQLite's planner has no histograms: it takes the created_at index for any range, and the
    factory_id index to group by. When the month is most of the table, a million random row
    lookups are many times slower than one pass over it. A unary + (SQLite's own idiom) sets
    an index aside.
    """
    if not _most_of_the_table(session, month):
        return column
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def _most_of_the_table(session: Session, month: Month) -> bool:
    if session.get_bind().dialect.name != "sqlite":
        return False  # PostgreSQL's planner knows the distribution
    decided: dict[Month, bool] = session.info.setdefault("intake.exports.scan", {})
    if month not in decided:
        decided[month] = _measure_share(session, month)
    return decided[month]


def _measure_share(session: Session, month: Month) -> bool:
    everything = session.scalar(select(func.count(Report.id))) or 0
    within = session.scalar(
        select(func.count(Report.id)).where(
            Report.created_at >= month.start, Report.created_at < month.end
        )
    )
    return everything > 0 and (within or 0) * 4 > everything


def codes(joined: str | None) -> tuple[str, ...]:
    """A report's category codes, sorted, from the database's comma-joined list."""
    return tuple(sorted(joined.split(","))) if joined else (UNCATEGORISED,)


def quasi_identifier_counts(
    session: Session, where: Scope, month: Month
) -> dict[tuple[int | None, str, tuple[str, ...]], int]:
    """How many reports share each factory + language + category combination (month is fixed)."""
    joined = _codes_of(session).label("codes")
    statement = (
        select(Report.factory_id, Report.language, joined, func.count())
        .where(*_of_month(session, month, where.factory_ids))
        .group_by(
            _unindexed(session, month, Report.__table__.c.factory_id), Report.language, joined
        )
    )
    result: dict[tuple[int | None, str, tuple[str, ...]], int] = defaultdict(int)
    for factory_id, language, joined, count in session.execute(statement):
        # The database may join the same codes in different orders: add up after sorting.
        result[(factory_id, language or "", codes(joined))] += count
    return result


class ReportRow(NamedTuple):
    """The columns of one report that a record-level export may use."""

    report_id: int
    reporter_id: int
    factory_id: int | None
    country: str
    language: str
    codes: tuple[str, ...]
    urgent: bool
    status: str
    case_id: int | None
    case_status: str


def count_reports(session: Session, where: Scope, month: Month) -> int:
    """How many reports the month's record-level table starts from."""
    statement = select(func.count(Report.id)).where(
        Report.created_at >= month.start,
        Report.created_at < month.end,
        Report.merged_into_id.is_(None),
    )
    if where.factory_ids is not None:
        statement = statement.where(Report.factory_id.in_(where.factory_ids))
    return int(session.scalar(statement) or 0)


def stream_reports(
    session: Session, where: Scope, month: Month, order_key: tuple[int, int], batch: int = 5000
) -> Iterator[list[ReportRow]]:
    """The month's reports in batches, in an order drawn for this export alone.

    Database order follows arrival time; a keyed permutation of the ids ((id * a + b) mod p,
    a and b fresh per export) makes row order meaningless without costing a sort in Python.
    """
    a, b = order_key
    statement = (
        select(
            Report.id,
            Report.reporter_id,
            Report.factory_id,
            Report.country,
            Report.language,
            _codes_of(session),
            Report.urgent,
            Report.status,
            Report.case_id,
            Case.status,
        )
        .outerjoin(Case, Case.id == Report.case_id)
        .where(*_of_month(session, month, where.factory_ids))
        .order_by(
            (cast(Report.id, BigInteger) * literal(a, BigInteger) + literal(b, BigInteger))
            % literal(_PRIME, BigInteger)
        )
        .execution_options(yield_per=batch)
    )
    # Core execution: plain rows, without the ORM's per-row bookkeeping.
    result = session.connection().execute(statement)
    # The same few thousand comma-joined lists recur on every row: split each once.
    parsed: dict[str | None, tuple[str, ...]] = {}
    for partition in result.partitions():
        rows = []
        for row in partition:
            joined = row[5]
            found = parsed.get(joined)
            if found is None:
                found = parsed[joined] = codes(joined)
            rows.append(
                ReportRow(
                    row[0],
                    row[1],
                    row[2],
                    row[3] or "",
                    row[4] or "",
                    found,
                    bool(row[6]),
                    str(row[7]),
                    row[8],
                    str(row[9]) if row[9] is not None else "",
                )
            )
        yield rows


def remedy_status(session: Session, case_ids: Sequence[int], as_of: date) -> dict[int, str]:
    """Each case's remedy in one word: none, planned, in_progress, overdue or done."""
    result: dict[int, str] = {}
    items: dict[int, list[tuple[RemedyStatus, date | None]]] = defaultdict(list)
    for start in range(0, len(case_ids), 1000):
        chunk = list(case_ids[start : start + 1000])
        statement = select(RemedyItem.case_id, RemedyItem.status, RemedyItem.due_on).where(
            RemedyItem.case_id.in_(chunk)
        )
        for case_id, status, due_on in session.execute(statement):
            items[case_id].append((status, due_on))
    for case_id in case_ids:
        steps = items.get(case_id, [])
        if not steps:
            result[case_id] = "none"
        elif all(status == RemedyStatus.DONE for status, _ in steps):
            result[case_id] = "done"
        elif any(
            status != RemedyStatus.DONE and due is not None and due < as_of for status, due in steps
        ):
            result[case_id] = "overdue"
        elif any(status != RemedyStatus.PLANNED for status, _ in steps):
            result[case_id] = "in_progress"
        else:
            result[case_id] = "planned"
    return result


def report_texts(session: Session, report_ids: Sequence[int]) -> dict[int, str]:
    """The redacted inbound texts of each report, joined in order (never the originals)."""
    texts: dict[int | None, list[str]] = defaultdict(list)
    statement = (
        select(Message.report_id, Message.text)
        .where(Message.report_id.in_(list(report_ids)), Message.direction == "inbound")
        .order_by(Message.report_id, Message.id)
    )
    for report_id, text in session.execute(statement):
        texts[report_id].append(text)
    return {key: "\n".join(value) for key, value in texts.items() if key is not None}
