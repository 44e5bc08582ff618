"""Skills checks over time and each resident's inclusion status, kept up to date by sessions, checks and
loans, with its history; a coordinator's rule change recomputes everyone."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import ChampionDraft
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus
from digiknow_desk.domain.loans import LoanAchieved, LoanOutcome, ReasonMet
from digiknow_desk.domain.residents import ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.sessions import AnonymousAttendee, SessionDraft, SessionKind
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.models import InclusionChangeRow, ResidentRow

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it

ALONE, HELP, NOT_YET = SkillLevel.ALONE, SkillLevel.WITH_HELP, SkillLevel.NOT_YET
NOT_YET_SUPPORTED, SUPPORTED, INCLUDED, INDEPENDENT = InclusionStatus


def _today(clock: FakeClock) -> date:
    return clock.now.astimezone().date()


def _check(
    day: date, foundation: SkillLevel, communicating: SkillLevel, *, own: bool = False
) -> SkillsCheckDraft:
    levels = dict.fromkeys(SkillArea, NOT_YET) | {
        SkillArea.FOUNDATION: foundation,
        SkillArea.COMMUNICATING: communicating,
    }
    return SkillsCheckDraft(levels=levels, checked_on=day, own_device=own, own_connection=own)


def _status(services: Services, resident: Resident) -> InclusionStatus:
    return services.residents.get(resident.reference).inclusion_status


@pytest.fixture
def maureen(services: Services) -> Resident:
    return services.residents.add(
        ResidentDraft(name="Maureen Clarke", phone="0161 474 4444", consents=ALL_CONSENTS)
    )


def _devices(services: Services) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    services.inventory.add(DeviceDraft(tag="SIM-0001", device_type=DeviceType.DATA_SIM))


def test_checks_are_kept_over_time_with_the_first_as_the_baseline(
    services: Services, maureen: Resident, clock: FakeClock
) -> None:
    today = _today(clock)
    first = services.skills.record("r1", _check(today - timedelta(days=60), HELP, NOT_YET))
    second = services.skills.record("R-00001", _check(today, ALONE, ALONE))
    checks = services.skills.checks_of(maureen.reference)
    assert [c.id for c in checks] == [first.id, second.id]
    assert [c.baseline for c in checks] == [True, False]
    assert [c.levels[SkillArea.FOUNDATION] for c in checks] == [HELP, ALONE]
    assert [c.areas_alone() for c in checks] == [0, 1]
    assert second.checked_by == "Test Staff"


def test_a_check_must_cover_every_area_and_not_be_in_the_future(
    services: Services, maureen: Resident, clock: FakeClock
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.skills.record(
            maureen.reference,
            SkillsCheckDraft(
                levels={SkillArea.FOUNDATION: ALONE}, checked_on=_today(clock) + timedelta(days=1)
            ),
        )
    assert set(refused.value.problems) == {"levels", "checked_on"}
    assert "Communicating" in refused.value.problems["levels"]
    with pytest.raises(NotFound):
        services.skills.record("R-09999", _check(_today(clock), ALONE, ALONE))


def test_status_moves_with_sessions_checks_and_loans(
    services: Services, maureen: Resident, clock: FakeClock, database: Database
) -> None:
    today = _today(clock)
    assert _status(services, maureen) is NOT_YET_SUPPORTED
    champion = services.champions.add(ChampionDraft(name="Priya Shah"))
    services.sessions.log(
        SessionDraft(
            held_on=today,
            starts_at=time(9, 0),
            minutes=45,
            kind=SessionKind.PHONE,
            venue_id=None,
            champion_ids=(champion.id,),
            resident_references=(maureen.reference,),
        )
    )
    assert _status(services, maureen) is SUPPORTED

    services.skills.record(maureen.reference, _check(today, ALONE, ALONE))
    assert _status(services, maureen) is SUPPORTED  # the skills, but no device or connection yet

    _devices(services)
    services.lending.issue("TAB-0001", maureen.reference)
    assert _status(services, maureen) is SUPPORTED  # a tablet, but no connection
    clock.now += timedelta(minutes=5)  # each change a little later, so the history has an order
    services.lending.issue("SIM-0001", maureen.reference)
    assert _status(services, maureen) is INCLUDED

    # The SIM comes back; she says she has no connection of her own: included no longer.
    clock.now += timedelta(minutes=5)
    services.lending.return_device("SIM-0001", achieved=LoanAchieved(ReasonMet.PARTLY, False, False))
    assert _status(services, maureen) is SUPPORTED

    # The tablet comes back; she has bought her own device and broadband: independently included.
    clock.now += timedelta(minutes=5)
    services.lending.return_device("TAB-0001", achieved=LoanAchieved(ReasonMet.YES, True, True))
    assert _status(services, maureen) is INDEPENDENT
    loans = services.lending.loans_of(maureen.reference)
    assert {loan.device_tag: loan.achieved for loan in loans} == {
        "SIM-0001": LoanAchieved(ReasonMet.PARTLY, False, False),
        "TAB-0001": LoanAchieved(ReasonMet.YES, True, True),
    }

    with database.read() as session:
        history = [
            (change.from_status, change.to_status)
            for change in session.scalars(select(InclusionChangeRow).order_by(InclusionChangeRow.at))
        ]
    assert history == [
        (NOT_YET_SUPPORTED, SUPPORTED),
        (SUPPORTED, INCLUDED),
        (INCLUDED, SUPPORTED),
        (SUPPORTED, INDEPENDENT),
    ]


def test_a_newer_skills_check_answer_about_access_outweighs_an_older_loan_answer(
    services: Services, maureen: Resident, clock: FakeClock
) -> None:
    _devices(services)
    services.lending.issue("TAB-0001", maureen.reference)
    services.lending.return_device("TAB-0001", achieved=LoanAchieved(ReasonMet.YES, True, True))
    clock.now += timedelta(minutes=20)
    services.skills.record(maureen.reference, _check(_today(clock), ALONE, ALONE))  # says: nothing of her own
    assert _status(services, maureen) is SUPPORTED
    clock.now += timedelta(days=1)
    services.skills.record(maureen.reference, _check(_today(clock), ALONE, ALONE, own=True))
    assert _status(services, maureen) is INDEPENDENT


def test_a_lost_device_ends_the_access_it_gave(
    services: Services, maureen: Resident, clock: FakeClock
) -> None:
    services.inventory.add(DeviceDraft(tag="PHN-0001", device_type=DeviceType.PHONE))
    services.skills.record(maureen.reference, _check(_today(clock), ALONE, ALONE))
    services.lending.issue("PHN-0001", maureen.reference)
    assert _status(services, maureen) is INCLUDED
    services.lending.record_lost("PHN-0001", LoanOutcome.LOST, "Left on the bus")
    assert _status(services, maureen) is SUPPORTED


def test_a_new_rule_recomputes_everyone_and_counts_follow_it(
    services: Services, maureen: Resident, clock: FakeClock
) -> None:
    other = services.residents.add(
        ResidentDraft(name="Tom Okafor", phone="0161 474 5555", consents=ALL_CONSENTS)
    )
    services.residents.add(ResidentDraft(name="Not Seen", phone="0161 474 6666"))
    services.skills.record(maureen.reference, _check(_today(clock), HELP, ALONE, own=True))
    services.skills.record(other.reference, _check(_today(clock), ALONE, NOT_YET, own=True))
    assert services.inclusion.counts() == {NOT_YET_SUPPORTED: 1, SUPPORTED: 2, INCLUDED: 0, INDEPENDENT: 0}

    changed = services.inclusion.set_rule(InclusionRule(foundation=HELP, areas_alone=1))
    assert changed == 1
    assert services.inclusion.rule() == InclusionRule(foundation=HELP, areas_alone=1)
    assert _status(services, maureen) is INDEPENDENT
    changed = services.inclusion.set_rule(InclusionRule(foundation=HELP, areas_alone=0))
    assert changed == 1
    assert services.inclusion.counts() == {NOT_YET_SUPPORTED: 1, SUPPORTED: 0, INCLUDED: 0, INDEPENDENT: 2}
    assert services.inclusion.recompute_all() == 0  # nothing moved since


def test_recompute_all_repairs_statuses_written_outside_the_services(
    services: Services, maureen: Resident, clock: FakeClock, database: Database
) -> None:
    services.skills.record(maureen.reference, _check(_today(clock), ALONE, ALONE, own=True))
    with database.write() as session:  # as a bulk import or an older version would leave it
        session.get(ResidentRow, maureen.id).inclusion_status = NOT_YET_SUPPORTED  # type: ignore[union-attr]
    assert services.inclusion.recompute_all() == 1
    assert _status(services, maureen) is INDEPENDENT


def test_anonymous_attendees_have_no_status_to_move(services: Services, clock: FakeClock) -> None:
    champion = services.champions.add(ChampionDraft(name="Priya Shah"))
    services.sessions.log(
        SessionDraft(
            held_on=_today(clock),
            starts_at=time(9, 0),
            minutes=30,
            kind=SessionKind.PHONE,
            venue_id=None,
            champion_ids=(champion.id,),
            anonymous=(AnonymousAttendee(),),
        )
    )
    assert services.inclusion.counts()[SUPPORTED] == 0


def test_a_skills_check_needs_the_residents_agreement_to_record_support(
    services: Services, clock: FakeClock
) -> None:
    lending_only = services.residents.add(ResidentDraft(name="Lending Only", phone="0161 474 9999"))
    with pytest.raises(ValidationError, match="has not agreed to have the help they get recorded") as refused:
        services.skills.record(lending_only.reference, _check(_today(clock), ALONE, ALONE))
    assert set(refused.value.problems) == {"consent"}
    assert services.skills.checks_of(lending_only.reference) == []
