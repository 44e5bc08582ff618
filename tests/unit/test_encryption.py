"""Encryption at rest: no resident's details reach the disk readable, and only the passphrase opens it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.encryption import (
    REWRITE_SUFFIX,
    EncryptionFailed,
    NotEncrypted,
    PassphraseNeeded,
    PassphraseRefused,
    WrongPassphrase,
    change_passphrase,
    decrypt_database,
    encrypt_database,
    is_encrypted,
)
from digiknow_desk.storage.migrate import upgrade_to_head

if TYPE_CHECKING:
    from tests.conftest import FakeClock

pytestmark = pytest.mark.sqlite_only("SQLCipher encrypts the SQLite file")

# Quotes and a semicolon: the passphrase goes into a PRAGMA as SQL text, so it must be quoted safely.
PASSPHRASE = "O'Brien's \"kettle\"; violin harbour"
NAME = "Zebediah Quartermaine"
PHONE = "07700 900461"
POSTCODE = "SK3 0QZ"
EMAIL = "zeb.quartermaine@example.org"
SECOND_NAME = "Philippa Thistlewood-Oyelaran"
# Each detail as typed and as the app may also keep it (lower case for searching, digits of a phone).
SECRETS = {
    NAME: (NAME, NAME.lower()),
    SECOND_NAME: (SECOND_NAME, SECOND_NAME.lower()),
    PHONE: (PHONE, PHONE.replace(" ", "")),
    POSTCODE: (POSTCODE, POSTCODE.replace(" ", "").lower()),
    EMAIL: (EMAIL,),
}


def _services(database: Database, clock: FakeClock) -> Services:
    """The services as the app builds them (the one place that knows build_services's signature)."""
    return build_services(database, staff=setup_staff("Test Staff"), clock=clock)


def _open(path: Path, passphrase: str | None) -> Database:
    database = Database("sqlite:///" + path.as_posix(), passphrase=passphrase)
    upgrade_to_head(database)
    return database


def _fill(services: Services) -> None:
    """Residents with details that appear nowhere else, and a loan that names one of them."""
    resident = services.residents.add(
        ResidentDraft(name=NAME, phone=PHONE, postcode=POSTCODE, email=EMAIL), duplicate_checked=True
    )
    services.residents.add(ResidentDraft(name=SECOND_NAME, phone="0161 496 0733"), duplicate_checked=True)
    services.inventory.add(
        DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET, make="Lenovo", model="M10")
    )
    services.lending.issue("TAB-0001", resident.reference)


def _make_database(path: Path, clock: FakeClock, passphrase: str | None = None) -> None:
    database = _open(path, passphrase)
    try:
        _fill(_services(database, clock))
    finally:
        database.dispose()


def _readable_secrets(folder: Path) -> dict[str, list[str]]:
    """Each secret found in the raw bytes of any file under `folder`, with the files it is in."""
    found: dict[str, list[str]] = {}
    for file in sorted(path for path in folder.rglob("*") if path.is_file()):
        data = file.read_bytes().lower()
        for secret, forms in SECRETS.items():
            if any(form.lower().encode() in data for form in forms):
                found.setdefault(secret, []).append(file.name)
    return found


def _names(services: Services) -> list[str]:
    return sorted(resident.name for resident in services.residents.search())


def _row_counts(path: Path, passphrase: str | None) -> dict[str, int]:
    database = Database("sqlite:///" + path.as_posix(), passphrase=passphrase)
    try:
        with closing(database.connect_file(path)) as connection:
            tables = [
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            return {
                table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables
            }
    finally:
        database.dispose()


# What reaches the disk


@pytest.mark.parametrize("passphrase", [PASSPHRASE, None], ids=["encrypted", "plain"])
def test_residents_details_reach_the_disk_readable_only_without_encryption(
    tmp_path: Path, clock: FakeClock, passphrase: str | None
) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    path = folder / "desk.db"
    database = _open(path, passphrase)
    try:
        _fill(_services(database, clock))
        wal = path.with_name("desk.db-wal")
        # The app still has the database open: the latest writes are in the -wal, not yet in the file.
        assert wal.is_file() and wal.stat().st_size > 0
        while_open = _readable_secrets(folder)
    finally:
        database.dispose()
    after_closing = _readable_secrets(folder)

    if passphrase is None:
        # The check finds plain text when it is there, so its silence below means something.
        assert set(while_open) == set(after_closing) == set(SECRETS)
        assert "desk.db-wal" in while_open[NAME]
    else:
        assert while_open == {}
        assert after_closing == {}
        assert is_encrypted(path)
        database = _open(path, PASSPHRASE)
        try:
            assert _names(_services(database, clock)) == [SECOND_NAME, NAME]
        finally:
            database.dispose()


def test_every_connection_is_keyed_and_keeps_temporary_data_in_memory(tmp_path: Path) -> None:
    database = _open(tmp_path / "desk.db", PASSPHRASE)
    try:
        for engine in (database.writer, database.reader):
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA cipher_version").scalar()
                assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.dispose()


# Opening


def test_a_wrong_passphrase_is_refused_saying_so(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "desk.db"
    _make_database(path, clock, PASSPHRASE)

    with pytest.raises(WrongPassphrase, match="The passphrase is not right for this database"):
        Database("sqlite:///" + path.as_posix(), passphrase=PASSPHRASE.upper())


def test_an_encrypted_database_opened_without_a_passphrase_asks_for_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "desk.db"
    _make_database(path, clock, PASSPHRASE)

    with pytest.raises(PassphraseNeeded, match="This database .* is encrypted: give its passphrase"):
        Database("sqlite:///" + path.as_posix())


def test_a_passphrase_for_a_plain_database_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "desk.db"
    _make_database(path, clock)

    with pytest.raises(NotEncrypted, match="is not encrypted, so it has no passphrase"):
        Database("sqlite:///" + path.as_posix(), passphrase=PASSPHRASE)


# Backups


def test_a_backup_of_an_encrypted_database_is_encrypted_with_the_same_passphrase(
    tmp_path: Path, clock: FakeClock
) -> None:
    live = tmp_path / "live" / "desk.db"
    live.parent.mkdir()
    copy = tmp_path / "backups" / "digiknow-20260314-103000.db"
    copy.parent.mkdir()
    database = _open(live, PASSPHRASE)
    try:
        _fill(_services(database, clock))
        writer = database.writer.raw_connection()
        try:
            source = writer.driver_connection
            assert source is not None, "a checked-out connection always has its driver connection"
            with closing(database.connect_file(copy)) as destination:
                source.backup(destination)
        finally:
            writer.close()
    finally:
        database.dispose()

    assert is_encrypted(copy)
    assert _readable_secrets(copy.parent) == {}
    with pytest.raises(PassphraseNeeded):
        Database("sqlite:///" + copy.as_posix())
    restored = _open(copy, PASSPHRASE)
    try:
        assert _names(_services(restored, clock)) == [SECOND_NAME, NAME]
    finally:
        restored.dispose()


# Turning encryption on, changing the passphrase, turning it off


def test_encrypting_a_plain_database_keeps_every_row_and_leaves_no_plain_text(
    tmp_path: Path, clock: FakeClock
) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    path = folder / "desk.db"
    _make_database(path, clock)
    rows_before = _row_counts(path, None)
    assert set(_readable_secrets(folder)) == set(SECRETS)

    encrypt_database(path, PASSPHRASE)

    assert is_encrypted(path)
    assert _readable_secrets(folder) == {}
    assert sorted(file.name for file in folder.iterdir()) == ["desk.db"]
    assert _row_counts(path, PASSPHRASE) == rows_before
    database = _open(path, PASSPHRASE)
    try:
        services = _services(database, clock)
        assert _names(services) == [SECOND_NAME, NAME]
        assert services.lending.open_loan("TAB-0001") is not None
    finally:
        database.dispose()


def test_encrypting_refuses_a_short_passphrase_and_leaves_the_database_as_it_was(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "desk.db"
    _make_database(path, clock)
    before = path.read_bytes()

    with pytest.raises(PassphraseRefused, match="at least 12 characters"):
        encrypt_database(path, "short words")

    assert path.read_bytes() == before


def test_encrypting_that_fails_part_way_leaves_the_plain_database_whole(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "desk.db"
    _make_database(path, clock)
    rows_before = _row_counts(path, None)
    # The encrypted copy cannot be written where it goes: a folder has its name.
    path.with_name(path.name + REWRITE_SUFFIX).mkdir()

    with pytest.raises(EncryptionFailed, match="Encryption was not turned on: .* The database is unchanged"):
        encrypt_database(path, PASSPHRASE)

    assert not is_encrypted(path)
    assert _row_counts(path, None) == rows_before


def test_encrypting_an_encrypted_database_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "desk.db"
    _make_database(path, clock, PASSPHRASE)

    with pytest.raises(EncryptionFailed, match="already encrypted"):
        encrypt_database(path, "another long passphrase")


def test_a_changed_passphrase_opens_the_database_and_the_old_one_no_longer_does(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "desk.db"
    _make_database(path, clock, PASSPHRASE)
    rows_before = _row_counts(path, PASSPHRASE)

    with pytest.raises(WrongPassphrase):
        change_passphrase(path, "not the passphrase", "a new long passphrase")
    change_passphrase(path, PASSPHRASE, "a new long passphrase")

    with pytest.raises(WrongPassphrase):
        Database("sqlite:///" + path.as_posix(), passphrase=PASSPHRASE)
    assert _row_counts(path, "a new long passphrase") == rows_before
    assert _readable_secrets(tmp_path) == {}


def test_decrypting_gives_back_a_plain_database_with_every_row(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "desk.db"
    _make_database(path, clock, PASSPHRASE)
    rows_before = _row_counts(path, PASSPHRASE)

    decrypt_database(path, PASSPHRASE)

    assert not is_encrypted(path)
    assert _row_counts(path, None) == rows_before
    with closing(sqlite3.connect(path)) as plain:
        assert plain.execute("SELECT count(*) FROM residents WHERE name = ?", (NAME,)).fetchone() == (1,)


def test_is_encrypted_tells_plain_new_and_encrypted_files_apart(tmp_path: Path, clock: FakeClock) -> None:
    plain, encrypted = tmp_path / "plain.db", tmp_path / "encrypted.db"
    _make_database(plain, clock)
    _make_database(encrypted, clock, PASSPHRASE)
    (tmp_path / "empty.db").touch()

    names = ("plain.db", "encrypted.db", "empty.db", "missing.db")
    assert [is_encrypted(tmp_path / name) for name in names] == [False, True, False, False]
