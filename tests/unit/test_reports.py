"""The monthly report's figures, checked against a borough in miniature built through the services.

Every expected figure below is worked out by hand from the records the test makes (the comments say
how), not by the report's own queries. The report month is February 2026; the clock then moves on to
March, so figures at the end of February have to be taken back through what changed since.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import Champion, ChampionDraft
from digiknow_desk.domain.devices import DeviceDraft, DeviceStatus, DeviceType
from digiknow_desk.domain.loans import DataPlan, LoanOutcome, WipeChecklist, WipeMethod
from digiknow_desk.domain.reports import FEWER_THAN_5, MonthlyReport, published
from digiknow_desk.domain.residents import AgeBand, Answer, ConsentPurpose, Resident, ResidentDraft
from digiknow_desk.domain.sessions import AnonymousAttendee, CommonTask, HoursKind, SessionDraft, SessionKind
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheckDraft
from digiknow_desk.domain.venues import VenueDraft
from tests.conftest import FakeClock

EDGELEY, DAVENPORT = "E05000788", "E05000787"
EVERYTHING = frozenset(ConsentPurpose)
WIPED = WipeChecklist(accounts_signed_out=True, reset_done=True, apps_restored=True, charger_present=True)
FEBRUARY = date(2026, 2, 1)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in 2026 where the desk is (the machine's local time)."""
    return datetime.combine(date(2026, month, day), time(hour, minute)).astimezone(UTC)


class Borough:
    """The services with a clock the scenario moves forward as it goes."""

    def __init__(self, services: Services, clock: FakeClock) -> None:
        self.services, self.clock = services, clock
        self.residents: dict[str, Resident] = {}
        self.library = services.venues.add(VenueDraft(name="Edgeley Library", ward_code=EDGELEY))

    def when(self, moment: datetime) -> Borough:
        self.clock.now = moment
        return self

    def today(self) -> date:
        return self.clock.now.astimezone().date()

    def resident(self, key: str, moment: datetime, **fields: object) -> Resident:
        self.when(moment)
        draft = ResidentDraft(
            name=f"Resident {key}", phone=f"0161 474 {len(self.residents):04d}", consents=EVERYTHING
        )
        self.residents[key] = self.services.residents.add(replace(draft, **fields))  # type: ignore[arg-type]
        return self.residents[key]

    def check(
        self, key: str, moment: datetime, foundation: SkillLevel, other: SkillLevel, *, own: bool
    ) -> None:
        self.when(moment)
        levels = dict.fromkeys(SkillArea, SkillLevel.NOT_YET) | {
            SkillArea.FOUNDATION: foundation,
            SkillArea.COMMUNICATING: other,
        }
        self.services.skills.record(
            self.residents[key].reference,
            SkillsCheckDraft(levels=levels, checked_on=self.today(), own_device=own, own_connection=own),
        )

    def session(
        self,
        moment: datetime,
        minutes: int,
        champions: list[Champion],
        keys: list[str],
        topics: set[SkillArea | CommonTask],
        *,
        kind: SessionKind = SessionKind.ONE_TO_ONE,
        anonymous: tuple[AnonymousAttendee, ...] = (),
    ) -> None:
        self.when(moment)
        local = moment.astimezone()
        self.services.sessions.log(
            SessionDraft(
                held_on=local.date(),
                starts_at=local.time().replace(second=0, microsecond=0),
                minutes=minutes,
                kind=kind,
                venue_id=None if kind is SessionKind.PHONE else self.library.id,
                champion_ids=tuple(c.id for c in champions),
                resident_references=tuple(self.residents[key].reference for key in keys),
                anonymous=anonymous,
                topics=frozenset(topics),
            )
        )


@pytest.fixture
def borough(services: Services, clock: FakeClock) -> Borough:
    """The scenario (local times, 2026). Statuses by the default rule:

    A  Edgeley, 75+, disabled: session and check (alone, own access) 10 Jan: independent in January.
       Borrows laptop LAP-1 20 Jan, returns it 10 Feb.
    B  Edgeley, 18-24, not in work or education, care leaver, referred by Stockport Homes: tablet and
       SIM lent 5 Feb (supported), check alone without own access 6 Feb: included (on loan). Tablet
       renewed 20 Feb; phone session 28 Feb 16:00 (the month's last day).
    C  Davenport, 65-74, on benefits, referred by Age UK Stockport: Chromebook lent 5 Jan due 2 Feb
       (supported in January), session 3 Feb; check alone with own access 10 Feb (independent), check
       with help 20 Feb (supported again): no net change in February. Returns the Chromebook at
       midnight as March begins: still out, and overdue, at the end of February.
    D  Davenport, 50-64, on benefits, Age UK Stockport: check alone with own access 15 Jan (independent);
       MiFi lent 31 Jan 23:59 (January's); check 12 Feb with no access of their own (a MiFi is no
       device): supported, so no longer included. MiFi reported lost 25 Feb.
    E  no ward, 25-49, registered 14 Feb and at the group session that day (supported).
    F  Edgeley, 65-74, disabled: check alone with own access 20 Feb (independent); session 1 Mar,
       check 2 Mar not yet: supported now, but included at the end of February.
    W  Davenport, 25-49: joins the laptop waiting list 30 Jan, is offered LAP-1 when it is wiped on 10
       Feb, borrows it 16 Feb (17 days' wait; the laptop sat idle 5 days).
    G  Edgeley, registered 22 Feb, nothing else. X  Edgeley, registered 20 Feb, joins the tablet list.
    An anonymous attendee (65-74, Edgeley) is at the group session on 14 Feb.
    """
    b = Borough(services, clock)
    lending = services.lending
    b.when(at(1, 2, 9))
    for tag, kind in (
        ("LAP-1", DeviceType.LAPTOP),
        ("TAB-1", DeviceType.TABLET),
        ("SIM-1", DeviceType.DATA_SIM),
        ("CHR-1", DeviceType.CHROMEBOOK),
        ("MIF-1", DeviceType.MIFI),
    ):
        services.inventory.add(DeviceDraft(tag=tag, device_type=kind))
    lending.set_data_plan(
        "SIM-1", DataPlan("Vodafone", "National Databank", "20 GB", date(2026, 2, 5), date(2026, 3, 20))
    )
    priya = services.champions.add(ChampionDraft(name="Priya Shah"))
    tom = services.champions.add(ChampionDraft(name="Tom Reid"))
    b.resident("A", at(1, 2, 9), ward_code=EDGELEY, age_band=AgeBand.AGE_75_PLUS, disability=Answer.YES)
    b.resident(
        "B",
        at(1, 2, 9),
        ward_code=EDGELEY,
        age_band=AgeBand.AGE_18_24,
        not_in_work_or_education=Answer.YES,
        care_leaver=Answer.YES,
        referral_partner="Stockport Homes",
    )
    b.resident(
        "C",
        at(1, 2, 9),
        ward_code=DAVENPORT,
        age_band=AgeBand.AGE_65_74,
        on_benefits=Answer.YES,
        referral_partner="Age UK Stockport",
    )
    b.resident(
        "D",
        at(1, 2, 9),
        ward_code=DAVENPORT,
        age_band=AgeBand.AGE_50_64,
        on_benefits=Answer.YES,
        referral_partner="Age UK Stockport",
    )
    b.resident("F", at(1, 2, 9), ward_code=EDGELEY, age_band=AgeBand.AGE_65_74, disability=Answer.YES)

    # January
    b.when(at(1, 5))
    lending.issue("CHR-1", b.residents["C"].reference, due_on=date(2026, 2, 2))
    b.session(at(1, 10), 45, [priya], ["A"], {SkillArea.FOUNDATION})
    b.check("A", at(1, 10, 11), SkillLevel.ALONE, SkillLevel.ALONE, own=True)
    b.check("D", at(1, 15), SkillLevel.ALONE, SkillLevel.ALONE, own=True)
    b.when(at(1, 20))
    lending.issue("LAP-1", b.residents["A"].reference)
    b.resident("W", at(1, 30), ward_code=DAVENPORT, age_band=AgeBand.AGE_25_49)
    lending.join_waiting_list(b.residents["W"].reference, DeviceType.LAPTOP)
    b.when(at(1, 31, 23, 59))
    lending.issue("MIF-1", b.residents["D"].reference)

    # February
    b.session(at(2, 3), 60, [priya], ["C"], {SkillArea.COMMUNICATING, CommonTask.NHS_APP})
    b.when(at(2, 5))
    lending.issue("TAB-1", b.residents["B"].reference)
    lending.issue("SIM-1", b.residents["B"].reference)
    b.check("B", at(2, 6), SkillLevel.ALONE, SkillLevel.ALONE, own=False)
    b.check("C", at(2, 10), SkillLevel.ALONE, SkillLevel.ALONE, own=True)
    b.when(at(2, 10, 11))
    lending.return_device("LAP-1")
    lending.record_wipe("LAP-1", WipeMethod.FACTORY_RESET, WIPED)
    b.check("D", at(2, 12), SkillLevel.ALONE, SkillLevel.ALONE, own=False)
    b.resident("E", at(2, 14, 9), age_band=AgeBand.AGE_25_49)
    b.session(
        at(2, 14),
        90,
        [priya, tom],
        ["E"],
        {CommonTask.SPOTTING_SCAMS, SkillArea.BEING_SAFE_LEGAL},
        kind=SessionKind.GROUP,
        anonymous=(AnonymousAttendee(AgeBand.AGE_65_74, EDGELEY),),
    )
    b.when(at(2, 16))
    lending.issue("LAP-1", b.residents["W"].reference)
    b.when(at(2, 18))
    services.sessions.add_hours(priya.id, b.today(), 120, HoursKind.TRAINING)
    b.when(at(2, 20))
    lending.renew("TAB-1")
    b.check("C", at(2, 20, 11), SkillLevel.WITH_HELP, SkillLevel.ALONE, own=True)
    b.check("F", at(2, 20, 12), SkillLevel.ALONE, SkillLevel.ALONE, own=True)
    b.resident("X", at(2, 20, 13), ward_code=EDGELEY)
    lending.join_waiting_list(b.residents["X"].reference, DeviceType.TABLET)
    b.resident("G", at(2, 22), ward_code=EDGELEY)
    b.when(at(2, 25))
    lending.record_lost("MIF-1", LoanOutcome.LOST, "Left on a bus")
    b.session(at(2, 28, 16), 30, [tom], ["B"], {CommonTask.VIDEO_CALLS}, kind=SessionKind.PHONE)

    # March: after the report's month
    b.when(at(3, 1, 0, 0))
    lending.return_device("CHR-1")
    b.session(at(3, 1, 9, 30), 30, [priya], ["F"], {SkillArea.FOUNDATION})
    b.check("F", at(3, 2), SkillLevel.NOT_YET, SkillLevel.NOT_YET, own=True)
    b.when(at(3, 2, 15))
    services.sessions.add_hours(tom.id, b.today(), 60, HoursKind.OUTREACH)
    b.when(at(3, 14))
    return b


def _ward(report: MonthlyReport, code: str | None):  # noqa: ANN202
    return next(ward for ward in report.wards if ward.code == code)


def test_the_headline_counts_residents_included_at_the_end_of_the_month(borough: Borough) -> None:
    report = borough.services.reports.monthly(FEBRUARY)
    headline = report.headline
    assert headline.included == 3  # A, B, F (F's change in March is taken back)
    assert headline.newly_included_month == 2  # B and F; C went up and down again within the month
    assert headline.no_longer_included == 1  # D
    assert headline.newly_included_year == 3  # A, B, F since 1 April 2025 (D came and went)
    assert headline.supported == 7  # everyone but G and X
    wards = borough.services.wards.wards()
    expected_excluded = sum(round(ward.population * 0.13) for ward in wards)
    assert headline.estimated_excluded == expected_excluded
    assert headline.percent_of_the_way is None  # 3 is suppressed, so its share is not shown either
    assert report.month == FEBRUARY
    assert report.rule == borough.services.inclusion.rule().describe()
    assert report.excluded_rate == pytest.approx(0.13)


def test_wards_count_their_residents_supported_included_and_the_months_loans(borough: Borough) -> None:
    report = borough.services.reports.monthly(FEBRUARY)
    assert len([ward for ward in report.wards if ward.code]) == 21
    edgeley, davenport, nowhere = _ward(report, EDGELEY), _ward(report, DAVENPORT), _ward(report, None)
    assert (edgeley.supported, edgeley.included, edgeley.loans) == (3, 3, 2)  # A B F; B's tablet and SIM
    assert (davenport.supported, davenport.included, davenport.loans) == (3, 0, 1)  # C D W; W's laptop
    assert (nowhere.supported, nowhere.included, nowhere.loans) == (1, 0, 0)  # E
    assert edgeley.estimated_excluded == round(edgeley.population * 0.13)
    assert edgeley.left_to_do == edgeley.estimated_excluded - 3
    others = [ward for ward in report.wards if ward.code not in (EDGELEY, DAVENPORT, None)]
    assert all((w.supported, w.included, w.loans) == (0, 0, 0) for w in others)
    # The most left to do: no ward has included anyone but Edgeley, so the largest populations lead.
    most = report.wards_most_left_to_do()
    assert len(most) == 5 and EDGELEY not in {w.code for w in most[:1]}
    assert most == sorted(most, key=lambda w: -w.left_to_do)


def test_lending_figures_for_the_month(borough: Borough) -> None:
    lending = borough.services.reports.monthly(FEBRUARY).lending
    assert lending.issued == 3  # TAB-1, SIM-1 (B), LAP-1 (W)
    assert lending.returned == 1  # LAP-1 from A; CHR-1 came back as March began
    assert lending.lost == 1  # MIF-1
    assert lending.renewed == 1  # TAB-1
    assert lending.open_at_end == 4  # TAB-1, SIM-1, LAP-1 (W), CHR-1
    assert lending.overdue_at_end == 1  # CHR-1, due 2 Feb
    assert lending.data_plans_given == 1  # SIM-1
    assert lending.data_plans_expiring == 1  # SIM-1's plan ends 20 March
    assert lending.waiting_at_end == 1  # X; W was served on 16 Feb
    assert lending.average_wait_days == pytest.approx(17.0)
    # Idle: TAB-1 and SIM-1 waited from 2 Jan 09:00 to 5 Feb 10:00 (34 days), LAP-1 from 10 Feb 11:00
    # to 16 Feb 10:00 (5 whole days).
    assert lending.idle_days_longest == 34
    assert lending.idle_days_average == pytest.approx(round((34 + 34 + 5) / 3, 1))
    # Loan-months: every moment a device was out in February, over February's 28 days.
    start, end = at(2, 1, 0), at(3, 1, 0)
    out = [
        (start, at(2, 10, 11)),  # LAP-1 with A
        (at(2, 5), end),  # TAB-1
        (at(2, 5), end),  # SIM-1
        (at(2, 16), end),  # LAP-1 with W
        (start, end),  # CHR-1
        (start, at(2, 25)),  # MIF-1 until lost
    ]
    days = sum((until - since).total_seconds() for since, until in out) / 86400
    assert lending.loan_months == pytest.approx(round(days / 28, 1))
    by_type = {(d.device_type, d.status): d.count for d in lending.devices}
    assert by_type[(DeviceType.LAPTOP.label, DeviceStatus.ON_LOAN.label)] == 1
    assert by_type[(DeviceType.MIFI.label, DeviceStatus.QUARANTINED.label)] == 1
    assert sum(by_type.values()) == 5


def test_support_figures_for_the_month(borough: Borough) -> None:
    support = borough.services.reports.monthly(FEBRUARY).support
    assert support.sessions == 3  # 3 Feb, 14 Feb, 28 Feb (1 March's is not February's)
    assert support.residents_helped == 3  # C, E, B
    assert support.anonymous_attendees == 1
    assert support.new_residents == 3  # E, X, G
    assert support.skills_checks == 5  # B, C twice, D, F
    assert support.champions_active == 2
    assert support.session_minutes == 60 + 90 * 2 + 30  # the group session counts for both champions
    assert support.other_minutes == 120  # Tom's outreach was in March
    assert support.volunteer_hours == pytest.approx(6.5)
    topics = {tally.label: tally.count for tally in support.topics}
    assert topics[SkillArea.COMMUNICATING.label] == 2  # 3 Feb; video calls on 28 Feb
    assert topics[SkillArea.TRANSACTING.label] == 1  # the NHS App on 3 Feb
    assert topics[SkillArea.BEING_SAFE_LEGAL.label] == 1  # 14 Feb, counted once for two topics
    assert topics[SkillArea.FOUNDATION.label] == 0  # January's and March's sessions only
    assert len(topics) == len(SkillArea)


def test_who_the_month_reached(borough: Borough) -> None:
    reach = borough.services.reports.monthly(FEBRUARY).reach
    assert reach.residents == 6  # B C D E F W: a session, a loan or a skills check in February
    ages = {tally.label: tally.count for tally in reach.age_bands}
    assert ages[AgeBand.AGE_65_74.label] == 2  # C, F
    assert ages[AgeBand.AGE_25_49.label] == 2  # E, W
    assert ages[AgeBand.AGE_75_PLUS.label] == 0  # A did nothing in February
    groups = [tally.count for tally in reach.priority_groups]
    assert groups == [2, 1, 2, 1, 1]  # older C F; disabled F; benefits C D; B not in work; B care leaver
    sources = {tally.label: tally.count for tally in reach.referral_sources}
    assert sources == {"Age UK Stockport": 2, "Stockport Homes": 1, "Not recorded or self-referred": 3}


def test_trends_cover_twelve_months_to_the_report_month(borough: Borough) -> None:
    trends = borough.services.reports.monthly(FEBRUARY).trends
    assert [t.month for t in trends] == [date(2025, m, 1) for m in range(3, 13)] + [
        date(2026, 1, 1),
        FEBRUARY,
    ]
    january, february = trends[-2], trends[-1]
    assert (january.included, january.newly_included, january.sessions, january.loans_issued) == (2, 2, 1, 3)
    assert (february.included, february.newly_included, february.sessions, february.loans_issued) == (
        3,
        2,
        3,
        3,
    )
    assert january.volunteer_hours == pytest.approx(0.8)  # 45 minutes
    assert february.volunteer_hours == pytest.approx(6.5)
    assert all((t.included, t.sessions, t.loans_issued) == (0, 0, 0) for t in trends[:-2])


def test_a_month_with_no_activity_reports_zeros(borough: Borough) -> None:
    report = borough.services.reports.monthly(date(2025, 6, 1))
    assert (report.headline.included, report.headline.supported, report.headline.newly_included_month) == (
        0,
        0,
        0,
    )
    assert report.lending.issued == report.lending.open_at_end == report.lending.overdue_at_end == 0
    assert report.lending.loan_months == 0
    assert report.lending.idle_days_average is None and report.lending.average_wait_days is None
    assert report.support.sessions == report.reach.residents == 0
    assert all(t.sessions == t.included == 0 for t in report.trends)
    assert [w for w in report.wards if w.code is None] == []  # nobody without a ward yet


def test_the_current_month_counts_march_so_far(borough: Borough) -> None:
    report = borough.services.reports.monthly(date(2026, 3, 14))
    assert report.month == date(2026, 3, 1)
    assert report.headline.included == 2  # A and B; F is supported again
    assert report.headline.no_longer_included == 1  # F
    assert report.lending.returned == 1  # CHR-1, at midnight on 1 March
    assert report.support.sessions == 1


def test_a_resident_who_moves_ward_is_counted_in_the_ward_on_their_record(borough: Borough) -> None:
    a = borough.residents["A"]
    borough.services.residents.update(a.reference, replace(a.as_draft(), ward_code=DAVENPORT))
    report = borough.services.reports.monthly(FEBRUARY)
    assert (_ward(report, EDGELEY).included, _ward(report, DAVENPORT).included) == (2, 1)
    assert report.headline.included == 3


def test_published_counts_hide_one_to_four() -> None:
    assert [published(n) for n in (0, 1, 4, 5, 1234)] == [0, FEWER_THAN_5, FEWER_THAN_5, 5, 1234]


def test_the_dashboard_shows_the_same_figures_as_the_report(borough: Borough) -> None:
    reports = borough.services.reports
    for month in (FEBRUARY, date(2026, 3, 1), date(2025, 6, 1)):
        report, dashboard = reports.monthly(month), reports.dashboard(month)
        assert (dashboard.month, dashboard.rule, dashboard.excluded_rate) == (
            report.month,
            report.rule,
            report.excluded_rate,
        )
        assert (dashboard.headline, dashboard.wards) == (report.headline, report.wards)
        assert (
            dashboard.loans_issued,
            dashboard.loans_returned,
            dashboard.loans_open_at_end,
            dashboard.loans_overdue_at_end,
            dashboard.waiting_at_end,
        ) == (
            report.lending.issued,
            report.lending.returned,
            report.lending.open_at_end,
            report.lending.overdue_at_end,
            report.lending.waiting_at_end,
        )
        support = report.support
        assert (dashboard.sessions, dashboard.residents_helped, dashboard.new_residents) == (
            support.sessions,
            support.residents_helped,
            support.new_residents,
        )
        assert dashboard.volunteer_hours == pytest.approx(support.volunteer_hours)


def test_a_loan_recorded_late_does_not_count_its_resident_twice(services: Services, clock: FakeClock) -> None:
    # Own connection; a tablet lent 5 Jan (included), back 1 Feb (supported); then on 3 Feb a laptop is
    # recorded as lent on 25 Jan. She was included from 5 January throughout.
    b = Borough(services, clock)
    b.resident("Z", at(1, 2), ward_code=EDGELEY)
    levels = dict.fromkeys(SkillArea, SkillLevel.ALONE)
    b.when(at(1, 3))
    services.skills.record(
        b.residents["Z"].reference,
        SkillsCheckDraft(levels=levels, checked_on=b.today(), own_device=False, own_connection=True),
    )
    services.inventory.add(DeviceDraft(tag="TAB-1", device_type=DeviceType.TABLET))
    services.inventory.add(DeviceDraft(tag="LAP-1", device_type=DeviceType.LAPTOP))
    b.when(at(1, 5))
    services.lending.issue("TAB-1", b.residents["Z"].reference)
    b.when(at(2, 1))
    services.lending.return_device("TAB-1")
    b.when(at(2, 3))
    services.lending.issue(
        "LAP-1", b.residents["Z"].reference, issued_at=at(1, 25), late_reason="Paper form found in the drawer"
    )
    b.when(at(3, 14))
    january = services.reports.monthly(date(2026, 1, 1)).headline
    february = services.reports.monthly(FEBRUARY).headline
    assert (january.included, january.newly_included_month, january.no_longer_included) == (1, 1, 0)
    assert (february.included, february.newly_included_month, february.no_longer_included) == (1, 0, 0)
    assert services.reports.dashboard(FEBRUARY).headline == february


def test_the_month_so_far_counts_as_overdue_only_what_is_due_before_today(
    services: Services, clock: FakeClock
) -> None:
    b = Borough(services, clock)
    b.resident("Y", at(3, 1), ward_code=EDGELEY)
    services.inventory.add(DeviceDraft(tag="TAB-1", device_type=DeviceType.TABLET))
    services.inventory.add(DeviceDraft(tag="TAB-2", device_type=DeviceType.TABLET))
    b.when(at(3, 2))
    services.lending.issue("TAB-1", b.residents["Y"].reference, due_on=date(2026, 3, 10))
    services.lending.issue("TAB-2", b.residents["Y"].reference, due_on=date(2026, 3, 20))
    b.when(at(3, 14))  # TAB-1 is overdue; TAB-2 is not due until the 20th
    lending = services.reports.monthly(date(2026, 3, 1)).lending
    assert (lending.open_at_end, lending.overdue_at_end) == (2, 1)
    assert services.reports.dashboard(date(2026, 3, 1)).loans_overdue_at_end == 1
    # Loan-months so far: two tablets for 12 days, over March's 31.
    assert lending.loan_months == pytest.approx(
        round(2 * (at(3, 14) - at(3, 2)).total_seconds() / 86400 / 31, 1)
    )
