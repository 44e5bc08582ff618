"""Demo data: reproducible from its seed, shaped like Stockport's device library and its Digital
Champions' work, and plausible."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Row, func, select

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import Device, DeviceFilter, DeviceStatus, DeviceType
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.loans import Loan, LoanOutcome, ReasonMet, WaitStatus
from digiknow_desk.domain.residents import (
    YOUNG_AGE_BANDS,
    AgeBand,
    Answer,
    ConsentPurpose,
    ReferralReason,
    Resident,
)
from digiknow_desk.domain.sessions import ALL_TOPICS, HoursKind, Session, SessionFilter, SessionKind
from digiknow_desk.domain.skills import SkillArea
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.services.demo import (
    BULK_RESIDENTS,
    CARE_LEAVER_PRIORITY,
    DEFAULT_RESIDENTS,
    DEMO_VENUES,
    MAX_SESSIONS,
    DemoSummary,
)
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import upgrade_to_head
from digiknow_desk.storage.models import (
    ChampionHoursRow,
    InclusionChangeRow,
    LoanRenewalRow,
    LoanRow,
    ResidentRow,
    SessionRow,
    SkillsCheckRow,
    WaitEntryRow,
    WaitEventRow,
)

if TYPE_CHECKING:
    from tests.conftest import FakeClock

TODAY = date(2026, 3, 14)  # conftest's FIXED_NOW
NewDatabase = Callable[[str], Database]  # conftest's new_database: a migrated database of the test's backend


def _all(services: Services) -> list[Device]:
    every = DeviceFilter()
    return services.inventory.search(every, limit=services.inventory.count(every) + 1)


def _fingerprint(device: Device) -> tuple[object, ...]:
    return (
        device.tag,
        device.device_type,
        device.make,
        device.model,
        device.serial,
        device.os,
        device.status,
        device.condition,
        device.source,
        device.acquired_on,
        device.home_venue_name,
        device.current_venue_name,
        device.kit,
    )


def _fill_fresh(database: Database, clock: FakeClock, **options: int) -> list[tuple[object, ...]]:
    services = build_services(database, staff=setup_staff("Demo"), clock=clock)
    services.demo.fill(**options)
    return [_fingerprint(device) for device in _all(services)]


def _luhn_ok(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def test_the_same_seed_gives_the_same_data(new_database: NewDatabase, clock: FakeClock) -> None:
    first = _fill_fresh(new_database("a.db"), clock, devices=120, seed=7)
    second = _fill_fresh(new_database("b.db"), clock, devices=120, seed=7)
    assert len(first) == 120
    assert first == second
    other = _fill_fresh(new_database("c.db"), clock, devices=120, seed=8)
    assert [device[4] for device in other] != [device[4] for device in first]


def test_the_default_stock_mix_is_stockports(services: Services) -> None:
    summary = services.demo.fill()
    assert (summary.venues_added, summary.devices_added) == (10, 302)
    types = Counter(device.device_type for device in _all(services))
    assert types[DeviceType.LAPTOP] + types[DeviceType.CHROMEBOOK] == 110
    assert 0 < types[DeviceType.CHROMEBOOK] < types[DeviceType.LAPTOP]
    assert types[DeviceType.TABLET] == 84
    assert types[DeviceType.MIFI] == 83
    assert types[DeviceType.PHONE] == 25
    assert sum(types.values()) == 302


@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 50, 303, 1000])
def test_fill_adds_exactly_the_devices_asked_for(services: Services, count: int) -> None:
    assert services.demo.fill(devices=count, seed=3).devices_added == count
    devices = _all(services)
    assert len(devices) == count
    if count >= 1000:
        types = Counter(device.device_type for device in devices)
        for device_type, share in ((DeviceType.TABLET, 84), (DeviceType.MIFI, 83), (DeviceType.PHONE, 25)):
            assert abs(types[device_type] - count * share / 302) <= 1


def test_tags_run_on_per_type_from_the_stock_already_there(services: Services) -> None:
    services.demo.fill(devices=302)
    tags = {device.tag for device in _all(services)}
    assert {"LAP-0083", "CHR-0027", "TAB-0084", "MIF-0083", "PHN-0025"} <= tags
    assert "TAB-0085" not in tags
    assert services.inventory.next_tag(DeviceType.TABLET) == "TAB-0085"


def test_a_second_fill_adds_more_without_clashing(services: Services) -> None:
    services.demo.fill(devices=60)
    second = services.demo.fill(devices=60)
    assert (second.venues_added, second.devices_added) == (0, 60)
    devices = _all(services)
    assert len(devices) == 120
    assert len({device.tag for device in devices}) == 120
    assert len({device.serial for device in devices}) == 120
    assert len(services.venues.venues()) == 10


def test_venues_are_real_libraries_in_real_wards(services: Services) -> None:
    services.demo.fill(devices=50)
    ward_codes = {ward.code for ward in services.venues.wards()}
    venues = services.venues.venues()
    assert len(venues) == 10
    assert {venue.ward_code for venue in venues} <= ward_codes
    names = {venue.name: venue.ward_name for venue in venues}
    assert names["Reddish Library"] == "Reddish North"
    assert names["Edgeley Library"] == "Edgeley and Cheadle Heath"
    assert names["Stockport Central Library"] == "Brinnington and Central"
    assert all(device.home_venue_name in names for device in _all(services))


def test_phone_and_mifi_serials_are_valid_imeis(services: Services) -> None:
    services.demo.fill()
    imeis = [d.serial for d in _all(services) if d.device_type in (DeviceType.PHONE, DeviceType.MIFI)]
    assert len(imeis) == 108
    for imei in imeis:
        assert len(imei) == 15 and imei.isdigit(), imei
        assert _luhn_ok(imei), imei
    assert _luhn_ok("490154203237518")  # a published example IMEI: the checker itself is right
    assert not _luhn_ok("490154203237517")


@pytest.mark.parametrize("months", [1, 6, 24])
def test_acquisition_dates_lie_within_the_months_asked_for(services: Services, months: int) -> None:
    services.demo.fill(devices=200, months=months)
    dates = [device.acquired_on for device in _all(services)]
    assert all(d is not None for d in dates)
    window = timedelta(days=round(months * 365.25 / 12))
    assert all(TODAY - window <= d < TODAY for d in dates if d is not None)
    # Spread over the window, not bunched at one end.
    assert min(d for d in dates if d is not None) < TODAY - window / 2


def test_devices_are_on_the_shelf_in_the_workshop_or_retired_with_a_reason(services: Services) -> None:
    services.demo.fill()
    devices = _all(services)
    statuses = Counter(device.status for device in devices)
    assert statuses[DeviceStatus.ON_LOAN] == 0
    assert statuses[DeviceStatus.AVAILABLE] > len(devices) / 2
    assert len(statuses) >= 4
    for device in devices[:20]:
        [added] = services.inventory.history(device.tag)
        assert (added.to_status, added.reason, added.by) == (device.status, "Demo data", "Test Staff")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"devices": -1}, "devices"),
        ({"devices": 100_001}, "devices"),
        ({"months": 0}, "months"),
        ({"months": 121}, "months"),
        ({"residents": -1}, "residents"),
        ({"residents": 100_001}, "residents"),
        ({"residents": 10, "sessions": -1}, "sessions"),
        ({"residents": 10, "sessions": MAX_SESSIONS + 1}, "sessions"),
        ({"sessions": 10}, "sessions"),  # sessions are held with residents
        ({"residents": 10, "sessions": 10, "bulk": False}, "sessions"),  # only the bulk history counts them
    ],
)
def test_fill_refuses_silly_sizes(services: Services, options: dict[str, int | bool], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        services.demo.fill(**options)
    assert set(refused.value.problems) == {field}
    assert services.venues.venues() == []


def test_fill_works_when_every_demo_venue_is_closed(services: Services) -> None:
    services.demo.fill(devices=0)
    for venue in services.venues.venues():
        services.venues.update(venue.id, VenueDraft(name=venue.name, ward_code=venue.ward_code, active=False))
    assert services.venues.venues(active_only=True) == []
    assert services.demo.fill(devices=40).devices_added == 40
    assert all(device.home_venue_name == device.current_venue_name == "" for device in _all(services))


# Residents and lending history


HISTORY_NOW = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)  # conftest's FIXED_NOW


def _every_resident(services: Services) -> list[Resident]:
    return services.residents.search("", limit=services.residents.count() + 1)


def _every_loan(services: Services) -> list[Loan]:
    loans: list[Loan] = []
    for resident in _every_resident(services):
        loans.extend(services.lending.loans_of(resident.reference))
    return loans


SENSITIVE = ("disability", "on_benefits", "not_in_work_or_education", "care_leaver")


def _answers(resident: Resident) -> tuple[Answer | None, ...]:
    return tuple(getattr(resident, name) for name in SENSITIVE)


def _renewals(services: Services) -> dict[uuid.UUID, list[Row[Any]]]:
    """Each renewed loan's dated renewals, oldest first."""
    by_loan: dict[uuid.UUID, list[Row[Any]]] = {}
    with services.database.read() as session:
        for row in session.execute(select(LoanRenewalRow.__table__).order_by(LoanRenewalRow.renewed_at)):
            by_loan.setdefault(row.loan_id, []).append(row)
    return by_loan


def _renewal_dates(services: Services) -> list[tuple[object, ...]]:
    """The renewals by the loan's device and issue time, for comparing two histories."""
    loans = {loan.id: (loan.device_tag, loan.issued_at) for loan in _every_loan(services)}
    return sorted(
        (*loans[loan_id], row.renewed_at, row.due_before, row.due_after)
        for loan_id, rows in _renewals(services).items()
        for row in rows
    )


def _history(database: Database, **options: int | bool) -> tuple[Services, Database, DemoSummary]:
    services = build_services(database, staff=setup_staff("Demo"), clock=lambda: HISTORY_NOW)
    return services, database, services.demo.fill(**options)


def _sqlite_file(folder: Path) -> Database:
    """A migrated SQLite file for a history built once per module (the tests that build their own,
    above and below, run on both backends)."""
    database = Database("sqlite:///" + (folder / "history.db").as_posix())
    upgrade_to_head(database)
    return database


@pytest.fixture(scope="module")
def borough(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, DemoSummary]]:
    """One default-sized history (302 devices, 326 residents, 24 months), built once and only read."""
    services, database, summary = _history(
        _sqlite_file(tmp_path_factory.mktemp("borough")), residents=DEFAULT_RESIDENTS, seed=1
    )
    yield services, summary
    database.dispose()


def _local_day(moment: datetime) -> date:
    return moment.astimezone().date()


def test_a_history_is_reproducible_from_its_seed(new_database: NewDatabase) -> None:
    def fingerprint(services: Services) -> tuple[object, ...]:
        residents = [
            (r.reference, r.name, r.postcode, r.ward_code, r.phone, r.age_band, r.referral_partner)
            + _answers(r)
            + _support_of(services, r)
            for r in _every_resident(services)
        ]
        loans = sorted(
            (
                loan.device_tag,
                loan.resident_reference,
                loan.issued_at,
                loan.due_on,
                loan.closed_at,
                loan.outcome,
                loan.achieved,
            )
            for loan in _every_loan(services)
        )
        return residents, loans, _renewal_dates(services), _champions_and_sessions(services)

    first, first_db, _ = _history(new_database("a.db"), devices=60, residents=50, months=6, seed=4)
    second, second_db, _ = _history(new_database("b.db"), devices=60, residents=50, months=6, seed=4)
    other, other_db, _ = _history(new_database("c.db"), devices=60, residents=50, months=6, seed=5)
    try:
        assert fingerprint(first) == fingerprint(second)
        assert fingerprint(other) != fingerprint(first)
    finally:
        for database in (first_db, second_db, other_db):
            database.dispose()


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_the_default_history_has_the_default_size(borough: tuple[Services, DemoSummary]) -> None:
    _services, summary = borough
    assert (summary.devices_added, summary.residents_added) == (302, DEFAULT_RESIDENTS)
    assert 400 <= summary.loans_added <= 800  # a few hundred loans


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_residents_are_made_up_stockport_households(borough: tuple[Services, DemoSummary]) -> None:
    services, _summary = borough
    residents = _every_resident(services)
    assert len(residents) == DEFAULT_RESIDENTS
    assert len({r.reference for r in residents}) == len(residents)
    ward_codes = {ward.code for ward in services.venues.wards()}
    for resident in residents:
        assert re.fullmatch(r"SK[1-8] [1-9][A-Z]{2}", resident.postcode), resident.postcode
        assert resident.ward_code in ward_codes
        assert resident.contact
        # Ofcom's drama numbers and example.com: nobody real is rung or emailed.
        assert not resident.phone or re.fullmatch(r"07700 900\d{3}|0161 496 0\d{3}", resident.phone)
        assert not resident.email or resident.email.endswith("@example.com")
        purposes = {consent.purpose for consent in resident.consents}
        assert ConsentPurpose.LENDING in purposes
        assert all(
            TODAY - timedelta(days=24 * 30) <= c.given_on <= _local_day(HISTORY_NOW)
            for c in resident.consents
        )
    ages = Counter(r.age_band for r in residents)
    older = ages[AgeBand.AGE_65_74] + ages[AgeBand.AGE_75_PLUS]
    assert older > len(residents) / 3
    assert older > 3 * (ages[AgeBand.UNDER_18] + ages[AgeBand.AGE_18_24])
    partners = Counter(r.referral_partner for r in residents)
    assert {"Age UK Stockport", "Jobcentre Plus Stockport", "Stockport Homes", "Pennine Care"} <= set(
        partners
    )
    assert all(
        r.referral_reason == ReferralReason.JOB_SEARCH
        for r in residents
        if r.referral_partner == "Jobcentre Plus Stockport"
    )
    assert len({r.ward_code for r in residents}) >= 15
    assert len({r.name for r in residents}) > len(residents) * 0.8
    # Registered over the months, more of them lately.
    with services.database.read() as session:
        created = sorted(_local_day(at) for at in session.scalars(select(ResidentRow.created_at)))
    assert created[0] < TODAY - timedelta(days=365)
    assert created[len(created) // 2] > TODAY - timedelta(days=365)


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_loans_follow_the_desks_rules(borough: tuple[Services, DemoSummary]) -> None:
    services, summary = borough
    loans = _every_loan(services)
    assert len(loans) == summary.loans_added
    rules = services.lending.rules()
    start = HISTORY_NOW - timedelta(days=24 * 30 + 1)
    outcomes = Counter(loan.outcome for loan in loans)
    assert outcomes[LoanOutcome.RETURNED] > len(loans) * 0.7
    assert 0 < outcomes[LoanOutcome.LOST] + outcomes[LoanOutcome.STOLEN] < len(loans) * 0.1
    assert 0 < outcomes[None] == summary.on_loan == services.lending.count_open()
    for loan in loans:
        assert start <= loan.issued_at < HISTORY_NOW
        assert loan.closed_at is None or loan.issued_at < loan.closed_at < HISTORY_NOW
        assert 0 <= loan.renewals <= rules.renewal_limit
        if loan.renewals == 0:
            assert loan.due_on == rules.due_on(loan.device_type, _local_day(loan.issued_at))
    assert sum(loan.renewals > 0 for loan in loans) > len(loans) / 10
    late = [loan for loan in loans if loan.late_reason]
    assert late and all(loan.closed_at is not None for loan in late)
    assert sum(any(line.out and line.back is False for line in loan.kit) for loan in loans) > 0
    # Nobody has a device twice at once, and repeat borrowers come back.
    open_tags = [loan.device_tag for loan in loans if loan.is_open]
    assert len(open_tags) == len(set(open_tags))
    assert Counter(loan.resident_reference for loan in loans).most_common(1)[0][1] >= 3


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_some_loans_are_overdue_now(borough: tuple[Services, DemoSummary]) -> None:
    services, summary = borough
    overdue = services.lending.overdue()
    assert 0 < len(overdue) == summary.overdue < summary.on_loan
    assert all(loan.days_overdue(TODAY) > 0 and loan.resident_contact for loan in overdue)


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_every_device_history_runs_in_time_order_and_lent_devices_were_wiped(
    borough: tuple[Services, DemoSummary],
) -> None:
    services, _summary = borough
    devices = _all(services)
    statuses = Counter(device.status for device in devices)
    assert statuses[DeviceStatus.ON_LOAN] > 0 and statuses[DeviceStatus.AVAILABLE] > 0
    assert statuses[DeviceStatus.QUARANTINED] > 0 and statuses[DeviceStatus.IN_REPAIR] > 0
    for device in devices:
        history = services.inventory.history(device.tag)
        assert [change.at for change in history] == sorted(change.at for change in history)
        assert history[0].reason == "Demo data"
        assert _local_day(history[0].at) == device.acquired_on
        assert history[-1].to_status == device.status
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_status == before.to_status
        if device.status == DeviceStatus.AVAILABLE and any(
            change.to_status == DeviceStatus.ON_LOAN for change in history
        ):
            # Lendable again only through a recorded wipe, after it last came back.
            wipe = services.lending.last_wipe(device.tag)
            came_back = max(c.at for c in history if c.to_status == DeviceStatus.AWAITING_WIPE)
            assert wipe.wiped_at > came_back
            assert wipe.checklist.missing() == []


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_the_waiting_list_holds_those_for_a_type_that_ran_out(
    borough: tuple[Services, DemoSummary],
) -> None:
    services, summary = borough
    waiting = services.lending.waiting_list()
    assert len(waiting) == summary.waiting > 0
    for entry in waiting:
        if entry.status == WaitStatus.OFFERED:
            assert services.inventory.get(entry.offered_tag).status == DeviceStatus.AVAILABLE
            assert entry.offer_expires_on is not None and entry.offer_expires_on >= TODAY
        else:
            # Waiting because every device of the type is out or held for someone.
            free = services.inventory.search(
                DeviceFilter(device_type=entry.device_type, status=DeviceStatus.AVAILABLE), limit=1000
            )
            held = {e.offered_tag for e in waiting}
            assert {device.tag for device in free} <= held
    events = _wait_events(services)
    # Every entry that joined was served, withdrawn, or is still on the list.
    assert events["joined"] == events["fulfilled"] + events["withdrawn"] + len(waiting)
    assert events["offered"] > 0 and events["fulfilled"] > 0


def _wait_events(services: Services) -> Counter[str]:
    with services.database.read() as session:
        return Counter(
            "moved" if what.startswith("moved to") else what
            for what in session.scalars(select(WaitEventRow.what))
        )


def test_when_devices_are_scarce_the_waiting_list_does_all_its_work(
    new_database: NewDatabase,
) -> None:
    services, database, summary = _history(new_database("scarce.db"), devices=40, residents=150, months=6)
    try:
        events = _wait_events(services)
        assert set(events) == {"joined", "offered", "fulfilled", "offer expired", "moved", "withdrawn"}
        assert events["joined"] == events["fulfilled"] + events["withdrawn"] + summary.waiting
        assert summary.waiting > 10
        # Moved up as a care leaver only if recorded as one.
        with services.database.read() as session:
            moved_as_care_leavers = session.scalars(
                select(ResidentRow.care_leaver)
                .join(WaitEntryRow, WaitEntryRow.resident_id == ResidentRow.id)
                .join(WaitEventRow, WaitEventRow.entry_id == WaitEntryRow.id)
                .where(WaitEventRow.reason == CARE_LEAVER_PRIORITY)
            ).all()
        assert set(moved_as_care_leavers) <= {Answer.YES}
    finally:
        database.dispose()


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_data_plans_go_with_mifis_and_phones(borough: tuple[Services, DemoSummary]) -> None:
    services, summary = borough
    for device in _all(services):
        plan = services.lending.data_plan(device.tag)
        assert (plan is not None) == (device.device_type in (DeviceType.MIFI, DeviceType.PHONE))
    expiring = services.lending.sims_expiring()
    assert len(expiring) == summary.sims_expiring > 0
    for loan, plan in expiring:
        assert loan.is_open and plan.expires_on is not None
        assert plan.expires_on <= TODAY + timedelta(days=14)
        assert plan.source and plan.network and plan.allowance


def test_with_no_devices_everyone_waits(new_database: NewDatabase) -> None:
    services, database, summary = _history(new_database("empty.db"), devices=0, residents=25, months=3)
    try:
        assert (summary.residents_added, summary.loans_added, summary.on_loan) == (25, 0, 0)
        waiting = services.lending.waiting_list()
        assert len(waiting) == summary.waiting >= 25
        assert {entry.status for entry in waiting} == {WaitStatus.WAITING}
        with services.database.read() as session:
            assert session.scalars(select(LoanRow)).first() is None
    finally:
        database.dispose()


def test_a_second_history_adds_more_residents_without_duplicates(new_database: NewDatabase) -> None:
    services, database, first = _history(new_database("twice.db"), devices=40, residents=30, months=4)
    try:
        second = services.demo.fill(devices=40, residents=30, months=4)
        assert (first.residents_added, second.residents_added) == (30, 30)
        residents = _every_resident(services)
        assert len(residents) == 60
        assert len({(r.name, r.postcode) for r in residents}) == 60
        assert len(_all(services)) == 80
        champions = services.champions.champions()
        assert len(champions) == first.champions_added + second.champions_added == 8
        assert len({champion.name.casefold() for champion in champions}) == 8
    finally:
        database.dispose()


def test_without_residents_there_is_no_lending(services: Services) -> None:
    summary = services.demo.fill(devices=30)
    assert (summary.residents_added, summary.loans_added) == (0, 0)
    assert services.residents.count() == 0
    assert services.lending.count_open() == 0


# Borough-scale histories, written in bulk


def test_a_bulk_history_holds_the_records_the_desk_makes(new_database: NewDatabase) -> None:
    services, database, summary = _history(
        new_database("bulk.db"), devices=120, residents=400, months=12, seed=2, bulk=True
    )
    try:
        residents = _every_resident(services)
        assert len(residents) == summary.residents_added == 400
        assert sorted(r.reference for r in residents) == [f"R-{n:05d}" for n in range(1, 401)]
        someone = residents[7]
        # Found as the desk finds residents typed in by hand.
        assert someone in services.residents.search(f"{someone.name} {someone.postcode}", limit=1000)
        assert services.residents.get(someone.reference.replace("-", "").lower()) == someone
        assert all(ConsentPurpose.LENDING in {c.purpose for c in r.consents} for r in residents)
        with services.database.read() as session:
            joined = {
                reference: at
                for reference, at in session.execute(select(ResidentRow.reference, ResidentRow.created_at))
            }

        loans = _every_loan(services)
        assert len(loans) == summary.loans_added > 400
        assert sum(loan.is_open for loan in loans) == summary.on_loan == services.lending.count_open()
        assert len(services.lending.overdue()) == summary.overdue
        rules = services.lending.rules()
        devices = {device.tag: device for device in _all(services)}
        for loan in loans:
            assert joined[loan.resident_reference] <= loan.issued_at < HISTORY_NOW
            assert loan.closed_at is None or loan.issued_at < loan.closed_at < HISTORY_NOW
            assert loan.renewals <= rules.renewal_limit
            assert [line.name for line in loan.kit] == list(devices[loan.device_tag].kit)
        for device in devices.values():
            history = services.inventory.history(device.tag)
            assert [change.at for change in history] == sorted(change.at for change in history)
            assert history[-1].to_status == device.status
            for before, after in zip(history, history[1:], strict=False):
                assert after.from_status == before.to_status
            assert device.acquired_on is not None and device.acquired_on < TODAY - timedelta(days=360)
            plan = services.lending.data_plan(device.tag)
            assert (plan is not None) == (device.device_type in (DeviceType.MIFI, DeviceType.PHONE))
        # Lendable again only through a recorded wipe, after it last came back.
        for device in devices.values():
            history = services.inventory.history(device.tag)
            if device.status == DeviceStatus.AVAILABLE and len(history) > 1:
                came_back = max(c.at for c in history if c.to_status == DeviceStatus.AWAITING_WIPE)
                assert services.lending.last_wipe(device.tag).wiped_at > came_back
        assert summary.waiting == 0 == len(services.lending.waiting_list())
    finally:
        database.dispose()


def test_a_bulk_history_is_reproducible_and_chosen_for_many_residents(
    new_database: NewDatabase,
) -> None:
    def fingerprint(services: Services) -> tuple[object, ...]:
        loans = sorted(
            (
                loan.device_tag,
                loan.resident_reference,
                loan.issued_at,
                loan.due_on,
                loan.closed_at,
                loan.achieved,
            )
            for loan in _every_loan(services)
        )
        support = [_answers(r) + _support_of(services, r) for r in _every_resident(services)]
        return loans, _renewal_dates(services), support, _champions_and_sessions(services)

    options = {"devices": 30, "residents": 60, "months": 6, "seed": 9, "bulk": True}
    first, first_db, _ = _history(new_database("a.db"), **options)
    second, second_db, _ = _history(new_database("b.db"), **options)
    try:
        assert fingerprint(first) == fingerprint(second)
        assert fingerprint(first)[0] != []
    finally:
        first_db.dispose()
        second_db.dispose()
    # Past BULK_RESIDENTS the bulk history is used without asking: its devices predate the history.
    services, database, summary = _history(
        new_database("many.db"), devices=20, residents=BULK_RESIDENTS + 1, months=2
    )
    try:
        assert summary.residents_added == BULK_RESIDENTS + 1
        assert all(d.acquired_on and d.acquired_on < TODAY - timedelta(days=60) for d in _all(services))
    finally:
        database.dispose()


# Digital Champions, sessions, skills checks and inclusion statuses


def _every_session(services: Services) -> list[Session]:
    return services.sessions.sessions(limit=services.sessions.count() + 1)


def _support_of(services: Services, resident: Resident) -> tuple[object, ...]:
    """A resident's status and skills checks, for comparing two histories."""
    checks = tuple(
        (c.checked_on, tuple(sorted(c.levels.items())), c.own_device, c.own_connection, c.note)
        for c in services.skills.checks_of(resident.reference)
    )
    return resident.inclusion_status, checks


def _champions_and_sessions(services: Services) -> tuple[object, ...]:
    champions = [
        (c.name, c.phone, c.email, c.venue_names, c.trained_on, c.dbs_checked_on, c.active)
        for c in services.champions.champions()
    ]
    loans = {loan.id: (loan.device_tag, loan.issued_at) for loan in _every_loan(services)}
    sessions = sorted(
        (
            s.held_on,
            s.starts_at,
            s.minutes,
            s.kind,
            s.venue_name,
            s.champion_names,
            tuple(sorted((a.reference, a.age_band, a.ward_code or "") for a in s.attendees)),
            tuple(sorted(s.topics)),
            s.outcome,
            s.follow_up_on,
            s.follow_up,
            loans[s.loan_id] if s.loan_id else None,
        )
        for s in _every_session(services)
    )
    with services.database.read() as session:
        hours = sorted(
            session.execute(
                select(
                    ChampionHoursRow.worked_on,
                    ChampionHoursRow.minutes,
                    ChampionHoursRow.kind,
                    ChampionHoursRow.note,
                )
            )
        )
    return champions, sessions, hours


@pytest.fixture(scope="module")
def bulk_borough(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, DemoSummary]]:
    """A history written in bulk (600 residents over 18 months), built once and only read."""
    services, database, summary = _history(
        _sqlite_file(tmp_path_factory.mktemp("bulk")),
        devices=150,
        residents=600,
        months=18,
        seed=3,
        bulk=True,
    )
    yield services, summary
    database.dispose()


HISTORY_MONTHS = {"borough": 24, "bulk_borough": 18}


@pytest.fixture(params=["borough", "bulk_borough"], ids=["desk", "bulk"])
def either(request: pytest.FixtureRequest) -> tuple[Services, DemoSummary, int]:
    """Each history, the desk's (through the services) and the bulk one, with its months."""
    services, summary = request.getfixturevalue(request.param)
    return services, summary, HISTORY_MONTHS[request.param]


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_champions_help_at_the_venues_and_some_need_their_training_or_dbs_renewed(
    either: tuple[Services, DemoSummary, int],
) -> None:
    services, summary, _months = either
    champions = services.champions.champions()
    # About one for every 60 residents.
    assert len(champions) == summary.champions_added == max(4, round(summary.residents_added / 60))
    assert len({champion.name for champion in champions}) == len(champions)
    demo_venues = {name for name, _ward in DEMO_VENUES}
    for champion in champions:
        assert champion.phone or champion.email
        assert not champion.phone or re.fullmatch(r"07700 900\d{3}", champion.phone)
        assert not champion.email or champion.email.endswith("@example.com")
        assert 1 <= len(champion.venues) <= 3
        assert {name for _id, name in champion.venues} <= demo_venues
        assert champion.trained_on is not None and champion.trained_on <= TODAY
        assert champion.dbs_checked_on is not None and champion.dbs_checked_on <= TODAY
    assert 1 <= sum(not champion.active for champion in champions) <= 2
    assert len({champion.trained_on for champion in champions}) > len(champions) / 2
    warnings = services.champions.warnings(TODAY)
    assert len(warnings) == summary.champion_warnings >= 2
    found = [text for _champion, texts in warnings for text in texts]
    assert any(text.startswith("training lapses on") for text in found)
    assert any(text.startswith("DBS check lapsed on") for text in found)
    # Spread over the venues: each champion's first venue differs from the others' while venues last.
    assert len({name for c in champions for _id, name in c.venues}) >= min(len(demo_venues), len(champions))


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_champions_give_time_besides_sessions(either: tuple[Services, DemoSummary, int]) -> None:
    services, _summary, months = either
    with services.database.read() as session:
        kinds = Counter(session.scalars(select(ChampionHoursRow.kind)))
    assert {HoursKind.TRAINING, HoursKind.DEVICE_SETUP, HoursKind.OUTREACH} <= set(kinds)
    last_month = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
    hours = services.sessions.hours(last_month)
    assert hours and all(h.total_minutes == h.session_minutes + h.other_minutes for h in hours)
    assert sum(h.sessions for h in hours) >= services.sessions.count(SessionFilter(month=last_month))
    other = sum(
        h.other_minutes
        for n in range(months)
        for h in services.sessions.hours(TODAY - timedelta(days=30 * n))
    )
    assert other > 0


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_sessions_of_every_kind_refer_to_real_champions_venues_residents_and_loans(
    either: tuple[Services, DemoSummary, int],
) -> None:
    services, summary, months = either
    sessions = _every_session(services)
    assert len(sessions) == summary.sessions_added == services.sessions.count()
    kinds = Counter(session.kind for session in sessions)
    assert set(kinds) == set(SessionKind)
    assert kinds[SessionKind.ONE_TO_ONE] + kinds[SessionKind.DROP_IN] > len(sessions) / 2
    champions = {champion.id for champion in services.champions.champions()}
    venues = {venue.id for venue in services.venues.venues()}
    wards = {ward.code for ward in services.venues.wards()}
    loans = {loan.id: loan for loan in _every_loan(services)}
    agreed = {
        r.reference
        for r in _every_resident(services)
        if ConsentPurpose.SUPPORT in {c.purpose for c in r.consents}
    }
    start = TODAY - timedelta(days=months * 30)
    for session in sessions:
        assert start <= session.held_on <= TODAY
        assert 20 <= session.minutes <= 120
        assert session.champions and {champion_id for champion_id, _name in session.champions} <= champions
        if session.kind in (SessionKind.PHONE, SessionKind.VIDEO):
            assert session.venue_id is None
        else:
            assert session.venue_id in venues
        assert 1 <= len(session.topics) <= 3 and session.topics <= set(ALL_TOPICS)
        attendees = session.attendees
        if session.kind is SessionKind.GROUP:
            assert 4 <= len(attendees) <= 10
        else:
            assert len(attendees) == 1
        for attendee in attendees:
            if attendee.resident_id is None:
                assert attendee.reference == "" and attendee.ward_code in wards | {None}
            else:
                # Only those who agreed to have their support recorded, as the services insist.
                assert attendee.reference in agreed
        if session.loan_id is not None:
            # About the loan the resident had out that day.
            loan = loans[session.loan_id]
            assert loan.resident_id in {attendee.resident_id for attendee in attendees}
            assert _local_day(loan.issued_at) <= session.held_on
            assert loan.closed_at is None or _local_day(loan.closed_at) >= session.held_on
        if session.follow_up_on is not None:
            assert session.follow_up_on > session.held_on and session.follow_up
        begins = datetime.combine(session.held_on, session.starts_at).astimezone()
        assert begins + timedelta(minutes=session.minutes) <= session.logged_at <= HISTORY_NOW
    groups = [session for session in sessions if session.kind is SessionKind.GROUP]
    attendees = [attendee for session in groups for attendee in session.attendees]
    assert any(a.resident_id is None for a in attendees) and any(a.resident_id for a in attendees)
    assert any(a.resident_id is None for s in sessions if s.kind is SessionKind.DROP_IN for a in s.attendees)
    assert sum(session.loan_id is not None for session in sessions) > len(sessions) / 10
    assert sum(session.follow_up_on is not None for session in sessions) > len(sessions) / 10
    assert services.sessions.follow_ups(TODAY + timedelta(days=28))
    # Spread over the months, more of them lately as the scheme grows.
    held = Counter((session.held_on.year, session.held_on.month) for session in sessions)
    assert len(held) >= months - 1
    assert sum(s.held_on > TODAY - timedelta(days=months * 15) for s in sessions) > len(sessions) / 2


def _supported(sessions: list[Session]) -> dict[str, date]:
    """Each registered resident who had sessions, with the day of their first."""
    first: dict[str, date] = {}
    for session in sessions:
        for attendee in session.attendees:
            if attendee.reference:
                first[attendee.reference] = min(
                    session.held_on, first.get(attendee.reference, session.held_on)
                )
    return first


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_skills_checks_start_with_a_baseline_and_move_on(either: tuple[Services, DemoSummary, int]) -> None:
    services, summary, _months = either
    first_sessions = _supported(_every_session(services))
    checks_made = 0
    improved = reviewed = gained_access = 0
    for reference, first_day in first_sessions.items():
        checks = services.skills.checks_of(reference)
        checks_made += len(checks)
        # A baseline at their first session, every area recorded.
        assert checks[0].baseline and checks[0].checked_on == first_day
        assert all(set(check.levels) == set(SkillArea) for check in checks)
        for before, after in zip(checks, checks[1:], strict=False):
            assert before.checked_on <= after.checked_on
            # Realistic progress: never backwards, at most one step at a time.
            assert all(0 <= after.levels[a].rank - before.levels[a].rank <= 1 for a in SkillArea)
        if len(checks) > 1:
            reviewed += 1
            improved += any(checks[-1].levels[a] != checks[0].levels[a] for a in SkillArea)
            gained_access += not checks[0].own_device and checks[-1].own_device
    with services.database.read() as session:
        assert session.scalar(select(func.count()).select_from(SkillsCheckRow)) == checks_made
    assert checks_made == summary.skills_checks_added
    assert reviewed > len(first_sessions) / 2
    assert improved > reviewed * 0.7
    assert gained_access > 0


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_most_closed_loans_say_what_they_achieved(either: tuple[Services, DemoSummary, int]) -> None:
    services, _summary, _months = either
    loans = _every_loan(services)
    returned = [loan for loan in loans if loan.outcome is LoanOutcome.RETURNED]
    answers = [loan.achieved for loan in returned if loan.achieved is not None]
    assert len(answers) > len(returned) * 0.8
    met = Counter(answer.reason_met for answer in answers)
    assert met[ReasonMet.YES] + met[ReasonMet.PARTLY] > len(answers) * 0.8 and met[ReasonMet.NO] > 0
    assert any(a.own_device and a.own_connection for a in answers)
    assert any(not a.own_device for a in answers)
    assert all(loan.achieved is None for loan in loans if loan.outcome is not LoanOutcome.RETURNED)


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_statuses_are_the_rules_and_a_realistic_share_is_included(
    either: tuple[Services, DemoSummary, int],
) -> None:
    services, summary, _months = either
    assert services.inclusion.recompute_all() == 0
    counts = services.inclusion.counts()
    included = {InclusionStatus.INCLUDED, InclusionStatus.INDEPENDENT}
    assert summary.included == sum(counts[status] for status in included)
    statuses = {resident.reference: resident.inclusion_status for resident in _every_resident(services)}
    supported = _supported(_every_session(services))
    share = sum(statuses[reference] in included for reference in supported) / len(supported)
    assert 0.3 <= share <= 0.5, share
    assert counts[InclusionStatus.INDEPENDENT] > counts[InclusionStatus.INCLUDED] > 0
    assert all(statuses[reference] is not InclusionStatus.NOT_YET_SUPPORTED for reference in supported)


CHANGE_COLUMNS = (
    InclusionChangeRow.resident_id,
    InclusionChangeRow.at,
    InclusionChangeRow.from_status,
    InclusionChangeRow.to_status,
)


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_residents_are_included_month_by_month(either: tuple[Services, DemoSummary, int]) -> None:
    """The monthly report counts 'included this month' from the status history: it runs through the
    months, and where each resident stands now is where one of their changes took them."""
    services, _summary, months = either
    with services.database.read() as session:
        changes = list(session.execute(select(*CHANGE_COLUMNS)))
        ids = {
            row.id: row.reference for row in session.execute(select(ResidentRow.id, ResidentRow.reference))
        }
    statuses = {resident.reference: resident.inclusion_status for resident in _every_resident(services)}
    start = HISTORY_NOW - timedelta(days=months * 30 + 1)
    by_resident: dict[str, list[Row[Any]]] = {}
    for change in changes:
        assert start <= change.at <= HISTORY_NOW and change.from_status is not change.to_status
        by_resident.setdefault(ids[change.resident_id], []).append(change)
    for reference, status in statuses.items():
        own = by_resident.get(reference, [])
        assert (status is InclusionStatus.NOT_YET_SUPPORTED) == (not own)
        if own:
            assert status in {change.to_status for change in own}
    included = {InclusionStatus.INCLUDED, InclusionStatus.INDEPENDENT}
    newly = Counter(
        (change.at.year, change.at.month)
        for change in changes
        if change.to_status in included and change.from_status not in included
    )
    assert len(newly) >= months * 2 // 3


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_a_bulk_status_history_links_up(bulk_borough: tuple[Services, DemoSummary]) -> None:
    """In bulk every change follows on from the one before, from 'not yet supported' to now."""
    services, _summary = bulk_borough
    with services.database.read() as session:
        changes = sorted(session.execute(select(*CHANGE_COLUMNS)), key=lambda change: change.at)
        statuses = {
            row.id: row.inclusion_status
            for row in session.execute(select(ResidentRow.id, ResidentRow.inclusion_status))
        }
    chains: dict[object, list[Row[Any]]] = {}
    for change in changes:
        chains.setdefault(change.resident_id, []).append(change)
    for resident_id, chain in chains.items():
        assert chain[0].from_status is InclusionStatus.NOT_YET_SUPPORTED
        for before, after in zip(chain, chain[1:], strict=False):
            assert after.from_status is before.to_status
        assert chain[-1].to_status is statuses[resident_id]


def test_the_bulk_history_makes_exactly_the_sessions_asked_for(new_database: NewDatabase) -> None:
    services, database, summary = _history(
        new_database("sessions.db"), devices=60, residents=300, months=12, sessions=4000
    )
    try:
        assert summary.sessions_added == 4000 == services.sessions.count()
        with services.database.read() as session:
            kinds = set(session.scalars(select(SessionRow.kind).distinct()))
        assert kinds == set(SessionKind)
        assert services.inclusion.recompute_all() == 0
    finally:
        database.dispose()


# What the monthly report reads: dated renewals, and who the scheme reaches


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_every_renewal_is_dated_between_issue_and_return(either: tuple[Services, DemoSummary, int]) -> None:
    services, _summary, _months = either
    loans = _every_loan(services)
    by_loan = _renewals(services)
    rules = services.lending.rules()
    steps = [step for rows in by_loan.values() for step in rows]
    assert len(steps) == sum(loan.renewals for loan in loans) > len(loans) / 10
    assert set(by_loan) <= {loan.id for loan in loans}
    for loan in loans:
        rows = by_loan.get(loan.id, [])
        assert len(rows) == loan.renewals
        due, moment = rules.due_on(loan.device_type, _local_day(loan.issued_at)), loan.issued_at
        for row in rows:
            assert moment < row.renewed_at < (loan.closed_at or HISTORY_NOW)
            assert row.due_before == due
            # The loan period from the due date, or from the day it was renewed if that was later.
            assert row.due_after == rules.due_on(loan.device_type, max(due, _local_day(row.renewed_at)))
            assert row.renewed_by == "Demo"
            due, moment = row.due_after, row.renewed_at
        assert loan.due_on == due
    # Mostly renewed in the days before the loan was due.
    early = [
        row
        for row in steps
        if row.due_before - timedelta(days=6) < _local_day(row.renewed_at) < row.due_before
    ]
    assert len(early) > len(steps) * 0.8


@pytest.mark.sqlite_only("reads one large history built once, on SQLite alone to save minutes")
def test_residents_answer_the_sensitive_questions_as_the_desk_would_find(
    either: tuple[Services, DemoSummary, int],
) -> None:
    services, _summary, _months = either
    residents = _every_resident(services)
    count = len(residents)

    def share(name: str, group: list[Resident], value: Answer | None = Answer.YES) -> float:
        return sum(getattr(r, name) is value for r in group) / len(group)

    assert 0.25 <= share("disability", residents) <= 0.4  # about a third
    older_bands = {AgeBand.AGE_65_74, AgeBand.AGE_75_PLUS}
    older = [r for r in residents if r.age_band in older_bands]
    younger = [r for r in residents if r.age_band not in older_bands]
    assert share("disability", older) > share("disability", younger) + 0.05
    assert 0.3 <= share("on_benefits", residents) <= 0.5
    # Some are not asked; a few would rather not say.
    for name in SENSITIVE:
        assert share(name, residents, None) >= 0.1
    for name in ("disability", "on_benefits"):
        assert 0 < share(name, residents, Answer.PREFER_NOT) < 0.1
    # Not in work, education or training: asked of the young only, and some 18 to 24s are.
    assert all(r.age_band in YOUNG_AGE_BANDS for r in residents if r.not_in_work_or_education is not None)
    not_in_work = [r for r in residents if r.not_in_work_or_education is Answer.YES]
    assert not_in_work and {r.age_band for r in not_in_work} == {AgeBand.AGE_18_24}
    # A few care leavers, all young or youngish; older residents are not asked.
    care_leavers = [r for r in residents if r.care_leaver is Answer.YES]
    assert 0 < len(care_leavers) < count * 0.05
    assert all(
        r.age_band in YOUNG_AGE_BANDS | {AgeBand.AGE_25_49} for r in residents if r.care_leaver is not None
    )
