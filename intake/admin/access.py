"""Who is signed in, what their role lets them reach, and the decorator that guards each route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required

from intake.models import Role, User

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as every query sees them: a monitor only reaches their partner."""

    user_id: int
    role: Role
    partner_id: int | None = None
    name: str = ""
    locale: str = "en"
    # The account's session token when signed in: the session cookie names it (see get_id).
    session_token: str = field(default="", repr=False)

    # Flask-Login's user protocol: only signed-in, active accounts are ever loaded as Viewers.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    @classmethod
    def of(cls, user: User) -> Viewer:
        """The viewer an account signs in as."""
        return cls(user.id, user.role, user.partner_id, user.name, user.locale, user.session_token)

    def get_id(self) -> str:
        # Flask-Login's "alternative token": a cookie names the account and its current
        # session token, so a new token (sign-out, password, second factor) ends every cookie.
        return f"{self.user_id}:{self.session_token}"

    @property
    def sees_all_partners(self) -> bool:
        return self.role in (Role.ADMIN, Role.COORDINATOR)

    def may_see(self, partner_id: int | None) -> bool:
        """Whether a record of this partner (None: not yet routed) is within reach."""
        return self.sees_all_partners or (partner_id is not None and partner_id == self.partner_id)


def viewer() -> Viewer:
    """The current signed-in viewer (only call behind `roles`)."""
    person = current_user._get_current_object()
    if not isinstance(person, Viewer):
        abort(401)
    return person


def roles(*allowed: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Guard a view: signed in with both factors, and holding one of `allowed` roles."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if viewer().role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped: Callable[P, R] = login_required(guarded)
        return wrapped

    return decorate


EVERYONE = (Role.ADMIN, Role.COORDINATOR, Role.MONITOR)
STAFF = (Role.ADMIN, Role.COORDINATOR)
ADMINS = (Role.ADMIN,)
