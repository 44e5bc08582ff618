"""What a server database does differently on purpose: its backups, encryption and upgrades are the
server's business, and the app says so plainly instead of failing on a file that is not there."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig

from digiknow_desk.app import Services, open_database
from digiknow_desk.config import Config
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.paths import shipped_dir
from digiknow_desk.storage.backup import BackupFailed, backup_before_upgrade
from digiknow_desk.storage.checks import quick_check
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import HEAD_REVISION, current_revision

pytestmark = pytest.mark.postgresql_only("how a server database differs from a file on purpose")

SERVER_BACKUPS = (
    "DigiKnow Desk makes backups of a database file on this PC. This database is on a server: "
    "back it up with the server's own tools (ask whoever runs it)."
)


def test_backups_and_restores_are_refused_saying_to_use_the_servers_tools(
    services: Services, tmp_path: Path
) -> None:
    services.residents.add(ResidentDraft(name="Mary Smith", phone="0161 474 4444"))
    folder = tmp_path / "backups"
    for attempt in (
        lambda: services.backups.backup_now(folder),
        lambda: services.backups.backup_now(tmp_path / "now.db"),
        lambda: services.backups.backup_if_due(folder, every=timedelta(days=1)),
        lambda: services.backups.check(tmp_path / "old.db"),
        lambda: services.backups.restore(tmp_path / "old.db"),
    ):
        with pytest.raises(BackupFailed) as refused:
            attempt()
        assert str(refused.value) == SERVER_BACKUPS
    assert list(tmp_path.iterdir()) == []  # no folder made, no file written
    assert services.backups.list_backups(folder) == []
    assert [resident.name for resident in services.residents.search("")] == ["Mary Smith"]


def test_a_server_database_cannot_be_encrypted_by_the_app(database_url: str) -> None:
    with pytest.raises(DomainError, match="^Only a database file on this PC can be encrypted"):
        Database(database_url, passphrase="correct horse battery staple")


def test_the_servers_health_is_the_servers_to_check(database: Database) -> None:
    assert quick_check(database, backups_folder=Path("/backups/digiknow")) == []


def test_a_server_database_behind_this_version_is_upgraded_at_start_with_no_backup_file(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    alembic = AlembicConfig()
    alembic.set_main_option("script_location", str(shipped_dir("db")))
    with database.writer.connect() as connection:
        alembic.attributes["connection"] = connection
        command.downgrade(alembic, "-1")
        connection.commit()
    assert current_revision(database) not in (None, HEAD_REVISION)
    assert backup_before_upgrade(database, tmp_path / "backups") is None
    config = Config(data_dir=tmp_path / "data", db_url=database_url)

    reopened = open_database(config, create=False)
    reopened.dispose()

    assert current_revision(database) == HEAD_REVISION
    assert list(tmp_path.iterdir()) == []  # no data folder, no backups folder


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://sam:secret@db01.stockport.local/digiknow", "digiknow on db01.stockport.local"),
        ("postgresql://sam@10.0.0.5:5433/digiknow", "digiknow on 10.0.0.5:5433"),
        ("postgresql://postgres@/digiknow?host=/var/run/postgresql", "digiknow on this computer"),
    ],
)
def test_staff_see_which_server_database_without_the_password_or_the_driver(url: str, shown: str) -> None:
    database = Database(url)
    try:
        assert database.display_name == shown
    finally:
        database.dispose()
