"""What every service needs: the database, who is acting, and a clock that tests can set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from digiknow_desk.storage.database import Database


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceContext:
    db: Database
    actor: str
    clock: Callable[[], datetime] = field(default=system_clock)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """Today's date where the desk is (local time), for due dates and date checks."""
        return self.clock().astimezone().date()
