"""The engine and transactions: SQLite tuned for safety (WAL, FULL sync, foreign keys, one writer).

Given a passphrase, the SQLite file is encrypted with SQLCipher (see storage/encryption.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from digiknow_desk.domain.errors import DomainError
from digiknow_desk.storage.checks import DatabaseLock, NotSaved, write_problem
from digiknow_desk.storage.encryption import (
    check_can_open,
    connect_with_key,
    key_statements,
    sqlcipher_driver,
)

SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=10000",  # first, so that switching to WAL waits for another process too
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
    # Deleted or changed text is overwritten, not left in free pages: erasure and retention rely on it.
    "PRAGMA secure_delete=ON",
)


def _tune_sqlite(engine: Engine, begin_statement: str, passphrase: str | None = None) -> None:
    """Apply the pragmas on every connection and let SQLAlchemy, not pysqlite, start transactions."""
    if passphrase is not None:
        keying = key_statements(passphrase)

        # Inserted before SQLAlchemy's own listeners, which may read the database: with SQLCipher the
        # key must come before anything else on the connection.
        @event.listens_for(engine, "connect", insert=True)
        def _on_connect_key(dbapi_connection: Any, _record: Any) -> None:
            for statement in keying:
                dbapi_connection.execute(statement)

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


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None in memory or for a `file:` URI."""
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


class Database:
    """One database: a single writer connection and, for SQLite, a pool of readers beside it.

    With a `passphrase`, the SQLite file is encrypted with SQLCipher: a new file is created encrypted,
    an existing one must be encrypted with that passphrase. Opening refuses, with a DomainError saying
    what to do, an encrypted file without its passphrase, a wrong passphrase, and a passphrase for a
    plain file."""

    def __init__(self, url: str, *, passphrase: str | None = None) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._passphrase = passphrase or None
        self.encrypted = self._passphrase is not None
        if self.is_sqlite:
            file = _sqlite_file(parsed)
            if file is not None:
                check_can_open(file, self._passphrase)
            # The passphrase never goes into the URL, which is shown and logged; SQLCipher comes in as
            # the DB-API module of the usual SQLite dialect, so pools and pragmas stay as they are.
            driver = {"module": sqlcipher_driver()} if self.encrypted else {}
            # One writer: every write transaction queues for the same connection and takes the
            # write lock at BEGIN, so two writers never deadlock upgrading a read lock.
            self.writer = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=60, **driver)
            _tune_sqlite(self.writer, "BEGIN IMMEDIATE", self._passphrase)
            self.reader = create_engine(url, pool_size=4, max_overflow=4, **driver)
            _tune_sqlite(self.reader, "BEGIN", self._passphrase)
        else:
            if self.encrypted:
                raise DomainError(
                    "Only a database file on this PC can be encrypted by DigiKnow Desk. A server database "
                    "is protected on the server: open it without a passphrase."
                )
            self.writer = self.reader = create_engine(url, pool_pre_ping=True)
        # The app holds this while the database is open (see app.open_database), so no second copy opens it.
        self.file_lock: DatabaseLock | None = None
        self._venue_copy: bool | None = None
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)

    @property
    def display_name(self) -> str:
        """The database as shown to staff: the file path, or the server's database and where it is."""
        url = make_url(self.url)
        if self.is_sqlite:
            return url.database or "(in memory)"
        host = url.host or ""  # empty (or a socket folder in `host=`): a server on this computer
        where = f"{host}:{url.port}" if host and url.port else host or "this computer"
        return f"{url.database} on {where}"

    @property
    def file(self) -> Path | None:
        """The SQLite file; None for a server database."""
        return _sqlite_file(make_url(self.url)) if self.is_sqlite else None

    @property
    def is_venue_copy(self) -> bool:
        """Whether this is a venue copy, whose changes the triggers record for the server (read once)."""
        if self._venue_copy is None:
            self._venue_copy = self.is_sqlite and self._recording()
        return self._venue_copy

    def _recording(self) -> bool:
        with self.writer.connect() as connection:
            if not inspect(connection).has_table("sync_state"):
                return False
            return bool(connection.execute(text("SELECT recording FROM sync_state WHERE id = 1")).scalar())

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends normally and rolls back otherwise. A full disk
        or a file that cannot be written is NotSaved, with a message that nothing was saved.

        On a venue copy each transaction takes the next number, under which the triggers group its
        changes in the outbox: the server applies them together or keeps them together as a conflict."""
        venue_copy = self.is_venue_copy
        try:
            with self._write_sessions() as session, session.begin():
                if venue_copy:
                    session.execute(text("UPDATE sync_state SET txn = txn + 1 WHERE id = 1"))
                yield session
        except DatabaseError as error:
            problem = write_problem(error)
            if problem is None:
                raise
            raise NotSaved(problem) from error

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only snapshot; anything written in it is rolled back."""
        with self._read_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def connect_file(self, path: Path) -> Any:
        """A DB-API connection to another SQLite file through this database's driver (backups, restores).

        Kept here so that whatever a connection to this database needs (the driver, a key) applies
        to its backup copies too: a copy of an encrypted database is encrypted with the same passphrase."""
        if self._passphrase is not None:
            return connect_with_key(path, self._passphrase)
        return self.writer.dialect.loaded_dbapi.connect(str(path), isolation_level=None)

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()
        if self.file_lock is not None:
            self.file_lock.release()
            self.file_lock = None
