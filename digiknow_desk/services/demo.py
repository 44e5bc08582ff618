"""Realistic, reproducible demo data: Stockport venues, a device library like the borough's own and,
on request, residents and months of history made through the same services as the desk: lending,
Digital Champions, support sessions, skills checks and the inclusion statuses they lead to."""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, update

from digiknow_desk.domain.champions import ChampionDraft, ChampionRules, Lapse, add_months
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
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus, ResidentFacts
from digiknow_desk.domain.loans import (
    DataPlan,
    LendingRules,
    LoanAchieved,
    LoanOutcome,
    ReasonMet,
    WaitEntry,
    WaitStatus,
    WipeChecklist,
    WipeMethod,
)
from digiknow_desk.domain.residents import (
    REFERENCE_PREFIX,
    YOUNG_AGE_BANDS,
    AgeBand,
    Answer,
    ConsentPurpose,
    ReferralReason,
    Resident,
    ResidentDraft,
)
from digiknow_desk.domain.sessions import (
    AnonymousAttendee,
    CommonTask,
    HoursKind,
    SessionDraft,
    SessionKind,
    Topic,
)
from digiknow_desk.domain.skills import LIFE_AREAS, SkillArea, SkillLevel, SkillsCheckDraft, areas_alone
from digiknow_desk.domain.staff import Permission, Role
from digiknow_desk.domain.venues import Venue, VenueDraft
from digiknow_desk.services.accounts import AccountService
from digiknow_desk.services.champions import ChampionService
from digiknow_desk.services.context import ServiceContext, before_sign_in, requires
from digiknow_desk.services.inclusion import InclusionService
from digiknow_desk.services.inventory import InventoryService
from digiknow_desk.services.lending import LendingService
from digiknow_desk.services.residents import PossibleDuplicate, ResidentService, term_rows

# The residents service's own row builders, so that rows written in bulk are the rows `add` writes.
from digiknow_desk.services.residents import _columns as resident_columns
from digiknow_desk.services.sessions import SessionService
from digiknow_desk.services.settings import DEMO_KEY, is_demo_database, write_setting
from digiknow_desk.services.skills import SkillsService
from digiknow_desk.services.venues import VenueService
from digiknow_desk.storage.models import (
    Base,
    ChampionHoursRow,
    ChampionRow,
    ChampionVenueRow,
    DataPlanRow,
    DeviceRow,
    DeviceStatusEventRow,
    InclusionChangeRow,
    LoanKitRow,
    LoanRenewalRow,
    LoanRow,
    ResidentConsentRow,
    ResidentRow,
    ResidentSearchTermRow,
    SessionAttendeeRow,
    SessionChampionRow,
    SessionRow,
    SessionTopicRow,
    SkillsCheckLevelRow,
    SkillsCheckRow,
    StaffAccountRow,
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
# One sign-in account per role, so every screen can be tried; the README lists them. Never on live data:
# a database that has had demo data says DEMO on every screen and printout.
DEMO_ACCOUNTS = (
    ("demo.admin", "Demo Administrator", Role.ADMINISTRATOR, "Stockport-admin"),
    ("demo.coordinator", "Demo Coordinator", Role.COORDINATOR, "Stockport-coordinator"),
    ("demo.desk", "Demo Desk", Role.DESK, "Stockport-desk"),
    ("demo.champion", "Demo Champion", Role.CHAMPION, "Stockport-champion"),
)

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
# The optional, sensitive questions. Some residents are not asked (or would rather not go through them);
# of those asked, a few prefer not to say to each question.
SENSITIVE_ASKED = 0.85
PREFER_NOT_TO_SAY = 0.04
# Who says yes, of those who answer, by age band. Disability rises with age: about a third of those who
# answer (three in ten of all residents), over half of those 75 or over; more of those with access needs.
# Benefits: about 40% of those who answer, most among working age; nearly everyone Jobcentre Plus refers
# to look for work claims Universal Credit.
DISABILITY = {
    AgeBand.UNDER_18: 0.08,
    AgeBand.AGE_18_24: 0.12,
    AgeBand.AGE_25_49: 0.22,
    AgeBand.AGE_50_64: 0.3,
    AgeBand.AGE_65_74: 0.38,
    AgeBand.AGE_75_PLUS: 0.55,
    AgeBand.NOT_SAID: 0.27,
}
DISABILITY_WITH_ACCESS_NEEDS = 0.7
ON_BENEFITS = {
    AgeBand.UNDER_18: 0.05,
    AgeBand.AGE_18_24: 0.3,
    AgeBand.AGE_25_49: 0.4,
    AgeBand.AGE_50_64: 0.38,
    AgeBand.AGE_65_74: 0.35,
    AgeBand.AGE_75_PLUS: 0.3,
    AgeBand.NOT_SAID: 0.35,
}
ON_BENEFITS_LOOKING_FOR_WORK = 0.85
# Not in work, education or training (asked of the young only): most 18 to 24s looking for work, few
# others; those under 18 are at school. Care leavers: a few young people; older residents are not asked.
NOT_IN_WORK_18_24 = {ReferralReason.JOB_SEARCH: 0.7, ReferralReason.EDUCATION: 0.0}
NOT_IN_WORK_18_24_OTHERWISE = 0.3
CARE_LEAVER_YOUNG = 0.08
CARE_LEAVER_25_49 = 0.01
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
CARE_LEAVER_PRIORITY = "Care leaver: priority group"
PRIORITY_REASONS = (
    "Discharged from hospital; needs video appointments",
    "Universal Credit claim due this week",
)
WITHDRAW_REASONS = ("Family lent them a laptop", "Moved out of Stockport", "No longer needs a device")

# Digital Champions and support.
RESIDENTS_PER_CHAMPION = 60
MIN_CHAMPIONS, MAX_CHAMPIONS = 4, 60
MAX_SESSIONS = 2_000_000
SUPPORTED_SHARE = 0.8  # residents who have support sessions, not only a loan
# Sessions that are not part of one resident's support, for every resident: group classes, and
# drop-ins or calls from someone not registered.
GROUP_CLASSES_PER_RESIDENT = 0.1
ANONYMOUS_PER_RESIDENT = 0.2
# Their shares when an exact number of sessions is asked for (the bulk history, for benchmarks).
GROUP_SHARE, ANONYMOUS_SHARE = 0.03, 0.05

_K, _S, _C = SessionKind, SkillArea, CommonTask
INDIVIDUAL_KINDS = ((_K.ONE_TO_ONE, 50), (_K.DROP_IN, 25), (_K.PHONE, 15), (_K.VIDEO, 10))
# When each kind of session starts (minutes after midnight: first, last, step) and how long it lasts.
STARTS = {
    _K.ONE_TO_ONE: (9 * 60 + 30, 15 * 60 + 30, 15),
    _K.DROP_IN: (10 * 60, 15 * 60 + 30, 5),
    _K.PHONE: (9 * 60, 16 * 60 + 30, 5),
    _K.VIDEO: (9 * 60 + 30, 16 * 60, 15),
}
LENGTHS = {
    _K.ONE_TO_ONE: (30, 45, 45, 60, 60, 90),
    _K.DROP_IN: (20, 25, 30, 30, 40, 45),
    _K.GROUP: (60, 90, 90, 120),
    _K.PHONE: (20, 20, 30, 30, 40),
    _K.VIDEO: (30, 30, 45, 60),
}
# What a first session covers, and what each kind of need is helped with afterwards.
FIRST_TOPICS: tuple[tuple[Topic, int], ...] = (
    (_C.DEVICE_SETUP, 5),
    (_S.FOUNDATION, 4),
    (_C.EMAIL, 1),
    (_C.VIDEO_CALLS, 1),
)
TOPICS_BY_REASON: dict[ReferralReason, tuple[tuple[Topic, int], ...]] = {
    _R.JOB_SEARCH: (
        (_C.JOB_APPLICATIONS, 5),
        (_C.UNIVERSAL_CREDIT, 4),
        (_C.EMAIL, 3),
        (_S.HANDLING_INFORMATION, 2),
        (_S.TRANSACTING, 2),
        (_C.SPOTTING_SCAMS, 1),
    ),
    _R.EDUCATION: (
        (_S.HANDLING_INFORMATION, 4),
        (_C.EMAIL, 3),
        (_S.COMMUNICATING, 2),
        (_S.PROBLEM_SOLVING, 2),
        (_S.BEING_SAFE_LEGAL, 1),
    ),
    _R.HEALTH: (
        (_C.NHS_APP, 6),
        (_C.VIDEO_CALLS, 2),
        (_S.TRANSACTING, 2),
        (_C.EMAIL, 2),
        (_C.SPOTTING_SCAMS, 1),
    ),
    _R.SOCIAL_ISOLATION: (
        (_C.VIDEO_CALLS, 6),
        (_S.COMMUNICATING, 3),
        (_C.EMAIL, 3),
        (_C.SPOTTING_SCAMS, 2),
        (_C.ONLINE_BANKING, 1),
    ),
    _R.OTHER: (
        (_C.ONLINE_BANKING, 4),
        (_C.SPOTTING_SCAMS, 3),
        (_C.EMAIL, 3),
        (_S.PROBLEM_SOLVING, 2),
        (_S.BEING_SAFE_LEGAL, 2),
    ),
}
# What someone who drops in unregistered, or rings, most often asks about.
DROP_IN_TOPICS: tuple[tuple[Topic, int], ...] = (
    (_C.NHS_APP, 3),
    (_C.SPOTTING_SCAMS, 3),
    (_C.ONLINE_BANKING, 2),
    (_C.EMAIL, 2),
    (_C.UNIVERSAL_CREDIT, 2),
    (_S.FOUNDATION, 2),
    (_S.PROBLEM_SOLVING, 1),
)
GROUP_THEMES: tuple[tuple[tuple[Topic, ...], str], ...] = (
    (
        (_C.SPOTTING_SCAMS, _S.BEING_SAFE_LEGAL),
        "Scams class: fake texts, calls and emails, and reporting them",
    ),
    ((_C.NHS_APP, _S.TRANSACTING), "NHS App class: repeat prescriptions, appointments and records"),
    ((_C.VIDEO_CALLS, _S.COMMUNICATING), "Video calls class: WhatsApp and Zoom with family"),
    ((_C.ONLINE_BANKING, _S.TRANSACTING), "Online banking class: the bank's app, balances and safe payments"),
    ((_C.EMAIL, _S.COMMUNICATING), "Email class: sending, replying and attachments"),
    ((_S.FOUNDATION, _C.DEVICE_SETUP), "Getting started class: switching on, Wi-Fi and passwords"),
)
# The skill area practised by working on each topic.
PRACTISES: dict[Topic, SkillArea] = {area: area for area in SkillArea} | {
    _C.NHS_APP: _S.TRANSACTING,
    _C.UNIVERSAL_CREDIT: _S.TRANSACTING,
    _C.ONLINE_BANKING: _S.TRANSACTING,
    _C.VIDEO_CALLS: _S.COMMUNICATING,
    _C.JOB_APPLICATIONS: _S.TRANSACTING,
    _C.SPOTTING_SCAMS: _S.BEING_SAFE_LEGAL,
    _C.EMAIL: _S.COMMUNICATING,
    _C.DEVICE_SETUP: _S.FOUNDATION,
}
OUTCOMES: dict[Topic, tuple[str, ...]] = {
    _C.NHS_APP: (
        "Set up the NHS App and ordered a repeat prescription",
        "Booked a GP appointment in the NHS App with help",
        "Found test results in the NHS App",
    ),
    _C.UNIVERSAL_CREDIT: (
        "Added a note to the Universal Credit journal",
        "Read the to-do list in the journal and replied to the work coach",
    ),
    _C.ONLINE_BANKING: ("Checked a balance in the bank's app", "Set up the bank's app with a passcode"),
    _C.VIDEO_CALLS: ("Made a WhatsApp video call to family", "Joined a Zoom call with a grandchild"),
    _C.JOB_APPLICATIONS: ("Uploaded a CV and applied for two jobs", "Set up job alerts on Find a job"),
    _C.SPOTTING_SCAMS: (
        "Went through fake texts and emails, and how to report them to 7726",
        "Checked a suspicious email together: it was phishing",
    ),
    _C.EMAIL: ("Sent and replied to emails", "Attached a photo to an email"),
    _C.DEVICE_SETUP: (
        "Set up the device, connected to Wi-Fi and made a password",
        "Charged the device and practised unlocking it",
    ),
    _S.FOUNDATION: ("Practised the touch screen and opening apps", "Connected to the library Wi-Fi alone"),
    _S.COMMUNICATING: ("Shared photos with family on WhatsApp", "Set up a Facebook account safely"),
    _S.HANDLING_INFORMATION: (
        "Searched for bus times and saved the page",
        "Saved and found files and photos",
    ),
    _S.TRANSACTING: ("Filled in an online form with help", "Bought something online and tracked it"),
    _S.PROBLEM_SOLVING: ("Used a help video to make the text bigger", "Found an answer in a FAQ page"),
    _S.BEING_SAFE_LEGAL: ("Changed passwords and turned on two-step sign-in", "Checked privacy settings"),
}
FOLLOW_UPS: dict[Topic, str] = {
    _C.NHS_APP: "Check they can order a prescription alone",
    _C.UNIVERSAL_CREDIT: "Go through the journal together before the next appointment",
    _C.ONLINE_BANKING: "Check the bank's app still signs in",
    _C.VIDEO_CALLS: "Call them on video to practise",
    _C.JOB_APPLICATIONS: "Look at replies to the applications",
    _C.SPOTTING_SCAMS: "Ring to see whether more scam texts came",
    _C.EMAIL: "Check they can reply to an email alone",
    _C.DEVICE_SETUP: "Check the updates installed and the password is remembered",
    _S.FOUNDATION: "Practise switching on and connecting to Wi-Fi alone",
    _S.COMMUNICATING: "See how the family messages are going",
    _S.HANDLING_INFORMATION: "Practise searching and saving pages",
    _S.TRANSACTING: "Try the form again alone",
    _S.PROBLEM_SOLVING: "Practise finding help online",
    _S.BEING_SAFE_LEGAL: "Check two-step sign-in works",
}
# A skills check at the start: Foundation first, older residents further back; the other areas
# follow Foundation (weights of not yet, with help, alone).
_L = SkillLevel
RANKED_LEVELS = (_L.NOT_YET, _L.WITH_HELP, _L.ALONE)
BASELINE_FOUNDATION = {
    True: ((_L.NOT_YET, 45), (_L.WITH_HELP, 40), (_L.ALONE, 15)),  # 65 and over
    False: ((_L.NOT_YET, 20), (_L.WITH_HELP, 45), (_L.ALONE, 35)),
}
BASELINE_AREAS = {
    _L.NOT_YET: ((_L.NOT_YET, 85), (_L.WITH_HELP, 15), (_L.ALONE, 0)),
    _L.WITH_HELP: ((_L.NOT_YET, 50), (_L.WITH_HELP, 45), (_L.ALONE, 5)),
    _L.ALONE: ((_L.NOT_YET, 40), (_L.WITH_HELP, 45), (_L.ALONE, 15)),
}
OTHER_HOURS: tuple[tuple[tuple[HoursKind, tuple[int, int], tuple[str, ...]], int], ...] = (
    (
        (
            HoursKind.DEVICE_SETUP,
            (60, 180),
            ("Set up and labelled tablets for lending", "Wiped and set up laptops"),
        ),
        55,
    ),
    ((HoursKind.OUTREACH, (90, 240), ("Stall at a community fair", "Talk at a coffee morning")), 35),
    ((HoursKind.OTHER, (60, 90), ("Champions' team meeting",)), 10),
)


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
    champions_added: int = 0
    sessions_added: int = 0
    skills_checks_added: int = 0
    included: int = 0  # residents digitally included (or independently) at the end
    champion_warnings: int = 0  # active champions whose training or DBS check lapses soon or has lapsed
    accounts_added: int = 0  # demo sign-in accounts, one per role


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

    @before_sign_in
    def is_demo(self) -> bool:
        """Whether demo data was ever put in this database: then every screen and printout says DEMO."""
        with self._context.db.read() as session:
            return is_demo_database(session)

    @requires(Permission.BACKUP)
    def fill(
        self,
        *,
        devices: int = DEFAULT_DEVICES,
        months: int = 24,
        seed: int = 1,
        residents: int = 0,
        bulk: bool | None = None,
        sessions: int | None = None,
    ) -> DemoSummary:
        """The demo data of `_fill` (see there), with the database marked DEMO and one demo account per
        role (DEMO_ACCOUNTS, passwords in the README)."""
        with self._context.db.write() as session:
            live = not is_demo_database(session) and (
                session.scalar(select(func.count()).select_from(StaffAccountRow))
                or session.scalar(select(func.count()).select_from(ResidentRow))
            )
            if live:
                # Demo accounts have published passwords: they never go into a database in real use.
                raise DomainError(
                    "This database is in use (it has staff accounts or residents), so demo data cannot go "
                    "in it. Make a demo database of its own: digiknow-desk --db demo.db demo-data"
                )
            write_setting(session, self._context, DEMO_KEY, {"demo": True})
        summary = self._fill(
            devices=devices, months=months, seed=seed, residents=residents, bulk=bulk, sessions=sessions
        )
        return replace(summary, accounts_added=self._add_demo_accounts())

    def _add_demo_accounts(self) -> int:
        accounts = AccountService(self._context)
        existing = {account.username for account in accounts.accounts()}
        champions = ChampionService(self._context)
        added = 0
        for username, display_name, role, password in DEMO_ACCOUNTS:
            if username in existing:
                continue
            champion_id = None
            if role is Role.CHAMPION:
                active = champions.champions(active_only=True)
                champion_id = (active[0] if active else champions.add(ChampionDraft(name=display_name))).id
            accounts.add(username, display_name, role, password, champion_id=champion_id)
            added += 1
        return added

    def _fill(
        self,
        *,
        devices: int,
        months: int,
        seed: int,
        residents: int,
        bulk: bool | None,
        sessions: int | None,
    ) -> DemoSummary:
        """Add the demo venues that are missing and `devices` devices acquired over the last `months`
        months. With `residents`, also register that many residents over those months and run the
        desk through them: loans issued, renewed, returned late or lost (closed with what the loan
        achieved), wipes, the waiting list and its offers, and data plans; Digital Champions and their
        sessions, skills checks and other hours, so that residents' inclusion statuses move over the
        months. All of it is made through the services on a simulated clock.
        Beyond BULK_RESIDENTS residents (or with `bulk`) a simpler history is written in bulk instead,
        as the services would take hours over it. `sessions` asks for exactly that many sessions,
        which only the bulk history promises (the benchmarks' size)."""
        problems = {}
        if not 0 <= devices <= 100_000:
            problems["devices"] = "Ask for between 0 and 100,000 demo devices."
        if not 1 <= months <= 120:
            problems["months"] = "Ask for between 1 and 120 months of demo history."
        if not 0 <= residents <= MAX_RESIDENTS:
            problems["residents"] = f"Ask for between 0 and {MAX_RESIDENTS:,} demo residents."
        if sessions is not None:
            if not 0 <= sessions <= MAX_SESSIONS:
                problems["sessions"] = f"Ask for between 0 and {MAX_SESSIONS:,} demo sessions."
            elif not residents:
                problems["sessions"] = "Sessions are held with residents: ask for some residents too."
            elif bulk is False:
                problems["sessions"] = "An exact number of sessions comes only with the bulk history."
        if problems:
            raise ValidationError(problems)
        # A second fill of the same database draws afresh, so its serials do not repeat the first fill's.
        existing = self._inventory.count(DeviceFilter())
        rng = random.Random(seed if existing == 0 else f"{seed}:{existing}")
        venues_added = self._add_venues()
        venues = self._venues.venues(active_only=True)
        venue_ids = [venue.id for venue in venues]
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
        champions = ChampionService(self._context)
        support = _Support(rng, venues, ward_codes, start, today, champions.rules())
        support.plan_champions(residents, {champion.name for champion in champions.champions()})
        if (residents > BULK_RESIDENTS or sessions is not None) if bulk is None else bulk:
            history = _BulkHistory(self._context, rng, start, ward_codes, support)
            return history.run(entries, residents, venues_added, sessions)
        return _History(self._context, rng, start, ward_codes, support).run(entries, residents, venues_added)

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


def resident_draft(rng: random.Random, ward_codes: set[str], *, supported: bool) -> ResidentDraft:
    """A made-up Stockport resident: a common name, a postcode and ward, an age band skewed older, a
    referral that fits their age, contact details that reach nobody, and consents (to having their
    support recorded, for those who will have it)."""
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
        (ConsentPurpose.SUPPORT, 1.0 if supported else 0.3),
        (ConsentPurpose.FOLLOW_UP, 0.35),
    ):
        if rng.random() < chance:
            consents.add(purpose)
    large_print = rng.random() < (0.3 if age == AgeBand.AGE_75_PLUS else 0.05)
    interpreter = language != "English" and rng.random() < 0.4
    access_needs = rng.choice(ACCESS_NEEDS) if rng.random() < 0.12 else ""
    reason = _pick(rng, reasons)
    draft = ResidentDraft(
        name=f"{first} {surname}",
        phone=phone,
        email=email,
        address=address,
        postcode=postcode,
        ward_code=ward_code if ward_code in ward_codes else None,
        age_band=age,
        language=language,
        large_print=large_print,
        interpreter=interpreter,
        access_needs=access_needs,
        referral_partner=partner,
        referral_reason=reason,
        consents=frozenset(consents),
    )
    return with_sensitive_answers(rng, draft) if rng.random() < SENSITIVE_ASKED else draft


def with_sensitive_answers(rng: random.Random, draft: ResidentDraft) -> ResidentDraft:
    """The resident's answers to the optional, sensitive questions, in keeping with their age, needs and
    referral; a question that is not for them (or not usually asked at their age) stays unasked."""
    age = draft.age_band

    def answer(chance_yes: float) -> Answer:
        if rng.random() < PREFER_NOT_TO_SAY:
            return Answer.PREFER_NOT
        return Answer.YES if rng.random() < chance_yes else Answer.NO

    needs = draft.large_print or bool(draft.access_needs)
    looking_for_work = draft.referral_reason is ReferralReason.JOB_SEARCH and age is not AgeBand.UNDER_18
    disability = answer(DISABILITY_WITH_ACCESS_NEEDS if needs else DISABILITY[age])
    on_benefits = answer(ON_BENEFITS_LOOKING_FOR_WORK if looking_for_work else ON_BENEFITS[age])
    not_in_work = care_leaver = None
    if age in YOUNG_AGE_BANDS:
        not_in_work = answer(
            NOT_IN_WORK_18_24.get(draft.referral_reason, NOT_IN_WORK_18_24_OTHERWISE)
            if age is AgeBand.AGE_18_24
            else 0.0
        )
        care_leaver = answer(CARE_LEAVER_YOUNG)
    elif age is AgeBand.AGE_25_49:
        care_leaver = answer(CARE_LEAVER_25_49)
    return replace(
        draft,
        disability=disability,
        on_benefits=on_benefits,
        not_in_work_or_education=not_in_work,
        care_leaver=care_leaver,
    )


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """That local time on that day, as the services keep it (UTC)."""
    return datetime.combine(day, time(hour, minute)).astimezone().astimezone(UTC)


def _history_day(rng: random.Random, start: date, today: date) -> date:
    """A day in the history: some evenly spread, most lately, as word of the scheme spreads."""
    days = (today - start).days
    share = rng.random() if rng.random() < 0.3 else rng.random() ** (1 / 3)
    return start + timedelta(days=min(int(share * days), days - 1))


def _support_summary(context: ServiceContext) -> dict[str, int]:
    """Where support stands at the end of a history: residents included, champions with a warning."""
    counts = InclusionService(context).counts()
    return {
        "included": counts[InclusionStatus.INCLUDED] + counts[InclusionStatus.INDEPENDENT],
        "champion_warnings": len(ChampionService(context).warnings()),
    }


class _SimulatedClock:
    """The time the history has reached; the services read it as their clock."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _latest(dates: Sequence[date], day: date) -> date | None:
    return max((d for d in dates if d <= day), default=None)


@dataclass
class _ChampionPlan:
    """A made-up champion over the history: when they joined (and left), and each training and DBS check."""

    name: str
    phone: str
    email: str
    venues: tuple[uuid.UUID, ...]  # in the order drawn, so that choices among them repeat with the seed
    joined: date
    trainings: tuple[date, ...]  # oldest first; the first on or before joining
    dbs_checks: tuple[date, ...]
    leaves_on: date | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)  # replaced by the service's id when added through it

    def works_on(self, day: date) -> bool:
        return self.joined <= day and (self.leaves_on is None or day < self.leaves_on)

    def draft_on(self, day: date) -> ChampionDraft:
        """The champion's record as it stood on `day`."""
        return ChampionDraft(
            name=self.name,
            phone=self.phone,
            email=self.email,
            venue_ids=frozenset(self.venues),
            trained_on=_latest(self.trainings, day),
            dbs_checked_on=_latest(self.dbs_checks, day),
            active=self.leaves_on is None or day < self.leaves_on,
        )

    def changes(self) -> list[date]:
        """The days after joining when the record changed: training, a DBS check, leaving."""
        days = {d for d in (*self.trainings, *self.dbs_checks) if d > self.joined}
        return sorted(days | ({self.leaves_on} if self.leaves_on else set()))


@dataclass(frozen=True, slots=True)
class _Access:
    """Since when a resident has had a device and an internet connection of their own (None: not yet)."""

    device_from: datetime | None
    connection_from: datetime | None

    def at(self, moment: datetime) -> tuple[bool, bool]:
        return (
            self.device_from is not None and self.device_from <= moment,
            self.connection_from is not None and self.connection_from <= moment,
        )


@dataclass(slots=True)
class _Learner:
    """A resident having support: where and with whom, how many sessions are still to come, and what the
    last skills check found."""

    reference: str
    age_band: AgeBand
    reason: ReferralReason
    venue_id: uuid.UUID | None
    aptitude: float  # how quickly they pick things up
    sessions_left: int
    champion: _ChampionPlan | None = None
    sessions_had: int = 0
    levels: dict[SkillArea, SkillLevel] = field(default_factory=dict)  # empty before the baseline
    practised: set[SkillArea] = field(default_factory=set)  # since the last check
    since_check: int = 0
    review_after: int = 0


class _Support:
    """What the Digital Champions do in the demo: who they are, who gets support and how it goes
    (sessions, skills checks, a device or connection of their own), and what residents say when a loan
    closes. The desk's history and the bulk history both ask it, so both tell the same story."""

    def __init__(
        self,
        rng: random.Random,
        venues: list[Venue],
        ward_codes: set[str],
        start: date,
        today: date,
        rules: ChampionRules,
    ) -> None:
        self._rng = rng
        self._venue_ids = [venue.id for venue in venues]
        self._venue_wards = {venue.id: venue.ward_code for venue in venues}
        self._venue_in_ward: dict[str, uuid.UUID] = {}
        for venue in venues:
            self._venue_in_ward.setdefault(venue.ward_code, venue.id)
        self._ward_codes = ward_codes
        self._start = start
        self._today = today
        self._rules = rules
        self.champions: list[_ChampionPlan] = []

    # Champions

    def plan_champions(self, residents: int, taken: set[str]) -> list[_ChampionPlan]:
        """About one champion for every RESIDENTS_PER_CHAMPION residents. Most were there from the start,
        a few joined later; a few have training or a DBS check lapsing or lapsed, so the warnings have
        something to show, and one or two have left."""
        rng = self._rng
        count = min(MAX_CHAMPIONS, max(MIN_CHAMPIONS, round(residents / RESIDENTS_PER_CHAMPION)))
        span = (self._today - self._start).days
        founders = count if span < 90 else min(count, max(3, round(count * 0.7)))
        current, lapsing, lapsed = Lapse.CURRENT, Lapse.LAPSING, Lapse.LAPSED
        # (training, DBS check, leaves) for each founder, the ones with something to show first.
        states = [(lapsing, current, False), (current, lapsed, False)]
        if count >= 8:
            states += [(lapsed, current, False), (current, lapsing, False)]
        states += [(current, current, True)] * (1 if count < 8 else 2)
        states += [(current, current, False)] * (founders - len(states))
        rng.shuffle(states)
        taken = {name.casefold() for name in taken}
        for number in range(count):
            name, phone, email = self._champion_contact(taken)
            venues = self._champion_venues(number)
            if number < founders:
                training, dbs, leaves = states[number]
                plan = self._founder(name, phone, email, venues, training, dbs, leaves)
            else:
                joined = self._start + timedelta(days=rng.randint(30, span * 3 // 4))
                plan = _ChampionPlan(
                    name=name,
                    phone=phone,
                    email=email,
                    venues=venues,
                    joined=joined,
                    trainings=self._renewals(
                        joined - timedelta(days=rng.randint(3, 21)), self._rules.training_months, self._today
                    ),
                    dbs_checks=self._renewals(
                        joined - timedelta(days=rng.randint(14, 60)), self._rules.dbs_months, self._today
                    ),
                )
            self.champions.append(plan)
        return self.champions

    def _champion_contact(self, taken: set[str]) -> tuple[str, str, str]:
        rng = self._rng
        while True:
            _weight, firsts, surnames, _languages = rng.choices(
                NAME_GROUPS, weights=[g[0] for g in NAME_GROUPS]
            )[0]
            first, surname = rng.choice(firsts), rng.choice(surnames)
            if f"{first} {surname}".casefold() not in taken:
                break
        taken.add(f"{first} {surname}".casefold())
        phone = f"07700 900{rng.randrange(1000):03d}" if rng.random() < 0.75 else ""
        email = ""
        if not phone or rng.random() < 0.5:
            email = f"{first}.{surname}@example.com".lower().replace("'", "")
        return f"{first} {surname}", phone, email

    def _champion_venues(self, number: int) -> tuple[uuid.UUID, ...]:
        """One to three venues; the first ones in turn, so that every venue has someone."""
        if not self._venue_ids:
            return ()
        venues = [self._venue_ids[number % len(self._venue_ids)]]
        for _ in range(self._rng.choice((0, 0, 1, 2))):
            extra = self._rng.choice(self._venue_ids)
            if extra not in venues:
                venues.append(extra)
        return tuple(venues)

    def _founder(
        self,
        name: str,
        phone: str,
        email: str,
        venues: tuple[uuid.UUID, ...],
        training: Lapse,
        dbs: Lapse,
        leaves: bool,
    ) -> _ChampionPlan:
        """A champion there from the start, whose training and DBS check stand as asked at the end."""
        rng = self._rng
        rules = self._rules
        if leaves:
            span = (self._today - self._start).days
            leaves_on = self._start + timedelta(days=rng.randint(span // 2, span - 7))
            trainings = self._renewals(
                self._start - timedelta(days=rng.randint(30, 400)), rules.training_months, leaves_on
            )
            dbs_checks = self._renewals(
                self._start - timedelta(days=rng.randint(30, 700)), rules.dbs_months, leaves_on
            )
            return _ChampionPlan(name, phone, email, venues, self._start, trainings, dbs_checks, leaves_on)
        return _ChampionPlan(
            name,
            phone,
            email,
            venues,
            self._start,
            self._leading_to(self._last(training, rules.training_months), rules.training_months),
            self._leading_to(self._last(dbs, rules.dbs_months), rules.dbs_months),
        )

    def _last(self, state: Lapse, months: int) -> date:
        """The latest date of something lasting `months` that leaves it in `state` today."""
        rng = self._rng
        warn = self._rules.warn_days
        if state is Lapse.LAPSING:
            return add_months(self._today + timedelta(days=rng.randint(1, warn)), -months)
        if state is Lapse.LAPSED:
            return add_months(self._today - timedelta(days=rng.randint(5, 120)), -months)
        return self._today - timedelta(days=rng.randint(7, max(7, months * 30 - warn - 30)))

    def _leading_to(self, last: date, months: int) -> tuple[date, ...]:
        """Dates ending at `last`, each renewed a few weeks before the one before it lapsed, back to one
        on or before the start."""
        dates = [last]
        while dates[0] > self._start:
            dates.insert(0, add_months(dates[0] + timedelta(days=self._rng.randint(7, 45)), -months))
        return tuple(dates)

    def _renewals(self, first: date, months: int, until: date) -> tuple[date, ...]:
        """From `first`, renewed a few weeks before each lapse, while that falls by `until`."""
        dates = [first]
        while (renewed := add_months(dates[-1], months) - timedelta(days=self._rng.randint(7, 45))) <= until:
            dates.append(renewed)
        return tuple(dates)

    def other_hours(self, champion: _ChampionPlan) -> list[tuple[date, HoursKind, int, str]]:
        """The champion's volunteer time outside sessions: each training in the history, and now and then
        setting up devices, outreach or a team meeting."""
        rng = self._rng
        found = [
            (day, HoursKind.TRAINING, 360 if number == 0 else 180,
             "Digital Champion training" if number == 0 else "Refresher training")
            for number, day in enumerate(champion.trainings)
            if self._start <= day <= self._today
        ]  # fmt: skip
        month = self._start.replace(day=1)
        while month <= self._today:
            following = add_months(month, 1)
            if rng.random() < 0.3:
                day = month + timedelta(days=rng.randrange((following - month).days))
                if self._start <= day <= self._today and champion.works_on(day):
                    kind, (least, most), notes = _pick(rng, OTHER_HOURS)
                    found.append((day, kind, rng.randrange(least, most + 1, 15), rng.choice(notes)))
            month = following
        return found

    def _champion_for(self, learner: _Learner, day: date) -> _ChampionPlan | None:
        """The learner's champion, kept while they still help; else one who helps at the learner's venue."""
        if learner.champion is not None and learner.champion.works_on(day):
            return learner.champion
        working = [champion for champion in self.champions if champion.works_on(day)]
        if not working:
            return None
        local = [champion for champion in working if learner.venue_id in champion.venues]
        learner.champion = self._rng.choice(local or working)
        return learner.champion

    # Residents

    def access(self, joined: datetime, supported: bool) -> _Access:
        """Whether the resident came with a device and a connection of their own, or got one later or not
        in the history; those having support are often helped to one (a device to keep from the
        National Device Bank, a social tariff)."""
        rng = self._rng
        gains = 0.7 if supported else 0.25

        def since(already: float) -> datetime | None:
            if rng.random() < already:
                return joined - timedelta(days=1)
            if rng.random() < gains:
                return joined + timedelta(days=rng.randint(10, 120))
            return None

        device = since(0.6)
        return _Access(device, since(0.6 if device is not None and device < joined else 0.3))

    def wants_support(self) -> bool:
        """Whether a new resident will have support sessions, not only a loan (asked as they register,
        when they agree to having it recorded)."""
        return self._rng.random() < SUPPORTED_SHARE

    def learner(
        self,
        reference: str,
        age_band: AgeBand,
        ward_code: str | None,
        reason: ReferralReason,
    ) -> _Learner:
        """How a new resident's support will go."""
        rng = self._rng
        older = age_band in (AgeBand.AGE_65_74, AgeBand.AGE_75_PLUS)
        venue = self._venue_in_ward.get(ward_code or "")
        if venue is None and self._venue_ids:
            venue = rng.choice(self._venue_ids)
        return _Learner(
            reference=reference,
            age_band=age_band,
            reason=reason,
            venue_id=venue,
            aptitude=rng.uniform(0.4, 0.95) - (0.1 if older else 0.0),
            sessions_left=1 + min(19, int(rng.expovariate(1 / 6.5))),
        )

    def achieved(self, access: _Access, moment: datetime) -> LoanAchieved | None:
        """What a resident says when their loan closes (most are asked), with their own access then."""
        rng = self._rng
        if rng.random() < 0.1:
            return None
        own_device, own_connection = access.at(moment)
        reason_met = _pick(rng, ((ReasonMet.YES, 60), (ReasonMet.PARTLY, 30), (ReasonMet.NO, 10)))
        return LoanAchieved(reason_met, own_device, own_connection)

    # Sessions

    def individual(self, learner: _Learner, day: date, starts_at: time | None = None) -> SessionDraft | None:
        """The learner's next session on `day` (at `starts_at`, or when its kind usually starts)."""
        rng = self._rng
        champion = self._champion_for(learner, day)
        if champion is None:
            return None
        first = learner.sessions_had == 0
        venue = learner.venue_id if learner.venue_id in champion.venues else None
        if venue is None and champion.venues:
            venue = rng.choice(champion.venues)
        if venue is None:
            kind = rng.choice((_K.PHONE, _K.VIDEO))
        elif first:
            kind = _pick(rng, ((_K.ONE_TO_ONE, 3), (_K.DROP_IN, 1)))
        else:
            kind = _pick(rng, INDIVIDUAL_KINDS)
        topics = self._topics(FIRST_TOPICS if first else TOPICS_BY_REASON[learner.reason])
        follow_up_on, follow_up = None, ""
        if rng.random() < 0.2:
            follow_up_on, follow_up = day + timedelta(days=rng.randint(7, 28)), FOLLOW_UPS[topics[0]]
        self._practise(learner, topics)
        learner.sessions_left -= 1
        return SessionDraft(
            held_on=day,
            starts_at=starts_at or self._starts(kind),
            minutes=rng.choice(LENGTHS[kind]),
            kind=kind,
            venue_id=None if kind in (_K.PHONE, _K.VIDEO) else venue,
            champion_ids=(champion.id,),
            resident_references=(learner.reference,),
            topics=frozenset(topics),
            outcome=rng.choice(OUTCOMES[topics[0]]) if rng.random() < 0.9 else "",
            follow_up_on=follow_up_on,
            follow_up=follow_up,
        )

    def group(self, day: date, candidates: list[_Learner]) -> tuple[SessionDraft, list[_Learner]] | None:
        """A group class at a venue on `day`: some of the `candidates` come, and some not registered."""
        rng = self._rng
        hosts = [champion for champion in self.champions if champion.works_on(day) and champion.venues]
        if not hosts:
            return None
        host = rng.choice(hosts)
        venue = rng.choice(host.venues)
        helpers = [champion for champion in hosts if champion is not host and venue in champion.venues]
        champions = [host, rng.choice(helpers)] if helpers and rng.random() < 0.3 else [host]
        topics, theme = rng.choice(GROUP_THEMES)
        size = rng.randint(4, 10)
        registered = rng.sample(candidates, min(len(candidates), round(size * rng.uniform(0.4, 0.9))))
        for learner in registered:
            self._practise(learner, list(topics))
        draft = SessionDraft(
            held_on=day,
            starts_at=time(rng.choice((10, 14))),
            minutes=rng.choice(LENGTHS[_K.GROUP]),
            kind=_K.GROUP,
            venue_id=venue,
            champion_ids=tuple(champion.id for champion in champions),
            resident_references=tuple(learner.reference for learner in registered),
            anonymous=tuple(self._anonymous(venue) for _ in range(size - len(registered))),
            topics=frozenset(topics),
            outcome=theme,
        )
        return draft, registered

    def drop_in(self, day: date) -> SessionDraft | None:
        """Someone not registered drops in at a venue, or rings, for help with one thing."""
        rng = self._rng
        kind = _pick(rng, ((_K.DROP_IN, 75), (_K.PHONE, 25)))
        working = [c for c in self.champions if c.works_on(day) and (c.venues or kind is _K.PHONE)]
        if not working:
            return None
        champion = rng.choice(working)
        venue = rng.choice(champion.venues) if kind is _K.DROP_IN else None
        topics = self._topics(DROP_IN_TOPICS, most=2)
        return SessionDraft(
            held_on=day,
            starts_at=self._starts(kind),
            minutes=rng.choice(LENGTHS[kind]),
            kind=kind,
            venue_id=venue,
            champion_ids=(champion.id,),
            anonymous=(self._anonymous(venue),),
            topics=frozenset(topics),
            outcome=rng.choice(OUTCOMES[topics[0]]) + "; told them about borrowing a device",
        )

    def _topics(self, pool: tuple[tuple[Topic, int], ...], most: int = 3) -> list[Topic]:
        """One to `most` different topics; the first is the main one."""
        wanted = min(most, _pick(self._rng, ((1, 50), (2, 35), (3, 15))))
        topics: list[Topic] = []
        while len(topics) < wanted:
            topic = _pick(self._rng, pool)
            if topic not in topics:
                topics.append(topic)
        return topics

    @staticmethod
    def _practise(learner: _Learner, topics: list[Topic]) -> None:
        learner.practised.update(PRACTISES[topic] for topic in topics)
        learner.practised.add(SkillArea.FOUNDATION)  # every session is practice with the device itself
        learner.sessions_had += 1
        learner.since_check += 1

    def _starts(self, kind: SessionKind) -> time:
        first, last, step = STARTS[kind]
        minute = self._rng.randrange(first, last + 1, step)
        return time(minute // 60, minute % 60)

    def _anonymous(self, venue_id: uuid.UUID | None) -> AnonymousAttendee:
        """Someone not registered: an age band, and the ward they say they live in (often the venue's)."""
        rng = self._rng
        chance = rng.random()
        if chance < 0.6 and venue_id is not None:
            ward: str | None = self._venue_wards[venue_id]
        elif chance < 0.9:
            ward = rng.choices(WARD_DISTRICTS, weights=[w[1] for w in WARD_DISTRICTS])[0][0]
        else:
            ward = None
        return AnonymousAttendee(_pick(rng, AGE_BANDS), ward if ward in self._ward_codes else None)

    # Skills checks

    @staticmethod
    def check_due(learner: _Learner) -> bool:
        """A baseline at the first session, then a review every few sessions and at the last one."""
        return (
            not learner.levels
            or learner.since_check >= learner.review_after
            or (learner.sessions_left == 0 and learner.since_check >= 1)
        )

    def check(self, learner: _Learner, day: date, own_device: bool, own_connection: bool) -> SkillsCheckDraft:
        """The learner's skills check on `day`: the baseline, or a review where the areas they practised
        since the last check are more likely to have moved on (one step at a time)."""
        rng = self._rng
        if not learner.levels:
            older = learner.age_band in (AgeBand.AGE_65_74, AgeBand.AGE_75_PLUS)
            foundation = _pick(rng, BASELINE_FOUNDATION[older])
            levels = {_S.FOUNDATION: foundation} | {
                area: _pick(rng, BASELINE_AREAS[foundation]) for area in LIFE_AREAS
            }
            note = "Baseline at the first session"
        else:
            levels = dict(learner.levels)
            alone: list[str] = []
            for area in SkillArea:  # Foundation first: the other areas build on it
                rank = levels[area].rank
                ceiling = 2 if area is _S.FOUNDATION or levels[_S.FOUNDATION].rank >= 1 else 1
                chance = (
                    min(0.95, learner.aptitude + 0.3) if area in learner.practised else learner.aptitude * 0.3
                )
                if rank < ceiling and rng.random() < chance:
                    levels[area] = RANKED_LEVELS[rank + 1]
                    if levels[area] is _L.ALONE:
                        alone.append(area.label)
            moved = levels != learner.levels
            note = (
                "Now does alone: " + ", ".join(alone)
                if alone
                else "Steady progress with help"
                if moved
                else "No change yet: more practice"
            )
        learner.levels = levels
        learner.practised.clear()
        learner.since_check = 0
        learner.review_after = rng.randint(2, 4)
        return SkillsCheckDraft(
            levels=levels, checked_on=day, own_device=own_device, own_connection=own_connection, note=note
        )


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
        self,
        context: ServiceContext,
        rng: random.Random,
        start: date,
        ward_codes: set[str],
        support: _Support,
    ) -> None:
        self._context = context
        self._end = context.now()
        self._today = context.today()
        self._start = start
        self._clock = _SimulatedClock(_at(start, 9))
        timed = replace(context, clock=self._clock)
        self._inventory = InventoryService(timed)
        self._residents = ResidentService(timed)
        self._lending = LendingService(timed)
        self._champions = ChampionService(timed)
        self._sessions = SessionService(timed)
        self._skills = SkillsService(timed)
        self._rules = self._lending.rules()
        self._rng = rng
        self._support = support
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
        self._care_leavers: set[str] = set()  # moved up the waiting list for it, now and then
        self._phones: set[str] = set()
        self._residents_added = 0
        self._loans_added = 0
        # Support: those having sessions, each resident's own access over time, and who has what on loan.
        self._learners: dict[str, _Learner] = {}
        self._access: dict[str, _Access] = {}
        self._loans_out: dict[str, dict[str, tuple[uuid.UUID, date]]] = {}  # reference -> tag -> (id, issued)
        self._sessions_added = 0
        self._checks_added = 0

    def run(
        self, entries: list[tuple[DeviceDraft, DeviceStatus]], residents: int, venues_added: int
    ) -> DemoSummary:
        by_day: dict[date, list[tuple[DeviceDraft, DeviceStatus]]] = {}
        for draft, status in entries:
            by_day.setdefault(draft.acquired_on or self._today, []).append((draft, status))
        for day, batch in sorted(by_day.items()):
            self._push(_at(day, 9), partial(self._acquire, batch))
        for _ in range(residents):
            self._push(self._desk_time(_history_day(self._rng, self._start, self._today)), self._arrive)
        for champion in self._support.champions:
            self._push(_at(champion.joined, 8), partial(self._champion_joins, champion))
            for day in champion.changes():
                self._push(_at(day, 8, 5), partial(self._champion_changes, champion, day))
            for day, kind, minutes, note in self._support.other_hours(champion):
                self._push(
                    _at(max(day, champion.joined), 17, 30),
                    partial(self._other_hours, champion, day, kind, minutes, note),
                )
        for _ in range(round(residents * GROUP_CLASSES_PER_RESIDENT)):
            day = _history_day(self._rng, self._start, self._today)
            self._push(_at(day, 16, 45), partial(self._group_class, day))
        for _ in range(round(residents * ANONYMOUS_PER_RESIDENT)):
            day = _history_day(self._rng, self._start, self._today)
            self._push(_at(day, 17, 15), partial(self._drop_in, day))
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
            champions_added=len(self._support.champions),
            sessions_added=self._sessions_added,
            skills_checks_added=self._checks_added,
            **_support_summary(self._context),
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
        supported = self._support.wants_support()
        resident = self._register(supported)
        if resident is None:
            return
        reference, reason = resident.reference, resident.referral_reason
        self._reasons[reference] = reason
        if resident.care_leaver is Answer.YES:
            self._care_leavers.add(reference)
        learner = (
            self._support.learner(reference, resident.age_band, resident.ward_code, reason)
            if supported
            else None
        )
        self._access[reference] = self._support.access(self._clock.at, supported=supported)
        wanted = _pick(self._rng, WANTS[reason])
        self._ask(reference, wanted)
        if (
            wanted in (DeviceType.LAPTOP, DeviceType.CHROMEBOOK, DeviceType.TABLET)
            and self._rng.random() < 0.3
        ):
            self._ask(reference, DeviceType.MIFI)  # no internet at home: data goes with it
        if learner is not None:
            # The first session straight after registering (and any loan), with whoever is on duty.
            self._learners[reference] = learner
            begins = (self._clock.at + timedelta(minutes=10)).astimezone()
            starts_at = time(begins.hour, begins.minute - begins.minute % 5)
            if (draft := self._support.individual(learner, begins.date(), starts_at)) is not None:
                self._push(self._logged_at(draft), partial(self._log, draft, learner))

    def _register(self, supported: bool) -> Resident | None:
        """Register a made-up resident, drawing again if the name is taken at that postcode or phone."""
        for _attempt in range(20):
            draft = resident_draft(self._rng, self._known_wards, supported=supported)
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
            return resident
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
            reason = self._rng.choice(
                (CARE_LEAVER_PRIORITY, *PRIORITY_REASONS)
                if reference in self._care_leavers
                else PRIORITY_REASONS
            )
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
        self._loans_out.setdefault(reference, {})[tag] = (loan.id, self._day())
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
        self._loans_out.get(reference, {}).pop(tag, None)
        self._lending.return_device(
            tag,
            kit_back=kit_back,
            condition=condition,
            fault=fault,
            returned_at=returned_at,
            late_reason=late_reason,
            # Asked at the desk; nobody is there to ask about a device left in the book drop.
            achieved=None
            if returned_at is not None
            else self._support.achieved(self._own_access(reference), self._clock.at),
        )
        if fault:
            self._push(self._clock.at + timedelta(minutes=20), lambda: self._send_for_repair(tag, fault))
        else:
            self._later(rng.choice((1, 1, 2, 3)), lambda: self._wipe(tag))
        if rng.random() < 0.45:  # many come back for another loan
            self._later(rng.randint(7, 60), lambda: self._ask_again(reference))

    def _own_access(self, reference: str) -> _Access:
        """The resident's own device and connection over time; for someone registered before this
        history (served from an earlier fill's waiting list), drawn when first needed."""
        if reference not in self._access:
            self._access[reference] = self._support.access(self._clock.at, supported=False)
        return self._access[reference]

    def _ask_again(self, reference: str) -> None:
        self._ask(reference, _pick(self._rng, WANTS[self._reasons.get(reference, ReferralReason.OTHER)]))

    def _lost(self, tag: str, outcome: LoanOutcome, reason: str) -> None:
        loan = self._lending.record_lost(tag, outcome, reason)
        self._loans_out.get(loan.resident_reference, {}).pop(tag, None)

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

    # Champions and support

    def _champion_joins(self, champion: _ChampionPlan) -> None:
        champion.id = self._champions.add(champion.draft_on(champion.joined)).id

    def _champion_changes(self, champion: _ChampionPlan, day: date) -> None:
        self._champions.update(champion.id, champion.draft_on(day))

    def _other_hours(
        self, champion: _ChampionPlan, day: date, kind: HoursKind, minutes: int, note: str
    ) -> None:
        self._sessions.add_hours(champion.id, day, minutes, kind, note)

    def _logged_at(self, draft: SessionDraft) -> datetime:
        """When a session is logged: mostly straight after it, some the next morning."""
        if self._rng.random() < 0.15:
            return _at(draft.held_on + timedelta(days=1), 9, 30) + timedelta(minutes=self._rng.randrange(90))
        ends = _at(draft.held_on, draft.starts_at.hour, draft.starts_at.minute) + timedelta(
            minutes=draft.minutes
        )
        return ends + timedelta(minutes=self._rng.randint(0, 20))

    def _session_day(self, learner: _Learner, day: date) -> None:
        """Plan the learner's session on the morning of its day, with whoever helps then."""
        draft = self._support.individual(learner, day)
        if draft is None:
            self._learners.pop(learner.reference, None)
        else:
            self._push(self._logged_at(draft), partial(self._log, draft, learner))

    def _with_loan(self, draft: SessionDraft, reference: str) -> SessionDraft:
        """The session about a loan the resident had out that day, mostly, when they had one."""
        loans = [
            loan_id
            for loan_id, issued_on in self._loans_out.get(reference, {}).values()
            if issued_on <= draft.held_on
        ]
        if loans and self._rng.random() < 0.75:
            return replace(draft, loan_id=loans[0])
        return draft

    def _log(self, draft: SessionDraft, learner: _Learner | None) -> None:
        """Log a session; for a learner, with the loan they have out and any skills check due, and plan
        their next session."""
        if learner is None:
            self._sessions.log(draft)
            self._sessions_added += 1
            return
        reference = learner.reference
        self._sessions.log(self._with_loan(draft, reference))
        self._sessions_added += 1
        if self._support.check_due(learner):
            own_device, own_connection = self._access[reference].at(self._clock.at)
            self._skills.record(
                reference, self._support.check(learner, draft.held_on, own_device, own_connection)
            )
            self._checks_added += 1
        if learner.sessions_left > 0:
            day = draft.held_on + timedelta(days=self._rng.randint(4, 21))
            self._push(_at(day, 8, 30), partial(self._session_day, learner, day))
        else:
            self._learners.pop(reference, None)

    def _group_class(self, day: date) -> None:
        """A group class, logged after it: residents having support come, with some not registered."""
        candidates = [learner for learner in self._learners.values() if learner.levels]
        if (planned := self._support.group(day, candidates)) is not None:
            self._log(planned[0], None)

    def _drop_in(self, day: date) -> None:
        if (draft := self._support.drop_in(day)) is not None:
            self._log(draft, None)

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


@dataclass(frozen=True, slots=True)
class _LoanFacts:
    id: uuid.UUID
    issued: datetime
    closed: datetime | None
    device_type: DeviceType
    achieved: LoanAchieved | None


@dataclass(slots=True)
class _Person:
    """A resident of the bulk history, with the records their inclusion status is worked out from."""

    joined: datetime
    id: uuid.UUID
    reference: str
    age_band: AgeBand
    ward_code: str | None
    access: _Access
    learner: _Learner | None  # their support, if they have any
    loans: list[_LoanFacts] = field(default_factory=list)
    checks: list[tuple[datetime, SkillsCheckDraft]] = field(default_factory=list)  # (recorded, check)
    first_session: datetime | None = None

    def loan_out(self, moment: datetime) -> uuid.UUID | None:
        """The loan they had out at `moment`, if any."""
        return next(
            (
                loan.id
                for loan in self.loans
                if loan.issued <= moment and (loan.closed is None or moment < loan.closed)
            ),
            None,
        )


def _month_number(day: date) -> int:
    return day.year * 12 + day.month


class _BulkHistory:
    """A borough-scale history (tens of thousands of residents, hundreds of thousands of loans) written
    with bulk inserts, a block of rows per transaction: the desk's services take a few milliseconds an
    action, which is hours at this size.

    The records have the shapes the desk makes (references, consents, loans with their kit, status
    history, wipes, data plans) on a simpler model than _History: the devices, acquired in the year
    before the history starts, go out again and again, each loan to a resident registered by then;
    loans are renewed, returned on time or late, or lost, and each return is wiped a few days later.
    Nobody waits: at this size the waiting list is not what is being measured.

    Support follows the desk history's pattern (_Support): most residents have sessions from the day
    they register, with a baseline skills check and reviews; group classes and people not registered
    fill the rest. Their inclusion statuses are then worked out by replaying each resident's dated
    records through the rule, so the status history has the dates the services would have given it.
    """

    BLOCK = 50_000  # rows held before they are written

    def __init__(
        self,
        context: ServiceContext,
        rng: random.Random,
        start: date,
        ward_codes: set[str],
        support: _Support,
    ) -> None:
        self._context = context
        self._rng = rng
        self._support = support
        self._start = start
        self._end = context.now()
        self._today = context.today()
        self._ward_codes = ward_codes
        self._actor = context.actor
        self._rows: dict[type[Base], list[dict[str, Any]]] = {}
        self._updates: dict[type[Base], list[dict[str, Any]]] = {}
        self._held = 0

    def run(
        self,
        entries: list[tuple[DeviceDraft, DeviceStatus]],
        residents: int,
        venues_added: int,
        sessions: int | None,
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
        joined = [person.joined for person in people]
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
                status, at, due = self._loan(device, people[rng.randrange(registered)], at, rules)
                loans += 1
                if status == DeviceStatus.ON_LOAN:
                    out = True
                    open_loans += 1
                    overdue += due < self._today
            if status != device.status:
                self._update(DeviceRow, {"id": device.id, "status": status, "updated_at": max(at, opening)})
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
        self._champions()
        made, checks = self._support_sessions(people, residents, sessions)
        self._statuses(people, InclusionService(self._context).rule())
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
            champions_added=len(self._support.champions),
            sessions_added=made,
            skills_checks_added=checks,
            **_support_summary(self._context),
        )

    def _residents(self, count: int, opening: datetime) -> list[_Person]:
        """Register `count` residents over the months, in time order."""
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
            supported = self._support.wants_support()
            draft = resident_draft(rng, self._ward_codes, supported=supported).cleaned()
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
            learner = (
                self._support.learner(reference, draft.age_band, draft.ward_code, draft.referral_reason)
                if supported
                else None
            )
            access = self._support.access(joined, supported=supported)
            people.append(
                _Person(joined, resident_id, reference, draft.age_band, draft.ward_code, access, learner)
            )
        self._write()  # the loans refer to them
        return people

    def _loan(
        self, device: Device, person: _Person, issued: datetime, rules: LendingRules
    ) -> tuple[DeviceStatus, datetime, date]:
        """One loan of the device from `issued`: the device's status after it, when that began, and
        the loan's due date."""
        rng = self._rng
        loan_id = uuid.uuid4()
        issued_on = issued.astimezone().date()
        due = rules.due_on(device.device_type, issued_on)
        renewed_on: list[date] = []
        renewal_rows: list[dict[str, Any]] = []  # added after the loan row they refer to
        fate = rng.random()
        if fate > 0.55:
            for _ in range(min(rules.renewal_limit, 1 if rng.random() < 0.6 else 2)):
                # A few days before it is due, as the desk renews (never on the day of the step before).
                day = max(
                    due - timedelta(days=rng.randint(1, 5)),
                    (renewed_on or [issued_on])[-1] + timedelta(days=1),
                )
                renewed = self._desk_time(day)
                if renewed >= self._end:
                    break
                after = rules.due_on(device.device_type, max(due, day))
                renewal_rows.append(
                    {
                        "id": uuid.uuid4(),
                        "loan_id": loan_id,
                        "renewed_at": renewed,
                        "due_before": due,
                        "due_after": after,
                        "renewed_by": self._actor,
                    }
                )
                due = after
                renewed_on.append(day)
        renewals = len(renewed_on)
        lost = fate < 0.01
        back_on = due + timedelta(days=rng.randint(3, 40) if fate < 0.15 else rng.randint(-12, 2))
        back_on = max(
            back_on, issued_on + timedelta(days=3), *(day + timedelta(days=1) for day in renewed_on)
        )
        closed = self._desk_time(back_on)
        still_out = closed >= self._end
        achieved = None if still_out or lost else self._support.achieved(person.access, closed)
        person.loans.append(
            _LoanFacts(loan_id, issued, None if still_out else closed, device.device_type, achieved)
        )
        loan = {
            "id": loan_id,
            "device_id": device.id,
            "resident_id": person.id,
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
            "reason_met": achieved.reason_met if achieved else None,
            "own_device_after": achieved.own_device if achieved else None,
            "own_connection_after": achieved.own_connection if achieved else None,
        }
        self._add(LoanRow, loan)
        for renewal in renewal_rows:
            self._add(LoanRenewalRow, renewal)
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
        self._event(
            device, issued, DeviceStatus.AVAILABLE, DeviceStatus.ON_LOAN, f"Issued to {person.reference}"
        )
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

    # Champions and support

    def _champions(self) -> None:
        """The champions as they stand at the end, with the venues they help at and their other hours."""
        for champion in self._support.champions:
            draft = champion.draft_on(self._today)
            created = _at(champion.joined, 8)
            changes = champion.changes()
            self._add(
                ChampionRow,
                {
                    "id": champion.id,
                    "name": draft.name,
                    "phone": draft.phone,
                    "email": draft.email,
                    "trained_on": draft.trained_on,
                    "dbs_checked_on": draft.dbs_checked_on,
                    "active": draft.active,
                    "created_at": created,
                    "updated_at": _at(changes[-1], 8, 5) if changes else created,
                },
            )
            for venue_id in champion.venues:
                self._add(ChampionVenueRow, {"champion_id": champion.id, "venue_id": venue_id})
            for day, kind, minutes, note in self._support.other_hours(champion):
                self._add(
                    ChampionHoursRow,
                    {
                        "id": uuid.uuid4(),
                        "champion_id": champion.id,
                        "worked_on": day,
                        "minutes": minutes,
                        "kind": kind,
                        "note": note,
                        "logged_by": self._actor,
                    },
                )

    def _support_sessions(self, people: list[_Person], residents: int, wanted: int | None) -> tuple[int, int]:
        """Each supported resident's sessions and skills checks, then group classes and sessions with
        people not registered; `wanted` sessions in all when given. How many sessions and checks."""
        rng = self._rng
        support = self._support
        learners = [(person.learner, person) for person in people if person.learner is not None]
        if wanted is None:
            classes = round(residents * GROUP_CLASSES_PER_RESIDENT)
            others = round(residents * ANONYMOUS_PER_RESIDENT)
        else:
            classes, others = round(wanted * GROUP_SHARE), round(wanted * ANONYMOUS_SHARE)
            self._share_out(learners, wanted - classes - others)
        made = checks = 0
        # Who was having sessions when: (first, last, learner, person) by the months they span.
        spans: list[tuple[datetime, datetime]] = []
        by_month: dict[int, list[tuple[datetime, datetime, _Learner, _Person]]] = {}
        for learner, person in learners:
            room = max(1, (self._today - person.joined.astimezone().date()).days)
            spread = min(1.0, room / (max(1, learner.sessions_left) * 12.5))  # closer together if late
            day, starts_at = self._first_session(person.joined)
            first: datetime | None = None
            last = person.joined
            while learner.sessions_left > 0 and (draft := support.individual(learner, day, starts_at)):
                begins = _at(day, draft.starts_at.hour, draft.starts_at.minute)
                ends = begins + timedelta(minutes=draft.minutes)
                if ends > self._end:
                    break
                loan_id = person.loan_out(begins)
                if loan_id is not None and rng.random() < 0.75:
                    draft = replace(draft, loan_id=loan_id)
                self._session(draft, [person], begins, ends)
                made += 1
                first, last = first or begins, begins
                if support.check_due(learner):
                    own_device, own_connection = person.access.at(ends)
                    self._check(person, support.check(learner, day, own_device, own_connection), ends)
                    checks += 1
                day += timedelta(days=max(1, round(rng.randint(4, 21) * spread)))
                starts_at = None
            if first is not None:
                spans.append((first, last))
                for month in range(_month_number(first.date()), _month_number(last.date()) + 1):
                    by_month.setdefault(month, []).append((first, last, learner, person))
        for _ in range(classes):
            if spans:
                first, last = rng.choice(spans)
                day = (first + (last - first) * rng.random()).astimezone().date()
            else:
                day = _history_day(rng, self._start, self._today)
            morning = _at(day, 9)
            nearby = by_month.get(_month_number(day), [])
            present = {
                learner.reference: person
                for first, last, learner, person in rng.sample(nearby, min(len(nearby), 30))
                if first < morning <= last
            }
            candidates = [learner for first, last, learner, person in nearby if learner.reference in present]
            planned = support.group(day, candidates)
            if planned is None:
                continue
            draft, registered = planned
            begins = _at(day, draft.starts_at.hour, draft.starts_at.minute)
            ends = begins + timedelta(minutes=draft.minutes)
            if ends <= self._end:
                self._session(draft, [present[learner.reference] for learner in registered], begins, ends)
                made += 1
        left = others if wanted is None else wanted - made
        while left > 0:
            if (draft := support.drop_in(_history_day(rng, self._start, self._today))) is None:
                continue
            begins = _at(draft.held_on, draft.starts_at.hour, draft.starts_at.minute)
            ends = begins + timedelta(minutes=draft.minutes)
            if ends <= self._end:
                self._session(draft, [], begins, ends)
                made += 1
                left -= 1
        return made, checks

    def _share_out(self, learners: list[tuple[_Learner, _Person]], wanted: int) -> None:
        """Give the learners about `wanted` sessions between them, in proportion to what each drew and to
        the time they had (someone who registered last week has not had twenty); the few this leaves
        over go to people not registered."""
        rooms = [max(1, (self._today - person.joined.astimezone().date()).days) for _l, person in learners]
        weights = [
            learner.sessions_left * min(1.0, room / 365)
            for (learner, _p), room in zip(learners, rooms, strict=True)
        ]
        total = sum(weights) or 1.0
        for (learner, _person), weight, room in zip(learners, weights, rooms, strict=True):
            learner.sessions_left = min(room // 2 + 1, int(wanted * weight / total))

    @staticmethod
    def _first_session(joined: datetime) -> tuple[date, time | None]:
        """The day and time of a resident's first session: soon after registering, in desk hours."""
        begins = (joined + timedelta(minutes=10)).astimezone()
        if begins.time() < time(9, 30):
            return begins.date(), time(9, 30)
        if begins.time() > time(16, 30):
            return begins.date() + timedelta(days=1), None
        return begins.date(), time(begins.hour, begins.minute - begins.minute % 5)

    def _session(
        self, draft: SessionDraft, attendees: list[_Person], begins: datetime, ends: datetime
    ) -> None:
        session_id = uuid.uuid4()
        self._add(
            SessionRow,
            {
                "id": session_id,
                "held_on": draft.held_on,
                "starts_at": draft.starts_at,
                "minutes": draft.minutes,
                "kind": draft.kind,
                "venue_id": draft.venue_id,
                "loan_id": draft.loan_id,
                "outcome": draft.outcome,
                "follow_up_on": draft.follow_up_on,
                "follow_up": draft.follow_up,
                "logged_by": self._actor,
                "logged_at": min(self._end, ends + timedelta(minutes=self._rng.randint(0, 20))),
            },
        )
        for champion_id in draft.champion_ids:
            self._add(
                SessionChampionRow,
                {
                    "session_id": session_id,
                    "champion_id": champion_id,
                    "held_on": draft.held_on,
                    "starts_at": draft.starts_at,
                    "minutes": draft.minutes,
                },
            )
        for person in attendees:
            if person.first_session is None or begins < person.first_session:
                person.first_session = begins
            self._add(
                SessionAttendeeRow,
                {
                    "id": uuid.uuid4(),
                    "session_id": session_id,
                    "resident_id": person.id,
                    "age_band": person.age_band,
                    "ward_code": person.ward_code,
                    "held_on": draft.held_on,
                },
            )
        for anonymous in draft.anonymous:
            self._add(
                SessionAttendeeRow,
                {
                    "id": uuid.uuid4(),
                    "session_id": session_id,
                    "resident_id": None,
                    "age_band": anonymous.age_band,
                    "ward_code": anonymous.ward_code,
                    "held_on": draft.held_on,
                },
            )
        for topic in sorted(draft.topics):
            self._add(
                SessionTopicRow, {"session_id": session_id, "topic": topic.value, "held_on": draft.held_on}
            )

    def _check(self, person: _Person, check: SkillsCheckDraft, ends: datetime) -> None:
        """A skills check recorded just after the session it was done in."""
        check_id = uuid.uuid4()
        recorded = ends + timedelta(minutes=5)
        self._add(
            SkillsCheckRow,
            {
                "id": check_id,
                "resident_id": person.id,
                "checked_on": check.checked_on,
                "checked_by": self._actor,
                "own_device": check.own_device,
                "own_connection": check.own_connection,
                "note": check.note,
                "recorded_at": recorded,
                "foundation": check.levels[SkillArea.FOUNDATION],
                "areas_alone": areas_alone(check.levels),
            },
        )
        for area in SkillArea:
            self._add(SkillsCheckLevelRow, {"check_id": check_id, "area": area, "level": check.levels[area]})
        person.checks.append((recorded, check))

    def _statuses(self, people: list[_Person], rule: InclusionRule) -> None:
        """Replay each resident's dated records through the rule, as the services would have met them:
        the changes to their inclusion status, when each happened, and their status now."""
        issued, checked, closed, session = range(4)  # at the same moment, a loan's answer counts over a check
        for person in people:
            events = [(loan.issued, issued, number) for number, loan in enumerate(person.loans)]
            events += [
                (loan.closed, closed, number) for number, loan in enumerate(person.loans) if loan.closed
            ]
            events += [(recorded, checked, number) for number, (recorded, _check) in enumerate(person.checks)]
            if person.first_session is not None:
                events.append((person.first_session, session, 0))
            status = InclusionStatus.NOT_YET_SUPPORTED
            levels: dict[SkillArea, SkillLevel] = {}
            own_device = own_connection = False
            out: Counter[DeviceType] = Counter()
            for moment, what, number in sorted(events):
                if what == issued:
                    out[person.loans[number].device_type] += 1
                elif what == closed:
                    loan = person.loans[number]
                    out[loan.device_type] -= 1
                    if loan.achieved is not None:
                        own_device, own_connection = loan.achieved.own_device, loan.achieved.own_connection
                elif what == checked:
                    check = person.checks[number][1]
                    levels, own_device, own_connection = check.levels, check.own_device, check.own_connection
                facts = ResidentFacts(
                    supported=True,
                    foundation=levels.get(SkillArea.FOUNDATION),
                    areas_alone=areas_alone(levels),
                    own_device=own_device,
                    own_connection=own_connection,
                    on_loan=frozenset(kind for kind, count in out.items() if count > 0),
                )
                if (now := rule.status(facts)) is not status:
                    self._add(
                        InclusionChangeRow,
                        {
                            "id": uuid.uuid4(),
                            "resident_id": person.id,
                            "at": moment,
                            "from_status": status,
                            "to_status": now,
                        },
                    )
                    status = now
            if status is not InclusionStatus.NOT_YET_SUPPORTED:
                self._update(ResidentRow, {"id": person.id, "inclusion_status": status})

    def _desk_time(self, day: date) -> datetime:
        return _at(day, 9, 30) + timedelta(minutes=self._rng.randrange(7 * 60))

    def _add(self, model: type[Base], row: dict[str, Any]) -> None:
        self._rows.setdefault(model, []).append(row)
        self._held += 1
        if self._held >= self.BLOCK:
            self._write()

    def _update(self, model: type[Base], row: dict[str, Any]) -> None:
        """Change a row written earlier, found by its primary key in `row`."""
        self._updates.setdefault(model, []).append(row)
        self._held += 1
        if self._held >= self.BLOCK:
            self._write()

    def _write(self) -> None:
        """Write the rows held, parents before children, then the changes, in one transaction."""
        order = (
            ResidentRow,
            ResidentSearchTermRow,
            ResidentConsentRow,
            LoanRow,
            LoanRenewalRow,
            LoanKitRow,
            DeviceStatusEventRow,
            WipeRow,
            DataPlanRow,
            ChampionRow,
            ChampionVenueRow,
            ChampionHoursRow,
            SessionRow,
            SessionChampionRow,
            SessionAttendeeRow,
            SessionTopicRow,
            SkillsCheckRow,
            SkillsCheckLevelRow,
            InclusionChangeRow,
        )
        with self._context.db.write() as session:
            for model in order:
                if rows := self._rows.pop(model, None):
                    # Core inserts: the ORM's bulk insert costs twice the time here.
                    session.execute(insert(Base.metadata.tables[model.__tablename__]), rows)
            for changed, rows in self._updates.items():
                session.execute(update(changed), rows)
        self._updates.clear()
        self._held = 0
