"""The engine and transactions: SQLite tuned for safety (WAL, FULL sync, foreign keys, one writer)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=10000",  # first, so that switching to WAL waits for another process too
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
)


def _tune_sqlite(engine: Engine, begin_statement: str) -> None:
    """Apply the pragmas on every connection and let SQLAlchemy, not pysqlite, start transactions."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite's own BEGIN handling is unreliable
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_statement)


class Database:
    """One database: a single writer connection and, for SQLite, a pool of readers beside it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            # One writer: every write transaction queues for the same connection and takes the
            # write lock at BEGIN, so two writers never deadlock upgrading a read lock.
            self.writer = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
            _tune_sqlite(self.writer, "BEGIN IMMEDIATE")
            self.reader = create_engine(url, pool_size=4, max_overflow=4)
            _tune_sqlite(self.reader, "BEGIN")
        else:
            self.writer = self.reader = create_engine(url, pool_pre_ping=True)
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)

    @property
    def display_name(self) -> str:
        """The database as shown to staff: the file path, or the server URL without the password."""
        url = make_url(self.url)
        if self.is_sqlite:
            return url.database or "(in memory)"
        return url.render_as_string(hide_password=True)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends normally and rolls back otherwise."""
        with self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot; anything written in it is rolled back."""
        with self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()
