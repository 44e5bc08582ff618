"""The device status state machine: every move allowed or refused with a reason, and kept as history."""

from __future__ import annotations

from datetime import timedelta
from itertools import product
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import DeviceDraft, DeviceStatus, DeviceType, check_transition, manual_moves
from digiknow_desk.domain.errors import InvalidTransition, NotFound, ValidationError
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import DeviceRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock

S = DeviceStatus
# Written out here rather than read from the code, so a change to the rules has to change this test too.
EXPECTED_MOVES: dict[DeviceStatus, set[DeviceStatus]] = {
    S.AVAILABLE: {S.ON_LOAN, S.IN_REPAIR, S.QUARANTINED, S.RETIRED},
    S.ON_LOAN: {S.AWAITING_WIPE, S.QUARANTINED},
    S.AWAITING_WIPE: {S.AVAILABLE, S.IN_REPAIR, S.QUARANTINED, S.RETIRED},
    S.IN_REPAIR: {S.AWAITING_WIPE, S.QUARANTINED, S.RETIRED},
    S.QUARANTINED: {S.AWAITING_WIPE, S.IN_REPAIR, S.RETIRED},
    S.RETIRED: set(),
}
ALL_PAIRS = list(product(DeviceStatus, DeviceStatus))


def _pair_id(pair: tuple[DeviceStatus, DeviceStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def _device_in(services: Services, database: Database, status: DeviceStatus, tag: str = "TAB-0001") -> str:
    """A device with `status`; "on loan" is set in the table, as only the (future) lending desk makes it."""
    if status == S.ON_LOAN:
        services.inventory.add(DeviceDraft(tag=tag, device_type=DeviceType.TABLET))
        with database.write() as session:
            session.execute(update(DeviceRow).where(DeviceRow.tag == tag).values(status=S.ON_LOAN))
    else:
        services.inventory.add(DeviceDraft(tag=tag, device_type=DeviceType.TABLET), status=status)
    return tag


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=_pair_id)
def test_check_transition_allows_exactly_the_expected_moves(pair: tuple[DeviceStatus, DeviceStatus]) -> None:
    current, new = pair
    if new in EXPECTED_MOVES[current]:
        check_transition(current, new)
    else:
        with pytest.raises(InvalidTransition) as refused:
            check_transition(current, new)
        message = str(refused.value)
        assert message.endswith(".")
        assert "  " not in message
        if new == current:
            assert f"already {current.label.lower()}" in message
        elif current == S.RETIRED:
            assert "retired device cannot change status" in message
        else:
            assert f"cannot become {new.label.lower()}" in message
            for allowed in EXPECTED_MOVES[current]:
                assert allowed.label.lower() in message


def test_retired_is_final() -> None:
    for new in DeviceStatus:
        with pytest.raises(InvalidTransition):
            check_transition(S.RETIRED, new)


def _allowed(current: DeviceStatus, new: DeviceStatus) -> bool:
    try:
        check_transition(current, new)
    except InvalidTransition:
        return False
    return True


def test_only_an_available_device_can_be_lent_and_only_a_wipe_makes_one_available() -> None:
    assert {current for current in DeviceStatus if _allowed(current, S.ON_LOAN)} == {S.AVAILABLE}
    assert {current for current in DeviceStatus if _allowed(current, S.AVAILABLE)} == {S.AWAITING_WIPE}
    for current in (S.ON_LOAN, S.IN_REPAIR, S.QUARANTINED):
        with pytest.raises(InvalidTransition, match="only when its wipe is recorded"):
            check_transition(current, S.AVAILABLE)


def test_refusal_gives_the_advice_for_lending() -> None:
    with pytest.raises(InvalidTransition, match="Only an available device can be lent"):
        check_transition(S.IN_REPAIR, S.ON_LOAN)


@pytest.mark.parametrize("pair", [p for p in ALL_PAIRS if p[1] != S.ON_LOAN], ids=_pair_id)
def test_change_status_follows_the_state_machine(
    services: Services, database: Database, pair: tuple[DeviceStatus, DeviceStatus]
) -> None:
    current, new = pair
    tag = _device_in(services, database, current)
    history_before = services.inventory.history(tag)
    if new in EXPECTED_MOVES[current] and (current, new) not in DESK_MOVES:
        device = services.inventory.change_status(tag, new, "Checked at the desk")
        assert device.status == new
        assert services.inventory.get(tag).status == new
        history = services.inventory.history(tag)
        assert history[:-1] == history_before
        assert (history[-1].from_status, history[-1].to_status) == (current, new)
    else:
        with pytest.raises(InvalidTransition):
            services.inventory.change_status(tag, new, "Checked at the desk")
        assert services.inventory.get(tag).status == current
        assert services.inventory.history(tag) == history_before


# The moves that only the lending desk makes (issue, return, loss, wipe), each with its own record.
DESK_MOVES = {
    (S.AVAILABLE, S.ON_LOAN): "issued to a resident at the desk",
    (S.ON_LOAN, S.AWAITING_WIPE): "comes back through Return at the desk",
    (S.ON_LOAN, S.QUARANTINED): "recorded as lost there",
    (S.AWAITING_WIPE, S.AVAILABLE): "when its wipe is recorded",
}


@pytest.mark.parametrize("move", list(DESK_MOVES), ids=_pair_id)
def test_the_desks_own_moves_are_refused_through_change_status(
    services: Services, database: Database, move: tuple[DeviceStatus, DeviceStatus]
) -> None:
    current, new = move
    tag = _device_in(services, database, current)
    with pytest.raises(InvalidTransition, match=DESK_MOVES[move]):
        services.inventory.change_status(tag, new, "By hand")
    assert services.inventory.get(tag).status == current
    assert len(services.inventory.history(tag)) == 1


def test_manual_moves_offer_exactly_the_allowed_moves_less_the_desks() -> None:
    for current in DeviceStatus:
        expected = {new for new in EXPECTED_MOVES[current] if (current, new) not in DESK_MOVES}
        assert set(manual_moves(current)) == expected


def test_a_new_device_cannot_start_on_loan(services: Services) -> None:
    with pytest.raises(ValidationError) as refused:
        services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET), status=S.ON_LOAN)
    assert "cannot start on loan" in refused.value.problems["status"]
    assert services.inventory.find("TAB-0001") is None


@pytest.mark.parametrize("reason", ["", "   \t"])
def test_a_status_change_needs_a_reason(services: Services, reason: str) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    with pytest.raises(ValidationError) as refused:
        services.inventory.change_status("TAB-0001", S.IN_REPAIR, reason)
    assert "Say why" in refused.value.problems["reason"]
    assert services.inventory.get("TAB-0001").status == S.AVAILABLE


def test_changing_an_unknown_device_is_refused(services: Services) -> None:
    with pytest.raises(NotFound, match="No device has the tag 'TAB-0404'"):
        services.inventory.change_status(" tab-0404 ", S.IN_REPAIR, "Broken")


def test_every_change_is_kept_with_who_when_and_why_in_order(
    services: Services, database: Database, clock: FakeClock
) -> None:
    start = clock.now
    services.inventory.add(DeviceDraft(tag="LAP-0007", device_type=DeviceType.LAPTOP))
    moves = [
        (S.IN_REPAIR, "Screen cracked, sent for repair"),
        (S.AWAITING_WIPE, "Repaired by the supplier"),
        (S.QUARANTINED, "Not returned after an event"),
        (S.RETIRED, "Written off"),
    ]
    for hours, (status, reason) in enumerate(moves, start=1):
        clock.now = start + timedelta(hours=hours)
        actor = f"Staff {hours}"
        build_services(database, staff=setup_staff(actor), clock=clock).inventory.change_status(
            "lap-0007 ", status, reason
        )

    history = services.inventory.history("LAP-0007")
    assert [(c.from_status, c.to_status) for c in history] == [
        (None, S.AVAILABLE),
        (S.AVAILABLE, S.IN_REPAIR),
        (S.IN_REPAIR, S.AWAITING_WIPE),
        (S.AWAITING_WIPE, S.QUARANTINED),
        (S.QUARANTINED, S.RETIRED),
    ]
    assert [c.at for c in history] == [start + timedelta(hours=h) for h in range(5)]
    assert all(c.at.utcoffset() == timedelta(0) for c in history)
    assert [c.by for c in history] == ["Test Staff"] + [f"Staff {h}" for h in range(1, 5)]
    assert [c.reason for c in history] == ["Added to the inventory"] + [reason for _s, reason in moves]


def test_history_stays_in_order_when_the_clock_does_not_move(services: Services) -> None:
    # A coarse system timer can give several changes the same timestamp; the order must still hold.
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    statuses = [S.IN_REPAIR, S.QUARANTINED, S.AWAITING_WIPE, S.IN_REPAIR, S.AWAITING_WIPE, S.RETIRED]
    for status in statuses:
        services.inventory.change_status("TAB-0001", status, f"to {status.value}")
    history = services.inventory.history("TAB-0001")
    assert [c.to_status for c in history] == [S.AVAILABLE, *statuses]
    assert [c.at for c in history] == sorted(c.at for c in history)
    assert len({c.at for c in history}) == len(history)


def test_history_stays_in_order_when_the_clock_is_set_back(services: Services, clock: FakeClock) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    clock.now -= timedelta(hours=1)
    services.inventory.change_status("TAB-0001", S.IN_REPAIR, "Battery swollen")
    history = services.inventory.history("TAB-0001")
    assert [c.to_status for c in history] == [S.AVAILABLE, S.IN_REPAIR]
    assert history[0].at < history[1].at


def test_history_of_one_device_holds_only_its_own_changes(services: Services) -> None:
    for tag in ("TAB-0001", "TAB-0002"):
        services.inventory.add(DeviceDraft(tag=tag, device_type=DeviceType.TABLET))
    services.inventory.change_status("TAB-0002", S.IN_REPAIR, "Cracked")
    assert [c.to_status for c in services.inventory.history("TAB-0001")] == [S.AVAILABLE]
    assert [c.to_status for c in services.inventory.history("TAB-0002")] == [S.AVAILABLE, S.IN_REPAIR]
