"""Every setting the app reads at start-up, declared once with its default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from sqlalchemy.engine import URL, make_url

APP_NAME = "DigiKnow Desk"
APP_AUTHOR = "DigiKnow"
DB_ENV = "DIGIKNOW_DB"
PASSPHRASE_ENV = "DIGIKNOW_PASSPHRASE"
BACKUP_DIR_ENV = "DIGIKNOW_BACKUP_DIR"
DATA_DIR_ENV = "DIGIKNOW_DATA_DIR"
DEFAULT_DB_FILE = "digiknow.db"
DEFAULT_LABEL_STOCK = "L7160"


@dataclass(frozen=True)
class Config:
    data_dir: Path
    db_url: str
    db_named: bool = False  # True when --db or DIGIKNOW_DB named the database, not the default file
    default_label_stock: str = DEFAULT_LABEL_STOCK
    # The SQLCipher passphrase of an encrypted database file; never shown or logged.
    passphrase: str | None = field(default=None, repr=False)
    backup_dir_override: Path | None = None

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def backup_dir(self) -> Path:
        """Where automatic backups go (and the one made before every upgrade): the folder staff chose
        ($DIGIKNOW_BACKUP_DIR), else "backups" beside the data. Kept outside the database, as it is
        needed before the database can be read."""
        return self.backup_dir_override or self.data_dir / "backups"


def database_url(db: str) -> str:
    """A SQLAlchemy URL from what a person typed: a URL as it is, anything else as a SQLite file path.

    A PostgreSQL URL without a driver (postgresql://host/db, as servers are usually written) uses
    psycopg 3."""
    if "://" in db:
        scheme, rest = db.split("://", 1)
        return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else db
    # URL.create quotes the path, so a folder named like "50%20off" or "a?b" is not read as URL syntax.
    return URL.create("sqlite", database=Path(db).expanduser().resolve().as_posix()).render_as_string()


def load_config(db: str | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """The settings from the command line (`db`), then the environment, then the defaults."""
    # Resolved like the database path, so the default database is found inside it through symlinks
    # and relative overrides alike.
    data_dir = Path(environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))
    data_dir = data_dir.expanduser().resolve()
    named = db or environ.get(DB_ENV)
    chosen = named or str(data_dir / DEFAULT_DB_FILE)
    backups = environ.get(BACKUP_DIR_ENV)
    return Config(
        data_dir=data_dir,
        db_url=database_url(chosen),
        db_named=bool(named),
        passphrase=environ.get(PASSPHRASE_ENV) or None,
        backup_dir_override=Path(backups).expanduser().resolve() if backups else None,
    )


def sqlite_file(db_url: str) -> Path | None:
    """The file of a SQLite database URL; None for a server database."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)
