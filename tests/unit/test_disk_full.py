"""A full disk or a read-only database: staff are told plainly that the change was NOT saved, and nothing of
it is in the database, half or whole."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.storage.checks import NotSaved, quick_check, write_problem
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import DeviceRow, ResidentRow, SettingRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock

FULL = (
    "This change was NOT saved: the disk holding the database is full. Free some space on it (empty the "
    "Recycle Bin, delete or move large files), then do it again."
)
READ_ONLY = (
    "This change was NOT saved: the database file is read-only. Check that the file and its folder are not "
    "set to read-only and that you may change them (a file on a CD or a locked USB stick is read-only), "
    "then restart DigiKnow Desk and do it again."
)


@contextmanager
def guarded_write(database: Database) -> Iterator[Session]:
    """Database.write() as the lead wires it: a write the disk refuses becomes NotSaved."""
    try:
        with database.write() as session:
            yield session
    except DatabaseError as error:
        problem = write_problem(error)
        if problem is None:
            raise
        raise NotSaved(problem) from error


def _fill_the_disk(database: Database) -> None:
    """From now on the database file cannot grow by a page, as on a disk with no space left."""

    @event.listens_for(database.writer, "connect")
    def _no_room_to_grow(dbapi_connection: Any, _record: Any) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    database.writer.dispose()  # the next write opens a connection that has no room


@pytest.fixture
def read_only(db_path: Path, database: Database) -> Iterator[Database]:
    """The same file opened read-only, as a file marked read-only is (tests may run as root, whom
    file permissions do not stop)."""
    opened = Database(f"sqlite:///file:{db_path.as_posix()}?mode=ro&uri=true")
    yield opened
    opened.dispose()


def _count(database: Database, row: type[Any]) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(row)) or 0)


def _residents(database: Database) -> list[str]:
    with database.read() as session:
        return sorted(session.scalars(select(ResidentRow.name)))


@pytest.mark.sqlite_only("fills the SQLite file's disk")
def test_a_write_on_a_full_disk_is_not_saved_and_says_so(services: Services, database: Database) -> None:
    services.residents.add(ResidentDraft(name="Mary Smith", phone="0161 474 4444"))
    _fill_the_disk(database)

    with pytest.raises(NotSaved) as refusal, guarded_write(database) as session:
        session.add(SettingRow(key="before", value="1"))  # fits in a page there is room in...
        session.flush()
        session.add_all(
            SettingRow(key=f"note-{number}", value="x" * 2000) for number in range(200)
        )  # ...these do not

    assert str(refusal.value) == FULL
    assert _count(database, SettingRow) == 0  # not even the first row of the failed change
    assert _residents(database) == ["Mary Smith"]
    assert quick_check(database) == []
    with guarded_write(database) as session:  # a change that fits is still saved
        session.add(SettingRow(key="small", value="1"))
    assert _count(database, SettingRow) == 1


@pytest.mark.sqlite_only("opens the SQLite file read-only")
def test_a_write_to_a_read_only_database_is_not_saved_and_says_so(
    services: Services, database: Database, read_only: Database
) -> None:
    services.residents.add(ResidentDraft(name="Mary Smith", phone="0161 474 4444"))

    with pytest.raises(NotSaved) as refusal, guarded_write(read_only) as session:
        session.add(SettingRow(key="rules", value="{}"))

    assert str(refusal.value) == READ_ONLY
    assert _residents(read_only) == ["Mary Smith"]  # reading still works
    assert _count(database, SettingRow) == 0
    assert quick_check(database) == []


def test_other_database_errors_pass_through_unchanged(database: Database) -> None:
    # SQLite says "UNIQUE constraint failed", PostgreSQL "violates unique constraint".
    with pytest.raises(DatabaseError, match="(?i)unique constraint"), guarded_write(database) as session:
        session.add_all([SettingRow(key="a", value="1"), SettingRow(key="a", value="2")])
        session.flush()


# These go through the real services, and need Database.write() to raise NotSaved as guarded_write does
# (the wiring is in the report of the backups work). Until it is in, they fail with OperationalError.


@pytest.mark.sqlite_only("fills the SQLite file's disk")
def test_wired_a_service_on_a_full_disk_tells_staff_the_change_was_not_saved(
    services: Services, database: Database
) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    _fill_the_disk(database)

    with pytest.raises(NotSaved, match="^This change was NOT saved: the disk holding the database is full"):
        services.inventory.add_many(
            [DeviceDraft(tag=f"LAP-{number:04d}", device_type=DeviceType.LAPTOP) for number in range(1, 2001)]
        )

    with database.read() as session:
        assert list(session.scalars(select(DeviceRow.tag))) == ["TAB-0001"]
    assert quick_check(database) == []


@pytest.mark.sqlite_only("opens the SQLite file read-only")
def test_wired_a_service_on_a_read_only_database_tells_staff_the_change_was_not_saved(
    services: Services, read_only: Database, clock: FakeClock
) -> None:
    services.residents.add(ResidentDraft(name="Mary Smith", phone="0161 474 4444"))
    desk = build_services(read_only, staff=setup_staff("Test Staff"), clock=clock)

    with pytest.raises(NotSaved, match="^This change was NOT saved: the database file is read-only"):
        desk.residents.add(ResidentDraft(name="John Brown", phone="07700 900123"))

    assert [resident.name for resident in desk.residents.search("")] == ["Mary Smith"]
