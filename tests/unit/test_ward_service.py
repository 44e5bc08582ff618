"""Ward populations, where they come from, and the excluded rate (the share of residents estimated to be
digitally excluded): the figures behind the monthly report's estimate of the digitally excluded."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.reports import DEFAULT_EXCLUDED_RATE, check_excluded_rate
from digiknow_desk.services.csv_files import ImportRefused
from digiknow_desk.services.wards import SHIPPED_SOURCE, estimated_excluded, read_populations_csv

REFERENCE = Path(__file__).resolve().parents[2] / "db" / "reference"
BRAMHALL_NORTH = "E05000779"
REDDISH_NORTH = "E05000797"
MANOR = "E05000793"
RATE_PROBLEM = check_excluded_rate(0.0)  # the domain's words for a rate outside 0 to 100%


def populations(services: Services) -> dict[str, int]:
    return {ward.code: ward.population for ward in services.wards.wards()}


def every_ward(services: Services, add: int) -> dict[str, int]:
    """Every ward's population as it is saved, plus `add`."""
    return {code: population + add for code, population in populations(services).items()}


def test_the_shipped_populations_and_their_source(services: Services) -> None:
    with (REFERENCE / "stockport_wards.csv").open(newline="", encoding="utf-8") as file:
        shipped = {row["ward_code"]: int(row["population"]) for row in csv.DictReader(file)}
    wards = services.wards.wards()
    assert len(wards) == 21
    assert [ward.name for ward in wards] == sorted(ward.name for ward in wards)
    assert populations(services) == shipped
    assert sum(shipped.values()) == 294_197
    assert services.wards.population_source() == SHIPPED_SOURCE
    # The citation names what the reference data's README says the figures are.
    readme = " ".join((REFERENCE / "README.md").read_text(encoding="utf-8").split())
    assert "ONS small-area population estimates" in readme and "Open Innovations" in readme
    assert services.venues.wards() == wards  # venues list the same wards, from the same place


def test_every_ward_from_a_new_source_is_saved_with_it(services: Services) -> None:
    wanted = every_ward(services, 100)
    given = dict(wanted)
    given[f" {REDDISH_NORTH.lower()} "] = given.pop(REDDISH_NORTH)  # codes are tidied
    services.wards.set_populations(given, "  ONS mid-2023   estimates ")
    assert populations(services) == wanted and wanted[BRAMHALL_NORTH] == 12_907
    assert services.wards.population_source() == "ONS mid-2023 estimates"


def test_some_wards_are_corrected_under_the_source_already_recorded(services: Services) -> None:
    before = populations(services)
    services.wards.set_populations({BRAMHALL_NORTH: 13_020, REDDISH_NORTH: 15_311}, f"  {SHIPPED_SOURCE} ")
    assert populations(services) == before | {BRAMHALL_NORTH: 13_020, REDDISH_NORTH: 15_311}
    assert services.wards.population_source() == SHIPPED_SOURCE


@pytest.mark.parametrize("wards", [1, 20])
def test_fewer_than_every_ward_cannot_relabel_the_table_with_a_new_source(
    services: Services, wards: int
) -> None:
    services.wards.set_populations(every_ward(services, 10), "ONS mid-2023 estimates")
    before = populations(services)
    given = dict(list(every_ward(services, 500).items())[:wards])
    with pytest.raises(ValidationError) as refused:
        services.wards.set_populations(given, "Council estimate 2026")
    assert refused.value.problems == {
        "source": "A new source needs all 21 wards' populations from it; to correct one ward, give the "
        "source already recorded: ONS mid-2023 estimates"
    }
    assert populations(services) == before
    assert services.wards.population_source() == "ONS mid-2023 estimates"


def test_any_problem_saves_nothing_and_each_is_named(services: Services) -> None:
    before = populations(services)
    with pytest.raises(ValidationError) as refused:
        services.wards.set_populations(
            {BRAMHALL_NORTH: 13_000, REDDISH_NORTH: 0, "E05000800": 100, "E05000793": 500_001}, ""
        )
    assert refused.value.problems == {
        "populations": "E05000800 is not the ONS code of any of Stockport's 21 wards.",
        REDDISH_NORTH: "Reddish North: give the population as a whole number between 1 and 500,000 "
        "(0 is not one).",
        "E05000793": "Manor: give the population as a whole number between 1 and 500,000 "
        "(500,001 is not one).",
        "source": "Say where the populations come from, e.g. 'ONS mid-2023 estimates': reports cite it.",
    }
    assert populations(services) == before  # Bramhall North's good figure was not saved either
    assert services.wards.population_source() == SHIPPED_SOURCE


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({}, "Give the population of at least one ward."),
        ({"E05000800": 10, "XYZ": 10}, "E05000800, XYZ are not the ONS code of any of Stockport's 21 wards."),
        (
            {BRAMHALL_NORTH: 10, BRAMHALL_NORTH.lower(): 11},
            f"{BRAMHALL_NORTH} is given twice: give each ward's population once.",
        ),
    ],
)
def test_which_wards_are_meant_must_be_clear(services: Services, given: dict[str, int], problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        services.wards.set_populations(given, SHIPPED_SOURCE)
    assert refused.value.problems == {"populations": problem}


@pytest.mark.parametrize("population", [1, 500_000])
def test_the_limits_are_allowed(services: Services, population: int) -> None:
    services.wards.set_populations({BRAMHALL_NORTH: population}, SHIPPED_SOURCE)
    assert populations(services)[BRAMHALL_NORTH] == population


@pytest.mark.parametrize("population", [12_807.5, True, -5])
def test_a_population_must_be_a_positive_whole_number(services: Services, population: object) -> None:
    with pytest.raises(ValidationError) as refused:
        services.wards.set_populations({BRAMHALL_NORTH: population}, SHIPPED_SOURCE)  # type: ignore[dict-item]
    assert list(refused.value.problems) == [BRAMHALL_NORTH]
    assert refused.value.problems[BRAMHALL_NORTH].startswith("Bramhall North: give the population as a whole")
    assert populations(services)[BRAMHALL_NORTH] == 12_807


def test_the_source_is_kept_to_200_characters(services: Services) -> None:
    services.wards.set_populations(every_ward(services, 0), "x" * 200)
    assert services.wards.population_source() == "x" * 200
    with pytest.raises(ValidationError) as refused:
        services.wards.set_populations(every_ward(services, 1), "y" * 201)
    assert refused.value.problems == {"source": "Keep the source to 200 characters or fewer (it has 201)."}
    assert populations(services)[BRAMHALL_NORTH] == 12_807
    assert services.wards.population_source() == "x" * 200


def test_the_excluded_rate_defaults_to_13_percent_and_can_be_changed(services: Services) -> None:
    assert services.wards.excluded_rate() == DEFAULT_EXCLUDED_RATE == 0.13
    services.wards.set_excluded_rate(0.155)
    assert services.wards.excluded_rate() == 0.155


@pytest.mark.parametrize("rate", [0.0, 1.0, 13.0, -0.1, float("nan")])
def test_an_excluded_rate_outside_0_to_100_percent_is_refused(services: Services, rate: float) -> None:
    services.wards.set_excluded_rate(0.2)
    with pytest.raises(ValidationError) as refused:
        services.wards.set_excluded_rate(rate)
    assert refused.value.problems == {"excluded_rate": RATE_PROBLEM}
    assert services.wards.excluded_rate() == 0.2


def test_the_estimate_is_saved_in_one_go(services: Services) -> None:
    services.wards.save_estimate(every_ward(services, 50), " ONS mid-2024 estimates", 0.155)
    assert populations(services)[BRAMHALL_NORTH] == 12_857
    assert services.wards.population_source() == "ONS mid-2024 estimates"
    assert services.wards.excluded_rate() == 0.155


@pytest.mark.parametrize(
    ("add", "source", "rate", "refused"),
    [
        (0, "ONS mid-2024 estimates", 0.0, {"excluded_rate"}),  # good figures and source, no rate
        (-12_807, "ONS mid-2024 estimates", 0.15, {BRAMHALL_NORTH}),  # good rate, Bramhall North at 0
        (0, "", 1.5, {"source", "excluded_rate"}),
    ],
)
def test_any_problem_with_the_estimate_saves_none_of_it(
    services: Services, add: int, source: str, rate: float, refused: set[str]
) -> None:
    given = every_ward(services, 0) | {BRAMHALL_NORTH: 12_807 + add, MANOR: 14_000}
    with pytest.raises(ValidationError) as error:
        services.wards.save_estimate(given, source, rate)
    assert set(error.value.problems) == refused
    assert error.value.problems.get("excluded_rate", RATE_PROBLEM) == RATE_PROBLEM
    assert populations(services)[MANOR] == 13_854
    assert services.wards.population_source() == SHIPPED_SOURCE
    assert services.wards.excluded_rate() == DEFAULT_EXCLUDED_RATE


def test_the_estimate_of_fewer_wards_keeps_the_source_recorded(services: Services) -> None:
    with pytest.raises(ValidationError) as refused:
        services.wards.save_estimate({MANOR: 14_000}, "ONS mid-2024 estimates", 0.15)
    assert list(refused.value.problems) == ["source"]
    assert refused.value.problems["source"].endswith(f"give the source already recorded: {SHIPPED_SOURCE}")
    assert services.wards.excluded_rate() == DEFAULT_EXCLUDED_RATE
    services.wards.save_estimate({MANOR: 14_000}, SHIPPED_SOURCE, 0.15)
    assert (populations(services)[MANOR], services.wards.excluded_rate()) == (14_000, 0.15)


def test_the_estimate_of_excluded_residents(services: Services) -> None:
    assert estimated_excluded(12_807, 0.13) == 1_665  # 1,664.91
    assert estimated_excluded(10_000, 0.1234) == 1_234
    shipped = sum(estimated_excluded(ward.population, 0.13) for ward in services.wards.wards())
    assert shipped == 38_246  # the 21 wards' estimates added up, close to 13% of 294,197 (38,245.6)


def test_populations_are_read_from_a_csv_and_saved(services: Services, tmp_path: Path) -> None:
    source = tmp_path / "ward populations 2024.csv"
    source.write_text(
        'Ward_Code,Ward_Name,Population\r\n e05000779 ,Bramhall North,"13,020"\r\n'
        "\r\nE05000793,Manor,14001\r\n",
        encoding="utf-8-sig",  # as Excel saves 'CSV UTF-8'
    )
    read = read_populations_csv(source)
    assert read == {BRAMHALL_NORTH: 13_020, "E05000793": 14_001}
    services.wards.set_populations(read, SHIPPED_SOURCE)
    assert populations(services)["E05000793"] == 14_001
    # The shipped reference file itself can be read back in.
    shipped = read_populations_csv(REFERENCE / "stockport_wards.csv")
    assert len(shipped) == 21 and shipped[BRAMHALL_NORTH] == 12_807


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "code;people\nE05000779;13020\n",
            "wards.csv needs the columns ward_code and population: make its first line "
            "'ward_code,population'.",
        ),
        (
            "ward_code,population\nE05000779,about 13k\n",
            "wards.csv, line 2: give a ward code and its population as a whole number "
            "(found 'E05000779' and 'about 13k').",
        ),
        (
            "ward_code,population\nE05000779\n",
            "wards.csv, line 2: give a ward code and its population as a whole number "
            "(found 'E05000779' and '').",
        ),
        (
            "ward_code,population\nE05000779,13020\nE05000780,12600\ne05000779,13100\n",
            "wards.csv: E05000779 is on lines 2 and 4; give each ward once.",
        ),
    ],
)
def test_a_csv_that_cannot_be_read_says_where(tmp_path: Path, text: str, problem: str) -> None:
    source = tmp_path / "wards.csv"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        read_populations_csv(source)
    assert str(refused.value) == problem
