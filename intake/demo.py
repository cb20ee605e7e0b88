"""Invented demo data (a partner, factories, a few messages) so the hotline can be tried."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.accounts import create_user
from intake.db import write_transaction
from intake.models import Buyer, Contact, Contract, Factory, Partner, Role, User
from intake.pipeline.hotline import Hotline
from intake.pipeline.receive import receive_sms
from intake.sms.inbound import InboundSms

# Numbers with all-zero subscriber parts: they parse to the right country but reach nobody.
DEMO_HOTLINE = "+60300000000"
DEMO_ON_CALL = "on-call@example.org"
FACTORIES = (
    ("F-2931", "Sunrise Electronics Penang", ["Sunrise", "日升电子"], "MY"),
    ("EW1042", "Golden Lotus Components", ["Golden Lotus", "โกลเด้นโลตัส"], "TH"),
    ("F-3107", "Red River Circuits", ["Song Hong Circuits", "Mạch Sông Hồng"], "VN"),
)
MESSAGES = (
    ("+8613800000000", "我们在F-2931工厂每天加班到晚上11点，两个月没发工资"),
    ("+66800000000", "หัวหน้าที่ Golden Lotus ยึดพาสปอร์ตของพวกเรา ไม่ให้ลาออก"),
    ("+84900000000", "Cong ty Red River Circuits no luong 2 thang roi, tang ca moi ngay 4 tieng"),
    ("+60120000000", "Kilang Sunrise kunci pintu kecemasan waktu malam, ada asap di line 3!"),
    ("+9779800000000", "mero passport agent le rakhyo, talab pani diyena"),
)


def seed(session: Session, hotline: Hotline) -> int:
    """Add the demo partner, factories and messages once; returns how many messages were new."""
    with write_transaction(session):
        partner = session.scalar(select(Partner).where(Partner.name == "Demo Monitoring Partner"))
        if partner is None:
            partner = Partner(name="Demo Monitoring Partner", countries=["MY", "TH", "VN", "CN"])
            session.add(partner)
        if session.scalar(select(Contact).where(Contact.email == DEMO_ON_CALL)) is None:
            # Urgent reports are mailed to a partner's on-call contacts: the demo has one.
            session.add(Contact(partner=partner, name="Demo on-call desk", email=DEMO_ON_CALL))
        for code, name, aliases, country in FACTORIES:
            if session.scalar(select(Factory).where(Factory.code == code)) is None:
                session.add(
                    Factory(code=code, name=name, aliases=aliases, country=country, partner=partner)
                )
    new = 0
    for number, text in MESSAGES:
        sid = "SM" + hashlib.sha256(f"demo:{number}:{text}".encode()).hexdigest()[:32]
        receipt = receive_sms(session, InboundSms(sid, number, DEMO_HOTLINE, text), hotline)
        new += not receipt.duplicate
    return new


DEMO_ACCOUNTS = (
    ("admin@example.org", "Demo Admin", Role.ADMIN),
    ("coordinator@example.org", "Demo Coordinator", Role.COORDINATOR),
    ("monitor@example.org", "Demo Monitor", Role.MONITOR),
)


def seed_workspace(session: Session) -> dict[str, str]:
    """Demo accounts, a buyer with a contract, and a case; returns new accounts' passwords."""
    created: dict[str, str] = {}
    with write_transaction(session):
        partner = session.scalar(select(Partner).where(Partner.name == "Demo Monitoring Partner"))
        for email, name, role in DEMO_ACCOUNTS:
            if session.scalar(select(User).where(User.email == email)) is None:
                password = secrets.token_urlsafe(12)
                create_user(
                    session, email=email, name=name, password=password, role=role, partner=partner
                )
                created[email] = password
        if session.scalar(select(Buyer)) is None:
            factories = list(session.scalars(select(Factory).order_by(Factory.code)))
            buyer = Buyer(name="Demo County Council", country="GB")
            buyer.contracts.append(
                Contract(reference="ICT-2026-01", brands=["Demo Laptops"], factories=factories)
            )
            session.add(buyer)
    return created
