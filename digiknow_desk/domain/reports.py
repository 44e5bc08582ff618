"""The monthly report against the 100%-digitally-included measure: its figures as typed records, and
the rules every published figure follows (small counts suppressed, the financial year, the month so far)
with the few ways a published figure is written, shared by the report and the Dashboard.

The records hold exact counts; `published` is applied to every count of people, loans or sessions on
the way out (PDF, CSV, JSON and the Dashboard), and `published_group` to counts that add up to a
published total (the wards, age bands, referral sources), so no printed or exported figure can
identify anyone, and no withheld count can be worked out by subtracting the others from the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from digiknow_desk.domain.sessions import month_bounds

FEWER_THAN_5 = "fewer than 5"
NOT_SHOWN = "–"  # a figure withheld because it would give away a count from 1 to 4; the report's notes say so
MOST_LEFT_TO_DO = 5  # how many wards with most left to do stand out
DEFAULT_EXCLUDED_RATE = 0.13  # the borough plan: about 13% of residents are digitally excluded
FINANCIAL_YEAR_STARTS = 4  # April


def published(count: int) -> int | str:
    """A count as it may be published: 1 to 4 become "fewer than 5", so nobody can be identified."""
    return FEWER_THAN_5 if 1 <= count <= 4 else count


def published_group(counts: Sequence[int]) -> list[int | str]:
    """Counts that add up to a published total, as they may be published: 1 to 4 as "fewer than 5"; and
    while the total less the counts shown would still pin down a withheld count (as it always does when
    only one is withheld, or when all withheld are 1 or all 4), the smallest other count above 0 is
    withheld too, as NOT_SHOWN, so that the total gives away only a sum that several counts could make."""
    values: list[int | str] = [published(count) for count in counts]
    while _gives_one_away(counts, values):
        shown_above_0 = [
            number for number, value in enumerate(values) if isinstance(value, int) and value > 0
        ]
        if not shown_above_0:
            break  # the total itself is small enough to be withheld wherever it is published
        values[min(shown_above_0, key=lambda number: counts[number])] = NOT_SHOWN
    return values


def _gives_one_away(counts: Sequence[int], values: Sequence[int | str]) -> bool:
    """True when the total less the counts shown leaves one possible value for a withheld count, as a
    reader knowing the rule would work it out: each "fewer than 5" is 1 to 4, each NOT_SHOWN from 5 to
    the smallest count shown above 0 (it was withheld as the smallest)."""
    hidden = [number for number, value in enumerate(values) if isinstance(value, str)]
    rest = sum(counts[number] for number in hidden)
    smallest_shown = min((value for value in values if isinstance(value, int) and value > 0), default=rest)
    bounds = [(1, 4) if values[number] == FEWER_THAN_5 else (5, smallest_shown) for number in hidden]
    low, high = sum(least for least, _ in bounds), sum(most for _, most in bounds)
    return any(max(least, rest - (high - most)) == min(most, rest - (low - least)) for least, most in bounds)


def shown(count: int) -> str:
    """A count as printed: thousands separated, 1 to 4 as "fewer than 5"."""
    return count_text(published(count))


def count_text(value: int | str) -> str:
    """A published count as printed: thousands separated, or the words it was withheld with."""
    return value if isinstance(value, str) else f"{value:,}"


def percent(part: int | str, whole: int) -> float | None:
    """`part` (a count, or a published one) as a percentage of `whole`, or None when it would reveal a
    suppressed count (or whole is 0)."""
    if isinstance(part, str) or whole <= 0 or 1 <= part <= 4:
        return None
    return 100 * part / whole


def percent_text(value: float | None) -> str:
    """'37.5%', or a dash when the percentage is withheld."""
    return NOT_SHOWN if value is None else f"{value:.1f}%"


def last_day(month: date) -> date:
    """The last day of the month that `month` falls in."""
    return month_bounds(month)[1] - timedelta(days=1)


def month_so_far(month: date, produced_at: datetime) -> bool:
    """True when the figures for `month` were produced before it was over (in local time): they run
    from its first day to the day they were produced, not to its end."""
    return month.replace(day=1) <= produced_at.astimezone().date() < last_day(month) + timedelta(days=1)


def financial_year_start(month: date) -> date:
    """The first day of the financial year (from 1 April) that `month` falls in."""
    year = month.year if month.month >= FINANCIAL_YEAR_STARTS else month.year - 1
    return date(year, FINANCIAL_YEAR_STARTS, 1)


def check_excluded_rate(rate: float) -> str | None:
    """Why `rate` cannot be the share of residents estimated to be digitally excluded, or None."""
    if not 0 < rate < 1:
        return "Give the excluded rate as a percentage between 0 and 100, such as 13."
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
    """One ward: residents supported and included since the start, at the end of the month, and the
    month's loans. Residents are counted in the ward on their record when the report is made; code None
    is the row for residents with no ward recorded."""

    code: str | None
    name: str
    population: int
    estimated_excluded: int
    supported: int
    included: int
    loans: int  # loans issued to the ward's residents in the month

    @property
    def left_to_do(self) -> int:
        return max(self.estimated_excluded - self.included, 0)


@dataclass(frozen=True)
class PublishedWard:
    """A ward's row as it may be published: its counts as `published_group` gives them with every other
    ward's (the wards add up to the headline totals), and the figures worked out from them."""

    ward: WardFigures
    supported: int | str
    included: int | str
    loans: int | str

    @property
    def percent_reached(self) -> float | None:
        """Residents supported as a share of the estimated excluded, or None when supported is withheld."""
        return percent(self.supported, self.ward.estimated_excluded)

    @property
    def left_to_do(self) -> int | None:
        """What is left to do, or None when the number included is withheld (the estimate less what is
        left would give it away)."""
        return None if isinstance(self.included, str) else self.ward.left_to_do


def published_wards(wards: Sequence[WardFigures]) -> list[PublishedWard]:
    """Every ward (and the row with no ward) as published: each column published as a group."""
    supported = published_group([ward.supported for ward in wards])
    included = published_group([ward.included for ward in wards])
    loans = published_group([ward.loans for ward in wards])
    return [PublishedWard(*row) for row in zip(wards, supported, included, loans, strict=True)]


def left_to_do_text(row: PublishedWard) -> str:
    """What is left to do in the ward as printed, or a dash when it would give away a withheld count."""
    left = row.left_to_do
    return NOT_SHOWN if left is None else shown(left)


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
    waiting_at_end: int  # on the waiting list at the end of the month
    average_wait_days: (
        float | None
    )  # joining the list to the loan, for waits fulfilled (ended by a loan) in the month
    data_plans_given: int  # loans of data SIMs and MiFi devices issued in the month
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

    def wards_most_left_to_do(self, how_many: int = MOST_LEFT_TO_DO) -> list[WardFigures]:
        return most_left_to_do(self.wards, how_many)


def most_left_to_do(wards: tuple[WardFigures, ...], how_many: int = MOST_LEFT_TO_DO) -> list[WardFigures]:
    """The wards (not the row with no ward) with the most residents still to include, ranked by what is
    published: a ward whose number left to do is withheld ranks by its estimate (the most it could be),
    so its place in the ranking cannot give the withheld count away."""

    def published_left(row: PublishedWard) -> int:
        return row.ward.estimated_excluded if row.left_to_do is None else row.left_to_do

    placed = [row for row in published_wards(wards) if row.ward.code is not None]
    ranked = sorted(placed, key=lambda row: (-published_left(row), row.ward.name))
    return [row.ward for row in ranked[:how_many]]


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
    demo: bool = False  # made from a database that had demo data: every page and file says so

    @property
    def financial_year_start(self) -> date:
        return financial_year_start(self.month)

    def wards_most_left_to_do(self, how_many: int = MOST_LEFT_TO_DO) -> list[WardFigures]:
        return most_left_to_do(self.wards, how_many)
