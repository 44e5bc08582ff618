"""Runs the Alembic migrations in db/ against a database: the only way the schema is made or changed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from digiknow_desk.paths import shipped_dir
from digiknow_desk.storage.database import Database


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(shipped_dir("db")))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "db/versions holds no migration"
    return head


def current_revision(database: Database) -> str | None:
    with database.writer.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class NewerDatabaseError(RuntimeError):
    """The database was upgraded by a newer version of the app than this one."""


def upgrade_to_head(database: Database) -> None:
    """Create or upgrade the schema to the newest migration (safe to repeat)."""
    config = _alembic_config()
    revision = current_revision(database)
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if revision is not None and revision not in known:
        raise NewerDatabaseError(
            f"This database ({database.display_name}) was made by a newer version of DigiKnow Desk "
            f"(schema {revision}). Install the newest version to open it."
        )
    with database.writer.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None, "a checked-out connection always has its driver connection"
        if database.is_sqlite:
            # Batch migrations copy tables, so foreign keys are checked after the upgrade, not during.
            # The pragma only works outside a transaction, hence on the raw connection before BEGIN.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
            if database.is_sqlite:
                violations = raw.execute("PRAGMA foreign_key_check").fetchall()
                if violations:
                    raise RuntimeError(f"The upgrade left broken references: {violations[:5]}")
        finally:
            if database.is_sqlite:
                # The writer connection goes back to the pool: it must enforce foreign keys again
                # even when the upgrade failed.
                connection.rollback()
                raw.execute("PRAGMA foreign_keys=ON")
