"""The monthly report's figures, each read with aggregate SQL over the month's (or the year's) rows
through indexes, never by loading ten years of records.

Inclusion figures come from the residents' stored statuses and their history (inclusion_changes):
a resident's status at a moment is their status now, taken back through every change since. Each
change moves the counts of "included" and "supported" by +1, -1 or 0, so the number included at the
end of a past month is today's number less the changes since, and a resident newly included in a
period is one whose changes in it add up to +1, whatever order they came in.
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union,
)
from sqlalchemy.orm import Session

from digiknow_desk.domain.champions import add_months
from digiknow_desk.domain.devices import DeviceStatus, DeviceType
from digiknow_desk.domain.inclusion import InclusionStatus
from digiknow_desk.domain.loans import LoanOutcome, WaitStatus
from digiknow_desk.domain.reports import (
    DashboardFigures,
    DeviceTally,
    Headline,
    LendingFigures,
    MonthlyReport,
    MonthTotals,
    ReachFigures,
    SupportFigures,
    Tally,
    WardFigures,
    financial_year_start,
)
from digiknow_desk.domain.residents import YOUNG_AGE_BANDS, AgeBand, Answer
from digiknow_desk.domain.sessions import CommonTask, month_bounds
from digiknow_desk.domain.skills import SkillArea
from digiknow_desk.domain.staff import Permission
from digiknow_desk.paths import shipped_dir
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.files import check_folder, write_atomically
from digiknow_desk.services.inclusion import read_rule
from digiknow_desk.services.settings import is_demo_database
from digiknow_desk.services.wards import estimated_excluded, read_excluded_rate, read_population_source
from digiknow_desk.storage.models import (
    ChampionHoursRow,
    DataPlanRow,
    DeviceRow,
    InclusionChangeRow,
    LoanRenewalRow,
    LoanRow,
    ResidentRow,
    SessionAttendeeRow,
    SessionChampionRow,
    SessionRow,
    SessionTopicRow,
    SkillsCheckRow,
    WaitEntryRow,
    WardRow,
)

TREND_MONTHS = 12
NO_WARD = "No ward recorded"
EXPIRING_DAYS = 30  # data plans running out this soon after the month are reported
OLDER = (AgeBand.AGE_65_74, AgeBand.AGE_75_PLUS)
MOST_REFERRAL_SOURCES = 8  # the rest are added up as "Other partners"

_INCLUDED = (InclusionStatus.INCLUDED.value, InclusionStatus.INDEPENDENT.value)
_NOT_YET = InclusionStatus.NOT_YET_SUPPORTED.value


def monthly_template() -> Path:
    """The monthly report's wording and logo as shipped (reports/monthly), which a coordinator may edit."""
    return shipped_dir("reports") / "monthly" / "template.toml"


def moment(day: date) -> datetime:
    """Midnight at the start of `day` where the desk is, as a UTC timestamp."""
    return datetime.combine(day, time()).astimezone(UTC)


class _Period:
    """The report's month, its financial year and its 12 trend months, as days and as UTC moments. For
    the month not over yet, loans are overdue and loan-months counted as they are now (nothing else can
    have happened later in it)."""

    def __init__(self, month: date, now: datetime) -> None:
        self.first, self.following = month_bounds(month)
        self.start, self.end = moment(self.first), moment(self.following)
        self.until = min(self.end, now)  # the month so far, when it is not over
        self.month_seconds = (self.end - self.start).total_seconds()
        self.due_before = self.until.astimezone().date()  # a loan due before this day is overdue
        self.year_start = moment(financial_year_start(self.first))
        self.trend_months = [add_months(self.first, -back) for back in range(TREND_MONTHS - 1, -1, -1)]
        self.trend_days = [*self.trend_months, self.following]
        self.trend_moments = [moment(day) for day in self.trend_days]


class ReportService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.SEE_REPORTS)
    def save_monthly(self, month: date, pdf_out: Path, csv_out: Path | None = None) -> MonthlyReport:
        """Read the month's figures and save them as the monthly report (PDF), and every figure as CSV
        (safe to open in a spreadsheet) when `csv_out` is given; the figures saved. Both places are
        checked first, so a refusal writes neither."""
        from digiknow_desk.reporting.monthly_report import monthly_report_csv, monthly_report_pdf

        for out in (pdf_out, csv_out):
            if out is not None:
                check_folder(out)
        report = self.monthly(month)
        pdf = monthly_report_pdf(report, monthly_template())
        write_atomically(pdf_out, lambda stream: stream.write(pdf))
        if csv_out is not None:
            table = monthly_report_csv(report, monthly_template()).encode("utf-8-sig")  # Excel reads UTF-8
            write_atomically(csv_out, lambda stream: stream.write(table))
        return report

    @requires(Permission.SEE_REPORTS)
    def as_json(self, report: MonthlyReport) -> dict[str, object]:
        """Every headline and table figure of `report`, ready for json.dumps, counts 1 to 4 withheld."""
        from digiknow_desk.reporting.monthly_report import monthly_report_json

        return monthly_report_json(report)

    @requires(Permission.SEE_REPORTS)
    def dashboard(self, month: date) -> DashboardFigures:
        """The Dashboard's figures for the month `month` falls in: the report's headline and wards, and
        the few lending and support counts it shows, without the report's detail (a quarter the work)."""
        period = _Period(month, self._context.now())
        with self._context.db.read() as session:
            rate = read_excluded_rate(session)
            history = _History(session, (period.year_start, period.start, period.end))
            wards, headline = _headline_and_wards(session, period, rate, history)
            _champions, session_minutes, other_minutes = _champion_time(session, period)
            return DashboardFigures(
                month=period.first,
                produced_at=self._context.now(),
                rule=read_rule(session).describe(),
                excluded_rate=rate,
                headline=headline,
                wards=wards,
                loans_issued=_issued(session, period),
                loans_returned=_closed(session, period).get(LoanOutcome.RETURNED, 0),
                loans_open_at_end=_open_at_end(session, period),
                loans_overdue_at_end=_overdue_at_end(session, period),
                waiting_at_end=_waiting_at_end(session, period),
                sessions=_sessions_held(session, period),
                residents_helped=_attendees(session, period)[0],
                new_residents=_new_residents(session, period),
                volunteer_hours=(session_minutes + other_minutes) / 60,
            )

    @requires(Permission.SEE_REPORTS)
    def monthly(self, month: date) -> MonthlyReport:
        """Every figure of the monthly report for the month `month` falls in, read in one transaction."""
        period = _Period(month, self._context.now())
        with self._context.db.read() as session:
            rate = read_excluded_rate(session)
            history = _History(session, (period.year_start, *period.trend_moments))
            wards, headline = _headline_and_wards(session, period, rate, history)
            included_now = _count(
                session, select(func.count()).where(ResidentRow.inclusion_status.in_(_INCLUDED))
            )
            return MonthlyReport(
                month=period.first,
                produced_at=self._context.now(),
                database=self._context.db.display_name,
                rule=read_rule(session).describe(),
                excluded_rate=rate,
                population_source=read_population_source(session),
                headline=headline,
                wards=wards,
                lending=_lending(session, period),
                support=_support(session, period),
                reach=_reach(session, period),
                trends=_trends(session, period, _included_trend(period, history, included_now)),
                demo=is_demo_database(session),
            )


# Inclusion: the headline, the wards, and each trend month's included and newly included


class _History:
    """The status changes since the first of `moments` of each resident who had any, read once.

    A resident's status at a moment is the status their first change at or after it moved them from
    (their status now if none came since). Read resident by resident like this, a change recorded late
    (a loan or session entered after the fact, dated in the past) cannot make anyone count twice. Each
    change is read with the number of `moments` at or before it (its slot), worked out by the database,
    and statuses as their stored values: 20,000 changes then take tens of milliseconds, not hundreds.
    """

    def __init__(self, session: Session, moments: Sequence[datetime]) -> None:
        self._slots = {at: number for number, at in enumerate(sorted(set(moments)))}
        ordered = sorted(self._slots)
        slot = case(
            *((InclusionChangeRow.at < at, number) for number, at in enumerate(ordered)), else_=len(ordered)
        )
        self.residents: dict[object, tuple[str | None, str, list[int], list[str]]] = {}
        for resident_id, change_slot, was, ward_code, now in session.execute(
            select(
                type_coerce(InclusionChangeRow.resident_id, String),
                slot,
                type_coerce(InclusionChangeRow.from_status, String),
                ResidentRow.ward_code,
                type_coerce(ResidentRow.inclusion_status, String),
            )
            .join(ResidentRow, ResidentRow.id == InclusionChangeRow.resident_id)
            .where(InclusionChangeRow.at >= ordered[0])
            .order_by(InclusionChangeRow.at)
        ):
            _ward, _now, slots, statuses = self.residents.setdefault(resident_id, (ward_code, now, [], []))
            slots.append(change_slot)
            statuses.append(was)

    def statuses(self, at: datetime) -> Iterator[tuple[str | None, str, str]]:
        """(ward, status then, status now) of each resident whose status has changed since `at`."""
        number = self._slots[at]
        for ward_code, now, slots, statuses in self.residents.values():
            after = bisect.bisect_right(slots, number)
            if after < len(slots):
                yield ward_code, statuses[after], now

    def moved(self, start: datetime, end: datetime) -> tuple[int, int]:
        """Residents newly included between `start` and `end` (included at the end, not at the start),
        and residents no longer included (the other way round)."""
        first, last = self._slots[start], self._slots[end]
        came = went = 0
        for _ward, now, slots, statuses in self.residents.values():
            since_start = bisect.bisect_right(slots, first)
            if since_start == len(slots):
                continue  # no change since the start: the same status at both ends
            then = statuses[since_start]
            since_end = bisect.bisect_right(slots, last)
            at_end = statuses[since_end] if since_end < len(slots) else now
            came += at_end in _INCLUDED and then not in _INCLUDED
            went += then in _INCLUDED and at_end not in _INCLUDED
        return came, went


def _headline_and_wards(
    session: Session, period: _Period, rate: float, history: _History
) -> tuple[tuple[WardFigures, ...], Headline]:
    # Today's counts by ward, taken back to the end of the month resident by resident.
    by_ward: dict[str | None, list[int]] = {
        ward_code: [int(included or 0), int(supported or 0)]
        for ward_code, included, supported in session.execute(
            select(
                ResidentRow.ward_code,
                func.sum(case((ResidentRow.inclusion_status.in_(_INCLUDED), 1), else_=0)),
                func.sum(case((ResidentRow.inclusion_status != _NOT_YET, 1), else_=0)),
            ).group_by(ResidentRow.ward_code)
        )
    }
    for ward_code, then, now in history.statuses(period.end):
        counts = by_ward.setdefault(ward_code, [0, 0])
        counts[0] += (then in _INCLUDED) - (now in _INCLUDED)
        counts[1] += (then != _NOT_YET) - (now != _NOT_YET)
    loans_by_ward = dict(
        session.execute(
            select(ResidentRow.ward_code, func.count())
            .select_from(LoanRow)
            .join(ResidentRow, ResidentRow.id == LoanRow.resident_id)
            .where(LoanRow.issued_at >= period.start, LoanRow.issued_at < period.end)
            .group_by(ResidentRow.ward_code)
        ).all()
    )
    wards = [
        WardFigures(
            code=code,
            name=name,
            population=population,
            estimated_excluded=estimated_excluded(population, rate),
            supported=by_ward.get(code, [0, 0])[1],
            included=by_ward.get(code, [0, 0])[0],
            loans=int(loans_by_ward.get(code, 0)),
        )
        for code, name, population in session.execute(
            select(WardRow.code, WardRow.name, WardRow.population).order_by(WardRow.name)
        )
    ]
    unplaced = by_ward.get(None, [0, 0])
    if unplaced != [0, 0] or loans_by_ward.get(None):
        wards.append(
            WardFigures(
                code=None,
                name=NO_WARD,
                population=0,
                estimated_excluded=0,
                supported=unplaced[1],
                included=unplaced[0],
                loans=int(loans_by_ward.get(None, 0)),
            )
        )
    came, went = history.moved(period.start, period.end)
    headline = Headline(
        included=sum(ward.included for ward in wards),
        newly_included_month=came,
        newly_included_year=history.moved(period.year_start, period.end)[0],
        no_longer_included=went,
        supported=sum(ward.supported for ward in wards),
        estimated_excluded=sum(ward.estimated_excluded for ward in wards),
    )
    return tuple(wards), headline


def _included_trend(period: _Period, history: _History, included_now: int) -> list[tuple[int, int]]:
    """For each trend month: the residents included at its end, and those newly included in it."""
    trend = []
    for start, end in itertools.pairwise(period.trend_moments):
        at_end = included_now + sum(
            (then in _INCLUDED) - (now in _INCLUDED) for _ward, then, now in history.statuses(end)
        )
        trend.append((at_end, history.moved(start, end)[0]))
    return trend


# Lending


def _issued(session: Session, period: _Period) -> int:
    return _count(
        session,
        select(func.count())
        .select_from(LoanRow)
        .where(LoanRow.issued_at >= period.start, LoanRow.issued_at < period.end),
    )


def _closed(session: Session, period: _Period) -> dict[LoanOutcome | None, int]:
    """Loans closed in the month, by how they ended."""
    return {
        outcome: int(count)
        for outcome, count in session.execute(
            select(LoanRow.outcome, func.count())
            .where(LoanRow.closed_at >= period.start, LoanRow.closed_at < period.end)
            .group_by(LoanRow.outcome)
        )
    }


def _open_at_end(session: Session, period: _Period) -> int:
    """Loans open at the end of the month: open now, plus closed since, less issued since."""
    open_now = _count(session, select(func.count()).select_from(LoanRow).where(LoanRow.closed_at.is_(None)))
    closed_since = _count(
        session, select(func.count()).select_from(LoanRow).where(LoanRow.closed_at >= period.end)
    )
    issued_since = _count(
        session, select(func.count()).select_from(LoanRow).where(LoanRow.issued_at >= period.end)
    )
    return open_now + closed_since - issued_since


def _overdue_at_end(session: Session, period: _Period) -> int:
    """Loans out at the end of the month and due (as it stood then, before any later renewal) before it."""
    due_then = func.coalesce(
        select(LoanRenewalRow.due_before)
        .where(LoanRenewalRow.loan_id == LoanRow.id, LoanRenewalRow.renewed_at >= period.end)
        .order_by(LoanRenewalRow.renewed_at)
        .limit(1)
        .scalar_subquery(),
        LoanRow.due_on,
    )
    # Asked of open loans and of closed ones apart, so each reads its own index.
    return sum(
        _count(
            session,
            select(func.count())
            .select_from(LoanRow)
            .where(out, LoanRow.issued_at < period.end, due_then < period.due_before),
        )
        for out in (LoanRow.closed_at.is_(None), LoanRow.closed_at >= period.end)
    )


def _waiting_at_end(session: Session, period: _Period) -> int:
    return _count(
        session,
        select(func.count())
        .select_from(WaitEntryRow)
        .where(
            WaitEntryRow.joined_at < period.end,
            or_(WaitEntryRow.closed_at.is_(None), WaitEntryRow.closed_at >= period.end),
        ),
    )


def _lending(session: Session, period: _Period) -> LendingFigures:
    closed = _closed(session, period)
    renewed = _count(
        session,
        select(func.count()).where(
            LoanRenewalRow.renewed_at >= period.start, LoanRenewalRow.renewed_at < period.end
        ),
    )
    # Loan-months: every moment a device was out in the month, over the month's length.
    out_in_month = [
        row
        for out in (LoanRow.closed_at.is_(None), LoanRow.closed_at >= period.start)
        for row in session.execute(
            select(LoanRow.issued_at, LoanRow.closed_at).where(out, LoanRow.issued_at < period.end)
        )
    ]
    loan_months = (
        sum(
            (min(closed or period.until, period.until) - max(issued_at, period.start)).total_seconds()
            for issued_at, closed in out_in_month
        )
        / period.month_seconds
    )
    devices = tuple(
        DeviceTally(DeviceType(kind).label, DeviceStatus(status).label, int(count))
        for kind, status, count in session.execute(
            select(DeviceRow.device_type, DeviceRow.status, func.count())
            .group_by(DeviceRow.device_type, DeviceRow.status)
            .order_by(DeviceRow.device_type, DeviceRow.status)
        )
    )
    idle = _idle_days(session, period)
    waits = [
        (closed - joined).total_seconds() / 86400
        for joined, closed in session.execute(
            select(WaitEntryRow.joined_at, WaitEntryRow.closed_at).where(
                WaitEntryRow.status == WaitStatus.FULFILLED,
                WaitEntryRow.closed_at >= period.start,
                WaitEntryRow.closed_at < period.end,
            )
        )
        if closed is not None
    ]
    data_given = _count(
        session,
        select(func.count())
        .select_from(LoanRow)
        .join(DeviceRow, DeviceRow.id == LoanRow.device_id)
        .where(
            LoanRow.issued_at >= period.start,
            LoanRow.issued_at < period.end,
            DeviceRow.device_type.in_((DeviceType.DATA_SIM, DeviceType.MIFI)),
        ),
    )
    expiring = _count(
        session,
        select(func.count()).where(
            DataPlanRow.expires_on >= period.following,
            DataPlanRow.expires_on < period.following + timedelta(days=EXPIRING_DAYS),
        ),
    )
    return LendingFigures(
        issued=_issued(session, period),
        returned=closed.get(LoanOutcome.RETURNED, 0),
        renewed=renewed,
        lost=closed.get(LoanOutcome.LOST, 0) + closed.get(LoanOutcome.STOLEN, 0),
        open_at_end=_open_at_end(session, period),
        overdue_at_end=_overdue_at_end(session, period),
        loan_months=round(loan_months, 1),
        devices=devices,
        idle_days_average=round(sum(idle) / len(idle), 1) if idle else None,
        idle_days_longest=max(idle) if idle else None,
        waiting_at_end=_waiting_at_end(session, period),
        average_wait_days=round(sum(waits) / len(waits), 1) if waits else None,
        data_plans_given=data_given,
        data_plans_expiring=expiring,
    )


def _idle_days(session: Session, period: _Period) -> list[int]:
    """For each loan issued in the month, the days its device sat since it last came back (or since it
    was added, for its first loan)."""
    earlier = LoanRow.__table__.alias("earlier")
    came_back = (  # loans of one device never overlap: the one before came back last
        select(earlier.c.closed_at)
        .where(earlier.c.device_id == LoanRow.device_id, earlier.c.issued_at < LoanRow.issued_at)
        .order_by(earlier.c.issued_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(
        select(LoanRow.issued_at, came_back, DeviceRow.created_at)
        .join(DeviceRow, DeviceRow.id == LoanRow.device_id)
        .where(LoanRow.issued_at >= period.start, LoanRow.issued_at < period.end)
    )
    idle = []
    for issued_at, back, added in rows:
        since = _aware(back) if back is not None else added
        idle.append(max((issued_at - since).days, 0))
    return idle


def _aware(value: datetime | str) -> datetime:
    """A timestamp read from a raw column expression (SQLite hands back text; the models' UTC type is
    not applied to an aggregate)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _days(column: Any, period: _Period) -> ColumnElement[bool]:
    """`column` (a day) falls in the report's month."""
    return and_(column >= period.first, column < period.following)


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(query) or 0)


# Support


def _sessions_held(session: Session, period: _Period) -> int:
    return _count(
        session, select(func.count()).select_from(SessionRow).where(_days(SessionRow.held_on, period))
    )


def _attendees(session: Session, period: _Period) -> tuple[int, int]:
    """Registered residents at the month's sessions, and attendances by people not registered."""
    helped, anonymous = session.execute(
        select(
            func.count(distinct(SessionAttendeeRow.resident_id)),
            func.sum(case((SessionAttendeeRow.resident_id.is_(None), 1), else_=0)),
        ).where(_days(SessionAttendeeRow.held_on, period))
    ).one()
    return int(helped or 0), int(anonymous or 0)


def _champion_time(session: Session, period: _Period) -> tuple[int, int, int]:
    """Champions with sessions in the month, their minutes in sessions, and their other minutes."""
    champions, session_minutes = session.execute(
        select(
            func.count(distinct(SessionChampionRow.champion_id)), func.sum(SessionChampionRow.minutes)
        ).where(_days(SessionChampionRow.held_on, period))
    ).one()
    other_minutes = _count(
        session,
        select(func.sum(ChampionHoursRow.minutes)).where(
            ChampionHoursRow.worked_on >= period.first, ChampionHoursRow.worked_on < period.following
        ),
    )
    return int(champions or 0), int(session_minutes or 0), other_minutes


def _new_residents(session: Session, period: _Period) -> int:
    return _count(
        session,
        select(func.count()).where(
            ResidentRow.created_at >= period.start, ResidentRow.created_at < period.end
        ),
    )


def _support(session: Session, period: _Period) -> SupportFigures:
    helped, anonymous = _attendees(session, period)
    champions, session_minutes, other_minutes = _champion_time(session, period)
    checks = _count(
        session,
        select(func.count()).select_from(SkillsCheckRow).where(_days(SkillsCheckRow.checked_on, period)),
    )
    area_of_topic = case(
        *((SessionTopicRow.topic == task.value, literal(task.area.value)) for task in CommonTask),
        else_=SessionTopicRow.topic,
    )
    by_area: dict[str, int] = {
        area: int(count)
        for area, count in session.execute(
            select(area_of_topic.label("area"), func.count(distinct(SessionTopicRow.session_id)))
            .where(_days(SessionTopicRow.held_on, period))
            .group_by("area")
        )
    }
    return SupportFigures(
        sessions=_sessions_held(session, period),
        residents_helped=helped,
        anonymous_attendees=anonymous,
        new_residents=_new_residents(session, period),
        skills_checks=checks,
        topics=tuple(Tally(area.label, int(by_area.get(area.value, 0))) for area in SkillArea),
        champions_active=champions,
        session_minutes=session_minutes,
        other_minutes=other_minutes,
    )


# Who the month reached


def _reach(session: Session, period: _Period) -> ReachFigures:
    reached = union(
        select(SessionAttendeeRow.resident_id).where(
            _days(SessionAttendeeRow.held_on, period), SessionAttendeeRow.resident_id.is_not(None)
        ),
        select(LoanRow.resident_id).where(LoanRow.issued_at >= period.start, LoanRow.issued_at < period.end),
        select(SkillsCheckRow.resident_id).where(_days(SkillsCheckRow.checked_on, period)),
    ).subquery()
    # Residents alike in every way counted are counted together: a few hundred rows, not thousands.
    alike = (
        ResidentRow.age_band,
        ResidentRow.disability,
        ResidentRow.on_benefits,
        ResidentRow.not_in_work_or_education,
        ResidentRow.care_leaver,
        ResidentRow.referral_partner,
    )
    rows = session.execute(
        select(*alike, func.count().label("residents"))
        .where(ResidentRow.id.in_(select(reached.c.resident_id)))
        .group_by(*alike)
    ).all()
    ages: Counter[AgeBand] = Counter()
    partners: Counter[str] = Counter()
    for row in rows:
        ages[row.age_band] += row.residents
        partners[row.referral_partner.strip() or "Not recorded or self-referred"] += row.residents
    # The most first, and partners with as many by name: the same report from the same records, always.
    named = sorted(partners.items(), key=lambda item: (-item[1], item[0]))[:MOST_REFERRAL_SOURCES]
    others = sum(partners.values()) - sum(count for _name, count in named)

    def counted(is_in_group: Callable[[Any], bool]) -> int:
        return sum(row.residents for row in rows if is_in_group(row))

    return ReachFigures(
        residents=sum(row.residents for row in rows),
        age_bands=tuple(Tally(band.label, ages.get(band, 0)) for band in AgeBand),
        priority_groups=(
            Tally("Older residents (65 and over)", counted(lambda row: row.age_band in OLDER)),
            Tally("Disabled residents", counted(lambda row: row.disability is Answer.YES)),
            Tally("Residents on benefits", counted(lambda row: row.on_benefits is Answer.YES)),
            Tally(
                "Young people not in work, education or training",
                counted(
                    lambda row: row.age_band in YOUNG_AGE_BANDS and row.not_in_work_or_education is Answer.YES
                ),
            ),
            Tally("Care leavers", counted(lambda row: row.care_leaver is Answer.YES)),
        ),
        referral_sources=tuple(Tally(name, count) for name, count in named)
        + ((Tally("Other partners", others),) if others else ()),
    )


# Trends


def _trends(session: Session, period: _Period, inclusion: list[tuple[int, int]]) -> tuple[MonthTotals, ...]:
    days = list(itertools.pairwise(period.trend_days))
    moments = list(itertools.pairwise(period.trend_moments))
    sessions = _per_month(session, func.count(), SessionRow.held_on, days)
    minutes = [
        in_sessions + other
        for in_sessions, other in zip(
            _per_month(session, func.sum(SessionChampionRow.minutes), SessionChampionRow.held_on, days),
            _per_month(session, func.sum(ChampionHoursRow.minutes), ChampionHoursRow.worked_on, days),
            strict=True,
        )
    ]
    loans = _per_month(session, func.count(LoanRow.id), LoanRow.issued_at, moments)
    return tuple(
        MonthTotals(
            month=month,
            included=inclusion[number][0],
            newly_included=inclusion[number][1],
            sessions=sessions[number],
            loans_issued=loans[number],
            volunteer_hours=round(minutes[number] / 60, 1),
        )
        for number, month in enumerate(period.trend_months)
    )


def _per_month(
    session: Session, total: ColumnElement[Any], column: Any, months: list[tuple[Any, Any]]
) -> list[int]:
    """`total` over the rows whose `column` falls in each of `months` (start, end): a query a month, so
    each reads only its own range of the column's index."""
    table = column.class_
    return [
        int(session.scalar(select(total).select_from(table).where(column >= start, column < end)) or 0)
        for start, end in months
    ]
