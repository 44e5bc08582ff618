"""Realistic, reproducible demo data: Stockport venues, a device library like the borough's own and,
on request, residents and months of lending history made through the same services as the desk."""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import insert, update

from digiknow_desk.domain.devices import (
    KIT_SUGGESTIONS,
    AcquisitionSource,
    Condition,
    Device,
    DeviceDraft,
    DeviceFilter,
    DeviceStatus,
    DeviceType,
)
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.loans import (
    DataPlan,
    LendingRules,
    LoanOutcome,
    WaitEntry,
    WaitStatus,
    WipeChecklist,
    WipeMethod,
)
from digiknow_desk.domain.residents import (
    REFERENCE_PREFIX,
    AgeBand,
    ConsentPurpose,
    ReferralReason,
    ResidentDraft,
)
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.services.context import ServiceContext
from digiknow_desk.services.inventory import InventoryService
from digiknow_desk.services.lending import LendingService
from digiknow_desk.services.residents import PossibleDuplicate, ResidentService, term_rows

# The residents service's own row builders, so that rows written in bulk are the rows `add` writes.
from digiknow_desk.services.residents import _columns as resident_columns
from digiknow_desk.services.venues import VenueService
from digiknow_desk.storage.models import (
    Base,
    DataPlanRow,
    DeviceRow,
    DeviceStatusEventRow,
    LoanKitRow,
    LoanRow,
    ResidentConsentRow,
    ResidentRow,
    ResidentSearchTermRow,
    TagCounterRow,
    WipeRow,
)

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
# How each device arrives: most ready to lend, some needing a wipe first, a few already out of use.
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
DEFAULT_RESIDENTS = 326  # the households Stockport's own library has lent to
MAX_RESIDENTS = 100_000
BULK_RESIDENTS = 2_000  # above this, the history is written in bulk (see _BulkHistory)
DEMO_REASON = "Demo data"

# Made-up people: common first names and surnames drawn at random, never a real person's record.
# Each group: (weight, first names, surnames, preferred languages with weights).
NAME_GROUPS: tuple[tuple[int, tuple[str, ...], tuple[str, ...], tuple[tuple[str, int], ...]], ...] = (
    (
        82,
        tuple(
            "Margaret Susan Patricia Christine Janet Carol Jean Pauline Sandra Elaine Karen Julie Tracey "
            "Sarah Emma Gemma Amy Chloe Jessica Olivia Sophie Lauren Joan Doreen Irene John David Michael "
            "Peter Robert Paul Stephen Alan Brian Kevin Mark Gary Ian Andrew James Daniel Thomas Ryan Liam "
            "Jack Connor Keith Derek Trevor Graham".split()
        ),
        tuple(
            "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker "
            "White Roberts Green Hall Wood Jackson Clarke Harrison Hughes Edwards Turner Hill Moore Cooper "
            "Ward Morris Kelly Bennett Shaw Lees Holt Barlow Bradshaw Howarth Kenyon Schofield Ogden O'Brien "
            "Murphy Riley Booth".split()
        ),
        (("English", 1),),
    ),
    (
        9,
        tuple("Mohammed Imran Tariq Bilal Farhan Aisha Fatima Nasreen Shazia Yasmin".split()),
        tuple("Khan Hussain Ali Ahmed Begum Akhtar Iqbal Rahman".split()),
        (("English", 6), ("Urdu", 3), ("Bengali", 1)),
    ),
    (
        5,
        tuple("Agnieszka Katarzyna Joanna Magdalena Tomasz Piotr Krzysztof Marek".split()),
        tuple("Nowak Wojcik Mazur Krawczyk Kaczmarek Dudek".split()),
        (("Polish", 6), ("English", 4)),
    ),
    (
        4,
        tuple("Omar Yusuf Ahmad Samir Mariam Layla Huda Rania".split()),
        tuple("Hassan Abdullah Saleh Haddad Mahmoud".split()),
        (("Arabic", 5), ("Kurdish", 1), ("English", 4)),
    ),
)
STREETS = (
    "Church Street", "Mill Lane", "Park Road", "Station Road", "Green Lane", "Victoria Road", "Albert Road",
    "Hall Street", "Chapel Street", "Moor Lane", "Brook Road", "Grove Lane", "School Lane", "Vicarage Road",
    "Bank Street", "Queens Road", "Highfield Road", "Oak Avenue", "Beech Close", "Lime Grove",
)  # fmt: skip

# Where residents live: ward (weighted towards the wards where more people are offline) and the
# Stockport postcode districts that cover it.
WARD_DISTRICTS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("E05000783", 14, ("SK1", "SK5")),  # Brinnington and Central
    ("E05000797", 10, ("SK5",)),  # Reddish North
    ("E05000788", 9, ("SK3",)),  # Edgeley and Cheadle Heath
    ("E05000796", 8, ("SK2",)),  # Offerton
    ("E05000793", 7, ("SK1", "SK2")),  # Manor
    ("E05000787", 7, ("SK2", "SK3")),  # Davenport and Cale Green
    ("E05000798", 5, ("SK4", "SK5")),  # Reddish South
    ("E05000791", 4, ("SK4",)),  # Heatons North
    ("E05000792", 4, ("SK4",)),  # Heatons South
    ("E05000781", 4, ("SK6",)),  # Bredbury and Woodley
    ("E05000782", 3, ("SK6",)),  # Bredbury Green and Romiley
    ("E05000789", 4, ("SK7",)),  # Hazel Grove
    ("E05000799", 4, ("SK2", "SK7")),  # Stepping Hill
    ("E05000784", 4, ("SK8",)),  # Cheadle and Gatley
    ("E05000790", 4, ("SK8",)),  # Heald Green
    ("E05000785", 3, ("SK8",)),  # Cheadle Hulme North
    ("E05000786", 2, ("SK7", "SK8")),  # Cheadle Hulme South
    ("E05000794", 2, ("SK6",)),  # Marple North
    ("E05000795", 2, ("SK6",)),  # Marple South and High Lane
    ("E05000779", 2, ("SK7",)),  # Bramhall North
    ("E05000780", 2, ("SK7",)),  # Bramhall South and Woodford
)
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters a postcode's last two places use

# Those who come to the desk are mostly older.
AGE_BANDS = (
    (AgeBand.UNDER_18, 3),
    (AgeBand.AGE_18_24, 6),
    (AgeBand.AGE_25_49, 17),
    (AgeBand.AGE_50_64, 22),
    (AgeBand.AGE_65_74, 24),
    (AgeBand.AGE_75_PLUS, 23),
    (AgeBand.NOT_SAID, 5),
)
_R = ReferralReason
# Who refers whom, by age: (partner, weight, reasons with weights); "Self-referral" walked in.
Referrals = tuple[tuple[str, int, tuple[tuple[ReferralReason, int], ...]], ...]
OLDER_REFERRALS: Referrals = (
    ("Age UK Stockport", 40, ((_R.SOCIAL_ISOLATION, 3), (_R.HEALTH, 2))),
    ("Stockport Homes", 20, ((_R.SOCIAL_ISOLATION, 2), (_R.OTHER, 1))),
    ("Pennine Care", 12, ((_R.HEALTH, 1),)),
    ("Self-referral", 28, ((_R.SOCIAL_ISOLATION, 1), (_R.OTHER, 2))),
)
YOUNGER_REFERRALS: Referrals = (
    ("Stockport School", 30, ((_R.EDUCATION, 1),)),
    ("Stockport College", 25, ((_R.EDUCATION, 1),)),
    ("Jobcentre Plus Stockport", 25, ((_R.JOB_SEARCH, 1),)),
    ("Stockport Homes", 10, ((_R.JOB_SEARCH, 1), (_R.OTHER, 1))),
    ("Self-referral", 10, ((_R.EDUCATION, 1), (_R.OTHER, 1))),
)
WORKING_AGE_REFERRALS: Referrals = (
    ("Jobcentre Plus Stockport", 30, ((_R.JOB_SEARCH, 1),)),
    ("Stockport Homes", 22, ((_R.JOB_SEARCH, 2), (_R.SOCIAL_ISOLATION, 1), (_R.OTHER, 1))),
    ("Pennine Care", 12, ((_R.HEALTH, 1),)),
    ("Citizens Advice Stockport", 10, ((_R.JOB_SEARCH, 2), (_R.OTHER, 1))),
    ("Stockport School", 6, ((_R.EDUCATION, 1),)),
    ("Self-referral", 20, ((_R.JOB_SEARCH, 1), (_R.HEALTH, 1), (_R.OTHER, 2))),
)
ACCESS_NEEDS = (
    "Hard of hearing: face them and speak clearly",
    "Low vision: set the text size to largest",
    "Uses a wheelchair: meet at the ground-floor desk",
    "Arthritis in both hands: a stylus helps",
    "Prefers appointments in the morning",
)
_D = DeviceType
# What each kind of need usually calls for.
WANTS: dict[ReferralReason, tuple[tuple[DeviceType, int], ...]] = {
    _R.JOB_SEARCH: ((_D.LAPTOP, 55), (_D.CHROMEBOOK, 15), (_D.TABLET, 10), (_D.MIFI, 10), (_D.PHONE, 10)),
    _R.EDUCATION: ((_D.CHROMEBOOK, 35), (_D.LAPTOP, 40), (_D.TABLET, 15), (_D.MIFI, 10)),
    _R.HEALTH: ((_D.TABLET, 30), (_D.PHONE, 45), (_D.LAPTOP, 10), (_D.MIFI, 15)),
    _R.SOCIAL_ISOLATION: ((_D.TABLET, 35), (_D.PHONE, 45), (_D.LAPTOP, 5), (_D.MIFI, 15)),
    _R.OTHER: ((_D.LAPTOP, 30), (_D.TABLET, 35), (_D.PHONE, 15), (_D.MIFI, 20)),
}
WIPE_METHODS = {
    _D.CHROMEBOOK: WipeMethod.POWERWASH,
    _D.LAPTOP: WipeMethod.FACTORY_RESET,
    _D.TABLET: WipeMethod.MDM_WIPE,
    _D.PHONE: WipeMethod.MDM_WIPE,
    _D.MIFI: WipeMethod.FACTORY_RESET,
}
FAULTS = (
    "Screen cracked",
    "Will not charge",
    "Two keys missing from the keyboard",
    "Battery swollen",
    "Will not connect to Wi-Fi",
)
# Data that goes with a MiFi or phone: (network, source, allowance, days it lasts).
DATA_PLANS = (
    ("Vodafone", "National Databank", "20 GB a month for 6 months", 180),
    ("O2", "National Databank", "20 GB a month for 6 months", 180),
    ("Three", "National Databank", "Unlimited data for 6 months", 180),
    ("EE", "Bought (pay as you go)", "30 GB for 30 days", 30),
)
PRIORITY_REASONS = (
    "Care leaver: priority group",
    "Discharged from hospital; needs video appointments",
    "Universal Credit claim due this week",
)
WITHDRAW_REASONS = ("Family lent them a laptop", "Moved out of Stockport", "No longer needs a device")


@dataclass(frozen=True)
class DemoSummary:
    venues_added: int
    devices_added: int
    residents_added: int = 0
    loans_added: int = 0
    on_loan: int = 0  # open loans at the end of the history
    overdue: int = 0
    waiting: int = 0  # entries waiting or holding an offer
    sims_expiring: int = 0


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

    def fill(
        self,
        *,
        devices: int = DEFAULT_DEVICES,
        months: int = 24,
        seed: int = 1,
        residents: int = 0,
        bulk: bool | None = None,
    ) -> DemoSummary:
        """Add the demo venues that are missing and `devices` devices acquired over the last `months`
        months. With `residents`, also register that many residents over those months and run the
        desk through them: loans issued, renewed, returned late or lost, wipes, the waiting list and
        its offers, and data plans, each made through the lending services on a simulated clock.
        Beyond BULK_RESIDENTS residents (or with `bulk`) a simpler history is written in bulk instead,
        as the services would take hours over it."""
        problems = {}
        if not 0 <= devices <= 100_000:
            problems["devices"] = "Ask for between 0 and 100,000 demo devices."
        if not 1 <= months <= 120:
            problems["months"] = "Ask for between 1 and 120 months of demo history."
        if not 0 <= residents <= MAX_RESIDENTS:
            problems["residents"] = f"Ask for between 0 and {MAX_RESIDENTS:,} demo residents."
        if problems:
            raise ValidationError(problems)
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
        if not residents:
            self._inventory.add_with_statuses(entries, reason=DEMO_REASON)
            return DemoSummary(venues_added=venues_added, devices_added=len(entries))
        ward_codes = {ward.code for ward in self._venues.wards()}
        start = today - timedelta(days=months * 30)
        if residents > BULK_RESIDENTS if bulk is None else bulk:
            return _BulkHistory(self._context, rng, start, ward_codes).run(entries, residents, venues_added)
        return _History(self._context, rng, start, ward_codes).run(entries, residents, venues_added)

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


def resident_draft(rng: random.Random, ward_codes: set[str]) -> ResidentDraft:
    """A made-up Stockport resident: a common name, a postcode and ward, an age band skewed older, a
    referral that fits their age, contact details that reach nobody, and consents."""
    group = rng.choices(NAME_GROUPS, weights=[g[0] for g in NAME_GROUPS])[0]
    _weight, firsts, surnames, languages = group
    first, surname = rng.choice(firsts), rng.choice(surnames)
    ward_code, _w, districts = rng.choices(WARD_DISTRICTS, weights=[w[1] for w in WARD_DISTRICTS])[0]
    inward = f"{rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
    postcode = f"{rng.choice(districts)} {inward}"
    age = _pick(rng, AGE_BANDS)
    older = age in (AgeBand.AGE_65_74, AgeBand.AGE_75_PLUS)
    if older:
        referrals = OLDER_REFERRALS
    elif age in (AgeBand.UNDER_18, AgeBand.AGE_18_24):
        referrals = YOUNGER_REFERRALS
    else:
        referrals = WORKING_AGE_REFERRALS
    partner, _w, reasons = rng.choices(referrals, weights=[r[1] for r in referrals])[0]
    phone = ""
    if rng.random() < 0.88:
        # Ofcom's numbers kept for drama: they never ring anyone.
        phone = (
            f"07700 900{rng.randrange(1000):03d}"
            if rng.random() < 0.65
            else f"0161 496 0{rng.randrange(1000):03d}"
        )
    email = ""
    if rng.random() < (0.15 if older else 0.45):
        email = f"{first}.{surname}{rng.randrange(10, 99)}@example.com".lower().replace("'", "")
    address = f"{rng.randint(1, 180)} {rng.choice(STREETS)}, Stockport" if rng.random() < 0.55 else ""
    if not (phone or email or address):
        address = f"{rng.randint(1, 180)} {rng.choice(STREETS)}, Stockport"
    language = _pick(rng, languages)
    consents = {ConsentPurpose.LENDING}
    for purpose, chance in (
        (ConsentPurpose.CONTACT, 0.85),
        (ConsentPurpose.SUPPORT, 0.55),
        (ConsentPurpose.FOLLOW_UP, 0.35),
    ):
        if rng.random() < chance:
            consents.add(purpose)
    return ResidentDraft(
        name=f"{first} {surname}",
        phone=phone,
        email=email,
        address=address,
        postcode=postcode,
        ward_code=ward_code if ward_code in ward_codes else None,
        age_band=age,
        language=language,
        large_print=rng.random() < (0.3 if age == AgeBand.AGE_75_PLUS else 0.05),
        interpreter=language != "English" and rng.random() < 0.4,
        access_needs=rng.choice(ACCESS_NEEDS) if rng.random() < 0.12 else "",
        referral_partner=partner,
        referral_reason=_pick(rng, reasons),
        consents=frozenset(consents),
    )


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """That local time on that day, as the services keep it (UTC)."""
    return datetime.combine(day, time(hour, minute)).astimezone().astimezone(UTC)


class _SimulatedClock:
    """The time the history has reached; the services read it as their clock."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class _History:
    """Months of the desk's work replayed in time order through the real services, so every record
    (status history, consent dates, wipes, offers) carries the time it would have had.

    Devices join the stock on the day they were acquired; residents arrive (more of them lately, as
    the scheme grows), ask for the kind of device their need calls for and borrow one, or join the
    waiting list when none is free. Each loan's fate is drawn when it is issued: returned on time,
    renewed, returned late (some through the book drop, recorded the next morning), kept past its
    due date, or lost. Returned devices are wiped a few days later and offered to whoever is waiting.
    """

    def __init__(
        self, context: ServiceContext, rng: random.Random, start: date, ward_codes: set[str]
    ) -> None:
        self._end = context.now()
        self._today = context.today()
        self._start = start
        self._clock = _SimulatedClock(_at(start, 9))
        timed = replace(context, clock=self._clock)
        self._inventory = InventoryService(timed)
        self._residents = ResidentService(timed)
        self._lending = LendingService(timed)
        self._rules = self._lending.rules()
        self._rng = rng
        self._known_wards = ward_codes
        self._events: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        # What the desk can see on its shelves: device tag -> type, and the free ones by type (in the
        # order they came back, as staff take the one at the front).
        self._types: dict[str, DeviceType] = {}
        self._free: dict[DeviceType, dict[str, None]] = {kind: {} for kind in DeviceType}
        self._kit_out: dict[str, list[str]] = {}
        self._offers: dict[str, tuple[str, date]] = {}  # tag -> (reference, offer ends)
        self._waiting: dict[tuple[str, DeviceType], uuid.UUID] = {}
        self._expiry_days: set[date] = set()
        self._people: set[tuple[str, str]] = set()
        self._reasons: dict[str, ReferralReason] = {}
        self._phones: set[str] = set()
        self._residents_added = 0
        self._loans_added = 0

    def run(
        self, entries: list[tuple[DeviceDraft, DeviceStatus]], residents: int, venues_added: int
    ) -> DemoSummary:
        by_day: dict[date, list[tuple[DeviceDraft, DeviceStatus]]] = {}
        for draft, status in entries:
            by_day.setdefault(draft.acquired_on or self._today, []).append((draft, status))
        for day, batch in sorted(by_day.items()):
            self._push(_at(day, 9), partial(self._acquire, batch))
        days = (self._today - self._start).days
        for _ in range(residents):
            # Some arrive evenly, most more often lately, as word of the scheme spreads.
            share = self._rng.random() if self._rng.random() < 0.3 else self._rng.random() ** (1 / 3)
            day = self._start + timedelta(days=min(int(share * days), days - 1))
            self._push(self._desk_time(day), self._arrive)
        while self._events:
            when, _order, action = heapq.heappop(self._events)
            self._clock.at = when
            action()
        self._clock.at = self._end
        self._add_data_plans()
        return DemoSummary(
            venues_added=venues_added,
            devices_added=len(entries),
            residents_added=self._residents_added,
            loans_added=self._loans_added,
            on_loan=self._lending.count_open(),
            overdue=self._lending.count_open(due_by=self._today - timedelta(days=1)),
            waiting=len(self._lending.waiting_list()),
            sims_expiring=len(self._lending.sims_expiring()),
        )

    # Time

    def _desk_time(self, day: date) -> datetime:
        """A time the desk is open (9:30 to 16:30) on `day`."""
        minutes = self._rng.randrange(7 * 60)
        return _at(day, 9, 30) + timedelta(minutes=minutes)

    def _day(self) -> date:
        return self._clock.at.astimezone().date()

    def _push(self, when: datetime, action: Callable[[], None]) -> None:
        """Do `action` at `when`, unless that is still to come."""
        if when < self._end:
            heapq.heappush(self._events, (when, next(self._order), action))

    def _later(self, days: int, action: Callable[[], None]) -> None:
        self._push(self._desk_time(self._day() + timedelta(days=max(days, 1))), action)

    # Devices arrive

    def _acquire(self, batch: list[tuple[DeviceDraft, DeviceStatus]]) -> None:
        for device in self._inventory.add_with_statuses(batch, reason=DEMO_REASON):
            self._types[device.tag] = device.device_type
            if device.status == DeviceStatus.AVAILABLE:
                self._shelve(device.tag, serve_queue=True)
            elif device.status == DeviceStatus.AWAITING_WIPE:
                self._later(self._rng.randint(1, 7), partial(self._wipe, device.tag))

    def _shelve(self, tag: str, *, serve_queue: bool = False) -> None:
        """Put a lendable device on the shelf, or give it to the first resident waiting for its type."""
        kind = self._types[tag]
        if serve_queue and any(key[1] == kind for key in self._waiting):
            first = next(
                (e for e in self._lending.waiting_list(kind) if e.status == WaitStatus.WAITING), None
            )
            if first is not None:
                self._issue(tag, first.resident_reference)
                return
        self._free[kind][tag] = None

    # Residents arrive and ask for a device

    def _arrive(self) -> None:
        resident = self._register()
        if resident is None:
            return
        reference, reason = resident
        self._reasons[reference] = reason
        wanted = _pick(self._rng, WANTS[reason])
        self._ask(reference, wanted)
        if (
            wanted in (DeviceType.LAPTOP, DeviceType.CHROMEBOOK, DeviceType.TABLET)
            and self._rng.random() < 0.3
        ):
            self._ask(reference, DeviceType.MIFI)  # no internet at home: data goes with it

    def _register(self) -> tuple[str, ReferralReason] | None:
        """Register a made-up resident, drawing again if the name is taken at that postcode or phone."""
        for _attempt in range(20):
            draft = resident_draft(self._rng, self._known_wards)
            key = (draft.name.lower(), draft.postcode)
            if key in self._people or (draft.phone and f"{key[0]}|{draft.phone}" in self._phones):
                continue
            try:
                resident = self._residents.add(draft)
            except PossibleDuplicate:
                continue  # someone from an earlier fill: draw another name
            self._people.add(key)
            if draft.phone:
                self._phones.add(f"{key[0]}|{draft.phone}")
            self._residents_added += 1
            return resident.reference, resident.referral_reason
        return None

    def _ask(self, reference: str, kind: DeviceType) -> None:
        """Lend the resident a free device of the kind, or put them on the waiting list."""
        if (reference, kind) in self._waiting:
            return
        shelf = self._free[kind]
        if shelf:
            tag = next(iter(shelf))
            del shelf[tag]
            self._issue(tag, reference)
            return
        entry = self._lending.join_waiting_list(reference, kind)
        self._waiting[(reference, kind)] = entry.id
        chance = self._rng.random()
        if chance < 0.08:
            reason = self._rng.choice(PRIORITY_REASONS)
            self._later(1, lambda: self._prioritise(reference, kind, entry.id, reason))
        elif chance < 0.25:
            self._later(self._rng.randint(7, 30), lambda: self._withdraw(reference, kind, entry.id))

    def _still_waiting(self, reference: str, kind: DeviceType, entry_id: uuid.UUID) -> bool:
        offered = any(
            ref == reference and self._types[tag] == kind for tag, (ref, _e) in self._offers.items()
        )
        return self._waiting.get((reference, kind)) == entry_id and not offered

    def _prioritise(self, reference: str, kind: DeviceType, entry_id: uuid.UUID, reason: str) -> None:
        if self._still_waiting(reference, kind, entry_id):
            self._lending.move_in_waiting_list(entry_id, 1, reason)

    def _withdraw(self, reference: str, kind: DeviceType, entry_id: uuid.UUID) -> None:
        if self._still_waiting(reference, kind, entry_id):
            self._lending.withdraw_from_waiting_list(entry_id, self._rng.choice(WITHDRAW_REASONS))
            del self._waiting[(reference, kind)]

    # Loans

    def _issue(self, tag: str, reference: str) -> None:
        loan = self._lending.issue(tag, reference)
        kind = self._types[tag]
        self._waiting.pop((reference, kind), None)
        self._offers.pop(tag, None)
        self._kit_out[tag] = [line.name for line in loan.kit if line.out]
        self._loans_added += 1
        rng = self._rng
        due = loan.due_on
        fate = rng.random()
        if fate < 0.02:
            outcome = LoanOutcome.STOLEN if rng.random() < 0.4 else LoanOutcome.LOST
            reason = (
                f"Resident reported it stolen, crime reference 06/{rng.randrange(10000, 99999)}/25"
                if outcome == LoanOutcome.STOLEN
                else "Resident says it was left on a bus"
            )
            self._later(rng.randint(3, 25), lambda: self._lost(tag, outcome, reason))
        elif fate < 0.07:
            # Kept long past the due date: brought back at last, or written off after three reminders.
            if rng.random() < 0.6:
                self._plan_return(tag, reference, due + timedelta(days=rng.randint(45, 100)))
            else:
                reason = "Not returned after three reminders; written off"
                self._later(
                    (due - self._day()).days + rng.randint(60, 120),
                    lambda: self._lost(tag, LoanOutcome.LOST, reason),
                )
        elif fate < 0.21:
            self._plan_return(tag, reference, due + timedelta(days=rng.randint(3, 40)))
        elif fate < 0.51 and self._rules.renewal_limit:
            times = min(self._rules.renewal_limit, 1 if rng.random() < 0.6 else 2)
            before_due = (due - self._day()).days - rng.randint(1, 5)
            self._later(before_due, lambda: self._renew(tag, reference, times))
        else:
            self._plan_return(tag, reference, due + timedelta(days=rng.randint(-12, 2)))

    def _plan_return(self, tag: str, reference: str, day: date) -> None:
        day = max(day, self._day() + timedelta(days=3))
        if self._rng.random() < 0.05:
            # Through the book drop after the desk closed: recorded the next morning.
            dropped = _at(day, 17, self._rng.randrange(0, 59))
            self._push(
                _at(day + timedelta(days=1), 9, 35),
                lambda: self._return(tag, reference, dropped, "Returned through the book drop after closing"),
            )
        else:
            self._push(self._desk_time(day), lambda: self._return(tag, reference, None, ""))

    def _renew(self, tag: str, reference: str, times: int) -> None:
        loan = self._lending.renew(tag)
        if times > 1:
            self._later(
                (loan.due_on - self._day()).days - self._rng.randint(1, 5),
                lambda: self._renew(tag, reference, times - 1),
            )
        else:
            self._plan_return(tag, reference, loan.due_on + timedelta(days=self._rng.randint(-7, 3)))

    def _return(self, tag: str, reference: str, returned_at: datetime | None, late_reason: str) -> None:
        rng = self._rng
        kit_back = list(self._kit_out.get(tag, []))
        if kit_back and rng.random() < 0.06:
            kit_back.remove("Charger" if "Charger" in kit_back else rng.choice(kit_back))
        fault = rng.choice(FAULTS) if rng.random() < 0.03 else ""
        condition = (
            Condition.FAULTY
            if fault
            else _pick(rng, ((Condition.GOOD, 60), (Condition.FAIR, 30), (Condition.POOR, 6)))
        )
        self._lending.return_device(
            tag,
            kit_back=kit_back,
            condition=condition,
            fault=fault,
            returned_at=returned_at,
            late_reason=late_reason,
        )
        if fault:
            self._push(self._clock.at + timedelta(minutes=20), lambda: self._send_for_repair(tag, fault))
        else:
            self._later(rng.choice((1, 1, 2, 3)), lambda: self._wipe(tag))
        if rng.random() < 0.45:  # many come back for another loan
            self._later(rng.randint(7, 60), lambda: self._ask_again(reference))

    def _ask_again(self, reference: str) -> None:
        self._ask(reference, _pick(self._rng, WANTS[self._reasons.get(reference, ReferralReason.OTHER)]))

    def _lost(self, tag: str, outcome: LoanOutcome, reason: str) -> None:
        self._lending.record_lost(tag, outcome, reason)

    def _send_for_repair(self, tag: str, fault: str) -> None:
        self._inventory.change_status(tag, DeviceStatus.IN_REPAIR, f"Sent for repair: {fault}")
        self._later(self._rng.randint(10, 45), lambda: self._back_from_repair(tag))

    def _back_from_repair(self, tag: str) -> None:
        if self._rng.random() < 0.3:
            self._inventory.change_status(tag, DeviceStatus.RETIRED, "Beyond economic repair")
            return
        self._inventory.change_status(tag, DeviceStatus.AWAITING_WIPE, "Repaired")
        self._later(1, lambda: self._wipe(tag))

    # Wipes and offers

    def _wipe(self, tag: str) -> None:
        kind = self._types[tag]
        result = self._lending.record_wipe(
            tag, WIPE_METHODS.get(kind, WipeMethod.OTHER), WipeChecklist(True, True, True, True)
        )
        if result.offered_to is None:
            self._shelve(tag)
        else:
            self._offer(result.offered_to)

    def _offer(self, entry: WaitEntry) -> None:
        """The device is held for the resident: most collect it in time, some do not come."""
        ends = entry.offer_expires_on or self._day()
        self._types.setdefault(entry.offered_tag, entry.device_type)
        self._offers[entry.offered_tag] = (entry.resident_reference, ends)
        if self._rng.random() < 0.88:
            days = self._rng.randint(1, max(1, (ends - self._day()).days))
            self._later(days, lambda: self._collect(entry.offered_tag, entry.resident_reference))
        elif ends + timedelta(days=1) not in self._expiry_days:
            day = ends + timedelta(days=1)
            self._expiry_days.add(day)
            self._push(_at(day, 9, 5), lambda: self._expire(day))

    def _collect(self, tag: str, reference: str) -> None:
        if self._offers.get(tag, ("", None))[0] == reference:
            self._issue(tag, reference)

    def _expire(self, day: date) -> None:
        passed = {entry.offered_tag: entry for entry in self._lending.expire_offers(day)}
        for tag, (_reference, ends) in list(self._offers.items()):
            if ends < day:
                del self._offers[tag]
                if tag in passed:
                    self._offer(passed[tag])
                else:
                    self._shelve(tag)

    # Data

    def _add_data_plans(self) -> None:
        """Data for every MiFi and phone: six-month National Databank SIMs mostly; a few of those on
        loan run out within the warning period, so the desk has someone to call."""
        rng = self._rng
        on_loan = {loan.device_tag for loan in self._lending.open_loans(limit=self._lending.count_open() + 1)}
        for tag, kind in self._types.items():
            if kind not in (DeviceType.MIFI, DeviceType.PHONE):
                continue
            network, source, allowance, days = rng.choice(DATA_PLANS)
            if tag in on_loan:
                chance = rng.random()
                left = (
                    rng.randint(-5, -1)
                    if chance < 0.03
                    else rng.randint(0, 14)
                    if chance < 0.2
                    else rng.randint(15, days)
                )
            elif rng.random() < 0.2:
                self._lending.set_data_plan(tag, DataPlan(network, source, allowance, None, None))
                continue  # a SIM in the drawer, not yet activated
            else:
                left = rng.randint(15, days)
            expires = self._today + timedelta(days=left)
            self._lending.set_data_plan(
                tag, DataPlan(network, source, allowance, expires - timedelta(days=days), expires)
            )


class _BulkHistory:
    """A borough-scale history (tens of thousands of residents, hundreds of thousands of loans) written
    with bulk inserts, a block of rows per transaction: the desk's services take a few milliseconds an
    action, which is hours at this size.

    The records have the shapes the desk makes (references, consents, loans with their kit, status
    history, wipes, data plans) on a simpler model than _History: the devices, acquired in the year
    before the history starts, go out again and again, each loan to a resident registered by then;
    loans are renewed, returned on time or late, or lost, and each return is wiped a few days later.
    Nobody waits: at this size the waiting list is not what is being measured.
    """

    BLOCK = 50_000  # rows held before they are written

    def __init__(
        self, context: ServiceContext, rng: random.Random, start: date, ward_codes: set[str]
    ) -> None:
        self._context = context
        self._rng = rng
        self._start = start
        self._end = context.now()
        self._today = context.today()
        self._ward_codes = ward_codes
        self._actor = context.actor
        self._rows: dict[type[Base], list[dict[str, Any]]] = {}
        self._held = 0

    def run(
        self, entries: list[tuple[DeviceDraft, DeviceStatus]], residents: int, venues_added: int
    ) -> DemoSummary:
        rng = self._rng
        opening = _at(self._start, 9)
        # Acquired in the year before the history, and in the inventory from its first morning.
        entries = [
            (replace(draft, acquired_on=self._start - timedelta(days=rng.randrange(1, 366))), status)
            for draft, status in entries
        ]
        inventory = InventoryService(replace(self._context, clock=lambda: opening))
        devices = inventory.add_with_statuses(entries, reason=DEMO_REASON) if entries else []
        rules = LendingService(self._context).rules()
        people = self._residents(residents, opening)
        joined = [at for at, _id, _reference in people]
        loans = open_loans = overdue = 0
        plans: list[tuple[uuid.UUID, DeviceType, bool]] = []
        for device in devices:
            status = device.status
            at = opening + timedelta(days=rng.randint(1, 7))
            if status == DeviceStatus.AWAITING_WIPE and at < self._end:
                status = self._wipe(device, at)
            out = False
            while status == DeviceStatus.AVAILABLE and people:
                ready = at
                at = self._desk_time(at.astimezone().date() + timedelta(days=rng.randint(0, 10)))
                if at <= ready:
                    at += timedelta(days=1)
                if at >= self._end:
                    break
                registered = bisect.bisect_right(joined, at)
                if not registered:
                    at += timedelta(days=7)
                    continue
                _joined, resident_id, reference = people[rng.randrange(registered)]
                status, at, due = self._loan(device, resident_id, reference, at, rules)
                loans += 1
                if status == DeviceStatus.ON_LOAN:
                    out = True
                    open_loans += 1
                    overdue += due < self._today
            if status != device.status:
                self._add(DeviceRow, {"id": device.id, "status": status, "updated_at": max(at, opening)})
            if device.device_type in (DeviceType.MIFI, DeviceType.PHONE):
                plans.append((device.id, device.device_type, out))
        for device_id, _kind, out in plans:
            network, source, allowance, days = rng.choice(DATA_PLANS)
            chance = rng.random()
            left = rng.randint(0, 14) if out and chance < 0.2 else rng.randint(15, days)
            expires = self._today + timedelta(days=left)
            self._add(
                DataPlanRow,
                {
                    "device_id": device_id,
                    "network": network,
                    "source": source,
                    "allowance": allowance,
                    "activated_on": expires - timedelta(days=days),
                    "expires_on": expires,
                },
            )
        self._write()
        lending = LendingService(self._context)
        return DemoSummary(
            venues_added=venues_added,
            devices_added=len(entries),
            residents_added=len(people),
            loans_added=loans,
            on_loan=open_loans,
            overdue=overdue,
            waiting=0,
            sims_expiring=len(lending.sims_expiring()),
        )

    def _residents(self, count: int, opening: datetime) -> list[tuple[datetime, uuid.UUID, str]]:
        """Register `count` residents over the months, in time order; (joined, id, reference) each."""
        rng = self._rng
        span = (self._end - opening).total_seconds()
        times = sorted(
            opening
            + timedelta(seconds=(rng.random() if rng.random() < 0.3 else rng.random() ** (1 / 3)) * span)
            for _ in range(count)
        )
        with self._context.db.write() as session:
            counter = session.get(TagCounterRow, REFERENCE_PREFIX, with_for_update=True)
            assert counter is not None, "migration 0002 seeds the resident reference counter"
            first = counter.last_number + 1
            counter.last_number += count
        people = []
        for number, joined in enumerate(times, start=first):
            draft = resident_draft(rng, self._ward_codes).cleaned()
            reference = f"{REFERENCE_PREFIX}-{number:05d}"
            resident_id = uuid.uuid4()
            self._add(
                ResidentRow,
                {
                    "id": resident_id,
                    "reference": reference,
                    "created_at": joined,
                    "updated_at": joined,
                    **resident_columns(draft),
                },
            )
            for terms in term_rows(resident_id, reference, draft):
                self._add(ResidentSearchTermRow, terms)
            for purpose in sorted(draft.consents):
                self._add(
                    ResidentConsentRow,
                    {
                        "id": uuid.uuid4(),
                        "resident_id": resident_id,
                        "purpose": purpose,
                        "given_on": joined.astimezone().date(),
                    },
                )
            people.append((joined, resident_id, reference))
        self._write()  # the loans refer to them
        return people

    def _loan(
        self, device: Device, resident_id: uuid.UUID, reference: str, issued: datetime, rules: LendingRules
    ) -> tuple[DeviceStatus, datetime, date]:
        """One loan of the device from `issued`: the device's status after it, when that began, and
        the loan's due date."""
        rng = self._rng
        loan_id = uuid.uuid4()
        due = rules.due_on(device.device_type, issued.astimezone().date())
        renewals = 0
        fate = rng.random()
        if fate > 0.55:
            for _ in range(min(rules.renewal_limit, 1 if rng.random() < 0.6 else 2)):
                if _at(due - timedelta(days=3), 11) >= self._end:
                    break
                due = rules.due_on(device.device_type, due)
                renewals += 1
        lost = fate < 0.01
        back_on = due + timedelta(days=rng.randint(3, 40) if fate < 0.15 else rng.randint(-12, 2))
        back_on = max(back_on, issued.astimezone().date() + timedelta(days=3))
        closed = self._desk_time(back_on)
        still_out = closed >= self._end
        loan = {
            "id": loan_id,
            "device_id": device.id,
            "resident_id": resident_id,
            "issued_at": issued,
            "due_on": due,
            "renewals": renewals,
            "closed_at": None if still_out else closed,
            "outcome": None if still_out else LoanOutcome.LOST if lost else LoanOutcome.RETURNED,
            "issued_by": self._actor,
            "closed_by": "" if still_out else self._actor,
            "accepted": True,
            "late_reason": "",
            "condition_back": "" if still_out or lost else Condition.GOOD.value,
            "fault": "Not returned after three reminders; written off" if lost and not still_out else "",
        }
        self._add(LoanRow, loan)
        for position, name in enumerate(device.kit):
            came_back = None if still_out else (not lost and rng.random() > 0.02)
            self._add(
                LoanKitRow,
                {
                    "id": uuid.uuid4(),
                    "loan_id": loan_id,
                    "position": position,
                    "name": name,
                    "went_out": True,
                    "came_back": came_back,
                },
            )
        self._event(device, issued, DeviceStatus.AVAILABLE, DeviceStatus.ON_LOAN, f"Issued to {reference}")
        if still_out:
            return DeviceStatus.ON_LOAN, issued, due
        if lost:
            self._event(
                device, closed, DeviceStatus.ON_LOAN, DeviceStatus.QUARANTINED, f"Lost: {loan['fault']}"
            )
            return DeviceStatus.QUARANTINED, closed, due
        self._event(device, closed, DeviceStatus.ON_LOAN, DeviceStatus.AWAITING_WIPE, "Returned")
        wiped = self._desk_time(back_on + timedelta(days=rng.choice((1, 1, 2, 3))))
        if wiped >= self._end:
            return DeviceStatus.AWAITING_WIPE, closed, due
        return self._wipe(device, wiped), wiped, due

    def _wipe(self, device: Device, at: datetime) -> DeviceStatus:
        method = WIPE_METHODS.get(device.device_type, WipeMethod.OTHER)
        self._add(
            WipeRow,
            {
                "id": uuid.uuid4(),
                "device_id": device.id,
                "wiped_at": at,
                "wiped_by": self._actor,
                "method": method,
                "accounts_signed_out": True,
                "reset_done": True,
                "apps_restored": True,
                "charger_present": True,
                "notes": "",
            },
        )
        self._event(device, at, DeviceStatus.AWAITING_WIPE, DeviceStatus.AVAILABLE, f"Wiped ({method.label})")
        return DeviceStatus.AVAILABLE

    def _event(
        self, device: Device, at: datetime, before: DeviceStatus, after: DeviceStatus, reason: str
    ) -> None:
        self._add(
            DeviceStatusEventRow,
            {
                "id": uuid.uuid4(),
                "device_id": device.id,
                "at": at,
                "from_status": before,
                "to_status": after,
                "changed_by": self._actor,
                "reason": reason,
            },
        )

    def _desk_time(self, day: date) -> datetime:
        return _at(day, 9, 30) + timedelta(minutes=self._rng.randrange(7 * 60))

    def _add(self, model: type[Base], row: dict[str, Any]) -> None:
        self._rows.setdefault(model, []).append(row)
        self._held += 1
        if self._held >= self.BLOCK:
            self._write()

    def _write(self) -> None:
        """Write the rows held, parents before children, in one transaction."""
        order = (
            ResidentRow,
            ResidentSearchTermRow,
            ResidentConsentRow,
            LoanRow,
            LoanKitRow,
            DeviceStatusEventRow,
            WipeRow,
            DataPlanRow,
        )
        with self._context.db.write() as session:
            for model in order:
                if rows := self._rows.pop(model, None):
                    # Core inserts: the ORM's bulk insert costs twice the time here.
                    session.execute(insert(Base.metadata.tables[model.__tablename__]), rows)
            if rows := self._rows.pop(DeviceRow, None):
                session.execute(update(DeviceRow), rows)
        self._held = 0
