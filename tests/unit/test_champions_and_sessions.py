"""Digital Champions and support sessions: registering champions, lapse warnings, logging sessions
(one-to-one, group, anonymous, after the fact), listing them, and volunteer hours."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from typing import TYPE_CHECKING

import pytest

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import Champion, ChampionDraft, ChampionRules, Lapse, add_months
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.residents import AgeBand, ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.sessions import (
    AnonymousAttendee,
    CommonTask,
    HoursKind,
    SessionDraft,
    SessionFilter,
    SessionKind,
)
from digiknow_desk.domain.skills import SkillArea
from digiknow_desk.domain.venues import Venue, VenueDraft

if TYPE_CHECKING:
    from tests.conftest import FakeClock

ALL_CONSENTS = frozenset(ConsentPurpose)  # support recorded too: sessions and skills checks need it

WARD = "E05000788"  # Edgeley and Cheadle Heath


def _today(clock: FakeClock) -> date:
    return clock.now.astimezone().date()


@pytest.fixture
def venue(services: Services) -> Venue:
    return services.venues.add(VenueDraft(name="Edgeley Library", ward_code=WARD))


@pytest.fixture
def champion(services: Services, venue: Venue, clock: FakeClock) -> Champion:
    return services.champions.add(
        ChampionDraft(
            name="Priya Shah",
            phone="0161 474 1000",
            venue_ids=frozenset({venue.id}),
            trained_on=_today(clock) - timedelta(days=100),
            dbs_checked_on=_today(clock) - timedelta(days=200),
        )
    )


def _resident(services: Services, name: str, number: int) -> Resident:
    return services.residents.add(
        ResidentDraft(name=name, phone=f"0161 474 {number:04d}", ward_code=WARD, consents=ALL_CONSENTS)
    )


def _draft(clock: FakeClock, champion: Champion, venue: Venue, **changes: object) -> SessionDraft:
    values: dict[str, object] = {
        "held_on": _today(clock),
        "starts_at": time(10, 0),
        "minutes": 60,
        "kind": SessionKind.ONE_TO_ONE,
        "venue_id": venue.id,
        "champion_ids": (champion.id,),
    }
    values.update(changes)
    return SessionDraft(**values)  # type: ignore[arg-type]


# Champions


def test_a_champion_is_kept_with_the_venues_they_help_at(services: Services, champion: Champion) -> None:
    assert services.champions.get(champion.id) == champion
    assert champion.venue_names == "Edgeley Library"
    assert services.champions.find("  priya   SHAH ") == champion
    with pytest.raises(NotFound, match="No champion is called 'Nobody'"):
        services.champions.find("Nobody")


def test_a_champion_needs_a_name_valid_contact_and_dates_not_in_the_future(
    services: Services, clock: FakeClock
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.champions.add(
            ChampionDraft(
                name=" ", phone="call me", email="nope", trained_on=_today(clock) + timedelta(days=1)
            )
        )
    assert set(refused.value.problems) == {"name", "phone", "email", "trained_on"}


def test_two_champions_cannot_share_a_name(services: Services, champion: Champion) -> None:
    with pytest.raises(ValidationError, match="already registered"):
        services.champions.add(ChampionDraft(name="PRIYA SHAH"))


def test_editing_a_champion_changes_venues_and_can_stand_them_down(
    services: Services, champion: Champion, venue: Venue
) -> None:
    other = services.venues.add(VenueDraft(name="Central Library", ward_code="E05000783"))
    edited = services.champions.update(
        champion.id,
        ChampionDraft(name="Priya Shah", venue_ids=frozenset({other.id, venue.id}), active=False),
    )
    assert edited.venue_names == "Central Library, Edgeley Library"
    assert services.champions.champions(active_only=True) == []
    assert [c.name for c in services.champions.champions()] == ["Priya Shah"]


def test_months_are_added_as_the_calendar_has_them() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 15), 24) == date(2028, 11, 15)


def test_training_and_dbs_lapse_warnings_at_their_boundaries(services: Services, clock: FakeClock) -> None:
    today = _today(clock)
    rules = services.champions.rules()
    assert rules == ChampionRules(training_months=24, dbs_months=36, warn_days=30)

    def trained(months_ago: int, extra_days: int = 0) -> date:
        return add_months(today, -months_ago) + timedelta(days=extra_days)

    cases = {
        "Current": (trained(24, 31), trained(36, 31)),  # due 31 days from now: not yet warned
        "Lapsing": (trained(24, 30), trained(36, 1)),  # due in 30 days, and tomorrow
        "Lapsed": (trained(24), trained(37)),  # due today counts as lapsed
        "Missing": (None, None),
    }
    for name, (trained_on, dbs_on) in cases.items():
        services.champions.add(ChampionDraft(name=name, trained_on=trained_on, dbs_checked_on=dbs_on))
    services.champions.add(ChampionDraft(name="Stood Down", active=False))  # no warning when inactive

    warnings = {champion.name: found for champion, found in services.champions.warnings()}
    assert set(warnings) == {"Lapsing", "Lapsed", "Missing"}
    assert warnings["Missing"] == ["no training recorded", "no DBS check recorded"]
    assert warnings["Lapsed"][0] == f"training lapsed on {today:%d %b %Y}".replace(" 0", " ")
    champion = {c.name: c for c in services.champions.champions()}
    assert champion["Lapsing"].training_lapse(rules, today) is Lapse.LAPSING
    assert champion["Lapsing"].dbs_lapse(rules, today) is Lapse.LAPSING
    assert champion["Current"].training_lapse(rules, today) is Lapse.CURRENT

    services.champions.set_rules(ChampionRules(training_months=24, dbs_months=36, warn_days=31))
    assert "Current" in {c.name for c, _found in services.champions.warnings()}
    with pytest.raises(ValidationError):
        services.champions.set_rules(ChampionRules(warn_days=0))


# Sessions


def test_a_one_to_one_session_is_logged_with_its_topics_and_follow_up(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    maureen = _resident(services, "Maureen Clarke", 1)
    follow_up = _today(clock) + timedelta(days=7)
    logged = services.sessions.log(
        _draft(
            clock,
            champion,
            venue,
            resident_references=("r1",),
            topics=frozenset({SkillArea.COMMUNICATING, CommonTask.NHS_APP}),
            outcome="Ordered a repeat prescription in the NHS App",
            follow_up_on=follow_up,
            follow_up="Set up video calls with her daughter",
        )
    )
    assert services.sessions.get(logged.id) == logged
    assert [a.reference for a in logged.attendees] == [maureen.reference]
    assert logged.topic_labels == "Communicating, NHS App"
    assert (logged.venue_name, logged.champion_names, logged.logged_by) == (
        "Edgeley Library",
        "Priya Shah",
        "Test Staff",
    )
    assert [s.id for s in services.sessions.follow_ups(follow_up)] == [logged.id]
    assert services.sessions.follow_ups(follow_up - timedelta(days=1)) == []


def test_a_group_class_records_every_attendee_in_one_go(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    residents = [_resident(services, f"Learner {letter}", number) for number, letter in enumerate("ABC", 1)]
    second = services.champions.add(ChampionDraft(name="Tom Okafor"))
    logged = services.sessions.log(
        _draft(
            clock,
            champion,
            venue,
            kind=SessionKind.GROUP,
            minutes=90,
            champion_ids=(champion.id, second.id),
            resident_references=tuple(r.reference for r in residents),
            anonymous=(AnonymousAttendee(AgeBand.AGE_75_PLUS, WARD), AnonymousAttendee()),
        )
    )
    # Registered residents by name, then those not registered by age band: the same order every time.
    assert [(a.reference, a.age_band, a.ward_code) for a in logged.attendees] == [
        *((r.reference, r.age_band, WARD) for r in residents),
        ("", AgeBand.AGE_75_PLUS, WARD),
        ("", AgeBand.NOT_SAID, None),
    ]
    assert logged.champion_names == "Priya Shah, Tom Okafor"


def test_an_anonymous_drop_in_needs_no_registered_resident(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    logged = services.sessions.log(
        _draft(
            clock,
            champion,
            venue,
            kind=SessionKind.DROP_IN,
            anonymous=(AnonymousAttendee(AgeBand.AGE_65_74, WARD),),
        )
    )
    assert [(a.name, a.reference) for a in logged.attendees] == [("Attendee not registered", "")]


def test_a_session_is_logged_after_the_fact_but_not_before_it_happens(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    _resident(services, "Maureen Clarke", 1)
    last_week = services.sessions.log(
        _draft(
            clock,
            champion,
            venue,
            held_on=_today(clock) - timedelta(days=6),
            resident_references=("R-00001",),
        )
    )
    assert last_week.held_on == _today(clock) - timedelta(days=6)
    with pytest.raises(ValidationError, match="cannot start in the future"):
        services.sessions.log(
            _draft(
                clock, champion, venue, held_on=_today(clock) + timedelta(days=1), resident_references=("R1",)
            )
        )
    with pytest.raises(ValidationError, match="over a year ago"):
        services.sessions.log(
            _draft(
                clock,
                champion,
                venue,
                held_on=_today(clock) - timedelta(days=400),
                resident_references=("R1",),
            )
        )


def test_a_session_with_problems_says_each_and_saves_nothing(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.sessions.log(
            _draft(
                clock,
                champion,
                venue,
                minutes=0,
                champion_ids=(),
                venue_id=None,
                resident_references=("R-09999",),
            )
        )
    assert set(refused.value.problems) == {"minutes", "champions", "venue", "attendees"}
    assert "R-09999" in refused.value.problems["attendees"]
    with pytest.raises(ValidationError, match="one-to-one session has one attendee"):
        services.sessions.log(
            _draft(clock, champion, venue, anonymous=(AnonymousAttendee(), AnonymousAttendee()))
        )
    with pytest.raises(ValidationError, match="no longer exists"):
        services.sessions.log(
            _draft(clock, champion, venue, champion_ids=(uuid.uuid4(),), anonymous=(AnonymousAttendee(),))
        )
    assert services.sessions.count() == 0


def test_a_phone_session_needs_no_venue(services: Services, champion: Champion, clock: FakeClock) -> None:
    logged = services.sessions.log(
        SessionDraft(
            held_on=_today(clock),
            starts_at=time(8, 30),
            minutes=20,
            kind=SessionKind.PHONE,
            venue_id=None,
            champion_ids=(champion.id,),
            anonymous=(AnonymousAttendee(),),
        )
    )
    assert logged.venue_name == ""


def test_sessions_are_listed_newest_first_and_filtered(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    other = services.champions.add(ChampionDraft(name="Tom Okafor"))
    today = _today(clock)
    last_month = today.replace(day=1) - timedelta(days=1)
    for held_on, who in ((today, champion), (today - timedelta(days=1), other), (last_month, champion)):
        services.sessions.log(
            _draft(
                clock, who, venue, held_on=held_on, champion_ids=(who.id,), anonymous=(AnonymousAttendee(),)
            )
        )
    assert [s.held_on for s in services.sessions.sessions()][:2] == sorted(
        [today, today - timedelta(days=1)], reverse=True
    )
    this_month = SessionFilter(month=today)
    in_month = today - timedelta(days=1) >= today.replace(day=1)
    assert services.sessions.count(this_month) == (2 if in_month else 1)
    assert services.sessions.count(SessionFilter(month=last_month)) == (1 if in_month else 2)
    assert services.sessions.count(SessionFilter(champion_id=other.id)) == 1
    assert services.sessions.count(SessionFilter(venue_id=venue.id, champion_id=champion.id)) == 2
    # A champion's month, alone and with the venue: read through the champion's own index.
    champions_month = SessionFilter(month=last_month, champion_id=champion.id)
    assert [s.held_on for s in services.sessions.sessions(champions_month)] == [last_month]
    assert services.sessions.count(champions_month) == 1
    elsewhere = services.venues.add(VenueDraft(name="Brinnington Community Centre", ward_code=WARD))
    assert (
        services.sessions.count(SessionFilter(month=today, champion_id=champion.id, venue_id=elsewhere.id))
        == 0
    )
    assert (
        services.sessions.count(SessionFilter(month=today, champion_id=champion.id, venue_id=venue.id)) == 1
    )
    assert [s.held_on for s in services.sessions.sessions(limit=1, offset=2)] == [last_month]


def test_deleting_a_session_logged_by_mistake(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    logged = services.sessions.log(_draft(clock, champion, venue, anonymous=(AnonymousAttendee(),)))
    services.sessions.delete(logged.id)
    assert services.sessions.count() == 0
    with pytest.raises(NotFound):
        services.sessions.delete(logged.id)


# Follow-ups


def _with_follow_up(
    services: Services, clock: FakeClock, champion: Champion, venue: Venue, held_on: date, due_on: date
) -> uuid.UUID:
    """A session held on `held_on` with a follow-up due on `due_on`; its id."""
    logged = services.sessions.log(
        _draft(
            clock,
            champion,
            venue,
            held_on=held_on,
            anonymous=(AnonymousAttendee(),),
            follow_up_on=due_on,
            follow_up="Check she can sign in to the NHS App",
        )
    )
    return logged.id


def test_a_follow_up_marked_done_leaves_those_due_and_is_kept_with_the_session(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    today = _today(clock)
    week = today + timedelta(days=7)
    soon = _with_follow_up(
        services, clock, champion, venue, today - timedelta(days=3), today + timedelta(days=2)
    )
    overdue = _with_follow_up(
        services, clock, champion, venue, today - timedelta(days=9), today - timedelta(days=2)
    )
    assert [s.id for s in services.sessions.follow_ups(week)] == [overdue, soon]
    assert (
        services.sessions.get(soon).follow_up_done_on is None and services.sessions.get(soon).follow_up_open
    )

    done = services.sessions.follow_up_done(soon)  # today, before the day it was due
    assert done.follow_up_done_on == today and not done.follow_up_open
    assert services.sessions.get(soon) == done
    assert [s.id for s in services.sessions.follow_ups(week)] == [overdue]
    late = services.sessions.follow_up_done(overdue, today - timedelta(days=1))  # done after it was due
    assert late.follow_up_done_on == today - timedelta(days=1)
    assert services.sessions.follow_ups(week) == []
    assert services.sessions.count() == 2  # the sessions themselves stay listed

    with pytest.raises(ValidationError) as refused:
        services.sessions.follow_up_done(soon)
    assert refused.value.problems == {
        "follow_up_done_on": "That follow-up was already marked done on Sat 14 Mar 2026."
    }
    assert services.sessions.get(soon).follow_up_done_on == today


def test_a_follow_up_is_done_no_earlier_than_its_session_and_no_later_than_today(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    today = _today(clock)
    held_on = today - timedelta(days=10)
    first = _with_follow_up(services, clock, champion, venue, held_on, held_on + timedelta(days=7))
    second = _with_follow_up(services, clock, champion, venue, held_on, held_on + timedelta(days=7))
    refusals = {
        today
        + timedelta(days=1): "A follow-up cannot be done in the future: mark it done once it has happened.",
        held_on
        - timedelta(days=1): "A follow-up cannot be done before the session it follows: check the date.",
    }
    for day, message in refusals.items():
        with pytest.raises(ValidationError) as refused:
            services.sessions.follow_up_done(first, day)
        assert refused.value.problems == {"follow_up_done_on": message}
    assert services.sessions.get(first).follow_up_done_on is None  # nothing was saved

    assert services.sessions.follow_up_done(first, held_on).follow_up_done_on == held_on  # the session's day
    assert services.sessions.follow_up_done(second, today).follow_up_done_on == today


def test_marking_a_follow_up_done_needs_a_session_that_has_one(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    without = services.sessions.log(_draft(clock, champion, venue, anonymous=(AnonymousAttendee(),)))
    with pytest.raises(ValidationError) as refused:
        services.sessions.follow_up_done(without.id)
    assert refused.value.problems == {"follow_up_done_on": "That session has no follow-up to mark done."}
    assert services.sessions.get(without.id).follow_up_done_on is None

    today = _today(clock)
    gone = _with_follow_up(services, clock, champion, venue, today, today + timedelta(days=7))
    services.sessions.delete(gone)
    with pytest.raises(NotFound, match="That session no longer exists."):
        services.sessions.follow_up_done(gone)
    with pytest.raises(NotFound, match="That session no longer exists."):
        services.sessions.follow_up_done(uuid.uuid4())


# Volunteer hours


def test_hours_per_champion_per_month_come_from_sessions_and_other_work(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    other = services.champions.add(ChampionDraft(name="Tom Okafor"))
    today = _today(clock)
    services.sessions.log(_draft(clock, champion, venue, minutes=90, anonymous=(AnonymousAttendee(),)))
    services.sessions.log(
        _draft(
            clock,
            champion,
            venue,
            kind=SessionKind.GROUP,
            minutes=60,
            champion_ids=(champion.id, other.id),
            anonymous=(AnonymousAttendee(), AnonymousAttendee()),
        )
    )
    services.sessions.add_hours(champion.id, today, 120, HoursKind.TRAINING, "Digital Champion refresher")
    services.sessions.add_hours(
        other.id, today.replace(day=1) - timedelta(days=1), 45, HoursKind.DEVICE_SETUP
    )

    hours = {h.champion_name: h for h in services.sessions.hours(today)}
    assert (hours["Priya Shah"].session_minutes, hours["Priya Shah"].other_minutes) == (150, 120)
    assert (hours["Priya Shah"].sessions, hours["Priya Shah"].total_minutes) == (2, 270)
    assert (hours["Tom Okafor"].session_minutes, hours["Tom Okafor"].other_minutes) == (60, 0)
    earlier = services.sessions.hours(today.replace(day=1) - timedelta(days=1))
    assert [(h.champion_name, h.other_minutes, h.session_minutes) for h in earlier] == [("Tom Okafor", 45, 0)]

    with pytest.raises(ValidationError) as refused:
        services.sessions.add_hours(champion.id, today + timedelta(days=1), 0, HoursKind.OTHER)
    assert set(refused.value.problems) == {"minutes", "worked_on"}


def test_support_is_recorded_only_for_residents_who_agreed_to_it(
    services: Services, champion: Champion, venue: Venue, clock: FakeClock
) -> None:
    services.residents.add(ResidentDraft(name="Lending Only", phone="0161 474 9999"))  # R-00001
    with pytest.raises(ValidationError, match="R-00001 has not agreed to have the help they get recorded"):
        services.sessions.log(_draft(clock, champion, venue, resident_references=("R-00001",)))
    assert services.sessions.count() == 0
    # Helped anyway, as an attendee who is not registered: counted, with nothing personal kept.
    services.sessions.log(
        _draft(clock, champion, venue, anonymous=(AnonymousAttendee(AgeBand.AGE_65_74, WARD),))
    )
    assert services.sessions.count() == 1


def test_every_common_task_belongs_to_a_skill_area() -> None:
    # Reports count topics by area: the task list and the area map must not drift apart.
    assert CommonTask.NHS_APP.area is SkillArea.TRANSACTING
    assert CommonTask.VIDEO_CALLS.area is SkillArea.COMMUNICATING
    assert CommonTask.SPOTTING_SCAMS.area is SkillArea.BEING_SAFE_LEGAL
    assert {task.area for task in CommonTask} <= set(SkillArea)
