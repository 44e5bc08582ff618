"""Venues and wards: the short list of places the scheme works, each in one of the 21 wards."""

from __future__ import annotations

import uuid

import pytest

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import NotFound, ValidationError
from digiknow_desk.domain.venues import VenueDraft

REDDISH_NORTH = "E05000797"
EDGELEY = "E05000788"


def test_wards_are_listed_by_name(services: Services) -> None:
    wards = services.venues.wards()
    assert len(wards) == 21
    assert [w.name for w in wards] == sorted(w.name for w in wards)
    assert wards[0].name == "Bramhall North"
    assert sum(w.population for w in wards) == 294_197


def test_add_tidies_the_name_and_names_the_ward(services: Services) -> None:
    venue = services.venues.add(VenueDraft(name="  Reddish \t Library ", ward_code=f" {REDDISH_NORTH} "))
    assert (venue.name, venue.ward_code, venue.ward_name, venue.active) == (
        "Reddish Library",
        REDDISH_NORTH,
        "Reddish North",
        True,
    )
    assert services.venues.venues() == [venue]


def test_venues_are_listed_by_name_and_closed_ones_can_be_left_out(services: Services) -> None:
    for name in ("Marple Library", "Brinnington Library", "Edgeley Library"):
        services.venues.add(VenueDraft(name=name, ward_code=EDGELEY))
    services.venues.add(VenueDraft(name="Adswood Hub", ward_code=EDGELEY, active=False))
    assert [v.name for v in services.venues.venues()] == [
        "Adswood Hub",
        "Brinnington Library",
        "Edgeley Library",
        "Marple Library",
    ]
    assert [v.name for v in services.venues.venues(active_only=True)] == [
        "Brinnington Library",
        "Edgeley Library",
        "Marple Library",
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Reddish Library", "reddish library"),
        ("Reddish Library", "  REDDISH   LIBRARY "),
        # SQLite's own lower() folds only ASCII; the check must not depend on it.
        ("ÉCOLE HALL", "école hall"),
        ("Straße Centre", "STRASSE CENTRE"),
    ],
)
def test_a_venue_name_is_taken_whatever_its_case(services: Services, first: str, second: str) -> None:
    services.venues.add(VenueDraft(name=first, ward_code=REDDISH_NORTH))
    with pytest.raises(ValidationError) as refused:
        services.venues.add(VenueDraft(name=second, ward_code=EDGELEY))
    assert refused.value.problems["name"].startswith("There is already a venue called")
    assert len(services.venues.venues()) == 1


@pytest.mark.parametrize(
    ("name", "ward_code", "problems"),
    [
        ("Reddish Library", "E99999999", {"ward_code"}),
        ("Reddish Library", "", {"ward_code"}),
        ("   ", REDDISH_NORTH, {"name"}),
        ("V" * 121, REDDISH_NORTH, {"name"}),
        ("", "nowhere", {"name", "ward_code"}),
    ],
)
def test_add_refuses_a_bad_name_or_unknown_ward(
    services: Services, name: str, ward_code: str, problems: set[str]
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.venues.add(VenueDraft(name=name, ward_code=ward_code))
    assert set(refused.value.problems) == problems
    assert services.venues.venues() == []


def test_the_messages_say_what_to_do(services: Services) -> None:
    with pytest.raises(ValidationError) as refused:
        services.venues.add(VenueDraft(name="", ward_code="E99999999"))
    assert refused.value.problems == {
        "name": "Enter the venue's name, e.g. 'Reddish Library'.",
        "ward_code": "Choose the venue's ward from the list of Stockport's 21 wards.",
    }
    assert services.venues.add(VenueDraft(name="V" * 120, ward_code=EDGELEY)).name == "V" * 120


def test_update_renames_moves_and_closes_a_venue(services: Services) -> None:
    venue = services.venues.add(VenueDraft(name="Reddish Library", ward_code=REDDISH_NORTH))
    moved = services.venues.update(
        venue.id, VenueDraft(name="Reddish Community Library", ward_code=EDGELEY, active=False)
    )
    assert moved.id == venue.id
    assert (moved.name, moved.ward_code, moved.ward_name, moved.active) == (
        "Reddish Community Library",
        EDGELEY,
        "Edgeley and Cheadle Heath",
        False,
    )
    assert services.venues.venues() == [moved]
    assert services.venues.venues(active_only=True) == []


def test_update_may_keep_or_recase_its_own_name(services: Services) -> None:
    venue = services.venues.add(VenueDraft(name="Reddish library", ward_code=REDDISH_NORTH))
    assert (
        services.venues.update(venue.id, VenueDraft(name="Reddish library", ward_code=REDDISH_NORTH)) == venue
    )
    assert services.venues.update(
        venue.id, VenueDraft(name="REDDISH LIBRARY", ward_code=REDDISH_NORTH)
    ).name == ("REDDISH LIBRARY")


def test_update_refuses_another_venues_name_and_unknown_wards(services: Services) -> None:
    services.venues.add(VenueDraft(name="Reddish Library", ward_code=REDDISH_NORTH))
    edgeley = services.venues.add(VenueDraft(name="Edgeley Library", ward_code=EDGELEY))
    with pytest.raises(ValidationError) as refused:
        services.venues.update(edgeley.id, VenueDraft(name="reddish LIBRARY", ward_code="E00000000"))
    assert set(refused.value.problems) == {"name", "ward_code"}
    assert [v.name for v in services.venues.venues()] == ["Edgeley Library", "Reddish Library"]


def test_update_of_a_venue_that_is_gone_is_refused(services: Services) -> None:
    with pytest.raises(NotFound, match="no longer exists"):
        services.venues.update(uuid.uuid4(), VenueDraft(name="Reddish Library", ward_code=REDDISH_NORTH))
