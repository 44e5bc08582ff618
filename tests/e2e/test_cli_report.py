"""`report monthly` end to end: records made with the command line, the report's PDF, CSV and JSON
checked against them, suppression and spreadsheet safety in what is written, and its refusals."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import pypdfium2
import pytest

from digiknow_desk.app import main

LEVELS_ALONE = [
    flag
    for area in ("foundation", "communicating", "handling-information", "transacting", "problem-solving")
    for flag in (f"--{area}", "alone")
] + ["--being-safe-legal", "not_yet"]


@pytest.fixture(autouse=True)
def desk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("DIGIKNOW_DB", raising=False)
    monkeypatch.setenv("LOGNAME", "desk-tester")


class Cli:
    def __init__(self, db: Path | str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db, self._capsys = db, capsys
        self.month = date.today().replace(day=1)  # the month the records are made in

    def run(self, *args: str) -> tuple[int, str, str]:
        code = main(["digiknow-desk", "--db", str(self.db), *args])
        out, err = self._capsys.readouterr()
        return code, out, err

    def ok(self, *args: str) -> str:
        code, out, err = self.run(*args)
        assert (code, err) == (0, ""), err
        return out

    def usage_error(self, *args: str) -> str:
        """Run a mistyped command line: exit 2; what it said."""
        with pytest.raises(SystemExit) as usage:
            main(["digiknow-desk", "--db", str(self.db), *args])
        assert usage.value.code == 2
        return self._capsys.readouterr().err


@pytest.fixture
def cli(cli_db: Path | str, capsys: pytest.CaptureFixture[str]) -> Cli:
    desk = Cli(cli_db, capsys)
    desk.ok("init")
    # Six residents in Edgeley: five referred by a partner whose name starts like a formula.
    for number in range(1, 7):
        desk.ok(
            "residents", "add", "--name", f"Learner {number}", "--phone", f"0161 474 000{number}",
            "--ward", "Edgeley and Cheadle Heath", "--age-band", "65_74",
            "--referred-by", "=HYPERLINK(\"http://example.com\")" if number <= 5 else "Age UK Stockport",
            "--consent", "lending", "support",
        )  # fmt: skip
    # Five of them are digitally included this month: skills alone, with their own device and connection.
    for number in range(1, 6):
        desk.ok("skills", "record", f"R-0000{number}", *LEVELS_ALONE, "--own-device", "--own-connection")
    # The sixth borrows a tablet: supported, not included.
    desk.ok("devices", "add", "--type", "tablet", "--tag", "TAB-0001")
    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00006")
    return desk


def test_the_report_is_written_as_pdf_and_csv_with_a_summary(cli: Cli, tmp_path: Path) -> None:
    pdf, table = tmp_path / "report.pdf", tmp_path / "report.csv"
    out = cli.ok("report", "monthly", "--month", f"{cli.month:%Y-%m}", "--out", str(pdf), "--csv", str(table))
    name = f"{cli.month:%B %Y}"
    assert out.splitlines()[0] == f"Saved the monthly report for {name} to {pdf} and its figures to {table}."
    today = f"{date.today().day} {name} (the month so far)"
    assert out.splitlines()[1].startswith(f"Digitally included at {today}: 5, 0.0% of the way")
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        assert len(document) >= 5
        first = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert name in first and "A resident is digitally included when" in first
    with table.open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["section", "figure", "breakdown", "value"]
    assert ["Summary", f"Residents digitally included at {date.today().day} {name}", "", "5"] in rows
    # A partner's name that starts like a formula is kept as text a spreadsheet will not run.
    sources = [row for row in rows if row[2].endswith('HYPERLINK("http://example.com")')]
    assert sources and all(row[2].startswith("'=") for row in sources)
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_the_json_holds_the_figures_with_small_counts_withheld(cli: Cli, tmp_path: Path) -> None:
    figures = json.loads(
        cli.ok(
            "report", "monthly", "--month", f"{cli.month:%Y-%m}", "--out", str(tmp_path / "r.pdf"), "--json"
        )
    )
    headline = figures["headline"]
    assert (headline["included"], headline["newly_included_month"], headline["supported"]) == (5, 5, 6)
    assert headline["no_longer_included"] == 0
    assert figures["lending"]["issued"] == "fewer than 5"  # one tablet
    edgeley = next(ward for ward in figures["wards"] if ward["code"] == "E05000788")
    assert (edgeley["included"], edgeley["supported"]) == (5, 6)
    assert figures["month"] == f"{cli.month:%Y-%m}"
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_without_a_month_the_report_is_last_months(cli: Cli, tmp_path: Path) -> None:
    last_month = (cli.month - timedelta(days=1)).replace(day=1)
    figures = json.loads(cli.ok("report", "monthly", "--out", str(tmp_path / "r.pdf"), "--json"))
    assert figures["month"] == f"{last_month:%Y-%m}"
    assert figures["headline"]["included"] == 0  # everything happened this month


def test_a_bad_month_or_folder_is_refused_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    said = cli.usage_error("report", "monthly", "--month", "2026-13", "--out", str(tmp_path / "r.pdf"))
    assert "'2026-13' is not a month: use YYYY-MM" in said
    code, out, err = cli.run("report", "monthly", "--out", str(tmp_path / "missing" / "r.pdf"))
    assert (code, out) == (1, "")
    assert err == f"error: The folder {tmp_path / 'missing'} does not exist; choose another place to save.\n"
    # A CSV that cannot be saved is refused before the PDF is written, so neither is.
    code, out, err = cli.run(
        "report", "monthly", "--out", str(tmp_path / "r.pdf"), "--csv", str(tmp_path / "missing" / "r.csv")
    )
    assert (code, out) == (1, "")
    assert list(tmp_path.glob("*.pdf")) == []
