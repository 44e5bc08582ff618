"""Devices: their types, conditions and the status state machine, plus the records services return."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from digiknow_desk.domain.errors import InvalidTransition, ValidationError


class DeviceType(StrEnum):
    TABLET = "tablet"
    LAPTOP = "laptop"
    CHROMEBOOK = "chromebook"
    PHONE = "phone"
    MIFI = "mifi"
    DATA_SIM = "data_sim"
    ACCESSORY = "accessory"

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]

    @property
    def tag_prefix(self) -> str:
        return _TAG_PREFIXES[self]


_TYPE_LABELS = {
    DeviceType.TABLET: "Tablet",
    DeviceType.LAPTOP: "Laptop",
    DeviceType.CHROMEBOOK: "Chromebook",
    DeviceType.PHONE: "Phone",
    DeviceType.MIFI: "MiFi / dongle",
    DeviceType.DATA_SIM: "Data SIM",
    DeviceType.ACCESSORY: "Accessory",
}
_TAG_PREFIXES = {
    DeviceType.TABLET: "TAB",
    DeviceType.LAPTOP: "LAP",
    DeviceType.CHROMEBOOK: "CHR",
    DeviceType.PHONE: "PHN",
    DeviceType.MIFI: "MIF",
    DeviceType.DATA_SIM: "SIM",
    DeviceType.ACCESSORY: "ACC",
}


class DeviceStatus(StrEnum):
    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    AWAITING_WIPE = "awaiting_wipe"
    IN_REPAIR = "in_repair"
    QUARANTINED = "quarantined"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    DeviceStatus.AVAILABLE: "Available",
    DeviceStatus.ON_LOAN: "On loan",
    DeviceStatus.AWAITING_WIPE: "Awaiting wipe",
    DeviceStatus.IN_REPAIR: "In repair",
    DeviceStatus.QUARANTINED: "Quarantined / lost",
    DeviceStatus.RETIRED: "Retired",
}

# The one place that says which status changes are allowed. A device is lent only from
# "available"; a returned device always passes through a wipe before it is lendable again.
ALLOWED_TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    DeviceStatus.AVAILABLE: frozenset(
        {DeviceStatus.ON_LOAN, DeviceStatus.IN_REPAIR, DeviceStatus.QUARANTINED, DeviceStatus.RETIRED}
    ),
    DeviceStatus.ON_LOAN: frozenset({DeviceStatus.AWAITING_WIPE, DeviceStatus.QUARANTINED}),
    DeviceStatus.AWAITING_WIPE: frozenset(
        {DeviceStatus.AVAILABLE, DeviceStatus.IN_REPAIR, DeviceStatus.QUARANTINED, DeviceStatus.RETIRED}
    ),
    DeviceStatus.IN_REPAIR: frozenset(
        {DeviceStatus.AWAITING_WIPE, DeviceStatus.QUARANTINED, DeviceStatus.RETIRED}
    ),
    DeviceStatus.QUARANTINED: frozenset(
        {DeviceStatus.AWAITING_WIPE, DeviceStatus.IN_REPAIR, DeviceStatus.RETIRED}
    ),
    DeviceStatus.RETIRED: frozenset(),
}

_TRANSITION_ADVICE = {
    DeviceStatus.ON_LOAN: "Only an available device can be lent.",
    DeviceStatus.AVAILABLE: "A device becomes available again only when its wipe is recorded.",
}


def check_transition(current: DeviceStatus, new: DeviceStatus) -> None:
    """Raise InvalidTransition, with the reason, unless `current` may move to `new`."""
    if new == current:
        raise InvalidTransition(f"The device is already {current.label.lower()}.")
    if current == DeviceStatus.RETIRED:
        raise InvalidTransition(
            "A retired device cannot change status; add it again if it returns to service."
        )
    if new not in ALLOWED_TRANSITIONS[current]:
        advice = _TRANSITION_ADVICE.get(new, "")
        allowed = ", ".join(s.label.lower() for s in sorted(ALLOWED_TRANSITIONS[current]))
        raise InvalidTransition(
            f"A device that is {current.label.lower()} cannot become {new.label.lower()}. "
            f"{advice} From {current.label.lower()} it can become: {allowed}.".replace("  ", " ")
        )


def check_manual_change(current: DeviceStatus, new: DeviceStatus) -> None:
    """Like check_transition, and also refuse the moves that only the lending desk makes: issuing,
    returning (or recording a loss) and recording a wipe each keep their own record."""
    check_transition(current, new)
    if new == DeviceStatus.ON_LOAN:
        raise InvalidTransition("A device goes on loan only when it is issued to a resident at the desk.")
    if current == DeviceStatus.ON_LOAN:
        raise InvalidTransition(
            "A device on loan comes back through Return at the desk, or is recorded as lost there."
        )
    if current == DeviceStatus.AWAITING_WIPE and new == DeviceStatus.AVAILABLE:
        raise InvalidTransition(
            "A returned device becomes available when its wipe is recorded: use Record wipe."
        )


def manual_moves(current: DeviceStatus) -> list[DeviceStatus]:
    """The statuses staff may set by hand from `current` (the desk's own moves left out)."""
    moves = []
    for new in DeviceStatus:
        try:
            check_manual_change(current, new)
        except InvalidTransition:
            continue
        moves.append(new)
    return moves


class Condition(StrEnum):
    NEW = "new"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    FAULTY = "faulty"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class AcquisitionSource(StrEnum):
    BOUGHT = "bought"
    DONATED = "donated"
    NATIONAL_DEVICE_BANK = "national_device_bank"
    NATIONAL_DATABANK = "national_databank"
    GRANT = "grant"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _SOURCE_LABELS[self]


_SOURCE_LABELS = {
    AcquisitionSource.BOUGHT: "Bought",
    AcquisitionSource.DONATED: "Donated",
    AcquisitionSource.NATIONAL_DEVICE_BANK: "National Device Bank",
    AcquisitionSource.NATIONAL_DATABANK: "National Databank",
    AcquisitionSource.GRANT: "Grant funded",
    AcquisitionSource.OTHER: "Other",
}

KIT_SUGGESTIONS: dict[DeviceType, tuple[str, ...]] = {
    DeviceType.TABLET: ("Charger", "Cable", "Case"),
    DeviceType.LAPTOP: ("Charger", "Bag"),
    DeviceType.CHROMEBOOK: ("Charger", "Bag"),
    DeviceType.PHONE: ("Charger", "Cable", "Case", "SIM"),
    DeviceType.MIFI: ("Charger", "Cable", "SIM"),
    DeviceType.DATA_SIM: (),
    DeviceType.ACCESSORY: (),
}

TAG_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")
MAX_TEXT = 200


def normalise_tag(text: str) -> str:
    """The asset tag as stored: trimmed and upper-case (scanners and hands type either case)."""
    return text.strip().upper()


def tag_problem(tag: str) -> str | None:
    """Why `tag` cannot be an asset tag, or None when it can."""
    if not tag:
        return "Enter an asset tag, e.g. TAB-0042."
    if not TAG_PATTERN.match(tag):
        return (
            f"'{tag}' is not a usable asset tag: use 2 to 20 letters, digits and dashes, "
            "starting with a letter or digit (e.g. TAB-0042)."
        )
    return None


def format_tag(device_type: DeviceType, number: int) -> str:
    return f"{device_type.tag_prefix}-{number:04d}"


@dataclass(frozen=True)
class DeviceDraft:
    """What staff type in to add or edit a device; validated by `validate()`."""

    tag: str
    device_type: DeviceType
    make: str = ""
    model: str = ""
    serial: str = ""
    os: str = ""
    condition: Condition = Condition.GOOD
    home_venue_id: uuid.UUID | None = None
    current_venue_id: uuid.UUID | None = None
    source: AcquisitionSource = AcquisitionSource.BOUGHT
    acquired_on: date | None = None
    notes: str = ""
    kit: tuple[str, ...] = ()

    def cleaned(self) -> DeviceDraft:
        """The same draft with text trimmed, tag upper-cased and kit de-duplicated."""
        kit: list[str] = []
        for item in self.kit:
            item = item.strip()
            if item and item.casefold() not in {k.casefold() for k in kit}:
                kit.append(item)
        return DeviceDraft(
            tag=normalise_tag(self.tag),
            device_type=self.device_type,
            make=self.make.strip(),
            model=self.model.strip(),
            serial=self.serial.strip(),
            os=self.os.strip(),
            condition=self.condition,
            home_venue_id=self.home_venue_id,
            current_venue_id=self.current_venue_id or self.home_venue_id,
            source=self.source,
            acquired_on=self.acquired_on,
            notes=self.notes.strip(),
            kit=tuple(kit),
        )

    def problems(self, today: date) -> dict[str, str]:
        """Field -> message for everything wrong with this (cleaned) draft; empty when it is fine."""
        problems: dict[str, str] = {}
        if (problem := tag_problem(self.tag)) is not None:
            problems["tag"] = problem
        for name in ("make", "model", "serial", "os"):
            if len(getattr(self, name)) > MAX_TEXT:
                problems[name] = f"{name.capitalize()} is too long: keep it under {MAX_TEXT} characters."
        if len(self.notes) > 4000:
            problems["notes"] = "Notes are too long: keep them under 4,000 characters."
        if self.acquired_on is not None and self.acquired_on > today:
            problems["acquired_on"] = "The acquisition date is in the future: check the date."
        for item in self.kit:
            if len(item) > 60:
                problems["kit"] = f"Kit item '{item[:20]}…' is too long: use a short name like 'Charger'."
            elif ";" in item:
                # Exports list the kit separated by semicolons.
                problems["kit"] = f"Kit item '{item}' contains ';': name each item separately."
        return problems

    def validate(self, today: date) -> DeviceDraft:
        """The cleaned draft, or ValidationError naming every problem."""
        draft = self.cleaned()
        if problems := draft.problems(today):
            raise ValidationError(problems)
        return draft


@dataclass(frozen=True)
class Device:
    id: uuid.UUID
    tag: str
    device_type: DeviceType
    make: str
    model: str
    serial: str
    os: str
    condition: Condition
    status: DeviceStatus
    home_venue_id: uuid.UUID | None
    home_venue_name: str
    current_venue_id: uuid.UUID | None
    current_venue_name: str
    source: AcquisitionSource
    acquired_on: date | None
    notes: str
    kit: tuple[str, ...] = field(default=())

    @property
    def description(self) -> str:
        """Make and model as one line, e.g. 'Lenovo IdeaPad 3'."""
        return " ".join(part for part in (self.make, self.model) if part)

    def as_draft(self) -> DeviceDraft:
        return DeviceDraft(
            tag=self.tag,
            device_type=self.device_type,
            make=self.make,
            model=self.model,
            serial=self.serial,
            os=self.os,
            condition=self.condition,
            home_venue_id=self.home_venue_id,
            current_venue_id=self.current_venue_id,
            source=self.source,
            acquired_on=self.acquired_on,
            notes=self.notes,
            kit=self.kit,
        )


@dataclass(frozen=True)
class StatusChange:
    """One entry of a device's history."""

    at: datetime
    from_status: DeviceStatus | None
    to_status: DeviceStatus
    by: str
    reason: str


@dataclass(frozen=True)
class DeviceFilter:
    """What the inventory list is narrowed to; empty fields mean 'any'."""

    text: str = ""
    device_type: DeviceType | None = None
    status: DeviceStatus | None = None
    venue_id: uuid.UUID | None = None
    include_retired: bool = True
