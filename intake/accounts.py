"""Admin accounts: argon2 passwords, TOTP second factor, lockout and throttle, sessions."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, case, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from intake import audit
from intake.config import Config
from intake.db import write_transaction
from intake.i18n import N_, Refusal
from intake.models import (
    LoginFailure,
    Partner,
    Role,
    User,
    UTCDateTime,
    new_session_token,
    utcnow,
)
from intake.pipeline.identity import Keyring

_hasher = PasswordHasher()
# Verifying against this keeps an unknown e-mail as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("intake-no-such-account")
MIN_PASSWORD_LENGTH = 12
ISSUER = "intake"


class AccountError(Refusal):
    """A user could not be created or changed; the message is safe to show an admin."""


class SignIn(enum.Enum):
    """How a password check ended; a locked account looks the same as a wrong password."""

    OK = "ok"
    REFUSED = "refused"


@dataclass(frozen=True)
class PasswordCheck:
    outcome: SignIn
    user: User | None


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    partner: Partner | None = None,
    locale: str = "en",
    actor_id: int | None = None,
) -> User:
    """Add an account (the caller commits); TOTP is enrolled at its first sign-in."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError(N_("not an e-mail address"))
    _long_enough(password)
    if role is Role.MONITOR and partner is None:
        raise AccountError(N_("a monitor belongs to a partner"))
    if session.scalar(select(func.count()).where(User.email == email)):
        raise AccountError(N_("an account with this e-mail exists"))
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=_hasher.hash(password),
        role=role,
        partner_id=partner.id if partner is not None and role is Role.MONITOR else None,
        locale=locale,
    )
    session.add(user)
    session.flush()
    audit.record(session, "user.create", user_id=actor_id, target=user, role=role.value)
    return user


def check_password(
    session: Session, config: Config, email: str, password: str, *, client: str
) -> PasswordCheck:
    """The first factor; a failure is counted against the account and the client address.

    `client` is the keyed hash of the client's address. The slow hash is checked outside any
    write transaction, so that one sign-in never holds up the webhook's writes.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active or is_locked(user):
        _verify(_DUMMY_HASH, password)
        ok = False
    else:
        ok = _verify(user.password_hash, password)
    if ok and user is not None:
        if _hasher.check_needs_rehash(user.password_hash):
            with write_transaction(session):
                user.password_hash = _hasher.hash(password)
        return PasswordCheck(SignIn.OK, user)
    known = user if user is not None and user.active else None
    with write_transaction(session):
        if known is not None:
            record_failure(session, known.id, config)
        address_failed(session, config, client)
        audit.record(session, "auth.refused", user_id=known.id if known else None, step="password")
    return PasswordCheck(SignIn.REFUSED, user)


def record_failure(session: Session, user_id: int, config: Config) -> None:
    """One more failed attempt; the one that reaches the maximum locks the account a while.

    One statement, so that concurrent failures all count: the database re-reads the row each
    waits for. Failures while the account is locked do not count.
    """
    now = utcnow()
    reached = User.failed_logins + 1 >= config.login_max_failures
    session.execute(
        update(User)
        .where(User.id == user_id, _unlocked(now))
        .values(
            failed_logins=case((reached, 0), else_=User.failed_logins + 1),
            locked_until=case(
                (reached, literal(now + config.login_lockout, UTCDateTime)),
                else_=User.locked_until,
            ),
        )
        .execution_options(synchronize_session=False)
    )


def _unlocked(now: datetime) -> ColumnElement[bool]:
    return or_(User.locked_until.is_(None), User.locked_until <= now)


def address_blocked(session: Session, config: Config, client: str) -> bool:
    """Whether the client address (its keyed hash) failed too often lately, on any host."""
    since = utcnow() - config.login_address_window
    recent = (
        select(LoginFailure.id)
        .where(LoginFailure.client == client, LoginFailure.at > since)
        .limit(config.login_address_max_failures)
        .subquery()
    )
    count = session.scalar(select(func.count()).select_from(recent)) or 0
    return count >= config.login_address_max_failures


def address_failed(session: Session, config: Config, client: str) -> None:
    """Count a failed sign-in from the client address; forget those past the window."""
    now = utcnow()
    forget_address_failures(session, config, now)
    session.add(LoginFailure(client=client, at=now))


def forget_address_failures(session: Session, config: Config, now: datetime) -> int:
    """Delete the failed sign-ins the throttle no longer counts; returns how many."""
    stale = now - config.login_address_window
    deleted = session.connection().execute(delete(LoginFailure).where(LoginFailure.at <= stale))
    return deleted.rowcount


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, user: User) -> str:
    """What the enrolment QR code holds."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def check_totp(
    session: Session,
    user: User,
    secret: str,
    code: str,
    config: Config,
    *,
    at: float | None = None,
) -> bool:
    """The second factor: a current code, whose time step is used once (the caller commits).

    The step is consumed by a conditional update, so that of many requests bearing one code,
    at once or later, exactly one succeeds; a failure counts towards the account's lockout.
    """
    now = time.time() if at is None else at
    totp = pyotp.TOTP(secret)
    code = "".join(code.split())
    current = int(now // totp.interval)
    # One step either side allows for clock drift between the server and the phone.
    for step in (current, current - 1, current + 1):
        if code.isdigit() and pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            if _consume_step(session, user, step):
                return True
            break
    record_failure(session, user.id, config)
    return False


def _consume_step(session: Session, user: User, step: int) -> bool:
    """Record `step` as used unless it (or a later one) was already, or the account locked."""
    fresh = or_(User.totp_last_step.is_(None), User.totp_last_step < step)
    result = session.connection().execute(
        update(User)
        .where(User.id == user.id, fresh, _unlocked(utcnow()))
        .values(totp_last_step=step)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def totp_secret(user: User, keyring: Keyring) -> str | None:
    """The user's enrolled TOTP secret, decrypted."""
    if user.totp_secret is None:
        return None
    return keyring.decrypt_text(user.totp_secret)


def enrol_totp(user: User, secret: str, keyring: Keyring) -> None:
    user.totp_secret = keyring.encrypt_text(secret)


def end_sessions(user: User) -> None:
    """End every session of the account at its next request: their cookies name the old token."""
    user.session_token = new_session_token()


def sign_out(session: Session, user_id: int) -> None:
    """Sign the account out everywhere, every browser and device (the caller commits)."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(session_token=new_session_token())
        .execution_options(synchronize_session=False)
    )
    audit.record(session, "auth.sign_out", user_id=user_id)


def signed_in(session: Session, user: User) -> None:
    """Both factors passed: clear the failure count and record it (the caller commits)."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    audit.record(session, "auth.sign_in", user_id=user.id, target=user)


def set_password(session: Session, user: User, password: str, *, actor_id: int | None) -> None:
    """A new password; every session of the account ends (the caller commits)."""
    _long_enough(password)
    user.password_hash = _hasher.hash(password)
    end_sessions(user)
    audit.record(session, "user.password", user_id=actor_id, target=user)


def _long_enough(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            N_("the password needs at least %(n)d characters"), n=MIN_PASSWORD_LENGTH
        )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_active(session: Session, user: User, active: bool, *, actor_id: int) -> None:
    """Switch an account off (it is signed out at its next request) or on again."""
    user.active = active
    # A session from before it was switched off must not come back when it is switched on.
    end_sessions(user)
    audit.record(session, "user.active", user_id=actor_id, target=user, active=active)


def reset_second_factor(session: Session, user: User, *, actor_id: int) -> None:
    """Forget the TOTP secret (a lost phone): the next sign-in enrols a new one."""
    user.totp_secret = None
    user.totp_last_step = None
    user.locked_until = None
    user.failed_logins = 0
    # Whoever holds the lost phone may also hold a signed-in browser.
    end_sessions(user)
    audit.record(session, "user.reset_totp", user_id=actor_id, target=user)
