"""The lending desk's command line, end to end on a temporary database (a SQLite file, and one on a
PostgreSQL server): residents, loans, wipes, the waiting list and data SIMs, with their refusals
(stderr, exit 1) and JSON shapes."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Date, bindparam, create_engine, text

from digiknow_desk.app import main
from digiknow_desk.config import database_url
from tests.e2e.cli_runner import DEMO_ADMIN_PASSWORD, Cli

RESIDENT_KEYS = {
    "reference",
    "name",
    "phone",
    "email",
    "address",
    "postcode",
    "ward_code",
    "ward",
    "age_band",
    "language",
    "large_print",
    "interpreter",
    "access_needs",
    "referral_partner",
    "referral_reason",
    "consents",
    "inclusion_status",
    "inclusion_status_label",
}
LOAN_KEYS = {
    "id",
    "device_tag",
    "device_type",
    "device_description",
    "resident_reference",
    "resident_name",
    "resident_contact",
    "issued_at",
    "issued_by",
    "due_on",
    "renewals",
    "days_overdue",
    "closed_at",
    "outcome",
    "accepted",
    "late_reason",
    "kit",
    "condition_back",
    "fault",
    "achieved",
}
WAIT_KEYS = {
    "id",
    "resident_reference",
    "resident_name",
    "resident_contact",
    "device_type",
    "place",
    "joined_at",
    "status",
    "offered_tag",
    "offer_expires_on",
}


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
def desk(cli_db: Path | str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """A database with two tablets, a MiFi, a laptop and three residents (R-00001 to R-00003)."""
    cli = Cli(cli_db, capsys)
    cli.ok("init")
    cli.ok("devices", "add", "--type", "tablet", "--make", "Samsung", "--model", "Galaxy Tab A8")
    cli.ok("devices", "add", "--type", "tablet", "--make", "Lenovo", "--model", "Tab M10")
    cli.ok("devices", "add", "--type", "mifi", "--make", "Huawei", "--model", "E5576")
    cli.ok("devices", "add", "--type", "laptop", "--make", "HP", "--model", "250 G8")
    cli.ok("residents", "add", "--name", "Margaret Holt", "--phone", "0161 496 0101", "--postcode", "SK5 6AB")
    cli.ok("residents", "add", "--name", "Imran Khan", "--email", "imran.khan@example.com")
    cli.ok("residents", "add", "--name", "Jean Barlow", "--address", "12 Mill Lane, Stockport")
    return cli


def _today() -> date:
    return datetime.now().astimezone().date()


def _local(days_ago: int) -> str:
    """A local time `days_ago` days back, as typed after --at."""
    return (datetime.now() - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M")


def _status(cli: Cli, tag: str) -> str:
    device = cli.json("devices", "show", tag)
    assert isinstance(device, dict)
    return str(device["status"])


def _loans(cli: Cli, *args: str) -> list[dict[str, object]]:
    loans = cli.json("loans", *args)
    assert isinstance(loans, list)
    return loans


def _waiting(cli: Cli, *args: str) -> list[dict[str, object]]:
    entries = cli.json("waitlist", "list", *args)
    assert isinstance(entries, list)
    return entries


# Residents


def test_residents_add_list_and_show_each_with_its_reference(
    cli_db: Path | str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = Cli(cli_db, capsys)
    cli.ok("init")
    assert cli.ok("residents", "list") == (
        "No residents yet: add one with 'digiknow-desk residents add --name NAME --phone T'.\n"
    )
    added = cli.json(
        "residents",
        "add",
        "--name",
        "  Doreen   Ogden ",
        "--postcode",
        "sk4 2xy",
        "--ward",
        "heatons north",
        "--phone",
        "0161 496 0555",
        "--email",
        "Doreen@Example.com",
        "--address",
        "4 Park Road, Stockport",
        "--age-band",
        "75_plus",
        "--language",
        "English",
        "--large-print",
        "--interpreter",
        "--needs",
        "Hard of hearing",
        "--referred-by",
        "Age UK Stockport",
        "--reason",
        "social_isolation",
        "--consent",
        "lending",
        "contact",
        "follow_up",
    )
    assert isinstance(added, dict)
    assert set(added) == RESIDENT_KEYS
    assert added["reference"] == "R-00001"
    assert (added["name"], added["postcode"], added["ward_code"], added["ward"]) == (
        "Doreen Ogden",
        "SK4 2XY",
        "E05000791",
        "Heatons North",
    )
    assert (added["email"], added["age_band"], added["large_print"], added["interpreter"]) == (
        "doreen@example.com",
        "75_plus",
        True,
        True,
    )
    assert (added["access_needs"], added["referral_partner"], added["referral_reason"]) == (
        "Hard of hearing",
        "Age UK Stockport",
        "social_isolation",
    )
    assert added["consents"] == [
        {"purpose": purpose, "given_on": _today().isoformat()}
        for purpose in ("contact", "follow_up", "lending")
    ]
    assert cli.ok(
        "residents", "add", "--name", "Tomasz Nowak", "--phone", "07700 900123", "--ward", "E05000797"
    ) == ("Added R-00002 Tomasz Nowak (Reddish North).\n")

    lines = cli.ok("residents", "list").splitlines()
    assert lines[0].split() == ["Reference", "Name", "Postcode", "Ward", "Contact", "Inclusion", "status"]
    assert [line.split()[0] for line in lines[1:]] == ["R-00001", "R-00002"]
    assert "0161 496 0555" in lines[1]
    listed = cli.json("residents", "list")
    assert isinstance(listed, list)
    assert [(r["reference"], r["name"]) for r in listed] == [
        ("R-00001", "Doreen Ogden"),
        ("R-00002", "Tomasz Nowak"),
    ]
    assert all(set(r) == RESIDENT_KEYS for r in listed)
    found = cli.json("residents", "list", "--search", "sk4")
    assert isinstance(found, list) and [r["reference"] for r in found] == ["R-00001"]
    assert cli.ok("residents", "list", "--search", "nobody") == "No residents match.\n"

    text = cli.ok("residents", "show", "r1")
    assert "Reference:        R-00001\n" in text
    assert "Ward:             Heatons North\n" in text
    assert "Needs:            large print; interpreter; Hard of hearing\n" in text
    assert "Referred by:      Age UK Stockport (Social isolation)\n" in text
    assert text.endswith("Loans:            none yet\n")
    assert not any(line != line.rstrip() for line in text.splitlines())
    sparse = cli.ok("residents", "show", "R-00002")
    assert "Email:\n" in sparse and "Needs:\n" in sparse
    assert not any(line != line.rstrip() for line in sparse.splitlines())
    shown = cli.json("residents", "show", "R-00002")
    assert isinstance(shown, dict)
    sensitive = {"disability", "ethnicity", "on_benefits", "not_in_work_or_education", "care_leaver"}
    assert set(shown) == RESIDENT_KEYS | sensitive | {"loans", "waiting"} | {
        "latest_skills_check",
        "skills_checks",
    }
    assert (shown["reference"], shown["loans"], shown["waiting"]) == ("R-00002", [], [])


def test_a_likely_duplicate_is_refused_with_the_matches_unless_checked(desk: Cli) -> None:
    err = desk.refused(
        "residents", "add", "--name", "margaret holt", "--postcode", "sk5 6ab", "--phone", "0161 111 2222"
    )
    assert err == (
        "error: This may be someone already registered:\n"
        "  R-00001  Margaret Holt  SK5 6AB  0161 496 0101\n"
        "Check with the resident; if they are someone else, add them with --not-a-duplicate.\n"
    )
    assert "R-00001" in desk.refused(
        "residents", "add", "--name", "Margaret Holt", "--phone", "0161-496-0101"
    )
    assert len(_residents(desk)) == 3
    assert (
        desk.ok(
            "residents",
            "add",
            "--name",
            "Margaret Holt",
            "--postcode",
            "SK5 6AB",
            "--phone",
            "0161 111 2222",
            "--not-a-duplicate",
        )
        == "Added R-00004 Margaret Holt.\n"
    )
    assert len(_residents(desk)) == 4


def _residents(cli: Cli) -> list[dict[str, object]]:
    residents = cli.json("residents", "list")
    assert isinstance(residents, list)
    return residents


def test_residents_add_explains_what_is_wrong(desk: Cli) -> None:
    assert desk.refused("residents", "add", "--name", "Ryan Lees") == (
        "error: Give at least one way to reach the resident: phone, email or address.\n"
    )
    err = desk.refused("residents", "add", "--name", "Ryan Lees", "--phone", "12", "--postcode", "XX1")
    assert "'12' is not a phone number" in err and "'XX1' is not a UK postcode" in err
    assert desk.refused(
        "residents", "add", "--name", "Ryan Lees", "--phone", "0161 496 0999", "--ward", "Atlantis"
    ).startswith("error: There is no ward 'Atlantis'. Wards: Bramhall North, ")
    err = desk.refused(
        "residents", "add", "--name", "Ryan Lees", "--phone", "0161 496 0999", "--consent", "contact"
    )
    assert "Lending needs the resident's consent" in err
    assert len(_residents(desk)) == 3


def test_show_an_unknown_reference(desk: Cli) -> None:
    assert desk.refused("residents", "show", "R-404") == (
        "error: No resident has the reference R-00404. Search by name instead.\n"
    )


# Loans


def test_issue_return_wipe_and_lend_again(desk: Cli) -> None:
    out = desk.ok("loans", "issue", "--device", "tab-0001", "--resident", "r1", "--kit", "Charger", "Cable")
    due = (_today() + timedelta(days=28)).isoformat()
    assert out == (
        f"Issued TAB-0001 (Samsung Galaxy Tab A8) to R-00001 Margaret Holt, due back {due}.\n"
        "Kit out: Charger, Cable.\n"
        "Kept at the desk: Case.\n"
    )
    assert _status(desk, "TAB-0001") == "on_loan"
    assert desk.refused("loans", "issue", "--device", "TAB-0001", "--resident", "R-00002") == (
        "error: TAB-0001 cannot be lent: it is already on loan: return it first.\n"
    )
    [loan] = _loans(desk, "list")
    assert set(loan) == LOAN_KEYS
    assert (loan["device_tag"], loan["resident_reference"], loan["due_on"], loan["issued_by"]) == (
        "TAB-0001",
        "R-00001",
        due,
        "desk-tester",
    )
    assert loan["kit"] == [
        {"name": "Charger", "out": True, "back": None},
        {"name": "Cable", "out": True, "back": None},
        {"name": "Case", "out": False, "back": None},
    ]
    assert (loan["closed_at"], loan["outcome"], loan["days_overdue"], loan["accepted"]) == (
        None,
        None,
        0,
        True,
    )

    out = desk.ok(
        "loans",
        "return",
        "--device",
        "TAB-0001",
        "--condition",
        "fair",
        "--kit-back",
        "charger",
        "--fault",
        "Cracked corner",
    )
    assert out == (
        "Returned TAB-0001 from R-00001 Margaret Holt.\n"
        "Missing: Cable (recorded on the loan).\n"
        "Fault: Cracked corner\n"
        "It now awaits a wipe: digiknow-desk devices wipe TAB-0001 --method METHOD --checked\n"
    )
    assert _status(desk, "TAB-0001") == "awaiting_wipe"
    assert desk.refused("loans", "return", "--device", "TAB-0001") == "error: TAB-0001 is not on loan.\n"
    assert "awaiting a wipe" in desk.refused(
        "loans", "issue", "--device", "TAB-0001", "--resident", "R-00002"
    )

    # The wipe gate: every check must be confirmed.
    err = desk.refused("devices", "wipe", "TAB-0001", "--method", "factory-reset")
    assert err.startswith("error: The wipe is not recorded: confirm accounts signed out, ")
    assert "Add --checked when all four checks are done" in err
    err = desk.refused(
        "devices",
        "wipe",
        "TAB-0001",
        "--method",
        "mdm-wipe",
        "--accounts-signed-out",
        "--reset-done",
        "--apps-restored",
    )
    assert "confirm charger present." in err and "accounts signed out" not in err
    assert _status(desk, "TAB-0001") == "awaiting_wipe"
    assert (
        desk.ok(
            "devices",
            "wipe",
            "TAB-0001",
            "--method",
            "mdm-wipe",
            "--accounts-signed-out",
            "--reset-done",
            "--apps-restored",
            "--charger-present",
        )
        == "Recorded the wipe of TAB-0001 (MDM wipe); it can be lent again.\n"
    )
    assert _status(desk, "TAB-0001") == "available"
    assert "not awaiting a wipe" in desk.refused(
        "devices", "wipe", "TAB-0001", "--method", "powerwash", "--checked"
    )

    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00002")
    history = desk.json("residents", "show", "R-00001")
    assert isinstance(history, dict)
    [returned] = history["loans"]
    assert (returned["outcome"], returned["condition_back"], returned["fault"]) == (
        "returned",
        "fair",
        "Cracked corner",
    )
    assert [line["back"] for line in returned["kit"]] == [True, False, False]
    text = desk.ok("residents", "show", "R-00002")
    assert re.search(r"  TAB-0001  Tablet  issued \S+  due \S+  on loan\n$", text)


def test_issue_refuses_unknown_devices_and_residents_and_unlendable_devices(desk: Cli) -> None:
    assert desk.refused("loans", "issue", "--device", "TAB-0404", "--resident", "R-00001") == (
        "error: No device has the tag 'TAB-0404'. Check the label.\n"
    )
    assert desk.refused("loans", "issue", "--device", "TAB-0001", "--resident", "R-00404") == (
        "error: No resident has the reference R-00404. Search by name instead.\n"
    )
    desk.ok("devices", "status", "LAP-0001", "in_repair", "--reason", "Hinge broken")
    assert desk.refused("loans", "issue", "--device", "LAP-0001", "--resident", "R-00001") == (
        "error: LAP-0001 cannot be lent: it is in repair.\n"
    )
    assert "kit has no Mouse" in desk.refused(
        "loans", "issue", "--device", "TAB-0001", "--resident", "R1", "--kit", "Mouse"
    )
    yesterday = (_today() - timedelta(days=1)).isoformat()
    assert "due date is before the loan starts" in desk.refused(
        "loans", "issue", "--device", "TAB-0001", "--resident", "R1", "--due", yesterday
    )
    assert desk.refused("loans", "renew", "--device", "TAB-0001") == "error: TAB-0001 is not on loan.\n"
    assert _loans(desk, "list") == []
    assert _status(desk, "TAB-0001") == "available"


def test_renew_up_to_the_limit(desk: Cli) -> None:
    desk.ok("loans", "issue", "--device", "TAB-0002", "--resident", "R-00003")
    first = (_today() + timedelta(days=56)).isoformat()
    assert desk.ok("loans", "renew", "--device", "tab-0002") == (
        f"Renewed TAB-0002 for R-00003 Jean Barlow: now due {first} (renewal 1 of 2).\n"
    )
    assert "(renewal 2 of 2)" in desk.ok("loans", "renew", "--device", "TAB-0002")
    assert desk.refused("loans", "renew", "--device", "TAB-0002") == (
        "error: This loan has been renewed 2 times, the limit. "
        "Return the device, or ask a coordinator to raise the limit.\n"
    )
    [loan] = _loans(desk, "list")
    assert (loan["renewals"], loan["due_on"]) == (2, (_today() + timedelta(days=84)).isoformat())


def test_backdated_loans_need_a_reason_and_show_as_overdue(desk: Cli) -> None:
    long_ago = _local(40)
    due = (_today() - timedelta(days=12)).isoformat()
    err = desk.refused(
        "loans", "issue", "--device", "TAB-0001", "--resident", "R-00001", "--at", long_ago, "--due", due
    )
    assert err == "error: Say why this is recorded late (e.g. 'Returned on Saturday, desk closed').\n"
    desk.ok(
        "loans", "issue", "--device", "TAB-0001", "--resident", "R-00001", "--at", long_ago, "--due", due,
        "--late-reason", "Issued at a community event",
    )  # fmt: skip
    desk.ok(
        "loans",
        "issue",
        "--device",
        "MIF-0001",
        "--resident",
        "R-00002",
        "--at",
        _local(20),
        "--late-reason",
        "Busy day",
    )
    desk.ok("loans", "issue", "--device", "TAB-0002", "--resident", "R-00003")

    overdue = _loans(desk, "overdue")
    assert [(loan["device_tag"], loan["days_overdue"]) for loan in overdue] == [("TAB-0001", 12)]
    assert (overdue[0]["resident_contact"], overdue[0]["late_reason"]) == (
        "0161 496 0101",
        "Issued at a community event",
    )
    issued = datetime.fromisoformat(str(overdue[0]["issued_at"])).astimezone()
    assert issued.strftime("%Y-%m-%d %H:%M") == long_ago
    lines = desk.ok("loans", "overdue").splitlines()
    assert lines[0].split() == ["Tag", "Resident", "Name", "Due", "Days", "overdue", "Contact"]
    assert lines[1].split() == ["TAB-0001", "R-00001", "Margaret", "Holt", due, "12", "0161", "496", "0101"]
    assert len(lines) == 2

    # A return forgotten on the day: the reason is needed, and it cannot be before the issue.
    err = desk.refused("loans", "return", "--device", "TAB-0001", "--at", _local(3))
    assert "Say why this is recorded late" in err
    assert "before the loan was issued" in desk.refused(
        "loans", "return", "--device", "TAB-0001", "--at", _local(41), "--late-reason", "Book drop"
    )
    desk.ok(
        "loans",
        "return",
        "--device",
        "TAB-0001",
        "--at",
        _local(3),
        "--late-reason",
        "Book drop at the weekend",
    )
    assert desk.ok("loans", "overdue") == "No loans are overdue.\n"
    assert _loans(desk, "overdue") == []


def test_loans_list_soonest_due_first_and_within_days(desk: Cli) -> None:
    assert desk.ok("loans", "list") == "No loans are open.\n"
    soon = (_today() + timedelta(days=3)).isoformat()
    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00001")
    desk.ok("loans", "issue", "--device", "LAP-0001", "--resident", "R-00002", "--due", soon)
    assert [loan["device_tag"] for loan in _loans(desk, "list")] == ["LAP-0001", "TAB-0001"]
    assert [loan["device_tag"] for loan in _loans(desk, "list", "--due-within", "7")] == ["LAP-0001"]
    lines = desk.ok("loans", "list", "--due-within", "7").splitlines()
    assert lines[0].split() == ["Tag", "Type", "Resident", "Name", "Issued", "Due", "Renewed", "Overdue"]
    assert lines[1].split()[:3] == ["LAP-0001", "Laptop", "R-00002"] and len(lines) == 2
    by = (_today() + timedelta(days=1)).isoformat()
    assert desk.ok("loans", "list", "--due-within", "1") == f"No open loans are due by {by}.\n"


def test_lost_or_stolen_closes_the_loan_and_quarantines_the_device(desk: Cli) -> None:
    desk.ok("loans", "issue", "--device", "MIF-0001", "--resident", "R-00002")
    assert desk.ok(
        "loans",
        "lost",
        "--device",
        "MIF-0001",
        "--outcome",
        "stolen",
        "--reason",
        "Bag snatched, crime ref 06/12345/25",
    ) == (
        "Recorded MIF-0001 as stolen; the loan to R-00002 Imran Khan is closed "
        "and the device is quarantined.\n"
    )
    assert _status(desk, "MIF-0001") == "quarantined"
    assert _loans(desk, "list") == []
    shown = desk.json("residents", "show", "R-00002")
    assert isinstance(shown, dict)
    [loan] = shown["loans"]
    assert (loan["outcome"], loan["fault"]) == ("stolen", "Bag snatched, crime ref 06/12345/25")
    assert desk.refused("loans", "lost", "--device", "MIF-0001", "--outcome", "lost", "--reason", "x") == (
        "error: MIF-0001 is not on loan.\n"
    )
    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00002")
    assert desk.refused(
        "loans", "lost", "--device", "TAB-0001", "--outcome", "lost", "--reason", "  "
    ).startswith("error: Say what happened")


# The waiting list


def test_waitlist_join_list_move_and_withdraw(desk: Cli) -> None:
    assert desk.ok("waitlist", "list") == "Nobody is waiting.\n"
    assert desk.ok("waitlist", "join", "R-00001", "--type", "laptop") == (
        "R-00001 Margaret Holt is number 1 waiting for a laptop.\n"
        "Note: 1 available now; lend one with 'digiknow-desk loans issue --device TAG --resident R-00001'.\n"
    )
    desk.ok("loans", "issue", "--device", "LAP-0001", "--resident", "R-00001")
    assert _waiting(desk) == []  # lending them a laptop fulfilled their wait
    for reference in ("r1", "r2", "r3"):
        desk.ok("waitlist", "join", reference, "--type", "laptop")
    assert desk.refused("waitlist", "join", "R-00002", "--type", "laptop") == (
        "error: R-00002 is already waiting for a laptop.\n"
    )
    entries = _waiting(desk, "--type", "laptop")
    assert all(set(entry) == WAIT_KEYS for entry in entries)
    assert [(e["resident_reference"], e["place"], e["status"]) for e in entries] == [
        ("R-00001", 1, "waiting"),
        ("R-00002", 2, "waiting"),
        ("R-00003", 3, "waiting"),
    ]
    assert desk.ok(
        "waitlist",
        "move",
        "R-00003",
        "--type",
        "laptop",
        "--to",
        "1",
        "--reason",
        "Care leaver: priority group",
    ) == ("R-00003 Jean Barlow is now number 1 waiting for a laptop.\n")
    assert [e["resident_reference"] for e in _waiting(desk)] == ["R-00003", "R-00001", "R-00002"]
    assert desk.ok("waitlist", "withdraw", "R-00001", "--type", "laptop", "--reason", "Family lent one") == (
        "R-00001 Margaret Holt is no longer waiting for a laptop.\n"
    )
    lines = desk.ok("waitlist", "list").splitlines()
    assert lines[0].split() == ["Type", "Place", "Resident", "Name", "Status", "Offered", "Contact", "Joined"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["Laptop", "1", "R-00003"],
        ["Laptop", "2", "R-00002"],
    ]
    assert desk.refused("waitlist", "withdraw", "R-00001", "--type", "laptop") == (
        "error: R-00001 is not waiting for a laptop.\n"
    )
    assert desk.refused("waitlist", "move", "R-00001", "--type", "tablet", "--to", "1", "--reason", "x") == (
        "error: R-00001 is not waiting for a tablet.\n"
    )
    assert "Say why the order changes" in desk.refused(
        "waitlist", "move", "R-00002", "--type", "laptop", "--to", "1", "--reason", " "
    )
    assert desk.refused("waitlist", "join", "R-00404", "--type", "laptop").startswith(
        "error: No resident has the reference R-00404"
    )


def test_a_wiped_device_is_offered_to_the_next_resident_waiting(desk: Cli) -> None:
    desk.ok("loans", "issue", "--device", "LAP-0001", "--resident", "R-00001")
    desk.ok("waitlist", "join", "R-00002", "--type", "laptop")
    desk.ok("waitlist", "join", "R-00003", "--type", "laptop")
    desk.ok("loans", "return", "--device", "LAP-0001")
    held_until = (_today() + timedelta(days=3)).isoformat()
    assert desk.ok("devices", "wipe", "LAP-0001", "--method", "factory-reset", "--checked") == (
        "Recorded the wipe of LAP-0001 (Factory reset); it can be lent again.\n"
        f"Offered to R-00002 Imran Khan, next waiting for a laptop; held until {held_until}. "
        "Contact: imran.khan@example.com.\n"
    )
    first = _waiting(desk)[0]
    assert (first["status"], first["offered_tag"], first["offer_expires_on"]) == (
        "offered",
        "LAP-0001",
        held_until,
    )
    assert "held for R-00002" in desk.refused(
        "loans", "issue", "--device", "LAP-0001", "--resident", "R-00003"
    )
    assert "offered LAP-0001 until" in desk.ok("residents", "show", "R-00002")
    assert "holds an offer of LAP-0001" in desk.refused(
        "waitlist", "move", "R-00002", "--type", "laptop", "--to", "2", "--reason", "x"
    )
    desk.ok("loans", "issue", "--device", "LAP-0001", "--resident", "R-00002")
    assert [e["resident_reference"] for e in _waiting(desk)] == ["R-00003"]


def test_withdrawing_an_offer_passes_the_device_on(desk: Cli) -> None:
    desk.ok("loans", "issue", "--device", "LAP-0001", "--resident", "R-00001")
    desk.ok("waitlist", "join", "R-00002", "--type", "laptop")
    desk.ok("waitlist", "join", "R-00003", "--type", "laptop")
    desk.ok("loans", "return", "--device", "LAP-0001")
    desk.ok("devices", "wipe", "LAP-0001", "--method", "factory-reset", "--checked")
    out = desk.ok("waitlist", "withdraw", "R-00002", "--type", "laptop", "--reason", "Moved away")
    assert out.startswith(
        "R-00002 Imran Khan is no longer waiting for a laptop.\n"
        "LAP-0001 is now offered to R-00003 Jean Barlow until "
    )
    desk.ok("waitlist", "withdraw", "R-00003", "--type", "laptop")
    assert desk.out.endswith("LAP-0001 is no longer held: it can be lent to anyone.\n")


def test_expire_passes_an_offer_not_collected_in_time(desk: Cli) -> None:
    desk.ok("loans", "issue", "--device", "LAP-0001", "--resident", "R-00001")
    desk.ok("waitlist", "join", "R-00002", "--type", "laptop")
    desk.ok("waitlist", "join", "R-00003", "--type", "laptop")
    desk.ok("loans", "return", "--device", "LAP-0001")
    desk.ok("devices", "wipe", "LAP-0001", "--method", "factory-reset", "--checked")
    assert desk.ok("waitlist", "expire") == "No offer has passed to anyone new.\n"
    # The offer was made a week ago and ran out yesterday.
    engine = create_engine(database_url(str(desk.db)))
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE wait_entries SET offer_expires_on = :day WHERE offered_device_id IS NOT NULL"
            ).bindparams(bindparam("day", type_=Date())),
            {"day": _today() - timedelta(days=1)},
        )
    engine.dispose()
    out = desk.ok("waitlist", "expire")
    held_until = (_today() + timedelta(days=3)).isoformat()
    assert out == (
        f"LAP-0001 passed to R-00003 Jean Barlow, held until {held_until}. "
        "Contact: 12 Mill Lane, Stockport.\n"
    )
    assert [(e["resident_reference"], e["status"]) for e in _waiting(desk)] == [
        ("R-00003", "offered"),
        ("R-00002", "waiting"),
    ]


# Data SIMs and MiFis


def test_sims_set_warn_on_issue_and_list_those_running_out(desk: Cli) -> None:
    soon = (_today() + timedelta(days=5)).isoformat()
    activated = (_today() - timedelta(days=175)).isoformat()
    saved = desk.ok(
        "sims", "set", "mif-0001", "--network", "Vodafone", "--source", "National Databank",
        "--allowance", "20 GB a month", "--activated", activated, "--expires", soon,
    )  # fmt: skip
    assert saved == (
        f"Saved the data plan for MIF-0001: Vodafone, 20 GB a month (National Databank), runs out {soon}.\n"
    )
    assert desk.ok("sims", "expiring") == "No SIM on loan runs out within 14 days.\n"
    out = desk.ok("loans", "issue", "--device", "MIF-0001", "--resident", "R-00001")
    assert out.endswith(f"Warning: its data (Vodafone, 20 GB a month) runs out on {soon}.\n")
    listed = desk.json("sims", "expiring")
    assert isinstance(listed, list)
    [expiring] = listed
    assert expiring == {
        "device_tag": "MIF-0001",
        "device_type": "mifi",
        "resident_reference": "R-00001",
        "resident_name": "Margaret Holt",
        "resident_contact": "0161 496 0101",
        "due_on": (_today() + timedelta(days=28)).isoformat(),
        "network": "Vodafone",
        "source": "National Databank",
        "allowance": "20 GB a month",
        "activated_on": activated,
        "expires_on": soon,
        "days_left": 5,
    }
    lines = desk.ok("sims", "expiring").splitlines()
    assert lines[1].split() == [
        "MIF-0001",
        "R-00001",
        "Margaret",
        "Holt",
        "Vodafone",
        soon,
        "5",
        "0161",
        "496",
        "0101",
    ]
    assert "data plans go with SIMs, MiFis and phones" in desk.refused(
        "sims", "set", "TAB-0001", "--network", "EE", "--source", "Bought", "--allowance", "5 GB"
    )
    assert desk.refused(
        "sims", "set", "MIF-0001", "--network", "EE", "--source", "Bought", "--allowance", "5 GB",
        "--activated", "2026-02-01", "--expires", "2026-01-01",
    ) == "error: The expiry date is before the activation date.\n"  # fmt: skip


# Demo data and the command line itself


def test_demo_data_makes_residents_and_their_history(
    cli_db: Path | str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = Cli(cli_db, capsys)
    out = cli.ok("demo-data", "--devices", "60", "--residents", "40", "--months", "6", "--seed", "3")
    first, second, third, accounts, warning = out.splitlines()
    assert accounts.startswith("Demo accounts, one per role") and "DEMO" in warning
    assert re.fullmatch(
        r"Added 10 venues, 60 devices and 40 residents, with \d+ loans over 6 months\.", first
    )
    assert re.fullmatch(
        r"Now: \d+ on loan \(\d+ overdue\), \d+ on the waiting list, "
        r"\d+ SIMs on loan running out within the warning period\.",
        second,
    )
    assert re.fullmatch(
        r"Support: \d+ champions \(\d+ with training or a DBS check to renew\), \d+ sessions and \d+ skills "
        r"checks; \d+ residents digitally included\.",
        third,
    )
    residents = _residents(cli)
    assert len(residents) == 40 and all(re.fullmatch(r"R-\d{5}", str(r["reference"])) for r in residents)
    open_loans = _loans(cli, "list")
    on_loan = int(second.split()[1])
    assert len(open_loans) == on_loan
    assert all(loan["resident_reference"] for loan in open_loans)
    overdue = _loans(cli, "overdue")
    assert len(overdue) == int(second.split()[4].strip("("))
    assert all(int(str(loan["days_overdue"])) > 0 for loan in overdue)


@pytest.mark.parametrize(
    "args",
    [
        ["residents"],
        ["residents", "add"],
        ["residents", "add", "--name", "X", "--reason", "boredom"],
        ["residents", "add", "--name", "X", "--consent", "marketing"],
        ["loans", "issue", "--device", "TAB-0001"],
        ["loans", "issue", "--device", "TAB-0001", "--resident", "R1", "--at", "yesterday"],
        ["loans", "issue", "--device", "TAB-0001", "--resident", "R1", "--due", "01/09/2026"],
        ["loans", "return", "--device", "TAB-0001", "--condition", "broken"],
        ["loans", "lost", "--device", "TAB-0001", "--outcome", "returned", "--reason", "x"],
        ["loans", "list", "--due-within", "soon"],
        ["devices", "wipe", "TAB-0001"],
        ["devices", "wipe", "TAB-0001", "--method", "shred", "--checked"],
        ["waitlist", "join", "R1"],
        ["waitlist", "join", "R1", "--type", "spaceship"],
        ["waitlist", "move", "R1", "--type", "laptop", "--to", "0", "--reason", "x"],
        ["sims", "set", "MIF-0001", "--network", "EE"],
        ["demo-data", "--residents", "-1"],
    ],
    ids=" ".join,
)
def test_bad_arguments_exit_with_code_2(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["digiknow-desk", "--db", str(db), *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: digiknow-desk")
    assert "error:" in err
    assert not db.exists()


@pytest.mark.sqlite_only("a database file that is not there")
def test_commands_on_a_missing_database_say_to_run_init(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(db, capsys)
    for args in (["residents", "list"], ["loans", "overdue"], ["waitlist", "list"], ["sims", "expiring"]):
        assert cli.refused(*args).endswith("Run 'digiknow-desk init' first, or check --db.\n")
    assert not db.exists()


# Printed documents


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_print_the_agreement_certificate_and_card(desk: Cli, tmp_path: Path) -> None:
    assert "not on loan" in desk.refused(
        "print", "agreement", "--device", "TAB-0001", "--out", str(tmp_path / "a.pdf")
    )
    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00001")
    desk.ok("print", "agreement", "--device", "tab-0001", "--out", str(tmp_path / "agreement.pdf"))
    assert "R-00001" in _pdf_text(tmp_path / "agreement.pdf")
    desk.ok("loans", "return", "--device", "TAB-0001")
    desk.ok("devices", "wipe", "TAB-0001", "--method", "factory-reset", "--checked")
    desk.ok("print", "certificate", "--device", "TAB-0001", "--out", str(tmp_path / "certificate.pdf"))
    assert "TAB-0001" in _pdf_text(tmp_path / "certificate.pdf")
    out = desk.ok("print", "card", "r2", "--out", str(tmp_path / "card.pdf"))
    assert "print it at 100%" in out
    assert "R-00002" in _pdf_text(tmp_path / "card.pdf")
