"""`demo-data` with one seed makes the same records on SQLite and PostgreSQL, so the same report can be
compared figure by figure across the two (issue 7)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.reporting.monthly_report import monthly_report_json
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import upgrade_to_head
from digiknow_desk.storage.models import DeviceRow, LoanRow, ResidentRow, SessionRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock, PostgresServer


@pytest.fixture
def both(
    postgres_server: PostgresServer, tmp_path: Path, clock: FakeClock
) -> Iterator[tuple[Services, Services]]:
    file = Database("sqlite:///" + (tmp_path / "demo.db").as_posix())
    upgrade_to_head(file)
    url = postgres_server.new_database(migrated=True)
    server = Database(url)
    yield (
        build_services(file, staff=setup_staff("Demo"), clock=clock),
        build_services(server, staff=setup_staff("Demo"), clock=clock),
    )
    file.dispose()
    server.dispose()
    postgres_server.drop(url)


def records(services: Services) -> dict[str, list[str]]:
    """The demo's records by what people see (tags, references, times), not by their random ids."""
    with services.database.read() as session:
        tag = select(DeviceRow.tag).where(DeviceRow.id == LoanRow.device_id).scalar_subquery()
        reference = (
            select(ResidentRow.reference).where(ResidentRow.id == LoanRow.resident_id).scalar_subquery()
        )
        return {
            "devices": sorted(
                map(str, session.execute(select(DeviceRow.tag, DeviceRow.status, DeviceRow.make)))
            ),
            "residents": sorted(
                map(
                    str,
                    session.execute(
                        select(ResidentRow.reference, ResidentRow.name, ResidentRow.inclusion_status)
                    ),
                )
            ),
            "loans": sorted(
                map(
                    str,
                    session.execute(
                        select(tag, reference, LoanRow.issued_at, LoanRow.closed_at, LoanRow.outcome)
                    ),
                )
            ),
            "sessions": sorted(
                map(
                    str, session.execute(select(SessionRow.held_on, SessionRow.starts_at, SessionRow.minutes))
                )
            ),
        }


def test_one_seed_gives_the_same_records_and_the_same_report_on_sqlite_and_postgresql(
    both: tuple[Services, Services], clock: FakeClock
) -> None:
    on_file, on_server = both
    summaries = [
        services.demo.fill(devices=25, months=3, seed=11, residents=30) for services in (on_file, on_server)
    ]

    assert summaries[0] == summaries[1]
    assert records(on_file) == records(on_server)
    assert records(on_file)["loans"]  # the comparison is of something
    last_month = date(clock.now.year, clock.now.month, 1).replace(day=1)
    reports = [monthly_report_json(services.reports.monthly(last_month)) for services in both]
    # Every figure the same; only the line naming the database differs.
    assert reports[0].pop("database") != reports[1].pop("database")
    assert json.dumps(reports[0], sort_keys=True, indent=1) == json.dumps(
        reports[1], sort_keys=True, indent=1
    )
