"""Admin accounts: argon2 passwords, TOTP second factor, lockout after repeated failures."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake import audit
from intake.config import Config
from intake.i18n import N_, Refusal
from intake.models import Partner, Role, User, utcnow
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


def check_password(session: Session, config: Config, email: str, password: str) -> PasswordCheck:
    """The first factor. Counts failures and locks the account; the caller commits."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return PasswordCheck(SignIn.REFUSED, None)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        _verify(_DUMMY_HASH, password)
        return PasswordCheck(SignIn.REFUSED, user)
    if not _verify(user.password_hash, password):
        record_failure(user, config, now)
        return PasswordCheck(SignIn.REFUSED, user)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return PasswordCheck(SignIn.OK, user)


def record_failure(user: User, config: Config, now: datetime) -> None:
    """One more failed attempt; enough of them lock the account for a while."""
    user.failed_logins += 1
    if user.failed_logins >= config.login_max_failures:
        user.locked_until = now + config.login_lockout
        user.failed_logins = 0


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, user: User) -> str:
    """What the enrolment QR code holds."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def check_totp(
    user: User, secret: str, code: str, config: Config, *, at: float | None = None
) -> bool:
    """The second factor: a current code, never the same time step twice (no replay)."""
    now = time.time() if at is None else at
    totp = pyotp.TOTP(secret)
    code = "".join(code.split())
    current = int(now // totp.interval)
    # One step either side allows for clock drift between the server and the phone.
    for step in (current, current - 1, current + 1):
        fresh = user.totp_last_step is None or step > user.totp_last_step
        if fresh and code.isdigit() and pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            user.totp_last_step = step
            return True
    record_failure(user, config, utcnow())
    return False


def totp_secret(user: User, keyring: Keyring) -> str | None:
    """The user's enrolled TOTP secret, decrypted."""
    if user.totp_secret is None:
        return None
    return keyring.decrypt_text(user.totp_secret)


def enrol_totp(user: User, secret: str, keyring: Keyring) -> None:
    user.totp_secret = keyring.encrypt_text(secret)


def signed_in(session: Session, user: User) -> None:
    """Both factors passed: clear the failure count and record it (the caller commits)."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    audit.record(session, "auth.sign_in", user_id=user.id, target=user)


def set_password(user: User, password: str) -> None:
    _long_enough(password)
    user.password_hash = _hasher.hash(password)


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
    audit.record(session, "user.active", user_id=actor_id, target=user, active=active)


def reset_second_factor(session: Session, user: User, *, actor_id: int) -> None:
    """Forget the TOTP secret (a lost phone): the next sign-in enrols a new one."""
    user.totp_secret = None
    user.totp_last_step = None
    user.locked_until = None
    user.failed_logins = 0
    audit.record(session, "user.reset_totp", user_id=actor_id, target=user)
