"""Start-up checks: a damaged database, a network share, a second copy of the app, and failed writes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import struct
import threading
from multiprocessing.synchronize import Event
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError

from digiknow_desk.app import Services
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.storage.checks import (
    DRIVE_REMOTE,
    DatabaseInUse,
    DatabaseLock,
    hold_database_lock,
    lock_path,
    network_share_problem,
    quick_check,
    remote_filesystem,
    windows_share,
    write_problem,
)
from digiknow_desk.storage.database import Database

# Health


def test_a_sound_database_passes(services: Services, database: Database) -> None:
    # On a server the check is the server's own business: there is nothing for the app to report.
    services.residents.add(ResidentDraft(name="Mary Smith", phone="0161 474 4444"))
    assert quick_check(database) == []


@pytest.mark.sqlite_only("broken references are made in the file with foreign keys off")
def test_broken_references_are_reported_with_what_to_do(database: Database, db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:  # foreign keys are off in a plain connection
        for number in range(3):
            connection.execute(
                "INSERT INTO device_kit_items (id, device_id, position, name) "
                "VALUES (?, 'gone', ?, 'Charger')",
                (f"kit{number}", number),
            )

    [problem] = quick_check(database, backups_folder=Path("/backups/digiknow"))

    assert problem.startswith("3 records in device_kit_items point to devices that are missing")
    assert "Close DigiKnow Desk and restore the latest backup" in problem
    assert problem.endswith(f"Backups are in {Path('/backups/digiknow')}.")


def _root_page(db_path: Path, name: str) -> int:
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(
            connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        )


@pytest.fixture
def residents_on_disk(services: Services, database: Database, db_path: Path) -> Path:
    """A database with residents on several pages, closed, everything in its main file."""
    for number in range(40):
        services.residents.add(ResidentDraft(name=f"Resident {number}", phone="0161 474 4444"))
    database.dispose()
    _root_page(db_path, "residents")  # checkpointed into the main file
    return db_path


@pytest.mark.sqlite_only("damages the SQLite file's pages")
def test_a_damaged_database_is_reported_with_what_to_do(database: Database, residents_on_disk: Path) -> None:
    # Three pages that nothing uses added at the end, as a disk that went wrong while writing can leave.
    data = bytearray(residents_on_disk.read_bytes())
    (page_size,) = struct.unpack(">H", data[16:18])
    (pages,) = struct.unpack(">I", data[28:32])
    data[28:32] = struct.pack(">I", pages + 3)
    residents_on_disk.write_bytes(bytes(data) + bytes(3 * page_size))

    [problem] = quick_check(database, backups_folder=Path("/backups/digiknow"))

    assert problem == (
        f"The database {residents_on_disk} is damaged: SQLite's check found 3 problems, the first: "
        f"Page {pages + 1} is never used. Stop working in it: close DigiKnow Desk and restore the latest "
        "backup (an administrator can, from the backup settings or with the command: digiknow-desk "
        f"restore BACKUP-FILE). Backups are in {Path('/backups/digiknow')}."
    )


@pytest.mark.sqlite_only("damages the SQLite file's pages")
def test_a_database_too_damaged_to_read_is_reported(database: Database, residents_on_disk: Path) -> None:
    data = bytearray(residents_on_disk.read_bytes())
    (page_size,) = struct.unpack(">H", data[16:18])
    start = (_root_page(residents_on_disk, "residents") - 1) * page_size
    assert data[start] == 0x05, "the residents table should have grown past one page"
    # Its first page keeps its header but loses where its records are.
    data[start + 12 : start + page_size] = b"\xff" * (page_size - 12)
    residents_on_disk.write_bytes(bytes(data))

    [problem] = quick_check(database)

    assert problem.startswith(
        f"The database {residents_on_disk} cannot be read (database disk image is malformed): it is "
        "damaged or not a DigiKnow Desk database. Close DigiKnow Desk and restore the latest backup"
    )


# Where the file lives

MOUNTS = """\
/dev/sda2 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
//fileserver/library /mnt/library cifs rw,relatime,vers=3.1.1 0 0
/dev/sdb1 /mnt/library/usb vfat rw,relatime 0 0
nas:/export/desk /mnt/my\\040nas nfs4 rw,relatime 0 0
tmpfs /tmp tmpfs rw 0 0
me@host:/home/me /home/me/remote fuse.sshfs rw 0 0
/dev/sdc1 /home/me/remote ext4 rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/home/me/Documents/digiknow.db", None),
        ("/mnt/library/digiknow.db", "cifs"),
        ("/mnt/library", "cifs"),
        ("/mnt/library/usb/digiknow.db", None),  # a local disk mounted inside the share
        ("/mnt/library-local/digiknow.db", None),  # a name that starts like the share is not in it
        ("/mnt/my nas/desk/digiknow.db", "nfs4"),
        ("/tmp/digiknow.db", None),
        ("/home/me/remote/digiknow.db", None),  # mounted over the sshfs mount: the later one is on top
    ],
)
def test_the_mount_holding_a_path_decides_whether_it_is_on_the_network(path: str, kind: str | None) -> None:
    assert remote_filesystem(MOUNTS, path) == kind


def test_an_sshfs_mount_is_on_the_network() -> None:
    assert remote_filesystem(
        "/dev/sda2 / ext4 rw 0 0\nme@host:/x /srv/x fuse.sshfs rw 0 0\n", "/srv/x/a.db"
    ) == ("fuse.sshfs")
    assert remote_filesystem("", "/srv/x/a.db") is None


@pytest.mark.parametrize(
    ("path", "share"),
    [
        ("C:\\Users\\Mary\\Documents\\digiknow.db", None),
        ("\\\\?\\C:\\Users\\Mary\\digiknow.db", None),
        ("\\\\fileserver\\library\\digiknow.db", "\\\\fileserver\\library"),
        ("\\\\?\\UNC\\fileserver\\library\\digiknow.db", "\\\\fileserver\\library"),
        ("Z:\\digiknow.db", "the network drive Z:"),
    ],
)
def test_a_windows_share_or_network_drive_is_recognised(path: str, share: str | None) -> None:
    def drive_type(root: str) -> int:
        assert root in ("C:\\", "Z:\\")
        return DRIVE_REMOTE if root == "Z:\\" else 3  # 3: a fixed disk

    assert windows_share(path, drive_type) == share


@pytest.mark.sqlite_only("where the SQLite file lives")
def test_a_database_on_this_computers_disk_has_no_network_problem(db_path: Path) -> None:
    assert network_share_problem(db_path) is None


# One app at a time


def _hold_lock(db_path: Path, held: Event) -> None:
    """Another copy of the app: it takes the database, says so, and keeps it until it is killed."""
    lock = DatabaseLock(db_path)
    lock.acquire()
    held.set()
    threading.Event().wait()  # until killed


@pytest.mark.sqlite_only("the lock beside the SQLite file")
def test_a_second_copy_of_the_app_is_refused_until_the_first_ends(db_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    other = context.Process(target=_hold_lock, args=(db_path, held))
    other.start()
    try:
        assert held.wait(timeout=60), "the other process did not start"
        with pytest.raises(DatabaseInUse) as refusal:
            DatabaseLock(db_path).acquire()
        assert str(refusal.value) == (
            f"DigiKnow Desk already has this database ({db_path}) open in another window or program on "
            "this PC. Close it first; a digiknow-desk command may also still be running. Then try again."
        )
    finally:
        other.kill()  # as a crash would end it: no chance to release anything
        other.join(timeout=60)
    assert other.exitcode is not None and other.exitcode < 0

    with hold_database_lock(db_path) as lock:  # the system released the lock with the process
        assert lock.is_held
        assert lock_path(db_path).exists()
    assert not lock.is_held


@pytest.mark.sqlite_only("the lock beside the SQLite file")
def test_a_second_lock_in_the_same_process_is_refused_too(db_path: Path) -> None:
    with hold_database_lock(db_path):
        with pytest.raises(DatabaseInUse):
            DatabaseLock(db_path).acquire()
    with hold_database_lock(db_path) as again:
        assert again.is_held


# Failed writes


@pytest.mark.sqlite_only("SQLite's own busy error")
def test_a_locked_database_is_explained(db_path: Path) -> None:
    first = sqlite3.connect(db_path, isolation_level=None)
    second = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    try:
        first.execute("CREATE TABLE t (x)")
        first.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as busy:
            second.execute("BEGIN IMMEDIATE")
    finally:
        first.close()
        second.close()
    problem = write_problem(busy.value)
    assert problem is not None
    assert problem.startswith("This change was NOT saved: another program kept the database busy")


@pytest.mark.sqlite_only("SQLite's own error for a file it cannot open")
def test_a_missing_drive_is_explained(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError) as missing:
        sqlite3.connect(tmp_path / "removed-usb-stick" / "digiknow.db")
    problem = write_problem(missing.value)
    assert problem is not None
    assert problem.startswith("This change was NOT saved: the database file could not be written.")
    assert "Check that the drive holding it is still connected" in problem


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (psycopg.errors.DiskFull("could not extend file"), "the server's disk is full"),
        (psycopg.errors.ReadOnlySqlTransaction("read-only transaction"), "only lets DigiKnow Desk read"),
        (psycopg.errors.SerializationFailure("could not serialize"), "at the same moment. Do it again."),
        (psycopg.errors.AdminShutdown("terminating connection"), "could not be reached (terminating"),
        (psycopg.OperationalError("connection failed: no route to host"), "could not be reached"),
    ],
)
def test_a_server_that_refuses_a_write_is_explained(error: Exception, says: str) -> None:
    problem = write_problem(OperationalError("UPDATE ...", {}, error))
    assert problem is not None
    assert problem.startswith("This change was NOT saved: ") and says in problem


def test_errors_that_are_not_about_the_file_are_left_alone(database: Database) -> None:
    with pytest.raises(IntegrityError) as clash, database.write() as session:
        session.execute(text("INSERT INTO settings (key, value) VALUES ('a', '1'), ('a', '2')"))
    with pytest.raises(DatabaseError) as typo, database.write() as session:
        session.execute(text("SELECT * FROM no_such_table"))
    assert write_problem(clash.value) is None
    assert write_problem(typo.value) is None
    assert write_problem(ValueError("database or disk")) is None
    assert write_problem(psycopg.errors.UniqueViolation("duplicate key")) is None
