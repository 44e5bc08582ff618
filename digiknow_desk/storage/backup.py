"""Backups of the SQLite database with SQLite's online backup API, their rotation, and checked restores.

A live database is never copied as a file: with WAL, the file alone can miss committed changes or hold
half of one. The backup API copies a consistent snapshot page by page through SQLite instead, and every
backup or restore file is opened through `Database.connect_file`, so whatever the live database needs
(its driver, a key) applies to the copies too.
"""

from __future__ import annotations

import errno
import os
import re
import struct
from collections.abc import Callable, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from digiknow_desk.domain.errors import DomainError
from digiknow_desk.paths import shipped_dir
from digiknow_desk.storage.checks import (
    SQLITE_CANTOPEN,
    SQLITE_FULL,
    SQLITE_IOERR,
    SQLITE_READONLY,
    sqlite_findings,
)
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import HEAD_REVISION, current_revision

# Tables every DigiKnow Desk database has had since its first migration: a file without them is not ours.
OUR_TABLES = frozenset({"alembic_version", "devices", "residents", "loans"})
STAMP_FORMAT = "%Y%m%d-%H%M%S"
BACKUP_NAME = re.compile(r"digiknow-(?P<stamp>[0-9]{8}-[0-9]{6})(?P<upgrade>-before-upgrade)?\.db")
PARTIAL_SUFFIX = ".partial"
# The journals SQLite may leave beside a database file whose writer was killed.
_JOURNALS = ("-journal", "-wal", "-shm")
# Pages copied per step (4 MiB at SQLite's usual page size): the progress callback runs between steps.
PAGES_PER_STEP = 1024
KEEP_NEWEST = 14
KEEP_MONTHS = 12
_SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupRefused(DomainError):
    """A file offered for restoring is not a sound DigiKnow Desk backup this version can open."""


class BackupFailed(DomainError):
    """A backup or restore could not be completed; the message says what is left as it was."""


class OpensFiles(Protocol):
    """What reading a backup needs of a database: a connection to another file through its driver."""

    def connect_file(self, path: Path) -> Any: ...


@dataclass(frozen=True)
class Backup:
    """A backup in the backup folder, as its name describes it."""

    path: Path
    made_at: datetime  # local time, from the name
    size_bytes: int
    before_upgrade: bool  # made automatically before the schema was upgraded; never rotated away


@dataclass(frozen=True)
class CheckedBackup:
    """A file that passed every check and may be restored."""

    path: Path
    revision: str
    needs_upgrade: bool  # made by an older version: the schema is upgraded when the database is reopened


@dataclass(frozen=True)
class RestoredBackup:
    restored_from: Path
    previous_kept_at: Path  # the database as it was just before the restore
    revision: str
    needs_upgrade: bool


# Names and rotation


def backup_name(made_at: datetime, *, before_upgrade: bool = False) -> str:
    """`digiknow-YYYYmmdd-HHMMSS.db` in local time, which is what staff see on the clock."""
    stamp = made_at.astimezone().strftime(STAMP_FORMAT)
    return f"digiknow-{stamp}{'-before-upgrade' if before_upgrade else ''}.db"


def parse_backup_name(name: str) -> tuple[datetime, bool] | None:
    """(when it was made, whether before an upgrade) for a backup's file name; None for any other file."""
    match = BACKUP_NAME.fullmatch(name)
    if match is None:
        return None
    try:
        made_at = datetime.strptime(match["stamp"], STAMP_FORMAT).astimezone()
    except ValueError:  # digits that are no date, e.g. month 13: not a name we wrote
        return None
    return made_at, match["upgrade"] is not None


def list_backups(folder: Path) -> list[Backup]:
    """The backups in `folder`, newest first; files with other names are not backups and are ignored."""
    backups = []
    with suppress(FileNotFoundError):
        for path in folder.iterdir():
            parsed = parse_backup_name(path.name)
            if parsed is None or not path.is_file():
                continue
            backups.append(Backup(path, parsed[0], path.stat().st_size, parsed[1]))
    return sorted(backups, key=lambda backup: (backup.made_at, backup.path.name), reverse=True)


def backups_to_prune(
    backups: Sequence[Backup], keep_newest: int = KEEP_NEWEST, keep_months: int = KEEP_MONTHS
) -> list[Backup]:
    """The backups rotation removes: all but the newest `keep_newest` and the last backup of each of
    the `keep_months` most recent months that have one.

    Made daily, that keeps two weeks day by day and a year month by month. Months are those with a
    backup, not the calendar's, so a pause in backups never deletes the last good ones. Backups made
    before an upgrade are kept whatever their age: they are few, and the only way back to the schema
    before it."""
    regular = sorted(
        (backup for backup in backups if not backup.before_upgrade),
        key=lambda backup: backup.made_at,
        reverse=True,
    )
    keep = set(regular[:keep_newest])
    months: set[tuple[int, int]] = set()
    for backup in regular:
        month = (backup.made_at.year, backup.made_at.month)
        if month in months:
            continue
        if len(months) == keep_months:
            break
        months.add(month)
        keep.add(backup)
    return [backup for backup in regular if backup not in keep]


def prune_backups(folder: Path, keep_newest: int = KEEP_NEWEST, keep_months: int = KEEP_MONTHS) -> list[Path]:
    """Delete the backups rotation removes (see backups_to_prune) and the unfinished copies left by a
    backup that was interrupted before a later one completed. Only files named as ours are touched."""
    backups = list_backups(folder)
    doomed = [backup.path for backup in backups_to_prune(backups, keep_newest, keep_months)]
    if backups:
        newest = backups[0].made_at
        partials = set()
        for path in folder.glob(f"digiknow-*.db{PARTIAL_SUFFIX}*"):
            name, _, ending = path.name.partition(PARTIAL_SUFFIX)
            parsed = parse_backup_name(name)
            if parsed is not None and parsed[0] < newest and ending in ("", *_JOURNALS):
                partials.add(path.with_name(name + PARTIAL_SUFFIX))  # with its journals, if any
        doomed.extend(sorted(partials))
    removed = []
    for path in doomed:
        try:
            _remove_with_journals(path)
        except OSError:
            continue  # in use or read-only: rotation tries again after the next backup
        removed.append(path)
    return removed


def _remove_with_journals(path: Path) -> None:
    """Delete a database file and any journal beside it. A journal left by a killed writer would be
    played back into a new file of the same name the next time it is opened, and damage it."""
    for journal in _JOURNALS:
        path.with_name(path.name + journal).unlink(missing_ok=True)
    path.unlink(missing_ok=True)


# Making backups


def live_path(database: Database) -> Path:
    """The live database's file; backups and restores are for SQLite files only."""
    if not database.is_sqlite:
        raise BackupFailed(
            "DigiKnow Desk makes backups of a database file on this PC. This database is on a server: "
            "back it up with the server's own tools (ask whoever runs it)."
        )
    name = make_url(database.url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupFailed(
            "DigiKnow Desk makes backups of a database opened by its file path: open it with --db and "
            "the path of the file, then back it up."
        )
    return Path(name)


def _copy_database(
    source: Any,
    opener: OpensFiles,
    path: Path,
    progress: Callable[[int, int], None] | None = None,
    pages_per_step: int = PAGES_PER_STEP,
) -> Path:
    """Copy the database open on the DB-API connection `source` to a new file at `path`.

    The copy is written under a temporary name beside `path` and renamed only once complete, so a copy
    cut short (a crash, a full disk) never carries the final name."""
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    _remove_with_journals(partial)

    def report(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    try:
        with closing(opener.connect_file(partial)) as destination:
            source.backup(destination, pages=pages_per_step, progress=report)
            # A backup is one self-contained file: no -wal beside it to lose when it is moved or mailed.
            destination.execute("PRAGMA journal_mode=DELETE")
        for journal in _JOURNALS:
            path.with_name(path.name + journal).unlink(missing_ok=True)
        os.replace(partial, path)
    except BaseException:
        with suppress(OSError):
            _remove_with_journals(partial)
        raise
    return path


def backup_to(
    database: Database,
    path: Path,
    progress: Callable[[int, int], None] | None = None,
    *,
    pages_per_step: int = PAGES_PER_STEP,
) -> Path:
    """Back the live database up to the new file `path` (replaced if it exists), consistently, while
    the app keeps running. `progress(pages_done, pages_total)` is called as the copy goes.

    The copy is made through the writer connection: writes in this app wait for the few seconds it
    takes, so the copy is one moment's state."""
    live_path(database)  # refuses a server database
    if not path.parent.is_dir():
        raise BackupFailed(
            f"The backup was not made: the folder {path.parent} cannot be found. Check that the drive is "
            "connected, or choose another folder."
        )
    writer = database.writer.raw_connection()
    try:
        return _copy_database(writer.driver_connection, database, path, progress, pages_per_step)
    except _write_errors(database) as error:
        raise BackupFailed(
            f"The backup was not made: {_file_problem(error, path.parent)}, or choose another folder."
        ) from error
    finally:
        writer.close()


def ensure_folder(folder: Path) -> None:
    """Make the backup folder if it is missing; its parent must exist (a missing drive is not made)."""
    if folder.exists() and not folder.is_dir():
        raise BackupFailed(f"The backup was not made: {folder} is a file, not a folder. Choose a folder.")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise BackupFailed(
            f"The backup was not made: the folder {folder} cannot be made ({error.strerror or error}). "
            "Check that its drive is connected, or choose another folder."
        ) from error


def backup_before_upgrade(database: Database, folder: Path, made_at: datetime | None = None) -> Path | None:
    """Back up a database whose schema is about to be upgraded (it is behind this version's), into
    `folder`, as `digiknow-<time>-before-upgrade.db`. None when there is nothing to upgrade: a new
    database, one already up to date, or one from a newer version (which the upgrade refuses)."""
    if not database.is_sqlite:
        return None
    revision = current_revision(database)
    if revision is None or revision == HEAD_REVISION or revision not in known_revisions():
        return None
    ensure_folder(folder)
    name = backup_name(made_at or datetime.now().astimezone(), before_upgrade=True)
    return backup_to(database, folder / name)


def known_revisions() -> frozenset[str]:
    """Every schema revision this version has a migration for."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(shipped_dir("db")))
    return frozenset(script.revision for script in scripts.walk_revisions())


# Checking and restoring


def validate_backup(opener: OpensFiles, path: Path) -> CheckedBackup:
    """Check that `path` is a complete, undamaged DigiKnow Desk database this version can open; raise
    BackupRefused saying why not. It is read with writes refused (query_only)."""
    shown = path.name
    if not path.is_file():
        raise BackupRefused(f"There is no file {path}. Check the name, and that the drive is connected.")
    size = path.stat().st_size
    if size == 0:
        raise BackupRefused(f"{shown} is empty: it is not a backup. Choose another file.")
    truncated = _truncated(path, size)
    if truncated:
        raise BackupRefused(
            f"{shown} is incomplete ({truncated}): it was probably cut short while being copied or "
            "made. Choose an earlier backup."
        )
    try:
        with closing(opener.connect_file(path)) as connection:
            connection.execute("PRAGMA query_only=ON")
            damage = sqlite_findings(row[0] for row in connection.execute("PRAGMA integrity_check(10)"))
            tables = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not OUR_TABLES <= tables:
                raise BackupRefused(
                    f"{shown} is a database, but not a DigiKnow Desk one. Choose a backup made by "
                    "DigiKnow Desk (named like digiknow-20260314-103000.db)."
                )
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            broken_links = connection.execute("PRAGMA foreign_key_check").fetchall()
    except BackupRefused:
        raise
    # Whatever the driver raises (sqlite3's or an encrypting driver's DatabaseError): not a database,
    # encrypted with another key, or too damaged to read.
    except Exception as error:
        raise BackupRefused(
            f"{shown} cannot be read as a DigiKnow Desk backup ({error}). It may be damaged, not a "
            "database, or protected with another key. Choose another backup."
        ) from error
    if damage:
        raise BackupRefused(
            f"{shown} is damaged (SQLite's check found: {damage[0]}). Choose an earlier backup."
        )
    if revision is None:
        raise BackupRefused(f"{shown} has no schema version: it is not a complete DigiKnow Desk backup.")
    if revision[0] != HEAD_REVISION and revision[0] not in known_revisions():
        raise BackupRefused(
            f"{shown} was made by a newer version of DigiKnow Desk (schema {revision[0]}): update the app "
            "first, then restore it."
        )
    if broken_links:
        raise BackupRefused(
            f"{shown} has {len(broken_links)} records that point to records missing from it, so it is "
            "damaged. Choose an earlier backup."
        )
    return CheckedBackup(path, revision[0], revision[0] != HEAD_REVISION)


def restore_from(database: Database, path: Path, keep_old_as: Path) -> RestoredBackup:
    """Replace the live database's contents with the backup at `path`, after checking the backup
    (validate_backup) and keeping the live database as it was at `keep_old_as`.

    The backup is copied into the live file with the backup API, in one SQLite transaction, through
    the writer connection held for the whole restore: no write of this app lands between the copy kept
    and the restore, and if anything fails the live database is left exactly as it was.

    Afterwards `database` holds the restored data, but the app must dispose of it and open the database
    again through `app.open_database`: a backup from an older version is upgraded there, and every
    screen must reload what it shows."""
    live = live_path(database)
    if path.exists() and live.exists() and os.path.samefile(path, live):
        raise BackupRefused("That is the database in use, not a backup. Choose a backup file.")
    if database.is_venue_copy:
        raise BackupRefused(
            "This laptop is a venue copy: its data comes from the server, and a backup would take it "
            "back behind what the server already has from it. To start again, sync (so nothing done "
            "here is lost), then set the laptop up afresh with 'venue setup'."
        )
    checked = validate_backup(database, path)
    with closing(database.connect_file(path)) as backup:
        tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        copied = (
            "sync_state" in tables
            and backup.execute("SELECT 1 FROM sync_state WHERE copy_id IS NOT NULL").fetchone()
        )
    if copied:
        raise BackupRefused(
            f"{path.name} is a backup of a venue copy, whose data belongs to the server: it cannot be "
            "restored. Set up a venue copy from the server with 'venue setup' instead."
        )
    writer = database.writer.raw_connection()
    try:
        connection = writer.driver_connection
        assert connection is not None, "a checked-out connection always has its driver connection"
        try:
            _copy_database(connection, database, keep_old_as)
        except _write_errors(database) as error:
            raise BackupFailed(
                "Nothing was restored: the database in use could not be kept aside first "
                f"({_file_problem(error, keep_old_as.parent)}). Your data is unchanged."
            ) from error
        try:
            with closing(database.connect_file(path)) as source:
                if _page_size(source) != _page_size(connection):
                    raise BackupFailed(
                        f"{path.name} cannot be restored over this database (their page sizes differ). "
                        "Your data is unchanged; open the backup itself with --db instead."
                    )
                source.backup(connection)
        except _write_errors(database) as error:
            raise BackupFailed(
                f"Nothing was restored ({_file_problem(error, live.parent)}). Your data is unchanged; "
                f"a copy of it is also at {keep_old_as}."
            ) from error
        damage = sqlite_findings(row[0] for row in connection.execute("PRAGMA quick_check(10)"))
        if damage:
            raise BackupFailed(
                f"The restored database fails its check ({damage[0]}). Close DigiKnow Desk and restore "
                f"another backup; the database as it was before is at {keep_old_as}."
            )
    finally:
        writer.close()
    return RestoredBackup(path, keep_old_as, checked.revision, checked.needs_upgrade)


def before_restore_path(live: Path, now: datetime) -> Path:
    """Where the live database is kept before a restore: beside it, `<name>.before-restore-<time>.db`."""
    return live.with_name(f"{live.stem}.before-restore-{now.astimezone().strftime(STAMP_FORMAT)}.db")


def _write_errors(database: Database) -> tuple[type[BaseException], ...]:
    """What writing a copy can raise that is about the file, not a bug: the driver's errors and the OS's."""
    dbapi = database.writer.dialect.dbapi
    assert dbapi is not None, "an engine always has its driver module"
    return (OSError, dbapi.Error)


def _page_size(connection: Any) -> int:
    return int(connection.execute("PRAGMA page_size").fetchone()[0])


def _truncated(path: Path, size: int) -> str | None:
    """Why a plain SQLite file is shorter than its header says, or None. An encrypted file has no
    readable header; SQLite's own checks then find a cut-short file."""
    with path.open("rb") as file:
        header = file.read(100)
    if not header.startswith(_SQLITE_MAGIC):
        return None
    if len(header) < 100:
        return f"{size} bytes, less than a database's header"
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack(">II", header[24:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    # The page count in the header is trusted only when it was written with the last change.
    if pages and change_counter == valid_for and size < pages * page_size:
        return f"{size:,} of {pages * page_size:,} bytes"
    return None


def _file_problem(error: BaseException, folder: Path) -> str:
    """What went wrong writing a file, in words that say what to do."""
    text = str(error).lower()
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if (
        primary == SQLITE_FULL
        or "disk is full" in text
        or (isinstance(error, OSError) and error.errno == errno.ENOSPC)
    ):
        return f"the disk holding {folder} is full. Free some space there"
    if primary == SQLITE_READONLY or "readonly" in text or isinstance(error, PermissionError):
        return f"{folder} or a file in it is read-only, or you may not write there"
    if primary in (SQLITE_IOERR, SQLITE_CANTOPEN) or isinstance(error, OSError):
        return f"{folder} could not be written ({error}). Check that its drive is connected"
    return str(error)
