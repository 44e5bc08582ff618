"""Loans, wipes, the waiting list and data plans: the desk's rules, in one place."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from digiknow_desk.domain.devices import DeviceStatus, DeviceType
from digiknow_desk.domain.errors import DomainError


class LoanRefused(DomainError):
    """The desk's rules do not allow this loan action; the message says why."""


class LoanOutcome(StrEnum):
    RETURNED = "returned"
    LOST = "lost"
    STOLEN = "stolen"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ReasonMet(StrEnum):
    """Asked when a loan closes: did the loan do what it was for (the referral's reason)?"""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class LoanAchieved:
    """Asked when a loan closes: whether it did what it was for, and whether the resident has a device
    and a connection of their own from now on (their inclusion after the loan depends on it)."""

    reason_met: ReasonMet
    own_device: bool
    own_connection: bool


class WipeMethod(StrEnum):
    FACTORY_RESET = "factory-reset"
    MDM_WIPE = "mdm-wipe"
    POWERWASH = "powerwash"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "factory-reset": "Factory reset",
            "mdm-wipe": "MDM wipe",
            "powerwash": "Powerwash (Chromebook)",
            "other": "Other",
        }[self.value]


class WaitStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class LendingRules:
    """The coordinator's settings for lending; every rule below reads them."""

    loan_days: dict[DeviceType, int] = field(default_factory=lambda: dict.fromkeys(DeviceType, 28))
    renewal_limit: int = 2
    offer_days: int = 3
    sim_warning_days: int = 14

    def due_on(self, device_type: DeviceType, issued_on: date) -> date:
        return issued_on + timedelta(days=self.loan_days.get(device_type, 28))


def check_can_issue(tag: str, status: DeviceStatus) -> None:
    """Raise LoanRefused unless a device with this status can go out on a new loan."""
    reasons = {
        DeviceStatus.ON_LOAN: "it is already on loan: return it first",
        DeviceStatus.AWAITING_WIPE: "it is awaiting a wipe: record the wipe first",
        DeviceStatus.IN_REPAIR: "it is in repair",
        DeviceStatus.QUARANTINED: "it is quarantined or lost",
        DeviceStatus.RETIRED: "it is retired",
    }
    if status in reasons:
        raise LoanRefused(f"{tag} cannot be lent: {reasons[status]}.")


BACKDATE_SLACK = timedelta(minutes=5)  # a clock a few minutes out is not backdating


def check_backdate(
    when: datetime,
    now: datetime,
    reason: str,
    earliest: datetime | None = None,
    *,
    earliest_event: str = "the loan was issued",
) -> None:
    """A time other than now needs a reason, cannot be in the future, nor before `earliest`
    (`earliest_event` says what happened then, for the message)."""
    if when > now + BACKDATE_SLACK:
        raise LoanRefused("That time is in the future: check the date.")
    if earliest is not None and when < earliest:
        raise LoanRefused(f"That time is before {earliest_event}: check the date.")
    if is_backdated(when, now) and not reason.strip():
        raise LoanRefused("Say why this is recorded late (e.g. 'Returned on Saturday, desk closed').")


def is_backdated(when: datetime, now: datetime) -> bool:
    """Whether `when` is far enough before `now` to count as recorded late."""
    return now - when > BACKDATE_SLACK


def match_kit(kit: Sequence[str], ticked: Iterable[str]) -> tuple[set[str], list[str]]:
    """The kit items ticked (as the kit names them, whatever case staff typed) and the names that are
    not in the kit at all."""
    by_key = {name.casefold(): name for name in kit}
    found: set[str] = set()
    unknown: list[str] = []
    for name in ticked:
        key = name.strip().casefold()
        if key in by_key:
            found.add(by_key[key])
        elif key and name.strip() not in unknown:
            unknown.append(name.strip())
    return found, unknown


@dataclass(frozen=True)
class KitLine:
    name: str
    out: bool
    back: bool | None  # None while the loan is open


@dataclass(frozen=True)
class Loan:
    id: uuid.UUID
    device_id: uuid.UUID
    device_tag: str
    device_type: DeviceType
    device_description: str
    resident_id: uuid.UUID
    resident_reference: str
    resident_name: str
    resident_contact: str
    issued_at: datetime
    due_on: date
    renewals: int
    closed_at: datetime | None
    outcome: LoanOutcome | None
    issued_by: str
    accepted: bool
    late_reason: str
    kit: tuple[KitLine, ...] = ()
    condition_back: str = ""
    fault: str = ""
    achieved: LoanAchieved | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def days_overdue(self, today: date) -> int:
        return max(0, (today - self.due_on).days) if self.is_open else 0


@dataclass(frozen=True)
class WipeChecklist:
    accounts_signed_out: bool
    reset_done: bool
    apps_restored: bool
    charger_present: bool

    def missing(self) -> list[str]:
        names = {
            "accounts_signed_out": "accounts signed out",
            "reset_done": "factory reset or MDM wipe done",
            "apps_restored": "preloaded apps restored",
            "charger_present": "charger present",
        }
        return [label for key, label in names.items() if not getattr(self, key)]


@dataclass(frozen=True)
class Wipe:
    id: uuid.UUID
    device_tag: str
    device_description: str
    method: WipeMethod
    wiped_at: datetime
    wiped_by: str
    checklist: WipeChecklist
    notes: str


@dataclass(frozen=True)
class WaitEntry:
    id: uuid.UUID
    resident_reference: str
    resident_name: str
    resident_contact: str
    device_type: DeviceType
    position: int
    joined_at: datetime
    status: WaitStatus
    offered_tag: str
    offer_expires_on: date | None


@dataclass(frozen=True)
class DataPlan:
    """The data that goes with a SIM or MiFi."""

    network: str
    source: str
    allowance: str
    activated_on: date | None
    expires_on: date | None

    def expires_within(self, today: date, days: int) -> bool:
        return self.expires_on is not None and self.expires_on <= today + timedelta(days=days)
