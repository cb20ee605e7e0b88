"""Which monitoring partner a report goes to: routing rules, else the factory's, else the country's.

A rule matches when every condition it sets matches the report; among matching active rules the
most specific (most conditions set) wins, then the lowest priority number, then the oldest rule.
With no rule, the factory's own partner takes the report, then the partner covering the
hotline's country.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from intake.models import Factory, Partner, RoutingRule
from intake.pipeline.identity import parse_address

# A rule added, changed or switched off is followed by every process within this many seconds.
RULES_RECHECK = 5.0

_RULES = select(
    RoutingRule.id,
    RoutingRule.partner_id,
    RoutingRule.hotline,
    RoutingRule.country,
    RoutingRule.factory_id,
    RoutingRule.language,
    RoutingRule.category,
    RoutingRule.priority,
).where(RoutingRule.active.is_(True))
_PARTNERS = select(Partner.id, Partner.countries).order_by(Partner.id)
_FACTORY_PARTNER = select(Factory.partner_id)


@dataclass(frozen=True)
class RouteFacts:
    """What routing looks at: the report's hotline, country, factory, language, categories."""

    hotline: str | None = None  # the number the worker texted, E.164
    country: str | None = None  # ISO 3166 region of that number
    factory_id: int | None = None
    language: str | None = None  # ISO 639-1
    categories: frozenset[str] = frozenset()
    # The factory's own partner, when the caller already knows it (saves a query).
    factory_partner_id: int | None = None

    @classmethod
    def of(
        cls,
        *,
        hotline: str | None = None,
        country: str | None = None,
        factory_id: int | None = None,
        language: str | None = None,
        categories: Iterable[str] = (),
        factory_partner_id: int | None = None,
    ) -> RouteFacts:
        """Facts with their spelling normalised the way rules are."""
        return cls(
            hotline=_number(hotline),
            country=_upper(country),
            factory_id=factory_id,
            language=_lower(language),
            categories=frozenset(categories),
            factory_partner_id=factory_partner_id,
        )


@dataclass(frozen=True)
class Rule:
    """An active routing rule as routing reads it."""

    id: int
    partner_id: int
    hotline: str | None = None
    country: str | None = None
    factory_id: int | None = None
    language: str | None = None
    category: str | None = None
    priority: int = 100

    @property
    def specificity(self) -> int:
        """How many conditions the rule sets: the more, the more specific."""
        conditions = (self.hotline, self.country, self.factory_id, self.language, self.category)
        return sum(condition is not None for condition in conditions)

    def matches(self, facts: RouteFacts) -> bool:
        """Whether every condition the rule sets holds for `facts`."""
        return (
            (self.hotline is None or self.hotline == facts.hotline)
            and (self.country is None or self.country == facts.country)
            and (self.factory_id is None or self.factory_id == facts.factory_id)
            and (self.language is None or self.language == facts.language)
            and (self.category is None or self.category in facts.categories)
        )

    def rank(self) -> tuple[int, int, int]:
        """Sort key: most specific first, then lowest priority number, then oldest."""
        return (-self.specificity, self.priority, self.id)


class Via(enum.StrEnum):
    """How a partner was chosen, as the preview explains it."""

    RULE = "rule"
    FACTORY = "factory"
    COUNTRY = "country"
    NOBODY = "nobody"


@dataclass(frozen=True)
class Decision:
    """The chosen partner (if any) and how it was chosen."""

    partner_id: int | None
    via: Via
    rule: Rule | None = None


@dataclass(frozen=True)
class RoutingTable:
    """The active rules and the partners' countries at one moment."""

    rules: tuple[Rule, ...] = ()
    # (partner id, the regions it covers), by partner id.
    countries: tuple[tuple[int, frozenset[str]], ...] = ()

    def matching(self, facts: RouteFacts) -> list[Rule]:
        """The rules that match `facts`, best first."""
        return sorted((rule for rule in self.rules if rule.matches(facts)), key=Rule.rank)

    def decide(self, facts: RouteFacts) -> Decision:
        """Where a report with these facts goes (`facts.factory_partner_id` must be filled)."""
        matching = self.matching(facts)
        if matching:
            return Decision(matching[0].partner_id, Via.RULE, matching[0])
        if facts.factory_partner_id is not None:
            return Decision(facts.factory_partner_id, Via.FACTORY)
        if facts.country:
            for partner_id, regions in self.countries:
                if facts.country in regions:
                    return Decision(partner_id, Via.COUNTRY)
        return Decision(None, Via.NOBODY)


def load_table(db: Connection | Session) -> RoutingTable:
    """The routing table as the database has it now (two small queries)."""
    rules = tuple(
        Rule(
            id=row.id,
            partner_id=row.partner_id,
            hotline=_number(row.hotline),
            country=_upper(row.country),
            factory_id=row.factory_id,
            language=_lower(row.language),
            category=row.category.strip() or None if row.category else None,
            priority=row.priority,
        )
        for row in db.execute(_RULES)
    )
    countries = tuple(
        (int(partner_id), frozenset(regions or ())) for partner_id, regions in db.execute(_PARTNERS)
    )
    return RoutingTable(rules, countries)


class Routes:
    """The routing table of one process, reloaded at most every RULES_RECHECK seconds.

    A reload is two queries on tables of a few dozen rows: paying them once per interval rather
    than once per SMS keeps them out of the webhook's write transaction altogether.
    """

    def __init__(
        self, recheck: float = RULES_RECHECK, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.recheck = recheck
        self._clock = clock
        self._table: RoutingTable | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def table(self, db: Connection | Session) -> RoutingTable:
        """The table, as of at most `recheck` seconds ago."""
        now = self._clock()
        table = self._table
        if table is not None and now - self._loaded_at < self.recheck:
            return table
        table = load_table(db)
        with self._lock:
            self._table, self._loaded_at = table, now
        return table

    def invalidate(self) -> None:
        """Forget the table: the next report reads the rules again (after an edit here)."""
        with self._lock:
            self._table = None


def route(db: Connection, facts: RouteFacts, table: RoutingTable | None = None) -> int | None:
    """The partner a report with these facts goes to, or None if nobody covers it."""
    return decide(db, facts, table).partner_id


def decide(
    db: Connection | Session, facts: RouteFacts, table: RoutingTable | None = None
) -> Decision:
    """Like `route`, with how the partner was chosen; reads the table unless given one."""
    table = table if table is not None else load_table(db)
    if facts.factory_id is not None and facts.factory_partner_id is None:
        partner_id = db.execute(
            _FACTORY_PARTNER.where(Factory.id == facts.factory_id)
        ).scalar_one_or_none()
        facts = replace(facts, factory_partner_id=partner_id)
    return table.decide(facts)


@dataclass(frozen=True)
class RoutePreview:
    """What the admin preview shows: the partner, why, and every rule that was weighed."""

    partner: Partner | None
    via: Via
    rule: RoutingRule | None
    # Every active rule, best-ranked first, each with whether it matched the sample.
    considered: list[tuple[RoutingRule, bool]] = field(default_factory=list)


def preview_route(session: Session, facts: RouteFacts) -> RoutePreview:
    """Where a sample report would go now, read fresh from the database (no cache)."""
    table = load_table(session)
    decision = decide(session, facts, table)
    ranked = sorted(table.rules, key=Rule.rank)
    by_id = {
        rule.id: rule
        for rule in session.scalars(
            select(RoutingRule).where(RoutingRule.id.in_([rule.id for rule in ranked]))
        )
    }
    considered = [(by_id[rule.id], rule.matches(facts)) for rule in ranked if rule.id in by_id]
    return RoutePreview(
        partner=session.get(Partner, decision.partner_id) if decision.partner_id else None,
        via=decision.via,
        rule=by_id.get(decision.rule.id) if decision.rule else None,
        considered=considered,
    )


def _number(value: str | None) -> str | None:
    """A hotline number in E.164, however an admin or Twilio spelled it."""
    if not value or not value.strip():
        return None
    return parse_address(value).canonical


def _upper(value: str | None) -> str | None:
    return value.strip().upper() or None if value else None


def _lower(value: str | None) -> str | None:
    return value.strip().lower() or None if value else None
