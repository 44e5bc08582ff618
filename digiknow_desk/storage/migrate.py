"""Runs the Alembic migrations in db/ against a database: the only way the schema is made or changed.

Alembic is imported only when there is something to migrate: it adds about 0.1 s to every start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from digiknow_desk.paths import shipped_dir
from digiknow_desk.storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# The newest migration in db/versions; a test keeps it in step with Alembic's own view of the head.
HEAD_REVISION = "0009"


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(shipped_dir("db")))
    return config


def head_revision() -> str:
    """The head as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "db/versions holds no migration"
    return head


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with database.writer.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


class NewerDatabaseError(RuntimeError):
    """The database was upgraded by a newer version of the app than this one."""


def upgrade_to_head(database: Database) -> None:
    """Create or upgrade the schema to the newest migration (safe to repeat)."""
    revision = current_revision(database)
    if revision == HEAD_REVISION:
        return
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _alembic_config()
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
            if database.is_sqlite:
                # Checked inside the upgrade's transaction, so broken references are never committed.
                violations = raw.execute("PRAGMA foreign_key_check").fetchall()
                if violations:
                    raise RuntimeError(f"The upgrade left broken references: {violations[:5]}")
            connection.commit()
        finally:
            if database.is_sqlite:
                # The writer connection goes back to the pool: it must enforce foreign keys again
                # even when the upgrade failed.
                connection.rollback()
                raw.execute("PRAGMA foreign_keys=ON")
