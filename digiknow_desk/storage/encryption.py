"""Encryption at rest of the SQLite database with SQLCipher: the key, checks at open, turning it on and off.

SQLCipher (the `sqlcipher3` package, which bundles it) encrypts every page of the database file and of
its -wal journal with AES-256; the -shm file holds only an index of the journal, never data. The key is
derived from the passphrase with PBKDF2-HMAC-SHA512, 256,000 iterations and a random 16-byte salt kept
at the start of the file (SQLCipher 4's defaults: `PRAGMA cipher_default_settings` shows them), and each
page carries an HMAC-SHA512, so a wrong passphrase or a tampered page is detected rather than misread.

Nobody can recover data whose passphrase is lost: there is no back door.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from digiknow_desk.domain.errors import DomainError

MIN_PASSPHRASE_LENGTH = 12
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every plain SQLite database
# A database rewritten with a new key is written under this suffix beside the original, then renamed.
REWRITE_SUFFIX = ".rekeying"
_SQLITE_NOTADB = 26  # what SQLCipher reports on the first read with a wrong key
_SQLITE_BUSY = 5


class EncryptionUnavailable(DomainError):
    """The SQLCipher driver is not installed."""


class PassphraseNeeded(DomainError):
    """An encrypted database was opened without a passphrase."""


class WrongPassphrase(DomainError):
    """The passphrase does not open this encrypted database."""


class NotEncrypted(DomainError):
    """A passphrase was given for a database that is not encrypted."""


class PassphraseRefused(DomainError):
    """A new passphrase is too weak or cannot be typed reliably."""


class EncryptionFailed(DomainError):
    """Turning encryption on or off, or changing the passphrase, did not happen; the database is unchanged."""


def sqlcipher_driver() -> Any:
    """The DB-API module of SQLCipher (`sqlcipher3`, a drop-in for the standard `sqlite3` module)."""
    try:
        import sqlcipher3
    except ImportError as error:
        raise EncryptionUnavailable(
            "This copy of DigiKnow Desk cannot open encrypted databases: its sqlcipher3 package is "
            "missing. Reinstall DigiKnow Desk."
        ) from error
    return sqlcipher3


# The file


def is_encrypted(path: Path) -> bool:
    """True when `path` holds an encrypted database: a file that is not empty and does not start as every
    plain SQLite file does. A missing or empty file is a new database, not an encrypted one."""
    header = _header(path)
    return len(header) > 0 and header != SQLITE_HEADER


def _is_plain(path: Path) -> bool:
    return _header(path) == SQLITE_HEADER


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        # Not a readable file (a folder, say): not ours to judge; SQLite's own open says what is wrong.
        return b""


# The key


def check_new_passphrase(passphrase: str) -> None:
    """Refuse a passphrase that is too short to resist guessing or easy to mistype next time."""
    passphrase = _normalised(passphrase)
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise PassphraseRefused(
            f"A passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters. A few unrelated words, "
            "such as 'kettle violin harbour', are long enough and easy to remember."
        )
    if passphrase != passphrase.strip():
        raise PassphraseRefused(
            "A passphrase cannot start or end with a space: it is too easy to leave out next time."
        )
    if any(unicodedata.category(character).startswith("C") for character in passphrase):
        raise PassphraseRefused(
            "A passphrase cannot contain tabs, line breaks or other invisible characters."
        )


def key_statements(passphrase: str) -> tuple[str, ...]:
    """The statements that open an encrypted database, run first on every new connection.

    The passphrase goes in as a quoted SQL string (PRAGMA takes no parameters), so quotes in it are
    safe. Temporary tables and sorts stay in memory: SQLCipher does not encrypt temporary files."""
    if "\x00" in passphrase:
        raise WrongPassphrase("A passphrase cannot contain a null character. Check it and try again.")
    quoted = "'" + _normalised(passphrase).replace("'", "''") + "'"
    return (
        f"PRAGMA key = {quoted}",
        # A wrong passphrase is reported as a WrongPassphrase; SQLCipher's own log would print its
        # internal errors to the console as well. The setting is global to the process.
        "PRAGMA cipher_log_level = NONE",
        "PRAGMA temp_store = MEMORY",
    )


def _normalised(passphrase: str) -> str:
    # The same letters can reach us as different code points (an accented letter typed on one keyboard,
    # pasted from another program): one form makes them the same key.
    return unicodedata.normalize("NFC", passphrase)


def connect_with_key(path: Path, passphrase: str | None) -> Any:
    """A SQLCipher DB-API connection to `path` in autocommit mode, opened with `passphrase` when given."""
    connection = sqlcipher_driver().connect(str(path), isolation_level=None)
    try:
        if passphrase is not None:
            for statement in key_statements(passphrase):
                connection.execute(statement)
    except BaseException:
        connection.close()
        raise
    return connection


def check_can_open(path: Path, passphrase: str | None) -> None:
    """Refuse, with a message saying what to do, to open `path` with the wrong passphrase, without one
    when it is encrypted, or with one when it is not. A missing or empty file is a new database."""
    if passphrase is None:
        if is_encrypted(path):
            raise PassphraseNeeded(f"This database ({path}) is encrypted: give its passphrase to open it.")
        return
    if _is_plain(path):
        raise NotEncrypted(
            f"This database ({path}) is not encrypted, so it has no passphrase. Open it without one, "
            "or turn encryption on for it first."
        )
    if not is_encrypted(path):
        return
    with closing(connect_with_key(path, passphrase)) as connection:
        _read_with_key(connection, path)


def _read_with_key(connection: Any, path: Path) -> None:
    """The first read, which is when SQLCipher finds out whether the key is right."""
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher_driver().DatabaseError as error:
        if _error_code(error) != _SQLITE_NOTADB:
            raise
        raise WrongPassphrase(
            f"The passphrase is not right for this database ({path}). Check it (capital letters count) "
            "and try again. Without it the data cannot be read: nobody can recover it."
        ) from error


def _error_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    if "file is not a database" in str(error):
        return _SQLITE_NOTADB
    return None


# Turning encryption on and off


def encrypt_database(path: Path, passphrase: str) -> None:
    """Encrypt the plain database at `path` with `passphrase`, keeping every row.

    An encrypted copy is made beside it, checked, and only then put in its place: if anything fails the
    plain database is left as it was. The plain -wal and -shm files beside it are removed. No other
    program may have the database open meanwhile (DigiKnow Desk, a backup, a database browser)."""
    check_new_passphrase(passphrase)
    _check_exists(path, "Encryption was not turned on")
    if is_encrypted(path):
        raise EncryptionFailed(
            f"{path} is already encrypted. To use another passphrase, change the passphrase instead."
        )
    if not _is_plain(path):
        raise EncryptionFailed(
            f"Encryption was not turned on: {path} is not a DigiKnow Desk database. Check the path."
        )
    _rewrite(path, None, passphrase, "Encryption was not turned on")


def change_passphrase(path: Path, old: str, new: str) -> None:
    """Encrypt the database at `path` again, under `new` instead of `old` (and a new salt)."""
    check_new_passphrase(new)
    _check_exists(path, "The passphrase was not changed")
    _check_encrypted(path, "The passphrase was not changed")
    if _normalised(old) == _normalised(new):
        raise PassphraseRefused("The new passphrase is the same as the old one: choose a different one.")
    check_can_open(path, old)
    _rewrite(path, old, new, "The passphrase was not changed")


def decrypt_database(path: Path, passphrase: str) -> None:
    """Turn encryption off: the database at `path` becomes a plain SQLite file again."""
    _check_exists(path, "Encryption was not turned off")
    _check_encrypted(path, "Encryption was not turned off")
    check_can_open(path, passphrase)
    _rewrite(path, passphrase, None, "Encryption was not turned off")


def _check_exists(path: Path, outcome: str) -> None:
    if not path.is_file():
        raise EncryptionFailed(f"{outcome}: there is no database at {path}. Check the path.")


def _check_encrypted(path: Path, outcome: str) -> None:
    if not is_encrypted(path):
        raise NotEncrypted(f"{outcome}: the database {path} is not encrypted.")


def _rewrite(path: Path, old: str | None, new: str | None, outcome: str) -> None:
    """Copy the database at `path` (opened with `old`) to a new file encrypted with `new` (plain when
    None) with SQLCipher's sqlcipher_export, check the copy, then rename it over the original.

    SQLCipher 4 can neither encrypt nor decrypt a file in place, and its in-place rekey is unsafe in WAL
    mode, so every change of key takes this one path; it also gives the file a new salt."""
    work = _beside(path, REWRITE_SUFFIX)
    _remove(work)
    try:
        with _exclusive(path, old, outcome) as source:
            source.execute("ATTACH DATABASE ? AS rewritten KEY ?", (str(work), _normalised(new or "")))
            source.execute("SELECT sqlcipher_export('rewritten')")
            # sqlcipher_export copies the schema and the rows; the header's numbers are ours to copy.
            for pragma in ("user_version", "application_id"):
                value = int(source.execute(f"PRAGMA main.{pragma}").fetchone()[0])
                source.execute(f"PRAGMA rewritten.{pragma} = {value}")
            source.execute("DETACH DATABASE rewritten")
            _check_copy(work, new, _contents(source), outcome)
        os.replace(work, path)
    except DomainError:
        _remove(work)
        raise
    except (OSError, sqlcipher_driver().Error) as error:
        _remove(work)
        raise EncryptionFailed(f"{outcome}: {_problem(error, path)} The database is unchanged.") from error
    except BaseException:
        _remove(work)
        raise


@contextmanager
def _exclusive(path: Path, passphrase: str | None, outcome: str) -> Iterator[Any]:
    """A connection to `path` while no other connection can write to it, with everything in its -wal
    moved into the file itself. On leaving, the -wal and -shm files are gone, and no write can have
    happened since the caller read the database."""
    with closing(connect_with_key(path, passphrase)) as source:
        source.execute("PRAGMA busy_timeout = 10000")
        _read_with_key(source, path)
        # Out of WAL mode, every committed change is in the main file, and the -wal is deleted.
        mode = source.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise EncryptionFailed(f"{outcome}: {_in_use(path)}")
        with closing(connect_with_key(path, passphrase)) as guard:
            guard.execute("PRAGMA busy_timeout = 10000")
            # Other writers now wait, and fail after their own timeout, instead of writing to a file
            # about to be replaced; readers may go on. The lock ends when the guard is closed, just
            # before the caller renames the new file over this one.
            guard.execute("BEGIN IMMEDIATE")
            yield source
            source.close()
            for leftover in (_beside(path, "-wal"), _beside(path, "-shm")):
                try:
                    leftover.unlink(missing_ok=True)
                except OSError as error:
                    raise EncryptionFailed(
                        f"{outcome}: {_in_use(path)} The database is unchanged."
                    ) from error


def _contents(connection: Any) -> dict[str, Any]:
    """What a copy must have in common with its original: the schema and each table's row count."""
    objects = [
        tuple(row)
        for row in connection.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        )
    ]
    rows = {
        name: connection.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0]
        for kind, name, _table, _sql in objects
        if kind == "table"
    }
    return {"schema": objects, "rows": rows}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_copy(work: Path, passphrase: str | None, expected: dict[str, Any], outcome: str) -> None:
    """Open the copy as the app will, with its key, and compare it with the original."""
    with closing(connect_with_key(work, passphrase)) as copy:
        _read_with_key(copy, work)
        problems = [row[0] for row in copy.execute("PRAGMA integrity_check(5)")]
        if passphrase is not None:
            # Every page's HMAC: each page was written, and reads back, with this key.
            problems += [row[0] for row in copy.execute("PRAGMA cipher_integrity_check")]
        if problems != ["ok"]:
            raise EncryptionFailed(
                f"{outcome}: the new copy failed its check ({problems[0]}). The database is unchanged."
            )
        if _contents(copy) != expected:
            raise EncryptionFailed(
                f"{outcome}: the new copy does not hold the same records as the database. "
                "The database is unchanged."
            )


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _remove(path: Path) -> None:
    for file in (path, _beside(path, "-journal")):
        try:
            file.unlink(missing_ok=True)
        except OSError:
            continue  # in use: the next attempt removes it before starting


def _in_use(path: Path) -> str:
    return (
        f"the database {path} is in use. Close DigiKnow Desk everywhere it is open (and any other "
        "program using it), then try again."
    )


def _problem(error: BaseException, path: Path) -> str:
    """What went wrong, in words that say what to do."""
    code = _error_code(error)
    text = str(error).lower()
    if code == _SQLITE_BUSY or "locked" in text or isinstance(error, PermissionError):
        return _in_use(path)
    if code == 13 or "disk is full" in text:
        return f"the disk holding {path.parent} is full: it needs room for a second copy of the database."
    return f"{error}."
