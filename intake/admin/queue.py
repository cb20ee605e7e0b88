"""The triage queue: which reports a monitor sees, in what order, and the counts beside it.

Plain typed functions over a session, no Flask: the admin views call them, and every one of
them applies the viewer's scope itself, so no caller can forget that a monitor only reaches
their own partner's reports.

Order: urgent first, then new before the other statuses, then newest first (created_at, id).
That order is four *segments* (urgent×new, urgent×other, calm×new, calm×other); within a
segment rows are ordered by (created_at, id) descending. A page reads the segments in turn,
each from the index (urgent, status, created_at, id) with a keyset on (created_at, id), and
merges the statuses of the "other" segment in Python. Every read is an index range with a
LIMIT, never an OFFSET, so page 20 costs what page 1 costs, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    bindparam,
    case,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.orm import Session

from intake.admin.access import Viewer
from intake.admin.params import parse_date
from intake.models import (
    Direction,
    Factory,
    Message,
    Partner,
    Report,
    ReportCategory,
    ReportStatus,
    Role,
    User,
)
from intake.parsing import ascii_id
from intake.pipeline.types import CATEGORY_CODES

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Facet counts stop here: "1,000+" tells a monitor as much as 734,512 and costs far less.
COUNT_CAP = 250
# The category facet summarises the top of the queue, not all of it (see _category_counts).
CATEGORY_WINDOW = 500
SNIPPET_LENGTH = 140
MAX_QUERY_LENGTH = 100
# The statuses after "new" in the queue's order; closed only when asked for.
OPEN_STATUSES = (ReportStatus.NEW, ReportStatus.TRIAGED, ReportStatus.VERIFIED)

# The SQLite full-text index of message.text (trigram tokenizer), created by the queue-index
# migration and kept in sync by triggers there. Not on Base.metadata: no model owns it.
MESSAGE_FTS = Table("message_fts", MetaData(), Column("rowid", Integer), Column("text", Text))
# The trigram tokenizer matches nothing shorter than three characters.
TRIGRAM = 3


def scope_condition(viewer: Viewer) -> ColumnElement[bool]:
    """The reports `viewer` may reach: all for staff, their partner's only for a monitor."""
    if viewer.role in (Role.ADMIN, Role.COORDINATOR):
        return true()
    if viewer.role == Role.MONITOR and viewer.partner_id is not None:
        return Report.partner_id == viewer.partner_id
    # A monitor without a partner, or a role this code does not know, reaches nothing.
    return false()


@dataclass(frozen=True)
class QueueFilters:
    """What a monitor narrowed the queue to; None everywhere is the whole open queue."""

    status: ReportStatus | None = None  # None: every status but closed
    category: str | None = None
    urgent: bool | None = None
    partner_id: int | None = None
    factory_id: int | None = None
    country: str | None = None
    language: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueFilters:
        """Filters from request arguments; a value that does not parse is ignored, not an error."""
        status = _choice(args.get("status"), {s.value: s for s in ReportStatus})
        category = _choice(args.get("category"), {code: code for code in CATEGORY_CODES})
        country = (args.get("country") or "").strip().upper()
        language = (args.get("language") or "").strip().lower()
        q = " ".join((args.get("q") or "").split())[:MAX_QUERY_LENGTH]
        return cls(
            status=status,
            category=category,
            urgent=_flag(args.get("urgent")),
            partner_id=_id(args.get("partner")),
            factory_id=_id(args.get("factory")),
            country=country if len(country) == 2 and country.isalpha() else None,
            language=language if 2 <= len(language) <= 8 and _is_tag(language) else None,
            date_from=_date(args.get("from")),
            date_to=_date(args.get("to")),
            q=q or None,
        )

    def to_args(self) -> dict[str, str]:
        """These filters as request arguments, for links (from_args reads them back)."""
        values: dict[str, Any] = {
            "status": self.status.value if self.status else None,
            "category": self.category,
            "urgent": None if self.urgent is None else ("1" if self.urgent else "0"),
            "partner": self.partner_id,
            "factory": self.factory_id,
            "country": self.country,
            "language": self.language,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "q": self.q,
        }
        return {key: str(value) for key, value in values.items() if value is not None}

    @property
    def statuses(self) -> tuple[ReportStatus, ...]:
        """The statuses these filters let through."""
        return (self.status,) if self.status is not None else OPEN_STATUSES


def _choice(value: str | None, choices: Mapping[str, Any]) -> Any:
    return choices.get((value or "").strip().lower())


def _flag(value: str | None) -> bool | None:
    value = (value or "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return None


def _id(value: str | None) -> int | None:
    return ascii_id((value or "").strip())


def _date(value: str | None) -> date | None:
    # Bounded: "to=9999-12-31" overflowed the day after it.
    return parse_date(value)


def _is_tag(value: str) -> bool:
    return value.isascii() and all(c.isalnum() or c == "-" for c in value)


@dataclass(frozen=True)
class QueueRow:
    """One line of the triage queue."""

    id: int
    code: str
    created_at: datetime
    last_message_at: datetime
    urgent: bool
    status: ReportStatus
    language: str | None
    country: str | None
    factory_code: str | None
    factory_name: str | None
    partner_name: str | None
    categories: tuple[str, ...]
    assignee_name: str | None
    snippet: str
    message_count: int


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue and the cursor of the next one (None on the last page)."""

    rows: list[QueueRow]
    next_cursor: str | None


@dataclass(frozen=True)
class Count:
    """A count that stops at a cap: `more` means "value or more"."""

    value: int
    more: bool = False


@dataclass(frozen=True)
class Counts:
    """The facet counts beside the filters, each with the other filters applied."""

    total: Count
    statuses: dict[ReportStatus, Count]
    urgent: Count
    categories: list[tuple[str, Count]]  # largest first, zero counts left out
    partners: list[tuple[int | None, str | None, Count]]  # (id, name, count); None: unrouted
    cap: int = COUNT_CAP
    # When set, `categories` counts only the first this-many reports of the queue.
    categories_window: int | None = None


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    urgent: bool
    new: bool
    statuses: tuple[ReportStatus, ...]


@dataclass(frozen=True)
class _Key:
    """Where a page ended: the segment and the (created_at, id) of its last row."""

    urgent: bool
    new: bool
    created_at: datetime
    id: int


def triage_page(
    session: Session,
    viewer: Viewer,
    filters: QueueFilters,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue `viewer` may see, after the cursor `after` (None: the first)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    key = _decode(after)
    conditions = _conditions(session, viewer, filters)
    found: list[tuple[datetime, int, _Segment]] = []
    segments = _segments(filters)
    if key is not None and (key.urgent, key.new) not in {(s.urgent, s.new) for s in segments}:
        key = None  # a cursor from other filters: start again rather than show nothing
    started = key is None
    for segment in segments:
        if not started:
            if (segment.urgent, segment.new) != (key.urgent, key.new):  # type: ignore[union-attr]
                continue
            started = True
            position: _Key | None = key
        else:
            position = None
        found += _read_segment(session, segment, conditions, position, limit - len(found))
        if len(found) >= limit:
            break
    # One more row would tell whether a next page exists; a cursor that leads to an empty page
    # is cheaper than that probe, and only happens when the queue ends on a page boundary.
    next_cursor = None
    if len(found) == limit:
        created_at, report_id, segment = found[-1]
        next_cursor = _encode(_Key(segment.urgent, segment.new, created_at, report_id))
    return QueuePage(_rows(session, [report_id for _, report_id, _ in found]), next_cursor)


def _segments(filters: QueueFilters) -> list[_Segment]:
    urgencies = (True, False) if filters.urgent is None else (filters.urgent,)
    statuses = filters.statuses
    segments = []
    for urgent in urgencies:
        if ReportStatus.NEW in statuses:
            segments.append(_Segment(urgent, True, (ReportStatus.NEW,)))
        others = tuple(status for status in statuses if status != ReportStatus.NEW)
        if others:
            segments.append(_Segment(urgent, False, others))
    return segments


def _read_segment(
    session: Session,
    segment: _Segment,
    conditions: list[ColumnElement[bool]],
    position: _Key | None,
    limit: int,
) -> list[tuple[datetime, int, _Segment]]:
    """Up to `limit` rows of one segment after `position`, newest first."""
    streams = []
    for status in segment.statuses:
        query = (
            select(Report.created_at, Report.id)
            .where(*_cell_key(segment.urgent, status), *conditions)
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(limit)
        )
        if position is not None:
            query = query.where(
                tuple_(Report.created_at, Report.id) < tuple_(position.created_at, position.id)
            )
        streams.append([(row.created_at, row.id, segment) for row in session.execute(query)])
    if len(streams) == 1:
        return streams[0]
    # Each status is read from its own index range; merging them is cheaper than a sort.
    merged = heapq.merge(*streams, key=lambda row: (row[0], row[1]), reverse=True)
    return list(merged)[:limit]


def _conditions(
    session: Session, viewer: Viewer, filters: QueueFilters
) -> list[ColumnElement[bool]]:
    """Scope and filters except urgent and status (the segments carry those)."""
    conditions: list[ColumnElement[bool]] = [
        scope_condition(viewer),
        Report.merged_into_id.is_(None),
    ]
    if filters.partner_id is not None:
        conditions.append(Report.partner_id == filters.partner_id)
    if filters.factory_id is not None:
        conditions.append(Report.factory_id == filters.factory_id)
    if filters.country is not None:
        conditions.append(Report.country == filters.country)
    if filters.language is not None:
        conditions.append(Report.language == filters.language)
    if filters.date_from is not None:
        conditions.append(Report.created_at >= _midnight(filters.date_from))
    if filters.date_to is not None:
        conditions.append(Report.created_at < _midnight(filters.date_to + timedelta(days=1)))
    if filters.category is not None:
        conditions.append(_has_category(filters.category))
    if filters.q is not None:
        conditions.append(search_condition(session, filters.q))
    return conditions


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _has_category(code: str) -> ColumnElement[bool]:
    return (
        select(ReportCategory.id)
        .where(ReportCategory.report_id == Report.id, ReportCategory.code == code)
        .exists()
    )


# --- search ---------------------------------------------------------------------------------


def search_condition(session: Session, q: str) -> ColumnElement[bool]:
    """Reports with an inbound message whose redacted text contains `q` (any script, any case).

    Substring search, not word search: Chinese and Thai are written without spaces. PostgreSQL
    answers ILIKE from a pg_trgm GIN index; SQLite from an FTS5 trigram index. Queries shorter
    than three characters have no trigram and fall back to LIKE over the candidate reports.
    """
    q = " ".join(q.split())[:MAX_QUERY_LENGTH]
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name == "sqlite" and len(q) >= TRIGRAM and _has_fts(engine):
        phrase = '"' + q.replace('"', '""') + '"'
        matching = (
            select(Message.report_id)
            .join(MESSAGE_FTS, MESSAGE_FTS.c.rowid == Message.id)
            .where(
                literal_column("message_fts").op("MATCH")(phrase),
                Message.direction == Direction.INBOUND,
            )
        )
        return Report.id.in_(matching)
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return (
        select(Message.id)
        .where(
            Message.report_id == Report.id,
            Message.direction == Direction.INBOUND,
            Message.text.ilike(pattern, escape="\\"),
        )
        .exists()
    )


_FTS_PRESENT: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _has_fts(engine: Engine) -> bool:
    # The migration skips the index on a SQLite built without FTS5; search then scans.
    if engine not in _FTS_PRESENT:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'message_fts'")
            ).first()
        _FTS_PRESENT[engine] = found is not None
    return _FTS_PRESENT[engine]


# --- the rows -------------------------------------------------------------------------------


def _rows(session: Session, ids: Sequence[int]) -> list[QueueRow]:
    """The queue's columns for `ids`, in that order: four queries whatever the page size."""
    if not ids:
        return []
    reports = {
        row.id: row
        for row in session.execute(
            select(
                Report.id,
                Report.code,
                Report.created_at,
                Report.last_message_at,
                Report.urgent,
                Report.status,
                Report.language,
                Report.country,
                Factory.code.label("factory_code"),
                Factory.name.label("factory_name"),
                Partner.name.label("partner_name"),
                User.name.label("assignee_name"),
            )
            .outerjoin(Factory, Factory.id == Report.factory_id)
            .outerjoin(Partner, Partner.id == Report.partner_id)
            .outerjoin(User, User.id == Report.assignee_id)
            .where(Report.id.in_(ids))
        )
    }
    categories: dict[int, list[str]] = {}
    for report_id, code in session.execute(
        select(ReportCategory.report_id, ReportCategory.code)
        .where(ReportCategory.report_id.in_(ids))
        .order_by(ReportCategory.report_id, ReportCategory.score.desc(), ReportCategory.id)
    ):
        categories.setdefault(report_id, []).append(code)
    inbound = case((Message.direction == Direction.INBOUND, Message.id))
    counts: dict[int, tuple[int, int | None]] = {
        report_id: (count, first)
        for report_id, count, first in session.execute(
            select(Message.report_id, func.count(), func.min(inbound))
            .where(Message.report_id.in_(ids))
            .group_by(Message.report_id)
        )
    }
    firsts = [first for _, first in counts.values() if first is not None]
    snippets: dict[int | None, str] = dict(
        session.execute(
            select(Message.report_id, func.substr(Message.text, 1, SNIPPET_LENGTH + 1)).where(
                Message.id.in_(firsts)
            )
        ).all()
    ) if firsts else {}
    rows = []
    for report_id in ids:
        report = reports.get(report_id)
        if report is None:  # gone between the two reads
            continue
        count, _ = counts.get(report_id, (0, None))
        rows.append(
            QueueRow(
                id=report.id,
                code=report.code,
                created_at=report.created_at,
                last_message_at=report.last_message_at,
                urgent=report.urgent,
                status=report.status,
                language=report.language,
                country=report.country,
                factory_code=report.factory_code,
                factory_name=report.factory_name,
                partner_name=report.partner_name,
                categories=tuple(categories.get(report_id, ())),
                assignee_name=report.assignee_name,
                snippet=_snippet(snippets.get(report_id, "")),
                message_count=count,
            )
        )
    return rows


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_LENGTH else text[: SNIPPET_LENGTH - 1] + "…"


# --- the cursor -----------------------------------------------------------------------------


def _encode(key: _Key) -> str:
    raw = json.dumps(
        [int(key.urgent), int(key.new), key.created_at.astimezone(UTC).isoformat(), key.id],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> _Key | None:
    """The position a cursor names, or None (the first page) for anything malformed."""
    if not cursor or len(cursor) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        urgent, new, created_at, report_id = json.loads(raw)
        moment = datetime.fromisoformat(created_at)
        if (
            urgent not in (0, 1)
            or new not in (0, 1)
            or moment.tzinfo is None
            or type(report_id) is not int
            or not 0 < report_id < 2**63
        ):
            return None
        return _Key(bool(urgent), bool(new), moment, report_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


# --- the counts -----------------------------------------------------------------------------


def queue_counts(
    session: Session, viewer: Viewer, filters: QueueFilters, cap: int = COUNT_CAP
) -> Counts:
    """Facet counts: per status, urgent, per category and per partner, each capped at `cap`.

    Each facet keeps every other filter and drops its own (so a monitor sees what choosing
    another value would give). Exact counts of a broad filter over a million reports would
    cost a scan per facet on every page view; instead every count is built from *cells*, one
    (urgent, status) pair each, read from the queue's index as a range of at most cap + 1
    entries: one statement for the status×urgent grid, one for the partners. Categories are
    counted over the first CATEGORY_WINDOW reports of the queue (exact when it is shorter).
    With a search (`q`) only the total and the urgent count are given (see _search_counts).
    """
    others = _conditions(session, viewer, filters)
    urgencies = (True, False) if filters.urgent is None else (filters.urgent,)
    statuses = filters.statuses
    if filters.q is not None:
        return _search_counts(session, others, urgencies, statuses, cap)
    # Closed reports are most of the table and rarely looked for: counted only when chosen,
    # since their range is the longest to read under a narrow filter.
    shown = tuple(s for s in ReportStatus if s is not ReportStatus.CLOSED or s in statuses)
    grid_cells = [(urgent, status) for urgent in (True, False) for status in shown]
    grid = dict(zip(grid_cells, _scalars(session, [
        _cell(others, urgent, status, cap) for urgent, status in grid_cells
    ]), strict=True))
    by_status = {
        status: _sum([grid[urgent, status] for urgent in urgencies], cap) for status in shown
    }
    total = _sum([grid[urgent, status] for urgent in urgencies for status in statuses], cap)
    urgent = _sum([grid[True, status] for status in statuses], cap)

    cells = [(u, s) for u in urgencies for s in statuses]
    without_partner = _conditions(session, viewer, replace(filters, partner_id=None))
    # A monitor's scope is one partner: that facet would only repeat the total.
    partners = list(_partners(session, viewer)) if viewer.sees_all_partners else []
    values = _scalars(session, [
        _cell([*without_partner, _partner_is(partner_id)], u, s, cap)
        for partner_id, _ in partners
        for u, s in cells
    ])
    by_partner = []
    for n, (partner_id, name) in enumerate(partners):
        count = _sum(values[n * len(cells) : (n + 1) * len(cells)], cap)
        if count.value:
            by_partner.append((partner_id, name, count))

    categories, sampled = _category_counts(session, viewer, replace(filters, category=None))
    return Counts(total, by_status, urgent, categories, by_partner, cap, sampled)


def _search_counts(
    session: Session,
    conditions: list[ColumnElement[bool]],
    urgencies: tuple[bool, ...],
    statuses: tuple[ReportStatus, ...],
    cap: int,
) -> Counts:
    """With a search, only the total and the urgent count: every facet cell would search
    again, and a rare word makes each of them read its whole index range (seconds at 1M)."""
    cells = [(u, s) for u in urgencies for s in statuses]
    values = dict(zip(cells, _scalars(session, [
        _cell(conditions, u, s, cap) for u, s in cells
    ]), strict=True))
    total = _sum(values.values(), cap)
    urgent = _sum([values[u, s] for u, s in cells if u], cap)
    return Counts(total, {}, urgent, [], [], cap, None)


def _cell(
    conditions: list[ColumnElement[bool]], urgent: bool, status: ReportStatus, cap: int
) -> Select[Any]:
    # Equality on both leading columns of ix_report_queue: an index range, stopped at cap + 1.
    return (
        select(literal(1))
        .select_from(Report)
        .where(*_cell_key(urgent, status), *conditions)
        .limit(cap + 1)
    )


def _cell_key(urgent: bool, status: ReportStatus) -> tuple[ColumnElement[bool], ...]:
    """urgent = .. AND status = .., written into the SQL as constants, not parameters.

    PostgreSQL caches a generic plan for a statement psycopg prepared; with parameters that
    plan cannot know that (urgent, new) holds a few rows and (calm, closed) most of them, and
    scans the table for both.
    """
    return (
        Report.urgent == bindparam(None, urgent, Report.urgent.type, literal_execute=True),
        Report.status == bindparam(None, status, Report.status.type, literal_execute=True),
    )


def _category_counts(
    session: Session, viewer: Viewer, filters: QueueFilters
) -> tuple[list[tuple[str, Count]], int | None]:
    """Categories of the first CATEGORY_WINDOW reports of the queue, and the window if cut.

    Capped counts per category would probe a report per category row, a dozen codes deep;
    the top of the queue, in the order monitors work through it, is what this facet is for.
    """
    conditions = _conditions(session, viewer, filters)
    ids: list[int] = []
    for segment in _segments(filters):
        ids += [row[1] for row in _read_segment(
            session, segment, conditions, None, CATEGORY_WINDOW + 1 - len(ids)
        )]
        if len(ids) > CATEGORY_WINDOW:
            break
    sampled = CATEGORY_WINDOW if len(ids) > CATEGORY_WINDOW else None
    ids = ids[:CATEGORY_WINDOW]
    counted = session.execute(
        select(ReportCategory.code, func.count())
        .where(ReportCategory.report_id.in_(ids))
        .group_by(ReportCategory.code)
    ).all() if ids else []
    ranked = sorted(counted, key=lambda row: (-row[1], row[0]))
    return [(code, Count(count)) for code, count in ranked], sampled


def _partner_is(partner_id: int | None) -> ColumnElement[bool]:
    return Report.partner_id.is_(None) if partner_id is None else Report.partner_id == partner_id


def _scalars(session: Session, cells: list[Select[Any]]) -> list[int]:
    """The row count of each capped query, all in one statement."""
    if not cells:
        return []
    counts = [
        select(func.count()).select_from(cell.subquery()).scalar_subquery() for cell in cells
    ]
    return [int(value) for value in session.execute(select(*counts)).one()]


def _sum(values: Iterable[int], cap: int) -> Count:
    # Each cell stops at cap + 1, so the sum passes cap exactly when the true total does.
    value = sum(values)
    return Count(min(value, cap), value > cap)


def _partners(session: Session, viewer: Viewer) -> Iterable[tuple[int | None, str | None]]:
    if viewer.role == Role.MONITOR:
        if viewer.partner_id is None:
            return []
        name = session.get(Partner, viewer.partner_id)
        return [(viewer.partner_id, name.name if name else None)]
    if viewer.role not in (Role.ADMIN, Role.COORDINATOR):
        return []
    named: list[tuple[int | None, str | None]] = [
        (row.id, row.name) for row in session.execute(select(Partner.id, Partner.name))
    ]
    return [*sorted(named, key=lambda item: item[1] or ""), (None, None)]


__all__ = [
    "COUNT_CAP",
    "Count",
    "Counts",
    "QueueFilters",
    "QueuePage",
    "QueueRow",
    "Viewer",
    "queue_counts",
    "scope_condition",
    "search_condition",
    "triage_page",
]
