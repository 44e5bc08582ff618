"""Keeping the database safe: its health at start-up, where it lives, one app at a time, failed writes."""

from __future__ import annotations

import ntpath
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from digiknow_desk.domain.errors import DomainError

if TYPE_CHECKING:
    from digiknow_desk.storage.database import Database

RESTORE_HINT = (
    "close DigiKnow Desk and restore the latest backup (an administrator can, from the backup settings "
    "or with the command: digiknow-desk restore BACKUP-FILE)"
)
# File systems that reach the file over a network: SQLite's locks are not reliable on them.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "fuse.sshfs", "9p", "afs", "ceph", "glusterfs"}
)
DRIVE_REMOTE = 4  # GetDriveTypeW's answer for a network drive
# SQLite's primary result codes (an extended code carries one in its low byte).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT = 5, 6, 8, 10, 11
SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 13, 14, 26
SQLITE_READONLY_DBMOVED = 1032


class NotSaved(DomainError):
    """A write the database could not make (full disk, read-only file, missing drive); nothing of it
    was saved."""


class DatabaseInUse(DomainError):
    """Another copy of the app on this computer has the database open."""


# Health


def quick_check(database: Database, backups_folder: Path | None = None) -> list[str]:
    """Problems SQLite's quick check and foreign-key check find in the database, each in words that say
    what to do; empty when it is sound. Takes a second or two on a large database."""
    if not database.is_sqlite:
        return []
    where = f" Backups are in {backups_folder}." if backups_folder is not None else ""
    try:
        with database.reader.connect() as connection:
            found = sqlite_findings(row[0] for row in connection.exec_driver_sql("PRAGMA quick_check(20)"))
            # References are checked only in a sound file: in a damaged one, reading them may fail too.
            broken = [] if found else connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    except Exception as error:  # the driver's DatabaseError, whatever the driver: the file is unreadable
        reason = getattr(error, "orig", None) or error
        return [
            f"The database {database.display_name} cannot be read ({reason}): it is damaged or not a "
            f"DigiKnow Desk database. {RESTORE_HINT[0].upper()}{RESTORE_HINT[1:]}.{where}"
        ]
    problems = []
    if found:
        problems.append(
            f"The database {database.display_name} is damaged: SQLite's check found "
            f"{'at least ' if len(found) >= 20 else ''}{len(found)} problem{'s' if len(found) > 1 else ''}, "
            f"the first: {found[0]}. Stop working in it: {RESTORE_HINT}.{where}"
        )
    links = Counter((str(row[0]), str(row[2])) for row in broken)
    for (table, parent), count in sorted(links.items()):
        problems.append(
            f"{count} record{'s' if count > 1 else ''} in {table} point to {parent} that are missing, so "
            f"part of the data is lost or damaged. {RESTORE_HINT[0].upper()}{RESTORE_HINT[1:]}.{where}"
        )
    return problems


def sqlite_findings(rows: Iterable[str]) -> list[str]:
    """The problems in what PRAGMA integrity_check or quick_check returned: none when it says "ok".
    SQLite may put several on one row, and heads them with the name of the database."""
    lines = [line.strip() for row in rows for line in str(row).splitlines()]
    return [line for line in lines if line and line != "ok" and not line.startswith("***")]


# Where the file lives


def remote_filesystem(mounts: str, path: str) -> str | None:
    """The network file system type (nfs, cifs...) of the mount holding `path`, from the text of
    /proc/self/mounts; None when it is a local disk or unknown."""
    best: tuple[int, str] | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        # The kernel writes a space in a mount point as \040, a tab as \011, and so on.
        mount_point = re.sub(r"\\([0-7]{3})", lambda octal: chr(int(octal[1], 8)), fields[1])
        prefix = mount_point.rstrip("/") + "/"
        if path == mount_point or path.startswith(prefix):
            # The longest mount point holds the path; of two equal, the later one is mounted on top.
            if best is None or len(mount_point) >= best[0]:
                best = (len(mount_point), fields[2])
    if best is None or best[1] not in NETWORK_FILESYSTEMS:
        return None
    return best[1]


def windows_share(path: str, drive_type: Callable[[str], int]) -> str | None:
    """The network share or mapped network drive holding the Windows `path`, or None when it is on
    this PC. `drive_type` is GetDriveTypeW (passed in so the rule is tested on any system)."""
    if path.startswith("\\\\?\\UNC\\"):
        path = "\\\\" + path[len("\\\\?\\UNC\\") :]
    elif path.startswith(("\\\\?\\", "\\\\.\\")):
        path = path[4:]
    drive, _rest = ntpath.splitdrive(path)
    if drive.startswith("\\\\"):
        return drive
    if drive and drive_type(drive + "\\") == DRIVE_REMOTE:
        return f"the network drive {drive}"
    return None


def network_share_problem(path: Path) -> str | None:
    """Why the database file must not be used where it is (a network share), or None."""
    resolved = os.path.realpath(path)
    share: str | None = None
    if sys.platform == "win32":
        import ctypes

        share = windows_share(resolved, ctypes.windll.kernel32.GetDriveTypeW)
    else:
        try:
            mounts = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            mounts = ""  # macOS and others: no mount table to read; assume a local disk
        kind = remote_filesystem(mounts, resolved)
        share = f"a network file system ({kind})" if kind else None
    if share is None:
        return None
    return (
        f"The database {path} is on {share}. DigiKnow Desk keeps its data on this PC's own disk: over a "
        "network the file can be damaged and two PCs can overwrite each other's work. Copy it to a folder "
        "on this PC (for example Documents) and open it from there with --db; keep the backups on the "
        "network instead."
    )


# One app at a time


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class DatabaseLock:
    """Holds the database for this process, so a second copy of the app cannot open it too.

    The lock is an operating-system lock on `<database>.lock` (flock, or LockFileEx on Windows), so
    the system releases it when the process ends, even when it crashes or is killed. The file itself is
    left behind and is harmless."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._lock = FileLock(str(lock_path(db_path)))

    @property
    def is_held(self) -> bool:
        return self._lock.is_locked

    def acquire(self) -> None:
        try:
            self._lock.acquire(blocking=False)
        except Timeout as error:
            raise DatabaseInUse(
                f"DigiKnow Desk already has this database ({self.db_path}) open in another window or "
                "program on this PC. Close it first; a digiknow-desk command may also still be running. "
                "Then try again."
            ) from error
        except OSError as error:
            raise DomainError(
                f"DigiKnow Desk cannot use the database {self.db_path}: its folder cannot be written "
                f"({error.strerror or error}). Check that you may change files there."
            ) from error

    def release(self) -> None:
        self._lock.release()


@contextmanager
def hold_database_lock(db_path: Path) -> Iterator[DatabaseLock]:
    """Hold the database for the block; raise DatabaseInUse if another process has it."""
    lock = DatabaseLock(db_path)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


# Failed writes


def write_problem(error: BaseException) -> str | None:
    """What a failed write means for staff, when the database or its disk refused it: the change was
    NOT saved, and what to do. None for other errors (which are bugs or rules, reported elsewhere)."""
    cause = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    code = getattr(cause, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(cause).lower()
    not_saved = "This change was NOT saved"
    if primary == SQLITE_FULL or "database or disk is full" in text:
        return (
            f"{not_saved}: the disk holding the database is full. Free some space on it (empty the "
            "Recycle Bin, delete or move large files), then do it again."
        )
    if code == SQLITE_READONLY_DBMOVED or "database file has been moved" in text:
        return (
            f"{not_saved}: the database file was moved or deleted while DigiKnow Desk had it open. Put it "
            "back, then restart DigiKnow Desk and do it again."
        )
    if primary == SQLITE_READONLY or "readonly database" in text:
        return (
            f"{not_saved}: the database file is read-only. Check that the file and its folder are not set "
            "to read-only and that you may change them (a file on a CD or a locked USB stick is "
            "read-only), then restart DigiKnow Desk and do it again."
        )
    if primary in (SQLITE_IOERR, SQLITE_CANTOPEN) or "disk i/o error" in text or "unable to open" in text:
        return (
            f"{not_saved}: the database file could not be written. Check that the drive holding it is "
            "still connected (a USB stick or network drive may have been removed), then restart "
            "DigiKnow Desk and do it again."
        )
    if primary in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in text:
        return (
            f"{not_saved}: another program kept the database busy for too long. Wait a moment and do it "
            "again; if it keeps happening, close other copies of DigiKnow Desk."
        )
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text:
        return f"{not_saved}: the database file is damaged. Stop working in it: {RESTORE_HINT}."
    return _server_problem(cause, not_saved)


def _server_problem(cause: BaseException, not_saved: str) -> str | None:
    """write_problem for a PostgreSQL server (psycopg's errors, by their SQLSTATE)."""
    if not type(cause).__module__.startswith("psycopg"):
        return None
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate == "53100":
        return (
            f"{not_saved}: the server's disk is full. Tell whoever looks after the server; do it again "
            "once they have made room."
        )
    if sqlstate == "25006":
        return (
            f"{not_saved}: the server only lets DigiKnow Desk read just now (it may be a standby, or in "
            "maintenance). Tell whoever looks after the server, and do it again later."
        )
    if sqlstate in ("40001", "40P01"):
        return f"{not_saved}: another desk changed the same records at the same moment. Do it again."
    if sqlstate is None or sqlstate.startswith(("08", "57P", "53300")):
        return (
            f"{not_saved}: the server could not be reached ({str(cause).strip().splitlines()[0]}). Check "
            "the network, then do it again; if the server is down, tell whoever looks after it."
        )
    return None
