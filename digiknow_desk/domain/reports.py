"""The monthly report against the 100%-digitally-included measure: its figures as typed records, and
the rules every published figure follows (small counts suppressed, the financial year).

The records hold exact counts; `published` is applied to every count of people, loans or sessions on
the way out (PDF, CSV, JSON and the Dashboard), so no printed or exported figure can identify anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

FEWER_THAN_5 = "fewer than 5"
DEFAULT_EXCLUDED_RATE = 0.13  # the borough plan: about 13% of residents are digitally excluded
FINANCIAL_YEAR_STARTS = 4  # April


def published(count: int) -> int | str:
    """A count as it may be published: 1 to 4 become "fewer than 5", so nobody can be identified."""
    return FEWER_THAN_5 if 1 <= count <= 4 else count


def is_withheld(count: int) -> bool:
    """True when `count` is published as "fewer than 5" rather than as a number."""
    return isinstance(published(count), str)


def shown(count: int) -> str:
    """A count as printed: thousands separated, 1 to 4 as "fewer than 5"."""
    value = published(count)
    return value if isinstance(value, str) else f"{value:,}"


def percent(part: int, whole: int) -> float | None:
    """`part` as a percentage of `whole`, or None when it would reveal a suppressed count (or whole is 0)."""
    if whole <= 0 or 1 <= part <= 4:
        return None
    return 100 * part / whole


def financial_year_start(month: date) -> date:
    """The first day of the financial year (from 1 April) that `month` falls in."""
    year = month.year if month.month >= FINANCIAL_YEAR_STARTS else month.year - 1
    return date(year, FINANCIAL_YEAR_STARTS, 1)


def check_excluded_rate(rate: float) -> str | None:
    """Why `rate` cannot be the share of residents estimated to be digitally excluded, or None."""
    if not 0 < rate < 1:
        return "Give the excluded share as a percentage between 0 and 100, such as 13."
    return None


@dataclass(frozen=True)
class Headline:
    """Residents digitally included (included or independently included, by the rule printed with
    the report) against the estimate of digitally excluded residents."""

    included: int  # at the end of the month: everyone the scheme has helped to inclusion who still is
    newly_included_month: int  # included at the end of the month and not at its start
    newly_included_year: int  # included at the end of the month and not at the start of the financial year
    no_longer_included: int  # included at the start of the month and not at its end
    supported: int  # at the end of the month: residents with any session, loan or skills check
    estimated_excluded: int  # the wards' populations times the excluded rate

    @property
    def percent_of_the_way(self) -> float | None:
        return percent(self.included, self.estimated_excluded)


@dataclass(frozen=True)
class WardFigures:
    """One ward since the start, at the end of the month. Residents are counted in the ward on their
    record when the report is made; code None is the row for residents with no ward recorded."""

    code: str | None
    name: str
    population: int
    estimated_excluded: int
    supported: int
    included: int
    loans: int  # loans issued to the ward's residents up to the end of the month

    @property
    def percent_reached(self) -> float | None:
        """Residents supported as a share of the estimated excluded."""
        return percent(self.supported, self.estimated_excluded)

    @property
    def left_to_do(self) -> int:
        return max(self.estimated_excluded - self.included, 0)

    @property
    def published_left_to_do(self) -> int | None:
        """What is left to do, or None when it would give away a number included that is withheld
        (the estimate less it would reveal it)."""
        return None if is_withheld(self.included) else self.left_to_do


@dataclass(frozen=True)
class Tally:
    """A labelled count in a breakdown (a device type, an age band, a topic...)."""

    label: str
    count: int


@dataclass(frozen=True)
class DeviceTally:
    device_type: str  # its label, e.g. "Tablet"
    status: str  # its label, e.g. "Available"
    count: int


@dataclass(frozen=True)
class LendingFigures:
    issued: int
    returned: int
    renewed: int
    lost: int
    open_at_end: int
    overdue_at_end: int
    loan_months: float  # the days devices were out on loan in the month, over the month's days
    devices: tuple[DeviceTally, ...]  # every device by type and status when the report was made
    idle_days_average: float | None  # days a device waited between loans, for the month's issues
    idle_days_longest: int | None
    waiting_at_end: int  # on the waiting list when the report was made
    average_wait_days: float | None  # joining the list to being offered a device, for the month's offers
    data_plans_given: int  # data SIMs and MiFi plans activated in the month
    data_plans_expiring: int  # plans running out in the 30 days after the month


@dataclass(frozen=True)
class SupportFigures:
    sessions: int
    residents_helped: int  # registered residents at one or more sessions
    anonymous_attendees: int  # attendances by people not registered
    new_residents: int  # registered in the month
    skills_checks: int
    topics: tuple[Tally, ...]  # sessions covering each skill area (common tasks counted in their area)
    champions_active: int
    session_minutes: int  # champions' time in sessions
    other_minutes: int  # training, setting up devices, outreach

    @property
    def volunteer_hours(self) -> float:
        return (self.session_minutes + self.other_minutes) / 60


@dataclass(frozen=True)
class ReachFigures:
    """Who the month's work reached: residents with a session, a loan issued or a skills check in it."""

    residents: int
    age_bands: tuple[Tally, ...]
    priority_groups: tuple[Tally, ...]
    referral_sources: tuple[Tally, ...]


@dataclass(frozen=True)
class MonthTotals:
    """One month of the 12-month trends."""

    month: date  # its first day
    included: int  # at its end
    newly_included: int
    sessions: int
    loans_issued: int
    volunteer_hours: float


@dataclass(frozen=True)
class DashboardFigures:
    """What the Dashboard shows of a month: the report's headline and wards, and a few of its lending
    and support counts (the same figures the report prints for that month)."""

    month: date  # its first day
    produced_at: datetime
    rule: str
    excluded_rate: float
    headline: Headline
    wards: tuple[WardFigures, ...]
    loans_issued: int
    loans_returned: int
    loans_open_at_end: int
    loans_overdue_at_end: int
    waiting_at_end: int
    sessions: int
    residents_helped: int
    new_residents: int
    volunteer_hours: float

    @property
    def financial_year_start(self) -> date:
        return financial_year_start(self.month)

    def wards_most_left_to_do(self, how_many: int = 5) -> list[WardFigures]:
        return most_left_to_do(self.wards, how_many)


def most_left_to_do(wards: tuple[WardFigures, ...], how_many: int = 5) -> list[WardFigures]:
    """The wards (not the row with no ward) with the most residents still to include."""
    placed = [ward for ward in wards if ward.code is not None]
    return sorted(placed, key=lambda ward: (-ward.left_to_do, ward.name))[:how_many]


@dataclass(frozen=True)
class MonthlyReport:
    month: date  # the first day of the report's month
    produced_at: datetime
    database: str  # where the figures came from, as the report prints it
    rule: str  # the inclusion rule in words, printed with every figure that uses it
    excluded_rate: float
    population_source: str  # where the ward populations behind the estimate come from
    headline: Headline
    wards: tuple[WardFigures, ...]  # the 21 wards by code, then residents with no ward (if any)
    lending: LendingFigures
    support: SupportFigures
    reach: ReachFigures
    trends: tuple[MonthTotals, ...]  # the 12 months to the report's month, oldest first

    @property
    def financial_year_start(self) -> date:
        return financial_year_start(self.month)

    def wards_most_left_to_do(self, how_many: int = 5) -> list[WardFigures]:
        return most_left_to_do(self.wards, how_many)
