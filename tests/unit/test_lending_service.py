"""The lending desk service: issue, return, the wipe gate, renew, overdue, lost or stolen, data plans."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import Condition, Device, DeviceDraft, DeviceStatus, DeviceType
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.loans import (
    DataPlan,
    KitLine,
    LendingRules,
    Loan,
    LoanOutcome,
    LoanRefused,
    WipeChecklist,
    WipeMethod,
)
from digiknow_desk.domain.residents import Resident, ResidentDraft
from digiknow_desk.storage.models import Base, LoanRenewalRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CHECKS = WipeChecklist(
    accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True
)
TABLET_KIT = ("Charger", "Cable", "Case")


def _today(clock: FakeClock) -> date:
    """The desk's date for the fake clock (the service reads dates in local time)."""
    return clock.now.astimezone().date()


def _device(
    services: Services,
    tag: str = "TAB-0001",
    device_type: DeviceType = DeviceType.TABLET,
    kit: tuple[str, ...] = TABLET_KIT,
    status: DeviceStatus = DeviceStatus.AVAILABLE,
) -> Device:
    draft = DeviceDraft(tag=tag, device_type=device_type, make="Lenovo", model="Tab M10", kit=kit)
    return services.inventory.add(draft, status=status)


def _resident(services: Services, name: str = "Mary Smith", phone: str = "0161 474 4444") -> Resident:
    return services.residents.add(ResidentDraft(name=name, phone=phone), duplicate_checked=True)


def _status(services: Services, tag: str) -> DeviceStatus:
    return services.inventory.get(tag).status


def _lend_and_return(services: Services, tag: str, reference: str) -> Loan:
    services.lending.issue(tag, reference)
    return services.lending.return_device(tag)


# Issue


def test_issue_lends_the_device_for_the_default_28_days_with_all_its_kit(
    services: Services, clock: FakeClock
) -> None:
    _device(services)
    mary = _resident(services)

    loan = services.lending.issue("tab-0001", mary.reference.lower())

    assert loan.device_tag == "TAB-0001"
    assert loan.device_type == DeviceType.TABLET
    assert loan.device_description == "Lenovo Tab M10"
    assert (loan.resident_reference, loan.resident_name, loan.resident_contact) == (
        mary.reference,
        "Mary Smith",
        "0161 474 4444",
    )
    assert loan.issued_at == clock.now
    assert loan.due_on == _today(clock) + timedelta(days=28)
    assert loan.issued_by == "Test Staff"
    assert loan.accepted and loan.is_open and loan.renewals == 0 and loan.outcome is None
    assert loan.kit == tuple(KitLine(name, out=True, back=None) for name in TABLET_KIT)
    assert _status(services, "TAB-0001") == DeviceStatus.ON_LOAN
    assert services.inventory.history("TAB-0001")[-1].reason == f"Issued to {mary.reference}"
    assert services.lending.open_loan("TAB-0001") == loan
    assert dataclasses.is_dataclass(loan) and not isinstance(loan, Base)


def test_the_loan_period_is_per_device_type_and_configurable(services: Services, clock: FakeClock) -> None:
    services.lending.set_rules(LendingRules(loan_days={DeviceType.LAPTOP: 14, DeviceType.DATA_SIM: 90}))
    rules = services.lending.rules()
    assert rules.loan_days[DeviceType.LAPTOP] == 14
    assert rules.loan_days[DeviceType.DATA_SIM] == 90
    assert rules.loan_days[DeviceType.TABLET] == 28  # types not set keep the default
    _device(services, "TAB-0001")
    _device(services, "LAP-0001", DeviceType.LAPTOP, kit=("Charger",))
    _device(services, "SIM-0001", DeviceType.DATA_SIM, kit=())
    mary = _resident(services)

    today = _today(clock)
    assert services.lending.issue("TAB-0001", mary.reference).due_on == today + timedelta(days=28)
    assert services.lending.issue("LAP-0001", mary.reference).due_on == today + timedelta(days=14)
    assert services.lending.issue("SIM-0001", mary.reference).due_on == today + timedelta(days=90)


def test_the_rules_are_kept_whole(services: Services) -> None:
    assert services.lending.rules() == LendingRules()
    rules = LendingRules(
        loan_days=dict.fromkeys(DeviceType, 21), renewal_limit=5, offer_days=7, sim_warning_days=30
    )
    services.lending.set_rules(rules)
    assert services.lending.rules() == rules


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (LendingRules(loan_days={DeviceType.TABLET: 0}), "loan_days"),
        (LendingRules(loan_days={DeviceType.TABLET: 366}), "loan_days"),
        (LendingRules(renewal_limit=-1), "renewal_limit"),
        (LendingRules(offer_days=0), "offer_days"),
        (LendingRules(sim_warning_days=91), "sim_warning_days"),
    ],
)
def test_unreasonable_rules_are_refused(services: Services, rules: LendingRules, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.lending.set_rules(rules)
    assert set(caught.value.problems) == {field}
    assert services.lending.rules() == LendingRules()


def test_a_due_date_can_be_chosen_but_not_before_the_loan_starts(
    services: Services, clock: FakeClock
) -> None:
    _device(services)
    mary = _resident(services)
    with pytest.raises(LoanRefused, match="before the loan starts"):
        services.lending.issue("TAB-0001", mary.reference, due_on=_today(clock) - timedelta(days=1))
    assert _status(services, "TAB-0001") == DeviceStatus.AVAILABLE
    due = _today(clock) + timedelta(days=7)
    assert services.lending.issue("TAB-0001", mary.reference, due_on=due).due_on == due


def test_kit_ticked_out_is_recorded_item_by_item(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    loan = services.lending.issue("TAB-0001", mary.reference, kit_out=["charger", "Case"], accepted=False)
    assert loan.kit == (
        KitLine("Charger", out=True, back=None),
        KitLine("Cable", out=False, back=None),
        KitLine("Case", out=True, back=None),
    )
    assert not loan.accepted


def test_kit_the_device_does_not_have_is_refused(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    with pytest.raises(LoanRefused, match="TAB-0001's kit has no Stylus"):
        services.lending.issue("TAB-0001", mary.reference, kit_out=["Charger", "Stylus"])
    assert _status(services, "TAB-0001") == DeviceStatus.AVAILABLE
    assert services.lending.open_loan("TAB-0001") is None
    assert services.lending.loans_of(mary.reference) == []


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (DeviceStatus.IN_REPAIR, "it is in repair"),
        (DeviceStatus.QUARANTINED, "it is quarantined or lost"),
        (DeviceStatus.RETIRED, "it is retired"),
    ],
)
def test_a_device_that_is_not_available_is_refused_with_the_reason(
    services: Services, status: DeviceStatus, reason: str
) -> None:
    _device(services, status=status)
    mary = _resident(services)
    with pytest.raises(LoanRefused, match=f"TAB-0001 cannot be lent: {reason}"):
        services.lending.issue("TAB-0001", mary.reference)
    assert _status(services, "TAB-0001") == status
    assert services.lending.count_open() == 0


def test_a_device_on_loan_or_awaiting_wipe_is_refused_with_the_reason(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    john = _resident(services, "John Brown", "07700 900123")
    services.lending.issue("TAB-0001", mary.reference)
    with pytest.raises(LoanRefused, match="it is already on loan: return it first"):
        services.lending.issue("TAB-0001", john.reference)
    services.lending.return_device("TAB-0001")
    with pytest.raises(LoanRefused, match="awaiting a wipe: record the wipe first"):
        services.lending.issue("TAB-0001", john.reference)
    assert services.lending.loans_of(john.reference) == []


def test_issue_to_an_unknown_device_or_resident_says_which(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    with pytest.raises(NotFound, match="TAB-0099"):
        services.lending.issue("TAB-0099", mary.reference)
    with pytest.raises(NotFound, match="R-00099"):
        services.lending.issue("TAB-0001", "r99")
    assert _status(services, "TAB-0001") == DeviceStatus.AVAILABLE


# Backdating an issue


def test_a_backdated_issue_needs_a_reason_and_dates_the_loan_from_then(
    services: Services, clock: FakeClock
) -> None:
    _device(services)
    mary = _resident(services)
    clock.now += timedelta(days=3)
    saturday = clock.now - timedelta(days=2)
    with pytest.raises(LoanRefused, match="Say why"):
        services.lending.issue("TAB-0001", mary.reference, issued_at=saturday)
    with pytest.raises(LoanRefused, match="Say why"):
        services.lending.issue("TAB-0001", mary.reference, issued_at=saturday, late_reason="   ")
    assert _status(services, "TAB-0001") == DeviceStatus.AVAILABLE

    loan = services.lending.issue(
        "TAB-0001", mary.reference, issued_at=saturday, late_reason=" Desk closed, paper form "
    )
    assert loan.issued_at == saturday
    assert loan.late_reason == "Desk closed, paper form"
    assert loan.due_on == saturday.astimezone().date() + timedelta(days=28)
    assert "recorded late: Desk closed, paper form" in services.inventory.history("TAB-0001")[-1].reason


def test_a_few_minutes_out_is_not_backdating(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    earlier = clock.now - timedelta(minutes=3)
    assert services.lending.issue("TAB-0001", mary.reference, issued_at=earlier).issued_at == earlier


def test_an_issue_cannot_be_in_the_future(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    with pytest.raises(LoanRefused, match="in the future"):
        services.lending.issue(
            "TAB-0001", mary.reference, issued_at=clock.now + timedelta(hours=2), late_reason="typo"
        )
    assert _status(services, "TAB-0001") == DeviceStatus.AVAILABLE


def test_a_backdated_issue_cannot_overlap_the_devices_last_loan(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    john = _resident(services, "John Brown", "07700 900123")
    services.lending.issue("TAB-0001", mary.reference)
    clock.now += timedelta(days=5)
    services.lending.return_device("TAB-0001")
    clock.now += timedelta(days=1)
    services.lending.record_wipe("TAB-0001", WipeMethod.FACTORY_RESET, ALL_CHECKS)
    clock.now += timedelta(days=2)
    # Before the wipe the device was not lendable: a loan then would overlap Mary's.
    with pytest.raises(LoanRefused, match="before TAB-0001 last came back or was wiped"):
        services.lending.issue(
            "TAB-0001", john.reference, issued_at=clock.now - timedelta(days=4), late_reason="forgot"
        )
    loan = services.lending.issue(
        "TAB-0001", john.reference, issued_at=clock.now - timedelta(days=1), late_reason="forgot"
    )
    assert loan.resident_reference == john.reference


def test_a_time_without_a_zone_is_read_as_the_desks_local_time(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    local = (clock.now - timedelta(days=1)).astimezone().replace(tzinfo=None)
    loan = services.lending.issue("TAB-0001", mary.reference, issued_at=local, late_reason="paper form")
    assert loan.issued_at == clock.now - timedelta(days=1)


# Return


def test_return_ticks_back_the_kit_and_the_device_awaits_a_wipe(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    issued = services.lending.issue("TAB-0001", mary.reference)
    clock.now += timedelta(days=20)

    loan = services.lending.return_device("tab-0001")

    assert loan.id == issued.id
    assert not loan.is_open
    assert loan.closed_at == clock.now
    assert loan.outcome == LoanOutcome.RETURNED
    assert loan.kit == tuple(KitLine(name, out=True, back=True) for name in TABLET_KIT)
    assert loan.days_overdue(_today(clock) + timedelta(days=30)) == 0  # a closed loan is never overdue
    assert _status(services, "TAB-0001") == DeviceStatus.AWAITING_WIPE
    assert services.inventory.history("TAB-0001")[-1].reason == "Returned"
    assert services.lending.open_loan("TAB-0001") is None
    assert services.lending.count_open() == 0


def test_a_missing_charger_is_recorded_not_blocking(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    services.lending.issue("TAB-0001", mary.reference, kit_out=["Charger", "Cable"])

    loan = services.lending.return_device("TAB-0001", kit_back=["cable"])

    assert loan.kit == (
        KitLine("Charger", out=True, back=False),
        KitLine("Cable", out=True, back=True),
        KitLine("Case", out=False, back=False),
    )
    assert _status(services, "TAB-0001") == DeviceStatus.AWAITING_WIPE
    assert services.inventory.history("TAB-0001")[-1].reason == "Returned; missing: Charger"


def test_return_records_the_condition_and_any_fault(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    services.lending.issue("TAB-0001", mary.reference)
    loan = services.lending.return_device("TAB-0001", condition=Condition.FAULTY, fault=" Cracked screen ")
    assert (loan.condition_back, loan.fault) == ("faulty", "Cracked screen")
    assert services.inventory.get("TAB-0001").condition == Condition.FAULTY
    assert services.inventory.history("TAB-0001")[-1].reason == "Returned; fault: Cracked screen"
    assert services.lending.loans_of(mary.reference) == [loan]


def test_return_refuses_kit_the_loan_did_not_have(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    services.lending.issue("TAB-0001", mary.reference)
    with pytest.raises(LoanRefused, match="kit has no Chargr"):
        services.lending.return_device("TAB-0001", kit_back=["Chargr", "Cable"])
    assert services.lending.open_loan("TAB-0001") is not None
    assert _status(services, "TAB-0001") == DeviceStatus.ON_LOAN


def test_returning_a_device_not_on_loan_is_refused(services: Services) -> None:
    _device(services)
    with pytest.raises(LoanRefused, match="TAB-0001 is not on loan"):
        services.lending.return_device("TAB-0001")
    with pytest.raises(NotFound):
        services.lending.return_device("TAB-0099")


def test_a_backdated_return_needs_a_reason_and_cannot_be_before_the_issue(
    services: Services, clock: FakeClock
) -> None:
    _device(services)
    mary = _resident(services)
    issued = services.lending.issue("TAB-0001", mary.reference)
    clock.now += timedelta(days=10)
    saturday = clock.now - timedelta(days=2)

    with pytest.raises(LoanRefused, match="Say why"):
        services.lending.return_device("TAB-0001", returned_at=saturday)
    with pytest.raises(LoanRefused, match="before the loan was issued"):
        services.lending.return_device(
            "TAB-0001", returned_at=issued.issued_at - timedelta(hours=1), late_reason="dropped off"
        )
    with pytest.raises(LoanRefused, match="in the future"):
        services.lending.return_device(
            "TAB-0001", returned_at=clock.now + timedelta(days=1), late_reason="dropped off"
        )
    assert services.lending.open_loan("TAB-0001") is not None

    loan = services.lending.return_device(
        "TAB-0001", returned_at=saturday, late_reason="Posted through the letterbox"
    )
    assert loan.closed_at == saturday
    assert loan.late_reason == "returned late: Posted through the letterbox"
    assert _status(services, "TAB-0001") == DeviceStatus.AWAITING_WIPE


# The wipe gate


def test_a_returned_device_is_lendable_only_after_its_wipe(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    john = _resident(services, "John Brown", "07700 900123")
    _lend_and_return(services, "TAB-0001", mary.reference)
    with pytest.raises(LoanRefused, match="awaiting a wipe"):
        services.lending.issue("TAB-0001", john.reference)
    clock.now += timedelta(hours=1)

    result = services.lending.record_wipe("TAB-0001", WipeMethod.MDM_WIPE, ALL_CHECKS, notes=" Intune ")

    assert result.offered_to is None  # nobody is waiting
    assert (result.wipe.device_tag, result.wipe.method, result.wipe.wiped_by) == (
        "TAB-0001",
        WipeMethod.MDM_WIPE,
        "Test Staff",
    )
    assert result.wipe.wiped_at == clock.now
    assert result.wipe.checklist == ALL_CHECKS
    assert result.wipe.notes == "Intune"
    assert services.lending.last_wipe("tab-0001") == result.wipe
    assert _status(services, "TAB-0001") == DeviceStatus.AVAILABLE
    assert services.inventory.history("TAB-0001")[-1].reason == "Wiped (MDM wipe)"
    assert services.lending.issue("TAB-0001", john.reference).resident_reference == john.reference


@pytest.mark.parametrize("unticked", [field.name for field in dataclasses.fields(WipeChecklist)])
def test_every_wipe_check_is_required(services: Services, unticked: str) -> None:
    _device(services)
    mary = _resident(services)
    _lend_and_return(services, "TAB-0001", mary.reference)
    checklist = dataclasses.replace(ALL_CHECKS, **{unticked: False})
    with pytest.raises(LoanRefused, match="Before the device can be lent again, tick: ") as caught:
        services.lending.record_wipe("TAB-0001", WipeMethod.FACTORY_RESET, checklist)
    assert checklist.missing()[0] in str(caught.value)
    assert _status(services, "TAB-0001") == DeviceStatus.AWAITING_WIPE
    with pytest.raises(NotFound, match="No wipe has been recorded for TAB-0001"):
        services.lending.last_wipe("TAB-0001")


def test_the_missing_checks_are_all_named() -> None:
    assert WipeChecklist(False, True, False, True).missing() == [
        "accounts signed out",
        "preloaded apps restored",
    ]
    assert ALL_CHECKS.missing() == []


def test_only_a_device_awaiting_a_wipe_can_be_wiped(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    with pytest.raises(LoanRefused, match="TAB-0001 is available, not awaiting a wipe"):
        services.lending.record_wipe("TAB-0001", WipeMethod.FACTORY_RESET, ALL_CHECKS)
    services.lending.issue("TAB-0001", mary.reference)
    with pytest.raises(LoanRefused, match="TAB-0001 is on loan, not awaiting a wipe"):
        services.lending.record_wipe("TAB-0001", WipeMethod.FACTORY_RESET, ALL_CHECKS)
    assert _status(services, "TAB-0001") == DeviceStatus.ON_LOAN


def test_a_device_back_from_repair_goes_through_a_wipe(services: Services) -> None:
    _device(services, status=DeviceStatus.IN_REPAIR)
    services.inventory.change_status("TAB-0001", DeviceStatus.AWAITING_WIPE, "Screen replaced")
    services.lending.record_wipe("TAB-0001", WipeMethod.POWERWASH, ALL_CHECKS)
    assert _status(services, "TAB-0001") == DeviceStatus.AVAILABLE


# Renew


def test_renewing_before_the_due_date_extends_from_the_due_date(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    issued = services.lending.issue("TAB-0001", mary.reference)
    clock.now += timedelta(days=20)
    renewed = services.lending.renew("TAB-0001")
    assert renewed.due_on == issued.due_on + timedelta(days=28)
    assert renewed.renewals == 1
    assert services.lending.open_loan("TAB-0001") == renewed


def test_renewing_an_overdue_loan_extends_from_today(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    services.lending.issue("TAB-0001", mary.reference)
    clock.now += timedelta(days=40)  # 12 days overdue
    assert services.lending.renew("TAB-0001").due_on == _today(clock) + timedelta(days=28)


def test_renewal_uses_the_device_types_period(services: Services) -> None:
    services.lending.set_rules(LendingRules(loan_days={DeviceType.LAPTOP: 14}))
    _device(services, "LAP-0001", DeviceType.LAPTOP, kit=())
    mary = _resident(services)
    issued = services.lending.issue("LAP-0001", mary.reference)
    assert services.lending.renew("LAP-0001").due_on == issued.due_on + timedelta(days=14)


def test_renewals_stop_at_the_limit(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    services.lending.issue("TAB-0001", mary.reference)
    services.lending.renew("TAB-0001")
    assert services.lending.renew("TAB-0001").renewals == 2
    with pytest.raises(LoanRefused, match="renewed 2 times, the limit"):
        services.lending.renew("TAB-0001")
    assert services.lending.open_loan("TAB-0001").renewals == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_the_renewal_limit_is_configurable(services: Services, limit: int) -> None:
    services.lending.set_rules(LendingRules(renewal_limit=limit))
    _device(services)
    mary = _resident(services)
    services.lending.issue("TAB-0001", mary.reference)
    for _ in range(limit):
        services.lending.renew("TAB-0001")
    with pytest.raises(LoanRefused, match="the limit"):
        services.lending.renew("TAB-0001")


def test_renewing_a_device_not_on_loan_is_refused(services: Services) -> None:
    _device(services)
    with pytest.raises(LoanRefused, match="not on loan"):
        services.lending.renew("TAB-0001")


def _renewals(services: Services) -> list[tuple[object, ...]]:
    """Every dated renewal as stored: (loan, when, due before, due after, by whom), oldest first."""
    with services.database.read() as session:
        rows = session.scalars(select(LoanRenewalRow).order_by(LoanRenewalRow.renewed_at))
        return [(r.loan_id, r.renewed_at, r.due_before, r.due_after, r.renewed_by) for r in rows]


def test_each_renewal_is_dated_with_who_made_it_and_the_due_dates(
    services: Services, clock: FakeClock
) -> None:
    _device(services)
    mary = _resident(services)
    issued = services.lending.issue("TAB-0001", mary.reference)
    assert _renewals(services) == []
    clock.now += timedelta(days=20)
    first = services.lending.renew("TAB-0001")
    first_at = clock.now
    clock.now += timedelta(days=40)  # overdue by now: the second renewal runs from today
    second = services.lending.renew("TAB-0001")
    assert _renewals(services) == [
        (issued.id, first_at, issued.due_on, first.due_on, "Test Staff"),
        (issued.id, clock.now, first.due_on, second.due_on, "Test Staff"),
    ]
    assert second.due_on == _today(clock) + timedelta(days=28)


def test_a_refused_renewal_leaves_no_record(services: Services) -> None:
    services.lending.set_rules(LendingRules(renewal_limit=1))
    _device(services)
    _device(services, "TAB-0002")
    mary = _resident(services)
    services.lending.issue("TAB-0001", mary.reference)
    services.lending.renew("TAB-0001")
    with pytest.raises(LoanRefused, match="the limit"):
        services.lending.renew("TAB-0001")
    with pytest.raises(LoanRefused, match="not on loan"):
        services.lending.renew("TAB-0002")
    assert len(_renewals(services)) == 1


# Overdue, open loans and a resident's loans


def test_the_overdue_list_shows_days_overdue_and_how_to_contact(services: Services, clock: FakeClock) -> None:
    for number in range(1, 5):
        _device(services, f"TAB-000{number}")
    mary = _resident(services)
    ann = services.residents.add(ResidentDraft(name="Ann Jones", email="ann@example.org"))
    today = _today(clock)
    services.lending.issue("TAB-0001", mary.reference, due_on=today + timedelta(days=1))
    services.lending.issue("TAB-0002", ann.reference, due_on=today + timedelta(days=10))
    services.lending.issue("TAB-0003", mary.reference, due_on=today + timedelta(days=5))
    services.lending.issue("TAB-0004", mary.reference, due_on=today + timedelta(days=2))
    assert services.lending.overdue() == []

    clock.now += timedelta(days=12)
    services.lending.return_device("TAB-0004")  # overdue, but back: not on the list
    overdue = services.lending.overdue()

    later = _today(clock)
    assert [(loan.device_tag, loan.days_overdue(later)) for loan in overdue] == [
        ("TAB-0001", 11),
        ("TAB-0003", 7),
        ("TAB-0002", 2),
    ]
    assert [loan.resident_contact for loan in overdue] == [
        "0161 474 4444",
        "0161 474 4444",
        "ann@example.org",
    ]
    # Due today is not yet overdue.
    assert [loan.device_tag for loan in services.lending.overdue(today + timedelta(days=10))] == [
        "TAB-0001",
        "TAB-0003",
    ]


def test_open_loans_page_in_due_date_order(services: Services, clock: FakeClock) -> None:
    mary = _resident(services)
    today = _today(clock)
    for number in range(1, 8):
        _device(services, f"TAB-000{number}")
        # Due dates in a different order from the tags: 7, 6, ... days ahead.
        services.lending.issue(f"TAB-000{number}", mary.reference, due_on=today + timedelta(days=8 - number))
    services.lending.return_device("TAB-0004")

    pages = [services.lending.open_loans(limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [[loan.device_tag for loan in page] for page in pages] == [
        ["TAB-0007", "TAB-0006"],
        ["TAB-0005", "TAB-0003"],
        ["TAB-0002", "TAB-0001"],
        [],
    ]
    assert services.lending.count_open() == 6
    due_by = today + timedelta(days=3)
    assert [loan.device_tag for loan in services.lending.open_loans(due_by=due_by)] == [
        "TAB-0007",
        "TAB-0006",
        "TAB-0005",
    ]
    assert services.lending.count_open(due_by=due_by) == 3


def test_loan_blocks_follow_on_by_keyset_with_the_same_count(services: Services, clock: FakeClock) -> None:
    mary = _resident(services)
    today = _today(clock)
    for number in range(1, 8):
        _device(services, f"TAB-000{number}")
        # Two loans share each due date, so the block boundary falls between equal due dates.
        services.lending.issue(f"TAB-000{number}", mary.reference, due_on=today + timedelta(days=number // 2))
        clock.now += timedelta(minutes=10)
    services.lending.return_device("TAB-0004")

    def every_block(**filters: object) -> list[str]:
        tags: list[str] = []
        block = services.lending.loan_block(limit=2, **filters)  # type: ignore[arg-type]
        while block:
            tags.extend(loan.device_tag for loan in block)
            block = services.lending.loan_block(block[-1], limit=2, **filters)  # type: ignore[arg-type]
        return tags

    open_tags = every_block()
    assert open_tags == [loan.device_tag for loan in services.lending.open_loans()]
    assert sorted(open_tags) == ["TAB-0001", "TAB-0002", "TAB-0003", "TAB-0005", "TAB-0006", "TAB-0007"]
    assert services.lending.count_loans() == 6
    # Every loan, returned too, newest issued first.
    assert every_block(include_returned=True) == [f"TAB-000{number}" for number in range(7, 0, -1)]
    assert services.lending.count_loans(include_returned=True) == 7
    due = {"due_from": today + timedelta(days=1), "due_by": today + timedelta(days=2)}
    assert sorted(every_block(**due)) == ["TAB-0002", "TAB-0003", "TAB-0005"]
    assert services.lending.count_loans(**due) == 3  # type: ignore[arg-type]


def test_loans_of_a_resident_newest_first_open_and_closed(services: Services, clock: FakeClock) -> None:
    _device(services, "TAB-0001")
    _device(services, "TAB-0002")
    mary = _resident(services)
    john = _resident(services, "John Brown", "07700 900123")
    first = services.lending.issue("TAB-0001", mary.reference)
    clock.now += timedelta(days=1)
    services.lending.issue("TAB-0002", john.reference)
    clock.now += timedelta(days=1)
    returned = services.lending.return_device("TAB-0001")
    services.lending.record_wipe("TAB-0001", WipeMethod.FACTORY_RESET, ALL_CHECKS)
    clock.now += timedelta(days=1)
    second = services.lending.issue("TAB-0001", mary.reference)

    assert services.lending.loans_of(mary.reference) == [second, returned]
    assert returned.id == first.id
    assert [loan.device_tag for loan in services.lending.loans_of(john.reference)] == ["TAB-0002"]
    with pytest.raises(NotFound):
        services.lending.loans_of("R-00099")


# Lost or stolen


def test_a_stolen_device_closes_the_loan_and_is_quarantined(services: Services, clock: FakeClock) -> None:
    _device(services)
    mary = _resident(services)
    john = _resident(services, "John Brown", "07700 900123")
    services.lending.issue("TAB-0001", mary.reference)
    clock.now += timedelta(days=3)

    loan = services.lending.record_lost("TAB-0001", LoanOutcome.STOLEN, " Crime ref 123 ")

    assert (loan.outcome, loan.closed_at, loan.fault) == (LoanOutcome.STOLEN, clock.now, "Crime ref 123")
    assert _status(services, "TAB-0001") == DeviceStatus.QUARANTINED
    assert services.inventory.history("TAB-0001")[-1].reason == "Stolen: Crime ref 123"
    assert services.lending.count_open() == 0
    with pytest.raises(LoanRefused, match="quarantined or lost"):
        services.lending.issue("TAB-0001", john.reference)


def test_lost_needs_a_reason_and_a_loan(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    with pytest.raises(LoanRefused, match="not on loan"):
        services.lending.record_lost("TAB-0001", LoanOutcome.LOST, "Left on a bus")
    services.lending.issue("TAB-0001", mary.reference)
    with pytest.raises(ValidationError) as caught:
        services.lending.record_lost("TAB-0001", LoanOutcome.LOST, "  ")
    assert set(caught.value.problems) == {"reason"}
    with pytest.raises(LoanRefused, match="Use Return"):
        services.lending.record_lost("TAB-0001", LoanOutcome.RETURNED, "came back")
    assert services.lending.open_loan("TAB-0001") is not None
    assert _status(services, "TAB-0001") == DeviceStatus.ON_LOAN
    assert (
        services.lending.record_lost("TAB-0001", LoanOutcome.LOST, "Left on a bus").outcome
        == LoanOutcome.LOST
    )


# Data plans


def _plan(expires_on: date | None, activated_on: date | None = None) -> DataPlan:
    return DataPlan(
        network="Vodafone",
        source="National Databank",
        allowance="20 GB a month",
        activated_on=activated_on,
        expires_on=expires_on,
    )


def test_a_data_plan_goes_with_sims_mifis_and_phones_only(services: Services, clock: FakeClock) -> None:
    _device(services, "SIM-0001", DeviceType.DATA_SIM, kit=())
    _device(services, "TAB-0001")
    plan = _plan(_today(clock) + timedelta(days=180), activated_on=_today(clock))
    assert services.lending.data_plan("SIM-0001") is None
    services.lending.set_data_plan("sim-0001", plan)
    assert services.lending.data_plan("SIM-0001") == plan
    changed = dataclasses.replace(plan, allowance="Unlimited")
    services.lending.set_data_plan("SIM-0001", changed)
    assert services.lending.data_plan("SIM-0001") == changed
    with pytest.raises(LoanRefused, match="data plans go with SIMs, MiFis and phones"):
        services.lending.set_data_plan("TAB-0001", plan)
    with pytest.raises(ValidationError) as caught:
        services.lending.set_data_plan(
            "SIM-0001", _plan(_today(clock), activated_on=_today(clock) + timedelta(1))
        )
    assert set(caught.value.problems) == {"expires_on"}


def test_the_desk_warns_about_sims_on_loan_expiring_within_14_days(
    services: Services, clock: FakeClock
) -> None:
    today = _today(clock)
    mary = _resident(services)
    for tag, days in (("SIM-0001", 14), ("SIM-0002", 15), ("SIM-0003", 3), ("SIM-0004", 5), ("SIM-0005", 1)):
        _device(services, tag, DeviceType.DATA_SIM, kit=())
        services.lending.set_data_plan(tag, _plan(today + timedelta(days=days)))
    _device(services, "MIF-0001", DeviceType.MIFI, kit=())
    services.lending.set_data_plan("MIF-0001", _plan(None))  # no expiry: never warned about
    for tag in ("SIM-0001", "SIM-0002", "SIM-0004", "SIM-0005", "MIF-0001"):
        services.lending.issue(tag, mary.reference)
    services.lending.return_device("SIM-0005")  # back at the desk: no warning
    # SIM-0003 expires soonest but is not on loan.

    warned = services.lending.sims_expiring()
    assert [(loan.device_tag, plan.expires_on) for loan, plan in warned] == [
        ("SIM-0004", today + timedelta(days=5)),
        ("SIM-0001", today + timedelta(days=14)),
    ]
    assert all(plan.expires_within(today, 14) for _loan, plan in warned)
    assert warned[0][0].resident_reference == mary.reference

    clock.now += timedelta(days=1)  # SIM-0002 now expires in 14 days
    assert [loan.device_tag for loan, _plan_ in services.lending.sims_expiring()] == [
        "SIM-0004",
        "SIM-0001",
        "SIM-0002",
    ]


def test_the_sim_warning_period_is_configurable(services: Services, clock: FakeClock) -> None:
    today = _today(clock)
    mary = _resident(services)
    _device(services, "SIM-0001", DeviceType.DATA_SIM, kit=())
    services.lending.set_data_plan("SIM-0001", _plan(today + timedelta(days=25)))
    services.lending.issue("SIM-0001", mary.reference)
    assert services.lending.sims_expiring() == []
    services.lending.set_rules(LendingRules(sim_warning_days=30))
    assert [loan.device_tag for loan, _plan_ in services.lending.sims_expiring()] == ["SIM-0001"]


def test_an_expired_sim_on_loan_is_still_warned_about(services: Services, clock: FakeClock) -> None:
    mary = _resident(services)
    _device(services, "SIM-0001", DeviceType.DATA_SIM, kit=())
    services.lending.set_data_plan("SIM-0001", _plan(_today(clock) + timedelta(days=3)))
    services.lending.issue("SIM-0001", mary.reference)
    clock.now += timedelta(days=10)
    assert [loan.device_tag for loan, _plan_ in services.lending.sims_expiring()] == ["SIM-0001"]


def test_records_carry_timezone_aware_times(services: Services) -> None:
    _device(services)
    mary = _resident(services)
    loan = services.lending.issue("TAB-0001", mary.reference)
    assert loan.issued_at.tzinfo is not None
    assert loan.issued_at == datetime(2026, 3, 14, 10, 30, tzinfo=UTC)
