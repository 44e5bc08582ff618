"""The inclusion rule at its boundaries: one function decides every resident's status."""

from __future__ import annotations

import pytest

from digiknow_desk.domain.devices import DeviceType
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.inclusion import InclusionRule, InclusionStatus, ResidentFacts
from digiknow_desk.domain.skills import LIFE_AREAS, SkillArea, SkillLevel, areas_alone

ALONE, HELP, NOT_YET = SkillLevel.ALONE, SkillLevel.WITH_HELP, SkillLevel.NOT_YET


def levels(foundation: SkillLevel, alone_areas: int, rest: SkillLevel = HELP) -> dict[SkillArea, SkillLevel]:
    found = {SkillArea.FOUNDATION: foundation}
    for number, area in enumerate(LIFE_AREAS):
        found[area] = ALONE if number < alone_areas else rest
    return found


def facts(
    skills: dict[SkillArea, SkillLevel] | None = None,
    *,
    own_device: bool = False,
    own_connection: bool = False,
    on_loan: tuple[DeviceType, ...] = (),
    supported: bool = True,
) -> ResidentFacts:
    return ResidentFacts(
        supported=supported,
        foundation=(skills or {}).get(SkillArea.FOUNDATION),
        areas_alone=areas_alone(skills or {}),
        own_device=own_device,
        own_connection=own_connection,
        on_loan=frozenset(on_loan),
    )


RULE = InclusionRule()
LAPTOP_AND_MIFI = (DeviceType.LAPTOP, DeviceType.MIFI)


def test_nobody_helped_yet_is_not_yet_supported() -> None:
    assert RULE.status(facts(supported=False)) is InclusionStatus.NOT_YET_SUPPORTED
    # Even with a device of their own: the scheme has not supported them.
    assert RULE.status(facts(supported=False, own_device=True, own_connection=True)) is (
        InclusionStatus.NOT_YET_SUPPORTED
    )


def test_support_without_a_skills_check_is_supported() -> None:
    assert RULE.status(facts(on_loan=LAPTOP_AND_MIFI)) is InclusionStatus.SUPPORTED


@pytest.mark.parametrize(
    ("skills", "expected"),
    [
        (levels(ALONE, 1), InclusionStatus.INCLUDED),  # exactly the default rule
        (levels(ALONE, 5), InclusionStatus.INCLUDED),
        (levels(ALONE, 0), InclusionStatus.SUPPORTED),  # one area short
        (levels(HELP, 5), InclusionStatus.SUPPORTED),  # Foundation only with help
        (levels(NOT_YET, 5), InclusionStatus.SUPPORTED),
        ({SkillArea.COMMUNICATING: ALONE}, InclusionStatus.SUPPORTED),  # no Foundation recorded
    ],
)
def test_skills_boundaries_with_access_on_loan(
    skills: dict[SkillArea, SkillLevel], expected: InclusionStatus
) -> None:
    assert RULE.status(facts(skills, on_loan=LAPTOP_AND_MIFI)) is expected


@pytest.mark.parametrize(
    ("own_device", "own_connection", "on_loan", "expected"),
    [
        (False, False, (), InclusionStatus.SUPPORTED),  # skills but no access
        (False, False, (DeviceType.TABLET,), InclusionStatus.SUPPORTED),  # a tablet but no connection
        (False, False, (DeviceType.DATA_SIM,), InclusionStatus.SUPPORTED),  # data but no device
        (False, False, (DeviceType.TABLET, DeviceType.DATA_SIM), InclusionStatus.INCLUDED),
        (False, False, (DeviceType.PHONE,), InclusionStatus.INCLUDED),  # a phone with data is both
        (True, False, (DeviceType.MIFI,), InclusionStatus.INCLUDED),  # own device, lent connection
        (False, True, (DeviceType.CHROMEBOOK,), InclusionStatus.INCLUDED),
        (True, True, (), InclusionStatus.INDEPENDENT),  # their own: lasts beyond any loan
        (True, True, LAPTOP_AND_MIFI, InclusionStatus.INDEPENDENT),
        (False, False, (DeviceType.ACCESSORY,), InclusionStatus.SUPPORTED),
    ],
)
def test_access_boundaries(
    own_device: bool, own_connection: bool, on_loan: tuple[DeviceType, ...], expected: InclusionStatus
) -> None:
    found = facts(levels(ALONE, 1), own_device=own_device, own_connection=own_connection, on_loan=on_loan)
    assert RULE.status(found) is expected


def test_a_coordinator_can_tighten_or_loosen_the_rule() -> None:
    lent = facts(levels(HELP, 2), on_loan=LAPTOP_AND_MIFI)
    assert RULE.status(lent) is InclusionStatus.SUPPORTED
    assert InclusionRule(foundation=HELP).status(lent) is InclusionStatus.INCLUDED
    assert InclusionRule(foundation=HELP, areas_alone=3).status(lent) is InclusionStatus.SUPPORTED
    own_skills = facts(levels(ALONE, 1), on_loan=LAPTOP_AND_MIFI)
    assert InclusionRule(loans_count_as_access=False).status(own_skills) is InclusionStatus.SUPPORTED


def test_the_rule_refuses_settings_that_make_no_sense() -> None:
    with pytest.raises(ValidationError) as refused:
        InclusionRule(foundation=NOT_YET, areas_alone=6).check()
    assert set(refused.value.problems) == {"foundation", "areas_alone"}


def test_the_rule_reads_as_plain_english_with_its_settings() -> None:
    assert "Foundation skills done alone and at least 1 of the five other skill areas done alone" in (
        RULE.describe()
    )
    assert "their own or on loan" in RULE.describe()
    strict = InclusionRule(foundation=HELP, areas_alone=0, loans_count_as_access=False).describe()
    assert "at least with help and no other area is needed" in strict
    assert "a device and an internet connection of their own" in strict
