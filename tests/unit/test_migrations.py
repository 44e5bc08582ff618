"""Migrations: an empty database upgraded to head matches the models, is seeded, tuned and guarded.

Every migration runs on SQLite and on PostgreSQL: these tests start from an empty database of each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Boolean, Engine, bindparam, func, inspect, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.schema import CreateIndex, CreateTable

from digiknow_desk.app import build_services, open_database
from digiknow_desk.config import Config
from digiknow_desk.domain.champions import ChampionDraft
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.sessions import SessionDraft, SessionFilter, SessionKind
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.paths import shipped_dir
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import (
    HEAD_REVISION,
    NewerDatabaseError,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from digiknow_desk.storage.models import (
    Base,
    SessionAttendeeRow,
    SessionChampionRow,
    SessionTopicRow,
    SkillsCheckRow,
    UtcDateTime,
    VenueRow,
    WardRow,
)

if TYPE_CHECKING:
    from tests.conftest import FakeClock

SUPPORTED = InclusionStatus.SUPPORTED

TABLES = {
    "wards",
    "venues",
    "devices",
    "device_kit_items",
    "device_status_events",
    "tag_counters",
    "settings",
    "residents",
    "resident_consents",
    "loans",
    "loan_kit",
    "wipes",
    "wait_entries",
    "wait_events",
    "data_plans",
    "resident_search_terms",
    "postcode_wards",
    "inclusion_changes",
    "champions",
    "champion_venues",
    "champion_hours",
    "sessions",
    "session_champions",
    "session_attendees",
    "session_topics",
    "skills_checks",
    "skills_check_levels",
    "loan_renewals",
    "staff_accounts",
    "audit_entries",
    "sync_state",
    "sync_outbox",
    "sync_recheck",
    "sync_feed",
    "sync_copies",
    "sync_conflicts",
}


@pytest.fixture
def empty_database(empty_database_url: str) -> Iterator[Database]:
    database = Database(empty_database_url)
    yield database
    database.dispose()


def _table_names(database: Database) -> set[str]:
    with database.reader.connect() as connection:
        return set(inspect(connection).get_table_names())


def _pragmas(engine: Engine) -> tuple[str, int, int]:
    with engine.connect() as connection:
        return (
            connection.exec_driver_sql("PRAGMA journal_mode").scalar_one(),
            connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one(),
            connection.exec_driver_sql("PRAGMA synchronous").scalar_one(),
        )


def test_an_empty_database_upgraded_to_head_matches_the_models(empty_database: Database) -> None:
    assert _table_names(empty_database) == set()
    upgrade_to_head(empty_database)
    assert _table_names(empty_database) == TABLES | {"alembic_version"}
    with empty_database.writer.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_the_migrated_schema_uses_the_naming_convention(database: Database) -> None:
    with database.reader.connect() as connection:
        inspector = inspect(connection)
        assert {c["name"] for c in inspector.get_unique_constraints("devices")} == {
            "uq_devices_tag",
            "uq_devices_serial",
        }
        assert {fk["name"] for fk in inspector.get_foreign_keys("devices")} == {
            "fk_devices_home_venue_id_venues",
            "fk_devices_current_venue_id_venues",
        }
        assert {i["name"] for i in inspector.get_indexes("device_status_events")} == {
            "ix_device_status_events_device_id_at"
        }


def test_upgrade_records_the_head_revision_and_is_safe_to_repeat(database: Database) -> None:
    assert current_revision(database) == head_revision()
    with database.write() as session:
        session.add(WardRow(code="E99999999", name="Test ward", population=1))
    upgrade_to_head(database)
    upgrade_to_head(database)
    assert current_revision(database) == head_revision()
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(WardRow)) == 22
        assert session.get(WardRow, "E99999999") is not None


def test_downgrade_to_base_and_back_up_again(database: Database) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(shipped_dir("db")))
    with database.writer.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        connection.commit()
    assert _table_names(database) == {"alembic_version"}
    upgrade_to_head(database)
    assert _table_names(database) == TABLES | {"alembic_version"}


def _migrate(database: Database, revision: str, *, down: bool = False) -> None:
    """Up or down to `revision` as upgrade_to_head does it: on SQLite, batch copies of tables with
    foreign keys off, or dropping the old residents table would cascade to their consents and search
    words; PostgreSQL alters tables in place."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(shipped_dir("db")))
    with database.writer.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        if database.is_sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
            connection.commit()
        finally:
            if database.is_sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def test_upgrading_0002_makes_the_search_words_of_residents_already_registered(
    empty_database: Database, clock: FakeClock
) -> None:
    _migrate(empty_database, "0002")
    with empty_database.writer.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO residents (id, reference, name, phone, email, address, postcode, age_band,"
                " language, large_print, interpreter, access_needs, referral_partner, referral_reason,"
                " ethnicity, search_text, created_at, updated_at) VALUES (:id, 'R-00007', 'Zofia Nowak',"
                " '0161 474 4444', '', '', 'SK4 2HD', '65_74', 'Polish', :no, :no, '', '', 'health', '',"
                " 'zofia nowak r-00007', :now, :now)"
            ).bindparams(bindparam("no", type_=Boolean()), bindparam("now", type_=UtcDateTime())),
            {"id": uuid.uuid4().hex, "no": False, "now": clock.now},
        )
    upgrade_to_head(empty_database)
    residents = build_services(empty_database, staff=setup_staff("Test Staff"), clock=clock).residents
    for typed in ("zof", "nowak", "R7", "sk4 2", "4744444"):
        assert [r.reference for r in residents.search(typed)] == ["R-00007"], typed

    _migrate(empty_database, "0002", down=True)
    with empty_database.reader.connect() as connection:
        kept = connection.execute(text("SELECT search_text FROM residents")).scalar_one()
    assert {"zofia", "nowak", "r-00007", "sk42hd", "01614744444"} <= set(kept.split())


def test_the_21_stockport_wards_are_seeded(database: Database) -> None:
    with database.read() as session:
        wards = {row.code: (row.name, row.population) for row in session.scalars(select(WardRow))}
    assert sorted(wards) == [f"E05000{number}" for number in range(779, 800)]
    assert sum(population for _name, population in wards.values()) == 294_197
    assert wards["E05000779"] == ("Bramhall North", 12_807)
    assert wards["E05000783"] == ("Brinnington and Central", 17_622)
    assert wards["E05000797"] == ("Reddish North", 15_046)
    assert wards["E05000799"] == ("Stepping Hill", 13_256)
    assert len({name for name, _population in wards.values()}) == 21


@pytest.mark.sqlite_only("PRAGMAs are SQLite's own settings")
def test_pragmas_are_in_force_on_the_writer_and_every_reader(database: Database) -> None:
    assert _pragmas(database.writer) == ("wal", 1, 2)
    assert _pragmas(database.reader) == ("wal", 1, 2)
    # Two readers at once: the second is a fresh pooled connection and is tuned as well.
    with database.reader.connect() as first, database.reader.connect() as second:
        for connection in (first, second):
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
    with database.read() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_foreign_keys_are_enforced(database: Database, clock: FakeClock) -> None:
    with pytest.raises(IntegrityError), database.write() as session:
        session.add(VenueRow(name="Nowhere Library", ward_code="E00000000", created_at=clock.now))
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(VenueRow)) == 0


def test_a_failed_upgrade_leaves_nothing_half_made_and_foreign_keys_on(empty_database: Database) -> None:
    # A table in the way makes the first migration fail half-way.
    with empty_database.writer.begin() as connection:
        connection.execute(text("CREATE TABLE wards (code TEXT)"))
    with pytest.raises(DatabaseError, match="already exists"):
        upgrade_to_head(empty_database)
    assert _table_names(empty_database) == {"wards"}
    # The writer (on SQLite the connection the upgrade turned foreign keys off on) enforces them again.
    with pytest.raises(IntegrityError), empty_database.writer.begin() as connection:
        connection.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"))
        connection.execute(text("CREATE TABLE children (parent_id INTEGER REFERENCES parents (id))"))
        connection.execute(text("INSERT INTO children VALUES (1)"))


def _stamp(database: Database, revision: str) -> None:
    with database.writer.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES (:revision)"), {"revision": revision})


def test_a_database_from_a_newer_version_is_refused(empty_database: Database) -> None:
    _stamp(empty_database, "0999")
    with pytest.raises(NewerDatabaseError) as refused:
        upgrade_to_head(empty_database)
    message = str(refused.value)
    assert "newer version of DigiKnow Desk" in message
    assert "0999" in message
    assert empty_database.display_name in message
    assert _table_names(empty_database) == {"alembic_version"}


def test_open_database_wraps_the_newer_version_refusal(
    tmp_path: Path, empty_database: Database, empty_database_url: str
) -> None:
    _stamp(empty_database, "0999")
    config = Config(data_dir=tmp_path / "data", db_url=empty_database_url)
    with pytest.raises(DomainError, match="newer version of DigiKnow Desk.*Install the newest version"):
        open_database(config, create=False)


def test_opening_a_database_from_before_statuses_works_them_out_once(
    tmp_path: Path, database_url: str, database: Database, clock: FakeClock
) -> None:
    services = build_services(database, staff=setup_staff("Test Staff"), clock=clock)
    borrower = services.residents.add(ResidentDraft(name="Maureen Clarke", phone="0161 474 4444"))
    services.residents.add(ResidentDraft(name="Not Yet Seen", phone="0161 474 5555"))
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    services.lending.issue("TAB-0001", borrower.reference)
    _migrate(database, "0003", down=True)  # as a database made before issue 4 left it
    # A start that upgraded the schema but stopped before working the statuses out...
    upgrade_to_head(database)
    counts = build_services(database, staff=setup_staff("Test Staff"), clock=clock).inclusion.counts()
    assert counts[SUPPORTED] == 0
    database.dispose()

    # ...is finished by the next start, once.
    config = Config(data_dir=tmp_path / "data", db_url=database_url)
    for _start in range(2):
        reopened = open_database(config, create=False)
        try:
            reopened_services = build_services(reopened, staff=setup_staff("Test Staff"), clock=clock)
            counts = reopened_services.inclusion.counts()
            pending = reopened_services.inclusion.recompute_if_pending()
        finally:
            reopened.dispose()
        assert counts[SUPPORTED] == 1  # the borrower: a loan is support
        assert counts[InclusionStatus.NOT_YET_SUPPORTED] == 1
        assert not pending


def test_upgrading_0004_fills_in_the_session_days_lengths_and_skills_summaries_it_indexes(
    database: Database, clock: FakeClock
) -> None:
    services = build_services(database, staff=setup_staff("Test Staff"), clock=clock)
    everything = frozenset(ConsentPurpose)
    learner = services.residents.add(
        ResidentDraft(name="Maureen Clarke", phone="0161 474 4444", consents=everything)
    )
    champion = services.champions.add(ChampionDraft(name="Priya Shah"))
    today = clock.now.astimezone().date()
    held_on = today.replace(day=1) - timedelta(days=3)  # last month
    services.sessions.log(
        SessionDraft(
            held_on=held_on,
            starts_at=time(14, 15),
            minutes=45,
            kind=SessionKind.PHONE,
            venue_id=None,
            champion_ids=(champion.id,),
            resident_references=(learner.reference,),
            topics=frozenset({SkillArea.COMMUNICATING}),
        )
    )
    levels = {area: SkillLevel.ALONE for area in SkillArea} | {SkillArea.TRANSACTING: SkillLevel.WITH_HELP}
    services.skills.record(
        learner.reference,
        SkillsCheckDraft(levels=levels, checked_on=today, own_device=True, own_connection=True),
    )
    _migrate(database, "0004", down=True)
    upgrade_to_head(database)

    with database.read() as session:  # read as the models read them: in their types, on both databases
        champion_row = session.execute(
            select(SessionChampionRow.held_on, SessionChampionRow.starts_at, SessionChampionRow.minutes)
        ).one()
        attended = session.execute(select(SessionAttendeeRow.held_on)).scalar_one()
        topic = session.execute(select(SessionTopicRow.held_on)).scalar_one()
        summary = session.execute(select(SkillsCheckRow.foundation, SkillsCheckRow.areas_alone)).one()
    assert tuple(champion_row) == (held_on, time(14, 15), 45)  # 0005 and 0007 fill them in
    assert attended == topic == held_on
    assert tuple(summary) == (SkillLevel.ALONE, 4)
    services = build_services(database, staff=setup_staff("Test Staff"), clock=clock)
    month = SessionFilter(month=held_on, champion_id=champion.id)
    assert [s.held_on for s in services.sessions.sessions(month)] == [held_on]
    assert services.inclusion.recompute_all() == 0  # the same statuses from the filled-in summaries
    assert services.residents.get(learner.reference).inclusion_status is InclusionStatus.INDEPENDENT


def test_the_models_compile_for_postgresql() -> None:
    # The shared server of a later issue runs PostgreSQL: nothing in the models may be SQLite-only.
    dialect = postgresql.dialect()
    for table in Base.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert f"CONSTRAINT pk_{table.name} PRIMARY KEY" in ddl
        for index in table.indexes:
            str(CreateIndex(index).compile(dialect=dialect))
    devices = str(CreateTable(Base.metadata.tables["devices"]).compile(dialect=dialect))
    assert "id UUID NOT NULL" in devices
    assert "created_at TIMESTAMP WITH TIME ZONE NOT NULL" in devices


def test_the_start_up_shortcut_knows_the_newest_migration() -> None:
    # upgrade_to_head skips Alembic when the database is at HEAD_REVISION, so a new migration
    # must move that constant too, or existing databases would never be upgraded.
    assert HEAD_REVISION == head_revision()
