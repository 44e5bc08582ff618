"""Backups: made with SQLite's backup API, rotated, checked before a restore, restored keeping the old."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.paths import shipped_dir
from digiknow_desk.services.backups import BackupService
from digiknow_desk.services.context import Desk, ServiceContext
from digiknow_desk.storage.backup import (
    Backup,
    BackupFailed,
    BackupRefused,
    backup_before_upgrade,
    backup_name,
    backup_to,
    backups_to_prune,
    list_backups,
    live_path,
    parse_backup_name,
    prune_backups,
    restore_from,
    validate_backup,
)
from digiknow_desk.storage.checks import quick_check
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import HEAD_REVISION, current_revision, upgrade_to_head
from digiknow_desk.storage.models import SettingRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock

# A server database's backups are refused: see test_server_database.py.
pytestmark = pytest.mark.sqlite_only("backups are copies of the SQLite file")

MARY = ResidentDraft(name="Mary Smith", phone="0161 474 4444")
JOHN = ResidentDraft(name="John Brown", phone="07700 900123")


@pytest.fixture
def backups(database: Database, clock: FakeClock) -> BackupService:
    return BackupService(ServiceContext(db=database, desk=Desk(setup_staff("Admin")), clock=clock))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "backups"


def _names_in(database_file: Path) -> list[str]:
    """Residents' names read straight from a database file, as a fresh program would see them."""
    with sqlite3.connect(database_file) as connection:
        return sorted(row[0] for row in connection.execute("SELECT name FROM residents"))


def _set_revision(database_file: Path, revision: str) -> None:
    with sqlite3.connect(database_file) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def _previous_revision() -> str:
    down = ScriptDirectory(str(shipped_dir("db"))).get_revision(HEAD_REVISION).down_revision
    assert isinstance(down, str)
    return down


@pytest.fixture
def older_database(tmp_path: Path) -> Iterator[Database]:
    """A database made by the previous version: migrated to the revision before the head."""
    database = Database("sqlite:///" + (tmp_path / "older.db").as_posix())
    config = AlembicConfig()
    config.set_main_option("script_location", str(shipped_dir("db")))
    with database.writer.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, _previous_revision())
        connection.commit()
    yield database
    database.dispose()


# Making backups


def test_a_backup_holds_what_was_just_saved_and_is_one_self_contained_file(
    services: Services, database: Database, backups: BackupService, folder: Path, clock: FakeClock
) -> None:
    services.residents.add(MARY)

    made = backups.backup_now(folder)

    assert made.path == folder / backup_name(clock.now)
    assert made.path.name == f"digiknow-{clock.now.astimezone():%Y%m%d-%H%M%S}.db"
    assert made.made_at == clock.now
    assert not made.before_upgrade and made.size_bytes == made.path.stat().st_size > 0
    # Mary is still only in the live database's WAL: a copy of its file would not have her; the backup does.
    assert _names_in(made.path) == ["Mary Smith"]
    assert sorted(path.name for path in folder.iterdir()) == [made.path.name]  # no -wal, no partial copy
    with sqlite3.connect(made.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert validate_backup(database, made.path).revision == HEAD_REVISION


def test_a_backup_reports_its_progress_page_by_page(
    services: Services, database: Database, tmp_path: Path
) -> None:
    services.residents.add(MARY)
    seen: list[tuple[int, int]] = []

    backup_to(
        database,
        tmp_path / "copy.db",
        progress=lambda done, total: seen.append((done, total)),
        pages_per_step=4,
    )

    total = seen[-1][1]
    assert len(seen) > 2 and seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    with sqlite3.connect(tmp_path / "copy.db") as connection:
        assert connection.execute("PRAGMA page_count").fetchone() == (total,)


def test_a_backup_cut_short_leaves_no_file_under_either_name(
    services: Services, database: Database, tmp_path: Path
) -> None:
    services.residents.add(MARY)

    def stop(done: int, total: int) -> None:
        assert (tmp_path / "copy.db.partial").exists()  # the copy is being written under another name
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backup_to(database, tmp_path / "copy.db", progress=stop, pages_per_step=1)

    assert not (tmp_path / "copy.db").exists()
    assert not (tmp_path / "copy.db.partial").exists()
    assert services.residents.search("Mary")  # and the live database carries on


def test_backing_up_to_a_named_file(services: Services, backups: BackupService, tmp_path: Path) -> None:
    services.residents.add(MARY)
    made = backups.backup_now(tmp_path / "before-the-move.db")
    assert _names_in(made.path) == ["Mary Smith"]

    with pytest.raises(BackupFailed, match="before-the-move.db already exists: choose a new file name"):
        backups.backup_now(tmp_path / "before-the-move.db")
    with pytest.raises(BackupFailed, match=r"the folder .*nowhere cannot be found\. Check that the drive"):
        backups.backup_now(tmp_path / "nowhere" / "copy.db")
    with pytest.raises(BackupFailed, match=r"cannot be made .*Check that its drive is connected"):
        backups.backup_now(tmp_path / "no-drive" / "backups")


def test_a_backup_folder_that_is_a_file_is_refused(backups: BackupService, tmp_path: Path) -> None:
    (tmp_path / "backups").write_text("not a folder")
    with pytest.raises(BackupFailed, match="is a file, not a folder"):
        backups.backup_now(tmp_path / "backups")


def test_the_schedule_backs_up_when_the_newest_backup_is_old_enough(
    backups: BackupService, folder: Path, clock: FakeClock
) -> None:
    first = backups.backup_if_due(folder, every=timedelta(days=1))
    assert first is not None  # no backup yet: one is due

    clock.now += timedelta(hours=23, minutes=59)
    assert backups.backup_if_due(folder, every=timedelta(days=1)) is None
    clock.now += timedelta(minutes=1)
    second = backups.backup_if_due(folder, every=timedelta(days=1))

    assert second is not None and second.made_at == clock.now
    assert backups.list_backups(folder) == [second, first]
    assert backups.last_backup(folder) == second


def test_a_backup_named_in_the_future_does_not_stop_the_schedule(
    backups: BackupService, folder: Path, clock: FakeClock
) -> None:
    """A backup made while the computer's clock was a year ahead must not hold backups off for a year."""
    folder.mkdir()
    future = folder / backup_name(clock.now + timedelta(days=365))
    shutil.copyfile(backups.backup_now(folder / "seed.db").path, future)

    made = backups.backup_if_due(folder, every=timedelta(days=1))

    assert made is not None and made.made_at == clock.now
    assert backups.backup_if_due(folder, every=timedelta(days=1)) is None


def test_backup_names_are_read_back_and_other_files_are_not_backups(tmp_path: Path) -> None:
    made_at = datetime(2026, 3, 14, 10, 30, 5).astimezone()
    assert parse_backup_name(backup_name(made_at)) == (made_at, False)
    assert parse_backup_name(backup_name(made_at, before_upgrade=True)) == (made_at, True)
    for other in (
        "digiknow.db",
        "digiknow-20261399-103005.db",  # no such month
        "digiknow-20260314-103005.db.partial",
        "digiknow-20260314-103005.sqlite",
        "my-digiknow-20260314-103005.db",
    ):
        assert parse_backup_name(other) is None, other


def _backup_at(when: datetime, *, before_upgrade: bool = False) -> Backup:
    path = Path(backup_name(when, before_upgrade=before_upgrade))
    return Backup(path, when.astimezone(), 1, before_upgrade)


def test_rotation_keeps_two_weeks_day_by_day_and_a_year_month_by_month() -> None:
    newest = datetime(2026, 3, 14, 2, 0).astimezone()
    daily = [_backup_at(newest - timedelta(days=day)) for day in range(500)]
    upgrade = _backup_at(newest - timedelta(days=400, hours=1), before_upgrade=True)

    pruned = set(backups_to_prune([*daily, upgrade]))

    kept = sorted({*daily, upgrade} - pruned, key=lambda backup: backup.made_at, reverse=True)
    assert kept[:14] == daily[:14]
    monthly = kept[14:]
    # The last backup of each earlier month, back to twelve months with a backup (March 2026 among them).
    assert [(backup.made_at.year, backup.made_at.month, backup.made_at.day) for backup in monthly] == [
        (2026, 2, 28),
        (2026, 1, 31),
        (2025, 12, 31),
        (2025, 11, 30),
        (2025, 10, 31),
        (2025, 9, 30),
        (2025, 8, 31),
        (2025, 7, 31),
        (2025, 6, 30),
        (2025, 5, 31),
        (2025, 4, 30),
        (2025, 2, 7),  # made before the upgrade: never rotated away
    ]
    assert upgrade in kept and len(pruned) == 500 - 14 - 11


def test_rotation_after_a_pause_keeps_the_old_months() -> None:
    """Backups that stopped for two years (a PC left off) are not deleted by the first new ones."""
    old = [_backup_at(datetime(2023, month, 1, 9, 0)) for month in range(1, 13)]
    new = [_backup_at(datetime(2026, 3, day, 9, 0)) for day in range(1, 4)]
    assert backups_to_prune([*old, *new]) == [old[0]]  # twelve months with backups: 2026-03 and 2023-02..12


def test_rotation_deletes_only_our_backups_and_dead_partial_copies(
    backups: BackupService, folder: Path, clock: FakeClock
) -> None:
    folder.mkdir()
    others = ["notes.txt", "digiknow.db", "digiknow-20261399-000000.db", "digiknow-2026-03-01.db"]
    for name in others:
        (folder / name).write_text("someone else's file")
    start = clock.now
    dead_partial = folder / (backup_name(start - timedelta(days=1)) + ".partial")
    dead_partial.write_text("left by a backup that was cut short")

    made = []
    for day in range(20):
        clock.now = start + timedelta(days=day)
        made.append(backups.backup_now(folder))
    running_partial = folder / (backup_name(clock.now + timedelta(hours=1)) + ".partial")
    running_partial.write_text("a backup being written now")
    assert prune_backups(folder) == []

    remaining = {path.name for path in folder.iterdir()}
    assert remaining == {*others, *(backup.path.name for backup in made[-14:]), running_partial.name}
    assert list_backups(folder) == made[::-1][:14]


# Checking a backup before it is restored


def test_a_sound_backup_passes_and_an_older_one_will_be_upgraded(
    database: Database, older_database: Database, tmp_path: Path
) -> None:
    current = backup_to(database, tmp_path / "current.db")
    older = backup_to(older_database, tmp_path / "older-copy.db")

    assert validate_backup(database, current).needs_upgrade is False
    checked = validate_backup(database, older)
    assert (checked.revision, checked.needs_upgrade) == (_previous_revision(), True)


def _refused_restore(database: Database, backup: Path, keep_old_as: Path) -> BackupRefused:
    """Restoring `backup` is refused, and the live database is exactly as it was."""
    before = _names_in(live_path(database))
    with pytest.raises(BackupRefused) as refusal:
        restore_from(database, backup, keep_old_as)
    assert _names_in(live_path(database)) == before
    assert not keep_old_as.exists()
    assert quick_check(database) == []
    return refusal.value


def test_a_truncated_backup_is_refused_and_the_live_data_is_untouched(
    services: Services, database: Database, tmp_path: Path
) -> None:
    services.residents.add(MARY)
    whole = backup_to(database, tmp_path / "whole.db").read_bytes()
    cut = tmp_path / "cut.db"
    cut.write_bytes(whole[: len(whole) // 2])

    refusal = _refused_restore(database, cut, tmp_path / "kept.db")

    assert str(refusal).startswith(f"cut.db is incomplete ({len(whole) // 2:,} of {len(whole):,} bytes)")
    assert "Choose an earlier backup." in str(refusal)


def test_a_backup_damaged_inside_is_refused(services: Services, database: Database, tmp_path: Path) -> None:
    services.residents.add(MARY)
    damaged = backup_to(database, tmp_path / "damaged.db")
    with sqlite3.connect(damaged) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        root = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'residents'").fetchone()[0]
    data = bytearray(damaged.read_bytes())
    data[(root - 1) * page_size : root * page_size] = b"\xff" * page_size
    damaged.write_bytes(bytes(data))

    refusal = _refused_restore(database, damaged, tmp_path / "kept.db")

    assert str(refusal).startswith("damaged.db ")
    assert "damaged" in str(refusal) and "Choose another backup." in str(refusal)


def test_a_file_that_is_not_ours_is_refused(database: Database, tmp_path: Path) -> None:
    foreign = tmp_path / "photos.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, caption TEXT)")
    text = tmp_path / "letter.db"
    text.write_text("Dear Mary, your tablet is due back on Friday. " * 100)
    empty = tmp_path / "empty.db"
    empty.touch()

    assert "is a database, but not a DigiKnow Desk one" in str(
        _refused_restore(database, foreign, tmp_path / "k")
    )
    assert "cannot be read as a DigiKnow Desk backup (file is not a database)" in str(
        _refused_restore(database, text, tmp_path / "k")
    )
    assert str(_refused_restore(database, empty, tmp_path / "k")).startswith("empty.db is empty")
    assert "There is no file" in str(_refused_restore(database, tmp_path / "missing.db", tmp_path / "k"))


def test_a_backup_from_a_newer_version_is_refused(database: Database, tmp_path: Path) -> None:
    newer = backup_to(database, tmp_path / "newer.db")
    _set_revision(newer, "9001")

    refusal = _refused_restore(database, newer, tmp_path / "kept.db")

    assert str(refusal) == (
        "newer.db was made by a newer version of DigiKnow Desk (schema 9001): update the app first, "
        "then restore it."
    )


def test_a_backup_with_broken_references_is_refused(database: Database, tmp_path: Path) -> None:
    broken = backup_to(database, tmp_path / "broken.db")
    with sqlite3.connect(broken) as connection:  # foreign keys are off in a plain connection
        connection.execute(
            "INSERT INTO loans (id, device_id, resident_id, issued_at, due_on, renewals, issued_by, "
            "closed_by, accepted, late_reason, condition_back, fault) VALUES "
            "('ab', 'no-device', 'no-resident', '2026-03-01', '2026-03-29', 0, 'x', '', 1, '', '', '')"
        )

    refusal = _refused_restore(database, broken, tmp_path / "kept.db")

    assert "has 2 records that point to records missing from it" in str(refusal)


def test_the_database_in_use_is_not_a_backup(database: Database, db_path: Path, tmp_path: Path) -> None:
    with pytest.raises(BackupRefused, match="That is the database in use"):
        restore_from(database, db_path, tmp_path / "kept.db")


# Restoring


def test_restore_brings_the_backup_back_and_keeps_the_data_it_replaced(
    services: Services,
    backups: BackupService,
    database: Database,
    db_path: Path,
    folder: Path,
    clock: FakeClock,
) -> None:
    services.residents.add(MARY)
    made = backups.backup_now(folder)
    services.residents.add(JOHN)
    clock.now += timedelta(minutes=5)

    restored = backups.restore(made.path)

    kept = db_path.with_name(f"desk.before-restore-{clock.now.astimezone():%Y%m%d-%H%M%S}.db")
    assert restored == dataclasses.replace(restored, restored_from=made.path, previous_kept_at=kept)
    assert (restored.revision, restored.needs_upgrade) == (HEAD_REVISION, False)
    assert _names_in(kept) == ["John Brown", "Mary Smith"]
    assert validate_backup(database, kept).revision == HEAD_REVISION
    assert _names_in(made.path) == ["Mary Smith"]  # the backup itself is not changed
    # The open database already reads the restored data; the app reopens it all the same.
    assert [resident.name for resident in services.residents.search("")] == ["Mary Smith"]
    database.dispose()
    reopened = Database(database.url)
    try:
        upgrade_to_head(reopened)
        assert quick_check(reopened) == []
        again = build_services(reopened, staff=setup_staff("Admin"), clock=clock)
        assert [resident.name for resident in again.residents.search("")] == ["Mary Smith"]
        again.residents.add(JOHN)  # and takes new work
    finally:
        reopened.dispose()


def test_an_older_backup_is_restored_then_upgraded_when_the_database_is_reopened(
    database: Database, older_database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    older = backup_to(older_database, tmp_path / "older-copy.db")

    restored = restore_from(database, older, tmp_path / "kept.db")

    assert (restored.revision, restored.needs_upgrade) == (_previous_revision(), True)
    assert current_revision(database) == _previous_revision()
    database.dispose()
    reopened = Database(database.url)
    try:
        upgrade_to_head(reopened)
        assert current_revision(reopened) == HEAD_REVISION
        assert quick_check(reopened) == []
    finally:
        reopened.dispose()


def test_a_backup_from_a_database_with_another_page_size_is_refused_before_anything_changes(
    services: Services, database: Database, tmp_path: Path
) -> None:
    """SQLite cannot copy into a WAL database from one with another page size."""
    services.residents.add(MARY)
    other = backup_to(database, tmp_path / "other-page-size.db")
    with sqlite3.connect(other, isolation_level=None) as connection:
        connection.execute("PRAGMA page_size=8192")
        connection.execute("VACUUM")
    services.residents.add(JOHN)

    with pytest.raises(BackupFailed, match="their page sizes differ.*Your data is unchanged"):
        restore_from(database, other, tmp_path / "kept.db")

    assert [resident.name for resident in services.residents.search("")] == ["John Brown", "Mary Smith"]


def test_a_restore_that_fails_while_copying_in_leaves_the_live_data_as_it_was(
    services: Services, database: Database, tmp_path: Path
) -> None:
    """The copy into the live database is one SQLite transaction: a full disk half way rolls it back."""
    services.residents.add(MARY)
    big = Database("sqlite:///" + (tmp_path / "big.db").as_posix())
    try:
        upgrade_to_head(big)
        with big.write() as session:
            session.add_all(SettingRow(key=f"note-{number}", value="x" * 2000) for number in range(500))
        backup = backup_to(big, tmp_path / "big-backup.db")
    finally:
        big.dispose()
    with database.writer.connect() as writer:  # the pool's one writer connection, which the restore uses
        pages = writer.exec_driver_sql("PRAGMA page_count").scalar_one()
        writer.exec_driver_sql(f"PRAGMA max_page_count={pages}")  # the file may not grow

    with pytest.raises(BackupFailed) as failure:
        restore_from(database, backup, tmp_path / "kept.db")

    assert str(failure.value).startswith("Nothing was restored (the disk holding ")
    assert str(failure.value).endswith(
        f"is full. Free some space there). Your data is unchanged; a copy of it is also at {tmp_path}"
        "/kept.db."
    )
    assert [resident.name for resident in services.residents.search("")] == ["Mary Smith"]
    assert quick_check(database) == []
    assert _names_in(tmp_path / "kept.db") == ["Mary Smith"]


# Before an upgrade


def test_a_database_behind_this_version_is_backed_up_before_its_upgrade(
    older_database: Database, database: Database, folder: Path
) -> None:
    made_at = datetime(2026, 3, 14, 10, 30).astimezone()

    made = backup_before_upgrade(older_database, folder, made_at)

    assert made == folder / "digiknow-20260314-103000-before-upgrade.db"
    assert validate_backup(older_database, made).revision == _previous_revision()
    assert list_backups(folder)[0].before_upgrade
    # Nothing to upgrade: no backup.
    assert backup_before_upgrade(database, folder, made_at + timedelta(seconds=1)) is None
    upgrade_to_head(older_database)
    assert backup_before_upgrade(older_database, folder, made_at + timedelta(seconds=2)) is None
    assert [backup.path for backup in list_backups(folder)] == [made]


def test_a_new_empty_database_is_not_backed_up(tmp_path: Path, folder: Path) -> None:
    empty = Database("sqlite:///" + (tmp_path / "new.db").as_posix())
    try:
        assert backup_before_upgrade(empty, folder) is None
    finally:
        empty.dispose()
    assert not folder.exists()


# Encrypted databases

PASSPHRASE = "kettle violin harbour"


def test_the_backup_of_an_encrypted_database_is_encrypted_and_restores_with_its_passphrase(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    secret = Database("sqlite:///" + (tmp_path / "secret.db").as_posix(), passphrase=PASSPHRASE)
    try:
        upgrade_to_head(secret)
        services = build_services(secret, staff=setup_staff("Admin"), clock=clock)
        services.residents.add(MARY)

        made = backup_to(secret, tmp_path / "secret-backup.db")
        services.residents.add(JOHN)

        assert not made.read_bytes().startswith(b"SQLite format 3") and b"Mary Smith" not in made.read_bytes()
        assert validate_backup(secret, made).revision == HEAD_REVISION
        with pytest.raises(BackupRefused, match="cannot be read as a DigiKnow Desk backup.*another key"):
            validate_backup(database, made)  # a database without the passphrase cannot use it
        with pytest.raises(BackupRefused, match="cannot be read as a DigiKnow Desk backup.*another key"):
            validate_backup(secret, backup_to(database, tmp_path / "plain-backup.db"))

        restore_from(secret, made, tmp_path / "kept.db")

        assert [resident.name for resident in services.residents.search("")] == ["Mary Smith"]
        assert b"John Brown" not in (tmp_path / "kept.db").read_bytes()
        with closing(secret.connect_file(tmp_path / "kept.db")) as kept:
            assert sorted(row[0] for row in kept.execute("SELECT name FROM residents")) == [
                "John Brown",
                "Mary Smith",
            ]
    finally:
        secret.dispose()
