"""The app's own daily duties: a backup when one is due, and retention, whoever is signed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digiknow_desk.app import Services, run_duties
from digiknow_desk.config import Config
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.staff import Role, StaffMember
from digiknow_desk.services import sync
from digiknow_desk.storage.models import SyncFeedRow
from tests.conftest import FakeClock


def _long_inactive_resident(services: Services, clock: FakeClock) -> str:
    """A resident last seen in January 2023; the clock is then set to March 2026."""
    clock.now = datetime(2023, 1, 10, 10, 0, tzinfo=UTC)
    old = services.residents.add(
        ResidentDraft(name="Olive Oldest", phone="0161 000 0001", consents=frozenset(ConsentPurpose))
    )
    clock.now = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)
    # A Digital Champion at the desk: the duties are the app's, not theirs, so they still run.
    services.desk.staff = StaffMember("champ", "Champ", Role.CHAMPION)
    return old.reference


@pytest.mark.sqlite_only("backs up the SQLite file; on a server see the test below")
def test_duties_back_up_once_a_day_and_anonymise_the_long_inactive(
    services: Services, clock: FakeClock, tmp_path: Path
) -> None:
    config = Config(data_dir=tmp_path, db_url=services.database.url, backup_dir_override=tmp_path / "copies")
    old = _long_inactive_resident(services, clock)

    first = run_duties(services.database, config, clock)
    assert first.backup is not None and first.backup.path.parent == tmp_path / "copies"
    assert first.retention.anonymised == (old,)

    clock.now += timedelta(hours=23)
    assert run_duties(services.database, config, clock).backup is None  # the last is not a day old
    clock.now += timedelta(hours=2)
    again = run_duties(services.database, config, clock)
    assert again.backup is not None and again.retention.anonymised == ()
    assert len(list((tmp_path / "copies").glob("digiknow-*.db"))) == 2


@pytest.mark.postgresql_only("a server database is backed up by the server's own tools")
def test_on_a_server_the_duties_anonymise_the_long_inactive_and_leave_backups_to_the_server(
    services: Services, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The feed's horizon is the oldest transaction anywhere on the server, which other test workers hold
    # back; only this test writes to its database, so its own transaction will do.
    monkeypatch.setattr(sync, "_HORIZON", "SELECT pg_current_xact_id()::text::bigint")
    config = Config(data_dir=tmp_path, db_url=services.database.url, backup_dir_override=tmp_path / "copies")
    old = _long_inactive_resident(services, clock)

    first = run_duties(services.database, config, clock)
    assert (first.backup, first.retention.anonymised) == (None, (old,))
    clock.now += timedelta(days=2)
    assert run_duties(services.database, config, clock).backup is None
    assert not (tmp_path / "copies").exists()
    # With no venue copies, the change feed keeps only its newest entry (that desks watch).
    with services.database.read() as session:
        assert session.scalar(select(func.count()).select_from(SyncFeedRow)) == 1
