"""Reference data an admin keeps: factories, partners and on-call contacts, buyers, contracts.

Each change is audited by field name, never by the values (which may name people).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import audit
from intake.db import write_transaction
from intake.models import Buyer, Contact, Contract, Factory, Partner
from intake.pipeline.identity import Keyring, parse_address
from intake.triage import InvalidChange

if TYPE_CHECKING:
    from intake.admin.access import Viewer


def split_list(text: str) -> list[str]:
    """Comma- or line-separated names, trimmed, without blanks or repeats."""
    items = (part.strip() for line in text.splitlines() for part in line.split(","))
    return list(dict.fromkeys(item for item in items if item))


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
        if factory is None:
            raise InvalidChange("no such factory")
        if clash is not None and clash is not factory:
            raise InvalidChange("another factory has this code")
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
            raise InvalidChange("a partner with this name exists")
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
        if session.get(Partner, partner_id) is None:
            raise InvalidChange("no such partner")
        token = None
        if phone:
            try:
                possible = phonenumbers.is_possible_number(phonenumbers.parse(phone, None))
            except phonenumbers.NumberParseException:
                possible = False
            if not possible:
                raise InvalidChange("not a phone number in international form (+...)")
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
        if contact is None:
            raise InvalidChange("no such contact")
        contact.on_call = on_call
        audit.record(session, "contact.on_call", user_id=viewer.user_id, target=contact, on=on_call)


def add_buyer(session: Session, viewer: Viewer, name: str, country: str | None) -> Buyer:
    with write_transaction(session):
        if session.scalar(select(Buyer).where(Buyer.name == name.strip())):
            raise InvalidChange("a buyer with this name exists")
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
            raise InvalidChange("no such buyer")
        factories = list(session.scalars(select(Factory).where(Factory.id.in_(list(factory_ids)))))
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
