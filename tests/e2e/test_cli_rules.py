"""`rules` on the command line, end to end on a temporary database: the lending rules shown, changed
and used; a bad type or number is refused on stderr with exit 1 and changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from digiknow_desk.app import main

LOAN_DAYS = dict.fromkeys(("tablet", "laptop", "chromebook", "phone", "mifi", "data_sim", "accessory"), 28)
DEFAULTS = {"loan_days": LOAN_DAYS, "renewal_limit": 2, "offer_days": 3, "sim_warning_days": 14}


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

    def rules(self) -> object:
        return json.loads(self.ok("rules", "show", "--json"))


@pytest.fixture
def cli(cli_db: Path | str, capsys: pytest.CaptureFixture[str]) -> Cli:
    cli = Cli(cli_db, capsys)
    cli.ok("init")
    return cli


def test_show_the_rules_as_text_and_as_json(cli: Cli) -> None:
    assert cli.rules() == DEFAULTS
    lines = cli.ok("rules", "show").splitlines()
    assert lines[0].split() == ["Loan", "period,", "Tablet:", "28", "days"]
    assert "Loan period, MiFi / dongle:  28 days" in lines
    assert lines[-3:] == [
        "Renewals allowed:            2",
        "Offer held for:              3 days",
        "SIM warning:                 14 days before its data runs out",
    ]


def test_set_changes_only_what_is_given(cli: Cli) -> None:
    out = cli.ok(
        "rules", "set", "--loan-days", "data_sim=90", "Laptop=14", "--loan-days", "MiFi / dongle=56",
        "--renewals", "0", "--sim-warning-days", "21",
    )  # fmt: skip
    assert out.startswith("Saved the lending rules:\n")
    assert "Loan period, Data SIM:       90 days" in out
    loan_days = LOAN_DAYS | {"data_sim": 90, "laptop": 14, "mifi": 56}
    expected = DEFAULTS | {"loan_days": loan_days, "renewal_limit": 0, "sim_warning_days": 21}
    assert cli.rules() == expected
    cli.ok("rules", "set", "--offer-days", "5")
    assert cli.rules() == expected | {"offer_days": 5}


def test_the_new_loan_period_sets_the_due_date(cli: Cli) -> None:
    cli.ok("rules", "set", "--loan-days", "tablet=7")
    cli.ok("devices", "add", "--type", "tablet", "--tag", "TAB-0001")
    cli.ok("residents", "add", "--name", "Margaret Holt", "--phone", "0161 496 0101")
    due = datetime.now().astimezone().date() + timedelta(days=7)
    out = cli.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00001")
    assert f"due back {due.isoformat()}" in out
    assert json.loads(cli.ok("loans", "list", "--json"))[0]["due_on"] == due.isoformat()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loan-days", "tablets=14"], "error: 'tablets' is not a device type: use one of tablet, laptop,"),
        (
            ["--loan-days", "tablet"],
            "error: Write --loan-days TYPE=DAYS, e.g. tablet=28: 'tablet' has no '='.",
        ),
        (["--loan-days", "tablet=two weeks"], "error: --loan-days tablet= needs a whole number"),
        (["--renewals", "many"], "error: --renewals needs a whole number, e.g. 14; 'many' is not one."),
        (["--loan-days", "tablet=0"], "error: A loan period must be between 1 and 365 days."),
        (["--offer-days", "-1"], "error: Hold an offer for between 1 and 60 days."),
        (["--sim-warning-days", "120"], "error: Warn between 1 and 90 days before a SIM expires."),
        ([], "error: Say what to change: --loan-days TYPE=DAYS, --renewals N"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(cli: Cli, args: list[str], message: str) -> None:
    assert cli.refused("rules", "set", *args).startswith(message)
    assert cli.rules() == DEFAULTS
