"""Venue sync against a real PostgreSQL server and venue copies in SQLite files.

These tests need a server by their nature (the server is PostgreSQL; a venue copy is SQLite), so they
take the `postgres_server` fixture directly instead of running once per backend.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.loans import Loan, WipeChecklist, WipeMethod
from digiknow_desk.domain.residents import ConsentPurpose, ResidentDraft
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.services import sync as sync_module
from digiknow_desk.services.data_protection import ANONYMISED_NAME
from digiknow_desk.services.sync import FEED_KEPT_DAYS, REFERENCE_BLOCK, Conflict, SyncService, prune_feed
from digiknow_desk.storage.backup import BackupRefused
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import (
    AuditEntryRow,
    Base,
    LoanRow,
    ResidentRow,
    ResidentSearchTermRow,
    StaffAccountRow,
    SyncFeedRow,
    SyncOutboxRow,
    SyncStateRow,
    TagCounterRow,
)
from digiknow_desk.storage.sync_rows import to_json
from digiknow_desk.storage.sync_triggers import DERIVED, NOT_SHARED, SENT_UP_ONLY

if TYPE_CHECKING:
    from tests.conftest import FakeClock, PostgresServer

WARD = "E05000787"  # Bramhall North
ALL_CHECKS = WipeChecklist(
    accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True
)
# Every shared table (search words are worked out on each side, and must agree too), but the audit
# trail (it only goes up) and staff accounts (each copy keeps its own sign-in counters).
COMPARED = [
    table
    for table in Base.metadata.sorted_tables
    if table.name in DERIVED or table.name not in NOT_SHARED | SENT_UP_ONLY | {"staff_accounts"}
]


@dataclass
class Network:
    """One server with its own desk, and venue copies made from it on demand."""

    url: str
    server: Services
    folder: Path
    clock: FakeClock
    copies: dict[str, Services] = field(default_factory=dict)

    def copy(self, venue: str) -> Services:
        self.server.sync.set_up_venue_copy(venue, self._path(venue), server_url=self.url)
        return self.reopen(venue)

    def reopen(self, venue: str) -> Services:
        """The venue's copy opened (again), as the app does."""
        database = Database("sqlite:///" + self._path(venue).as_posix())
        services = build_services(database, staff=setup_staff(f"Desk at {venue}"), clock=self.clock)
        self.copies[venue] = services
        return services

    def _path(self, venue: str) -> Path:
        return self.folder / f"{venue.replace(' ', '_').lower()}.db"


@pytest.fixture
def network(postgres_server: PostgresServer, tmp_path: Path, clock: FakeClock) -> Iterator[Network]:
    url = postgres_server.new_database(migrated=True)
    server_db = Database(url)
    server = build_services(server_db, staff=setup_staff("Coordinator"), clock=clock)
    server.accounts.create_first_administrator(
        "coordinator", "Coordinator", "kettle violin harbour"
    )  # copies sign in with these
    for name in ("Bramhall Library", "Cheadle Library", "Central Library"):
        server.venues.add(VenueDraft(name=name, ward_code=WARD))
    for number in range(1, 7):
        server.inventory.add(
            DeviceDraft(
                tag=f"TAB-{number:04d}", device_type=DeviceType.TABLET, make="Lenovo", kit=("Charger",)
            )
        )
    for name in ("Mary Smith", "Ahmed Khan", "Jo Brown", "Li Wei"):
        server.residents.add(
            ResidentDraft(name=name, phone="0161 474 4444", postcode="SK7 2AA"), duplicate_checked=True
        )
    made = Network(url, server, tmp_path, clock)
    yield made
    for services in made.copies.values():
        services.database.dispose()
    server_db.dispose()
    postgres_server.drop(url)


def contents(database: Database) -> dict[str, list[str]]:
    """Every shared row, as sorted JSON text per table: equal when two databases agree."""
    with database.read() as session:
        return {
            table.name: sorted(
                json.dumps(to_json(dict(row)), sort_keys=True)
                for row in session.execute(select(table)).mappings()
            )
            for table in COMPARED
        }


def outbox(database: Database) -> list[tuple[int, str, str]]:
    with database.read() as session:
        rows = session.execute(select(SyncOutboxRow.txn, SyncOutboxRow.table_name, SyncOutboxRow.op))
        return [(txn, table, op) for txn, table, op in rows]


def open_loans(database: Database) -> list[uuid.UUID]:
    with database.read() as session:
        return list(session.scalars(select(LoanRow.id).where(LoanRow.closed_at.is_(None))))


def everything_held(database: Database) -> str:
    """Every row of every table, as text: to look for personal data anywhere in a database."""
    with database.read() as session:
        return "\n".join(
            str(tuple(row)) for table in Base.metadata.sorted_tables for row in session.execute(select(table))
        )


def reference_of(services: Services, name: str) -> str:
    with services.database.read() as session:
        found = session.scalar(select(ResidentRow.reference).where(ResidentRow.name == name))
        assert found is not None
        return found


# Setting up a venue copy


def test_a_venue_copy_starts_with_the_servers_data_and_records_each_change_with_its_transaction(
    network: Network,
) -> None:
    bramhall = network.copy("Bramhall Library")

    assert contents(bramhall.database) == contents(network.server.database)
    assert bramhall.sync.status().venue_copy and bramhall.sync.status().venue == "Bramhall Library"
    assert outbox(bramhall.database) == []

    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    recorded = outbox(bramhall.database)
    assert {txn for txn, _table, _op in recorded} == {recorded[0][0]}  # one transaction, one group
    assert ("loans", "insert") in {(table, op) for _txn, table, op in recorded}
    assert ("devices", "update") in {(table, op) for _txn, table, op in recorded}

    with pytest.raises(DomainError):
        bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Ahmed Khan"))  # already on loan
    assert outbox(bramhall.database) == recorded  # a refused change leaves nothing to send


def test_a_venue_copy_needs_the_servers_staff_accounts_to_sign_in_with(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.new_database(migrated=True)
    server = build_services(Database(url), staff=setup_staff("Coordinator"))
    server.venues.add(VenueDraft(name="Bramhall Library", ward_code=WARD))
    path = tmp_path / "bramhall.db"
    try:
        with pytest.raises(DomainError, match="no staff accounts yet.*first administrator on the server"):
            server.sync.set_up_venue_copy("Bramhall Library", path, server_url=url)
        assert not path.exists()
    finally:
        server.database.dispose()
        postgres_server.drop(url)


def test_a_venue_copy_makes_no_accounts_of_its_own(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    with bramhall.database.write() as session:  # as if the server's accounts had not come yet
        session.execute(delete(StaffAccountRow))
    with pytest.raises(DomainError, match="Create the first administrator on the server"):
        bramhall.accounts.create_first_administrator("sam.jones", "Sam Jones", "kettle violin harbour")


def test_a_venue_copy_is_refused_for_an_unknown_venue_or_an_existing_file(network: Network) -> None:
    with pytest.raises(DomainError, match="no venue called 'Nowhere'.*Bramhall Library"):
        network.server.sync.set_up_venue_copy("Nowhere", network.folder / "x.db", server_url=network.url)
    existing = network.folder / "existing.db"
    existing.write_bytes(b"keep me")
    with pytest.raises(DomainError, match="already a file"):
        network.server.sync.set_up_venue_copy("Bramhall Library", existing, server_url=network.url)
    assert existing.read_bytes() == b"keep me"


def test_a_standalone_database_has_nothing_to_sync(services: Services) -> None:
    assert not services.sync.status().venue_copy
    with pytest.raises(DomainError, match="not a venue copy"):
        services.sync.sync("postgresql://nowhere/digiknow")


# Sending and receiving


def test_changes_made_offline_in_two_venues_and_on_the_server_meet_everywhere(network: Network) -> None:
    bramhall, cheadle = network.copy("Bramhall Library"), network.copy("Cheadle Library")
    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    new_resident = cheadle.residents.add(
        ResidentDraft(name="Sam Jones", phone="0161 111 2222", postcode="SK8 1AA"), duplicate_checked=True
    )
    cheadle.lending.issue("TAB-0002", new_resident.reference)
    network.server.lending.issue("TAB-0003", reference_of(network.server, "Jo Brown"))

    first = bramhall.sync.sync()
    second = cheadle.sync.sync()
    third = bramhall.sync.sync()

    assert (first.sent, first.conflicts, second.sent, second.conflicts) == (1, 0, 2, 0)
    assert third.sent == 0 and third.received > 0
    server = contents(network.server.database)
    assert contents(bramhall.database) == server
    assert contents(cheadle.database) == server
    assert len(open_loans(network.server.database)) == 3
    assert outbox(bramhall.database) == [] and outbox(cheadle.database) == []


def test_a_resident_registered_offline_gets_a_reference_from_the_copys_own_block(network: Network) -> None:
    bramhall, cheadle = network.copy("Bramhall Library"), network.copy("Cheadle Library")
    at_bramhall = bramhall.residents.add(
        ResidentDraft(name="Sam Jones", phone="0161 111 2222"), duplicate_checked=True
    )
    at_cheadle = cheadle.residents.add(
        ResidentDraft(name="Kim Lee", phone="0161 111 3333"), duplicate_checked=True
    )
    on_server = network.server.residents.add(
        ResidentDraft(name="Pat Doe", phone="0161 111 4444"), duplicate_checked=True
    )

    assert len({at_bramhall.reference, at_cheadle.reference, on_server.reference}) == 3
    bramhall.sync.sync()
    cheadle.sync.sync()
    assert network.server.residents.get(at_cheadle.reference).name == "Kim Lee"
    assert bramhall.sync.status().references_left == REFERENCE_BLOCK - 1


def test_repeating_a_sync_changes_nothing(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    bramhall.sync.sync()
    before = contents(network.server.database)

    again = bramhall.sync.sync()

    assert (again.sent, again.conflicts) == (0, 0)
    assert contents(network.server.database) == before == contents(bramhall.database)


# Interrupted syncs


class Interrupted(Exception):
    pass


def interrupt(monkeypatch: pytest.MonkeyPatch, name: str, *, after_the_real_one: bool = False) -> None:
    """Make SyncService's step `name` fail once, before or after doing its work."""
    real: Callable[..., Any] = getattr(SyncService, name)
    calls = {"done": False}

    def failing(self: SyncService, *args: Any, **kwargs: Any) -> Any:
        if calls["done"]:
            return real(self, *args, **kwargs)
        calls["done"] = True
        if after_the_real_one:
            real(self, *args, **kwargs)
        raise Interrupted(name)

    monkeypatch.setattr(SyncService, name, failing)


@pytest.mark.parametrize(
    ("step", "after"),
    [
        ("_outbox_after", False),  # before anything was sent
        ("_forget_sent", False),  # the server has the changes; the copy has not yet forgotten them
        ("_receive", False),  # sent, nothing received
        ("_top_up_references", True),  # sent and a block of references taken, nothing received
    ],
)
def test_an_interrupted_sync_resumes_with_nothing_lost_or_doubled(
    network: Network, monkeypatch: pytest.MonkeyPatch, step: str, after: bool
) -> None:
    bramhall = network.copy("Bramhall Library")
    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    bramhall.residents.add(ResidentDraft(name="Sam Jones", phone="0161 111 2222"), duplicate_checked=True)
    network.server.lending.issue("TAB-0002", reference_of(network.server, "Jo Brown"))
    interrupt(monkeypatch, step, after_the_real_one=after)

    with pytest.raises(Interrupted):
        bramhall.sync.sync()
    done = bramhall.sync.sync()

    assert done.conflicts == 0
    assert contents(bramhall.database) == contents(network.server.database)
    assert len(open_loans(network.server.database)) == 2
    with network.server.database.read() as session:
        assert session.scalar(select(func.count()).where(ResidentRow.name == "Sam Jones")) == 1
        issued = session.scalar(select(func.count()).where(AuditEntryRow.action == "loan.issued"))
    assert issued == 2  # the copy's audit entry went up once


# Conflicts


def double_issue(network: Network) -> tuple[Services, Loan, Conflict]:
    """TAB-0001 lent at Bramhall and at Cheadle while both were offline, both synced: Cheadle's copy,
    its loan, and the conflict it is kept in."""
    bramhall, cheadle = network.copy("Bramhall Library"), network.copy("Cheadle Library")
    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    second = cheadle.lending.issue("TAB-0001", reference_of(cheadle, "Ahmed Khan"))
    bramhall.sync.sync()
    cheadle.sync.sync()
    return cheadle, second, network.server.sync.conflicts()[0]


def phone_changed_in_two_places(network: Network) -> tuple[Services, str]:
    """Mary Smith's phone changed at Bramhall (not yet synced), then on the server: the copy, and her
    reference."""
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Mary Smith")
    bramhall.residents.update(reference, ResidentDraft(name="Mary Smith", phone="07700 900123"))
    network.clock.now += timedelta(minutes=1)
    network.server.residents.update(reference, ResidentDraft(name="Mary Smith", phone="0161 000 0000"))
    return bramhall, reference


def test_a_device_issued_at_two_venues_offline_is_one_conflict_with_both_loans_kept(network: Network) -> None:
    bramhall, cheadle = network.copy("Bramhall Library"), network.copy("Cheadle Library")
    first = bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    second = cheadle.lending.issue("TAB-0001", reference_of(cheadle, "Ahmed Khan"))

    bramhall.sync.sync()
    done = cheadle.sync.sync()

    assert done.conflicts == 1
    conflicts = network.server.sync.conflicts()
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict.venue == "Cheadle Library"
    assert "TAB-0001" in conflict.summary and "already on loan" in conflict.summary
    kept_loans = [change.after for change in conflict.changes if change.table == "loans"]
    assert kept_loans and kept_loans[0] is not None and kept_loans[0]["id"] == str(second.id)
    assert open_loans(network.server.database) == [first.id]
    # The report counts the device once, and the Cheadle copy goes back to the server's version.
    assert network.server.lending.count_open() == 1
    assert open_loans(cheadle.database) == [first.id]
    assert contents(cheadle.database) == contents(network.server.database)


def test_resolving_a_double_issue_for_the_venue_needs_the_other_loan_returned_first(network: Network) -> None:
    cheadle, second, conflict = double_issue(network)

    with pytest.raises(DomainError, match="return the other loan first"):
        network.server.sync.resolve(conflict.id, "venue")
    network.server.lending.return_device("TAB-0001")
    network.server.lending.record_wipe("TAB-0001", WipeMethod.FACTORY_RESET, ALL_CHECKS)
    network.clock.now += timedelta(minutes=5)
    resolved = network.server.sync.resolve(conflict.id, "venue")

    assert resolved.resolution == "venue" and resolved.resolved_by == "Coordinator"
    assert open_loans(network.server.database) == [second.id]
    assert network.server.sync.conflicts() == []
    assert len(network.server.sync.conflicts(include_resolved=True)) == 1
    cheadle.sync.sync()
    assert open_loans(cheadle.database) == [second.id]


def test_the_same_resident_edited_in_two_places_is_kept_as_a_conflict_until_resolved(
    network: Network,
) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Mary Smith")
    bramhall.residents.update(
        reference, ResidentDraft(name="Mary Smith", phone="07700 900123", postcode="SK7 2AA")
    )
    network.clock.now += timedelta(minutes=1)
    network.server.residents.update(
        reference, ResidentDraft(name="Mary Smith", phone="0161 000 0000", postcode="SK7 2AA")
    )

    done = bramhall.sync.sync()

    assert done.conflicts == 1
    assert network.server.residents.get(reference).phone == "0161 000 0000"
    assert bramhall.residents.get(reference).phone == "0161 000 0000"  # the copy shows the server's meanwhile
    conflict = network.server.sync.conflicts()[0]
    assert "phone" in conflict.summary
    network.server.sync.resolve(conflict.id, "venue")
    bramhall.sync.sync()
    assert network.server.residents.get(reference).phone == "07700 900123"
    assert bramhall.residents.get(reference).phone == "07700 900123"
    assert contents(bramhall.database) == contents(network.server.database)


def test_keeping_the_venues_version_changes_only_the_fields_the_venue_changed(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Mary Smith")
    bramhall.residents.update(reference, ResidentDraft(name="Mary Smith", phone="07700 900123"))
    network.clock.now += timedelta(minutes=1)
    network.server.residents.update(
        reference, ResidentDraft(name="Mary Smith", phone="0161 000 0000", email="mary@example.org")
    )
    bramhall.sync.sync()
    network.server.residents.update(
        reference,
        ResidentDraft(name="Mary Smith", phone="0161 000 0000", email="mary@example.org", language="Polish"),
    )

    network.server.sync.resolve(network.server.sync.conflicts()[0].id, "venue")

    resident = network.server.residents.get(reference)
    assert (resident.phone, resident.email, resident.language) == (
        "07700 900123",
        "mary@example.org",
        "Polish",
    )


def test_keeping_the_venues_loan_waits_for_the_device_to_be_wiped_and_keeps_the_servers_edits(
    network: Network,
) -> None:
    cheadle, second, conflict = double_issue(network)
    with network.server.database.read() as session:  # Cheadle's issue is on the audit trail already
        assert session.scalar(select(func.count()).where(AuditEntryRow.action == "loan.issued")) == 2
    network.server.lending.return_device("TAB-0001")

    with pytest.raises(DomainError, match="TAB-0001 is now 'Awaiting wipe' on the server.*wiped"):
        network.server.sync.resolve(conflict.id, "venue")
    network.server.lending.record_wipe("TAB-0001", WipeMethod.FACTORY_RESET, ALL_CHECKS)
    device = network.server.inventory.get("TAB-0001")
    network.clock.now += timedelta(minutes=5)
    network.server.inventory.update(
        device.id,
        DeviceDraft(
            tag="TAB-0001", device_type=DeviceType.TABLET, make="Lenovo", kit=("Charger",), notes="Cracked"
        ),
    )
    network.server.sync.resolve(conflict.id, "venue")

    assert open_loans(network.server.database) == [second.id]
    assert network.server.inventory.get("TAB-0001").notes == "Cracked"
    cheadle.sync.sync()
    assert contents(cheadle.database) == contents(network.server.database)


def test_a_device_edited_in_both_places_keeps_one_kit(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    device = network.server.inventory.get("TAB-0004")
    drafted: dict[str, Any] = {"tag": "TAB-0004", "device_type": DeviceType.TABLET, "make": "Lenovo"}
    bramhall.inventory.update(device.id, DeviceDraft(**drafted, kit=("Charger",), notes="Cracked corner"))
    network.clock.now += timedelta(minutes=1)
    network.server.inventory.update(device.id, DeviceDraft(**drafted, kit=("Charger", "Case"), model="M10"))

    assert bramhall.sync.sync().conflicts == 0

    merged = network.server.inventory.get("TAB-0004")
    assert (merged.kit, merged.notes, merged.model) == (("Charger", "Case"), "Cracked corner", "M10")
    assert contents(bramhall.database) == contents(network.server.database)


def test_edits_to_different_fields_of_one_device_both_apply(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    device = network.server.inventory.get("TAB-0004")
    drafted = {"tag": "TAB-0004", "device_type": DeviceType.TABLET, "make": "Lenovo", "kit": ("Charger",)}
    bramhall.inventory.update(device.id, DeviceDraft(**drafted, notes="Cracked corner"))
    network.clock.now += timedelta(minutes=1)
    network.server.inventory.update(device.id, DeviceDraft(**drafted, model="Tab M10"))

    done = bramhall.sync.sync()

    assert done.conflicts == 0
    merged = network.server.inventory.get("TAB-0004")
    assert (merged.notes, merged.model) == ("Cracked corner", "Tab M10")
    assert contents(bramhall.database) == contents(network.server.database)


def test_a_loan_issued_offline_applies_though_the_device_was_edited_on_the_server_meanwhile(
    network: Network,
) -> None:
    bramhall = network.copy("Bramhall Library")
    device = network.server.inventory.get("TAB-0005")
    bramhall.lending.issue("TAB-0005", reference_of(bramhall, "Jo Brown"))
    network.server.inventory.update(
        device.id,
        DeviceDraft(
            tag="TAB-0005", device_type=DeviceType.TABLET, make="Lenovo", kit=("Charger",), notes="New case"
        ),
    )

    assert bramhall.sync.sync().conflicts == 0
    assert network.server.lending.count_open() == 1


# Erasure


def test_an_erasure_on_the_server_reaches_the_copy_at_its_next_sync(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Li Wei")
    bramhall.residents.update(reference, ResidentDraft(name="Li Wei", phone="07700 900999"))
    bramhall.sync.sync()

    network.server.data_protection.erase(reference, "Asked to be forgotten")
    bramhall.sync.sync()

    resident = bramhall.residents.get(reference)
    assert resident.name != "Li Wei" and resident.phone == ""
    with bramhall.database.read() as session:
        resident_id = session.scalar(select(ResidentRow.id).where(ResidentRow.reference == reference))
        assert (
            session.scalar(select(func.count()).where(ResidentSearchTermRow.resident_id == resident_id)) == 0
        )
        details = list(
            session.scalars(select(AuditEntryRow.details).where(AuditEntryRow.resident_id == resident_id))
        )
    assert details and all(text == "" for text in details)
    assert b"Li Wei" not in Path(bramhall.database.display_name).read_bytes()
    with network.server.database.read() as session:
        entries = session.scalar(select(func.count()).select_from(AuditEntryRow))
    assert bramhall.sync.sync().sent == 0  # the copy's own redactions stay on the copy
    with network.server.database.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntryRow)) == entries


def test_a_change_to_a_resident_erased_on_the_server_is_discarded_without_their_details(
    network: Network,
) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Li Wei")
    bramhall.residents.update(reference, ResidentDraft(name="Li Wei", phone="07700 900777"))
    network.server.data_protection.erase(reference, "Asked to be forgotten")

    done = bramhall.sync.sync()

    assert done.conflicts == 1
    assert "Li Wei" not in everything_held(network.server.database)
    assert "07700 900777" not in everything_held(network.server.database)
    assert bramhall.residents.get(reference).phone == ""


def test_what_a_copy_recorded_about_a_resident_erased_meanwhile_arrives_anonymised(network: Network) -> None:
    reference = reference_of(network.server, "Li Wei")
    network.server.residents.update(
        reference, ResidentDraft(name="Li Wei", phone="07700 900999", consents=frozenset(ConsentPurpose))
    )
    bramhall = network.copy("Bramhall Library")
    loan = bramhall.lending.issue("TAB-0001", reference)
    levels = {area: SkillLevel.NOT_YET for area in SkillArea}
    note = "Li Wei's carer rings 07700 111222"
    bramhall.skills.record(
        reference, SkillsCheckDraft(levels=levels, checked_on=date(2026, 3, 14), note=note)
    )
    network.server.lending.issue("TAB-0002", reference)
    network.server.lending.return_device("TAB-0002")
    network.server.data_protection.erase(reference, "Asked to be forgotten")

    done = bramhall.sync.sync()

    # The device went out, so the loan is kept (to the anonymised record); the rest loses their details.
    assert done.conflicts == 0 and loan.id in open_loans(network.server.database)
    held = everything_held(network.server.database)
    assert "Li Wei" not in held and "111222" not in held
    assert network.server.skills.checks_of(reference)[0].note == ""
    assert contents(bramhall.database) == contents(network.server.database)
    assert "Li Wei" not in everything_held(bramhall.database)


def test_an_erasure_clears_a_conflict_kept_before_it_and_keeping_the_venue_cannot_bring_it_back(
    network: Network,
) -> None:
    bramhall, reference = phone_changed_in_two_places(network)
    assert bramhall.sync.sync().conflicts == 1
    assert "07700 900123" in everything_held(network.server.database)

    network.server.data_protection.erase(reference, "Asked to be forgotten")
    assert "07700 900123" not in everything_held(network.server.database)
    conflict = network.server.sync.conflicts()[0]
    assert conflict.changes == () and "data was erased on the server" in conflict.summary
    with pytest.raises(DomainError, match="Nothing of the venue's version is kept.*keep the server's"):
        network.server.sync.resolve(conflict.id, "venue")
    network.server.sync.resolve(conflict.id, "server")

    resident = network.server.residents.get(reference)
    assert (resident.name, resident.phone) == (ANONYMISED_NAME, "")


def test_an_erasure_reaches_the_copys_file_though_the_sync_stopped_before_clearing_it(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Li Wei")
    bramhall.residents.update(reference, ResidentDraft(name="Li Wei", phone="07700 900999"))
    bramhall.sync.sync()
    network.server.data_protection.erase(reference, "Asked to be forgotten")

    def power_cut(database: Database) -> bool:
        raise KeyboardInterrupt("the power went")

    monkeypatch.setattr(sync_module, "clear_freed_text", power_cut)
    with pytest.raises(KeyboardInterrupt):
        bramhall.sync.sync()
    monkeypatch.undo()
    assert bramhall.residents.get(reference).name == ANONYMISED_NAME  # the receive itself was kept
    bramhall.sync.sync()

    files = [Path(bramhall.database.display_name), Path(bramhall.database.display_name + "-wal")]
    held = b"".join(path.read_bytes() for path in files if path.exists())
    assert b"Li Wei" not in held and b"07700 900999" not in held
    with bramhall.database.read() as session:
        assert not session.get(SyncStateRow, 1).clear_file  # type: ignore[union-attr]


def test_a_value_the_server_refuses_is_kept_as_a_conflict_and_later_work_still_goes_up(
    network: Network,
) -> None:
    bramhall = network.copy("Bramhall Library")
    with bramhall.database.write() as session:  # as an older version of the app might have let in
        session.execute(update(ResidentRow).where(ResidentRow.name == "Jo Brown").values(ethnicity="x" * 100))
    loan = bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))

    done = bramhall.sync.sync()

    assert (done.sent, done.conflicts) == (2, 1)
    assert "refused it" in network.server.sync.conflicts()[0].summary
    assert loan.id in open_loans(network.server.database)
    assert bramhall.sync.sync().sent == 0
    assert contents(bramhall.database) == contents(network.server.database)


# What a venue copy leaves to the server


def test_a_venue_copy_runs_out_of_references_only_after_its_block_and_a_sync_brings_more(
    network: Network,
) -> None:
    bramhall = network.copy("Bramhall Library")
    with bramhall.database.write() as session:  # as if the copy had registered all but one of its block
        state = session.get(SyncStateRow, 1)
        counter = session.get(TagCounterRow, "R")
        assert state is not None and counter is not None
        counter.last_number = state.last_reference - 1
    bramhall.residents.add(ResidentDraft(name="Last One", phone="0161 111 0001"), duplicate_checked=True)

    with pytest.raises(DomainError, match="used every resident reference.*Sync"):
        bramhall.residents.add(
            ResidentDraft(name="One Too Many", phone="0161 111 0002"), duplicate_checked=True
        )
    bramhall.sync.sync()
    assert bramhall.sync.status().references_left == REFERENCE_BLOCK
    added = bramhall.residents.add(
        ResidentDraft(name="One Too Many", phone="0161 111 0002"), duplicate_checked=True
    )
    bramhall.sync.sync()
    assert network.server.residents.get(added.reference).name == "One Too Many"


def test_erasure_retention_and_accounts_are_left_to_the_server(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Li Wei")
    with pytest.raises(DomainError, match="Erase residents on the server"):
        bramhall.data_protection.erase(reference, "Asked")
    with pytest.raises(DomainError, match="Retention runs on the server"):
        bramhall.data_protection.run_retention()
    with pytest.raises(DomainError, match="on the server, not on a venue copy"):
        bramhall.accounts.set_idle_lock_minutes(10)
    with pytest.raises(DomainError, match="Print blank labels on the server"):
        bramhall.inventory.reserve_blank_tags(3)
    with pytest.raises(BackupRefused, match="venue copy"):
        bramhall.backups.restore(network.folder / "any-backup.db")
    assert bramhall.residents.get(reference).name == "Li Wei"
    assert outbox(bramhall.database) == []


def test_a_transaction_that_commits_late_on_the_server_still_reaches_the_copy(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(network.server, "Jo Brown")
    with network.server.database.write() as session:  # a slow desk: its change is made, not yet committed
        session.execute(
            update(ResidentRow).where(ResidentRow.reference == reference).values(language="Polish")
        )
        session.flush()
        network.server.residents.update(  # another desk commits meanwhile
            reference_of(network.server, "Mary Smith"),
            ResidentDraft(name="Mary Smith", phone="0161 222 2222", postcode="SK7 2AA"),
        )
        bramhall.sync.sync()
        assert bramhall.residents.get(reference_of(bramhall, "Mary Smith")).phone == "0161 222 2222"
    bramhall.sync.sync()

    assert bramhall.residents.get(reference).language == "Polish"
    assert contents(bramhall.database) == contents(network.server.database)


def test_a_connection_lost_during_a_sync_says_so_and_the_next_sync_finishes(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    bramhall = network.copy("Bramhall Library")
    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    real = SyncService._receive

    def network_gone(self: SyncService, *args: Any) -> int:
        raise OperationalError(
            "SELECT ...", {}, Exception("server closed the connection unexpectedly\nDETAIL")
        )

    monkeypatch.setattr(SyncService, "_receive", network_gone)
    with pytest.raises(
        DomainError, match="connection to the server was lost.*closed the connection.*sync again"
    ):
        bramhall.sync.sync()
    monkeypatch.setattr(SyncService, "_receive", real)

    bramhall.sync.sync()
    assert contents(bramhall.database) == contents(network.server.database)
    assert open_loans(network.server.database) == open_loans(bramhall.database)


def test_a_server_that_refuses_writes_stops_the_sync_with_what_to_do_and_nothing_is_lost(
    network: Network,
) -> None:
    bramhall = network.copy("Bramhall Library")
    loan = bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    name = make_url(network.url).database

    def read_only(on: bool) -> None:
        with network.server.database.write() as session:
            session.execute(
                text(f"ALTER DATABASE {name} SET default_transaction_read_only = {str(on).lower()}")
            )

    read_only(True)
    with pytest.raises(DomainError, match="sync stopped part way.*only lets DigiKnow Desk read"):
        bramhall.sync.sync()
    read_only(False)

    assert bramhall.sync.sync().sent == 1
    assert open_loans(network.server.database) == [loan.id]


def feed_size(network: Network) -> int:
    with network.server.database.read() as session:
        return session.scalar(select(func.count()).select_from(SyncFeedRow)) or 0


def test_the_feed_keeps_what_copies_still_need_and_a_copy_away_too_long_is_told_to_start_afresh(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The horizon is the oldest transaction running anywhere on the server, which other test workers'
    # transactions hold back; only this test writes to its database, so its own transaction will do.
    monkeypatch.setattr(sync_module, "_HORIZON", "SELECT pg_current_xact_id()::text::bigint")
    bramhall, cheadle = network.copy("Bramhall Library"), network.copy("Cheadle Library")
    before_copies = feed_size(network)
    network.server.lending.issue("TAB-0003", reference_of(network.server, "Jo Brown"))

    assert prune_feed(network.server.database, network.clock()) >= before_copies - 1  # made before both
    assert cheadle.sync.sync().received > 0  # what changed since its copy was kept for it
    for _ in range(2):
        bramhall.sync.sync()
        cheadle.sync.sync()
    watched = network.server.sync.latest_change()
    prune_feed(network.server.database, network.clock())
    assert feed_size(network) < before_copies
    assert network.server.sync.latest_change() == watched  # desks watching see no change from pruning
    assert contents(bramhall.database) == contents(network.server.database)

    network.clock.now += timedelta(days=FEED_KEPT_DAYS + 1)
    cheadle.sync.sync()  # Cheadle keeps syncing; Bramhall's laptop stays in a cupboard
    network.server.lending.issue("TAB-0004", reference_of(network.server, "Mary Smith"))
    prune_feed(network.server.database, network.clock())
    assert cheadle.sync.sync().received > 0  # TAB-0004's loan, kept for Cheadle
    loan = bramhall.lending.issue("TAB-0005", reference_of(bramhall, "Ahmed Khan"))

    with pytest.raises(DomainError, match=f"more than {FEED_KEPT_DAYS} days.*on the server now.*venue setup"):
        bramhall.sync.sync()
    assert loan.id in open_loans(network.server.database)  # what was done there still went up


# What a second review found


def retag(server: Services, old: str, new: str) -> None:
    device = server.inventory.get(old)
    server.inventory.update(
        device.id, DeviceDraft(tag=new, device_type=DeviceType.TABLET, make="Lenovo", kit=("Charger",))
    )


def test_tags_swapped_on_the_server_reach_the_copy(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    # The labels went on the wrong tablets: TAB-0001 and TAB-0002 are swapped by way of a spare tag.
    retag(network.server, "TAB-0001", "TAB-0099")
    retag(network.server, "TAB-0002", "TAB-0001")
    retag(network.server, "TAB-0099", "TAB-0002")

    bramhall.sync.sync()

    assert contents(bramhall.database) == contents(network.server.database)


def test_an_edit_made_on_the_servers_version_after_a_conflict_goes_up_whatever_is_kept(
    network: Network,
) -> None:
    bramhall, reference = phone_changed_in_two_places(network)
    assert bramhall.sync.sync().conflicts == 1
    network.clock.now += timedelta(days=1)  # the next day, on the record as the server has it
    bramhall.residents.update(
        reference, ResidentDraft(name="Mary Smith", phone="0161 000 0000", email="mary@example.org")
    )

    assert bramhall.sync.sync().conflicts == 0
    network.server.sync.resolve(network.server.sync.conflicts()[0].id, "server")
    bramhall.sync.sync()

    assert network.server.residents.get(reference).email == "mary@example.org"
    assert bramhall.residents.get(reference).email == "mary@example.org"


def test_an_edit_made_on_the_venues_version_joins_its_conflict_and_is_counted(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Mary Smith")
    bramhall.residents.update(reference, ResidentDraft(name="Mary Smith", phone="07700 900123"))
    bramhall.residents.update(
        reference, ResidentDraft(name="Mary Smith", phone="07700 900123", email="mary@example.org")
    )
    network.clock.now += timedelta(minutes=1)
    network.server.residents.update(reference, ResidentDraft(name="Mary Smith", phone="0161 000 0000"))

    assert bramhall.sync.sync().conflicts == 2  # both edits kept aside, as one conflict
    [conflict] = network.server.sync.conflicts()
    assert [change.table for change in conflict.changes].count("residents") == 2
    network.server.sync.resolve(conflict.id, "venue")
    resident = network.server.residents.get(reference)
    assert (resident.phone, resident.email) == ("07700 900123", "mary@example.org")


def test_a_kept_double_issue_does_not_hold_back_a_later_edit_of_its_resident(network: Network) -> None:
    bramhall, cheadle = network.copy("Bramhall Library"), network.copy("Cheadle Library")
    reference = reference_of(cheadle, "Ahmed Khan")
    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    cheadle.lending.issue("TAB-0001", reference)  # also works out Ahmed's inclusion status again
    bramhall.sync.sync()
    assert cheadle.sync.sync().conflicts == 1
    network.clock.now += timedelta(days=1)
    cheadle.residents.update(reference, ResidentDraft(name="Ahmed Khan", phone="07700 900555"))

    assert cheadle.sync.sync().conflicts == 0
    assert network.server.residents.get(reference).phone == "07700 900555"


def test_erasure_empties_a_conflict_whose_rows_tell_the_residents_story(network: Network) -> None:
    bramhall, cheadle = network.copy("Bramhall Library"), network.copy("Cheadle Library")
    reference = reference_of(cheadle, "Li Wei")
    bramhall.lending.issue("TAB-0001", reference_of(bramhall, "Mary Smith"))
    story = "came in upset, her husband has dementia"
    cheadle.lending.issue(
        "TAB-0001", reference, issued_at=network.clock.now - timedelta(hours=3), late_reason=story
    )
    bramhall.sync.sync()
    assert cheadle.sync.sync().conflicts == 1
    assert story in everything_held(network.server.database)  # in the device's status change too

    network.server.data_protection.erase(reference, "Asked to be forgotten")

    assert story not in everything_held(network.server.database)
    assert "data was erased on the server" in network.server.sync.conflicts()[0].summary


def test_a_copy_file_put_back_from_an_older_copy_is_refused_before_anything_is_lost(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    path = Path(bramhall.database.display_name)
    bramhall.sync.sync()
    bramhall.database.dispose()
    older = path.with_name("older.db")
    shutil.copy(path, older)
    bramhall = network.reopen("Bramhall Library")
    bramhall.lending.issue("TAB-0002", reference_of(bramhall, "Ahmed Khan"))
    bramhall.sync.sync()
    bramhall.database.dispose()
    shutil.copy(older, path)  # the laptop's file put back from the older copy (a cloud drive's, say)
    bramhall = network.reopen("Bramhall Library")
    bramhall.lending.issue("TAB-0005", reference_of(bramhall, "Jo Brown"))
    waiting = outbox(bramhall.database)

    with pytest.raises(
        DomainError, match="put back from an older copy of itself.*Nothing was sent.*venue setup"
    ):
        bramhall.sync.sync()
    assert outbox(bramhall.database) == waiting


def test_an_audit_entry_the_server_refuses_is_noted_and_the_rest_goes_up(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    with bramhall.database.write() as session:  # as an older version of the app might have let in
        session.execute(
            insert(AuditEntryRow).values(
                at=network.clock.now,
                username="x",
                staff_name="y" * 200,
                machine="m",
                action="resident.viewed",
            )
        )
    loan = bramhall.lending.issue("TAB-0002", reference_of(bramhall, "Ahmed Khan"))

    assert bramhall.sync.sync().conflicts == 1
    assert "audit entries could not be stored" in network.server.sync.conflicts()[0].summary
    assert loan.id in open_loans(network.server.database)
    assert bramhall.sync.sync().sent == 0


def test_the_same_kit_line_added_in_two_places_is_a_conflict_not_two_lines(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    device = network.server.inventory.get("TAB-0004")
    drafted: dict[str, Any] = {"tag": "TAB-0004", "device_type": DeviceType.TABLET, "make": "Lenovo"}
    bramhall.inventory.update(device.id, DeviceDraft(**drafted, kit=("Charger", "Case")))
    network.clock.now += timedelta(minutes=1)
    network.server.inventory.update(device.id, DeviceDraft(**drafted, kit=("Charger", "Headphones")))

    assert bramhall.sync.sync().conflicts == 1
    assert "kit was changed on the server" in network.server.sync.conflicts()[0].summary
    assert network.server.inventory.get("TAB-0004").kit == ("Charger", "Headphones")
    assert contents(bramhall.database) == contents(network.server.database)


def test_a_copys_sign_in_counters_stay_its_own_when_the_account_changes_on_the_server(
    network: Network,
) -> None:
    bramhall = network.copy("Bramhall Library")
    with bramhall.database.write() as session:  # three wrong passwords typed at the venue
        session.execute(update(StaffAccountRow).values(failed_sign_ins=3))
    with network.server.database.write() as session:
        session.execute(update(StaffAccountRow).values(display_name="Coordinator (Bramhall)"))

    bramhall.sync.sync()

    with bramhall.database.read() as session:
        account = session.execute(select(StaffAccountRow.display_name, StaffAccountRow.failed_sign_ins)).one()
    assert tuple(account) == ("Coordinator (Bramhall)", 3)


def test_free_text_a_copy_wrote_about_a_resident_erased_meanwhile_goes_whole(network: Network) -> None:
    bramhall = network.copy("Bramhall Library")
    reference = reference_of(bramhall, "Li Wei")
    # Lent and back again while offline: the server never saw the loan, so the erasure went ahead.
    bramhall.lending.issue(
        "TAB-0001",
        reference,
        issued_at=network.clock.now - timedelta(hours=2),
        late_reason="Wei's daughter brought her in",
    )
    bramhall.lending.return_device("TAB-0001", fault="Wei dropped it at her flat on Elm Road")
    network.server.data_protection.erase(reference, "Asked to be forgotten")

    assert bramhall.sync.sync().conflicts == 0

    held = everything_held(network.server.database)
    assert "daughter" not in held and "Elm Road" not in held
    assert len(network.server.lending.loans_of(reference)) == 1  # the loan itself is kept
    assert "Elm Road" not in everything_held(bramhall.database)
