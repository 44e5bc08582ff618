"""The waiting list: joining, order and reordering with a reason, offers on wipe, held devices, expiry."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceStatus, DeviceType
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.loans import (
    LendingRules,
    LoanRefused,
    WaitEntry,
    WaitStatus,
    WipeChecklist,
    WipeMethod,
)
from digiknow_desk.domain.residents import Resident, ResidentDraft
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import WaitEventRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CHECKS = WipeChecklist(True, True, True, True)


def _today(clock: FakeClock) -> date:
    """The desk's date for the fake clock (the service reads dates in local time)."""
    return clock.now.astimezone().date()


def _residents(services: Services, *names: str) -> list[Resident]:
    return [
        services.residents.add(ResidentDraft(name=name, phone=f"0161 474 {number:04d}"))
        for number, name in enumerate(names, start=1)
    ]


def _device(services: Services, tag: str, device_type: DeviceType = DeviceType.TABLET) -> None:
    services.inventory.add(DeviceDraft(tag=tag, device_type=device_type, kit=("Charger",)))


def _awaiting_wipe(services: Services, tag: str, device_type: DeviceType = DeviceType.TABLET) -> None:
    """A device of the type just back from a loan to someone not waiting."""
    _device(services, tag, device_type)
    [lender] = _residents(services, f"Borrower {tag}")
    services.lending.issue(tag, lender.reference)
    services.lending.return_device(tag)


def _wipe(services: Services, tag: str) -> WaitEntry | None:
    return services.lending.record_wipe(tag, WipeMethod.FACTORY_RESET, ALL_CHECKS).offered_to


def _names(entries: list[WaitEntry]) -> list[str]:
    return [entry.resident_name for entry in entries]


def _events(database: Database, entry_id: uuid.UUID) -> list[tuple[str, str, str]]:
    with database.read() as session:
        rows = session.scalars(
            select(WaitEventRow).where(WaitEventRow.entry_id == entry_id).order_by(WaitEventRow.at)
        )
        return [(row.what, row.reason, row.by) for row in rows]


# Joining


def test_residents_join_in_order_per_device_type(services: Services, clock: FakeClock) -> None:
    ann, bob, cat = _residents(services, "Ann", "Bob", "Cat")
    first = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.LAPTOP)
    services.lending.join_waiting_list(cat.reference.lower(), DeviceType.TABLET)

    assert first.resident_reference == ann.reference
    assert (first.status, first.position, first.joined_at) == (WaitStatus.WAITING, 1, clock.now)
    assert first.resident_contact == "0161 474 0001"
    assert (first.offered_tag, first.offer_expires_on) == ("", None)
    assert _names(services.lending.waiting_list(DeviceType.TABLET)) == ["Ann", "Cat"]
    assert _names(services.lending.waiting_list(DeviceType.LAPTOP)) == ["Bob"]
    assert len(services.lending.waiting_list()) == 3


def test_a_resident_cannot_join_twice_for_one_type(services: Services) -> None:
    [ann] = _residents(services, "Ann")
    entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    with pytest.raises(LoanRefused, match=f"{ann.reference} is already waiting for a tablet"):
        services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(ann.reference, DeviceType.MIFI)  # another type is fine
    assert len(services.lending.waiting_list(DeviceType.TABLET)) == 1
    # After withdrawing they may join again, at the back.
    services.lending.withdraw_from_waiting_list(entry.id, "Moved away")
    again = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    assert again.id != entry.id


def test_joining_needs_a_known_resident(services: Services) -> None:
    with pytest.raises(NotFound, match="R-00009"):
        services.lending.join_waiting_list("r9", DeviceType.TABLET)


def test_joining_is_recorded(services: Services, database: Database) -> None:
    [ann] = _residents(services, "Ann")
    entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    assert _events(database, entry.id) == [("joined", "", "Test Staff")]


# Reordering and withdrawing


def test_staff_move_a_resident_up_with_a_reason(services: Services, database: Database) -> None:
    ann, bob, cat, dan = _residents(services, "Ann", "Bob", "Cat", "Dan")
    entries = [
        services.lending.join_waiting_list(r.reference, DeviceType.TABLET) for r in (ann, bob, cat, dan)
    ]

    after = services.lending.move_in_waiting_list(entries[2].id, 1, " Care leaver: priority group ")

    assert _names(after) == ["Cat", "Ann", "Bob", "Dan"]
    assert _names(services.lending.waiting_list(DeviceType.TABLET)) == ["Cat", "Ann", "Bob", "Dan"]
    assert _events(database, entries[2].id)[-1] == ("moved to 1", "Care leaver: priority group", "Test Staff")

    services.lending.move_in_waiting_list(entries[2].id, 99, "Has a device from school now")
    assert _names(services.lending.waiting_list(DeviceType.TABLET)) == ["Ann", "Bob", "Dan", "Cat"]


def test_moving_needs_a_reason(services: Services) -> None:
    ann, bob = _residents(services, "Ann", "Bob")
    services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    entry = services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    with pytest.raises(ValidationError) as caught:
        services.lending.move_in_waiting_list(entry.id, 1, "  ")
    assert set(caught.value.problems) == {"reason"}
    assert _names(services.lending.waiting_list()) == ["Ann", "Bob"]


def test_moving_someone_no_longer_waiting_is_refused(services: Services) -> None:
    [ann] = _residents(services, "Ann")
    entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.withdraw_from_waiting_list(entry.id, "Found a device elsewhere")
    with pytest.raises(NotFound, match="no longer waiting"):
        services.lending.move_in_waiting_list(entry.id, 1, "priority")
    with pytest.raises(NotFound):
        services.lending.move_in_waiting_list(uuid.uuid4(), 1, "priority")


def test_moving_keeps_the_place_of_someone_holding_an_offer(services: Services) -> None:
    ann, bob, cat = _residents(services, "Ann", "Bob", "Cat")
    entries = [services.lending.join_waiting_list(r.reference, DeviceType.TABLET) for r in (ann, bob, cat)]
    _awaiting_wipe(services, "TAB-0001")
    _wipe(services, "TAB-0001")  # Ann now holds an offer

    after = services.lending.move_in_waiting_list(entries[2].id, 1, "Priority group")

    assert [(e.resident_name, e.status) for e in after] == [
        ("Ann", WaitStatus.OFFERED),
        ("Cat", WaitStatus.WAITING),
        ("Bob", WaitStatus.WAITING),
    ]
    assert len({entry.position for entry in after}) == 3  # no two entries share a place


def test_withdrawing_takes_a_resident_off_the_list(services: Services, database: Database) -> None:
    ann, bob = _residents(services, "Ann", "Bob")
    entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    services.lending.withdraw_from_waiting_list(entry.id, " Moved out of Stockport ")
    assert _names(services.lending.waiting_list()) == ["Bob"]
    assert _events(database, entry.id)[-1] == ("withdrawn", "Moved out of Stockport", "Test Staff")
    with pytest.raises(NotFound):
        services.lending.withdraw_from_waiting_list(entry.id, "again")


# Offers


def test_a_wiped_device_is_offered_to_the_next_in_line(
    services: Services, clock: FakeClock, database: Database
) -> None:
    ann, bob, lee = _residents(services, "Ann", "Bob", "Lee")
    services.lending.join_waiting_list(lee.reference, DeviceType.LAPTOP)
    ann_entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")

    offered = _wipe(services, "TAB-0001")

    assert offered is not None
    assert (offered.id, offered.status, offered.offered_tag) == (ann_entry.id, WaitStatus.OFFERED, "TAB-0001")
    assert offered.offer_expires_on == _today(clock) + timedelta(days=3)
    assert [(e.resident_name, e.status) for e in services.lending.waiting_list(DeviceType.TABLET)] == [
        ("Ann", WaitStatus.OFFERED),
        ("Bob", WaitStatus.WAITING),
    ]
    assert _events(database, ann_entry.id)[-1] == ("offered", "TAB-0001", "Test Staff")
    # The laptop waiter is not offered a tablet.
    assert services.lending.waiting_list(DeviceType.LAPTOP)[0].status == WaitStatus.WAITING


def test_nobody_waiting_for_the_type_means_no_offer(services: Services) -> None:
    [lee] = _residents(services, "Lee")
    services.lending.join_waiting_list(lee.reference, DeviceType.LAPTOP)
    _awaiting_wipe(services, "TAB-0001")
    assert _wipe(services, "TAB-0001") is None
    assert services.lending.waiting_list(DeviceType.LAPTOP)[0].status == WaitStatus.WAITING


def test_a_held_device_goes_only_to_the_resident_it_is_held_for(
    services: Services, clock: FakeClock, database: Database
) -> None:
    ann, bob, walk_in = _residents(services, "Ann", "Bob", "Walk In")
    ann_entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    _wipe(services, "TAB-0001")

    for other in (bob, walk_in):
        with pytest.raises(LoanRefused, match=f"TAB-0001 is held for {ann.reference} from the waiting list"):
            services.lending.issue("TAB-0001", other.reference)
    assert services.lending.open_loan("TAB-0001") is None

    clock.now += timedelta(days=1)
    loan = services.lending.issue("TAB-0001", ann.reference)

    assert loan.resident_reference == ann.reference
    assert _names(services.lending.waiting_list()) == ["Bob"]  # Ann's entry is fulfilled
    assert _events(database, ann_entry.id)[-1] == ("fulfilled", "TAB-0001", "Test Staff")


def test_issuing_to_someone_waiting_fulfils_their_entry(services: Services, database: Database) -> None:
    ann, bob = _residents(services, "Ann", "Bob")
    services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    bob_entry = services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.MIFI)
    _device(services, "TAB-0001")  # a new device, not held for anyone
    services.lending.issue("TAB-0001", bob.reference)
    # Only the entry for the type lent is fulfilled.
    assert _names(services.lending.waiting_list(DeviceType.TABLET)) == ["Ann"]
    assert _names(services.lending.waiting_list(DeviceType.MIFI)) == ["Bob"]
    assert _events(database, bob_entry.id)[-1][0] == "fulfilled"


def test_a_holder_who_takes_another_device_passes_the_held_one_on(
    services: Services, clock: FakeClock
) -> None:
    ann, bob = _residents(services, "Ann", "Bob")
    services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    _wipe(services, "TAB-0001")  # held for Ann
    _device(services, "TAB-0002")

    services.lending.issue("TAB-0002", ann.reference)

    [bob_entry] = services.lending.waiting_list()
    assert (bob_entry.resident_name, bob_entry.status, bob_entry.offered_tag) == (
        "Bob",
        WaitStatus.OFFERED,
        "TAB-0001",
    )
    assert bob_entry.offer_expires_on == _today(clock) + timedelta(days=3)
    with pytest.raises(LoanRefused, match=f"held for {bob.reference}"):
        services.lending.issue("TAB-0001", ann.reference)


def test_withdrawing_a_holder_passes_the_offer_on(services: Services) -> None:
    ann, bob = _residents(services, "Ann", "Bob")
    ann_entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    _wipe(services, "TAB-0001")
    services.lending.withdraw_from_waiting_list(ann_entry.id, "Does not need it now")
    [bob_entry] = services.lending.waiting_list()
    assert (bob_entry.status, bob_entry.offered_tag) == (WaitStatus.OFFERED, "TAB-0001")
    assert services.lending.issue("TAB-0001", bob.reference).resident_reference == bob.reference


def test_withdrawing_the_last_holder_frees_the_device(services: Services) -> None:
    ann, walk_in = _residents(services, "Ann", "Walk In")
    ann_entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    _wipe(services, "TAB-0001")
    services.lending.withdraw_from_waiting_list(ann_entry.id, "")
    assert services.lending.waiting_list() == []
    assert services.lending.issue("TAB-0001", walk_in.reference).resident_reference == walk_in.reference


# Offers that are not collected


def test_an_offer_not_collected_in_time_passes_to_the_next(
    services: Services, clock: FakeClock, database: Database
) -> None:
    ann, bob, cat = _residents(services, "Ann", "Bob", "Cat")
    ann_entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(cat.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    _wipe(services, "TAB-0001")

    clock.now += timedelta(days=3)  # the last day of the offer: still held
    assert services.lending.expire_offers() == []
    assert services.lending.waiting_list()[0].status == WaitStatus.OFFERED

    clock.now += timedelta(days=1)
    [new_offer] = services.lending.expire_offers()

    assert (new_offer.resident_name, new_offer.status, new_offer.offered_tag) == (
        "Bob",
        WaitStatus.OFFERED,
        "TAB-0001",
    )
    assert new_offer.offer_expires_on == _today(clock) + timedelta(days=3)
    # Ann stays on the list, now behind everyone else, without the offer.
    assert [(e.resident_name, e.status, e.offered_tag) for e in services.lending.waiting_list()] == [
        ("Bob", WaitStatus.OFFERED, "TAB-0001"),
        ("Cat", WaitStatus.WAITING, ""),
        ("Ann", WaitStatus.WAITING, ""),
    ]
    assert _events(database, ann_entry.id)[-1][0] == "offer expired"
    with pytest.raises(LoanRefused, match=f"held for {bob.reference}"):
        services.lending.issue("TAB-0001", ann.reference)
    assert services.lending.expire_offers() == []  # nothing more to pass on today


def test_the_offer_period_is_configurable(services: Services, clock: FakeClock) -> None:
    services.lending.set_rules(LendingRules(offer_days=1))
    ann, bob = _residents(services, "Ann", "Bob")
    services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    offered = _wipe(services, "TAB-0001")
    assert offered is not None and offered.offer_expires_on == _today(clock) + timedelta(days=1)

    clock.now += timedelta(days=2)
    assert _names(services.lending.expire_offers()) == ["Bob"]


def test_an_expired_offer_with_nobody_else_waiting_frees_the_device(
    services: Services, clock: FakeClock
) -> None:
    ann, walk_in = _residents(services, "Ann", "Walk In")
    services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    _wipe(services, "TAB-0001")
    clock.now += timedelta(days=4)
    assert services.lending.expire_offers() == []
    [ann_entry] = services.lending.waiting_list()
    assert (ann_entry.status, ann_entry.offered_tag, ann_entry.offer_expires_on) == (
        WaitStatus.WAITING,
        "",
        None,
    )
    assert services.lending.issue("TAB-0001", walk_in.reference).resident_reference == walk_in.reference


def test_offers_of_several_devices_expire_in_queue_order(services: Services, clock: FakeClock) -> None:
    ann, bob, cat, dan = _residents(services, "Ann", "Bob", "Cat", "Dan")
    for resident in (ann, bob, cat, dan):
        services.lending.join_waiting_list(resident.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    _awaiting_wipe(services, "TAB-0002")
    _wipe(services, "TAB-0001")  # Ann
    _wipe(services, "TAB-0002")  # Bob
    clock.now += timedelta(days=4)

    new_offers = services.lending.expire_offers()

    assert [(e.resident_name, e.offered_tag) for e in new_offers] == [
        ("Cat", "TAB-0001"),
        ("Dan", "TAB-0002"),
    ]
    assert [(e.resident_name, e.status) for e in services.lending.waiting_list()] == [
        ("Cat", WaitStatus.OFFERED),
        ("Dan", WaitStatus.OFFERED),
        ("Ann", WaitStatus.WAITING),
        ("Bob", WaitStatus.WAITING),
    ]


def test_a_held_device_taken_out_of_lending_by_hand_withdraws_the_offer(
    services: Services, database: Database
) -> None:
    ann, bob = _residents(services, "Ann", "Bob")
    ann_entry = services.lending.join_waiting_list(ann.reference, DeviceType.TABLET)
    services.lending.join_waiting_list(bob.reference, DeviceType.TABLET)
    _awaiting_wipe(services, "TAB-0001")
    _wipe(services, "TAB-0001")

    services.inventory.change_status("TAB-0001", DeviceStatus.IN_REPAIR, "Screen cracked")

    # Ann waits again at the front, for the next tablet; nobody holds the one in repair.
    assert [(e.resident_name, e.status, e.offered_tag) for e in services.lending.waiting_list()] == [
        ("Ann", WaitStatus.WAITING, ""),
        ("Bob", WaitStatus.WAITING, ""),
    ]
    assert _events(database, ann_entry.id)[-1] == (
        "offer withdrawn",
        "TAB-0001 is now in repair: Screen cracked",
        "Test Staff",
    )
    _awaiting_wipe(services, "TAB-0002")
    offered = _wipe(services, "TAB-0002")
    assert offered is not None and offered.id == ann_entry.id
