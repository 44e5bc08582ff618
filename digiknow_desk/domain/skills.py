"""Skills checks against the Essential Digital Skills framework: what a resident can do, over time.

The framework is the Department for Education's Essential Digital Skills (2018), as used by the Lloyds
Consumer Digital Index: Foundation skills plus five areas. The example tasks are prompts for the
champion doing the check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class SkillArea(StrEnum):
    FOUNDATION = "foundation"
    COMMUNICATING = "communicating"
    HANDLING_INFORMATION = "handling_information"
    TRANSACTING = "transacting"
    PROBLEM_SOLVING = "problem_solving"
    BEING_SAFE_LEGAL = "being_safe_legal"

    @property
    def label(self) -> str:
        return _AREA_LABELS[self][0]

    @property
    def example_tasks(self) -> str:
        return _AREA_LABELS[self][1]


_AREA_LABELS = {
    SkillArea.FOUNDATION: (
        "Foundation skills",
        "Turn on a device and sign in; use the keyboard, mouse or touch screen; connect to Wi-Fi; open "
        "an app or a website; create and keep a password safe; update settings and apps",
    ),
    SkillArea.COMMUNICATING: (
        "Communicating",
        "Send and reply to emails; make a video call; message family and friends; share a photo or a "
        "document; post and comment safely on social media",
    ),
    SkillArea.HANDLING_INFORMATION: (
        "Handling information and content",
        "Search for information and judge whether a source is trustworthy; find and use a public "
        "service website; save, open and organise files and photos; use cloud storage",
    ),
    SkillArea.TRANSACTING: (
        "Transacting",
        "Buy something online; pay a bill or check a bank balance; fill in an online form; book an "
        "appointment or order a repeat prescription; apply for a job or claim a benefit online",
    ),
    SkillArea.PROBLEM_SOLVING: (
        "Problem solving",
        "Find help for a problem using search, FAQs or online chat; use a tutorial video to learn "
        "something; compare prices or options before deciding",
    ),
    SkillArea.BEING_SAFE_LEGAL: (
        "Being safe and legal online",
        "Recognise a scam or phishing message; set privacy settings; use strong, different passwords "
        "and two-step sign-in; keep software up to date; respect copyright and other people's data",
    ),
}

# The five areas beyond Foundation.
LIFE_AREAS = tuple(area for area in SkillArea if area is not SkillArea.FOUNDATION)


class SkillLevel(StrEnum):
    ALONE = "alone"
    WITH_HELP = "with_help"
    NOT_YET = "not_yet"

    @property
    def label(self) -> str:
        return {"alone": "Can do alone", "with_help": "Can do with help", "not_yet": "Not yet"}[self.value]

    @property
    def rank(self) -> int:
        """Higher is further on: not yet 0, with help 1, alone 2."""
        return {"not_yet": 0, "with_help": 1, "alone": 2}[self.value]


@dataclass(frozen=True)
class SkillsCheckDraft:
    """What a champion records: a level for each area, and whether the resident has a device and a
    connection of their own (part of whether they are digitally included)."""

    levels: dict[SkillArea, SkillLevel]
    checked_on: date
    own_device: bool = False
    own_connection: bool = False
    note: str = ""

    def problems(self, today: date) -> dict[str, str]:
        problems = {}
        missing = [area.label for area in SkillArea if area not in self.levels]
        if missing:
            problems["levels"] = "Record a level for every area: " + ", ".join(missing) + "."
        if self.checked_on > today:
            problems["checked_on"] = "The check cannot be in the future: check the date."
        return problems


@dataclass(frozen=True)
class SkillsCheck:
    id: uuid.UUID
    resident_id: uuid.UUID
    checked_on: date
    checked_by: str
    levels: dict[SkillArea, SkillLevel]
    own_device: bool
    own_connection: bool
    note: str
    baseline: bool  # the resident's first check

    def areas_alone(self) -> int:
        """How many of the five areas beyond Foundation the resident can do alone."""
        return areas_alone(self.levels)


def areas_alone(levels: dict[SkillArea, SkillLevel]) -> int:
    """How many of the five areas beyond Foundation `levels` say the resident can do alone."""
    return sum(1 for area in LIFE_AREAS if levels.get(area) is SkillLevel.ALONE)
