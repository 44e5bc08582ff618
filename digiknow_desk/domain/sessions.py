"""Support sessions: a Digital Champion's help to one or more residents, and volunteer hours."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from digiknow_desk.domain.residents import AgeBand
from digiknow_desk.domain.skills import SkillArea

MAX_MINUTES = 8 * 60  # a session longer than a working day is a typing slip
MAX_ATTENDEES = 60
LATEST_LOGGING_DAYS = 365  # sessions are logged after the fact, but not years later


class SessionKind(StrEnum):
    ONE_TO_ONE = "one_to_one"
    DROP_IN = "drop_in"
    GROUP = "group"
    PHONE = "phone"
    VIDEO = "video"

    @property
    def label(self) -> str:
        return {
            "one_to_one": "One-to-one",
            "drop_in": "Drop-in",
            "group": "Group class",
            "phone": "Phone",
            "video": "Video call",
        }[self.value]


class CommonTask(StrEnum):
    """Tasks residents most often come for, besides the skill areas themselves."""

    NHS_APP = "nhs_app"
    UNIVERSAL_CREDIT = "universal_credit"
    ONLINE_BANKING = "online_banking"
    VIDEO_CALLS = "video_calls"
    JOB_APPLICATIONS = "job_applications"
    SPOTTING_SCAMS = "spotting_scams"
    EMAIL = "email"
    DEVICE_SETUP = "device_setup"

    @property
    def label(self) -> str:
        return {
            "nhs_app": "NHS App",
            "universal_credit": "Universal Credit journal",
            "online_banking": "Online banking",
            "video_calls": "Video calls with family",
            "job_applications": "Job applications",
            "spotting_scams": "Spotting scams",
            "email": "Email",
            "device_setup": "Setting up a device",
        }[self.value]

    @property
    def area(self) -> SkillArea:
        """The Essential Digital Skills area the task belongs to (reports count topics by area)."""
        return _TASK_AREAS[self]


_TASK_AREAS = {
    CommonTask.NHS_APP: SkillArea.TRANSACTING,
    CommonTask.UNIVERSAL_CREDIT: SkillArea.TRANSACTING,
    CommonTask.ONLINE_BANKING: SkillArea.TRANSACTING,
    CommonTask.VIDEO_CALLS: SkillArea.COMMUNICATING,
    CommonTask.JOB_APPLICATIONS: SkillArea.TRANSACTING,
    CommonTask.SPOTTING_SCAMS: SkillArea.BEING_SAFE_LEGAL,
    CommonTask.EMAIL: SkillArea.COMMUNICATING,
    CommonTask.DEVICE_SETUP: SkillArea.FOUNDATION,
}


Topic = SkillArea | CommonTask


def topic_from(value: str) -> Topic:
    """A topic from its stored value: a skill area or a common task."""
    try:
        return SkillArea(value)
    except ValueError:
        return CommonTask(value)


ALL_TOPICS: tuple[Topic, ...] = (*SkillArea, *CommonTask)


class HoursKind(StrEnum):
    """Volunteer work other than sessions."""

    TRAINING = "training"
    DEVICE_SETUP = "device_setup"
    OUTREACH = "outreach"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "training": "Training",
            "device_setup": "Setting up devices",
            "outreach": "Outreach and events",
            "other": "Other",
        }[self.value]


@dataclass(frozen=True)
class AnonymousAttendee:
    """Someone helped who is not registered: only an age band and a ward, for the counts."""

    age_band: AgeBand = AgeBand.NOT_SAID
    ward_code: str | None = None


@dataclass(frozen=True)
class SessionDraft:
    held_on: date
    starts_at: time
    minutes: int
    kind: SessionKind
    venue_id: uuid.UUID | None
    champion_ids: tuple[uuid.UUID, ...]
    resident_references: tuple[str, ...] = ()
    anonymous: tuple[AnonymousAttendee, ...] = ()
    topics: frozenset[Topic] = frozenset()
    loan_id: uuid.UUID | None = None
    outcome: str = ""
    follow_up_on: date | None = None
    follow_up: str = ""

    def cleaned(self) -> SessionDraft:
        return SessionDraft(
            held_on=self.held_on,
            starts_at=self.starts_at.replace(second=0, microsecond=0),
            minutes=self.minutes,
            kind=self.kind,
            venue_id=self.venue_id,
            champion_ids=tuple(dict.fromkeys(self.champion_ids)),
            resident_references=tuple(dict.fromkeys(r.strip().upper() for r in self.resident_references)),
            anonymous=self.anonymous,
            topics=self.topics,
            loan_id=self.loan_id,
            outcome=self.outcome.strip(),
            follow_up_on=self.follow_up_on,
            follow_up=self.follow_up.strip(),
        )

    @property
    def attendee_count(self) -> int:
        return len(self.resident_references) + len(self.anonymous)

    def problems(self, now: datetime) -> dict[str, str]:
        """What is wrong, in words, by field. `now` is the desk's local time."""
        problems = {}
        today = now.date()
        if datetime.combine(self.held_on, self.starts_at) > now + timedelta(minutes=5):
            problems["held_on"] = "The session cannot start in the future: log it once it has happened."
        elif self.held_on < today - timedelta(days=LATEST_LOGGING_DAYS):
            problems["held_on"] = "That date is over a year ago: check it."
        if not 5 <= self.minutes <= MAX_MINUTES:
            problems["minutes"] = f"A session lasts between 5 minutes and {MAX_MINUTES // 60} hours."
        if not self.champion_ids:
            problems["champions"] = "Choose the champion (or champions) who gave the session."
        if self.attendee_count == 0:
            problems["attendees"] = "Add who was helped: a registered resident, or an attendee by age band."
        elif self.attendee_count > MAX_ATTENDEES:
            problems["attendees"] = f"A session can have at most {MAX_ATTENDEES} attendees."
        elif self.kind is SessionKind.ONE_TO_ONE and self.attendee_count > 1:
            problems["attendees"] = "A one-to-one session has one attendee: choose group or drop-in."
        if self.kind not in (SessionKind.PHONE, SessionKind.VIDEO) and self.venue_id is None:
            problems["venue"] = "Choose the venue where the session was held."
        if self.follow_up_on is not None and self.follow_up_on < self.held_on:
            problems["follow_up_on"] = "The follow-up must be on or after the session's date."
        if self.follow_up_on is not None and not self.follow_up:
            problems["follow_up"] = "Say what the follow-up is for."
        return problems


@dataclass(frozen=True)
class SessionAttendee:
    resident_id: uuid.UUID | None  # None for an anonymous attendee
    reference: str  # '' for an anonymous attendee
    name: str
    age_band: AgeBand
    ward_code: str | None


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    held_on: date
    starts_at: time
    minutes: int
    kind: SessionKind
    venue_id: uuid.UUID | None
    venue_name: str
    champions: tuple[tuple[uuid.UUID, str], ...]
    attendees: tuple[SessionAttendee, ...]
    topics: frozenset[Topic]
    loan_id: uuid.UUID | None
    outcome: str
    follow_up_on: date | None
    follow_up: str
    follow_up_done_on: date | None  # the day the follow-up was done; None while it is still to do
    logged_by: str
    logged_at: datetime

    @property
    def follow_up_open(self) -> bool:
        """Whether the session has a follow-up still to do."""
        return self.follow_up_on is not None and self.follow_up_done_on is None

    def follow_up_done_problems(self, done_on: date, today: date) -> dict[str, str]:
        """What stops the follow-up being marked done on `done_on`, in words (empty when nothing does)."""
        if self.follow_up_on is None:
            problem = "That session has no follow-up to mark done."
        elif self.follow_up_done_on is not None:
            done = self.follow_up_done_on
            problem = f"That follow-up was already marked done on {done:%a} {done.day} {done:%b %Y}."
        elif done_on > today:
            problem = "A follow-up cannot be done in the future: mark it done once it has happened."
        elif done_on < self.held_on:
            problem = "A follow-up cannot be done before the session it follows: check the date."
        else:
            return {}
        return {"follow_up_done_on": problem}

    @property
    def champion_names(self) -> str:
        return ", ".join(name for _id, name in self.champions)

    @property
    def topic_labels(self) -> str:
        return ", ".join(topic.label for topic in ALL_TOPICS if topic in self.topics)


@dataclass(frozen=True)
class SessionFilter:
    month: date | None = None  # any day in the month
    champion_id: uuid.UUID | None = None
    venue_id: uuid.UUID | None = None
    resident_reference: str | None = None


@dataclass(frozen=True)
class OtherHours:
    id: uuid.UUID
    champion_id: uuid.UUID
    worked_on: date
    minutes: int
    kind: HoursKind
    note: str


@dataclass(frozen=True)
class ChampionHours:
    """A champion's volunteer time in a month: in sessions, and in other work."""

    champion_id: uuid.UUID
    champion_name: str
    month: date  # the first of the month
    session_minutes: int
    other_minutes: int
    sessions: int

    @property
    def total_minutes(self) -> int:
        return self.session_minutes + self.other_minutes


def month_bounds(any_day: date) -> tuple[date, date]:
    """The first day of the month and the first day of the next."""
    first = any_day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following
