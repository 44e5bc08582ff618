"""The first copy of the server's tables into a new venue copy's SQLite file, the fast way.

Row by row through SQLAlchemy, a borough (50,000 residents and their history: some millions of rows)
takes minutes. Here PostgreSQL writes each value already as SQLite stores it (a UUID as 32 hex
digits, a timestamp as UTC text, a flag as 0 or 1), a second thread fetches the rows while sqlite3's
executemany writes the ones before, and the copied tables' indexes and triggers are made again once
the rows are in (quicker than keeping them up to date row by row; a unique index made again still
refuses duplicates). The file is new, so it is written without a journal and without waiting for the
disk, synced once at the end and put in WAL mode then; if anything fails, the caller deletes it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, Date, Table, Time, Uuid

from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import UtcDateTime

_FETCH = 20_000
_CACHE_KIB = 256 * 1024  # SQLite's page cache while copying: random UUID keys need room


def _as_sqlite_stores_it(table: Table) -> str:
    """A SELECT of the table whose values are as SQLite stores them (see SQLAlchemy's SQLite types)."""
    columns = []
    for column in table.columns:
        name = column.name
        kind = column.type
        if isinstance(kind, Uuid):
            columns.append(f"replace({name}::text, '-', '')")
        elif isinstance(kind, UtcDateTime):
            columns.append(f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
        elif isinstance(kind, Date):
            columns.append(f"to_char({name}, 'YYYY-MM-DD')")
        elif isinstance(kind, Time):
            columns.append(f"to_char(date '2000-01-01' + {name}, 'HH24:MI:SS.US')")
        elif isinstance(kind, Boolean):
            columns.append(f"{name}::int")
        else:
            columns.append(name)
    return f"SELECT {', '.join(columns)} FROM {table.name}"


def copy_tables(
    server: Database, local: Database, tables: Sequence[Table], before_copy: str
) -> tuple[int, dict[str, int]]:
    """Replace the rows of `tables` in the new file `local` with the server's, all from one snapshot;
    `before_copy` is a server query read in that snapshot first (the sync horizon). Returns its value
    and the rows copied per table."""
    assert local.file is not None, "a venue copy is a file"
    batches: queue.Queue[tuple[Table, list[tuple[Any, ...]]] | BaseException | None] = queue.Queue(maxsize=8)
    snapshot: queue.Queue[int] = queue.Queue()
    reader = threading.Thread(target=_read_server, args=(server, tables, before_copy, snapshot, batches))
    reader.start()
    counts = dict.fromkeys((table.name for table in tables), 0)
    local.writer.dispose()  # its idle connections would keep the file from leaving WAL mode
    local.reader.dispose()
    target = local.connect_file(local.file)
    try:
        target.execute("PRAGMA foreign_keys=OFF")  # the server's rows are consistent already
        # A new file: if this fails it is deleted, so it is written straight, without a log to write
        # first and copy in after, or waiting for the disk.
        target.execute("PRAGMA journal_mode=OFF")
        target.execute("PRAGMA synchronous=OFF")
        target.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        target.execute("BEGIN IMMEDIATE")
        names = ", ".join(f"'{table.name}'" for table in tables)
        remade = target.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            f"AND sql IS NOT NULL AND tbl_name IN ({names}) ORDER BY type"  # indexes before triggers
        ).fetchall()
        for kind, name, _sql in remade:
            target.execute(f"DROP {kind.upper()} {name}")
        for table in reversed(tables):
            target.execute(f"DELETE FROM {table.name}")
        while (batch := batches.get()) is not None:
            if isinstance(batch, BaseException):
                raise batch
            table, rows = batch
            names_of = ", ".join(column.name for column in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            target.executemany(f"INSERT INTO {table.name} ({names_of}) VALUES ({marks})", rows)
            counts[table.name] += len(rows)
        for _kind, _name, sql in remade:
            target.execute(sql)
        target.execute("COMMIT")
        target.execute("PRAGMA synchronous=FULL")
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        while reader.is_alive():  # let the reader finish (or notice) before the connection goes
            try:
                batches.get_nowait()
            except queue.Empty:
                reader.join(0.1)
    return snapshot.get_nowait(), counts


def _read_server(
    server: Database,
    tables: Sequence[Table],
    before_copy: str,
    snapshot: queue.Queue[int],
    batches: queue.Queue[tuple[Table, list[tuple[Any, ...]]] | BaseException | None],
) -> None:
    """Read every table from one snapshot of the server into `batches`; None at the end, or the error."""
    try:
        raw = server.reader.raw_connection()
        try:
            connection: Any = raw.driver_connection
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot.put(int(connection.execute(before_copy).fetchone()[0]))
            for table in tables:
                with connection.cursor(name=f"copy_{table.name}") as cursor:
                    cursor.execute(_as_sqlite_stores_it(table))
                    while rows := cursor.fetchmany(_FETCH):
                        batches.put((table, rows))
            connection.execute("ROLLBACK")
        finally:
            raw.close()
        batches.put(None)
    except BaseException as error:  # handed to the writer, which raises it
        batches.put(error)
