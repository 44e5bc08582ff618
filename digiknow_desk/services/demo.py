"""Realistic, reproducible demo data: Stockport venues and a device library like the borough's own."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from digiknow_desk.domain.devices import (
    KIT_SUGGESTIONS,
    AcquisitionSource,
    Condition,
    DeviceDraft,
    DeviceFilter,
    DeviceStatus,
    DeviceType,
)
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.services.context import ServiceContext
from digiknow_desk.services.inventory import InventoryService
from digiknow_desk.services.venues import VenueService

# Stockport's libraries and the ward each stands in.
DEMO_VENUES = (
    ("Stockport Central Library", "E05000783"),
    ("Brinnington Library", "E05000783"),
    ("Reddish Library", "E05000797"),
    ("Edgeley Library", "E05000788"),
    ("Cheadle Library", "E05000784"),
    ("Heald Green Library", "E05000790"),
    ("Hazel Grove Library", "E05000789"),
    ("Marple Library", "E05000794"),
    ("Bramhall Library", "E05000779"),
    ("Heaton Moor Library", "E05000792"),
)

# The borough's own library: about 110 laptops, 84 tablets, 83 dongles and 25 phones;
# a quarter of the laptops here are Chromebooks.
STOCK_MIX = (
    (DeviceType.LAPTOP, 83),
    (DeviceType.CHROMEBOOK, 27),
    (DeviceType.TABLET, 84),
    (DeviceType.MIFI, 83),
    (DeviceType.PHONE, 25),
)

MODELS: dict[DeviceType, tuple[tuple[str, str, str], ...]] = {
    DeviceType.LAPTOP: (
        ("Lenovo", "IdeaPad 3 15", "Windows 11 Home"),
        ("HP", "250 G8", "Windows 11 Pro"),
        ("Dell", "Latitude 5400", "Windows 11 Pro"),
        ("Acer", "Aspire 3", "Windows 11 Home"),
    ),
    DeviceType.CHROMEBOOK: (
        ("Lenovo", "IdeaPad 3 Chromebook", "ChromeOS"),
        ("HP", "Chromebook 14", "ChromeOS"),
        ("Acer", "Chromebook 314", "ChromeOS"),
    ),
    DeviceType.TABLET: (
        ("Samsung", "Galaxy Tab A8", "Android 14"),
        ("Lenovo", "Tab M10", "Android 13"),
        ("Amazon", "Fire HD 10", "Fire OS 8"),
        ("Apple", "iPad (9th generation)", "iPadOS 17"),
    ),
    DeviceType.MIFI: (
        ("Huawei", "E5576", ""),
        ("TP-Link", "M7200", ""),
        ("Alcatel", "Linkzone 2", ""),
    ),
    DeviceType.PHONE: (
        ("Samsung", "Galaxy A14", "Android 14"),
        ("Motorola", "Moto G23", "Android 13"),
        ("Nokia", "G21", "Android 13"),
    ),
}

SOURCES = (
    (AcquisitionSource.BOUGHT, 40),
    (AcquisitionSource.DONATED, 30),
    (AcquisitionSource.NATIONAL_DEVICE_BANK, 20),
    (AcquisitionSource.GRANT, 10),
)
CONDITIONS = (
    (Condition.NEW, 15),
    (Condition.GOOD, 55),
    (Condition.FAIR, 22),
    (Condition.POOR, 6),
    (Condition.FAULTY, 2),
)
# No loans exist until the lending desk arrives, so devices are on the shelf, in the workshop or retired.
STATUSES = (
    (DeviceStatus.AVAILABLE, 84),
    (DeviceStatus.AWAITING_WIPE, 6),
    (DeviceStatus.IN_REPAIR, 4),
    (DeviceStatus.QUARANTINED, 2),
    (DeviceStatus.RETIRED, 4),
)
STATUS_REASONS = {
    DeviceStatus.AVAILABLE: "Checked and ready to lend",
    DeviceStatus.AWAITING_WIPE: "Donated device: to be wiped before lending",
    DeviceStatus.IN_REPAIR: "Battery does not hold charge",
    DeviceStatus.QUARANTINED: "Not returned after a community event",
    DeviceStatus.RETIRED: "Beyond economic repair",
}
T = TypeVar("T")
DEFAULT_DEVICES = sum(count for _type, count in STOCK_MIX)


@dataclass(frozen=True)
class DemoSummary:
    venues_added: int
    devices_added: int


def _pick(rng: random.Random, weighted: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([item for item, _ in weighted], weights=[weight for _, weight in weighted])[0]


def _imei(rng: random.Random) -> str:
    """A 15-digit IMEI with a valid Luhn check digit."""
    digits = [rng.randrange(10) for _ in range(14)]
    total = 0
    for index, digit in enumerate(digits):
        if index % 2 == 1:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def _serial(rng: random.Random, device_type: DeviceType) -> str:
    if device_type in (DeviceType.PHONE, DeviceType.MIFI):
        return _imei(rng)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(10))


class DemoDataService:
    def __init__(self, context: ServiceContext, inventory: InventoryService, venues: VenueService) -> None:
        self._context = context
        self._inventory = inventory
        self._venues = venues

    def fill(self, *, devices: int = DEFAULT_DEVICES, months: int = 24, seed: int = 1) -> DemoSummary:
        """Add the demo venues that are missing and `devices` devices bought over the last `months` months."""
        if not 0 <= devices <= 100_000:
            raise ValidationError({"devices": "Ask for between 0 and 100,000 demo devices."})
        if not 1 <= months <= 120:
            raise ValidationError({"months": "Ask for between 1 and 120 months of demo history."})
        # A second fill of the same database draws afresh, so its serials do not repeat the first fill's.
        existing = self._inventory.count(DeviceFilter())
        rng = random.Random(seed if existing == 0 else f"{seed}:{existing}")
        venues_added = self._add_venues()
        venue_ids = [venue.id for venue in self._venues.venues(active_only=True)]
        today = self._context.today()
        total_weight = sum(count for _type, count in STOCK_MIX)
        entries: list[tuple[DeviceDraft, DeviceStatus]] = []
        next_numbers: dict[DeviceType, int] = {}
        for device_type, count in STOCK_MIX:
            share = devices * count // total_weight  # rounded down: the shares never add up to too many
            next_numbers[device_type] = int(self._inventory.next_tag(device_type).split("-")[1])
            entries.extend(
                self._device(rng, device_type, next_numbers, venue_ids, today, months) for _ in range(share)
            )
        for _ in range(devices - len(entries)):  # rounding leftovers go to the largest group
            entries.append(self._device(rng, DeviceType.LAPTOP, next_numbers, venue_ids, today, months))
        self._inventory.add_with_statuses(entries, reason="Demo data")
        return DemoSummary(venues_added=venues_added, devices_added=len(entries))

    def _add_venues(self) -> int:
        existing = {venue.name.lower() for venue in self._venues.venues()}
        added = 0
        for name, ward_code in DEMO_VENUES:
            if name.lower() not in existing:
                self._venues.add(VenueDraft(name=name, ward_code=ward_code))
                added += 1
        return added

    @staticmethod
    def _device(
        rng: random.Random,
        device_type: DeviceType,
        next_numbers: dict[DeviceType, int],
        venue_ids: list[uuid.UUID],
        today: date,
        months: int,
    ) -> tuple[DeviceDraft, DeviceStatus]:
        number = next_numbers[device_type]
        next_numbers[device_type] = number + 1
        make, model, os_name = rng.choice(MODELS[device_type])
        source = _pick(rng, SOURCES)
        condition = _pick(rng, CONDITIONS)
        if source is AcquisitionSource.BOUGHT and condition in (Condition.POOR, Condition.FAULTY):
            condition = Condition.GOOD
        home = rng.choice(venue_ids) if venue_ids else None
        draft = DeviceDraft(
            tag=f"{device_type.tag_prefix}-{number:04d}",
            device_type=device_type,
            make=make,
            model=model,
            serial=_serial(rng, device_type),
            os=os_name,
            condition=condition,
            home_venue_id=home,
            current_venue_id=home if not venue_ids or rng.random() < 0.9 else rng.choice(venue_ids),
            source=source,
            acquired_on=today - timedelta(days=rng.randrange(1, months * 30 + 1)),
            kit=KIT_SUGGESTIONS[device_type],
        )
        return draft, _pick(rng, STATUSES)
