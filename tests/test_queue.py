"""The triage queue and the report page's query layer: order, filters, pages, scope, search."""

from __future__ import annotations

import base64
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from intake.admin.access import Viewer
from intake.admin.queue import (
    QueueFilters,
    QueueRow,
    queue_counts,
    triage_page,
)
from intake.admin.report_view import load_report
from intake.models import (
    Case,
    Direction,
    Factory,
    Message,
    Note,
    Partner,
    Report,
    ReportCategory,
    Reporter,
    ReportStatus,
    Role,
    User,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADMIN = Viewer(user_id=1, role=Role.ADMIN)
COORDINATOR = Viewer(user_id=2, role=Role.COORDINATOR)


@dataclass
class World:
    """Invented partners, factories and reporters for one test."""

    session: Session
    partners: list[Partner] = field(default_factory=list)
    factories: list[Factory] = field(default_factory=list)
    codes: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def reporter(self) -> Reporter:
        reporter = Reporter(pseudonym=secrets.token_hex(16), contact=None, country="MY")
        self.session.add(reporter)
        self.session.flush()
        return reporter

    def report(
        self,
        *,
        text: str = "overtime not paid",
        at: datetime = T0,
        urgent: bool = False,
        status: ReportStatus = ReportStatus.NEW,
        partner: Partner | None = None,
        factory: Factory | None = None,
        country: str | None = "MY",
        language: str | None = "en",
        categories: tuple[str, ...] = ("wages",),
        reporter: Reporter | None = None,
        merged_into: Report | None = None,
    ) -> Report:
        reporter = reporter or self.reporter()
        report = Report(
            code=f"R{next(self.codes):05d}",
            reporter_id=reporter.id,
            status=status,
            urgent=urgent,
            language=language,
            country=country,
            factory_id=factory.id if factory else None,
            partner_id=partner.id if partner else None,
            created_at=at,
            last_message_at=at,
            merged_into_id=merged_into.id if merged_into else None,
        )
        self.session.add(report)
        self.session.flush()
        for rank, code in enumerate(categories):
            self.session.add(
                ReportCategory(report_id=report.id, code=code, score=1.0 - rank / 10, evidence=[])
            )
        self.message(report, text, at=at, reporter=reporter)
        return report

    def message(
        self,
        report: Report,
        text: str,
        *,
        at: datetime = T0,
        direction: Direction = Direction.INBOUND,
        reporter: Reporter | None = None,
        author: User | None = None,
    ) -> Message:
        message = Message(
            direction=direction,
            reporter_id=(reporter.id if reporter else report.reporter_id),
            report_id=report.id,
            text=text,
            language="en",
            created_at=at,
            author_id=author.id if author else None,
            delivery_status="delivered" if direction == Direction.OUTBOUND else None,
        )
        self.session.add(message)
        self.session.flush()
        return message


@pytest.fixture
def world(session: Session) -> World:
    world = World(session)
    for n in range(2):
        partner = Partner(name=f"Partner {'AB'[n]}", countries=["MY"])
        session.add(partner)
        session.flush()
        world.partners.append(partner)
    for n in range(3):
        factory = Factory(code=f"F-{n}", name=f"Invented Garments {n}", country="MY")
        session.add(factory)
        session.flush()
        world.factories.append(factory)
    return world


def monitor_of(partner: Partner) -> Viewer:
    return Viewer(user_id=10 + partner.id, role=Role.MONITOR, partner_id=partner.id)


def codes(rows: list[QueueRow]) -> list[str]:
    return [row.code for row in rows]


def walk(session: Session, viewer: Viewer, filters: QueueFilters, limit: int) -> list[str]:
    """Every page of the queue, following cursors to the end."""
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        page = triage_page(session, viewer, filters, cursor, limit=limit)
        seen += codes(page.rows)
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


def test_the_queue_shows_urgent_then_new_then_newest(world: World, session: Session) -> None:
    old_new = world.report(at=T0)
    recent_triaged = world.report(at=T0 + timedelta(days=3), status=ReportStatus.TRIAGED)
    recent_new = world.report(at=T0 + timedelta(days=2))
    urgent_verified = world.report(at=T0 - timedelta(days=9), urgent=True,
                                   status=ReportStatus.VERIFIED)
    urgent_new = world.report(at=T0 - timedelta(days=10), urgent=True)
    world.report(at=T0 + timedelta(days=5), status=ReportStatus.CLOSED)
    world.report(at=T0 + timedelta(days=6), merged_into=old_new)
    older_triaged = world.report(at=T0 - timedelta(days=1), status=ReportStatus.VERIFIED)

    page = triage_page(session, ADMIN, QueueFilters())

    assert codes(page.rows) == [
        urgent_new.code,
        urgent_verified.code,
        recent_new.code,
        old_new.code,
        recent_triaged.code,
        older_triaged.code,
    ]
    assert page.next_cursor is None


def test_a_row_carries_what_the_queue_shows(world: World, session: Session) -> None:
    user = User(email="m@example.org", name="Mei", password_hash="x", role=Role.COORDINATOR)
    session.add(user)
    session.flush()
    report = world.report(
        text="公司两个月没发工资 " * 20,
        partner=world.partners[0],
        factory=world.factories[1],
        categories=("wages", "working_hours"),
        language="zh",
    )
    report.assignee_id = user.id
    world.message(report, "we will call you", direction=Direction.OUTBOUND, author=user,
                  at=T0 + timedelta(hours=1))
    world.message(report, "also no overtime pay", at=T0 + timedelta(hours=2))
    session.flush()

    (row,) = triage_page(session, ADMIN, QueueFilters()).rows

    assert (row.factory_code, row.factory_name) == ("F-1", "Invented Garments 1")
    assert row.partner_name == "Partner A"
    assert row.assignee_name == "Mei"
    assert row.categories == ("wages", "working_hours")
    assert row.message_count == 3
    assert row.snippet.startswith("公司两个月没发工资 公司")
    assert len(row.snippet) <= 140
    assert row.snippet.endswith("…")
    assert (row.language, row.country, row.status) == ("zh", "MY", ReportStatus.NEW)


def test_every_filter_narrows_the_queue(world: World, session: Session) -> None:
    a, b = world.partners
    f0, f1, _ = world.factories
    base = world.report(partner=a, factory=f0, at=T0)
    triaged = world.report(partner=a, factory=f0, status=ReportStatus.TRIAGED, at=T0)
    closed = world.report(partner=a, status=ReportStatus.CLOSED, at=T0)
    urgent = world.report(partner=a, urgent=True, at=T0)
    other_partner = world.report(partner=b, factory=f1, at=T0)
    safety = world.report(partner=a, categories=("health_safety",), at=T0)
    thai_country = world.report(country="TH", language="th", at=T0, text="ไม่จ่ายค่าแรง")
    early = world.report(at=T0 - timedelta(days=40))
    late = world.report(at=T0 + timedelta(days=40))

    def only(**filters: object) -> set[str]:
        return set(walk(session, ADMIN, QueueFilters(**filters), limit=3))  # type: ignore[arg-type]

    assert only(status=ReportStatus.TRIAGED) == {triaged.code}
    assert only(status=ReportStatus.CLOSED) == {closed.code}
    assert closed.code not in only()
    assert only(urgent=True) == {urgent.code}
    assert urgent.code not in only(urgent=False)
    assert only(partner_id=b.id) == {other_partner.code}
    assert only(factory_id=f0.id) == {base.code, triaged.code}
    assert only(country="TH") == {thai_country.code}
    assert only(language="th") == {thai_country.code}
    assert only(category="health_safety") == {safety.code}
    assert only(date_from=date(2026, 4, 1)) == {late.code}
    assert only(date_to=date(2026, 2, 1)) == {early.code}
    day = T0.date()
    assert early.code not in only(date_from=day, date_to=day)
    assert base.code in only(date_from=day, date_to=day)
    assert only(q="จ่ายค่า") == {thai_country.code}


def test_keyset_pages_walk_every_row_exactly_once_despite_ties(
    world: World, session: Session
) -> None:
    a, b = world.partners
    statuses = [ReportStatus.NEW, ReportStatus.TRIAGED, ReportStatus.VERIFIED]
    made = []
    for n in range(41):
        # Five distinct timestamps for 41 reports: most of each page boundary is a tie.
        made.append(world.report(
            at=T0 + timedelta(minutes=n % 5),
            urgent=n % 7 == 0,
            status=statuses[n % 3],
            partner=(a, b)[n % 2],
        ))
    rank = {ReportStatus.NEW: 0, ReportStatus.TRIAGED: 1, ReportStatus.VERIFIED: 1}
    expected = sorted(
        made, key=lambda r: (not r.urgent, rank[r.status], -r.created_at.timestamp(), -r.id)
    )

    for limit in (1, 4, 7, 41, 50):
        assert walk(session, ADMIN, QueueFilters(), limit) == [r.code for r in expected]

    mine = [r.code for r in expected if r.partner_id == a.id]
    assert walk(session, monitor_of(a), QueueFilters(), 3) == mine
    triaged = [r.code for r in expected if r.status == ReportStatus.TRIAGED]
    assert walk(session, ADMIN, QueueFilters(status=ReportStatus.TRIAGED), 2) == triaged


def test_a_monitor_never_reaches_another_partners_report(world: World, session: Session) -> None:
    a, b = world.partners
    ours = world.report(partner=a, text="wages late again 工资拖欠")
    theirs = world.report(partner=b, text="wages late again 工资拖欠", urgent=True)
    unrouted = world.report(partner=None, text="wages late again 工资拖欠")
    monitor = monitor_of(a)

    for filters in (
        QueueFilters(),
        QueueFilters(partner_id=b.id),
        QueueFilters(q="工资拖欠"),
        QueueFilters(q="工资"),
        QueueFilters(urgent=True),
    ):
        seen = walk(session, monitor, filters, limit=2)
        assert theirs.code not in seen
        assert unrouted.code not in seen
    assert walk(session, monitor, QueueFilters(q="wages late"), 5) == [ours.code]

    counts = queue_counts(session, monitor, QueueFilters())
    assert counts.total.value == 1
    assert counts.urgent.value == 0
    assert counts.partners == []  # a monitor has one partner: no partner facet
    assert queue_counts(session, monitor, QueueFilters(partner_id=b.id)).total.value == 0

    assert load_report(session, monitor, theirs.id) is None
    assert load_report(session, monitor, unrouted.id) is None
    assert load_report(session, monitor, ours.id) is not None
    assert load_report(session, COORDINATOR, unrouted.id) is not None

    nobody = Viewer(user_id=99, role=Role.MONITOR, partner_id=None)
    assert triage_page(session, nobody, QueueFilters()).rows == []
    assert load_report(session, nobody, ours.id) is None
    assert queue_counts(session, nobody, QueueFilters()).total.value == 0


def test_staff_see_every_partner_and_the_unrouted(world: World, session: Session) -> None:
    a, b = world.partners
    made = {world.report(partner=a).code, world.report(partner=b).code, world.report().code}

    assert set(walk(session, COORDINATOR, QueueFilters(), 2)) == made
    counts = queue_counts(session, COORDINATOR, QueueFilters())
    assert {partner_id: count.value for partner_id, _, count in counts.partners} == {
        a.id: 1, b.id: 1, None: 1,
    }


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage",
        "!!!",
        "%%%",
        "a" * 5000,
        base64.urlsafe_b64encode(b"[1,1,\"not a date\",3]").decode(),
        base64.urlsafe_b64encode(b"[1,1,\"2026-01-01T00:00:00\",3]").decode(),  # naive
        base64.urlsafe_b64encode(b"[7,1,\"2026-01-01T00:00:00+00:00\",3]").decode(),
        base64.urlsafe_b64encode(b"[1,1,\"2026-01-01T00:00:00+00:00\",-3]").decode(),
        base64.urlsafe_b64encode(b"[1,1,\"2026-01-01T00:00:00+00:00\",1e300]").decode(),
        base64.urlsafe_b64encode(b"{\"a\": 1}").decode(),
        base64.urlsafe_b64encode("\u00ff\u00fe".encode("latin-1")).decode(),
    ],
)
def test_a_malformed_cursor_gives_the_first_page(
    world: World, session: Session, cursor: str
) -> None:
    first = world.report(urgent=True)
    world.report()

    page = triage_page(session, ADMIN, QueueFilters(), cursor, limit=1)

    assert codes(page.rows) == [first.code]


def test_a_cursor_from_other_filters_starts_the_queue_again(
    world: World, session: Session
) -> None:
    world.report(urgent=True)
    calm = world.report()
    cursor = triage_page(session, ADMIN, QueueFilters(), limit=1).next_cursor

    page = triage_page(session, ADMIN, QueueFilters(urgent=False), cursor, limit=1)

    assert codes(page.rows) == [calm.code]


def test_request_arguments_parse_leniently() -> None:
    garbage = {
        "status": "deleted",
        "category": "DROP TABLE",
        "urgent": "maybe",
        "partner": "-1",
        "factory": "1e9",
        "country": "Malaysia",
        "language": "en;--",
        "from": "2026-13-40",
        "to": "yesterday",
        "q": "   ",
    }
    assert QueueFilters.from_args(garbage) == QueueFilters()
    assert QueueFilters.from_args({"partner": "9" * 40}) == QueueFilters()

    filters = QueueFilters.from_args({
        "status": "Triaged",
        "category": "wages",
        "urgent": "1",
        "partner": "3",
        "factory": "12",
        "country": "my",
        "language": "ZH",
        "from": "2026-01-01",
        "to": "2026-02-01",
        "q": "  工资   拖欠 ",
    })
    assert filters == QueueFilters(
        status=ReportStatus.TRIAGED,
        category="wages",
        urgent=True,
        partner_id=3,
        factory_id=12,
        country="MY",
        language="zh",
        date_from=date(2026, 1, 1),
        date_to=date(2026, 2, 1),
        q="工资 拖欠",
    )
    assert QueueFilters.from_args(filters.to_args()) == filters
    assert QueueFilters().to_args() == {}
    assert QueueFilters.from_args({"urgent": "0"}).urgent is False


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("没发工资", "zh"),  # four characters: the trigram index
        ("工资", "zh"),  # two: no trigram, a scan
        ("จ่ายค่าแรง", "th"),
        ("ค่า", "th"),
        ("OVERTIME", "en"),
        ("100%", "pct"),
        ("a_b", "underscore"),
    ],
)
def test_search_finds_substrings_in_any_script(
    world: World, session: Session, query: str, expected: str
) -> None:
    made = {
        "zh": world.report(text="公司两个月没发工资，每天加班"),
        "th": world.report(text="หัวหน้าบังคับทำโอที ไม่จ่ายค่าแรง"),
        "en": world.report(text="We work overtime every night"),
        "pct": world.report(text="they cut 100% of the bonus"),
        "underscore": world.report(text="code a_b in the message"),
        "decoy": world.report(text="a1b and 1000 and 工 资"),
    }

    found = walk(session, ADMIN, QueueFilters(q=query), limit=10)

    assert found == [made[expected].code]


def test_search_reads_inbound_redacted_text_only_and_follows_edits(
    world: World, session: Session
) -> None:
    report = world.report(text="the dormitory roof leaks")
    world.message(report, "we will look at the dormitory fire exits", direction=Direction.OUTBOUND)

    assert walk(session, ADMIN, QueueFilters(q="fire exits"), 5) == []
    assert walk(session, ADMIN, QueueFilters(q="roof leaks"), 5) == [report.code]

    message = session.scalars(select(Message).where(Message.report_id == report.id)).first()
    assert message is not None
    message.text = "the dormitory [redacted] leaks"
    session.flush()
    assert walk(session, ADMIN, QueueFilters(q="roof leaks"), 5) == []
    assert walk(session, ADMIN, QueueFilters(q="[redacted]"), 5) == [report.code]


def test_counts_keep_the_other_filters_and_stop_at_the_cap(
    world: World, session: Session
) -> None:
    a, b = world.partners
    for n in range(6):
        world.report(partner=a, categories=("wages", "working_hours") if n % 2 else ("wages",))
    world.report(partner=b, urgent=True, categories=("health_safety",))
    world.report(partner=a, status=ReportStatus.TRIAGED)
    world.report(partner=a, status=ReportStatus.CLOSED)

    counts = queue_counts(session, COORDINATOR, QueueFilters(partner_id=a.id))

    assert counts.total.value == 7
    assert counts.statuses[ReportStatus.NEW].value == 6
    assert counts.statuses[ReportStatus.TRIAGED].value == 1
    # Closed reports are counted only when asked for.
    assert ReportStatus.CLOSED not in counts.statuses
    closed = queue_counts(
        session, COORDINATOR, QueueFilters(partner_id=a.id, status=ReportStatus.CLOSED)
    )
    assert closed.statuses[ReportStatus.CLOSED].value == 1
    assert counts.urgent.value == 0
    assert [(code, count.value) for code, count in counts.categories] == [
        ("wages", 7), ("working_hours", 3),
    ]
    by_partner = {pid: count.value for pid, _, count in counts.partners}
    assert by_partner == {a.id: 7, b.id: 1}

    capped = queue_counts(session, COORDINATOR, QueueFilters(), cap=4)
    assert (capped.total.value, capped.total.more) == (4, True)
    assert capped.urgent == type(capped.urgent)(1, False)


def test_the_report_page_has_the_thread_and_everything_around_it(
    world: World, session: Session
) -> None:
    a = world.partners[0]
    author = User(email="w@example.org", name="Wan", password_hash="x", role=Role.MONITOR,
                  partner_id=a.id)
    case = Case(title="Unpaid overtime at F-0", partner_id=a.id)
    session.add_all([author, case])
    session.flush()
    report = world.report(partner=a, factory=world.factories[0], text="no pay for two months",
                          categories=("wages", "working_hours"))
    report.case_id = case.id
    world.message(report, "Thank you, we are looking into it", direction=Direction.OUTBOUND,
                  author=author, at=T0 + timedelta(hours=1))
    world.message(report, "still nothing", at=T0 + timedelta(hours=2))
    stranger = world.reporter()
    world.message(report, "R00001 me too", at=T0 + timedelta(hours=3), reporter=stranger)
    duplicate = world.report(partner=a, merged_into=report, at=T0 + timedelta(days=1))
    world.report(partner=world.partners[1], merged_into=report)  # another partner's: hidden
    session.add(Note(report_id=report.id, author_id=author.id, text="call the union"))
    session.flush()

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        detail = load_report(session, monitor_of(a), report.id)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert detail is not None
    assert len(statements) <= 7
    assert [m.text for m in detail.thread] == [
        "no pay for two months",
        "Thank you, we are looking into it",
        "still nothing",
        "R00001 me too",
    ]
    assert [m.direction for m in detail.thread] == ["inbound", "outbound", "inbound", "inbound"]
    assert detail.thread[1].author_name == "Wan"
    assert detail.thread[1].delivery_status == "delivered"
    assert [m.other_reporter for m in detail.thread] == [False, False, False, True]
    assert detail.other_reporters == 1
    assert detail.other_codes
    assert [c.code for c in detail.categories] == ["wages", "working_hours"]
    assert detail.factory_code == "F-0"
    assert detail.partner_name == "Partner A"
    assert detail.case is not None
    assert detail.case.title == "Unpaid overtime at F-0"
    assert [d.code for d in detail.duplicates] == [duplicate.code]
    assert [(n.author_name, n.text) for n in detail.notes] == [("Wan", "call the union")]

    merged = load_report(session, monitor_of(a), duplicate.id)
    assert merged is not None
    assert merged.merged_into is not None
    assert merged.merged_into.code == report.code
    assert not merged.other_codes
    assert load_report(session, ADMIN, 10**8) is None


def test_the_category_facet_summarises_the_top_of_the_queue(
    world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        world.report(at=T0 + timedelta(minutes=n), categories=("wages",))
    for n in range(3):
        world.report(at=T0 - timedelta(days=1, minutes=n), categories=("child_labour",))
    world.report(urgent=True, at=T0 - timedelta(days=9), categories=("forced_labour",))

    exact = queue_counts(session, ADMIN, QueueFilters(category="wages"))
    assert exact.categories_window is None
    assert [(code, count.value) for code, count in exact.categories] == [
        ("wages", 5), ("child_labour", 3), ("forced_labour", 1),
    ]

    monkeypatch.setattr("intake.admin.queue.CATEGORY_WINDOW", 4)
    top = queue_counts(session, ADMIN, QueueFilters())
    assert top.categories_window == 4
    assert [(code, count.value) for code, count in top.categories] == [
        ("wages", 3), ("forced_labour", 1),
    ]


def test_with_a_search_only_the_total_and_urgent_are_counted(
    world: World, session: Session
) -> None:
    world.report(text="the canteen food is spoiled", urgent=True)
    world.report(text="spoiled rice again")
    world.report(text="no pay")

    counts = queue_counts(session, ADMIN, QueueFilters(q="spoiled"))

    assert (counts.total.value, counts.urgent.value) == (2, 1)
    assert (counts.statuses, counts.categories, counts.partners) == ({}, [], [])
