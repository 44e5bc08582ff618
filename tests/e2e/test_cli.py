"""The command line, end to end, on a temporary database (a SQLite file, and one on a PostgreSQL server):
in-process, and once through main.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import create_engine, text

from digiknow_desk.app import main
from digiknow_desk.config import database_url
from tests.e2e.cli_runner import DEMO_ADMIN_PASSWORD, Cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def desk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every run away from the real user folder, and name who is working."""
    data_dir = tmp_path / "user-data"
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DIGIKNOW_DB", raising=False)
    monkeypatch.setenv("LOGNAME", "desk-tester")
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)
    return data_dir


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database file, for the tests of what the command line does with files."""
    return tmp_path / "desk.db"


@pytest.fixture
def cli(cli_db: Path | str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(cli_db, capsys)


@pytest.fixture
def ready(cli: Cli) -> Cli:
    assert cli("init") == 0
    return cli


@pytest.fixture
def demo(ready: Cli) -> Cli:
    assert ready("demo-data", "--devices", "60", "--residents", "0", "--seed", "5") == 0
    return ready


def _pdf_text(path: Path) -> str:
    document = pdfium.PdfDocument(path)
    try:
        pages = []
        for page in document:
            text_page = page.get_textpage()
            pages.append(text_page.get_text_range())
            text_page.close()
            page.close()
        return "\n".join(pages)
    finally:
        document.close()


# init and opening the database


def test_init_creates_the_database_and_is_safe_to_repeat(
    cli_empty_db: Path | str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = Cli(cli_empty_db, capsys)
    assert cli("init") == 0
    assert cli.out == f"The database is ready: {cli.shown}\n"
    assert cli.err == ""
    assert cli("init") == 0
    assert cli("venues", "list") == 0
    assert "No venues yet" in cli.out


@pytest.mark.sqlite_only("the default database is a file in the data folder")
def test_without_db_the_database_is_made_in_the_data_folder(cli: Cli, desk_env: Path) -> None:
    assert not desk_env.exists()
    assert cli("init", use_db=False) == 0
    assert (desk_env / "digiknow.db").is_file()
    assert cli.out == f"The database is ready: {desk_env / 'digiknow.db'}\n"


def test_digiknow_db_names_the_database(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGIKNOW_DB", str(cli.db))
    assert cli("init", use_db=False) == 0
    assert cli.out == f"The database is ready: {cli.shown}\n"
    assert cli("venues", "list", use_db=False) == 0
    assert cli("venues", "list", db=tmp_path / "elsewhere.db") == 1  # --db wins
    assert "There is no database at" in cli.err


@pytest.mark.sqlite_only("a database file that is not there")
def test_a_command_on_a_missing_database_says_to_run_init(cli: Cli, db: Path) -> None:
    assert cli("devices", "list") == 1
    assert cli.out == ""
    assert cli.err == f"error: There is no database at {db}. Run 'digiknow-desk init' first, or check --db.\n"
    assert not db.exists()


@pytest.mark.sqlite_only("a database file in a folder that is not there")
def test_a_database_in_a_missing_folder_is_refused(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "desk.db"
    assert cli("init", db=target) == 1
    assert "The folder" in cli.err and "does not exist" in cli.err
    assert "Traceback" not in cli.err
    assert not target.parent.exists()


@pytest.mark.sqlite_only("a folder where the database file should be")
def test_a_folder_given_as_the_database_is_refused(cli: Cli, tmp_path: Path) -> None:
    assert cli("devices", "list", db=tmp_path) == 1
    assert cli.err.startswith(f"error: Could not open the database {tmp_path}")


def test_a_database_from_a_newer_version_is_refused(ready: Cli) -> None:
    engine = create_engine(database_url(str(ready.db)))
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    assert ready("devices", "list") == 1
    assert ready.err == (
        f"error: This database ({ready.shown}) was made by a newer version of DigiKnow Desk (schema 0999). "
        "Install the newest version to open it.\n"
    )


# demo data and listing


def test_demo_data_then_list_as_a_table_and_as_json(cli: Cli) -> None:
    assert cli("demo-data", "--devices", "40", "--residents", "0", "--seed", "2") == 0
    assert cli.out.splitlines()[0] == "Added 10 venues and 40 devices."
    assert cli.out.splitlines()[1].startswith("Demo accounts, one per role")
    assert cli("devices", "list") == 0
    lines = cli.out.splitlines()
    assert lines[0].split() == ["Tag", "Type", "Status", "Make", "and", "model", "Serial", "Venue"]
    assert len(lines) == 41
    devices = cli.json("devices", "list")
    assert isinstance(devices, list) and len(devices) == 40
    assert [d["tag"] for d in devices] == sorted(d["tag"] for d in devices)
    assert [line.split()[0] for line in lines[1:]] == [d["tag"] for d in devices]
    assert set(devices[0]) == {
        "id",
        "tag",
        "type",
        "make",
        "model",
        "serial",
        "os",
        "condition",
        "status",
        "home_venue",
        "current_venue",
        "source",
        "acquired_on",
        "notes",
        "kit",
    }


def test_list_filters_by_status_and_type(demo: Cli) -> None:
    every = demo.json("devices", "list")
    assert isinstance(every, list)
    available = demo.json("devices", "list", "--status", "available")
    assert isinstance(available, list)
    assert available and {d["status"] for d in available} == {"available"}
    assert len(available) == sum(d["status"] == "available" for d in every)
    tablets = demo.json("devices", "list", "--type", "tablet", "--status", "available")
    assert isinstance(tablets, list)
    assert [d["tag"] for d in tablets] == [d["tag"] for d in available if d["type"] == "tablet"]
    assert demo("devices", "list", "--search", "no-such-model") == 0
    assert demo.out == "No devices match.\n"


# adding, showing and moving devices


def test_add_gives_the_next_tag_and_the_usual_kit(ready: Cli) -> None:
    assert ready("devices", "add", "--type", "tablet", "--make", "Samsung", "--model", "Galaxy Tab A8") == 0
    assert ready.out == "Added TAB-0001 (Tablet Samsung Galaxy Tab A8).\n"
    assert ready("devices", "add", "--type", "tablet") == 0
    assert ready.out == "Added TAB-0002 (Tablet).\n"
    device = ready.json("devices", "add", "--type", "mifi", "--serial", "356938035643809", "--kit")
    assert isinstance(device, dict)
    assert (device["tag"], device["type"], device["serial"], device["kit"]) == (
        "MIF-0001",
        "mifi",
        "356938035643809",
        [],
    )
    shown = ready.json("devices", "show", "tab-0001")
    assert isinstance(shown, dict)
    assert shown["kit"] == ["Charger", "Cable", "Case"]
    assert (shown["status"], shown["condition"], shown["source"]) == ("available", "good", "bought")


def test_add_with_every_detail_and_a_venue_by_name(ready: Cli) -> None:
    assert ready("venues", "add", "Reddish Library", "--ward", "Reddish North") == 0
    device = ready.json(
        "devices",
        "add",
        "--type",
        "laptop",
        "--tag",
        "old-17",
        "--make",
        "Dell",
        "--model",
        "Latitude 5400",
        "--os",
        "Windows 11 Pro",
        "--condition",
        "fair",
        "--venue",
        " reddish LIBRARY ",
        "--source",
        "donated",
        "--acquired",
        "2025-09-01",
        "--notes",
        "From a local firm",
        "--kit",
        "Charger",
        "Mouse",
    )
    assert isinstance(device, dict)
    assert device["tag"] == "OLD-17"
    assert (device["home_venue"], device["current_venue"]) == ("Reddish Library", "Reddish Library")
    assert (device["condition"], device["source"], device["acquired_on"]) == ("fair", "donated", "2025-09-01")
    assert device["kit"] == ["Charger", "Mouse"]


def test_add_refuses_an_unknown_venue_and_adds_nothing(ready: Cli) -> None:
    assert ready("venues", "add", "Reddish Library", "--ward", "E05000797") == 0
    assert ready("devices", "add", "--type", "tablet", "--venue", "Nowhere Hall") == 1
    assert ready.err == "error: There is no venue called 'Nowhere Hall'. Venues: Reddish Library.\n"
    assert ready.json("devices", "list") == []


def test_add_refuses_a_duplicate_serial_and_a_bad_date(ready: Cli) -> None:
    assert ready("devices", "add", "--type", "phone", "--serial", "490154203237518") == 0
    assert ready("devices", "add", "--type", "phone", "--serial", "490154203237518") == 1
    assert ready.err == "error: The serial 490154203237518 is already recorded on PHN-0001.\n"
    assert ready("devices", "add", "--type", "phone", "--acquired", "2999-01-01") == 1
    assert ready.err == "error: The acquisition date is in the future: check the date.\n"
    assert ready("devices", "add", "--type", "phone", "--tag", "bad tag") == 1
    assert "is not a usable asset tag" in ready.err


def test_show_as_text_and_as_json_with_the_history(ready: Cli) -> None:
    assert ready("devices", "add", "--type", "laptop", "--make", "HP", "--model", "250 G8") == 0
    assert ready("devices", "status", "lap-0001", "in_repair", "--reason", "Hinge broken") == 0
    assert ready.out == "LAP-0001 is now in repair.\n"

    assert ready("devices", "show", "LAP-0001") == 0
    text = ready.out
    assert "Tag:              LAP-0001\n" in text
    assert "Status:           In repair\n" in text
    assert "Make and model:   HP 250 G8\n" in text
    assert "Kit:              Charger, Bag\n" in text
    history_lines = text.split("History:\n")[1].splitlines()
    assert len(history_lines) == 2
    assert history_lines[0].endswith("Available  by desk-tester: Added to the inventory")
    assert history_lines[1].endswith("Available -> In repair  by desk-tester: Hinge broken")

    shown = ready.json("devices", "show", "lap-0001")
    assert isinstance(shown, dict)
    assert shown["status"] == "in_repair"
    history = shown["history"]
    assert [(h["from"], h["to"], h["by"], h["reason"]) for h in history] == [
        (None, "available", "desk-tester", "Added to the inventory"),
        ("available", "in_repair", "desk-tester", "Hinge broken"),
    ]
    assert history[0]["at"] <= history[1]["at"]


def test_show_an_unknown_tag(ready: Cli) -> None:
    assert ready("devices", "show", "TAB-0404") == 1
    assert ready.err == (
        "error: No device has the tag 'TAB-0404'. Check the label, or add the device first.\n"
    )


def test_status_changes_follow_the_rules(ready: Cli) -> None:
    assert ready("devices", "add", "--type", "tablet") == 0
    assert ready("devices", "status", "TAB-0001", "available", "--reason", "Wiped") == 1
    assert ready.err.startswith("error: The device is already available.")
    assert ready("devices", "status", "TAB-0001", "on_loan", "--reason", "Lend it") == 1
    assert "issued to a resident at the desk" in ready.err
    assert ready("devices", "status", "TAB-0001", "retired", "--reason", "Dropped") == 0
    assert ready("devices", "status", "TAB-0001", "in_repair", "--reason", "Try again") == 1
    assert "A retired device cannot change status" in ready.err
    assert ready("devices", "status", "TAB-0001", "in_repair", "--reason", "  ") == 1
    assert ready.err.startswith("error: Say why the status changes")


# venues


def test_venues_add_and_list(ready: Cli) -> None:
    assert ready("venues", "add", "Reddish Library", "--ward", "reddish north") == 0
    assert ready.out == "Added Reddish Library in Reddish North.\n"
    assert ready("venues", "add", "Edgeley Library", "--ward", "E05000788") == 0
    assert ready("venues", "list") == 0
    assert ready.out == ("Edgeley Library  (Edgeley and Cheadle Heath)\nReddish Library  (Reddish North)\n")
    assert ready("venues", "add", "REDDISH LIBRARY", "--ward", "Reddish North") == 1
    assert ready.err == "error: There is already a venue called 'REDDISH LIBRARY'.\n"
    assert ready("venues", "add", "Atlantis Library", "--ward", "Atlantis") == 1
    assert ready.err.startswith("error: There is no ward 'Atlantis'. Wards: Bramhall North, ")


# labels


def test_labels_for_every_device_not_retired(demo: Cli, tmp_path: Path) -> None:
    every = demo.json("devices", "list")
    assert isinstance(every, list)
    out = tmp_path / "labels.pdf"
    assert demo("labels", "--out", str(out)) == 0
    expected = [d["tag"] for d in every if d["status"] != "retired"]
    assert demo.out == f"Saved {len(expected)} labels (L7160) to {out}.\n"
    assert out.read_bytes().startswith(b"%PDF")
    text = _pdf_text(out)
    for tag in expected:
        assert tag in text
    assert all(d["tag"] not in text for d in every if d["status"] == "retired")


def test_labels_for_named_tags_on_another_stock(demo: Cli, tmp_path: Path) -> None:
    out = tmp_path / "two.pdf"
    assert demo("labels", "--out", str(out), "--stock", "L7163", "--tags", "tab-0002", "LAP-0001") == 0
    assert demo.out == f"Saved 2 labels (L7163) to {out}.\n"
    text = _pdf_text(out)
    assert "TAB-0002" in text and "LAP-0001" in text and "TAB-0001" not in text


def test_labels_with_a_missing_tag_write_nothing(demo: Cli, tmp_path: Path) -> None:
    out = tmp_path / "labels.pdf"
    assert demo("labels", "--out", str(out), "--tags", "TAB-0001", "NOPE-9") == 1
    assert demo.err == "error: No device has the tag NOPE-9; check the tags and try again.\n"
    assert not out.exists()
    assert list(tmp_path.glob("*.pdf")) == []


def test_blank_labels_never_repeat_a_tag(ready: Cli, tmp_path: Path) -> None:
    first, second = tmp_path / "blank-1.pdf", tmp_path / "blank-2.pdf"
    assert ready("labels", "--out", str(first), "--blank", "3") == 0
    assert ready.out == f"Saved 3 labels (L7160) to {first}.\n"
    assert ready("labels", "--out", str(second), "--blank", "2", "--stock", "roll-62mm") == 0
    first_text, second_text = _pdf_text(first), _pdf_text(second)
    assert all(f"DK-0000{n}" in first_text for n in (1, 2, 3))
    assert "DK-00004" in second_text and "DK-00005" in second_text
    assert "DK-00001" not in second_text


def test_labels_calibration_page_and_stock_list(ready: Cli, tmp_path: Path) -> None:
    out = tmp_path / "calibration.pdf"
    assert ready("labels", "--calibration", "--stock", "L7163", "--out", str(out)) == 0
    assert ready.out == f"Saved the L7163 calibration page to {out}.\n"
    assert out.read_bytes().startswith(b"%PDF")
    assert ready("labels", "--list-stocks") == 0
    names = [line.split()[0] for line in ready.out.splitlines()]
    assert {"L7160", "L7163", "roll-62mm"} <= set(names)


def test_labels_explain_what_is_missing(ready: Cli, tmp_path: Path) -> None:
    assert ready("labels") == 1
    assert ready.err == "error: Say where to save the PDF with --out FILE.pdf.\n"
    assert ready("labels", "--out", str(tmp_path / "none.pdf")) == 1
    assert ready.err == "error: No devices match, so there are no labels to print.\n"
    assert ready("labels", "--out", str(tmp_path / "x.pdf"), "--stock", "L9999", "--blank", "1") == 1
    assert "no label stock called 'L9999'" in ready.err
    assert ready("labels", "--out", str(tmp_path / "missing" / "x.pdf"), "--blank", "1") == 1
    assert "does not exist" in ready.err
    assert list(tmp_path.glob("*.pdf")) == []


# arguments


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["devices"],
        ["devices", "list", "--status", "lost"],
        ["devices", "add"],
        ["devices", "add", "--type", "tablet", "--acquired", "01/09/2025"],
        ["devices", "status", "TAB-0001", "retired"],
        ["demo-data", "--devices", "-3"],
        ["labels", "--blank", "many"],
        ["venues", "add", "Reddish Library"],
    ],
    ids=" ".join,
)
def test_bad_arguments_exit_with_code_2(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["digiknow-desk", "--db", str(db), *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err  # argparse writes to the sys.stderr of the moment
    assert err.startswith("usage: digiknow-desk")
    assert "error:" in err
    assert not db.exists()


# the real entry point


def test_main_py_runs_the_command_line_in_a_fresh_process(
    tmp_path: Path, desk_env: Path, cli_empty_db: Path | str
) -> None:
    env = {**os.environ, "DIGIKNOW_DATA_DIR": str(desk_env), "LOGNAME": "desk-tester"}
    env.pop("DIGIKNOW_DB", None)
    db = cli_empty_db

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO / "main.py"), "--db", str(db), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("init").returncode == 0
    unknown = run("devices", "show", "TAB-9999")
    assert unknown.returncode == 1
    assert "No device has the tag 'TAB-9999'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    added = run("devices", "add", "--type", "chromebook", "--make", "Acer", "--model", "Chromebook 314")
    assert (added.returncode, added.stdout, added.stderr) == (
        0,
        "Added CHR-0001 (Chromebook Acer Chromebook 314).\n",
        "",
    )
    listed = run("devices", "list", "--json")
    assert listed.returncode == 0
    assert [d["tag"] for d in json.loads(listed.stdout)] == ["CHR-0001"]

    version = run("--version")
    assert (version.returncode, version.stdout.strip()) == (0, "digiknow-desk 0.1.0")
    assert not desk_env.exists()


def test_labels_for_every_device_and_blank_ones(cli: Cli, tmp_path: Path) -> None:
    assert cli("demo-data", "--devices", "12", "--residents", "0") == 0
    out = tmp_path / "all.pdf"
    assert cli("labels", "--out", str(out), "--all", "--blank", "3") == 0
    assert "Saved 15 labels (L7160)" in cli.out
    assert cli("labels", "--out", str(out), "--blank", "1") == 0
    assert "Saved 1 label (L7160)" in cli.out


def test_labels_to_a_place_that_cannot_be_written_says_so(cli: Cli, tmp_path: Path) -> None:
    assert cli("demo-data", "--devices", "2", "--residents", "0") == 0
    folder = tmp_path / "a-folder.pdf"
    folder.mkdir()
    assert cli("labels", "--out", str(folder)) == 1
    assert "Could not save" in cli.err and "Traceback" not in cli.err


def test_a_label_stock_name_cannot_be_a_path(cli: Cli, tmp_path: Path) -> None:
    assert cli("demo-data", "--devices", "2", "--residents", "0") == 0
    assert cli("labels", "--out", str(tmp_path / "x.pdf"), "--stock", "../L7160") == 1
    assert "is not a label stock name" in cli.err
