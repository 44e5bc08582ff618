"""The command line's database in the end-to-end tests, named as staff name it with --db, on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url


def as_given(url: str) -> Path | str:
    """A test database as staff give it to --db: a SQLite file's path, or a server's postgresql:// URL
    (as servers are usually written; the app chooses the driver)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        return Path(parsed.database)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def cli_db(database_url: str) -> Path | str:
    """The command line's database: a SQLite file not made yet (init or demo-data makes it), or a fresh
    database on the server with its tables made (init finds it ready)."""
    return as_given(database_url)


@pytest.fixture
def cli_empty_db(empty_database_url: str) -> Path | str:
    """Like cli_db, but on the server an empty database, whose tables init makes."""
    return as_given(empty_database_url)
