"""Reference data an admin keeps: factories, partners and on-call contacts, buyers, contracts.

Each change is audited by field name, never by the values (which may name people). Every id
a form carries is checked with the viewer's reach (`Viewer.may_see` on the record's partner);
one out of reach is refused as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from intake import audit
from intake.db import write_transaction
from intake.i18n import N_
from intake.models import Buyer, Contact, Contract, Factory, Partner, RoutingRule
from intake.pipeline.identity import Keyring, parse_address
from intake.pipeline.types import CATEGORY_CODES
from intake.triage import InvalidChange

if TYPE_CHECKING:
    from intake.admin.access import Viewer


def split_list(text: str) -> list[str]:
    """Comma- or line-separated names, trimmed, without blanks or repeats."""
    items = (part.strip() for line in text.splitlines() for part in line.split(","))
    return list(dict.fromkeys(item for item in items if item))


def visible_factories(session: Session, viewer: Viewer) -> list[Factory]:
    """The factories the viewer works with: all for staff, their partner's for a monitor."""
    query = select(Factory).options(selectinload(Factory.partner)).order_by(Factory.code)
    if not viewer.sees_all_partners:
        query = query.where(Factory.partner_id == viewer.partner_id)
    return list(session.scalars(query))


def save_factory(
    session: Session,
    viewer: Viewer,
    factory_id: int | None,
    *,
    code: str,
    name: str,
    aliases: list[str],
    country: str | None,
    region: str | None,
    brands: list[str],
    suppliers: list[str],
    partner_id: int | None,
) -> Factory:
    """Create or edit a factory; the analysis picks it up within seconds."""
    with write_transaction(session):
        code = code.strip().upper()
        clash = session.scalar(select(Factory).where(Factory.code == code))
        factory = session.get(Factory, factory_id) if factory_id else Factory()
        if factory is None or (factory_id and not viewer.may_see(factory.partner_id)):
            raise InvalidChange(N_("no such factory"))
        if clash is not None and clash is not factory:
            raise InvalidChange(N_("another factory has this code"))
        if partner_id is not None:
            _reachable_partner(session, viewer, partner_id)
        factory.code, factory.name, factory.aliases = code, name.strip(), aliases
        factory.country = (country or "").strip().upper()[:2] or None
        factory.region = (region or "").strip() or None
        factory.brands, factory.suppliers, factory.partner_id = brands, suppliers, partner_id
        session.add(factory)
        session.flush()
        audit.record(
            session,
            "factory.create" if factory_id is None else "factory.update",
            user_id=viewer.user_id,
            target=factory,
        )
    return factory


def add_partner(session: Session, viewer: Viewer, name: str, countries: list[str]) -> Partner:
    with write_transaction(session):
        if session.scalar(select(Partner).where(Partner.name == name.strip())):
            raise InvalidChange(N_("a partner with this name exists"))
        partner = Partner(name=name.strip(), countries=[c.upper()[:2] for c in countries])
        session.add(partner)
        session.flush()
        audit.record(session, "partner.create", user_id=viewer.user_id, target=partner)
    return partner


def add_contact(
    session: Session,
    viewer: Viewer,
    keyring: Keyring,
    partner_id: int,
    *,
    name: str,
    email: str | None,
    phone: str | None,
) -> Contact:
    """An on-call person for urgent reports; the phone number is stored encrypted only."""
    with write_transaction(session):
        _reachable_partner(session, viewer, partner_id)
        token = None
        if phone:
            try:
                possible = phonenumbers.is_possible_number(phonenumbers.parse(phone, None))
            except phonenumbers.NumberParseException:
                possible = False
            if not possible:
                raise InvalidChange(N_("not a phone number in international form (+...)"))
            token = keyring.encrypt_contact(parse_address(phone))
        contact = Contact(
            partner_id=partner_id,
            name=name.strip(),
            email=(email or "").strip() or None,
            phone=token,
        )
        session.add(contact)
        session.flush()
        audit.record(
            session, "contact.create", user_id=viewer.user_id, target=contact, partner=partner_id
        )
    return contact


def set_on_call(session: Session, viewer: Viewer, contact_id: int, on_call: bool) -> None:
    with write_transaction(session):
        contact = session.get(Contact, contact_id)
        if contact is None or not viewer.may_see(contact.partner_id):
            raise InvalidChange(N_("no such contact"))
        contact.on_call = on_call
        audit.record(session, "contact.on_call", user_id=viewer.user_id, target=contact, on=on_call)


def add_buyer(session: Session, viewer: Viewer, name: str, country: str | None) -> Buyer:
    with write_transaction(session):
        if session.scalar(select(Buyer).where(Buyer.name == name.strip())):
            raise InvalidChange(N_("a buyer with this name exists"))
        buyer = Buyer(name=name.strip(), country=(country or "").upper()[:2] or None)
        session.add(buyer)
        session.flush()
        audit.record(session, "buyer.create", user_id=viewer.user_id, target=buyer)
    return buyer


def add_contract(
    session: Session,
    viewer: Viewer,
    buyer_id: int,
    *,
    reference: str,
    brands: list[str],
    factory_ids: Iterable[int],
    starts_on: date | None,
    ends_on: date | None,
) -> Contract:
    """A buyer's contract: which brands, made in which factories."""
    with write_transaction(session):
        buyer = session.get(Buyer, buyer_id)
        if buyer is None:
            raise InvalidChange(N_("no such buyer"))
        wanted = set(factory_ids)
        factories = list(session.scalars(select(Factory).where(Factory.id.in_(list(wanted)))))
        if len(factories) != len(wanted) or not all(
            viewer.may_see(factory.partner_id) for factory in factories
        ):
            # Dropping the unknown ones quietly would save a contract that is not the one asked.
            raise InvalidChange(N_("no such factory"))
        contract = Contract(
            reference=reference.strip(),
            brands=brands,
            factories=factories,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        buyer.contracts.append(contract)
        session.flush()
        audit.record(session, "contract.create", user_id=viewer.user_id, target=contract)
    return contract


def add_routing_rule(
    session: Session,
    viewer: Viewer,
    *,
    partner_id: int,
    hotline: str | None = None,
    country: str | None = None,
    factory_id: int | None = None,
    language: str | None = None,
    category: str | None = None,
    priority: int = 100,
) -> RoutingRule:
    """A rule sending matching reports to a partner; every process follows it within seconds."""
    country_code = (country or "").strip().upper() or None
    conditions: dict[str, str | int | None] = {
        "hotline": _hotline_number(hotline),
        "country": country_code,
        "factory_id": factory_id,
        "language": (language or "").strip().lower() or None,
        "category": (category or "").strip() or None,
    }
    if all(value is None for value in conditions.values()):
        # A rule without conditions would take every report from every partner.
        raise InvalidChange(N_("a rule needs at least one condition"))
    if country_code is not None and not (len(country_code) == 2 and country_code.isalpha()):
        raise InvalidChange(N_("the country must be a two-letter ISO code"))
    if conditions["category"] is not None and conditions["category"] not in CATEGORY_CODES:
        raise InvalidChange(N_("no such category"))
    if not 0 <= priority <= 10_000:
        raise InvalidChange(N_("the priority must be between 0 and 10000"))
    with write_transaction(session):
        _reachable_partner(session, viewer, partner_id)
        if factory_id is not None:
            factory = session.get(Factory, factory_id)
            if factory is None or not viewer.may_see(factory.partner_id):
                raise InvalidChange(N_("no such factory"))
        rule = RoutingRule(partner_id=partner_id, priority=priority, **conditions)
        session.add(rule)
        session.flush()
        audit.record(
            session,
            "routing_rule.create",
            user_id=viewer.user_id,
            target=rule,
            partner=partner_id,
            conditions=sorted(name for name, value in conditions.items() if value is not None),
        )
    return rule


def set_rule_active(session: Session, viewer: Viewer, rule_id: int, active: bool) -> None:
    """Switch a routing rule on or off (rules are kept, so the audit log can name them)."""
    with write_transaction(session):
        rule = session.get(RoutingRule, rule_id)
        if rule is None or not viewer.may_see(rule.partner_id):
            raise InvalidChange(N_("no such routing rule"))
        rule.active = active
        audit.record(session, "routing_rule.active", user_id=viewer.user_id, target=rule, on=active)


def _reachable_partner(session: Session, viewer: Viewer, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None or not viewer.may_see(partner.id):
        raise InvalidChange(N_("no such partner"))
    return partner


def _hotline_number(text: str | None) -> str | None:
    """A hotline number as routing compares it (E.164), or None if not given."""
    if not text or not text.strip():
        return None
    try:
        number = phonenumbers.parse(text.strip(), None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise InvalidChange(N_("not a phone number in international form (+...)"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
