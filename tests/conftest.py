"""Shared fixtures: a real, migrated SQLite database per test and services on it; Qt runs offscreen."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from digiknow_desk.app import Services, build_services  # noqa: E402  (after the Qt platform is chosen)
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.storage.database import Database  # noqa: E402
from digiknow_desk.storage.migrate import upgrade_to_head  # noqa: E402

FIXED_NOW = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


@pytest.fixture
def database(db_path: Path) -> Iterator[Database]:
    database = Database("sqlite:///" + db_path.as_posix())
    upgrade_to_head(database)
    yield database
    database.dispose()


@pytest.fixture
def services(database: Database, clock: FakeClock) -> Services:
    return build_services(database, staff=setup_staff("Test Staff"), clock=clock)
