"""Each resident's inclusion status, derived from the records and never typed in: the one rule.

A coordinator can tune the rule (InclusionRule); every report that counts statuses prints
`InclusionRule.describe()` so readers know what "digitally included" meant for those figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from digiknow_desk.domain.devices import DeviceType
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.skills import LIFE_AREAS, SkillLevel


class InclusionStatus(StrEnum):
    NOT_YET_SUPPORTED = "not_yet_supported"
    SUPPORTED = "supported"
    INCLUDED = "included"
    INDEPENDENT = "independent"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def rank(self) -> int:
        return list(InclusionStatus).index(self)


_STATUS_LABELS = {
    InclusionStatus.NOT_YET_SUPPORTED: "Not yet supported",
    InclusionStatus.SUPPORTED: "Supported",
    InclusionStatus.INCLUDED: "Digitally included",
    InclusionStatus.INDEPENDENT: "Independently included",
}

# What a device on loan gives: something to use, a connection, or both (a phone with data).
LENT_DEVICE = frozenset({DeviceType.TABLET, DeviceType.LAPTOP, DeviceType.CHROMEBOOK, DeviceType.PHONE})
LENT_CONNECTION = frozenset({DeviceType.MIFI, DeviceType.DATA_SIM, DeviceType.PHONE})


@dataclass(frozen=True)
class ResidentFacts:
    """What the records say about one resident, as the rule needs it."""

    supported: bool  # any session attended, loan, or skills check
    foundation: SkillLevel | None  # from the latest skills check; None if none
    areas_alone: int  # how many of the five other areas the latest check says they do alone
    own_device: bool  # from the latest answer (skills check, or the question asked when a loan closes)
    own_connection: bool
    on_loan: frozenset[DeviceType] = frozenset()  # the types of the devices they have on loan now


@dataclass(frozen=True)
class InclusionRule:
    """When a resident counts as digitally included. Defaults: Foundation skills done alone and at
    least one of the five areas done alone, with a device and a connection of their own or on loan."""

    foundation: SkillLevel = SkillLevel.ALONE  # the least Foundation level that counts
    areas_alone: int = 1  # how many of the five areas they must do alone
    loans_count_as_access: bool = True

    def problems(self) -> dict[str, str]:
        problems = {}
        if self.foundation is SkillLevel.NOT_YET:
            problems["foundation"] = "Foundation skills must be at least 'with help' to count."
        if not 0 <= self.areas_alone <= len(LIFE_AREAS):
            problems["areas_alone"] = f"Ask for between 0 and {len(LIFE_AREAS)} areas done alone."
        return problems

    def check(self) -> None:
        if problems := self.problems():
            raise ValidationError(problems)

    def skills_met(self, foundation: SkillLevel | None, areas_alone: int) -> bool:
        if foundation is None or foundation.rank < self.foundation.rank:
            return False
        return areas_alone >= self.areas_alone

    def status(self, facts: ResidentFacts) -> InclusionStatus:
        if not facts.supported:
            return InclusionStatus.NOT_YET_SUPPORTED
        if not self.skills_met(facts.foundation, facts.areas_alone):
            return InclusionStatus.SUPPORTED
        if facts.own_device and facts.own_connection:
            return InclusionStatus.INDEPENDENT
        lent = facts.on_loan if self.loans_count_as_access else frozenset()
        has_device = facts.own_device or bool(lent & LENT_DEVICE)
        has_connection = facts.own_connection or bool(lent & LENT_CONNECTION)
        return InclusionStatus.INCLUDED if has_device and has_connection else InclusionStatus.SUPPORTED

    def describe(self) -> str:
        """The rule in plain English, printed with every figure that uses it."""
        foundation = "alone" if self.foundation is SkillLevel.ALONE else "at least with help"
        areas = (
            "no other area is needed"
            if self.areas_alone == 0
            else f"at least {self.areas_alone} of the five other skill areas done alone"
        )
        access = (
            "a device and an internet connection, their own or on loan from the scheme"
            if self.loans_count_as_access
            else "a device and an internet connection of their own"
        )
        return (
            f"A resident is digitally included when their latest skills check shows Foundation skills "
            f"done {foundation} and {areas}, and they have {access}. They are independently included "
            f"when the device and connection are their own, so their access lasts beyond any loan. "
            f"Supported means they have had a session, a loan or a skills check; not yet supported "
            f"means none of these yet."
        )
