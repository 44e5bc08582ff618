"""`wards` on the command line, end to end on a temporary database: the 21 wards, and importing,
looking up, counting and clearing the postcode-to-ward table, with refusals on stderr and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digiknow_desk.app import main
from digiknow_desk.domain.reports import check_excluded_rate
from digiknow_desk.services.wards import SHIPPED_SOURCE


@pytest.fixture(autouse=True)
def desk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every run away from the real user folder."""
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("DIGIKNOW_DB", raising=False)


class Cli:
    """Runs `digiknow-desk --db DB ...` in this process and keeps what it printed."""

    def __init__(self, db: Path | str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self._capsys = capsys

    def ok(self, *args: str) -> str:
        code = main(["digiknow-desk", "--db", str(self.db), *args])
        out, err = self._capsys.readouterr()
        assert (code, err) == (0, ""), err
        return out

    def refused(self, *args: str) -> str:
        code = main(["digiknow-desk", "--db", str(self.db), *args])
        out, err = self._capsys.readouterr()
        assert (code, out) == (1, ""), out
        assert err.startswith("error: ") and "Traceback" not in err
        return err


@pytest.fixture
def cli(cli_db: Path | str, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(cli_db, capsys)
    cli.ok("init")
    return cli


def nspl_file(tmp_path: Path) -> Path:
    """A small file shaped like ONS's NSPL: two Stockport postcodes, one in Manchester, one malformed."""
    path = tmp_path / "NSPL_2022_UK.csv"
    path.write_text(
        "\ufeffpcd,pcd2,pcds,dointr,doterm,laua,ward,lat,long\n"
        "SK5 6AB,SK5  6AB,SK5 6AB,198001,,E08000007,E05000797,53.44,-2.16\n"
        "SK6 6AA,SK6  6AA,SK6 6AA,198001,,E08000007,E05000794,53.40,-2.06\n"
        "M20 2PX,M20  2PX,M20 2PX,198001,,E08000003,E05011363,53.41,-2.22\n"
        "XX,XX,XX,198001,,E08000007,E05000797,0,0\n",
        encoding="utf-8",
    )
    return path


def test_wards_list_as_a_table_and_as_json(cli: Cli) -> None:
    lines = cli.ok("wards", "list").splitlines()
    assert lines[0].split() == ["Code", "Ward", "Population"]
    assert len(lines) == 22
    assert any(line.split() == ["E05000797", "Reddish", "North", "15,046"] for line in lines)
    wards = json.loads(cli.ok("wards", "list", "--json"))
    assert len(wards) == 21
    assert {"code": "E05000797", "name": "Reddish North", "population": 15046} in wards


def test_import_then_count_and_look_up(cli: Cli, tmp_path: Path) -> None:
    assert cli.ok("wards", "postcodes", "count") == (
        "The postcode-to-ward table is empty. Import one with 'digiknow-desk wards postcodes import FILE'.\n"
    )
    out = cli.ok("wards", "postcodes", "import", str(nspl_file(tmp_path)))
    assert out == (
        "Imported 2 postcodes in Stockport's 21 wards from NSPL_2022_UK.csv; skipped 1 outside "
        "Stockport's 21 wards and 1 row that could not be read (line 5: 'XX' is not a postcode). Check "
        "those lines in the file; the other rows were imported. The table now holds 2 postcodes.\n"
    )
    assert cli.ok("wards", "postcodes", "count") == "The postcode-to-ward table holds 2 postcodes.\n"
    assert cli.ok("wards", "postcodes", "lookup", "sk56ab") == "SK5 6AB is in Reddish North (E05000797).\n"
    assert cli.ok("wards", "postcodes", "lookup", " SK6  6aa ") == "SK6 6AA is in Marple North (E05000794).\n"


def test_import_adds_with_add_and_replaces_without(cli: Cli, tmp_path: Path) -> None:
    cli.ok("wards", "postcodes", "import", str(nspl_file(tmp_path)))
    extra = tmp_path / "extra.csv"
    extra.write_text("postcode,ward\nSK1 3XE,Brinnington and Central\n")
    assert cli.ok("wards", "postcodes", "import", "--add", str(extra)).endswith("holds 3 postcodes.\n")
    assert cli.ok("wards", "postcodes", "import", str(extra)).endswith("holds 1 postcode.\n")
    cli.refused("wards", "postcodes", "lookup", "SK5 6AB")


def test_lookups_that_find_nothing_are_refused(cli: Cli, tmp_path: Path) -> None:
    assert "The postcode-to-ward table is empty" in cli.refused("wards", "postcodes", "lookup", "SK5 6AB")
    cli.ok("wards", "postcodes", "import", str(nspl_file(tmp_path)))
    assert cli.refused("wards", "postcodes", "lookup", "M20 2PX") == (
        "error: M20 2PX is not in the postcode-to-ward table: it is not in Stockport's 21 wards.\n"
    )
    assert (
        cli.refused("wards", "postcodes", "lookup", "XX")
        == "error: 'XX' is not a UK postcode, e.g. SK1 3XE.\n"
    )


def test_a_file_that_cannot_be_imported_is_refused_and_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.ok("wards", "postcodes", "import", str(nspl_file(tmp_path)))
    bad = tmp_path / "residents.csv"
    bad.write_text("name,phone\nMargaret Holt,0161 496 0101\n")
    err = cli.refused("wards", "postcodes", "import", str(bad))
    assert err.startswith(
        "error: residents.csv has no postcode column and no ward column: its first line has"
    )
    assert "NSPL" in err
    cli.refused("wards", "postcodes", "import", str(tmp_path / "missing.csv"))
    assert cli.ok("wards", "postcodes", "count") == "The postcode-to-ward table holds 2 postcodes.\n"


def test_clear_empties_the_table(cli: Cli, tmp_path: Path) -> None:
    cli.ok("wards", "postcodes", "import", str(nspl_file(tmp_path)))
    assert cli.ok("wards", "postcodes", "clear") == "Removed 2 postcodes: the table is empty.\n"
    assert cli.ok("wards", "postcodes", "count").startswith("The postcode-to-ward table is empty.")


def test_a_ward_population_and_the_excluded_rate_are_changed_with_their_source(cli: Cli) -> None:
    assert cli.ok("wards", "excluded-rate") == (
        "Borough population: 294,197 (source: ONS small-area population estimates (2022 wards), via Open "
        "Innovations).\nEstimated digitally excluded at 13%: 38,246 residents.\n"
    )
    # One ward's new figure from a new source would relabel all 21 wards: refused.
    assert cli.refused("wards", "population", "E05000779", "13020", "--source", "ONS mid-2024 estimates") == (
        "error: A new source needs all 21 wards' populations from it; to correct one ward, give the source "
        f"already recorded: {SHIPPED_SOURCE}\n"
    )
    out = cli.ok("wards", "population", "E05000779", "13020", "--source", SHIPPED_SOURCE)
    assert out.splitlines()[:2] == [
        "Saved 1 ward population.",
        f"Borough population: 294,410 (source: {SHIPPED_SOURCE}).",
    ]
    out = cli.ok("wards", "excluded-rate", "15.5")
    assert out.splitlines()[-1] == "Estimated digitally excluded at 15.5%: 45,632 residents."
    wards = json.loads(cli.ok("wards", "list", "--json"))
    assert {"code": "E05000779", "name": "Bramhall North", "population": 13020} in wards


def test_bad_populations_and_rates_are_refused_and_change_nothing(cli: Cli, tmp_path: Path) -> None:
    assert cli.refused("wards", "population", "Manor", "0", "--source", " ") == (
        "error: Manor: give the population as a whole number between 1 and 500,000 (0 is not one).\n"
        "error: Say where the populations come from, e.g. 'ONS mid-2023 estimates': reports cite it.\n"
    )
    assert cli.refused("wards", "excluded-rate", "150") == f"error: {check_excluded_rate(1.5)}\n"
    source = tmp_path / "populations.csv"
    source.write_text("ward_code,population\nE05000793,14001\nE05000800,10\n", encoding="utf-8")
    assert cli.refused("wards", "populations", str(source), "--source", "Council estimate") == (
        "error: E05000800 is not the ONS code of any of Stockport's 21 wards.\n"
        "error: A new source needs all 21 wards' populations from it; to correct one ward, give the source "
        f"already recorded: {SHIPPED_SOURCE}\n"
    )
    assert "Estimated digitally excluded at 13%: 38,246 residents." in cli.ok("wards", "excluded-rate")


def test_populations_from_a_csv(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "populations.csv"
    source.write_text('ward_code,population\nE05000793,14001\ne05000794,"12,000"\n', encoding="utf-8")
    out = cli.ok("wards", "populations", str(source), "--source", SHIPPED_SOURCE)
    assert out.splitlines()[:2] == [  # 294,197 + 147 for Manor - 700 for Marple North
        "Saved 2 ward populations.",
        f"Borough population: 293,644 (source: {SHIPPED_SOURCE}).",
    ]
    wards = json.loads(cli.ok("wards", "list", "--json"))
    assert {"code": "E05000794", "name": "Marple North", "population": 12000} in wards
    # New estimates for every ward may come from a new source.
    every_ward = tmp_path / "all-wards.csv"
    rows = [
        f"{ward['code']},{int(str(ward['population'])) + 100}"
        for ward in json.loads(cli.ok("wards", "list", "--json"))
    ]
    every_ward.write_text("ward_code,population\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = cli.ok("wards", "populations", str(every_ward), "--source", "ONS mid-2024 estimates")
    assert out.splitlines()[:2] == [
        "Saved 21 ward populations.",
        "Borough population: 295,744 (source: ONS mid-2024 estimates).",
    ]
