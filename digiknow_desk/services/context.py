"""What every service needs: the database, who is signed in, and a clock that tests can set."""

from __future__ import annotations

import functools
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.staff import NotSignedIn, Permission, PermissionDenied, StaffMember
from digiknow_desk.storage.database import Database


def system_clock() -> datetime:
    return datetime.now(UTC)


def this_machine() -> str:
    """The computer's network name, recorded in the audit trail (the same on every platform)."""
    return platform.node()[:120] or "unknown"


@dataclass
class Desk:
    """Who is signed in at this desk now. Sign-in, switching user and locking change it; every service
    built on the same desk sees the change at once."""

    staff: StaffMember | None = None
    machine: str = field(default_factory=this_machine)


@dataclass(frozen=True)
class ServiceContext:
    db: Database
    desk: Desk
    clock: Callable[[], datetime] = field(default=system_clock)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today's date where the desk is (local time), for due dates and date checks."""
        return self.clock().astimezone().date()

    @property
    def staff(self) -> StaffMember:
        if self.desk.staff is None:
            raise NotSignedIn()
        return self.desk.staff

    @property
    def actor(self) -> str:
        """The signed-in staff member's name, as records show who did what."""
        return self.staff.display_name

    def may(self, permission: Permission) -> bool:
        return self.desk.staff is not None and self.desk.staff.may(permission)

    def server_only(self, what: str, why: str = "this laptop receives it at its next sync") -> None:
        """Refuse, saying where to do it, what only the server does when this database is a venue copy."""
        if self.db.is_venue_copy:
            raise DomainError(f"{what} on the server, not on a venue copy: {why}.")

    def require(self, permission: Permission) -> StaffMember:
        staff = self.staff
        if not staff.may(permission):
            raise PermissionDenied(staff, permission)
        return staff


Method = TypeVar("Method", bound=Callable[..., Any])


def requires(permission: Permission) -> Callable[[Method], Method]:
    """Mark a service method as needing `permission`: it is checked on every call, whoever calls
    (the GUI, the CLI or a test), before the method does anything."""

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            self._context.require(permission)
            return method(self, *args, **kwargs)

        checked.permission = permission  # type: ignore[attr-defined]  # read by the role-matrix test
        return cast(Method, checked)

    return decorate


def before_sign_in(method: Method) -> Method:
    """Mark a method that anyone at the desk may call, signed in or not (signing in, the first start,
    what the sign-in screen shows)."""
    method.permission = None  # type: ignore[attr-defined]  # read by the role-matrix test
    return method
