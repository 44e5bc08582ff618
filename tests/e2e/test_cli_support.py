"""Digital Champions, support sessions, volunteer hours, skills checks and inclusion status on the
command line, end to end on a temporary database, with their refusals (stderr, exit 1) and JSON."""

from __future__ import annotations

import re
import shlex
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from digiknow_desk import cli as cli_module
from digiknow_desk.app import main
from tests.e2e.cli_runner import DEMO_ADMIN_PASSWORD, Cli

RULE_START = "A resident is digitally included when their latest skills check shows Foundation skills"
AREAS = (
    "foundation",
    "communicating",
    "handling_information",
    "transacting",
    "problem_solving",
    "being_safe_legal",
)

SUPPORT_AGREED = ("--consent", "lending", "support")  # sessions and skills checks need support consent


@pytest.fixture(autouse=True)
def desk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every run away from the real user folder, and name who is working."""
    monkeypatch.setenv("DIGIKNOW_DATA_DIR", str(tmp_path / "user-data"))
    monkeypatch.delenv("DIGIKNOW_DB", raising=False)
    monkeypatch.setenv("LOGNAME", "desk-tester")
    monkeypatch.setenv("DIGIKNOW_PASSWORD", DEMO_ADMIN_PASSWORD)


def _words(line: str) -> list[str]:
    """A command line as a shell splits it, so long commands read as they are typed."""
    return shlex.split(line)


def _levels(**levels: str) -> list[str]:
    """The six level options of a skills check: 'alone' for every area not named."""
    return [word for area in AREAS for word in ("--" + area.replace("_", "-"), levels.get(area, "alone"))]


def _today() -> date:
    return datetime.now().astimezone().date()


def _last_month(day: int) -> date:
    """A day of last month: always in the past, and within the year a session can be logged after."""
    return (_today().replace(day=1) - timedelta(days=1)).replace(day=day)


def _long(day: date) -> str:
    """A date as the warnings write it: '5 Jan 2025'."""
    return f"{day.day} {day:%b %Y}"


@pytest.fixture
def desk(cli_db: Path | str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Two venues, two active champions (Priya at Edgeley, Tom at Reddish; both trained and checked
    recently), a tablet, a MiFi, and three residents (R-00001 to R-00003)."""
    cli = Cli(cli_db, capsys)
    cli.ok("init")
    cli.ok("venues", "add", "Edgeley Library", "--ward", "Edgeley and Cheadle Heath")
    cli.ok("venues", "add", "Reddish Library", "--ward", "Reddish North")
    recently = (_today() - timedelta(days=100)).isoformat()
    for name, venue in (("Priya Shah", "Edgeley Library"), ("Tom Reid", "Reddish Library")):
        cli.ok(
            *_words(
                f"champions add --name '{name}' --venue '{venue}' --trained-on {recently} "
                f"--dbs-checked-on {recently}"
            )
        )
    cli.ok("devices", "add", "--type", "tablet", "--make", "Samsung", "--model", "Galaxy Tab A8")
    cli.ok("devices", "add", "--type", "mifi", "--make", "Huawei", "--model", "E5576")
    cli.ok(
        "residents",
        "add",
        "--name",
        "Margaret Holt",
        "--phone",
        "0161 496 0101",
        "--ward",
        "E05000788",
        *SUPPORT_AGREED,
    )
    cli.ok("residents", "add", "--name", "Imran Khan", "--email", "imran.khan@example.com", *SUPPORT_AGREED)
    cli.ok(
        "residents", "add", "--name", "Jean Barlow", "--address", "12 Mill Lane, Stockport", *SUPPORT_AGREED
    )
    return cli


def _status(cli: Cli, reference: str) -> object:
    return cli.record("residents", "show", reference)["inclusion_status"]


# Champions


def test_champions_add_list_edit_and_warn_about_a_lapsed_dbs_check(desk: Cli) -> None:
    trained = date(_today().year - 1, 6, 10)  # training lasts 24 months: due next June
    dbs_checked = date(_today().year - 4, 1, 15)  # a DBS check lasts 36 months: this one lapsed last year
    lapsed = date(_today().year - 1, 1, 15)
    out = desk.ok(
        *_words(
            "champions add --name '  Asha   Patel ' --phone '0161 474 1000' --email asha@example.com "
            "--venue 'edgeley library' 'Reddish Library' "
            f"--trained-on {trained} --dbs-checked-on {dbs_checked}"
        )
    )
    assert out == (
        "Added Asha Patel.\n"
        "Contact:          0161 474 1000, asha@example.com\n"
        "Venues:           Edgeley Library, Reddish Library\n"
        f"Training due:     {_today().year + 1}-06-10\n"
        f"DBS check due:    {lapsed.isoformat()}\n"
        "Active:           yes\n"
        f"Warning:          DBS check lapsed on {_long(lapsed)}\n"
    )
    desk.ok("champions", "add", "--name", "Dan Moss", "--inactive")

    lines = desk.ok("champions", "list").splitlines()
    assert lines[0].split() == ["Name", "Contact", "Venues", "Training", "due", "DBS", "due", "Warnings"]
    assert [line.split("  ")[0] for line in lines[1:]] == ["Asha Patel", "Priya Shah", "Tom Reid"]
    assert lines[1].endswith(f"{lapsed.isoformat()}  DBS check lapsed on {_long(lapsed)}")
    every = desk.ok("champions", "list", "--all").splitlines()
    assert every[0].split()[-1] == "Active"
    assert every[2].split() == ["Dan", "Moss", "not", "recorded", "not", "recorded", "no"]

    [asha, dan, priya, _tom] = desk.records("champions", "list", "--all")
    uuid.UUID(str(asha["id"]))
    assert {key: value for key, value in asha.items() if key != "id"} == {
        "name": "Asha Patel",
        "phone": "0161 474 1000",
        "email": "asha@example.com",
        "venues": ["Edgeley Library", "Reddish Library"],
        "trained_on": trained.isoformat(),
        "training_due": f"{_today().year + 1}-06-10",
        "dbs_checked_on": dbs_checked.isoformat(),
        "dbs_due": lapsed.isoformat(),
        "active": True,
        "warnings": [f"DBS check lapsed on {_long(lapsed)}"],
    }
    assert (dan["name"], dan["active"], dan["trained_on"], dan["warnings"]) == ("Dan Moss", False, None, [])
    assert priya["warnings"] == []
    assert [c["name"] for c in desk.records("champions", "list")] == ["Asha Patel", "Priya Shah", "Tom Reid"]

    # Only active champions are warned about; one stood down needs no reminder.
    assert desk.ok("champions", "warnings") == (
        f"Asha Patel: DBS check lapsed on {_long(lapsed)}. Contact: 0161 474 1000, asha@example.com.\n"
    )
    rechecked = _today() - timedelta(days=10)
    desk.ok("champions", "edit", "asha patel", "--dbs-checked-on", rechecked.isoformat())
    assert desk.ok("champions", "warnings") == "No champion's training or DBS check needs attention.\n"
    edited = desk.records("champions", "list")[0]
    assert (edited["phone"], edited["venues"], edited["trained_on"], edited["dbs_checked_on"]) == (
        "0161 474 1000",
        ["Edgeley Library", "Reddish Library"],
        trained.isoformat(),
        rechecked.isoformat(),
    )

    out = desk.ok(
        "champions", "edit", "Dan Moss", "--active", "--venue", "Reddish Library", "--phone", "07700 9001"
    )
    assert "Active:           yes\nWarning:          no training recorded\n" in out
    assert desk.ok("champions", "warnings") == (
        "Dan Moss: no training recorded; no DBS check recorded. Contact: 07700 9001.\n"
    )
    desk.ok("champions", "edit", "Dan Moss", "--inactive", "--venue", "--name", "Daniel Moss")
    dan = desk.records("champions", "list", "--all")[1]
    assert (dan["name"], dan["venues"], dan["active"], dan["phone"]) == (
        "Daniel Moss",
        [],
        False,
        "07700 9001",
    )
    assert desk.ok("champions", "warnings") == "No champion's training or DBS check needs attention.\n"


def test_champion_rules_set_how_early_a_lapse_is_warned(desk: Cli) -> None:
    assert desk.record("champions", "rules", "show") == {
        "training_months": 24,
        "dbs_months": 36,
        "warn_days": 30,
    }
    # A DBS check 1,000 days old lapses about 96 days from now: no warning 30 days ahead, one 120 days ahead.
    desk.ok(
        "champions", "edit", "Priya Shah", "--dbs-checked-on", (_today() - timedelta(days=1000)).isoformat()
    )
    assert desk.ok("champions", "warnings") == "No champion's training or DBS check needs attention.\n"
    out = desk.ok("champions", "rules", "set", "--warn-days", "120")
    assert out.splitlines() == [
        "Saved the champion rules:",
        "Training lasts:     24 months",
        "A DBS check lasts:  36 months",
        "Warn:               120 days before either lapses",
    ]
    due = date.fromisoformat(str(desk.records("champions", "list")[0]["dbs_due"]))
    assert 90 < (due - _today()).days < 100
    assert desk.ok("champions", "warnings") == f"Priya Shah: DBS check lapses on {_long(due)}.\n"

    assert desk.refused("champions", "rules", "set") == (
        "error: Say what to change: --training-months N, --dbs-months N or --warn-days N.\n"
    )
    assert desk.refused("champions", "rules", "set", "--warn-days", "soon") == (
        "error: --warn-days needs a whole number, e.g. 14; 'soon' is not one.\n"
    )
    assert desk.refused("champions", "rules", "set", "--dbs-months", "0") == (
        "error: A DBS check lasts between 1 and 120 months.\n"
    )
    assert desk.record("champions", "rules", "show")["warn_days"] == 120


def test_champion_refusals_say_what_to_do(desk: Cli) -> None:
    assert desk.refused("champions", "edit", "Nobody", "--phone", "0161 000 0000") == (
        "error: No champion is called 'Nobody'. 'champions list' shows who is registered.\n"
    )
    assert desk.refused("champions", "add", "--name", "Ann Lee", "--venue", "Town Hall") == (
        "error: There is no venue called 'Town Hall'. Venues: Edgeley Library, Reddish Library.\n"
    )
    assert desk.refused("champions", "add", "--name", "priya shah") == (
        "error: A champion called priya shah is already registered: edit them instead.\n"
    )
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    assert desk.refused("champions", "add", "--name", "Ann Lee", "--trained-on", tomorrow) == (
        "error: That date is in the future: check it.\n"
    )
    assert [c["name"] for c in desk.records("champions", "list", "--all")] == ["Priya Shah", "Tom Reid"]


# Volunteer hours


def test_hours_per_champion_come_from_sessions_and_other_work(desk: Cli) -> None:
    month = _last_month(1)
    desk.ok(
        *_words(
            "sessions log --champion 'Priya Shah' 'Tom Reid' --kind group --venue 'Reddish Library' "
            f"--resident R-00001 R-00002 --date {_last_month(3)} --start 10:00 --minutes 90"
        )
    )
    desk.ok(
        *_words(
            "sessions log --champion 'Priya Shah' --kind phone --resident R-00003 "
            f"--date {_last_month(9)} --start 11:00 --minutes 20"
        )
    )
    out = desk.ok(
        *_words(
            f"hours add --champion 'priya shah' --date {_last_month(10)} --minutes 150 --kind device_setup "
            "--note 'Set up six tablets'"
        )
    )
    assert out == f"Recorded 2 h 30 min for Priya Shah on {_last_month(10)}: Setting up devices.\n"
    desk.ok(*_words(f"hours add --champion 'Tom Reid' --date {_last_month(11)} --minutes 45 --kind outreach"))
    desk.ok("hours", "add", "--champion", "Tom Reid", "--minutes", "30", "--kind", "training")  # today

    assert desk.ok("hours", "list", "--month", f"{month:%Y-%m}").splitlines() == [
        f"Volunteer hours in {month:%B %Y}:",
        "Champion       Sessions  Session hours  Other hours  Total hours",
        "Priya Shah     2         1 h 50 min     2 h 30 min   4 h 20 min",
        "Tom Reid       1         1 h 30 min     45 min       2 h 15 min",
        "All champions            3 h 20 min     3 h 15 min   6 h 35 min",
    ]
    priya, tom = desk.records("hours", "list", "--month", f"{month:%Y-%m}")
    assert {key: value for key, value in priya.items() if key != "champion_id"} == {
        "champion": "Priya Shah",
        "month": f"{month:%Y-%m}",
        "sessions": 2,
        "session_minutes": 110,
        "other_minutes": 150,
        "total_minutes": 260,
    }
    assert (tom["sessions"], tom["session_minutes"], tom["other_minutes"], tom["total_minutes"]) == (
        1,
        90,
        45,
        135,
    )
    # This month (the default) has only Tom's half hour of training.
    assert desk.records("hours", "list") == [
        {
            "champion_id": tom["champion_id"],
            "champion": "Tom Reid",
            "month": f"{_today():%Y-%m}",
            "sessions": 0,
            "session_minutes": 0,
            "other_minutes": 30,
            "total_minutes": 30,
        }
    ]
    before = (month - timedelta(days=1)).replace(day=1)
    assert (
        desk.ok("hours", "list", "--month", f"{before:%Y-%m}") == f"No volunteer hours in {before:%B %Y}.\n"
    )

    assert desk.refused("hours", "add", "--champion", "Tom Reid", "--minutes", "2", "--kind", "other") == (
        "error: Record between 5 minutes and 12 hours at a time.\n"
    )
    assert desk.refused("hours", "add", "--champion", "Nobody", "--minutes", "30", "--kind", "other") == (
        "error: No champion is called 'Nobody'. 'champions list' shows who is registered.\n"
    )


# Sessions


def test_log_one_to_one_group_and_phone_sessions_after_the_fact(desk: Cli) -> None:
    before = _today()
    out = desk.ok(
        *_words(
            "sessions log --champion 'Priya Shah' --kind one_to_one --venue 'Edgeley Library' --resident r1 "
            "--topic nhs_app online_banking"
        )
    )
    first, second, third = out.splitlines()
    logged = re.fullmatch(
        r"Logged the session: (\S+) (\d\d):(\d\d), 1 h, One-to-one at Edgeley Library, with Priya Shah\.",
        first,
    )
    assert logged is not None, first
    assert logged[1] in {before.isoformat(), _today().isoformat()}  # today, even across midnight
    assert logged[3] in {"00", "15", "30", "45"}  # now, rounded down to the quarter hour
    assert second == "Attendees: R-00001 Margaret Holt. Topics: NHS App, Online banking."
    assert third == "Inclusion status of R-00001 Margaret Holt: Supported."

    group_day, phone_day = _last_month(12), _last_month(5)
    out = desk.ok(
        *_words(
            "sessions log --champion 'Priya Shah' --champion 'tom reid' --kind group "
            f"--venue 'reddish library' --date {group_day} --start 14:00 --minutes 90 "
            "--resident R-00002 --resident R-00001 "
            "--anonymous 75_plus:E05000787 --topic spotting_scams being_safe_legal "
            "--outcome 'Everyone reported a scam text'"
        )
    )
    assert out == (
        f"Logged the session: {group_day.isoformat()} 14:00, 1 h 30 min, Group class at Reddish Library, "
        "with Priya Shah, Tom Reid.\n"
        "Attendees: R-00002 Imran Khan; R-00001 Margaret Holt; not registered (aged 75 or over, Davenport "
        "and Cale Green). Topics: Being safe and legal online, Spotting scams.\n"
        "Inclusion status of R-00002 Imran Khan: Supported.\n"
        "Inclusion status of R-00001 Margaret Holt: Supported.\n"
    )
    out = desk.ok(
        *_words(
            f"sessions log --champion 'Tom Reid' --kind phone --resident R-00003 --date {phone_day} "
            "--start 09:30 --minutes 20"
        )
    )
    assert out == (
        f"Logged the session: {phone_day.isoformat()} 09:30, 20 min, Phone, with Tom Reid.\n"
        "Attendees: R-00003 Jean Barlow.\n"
        "Inclusion status of R-00003 Jean Barlow: Supported.\n"
    )

    champions = {str(c["name"]): c["id"] for c in desk.records("champions", "list")}
    group, phone = desk.records("sessions", "list", "--month", f"{group_day:%Y-%m}")  # newest first
    uuid.UUID(str(group["id"]))
    uuid.UUID(str(group["venue_id"]))
    datetime.fromisoformat(str(group["logged_at"]))
    assert {key: value for key, value in group.items() if key not in {"id", "venue_id", "logged_at"}} == {
        "held_on": group_day.isoformat(),
        "starts_at": "14:00",
        "minutes": 90,
        "kind": "group",
        "venue": "Reddish Library",
        "champions": [
            {"id": champions["Priya Shah"], "name": "Priya Shah"},
            {"id": champions["Tom Reid"], "name": "Tom Reid"},
        ],
        "attendees": [
            {
                "resident_id": group["attendees"][0]["resident_id"],  # type: ignore[index]
                "reference": "R-00002",
                "name": "Imran Khan",
                "age_band": "not_said",
                "ward_code": None,
                "ward": None,
            },
            {
                "resident_id": group["attendees"][1]["resident_id"],  # type: ignore[index]
                "reference": "R-00001",
                "name": "Margaret Holt",
                "age_band": "not_said",
                "ward_code": "E05000788",
                "ward": "Edgeley and Cheadle Heath",
            },
            {
                "resident_id": None,
                "reference": None,
                "name": None,
                "age_band": "75_plus",
                "ward_code": "E05000787",
                "ward": "Davenport and Cale Green",
            },
        ],
        "topics": ["being_safe_legal", "spotting_scams"],
        "loan_id": None,
        "outcome": "Everyone reported a scam text",
        "follow_up_on": None,
        "follow_up": "",
        "follow_up_done_on": None,
        "logged_by": "desk-tester",
    }
    resident_ids = [attendee["resident_id"] for attendee in group["attendees"][:2]]  # type: ignore[index]
    assert all(uuid.UUID(str(resident_id)) for resident_id in resident_ids)
    assert (phone["held_on"], phone["kind"], phone["venue_id"], phone["venue"], phone["minutes"]) == (
        phone_day.isoformat(),
        "phone",
        None,
        None,
        20,
    )
    assert [a["reference"] for a in phone["attendees"]] == ["R-00003"]  # type: ignore[union-attr]

    assert len(desk.records("sessions", "list")) == 3
    assert [s["kind"] for s in desk.records("sessions", "list", "--champion", "Tom Reid")] == [
        "group",
        "phone",
    ]
    assert [s["kind"] for s in desk.records("sessions", "list", "--venue", "Edgeley Library")] == [
        "one_to_one"
    ]
    assert [s["kind"] for s in desk.records("sessions", "list", "--resident", "r2")] == ["group"]
    lines = desk.ok(
        "sessions", "list", "--month", f"{group_day:%Y-%m}", "--champion", "Tom Reid"
    ).splitlines()
    assert lines[0].split() == [
        "Date",
        "Start",
        "Length",
        "Kind",
        "Venue",
        "Champions",
        "Attendees",
        "Topics",
        "ID",
    ]
    assert lines[1].startswith(f"{group_day.isoformat()}  14:00  1 h 30 min  Group class  Reddish Library")
    assert "R-00002 Imran Khan, R-00001 Margaret Holt, 1 not registered" in lines[1]
    assert lines[1].endswith(str(group["id"]))
    assert lines[2].startswith(f"{phone_day.isoformat()}  09:30  20 min      Phone")
    assert desk.ok("sessions", "list", "--venue", "Reddish Library", "--resident", "R-00003") == (
        "No sessions match.\n"
    )
    assert {r["reference"]: r["inclusion_status"] for r in desk.records("residents", "list")} == {
        "R-00001": "supported",
        "R-00002": "supported",
        "R-00003": "supported",
    }


def test_sessions_list_reads_every_page(desk: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for day in range(1, 6):
        desk.ok(
            *_words(
                "sessions log --champion 'Tom Reid' --kind video --resident R-00002 "
                f"--date {_last_month(day)} --start 10:00"
            )
        )
    monkeypatch.setattr(cli_module, "SESSION_PAGE", 2)
    listed = desk.records("sessions", "list", "--month", f"{_last_month(1):%Y-%m}")
    assert [s["held_on"] for s in listed] == [_last_month(day).isoformat() for day in range(5, 0, -1)]
    assert len(desk.ok("sessions", "list").splitlines()) == 1 + 5


def test_a_session_about_a_loan_with_a_follow_up_shown_and_deleted(desk: Cli) -> None:
    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00001")
    [loan] = desk.records("loans", "list")
    follow_up_on = _today() + timedelta(days=3)
    out = desk.ok(
        *_words(
            "sessions log --champion 'Priya Shah' --kind one_to_one --venue 'Edgeley Library' "
            f"--resident R-00001 --date {_today() - timedelta(days=1)} --start 15:00 --loan-device tab-0001 "
            f"--topic device_setup --follow-up-on {follow_up_on} --follow-up 'Check the NHS App sign-in'"
        )
    )
    assert out.splitlines()[2:4] == [
        "About the loan of TAB-0001 to R-00001.",
        f"Follow up on {follow_up_on.isoformat()}: Check the NHS App sign-in",
    ]
    [session] = desk.records("sessions", "list")
    assert (session["loan_id"], session["follow_up_on"]) == (loan["id"], follow_up_on.isoformat())

    shown = desk.ok("sessions", "show", str(session["id"]))
    assert f"ID:               {session['id']}\n" in shown
    assert "Loan:             TAB-0001 to R-00001, issued " in shown
    assert f"Follow-up:        {follow_up_on.isoformat()}: Check the NHS App sign-in\n" in shown
    assert "Logged:" in shown and shown.rstrip().endswith("by desk-tester")
    assert desk.record("sessions", "show", str(session["id"])) == session

    assert desk.ok("sessions", "follow-ups", "--days", "2") == (
        f"No follow-up is due by {(_today() + timedelta(days=2)).isoformat()}.\n"
    )
    lines = desk.ok("sessions", "follow-ups").splitlines()
    assert lines[0].split() == ["Due", "Follow-up", "Attendees", "Champions", "Session", "ID"]
    assert lines[1].startswith(
        f"{follow_up_on.isoformat()}  Check the NHS App sign-in  R-00001 Margaret Holt"
    )

    assert desk.ok("sessions", "delete", str(session["id"])).startswith("Deleted the session of ")
    assert desk.ok("sessions", "list") == "No sessions match.\n"
    assert desk.refused("sessions", "delete", str(session["id"])) == "error: That session no longer exists.\n"
    assert desk.refused("sessions", "show", "last-one") == (
        "error: 'last-one' is not a session's ID: copy it from 'digiknow-desk sessions list'.\n"
    )


def _long_day(day: date) -> str:
    """A date as a refusal writes it: 'Sat 14 Mar 2026'."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def test_a_follow_up_marked_done_leaves_the_follow_ups_due(desk: Cli) -> None:
    yesterday = _today() - timedelta(days=1)
    for what in ("Check the NHS App sign-in", "Show her the bank app again"):
        desk.ok(
            *_words(
                "sessions log --champion 'Priya Shah' --kind one_to_one --venue 'Edgeley Library' "
                f"--resident R-00001 --date {yesterday} --start 15:00 "
                f"--follow-up-on {_today() + timedelta(days=3)} --follow-up '{what}'"
            )
        )
    desk.ok(*_words("sessions log --champion 'Tom Reid' --kind phone --resident R-00002"))
    by_follow_up = {str(s["follow_up"]): s for s in desk.records("sessions", "list")}
    nhs, bank, none = (
        str(by_follow_up[key]["id"])
        for key in ("Check the NHS App sign-in", "Show her the bank app again", "")
    )
    assert by_follow_up["Check the NHS App sign-in"]["follow_up_done_on"] is None
    assert len(desk.ok("sessions", "follow-ups").splitlines()) == 1 + 2

    assert desk.ok("sessions", "follow-up-done", nhs) == (
        f"Marked the follow-up done on {_today().isoformat()}: Check the NHS App sign-in "
        "(R-00001 Margaret Holt).\n"
    )
    assert desk.record("sessions", "show", nhs)["follow_up_done_on"] == _today().isoformat()
    shown = desk.ok("sessions", "show", nhs)
    assert (
        f"Follow-up:        {(_today() + timedelta(days=3)).isoformat()}: Check the NHS App sign-in "
        f"(done {_today().isoformat()})\n"
    ) in shown
    lines = desk.ok("sessions", "follow-ups").splitlines()
    assert len(lines) == 1 + 1 and "Show her the bank app again" in lines[1]

    for on, error in (
        (
            _today() + timedelta(days=1),
            "A follow-up cannot be done in the future: mark it done once it has happened.",
        ),
        (
            yesterday - timedelta(days=1),
            "A follow-up cannot be done before the session it follows: check the date.",
        ),
    ):
        assert desk.refused("sessions", "follow-up-done", bank, "--on", on.isoformat()) == f"error: {error}\n"
    assert desk.ok("sessions", "follow-up-done", bank, "--on", yesterday.isoformat()).startswith(
        f"Marked the follow-up done on {yesterday.isoformat()}: Show her the bank app again"
    )
    assert desk.ok("sessions", "follow-ups") == (
        f"No follow-up is due by {(_today() + timedelta(days=7)).isoformat()}.\n"
    )

    assert desk.refused("sessions", "follow-up-done", bank) == (
        f"error: That follow-up was already marked done on {_long_day(yesterday)}.\n"
    )
    assert desk.refused("sessions", "follow-up-done", none) == (
        "error: That session has no follow-up to mark done.\n"
    )
    assert desk.refused("sessions", "follow-up-done", str(uuid.uuid4())) == (
        "error: That session no longer exists.\n"
    )
    assert desk.refused("sessions", "follow-up-done", "the-last-one").startswith(
        "error: 'the-last-one' is not a session's ID"
    )


def test_follow_up_done_needs_a_date_it_can_read(desk: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["digiknow-desk", "--db", str(desk.db), "sessions", "follow-up-done", "x", "--on", "03/12/2026"])
    assert exited.value.code == 2
    assert "'03/12/2026' is not a date: use YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (
            "--champion Nobody --kind phone --resident R-00001",
            "No champion is called 'Nobody'. 'champions list' shows who is registered.",
        ),
        (
            "--champion 'Tom Reid' --kind one_to_one --venue 'Reddish Library' --resident R-00001 R-00002",
            "A one-to-one session has one attendee: choose group or drop-in.",
        ),
        (
            "--champion 'Tom Reid' --kind drop_in --resident R-00001",
            "Choose the venue where the session was held.",
        ),
        (
            "--champion 'Tom Reid' --kind drop_in --venue 'Town Hall' --resident R-00001",
            "There is no venue called 'Town Hall'. Venues: Edgeley Library, Reddish Library.",
        ),
        (
            "--champion 'Tom Reid' --kind phone --anonymous old",
            "'old' is not an age band: use one of under_18, 18_24, 25_49, 50_64, 65_74, 75_plus, not_said, "
            "as in --anonymous 75_plus:E05000787.",
        ),
        (
            "--champion 'Tom Reid' --kind phone --resident R-00404",
            "No resident has the reference R-00404: search for them by name, or add them as an attendee who "
            "is not registered.",
        ),
        (
            "--champion 'Tom Reid' --kind phone --anonymous 18_24 --loan-device TAB-0001",
            "--loan-device TAB-0001 needs the resident who borrowed it: add --resident REF.",
        ),
        (
            "--champion 'Tom Reid' --kind phone --resident R-00002 --loan-device TAB-0001",
            "TAB-0001 has never been lent to R-00002: check the tag, or log the session without "
            "--loan-device.",
        ),
        (
            f"--champion 'Tom Reid' --kind phone --resident R-00002 --follow-up-on {_today()}",
            "Say what the follow-up is for.",
        ),
        (
            f"--champion 'Tom Reid' --kind phone --resident R-00002 --date {_today() + timedelta(days=1)}",
            "The session cannot start in the future: log it once it has happened.",
        ),
    ],
    ids=lambda value: str(value)[:70],
)
def test_a_session_that_cannot_be_logged_is_refused_and_nothing_saved(
    desk: Cli, line: str, error: str
) -> None:
    assert desk.refused("sessions", "log", *_words(line)) == f"error: {error}\n"
    assert desk.ok("sessions", "list") == "No sessions match.\n"


def test_an_unknown_ward_for_an_anonymous_attendee_is_refused_with_the_wards(desk: Cli) -> None:
    err = desk.refused(*_words("sessions log --champion 'Tom Reid' --kind phone --anonymous 75_plus:Narnia"))
    assert err.startswith("error: There is no ward 'Narnia'. Wards: Bramhall North, ")
    out = desk.ok(
        *_words("sessions log --champion 'Tom Reid' --kind video --anonymous '65_74:heatons north' not_said")
    )
    # The service keeps attendees who are not registered in no particular order.
    attendees = out.splitlines()[1].removeprefix("Attendees: ").removesuffix(".").split("; ")
    assert sorted(attendees) == [
        "not registered (age not said)",
        "not registered (aged 65 to 74, Heatons North)",
    ]


# Demo data with an exact number of sessions


def test_demo_data_makes_exactly_the_sessions_asked_for(
    cli_db: Path | str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = Cli(cli_db, capsys)
    out = cli.ok(*_words("demo-data --devices 20 --residents 40 --months 2 --sessions 150 --seed 4"))
    assert "150 sessions" in out.splitlines()[2]  # after the lending lines; the demo accounts follow
    assert len(cli.records("sessions", "list")) == 150


@pytest.mark.parametrize("count", ["0", "-5", "many", "2.5"])
def test_demo_data_sessions_must_be_a_whole_number_of_one_or_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], count: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["digiknow-desk", "--db", str(tmp_path / "demo.db"), "demo-data", "--sessions", count])
    assert exited.value.code == 2
    assert f"argument --sessions: '{count}' is not a whole number of 1 or more" in capsys.readouterr().err
    assert not (tmp_path / "demo.db").exists()


def test_demo_data_sessions_need_residents_and_a_sensible_number(
    cli_db: Path | str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = Cli(cli_db, capsys)
    assert cli.refused(*_words("demo-data --residents 0 --sessions 10")) == (
        "error: Sessions are held with residents: ask for some residents too.\n"
    )
    assert cli.refused(*_words("demo-data --residents 5 --sessions 2000001")) == (
        "error: Ask for between 0 and 2,000,000 demo sessions.\n"
    )


# Skills checks and inclusion status


def test_skills_recorded_twice_show_the_baseline_and_the_progress(desk: Cli) -> None:
    baseline_day = _last_month(5)
    out = desk.ok(
        *_words(
            "skills record R-00002 --foundation with_help --communicating not_yet "
            "--handling-information not_yet --transacting not_yet --problem-solving not_yet "
            "--being-safe-legal with-help "
            f"--date {baseline_day} --note 'Nervous of scams'"
        )
    )
    assert out.splitlines() == [
        f"Recorded the skills check of R-00002 Imran Khan on {baseline_day.isoformat()} (their baseline):",
        "  Foundation skills:                 Can do with help",
        "  Communicating:                     Not yet",
        "  Handling information and content:  Not yet",
        "  Transacting:                       Not yet",
        "  Problem solving:                   Not yet",
        "  Being safe and legal online:       Can do with help",
        "  Own device:                        no",
        "  Own connection:                    no",
        "Inclusion status: Supported.",
    ]
    levels = _levels(handling_information="with_help", transacting="not_yet", problem_solving="with_help")
    out = desk.ok("skills", "record", "r2", *levels, "--own-device", "--own-connection")
    assert out.startswith(f"Recorded the skills check of R-00002 Imran Khan on {_today().isoformat()}:\n")
    assert out.endswith("Inclusion status: Independently included.\n")

    assert desk.ok("skills", "show", "R-00002").splitlines() == [
        "Skills checks of R-00002 Imran Khan, oldest first:",
        f"Area                              {baseline_day.isoformat()} (baseline)  {_today().isoformat()}",
        "Foundation skills                 Can do with help       Can do alone",
        "Communicating                     Not yet                Can do alone",
        "Handling information and content  Not yet                Can do with help",
        "Transacting                       Not yet                Not yet",
        "Problem solving                   Not yet                Can do with help",
        "Being safe and legal online       Can do with help       Can do alone",
        "Other areas done alone            0 of 5                 2 of 5",
        "Own device                        no                     yes",
        "Own connection                    no                     yes",
        "Checked by                        desk-tester            desk-tester",
        f"Note of {baseline_day.isoformat()}: Nervous of scams",
        "Inclusion status: Independently included.",
    ]
    progress = desk.record("skills", "show", "R-00002")
    baseline, latest = progress["checks"]  # type: ignore[misc]
    assert (progress["reference"], progress["inclusion_status"]) == ("R-00002", "independent")
    assert (baseline["checked_on"], baseline["baseline"], latest["baseline"]) == (
        baseline_day.isoformat(),
        True,
        False,
    )
    assert latest["levels"] == {
        "foundation": "alone",
        "communicating": "alone",
        "handling_information": "with_help",
        "transacting": "not_yet",
        "problem_solving": "with_help",
        "being_safe_legal": "alone",
    }
    assert (latest["areas_alone"], latest["own_device"], latest["own_connection"]) == (2, True, True)

    shown = desk.ok("residents", "show", "R-00002")
    assert "Inclusion status: Independently included\n" in shown
    assert (
        f"Skills check:     {_today()} (2 checks since {baseline_day}): Foundation can do alone, "
        "2 of 5 other areas alone; own device and connection\n"
    ) in shown
    assert "Skills check:     none yet\n" in desk.ok("residents", "show", "R-00003")
    record = desk.record("residents", "show", "R-00002")
    assert (record["inclusion_status"], record["inclusion_status_label"], record["skills_checks"]) == (
        "independent",
        "Independently included",
        2,
    )
    assert record["latest_skills_check"] == latest
    listed = desk.ok("residents", "list").splitlines()
    assert listed[0].split()[-2:] == ["Inclusion", "status"]
    assert listed[1].endswith("Independently included") and listed[2].endswith("Not yet supported")
    assert desk.ok("skills", "show", "R-00003") == (
        "R-00003 Jean Barlow has no skills check yet: record one with "
        "'digiknow-desk skills record R-00003 --foundation LEVEL ...'.\n"
    )


def test_a_skills_check_with_a_bad_level_or_reference_is_refused(desk: Cli) -> None:
    levels = _levels(transacting="great", problem_solving="sometimes")
    assert desk.refused("skills", "record", "R-00001", *levels) == (
        "error: --transacting 'great' is not a level: use alone, with_help or not_yet.\n"
        "error: --problem-solving 'sometimes' is not a level: use alone, with_help or not_yet.\n"
    )
    assert desk.refused("skills", "record", "R-404", *_levels()) == (
        "error: No resident has the reference R-00404. Search by name instead.\n"
    )
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    assert desk.refused("skills", "record", "R-00001", *_levels(), "--date", tomorrow) == (
        "error: The check cannot be in the future: check the date.\n"
    )
    assert desk.record("skills", "show", "R-00001")["checks"] == []
    assert _status(desk, "R-00001") == "not_yet_supported"


def test_the_inclusion_rule_set_by_a_coordinator_changes_statuses(desk: Cli) -> None:
    # R-00001: Foundation and two areas alone, own device and connection. R-00003: Foundation and one
    # area alone, with a tablet and a MiFi on loan.
    two_areas = _levels(transacting="not_yet", problem_solving="not_yet", being_safe_legal="with_help")
    desk.ok("skills", "record", "R-00001", *two_areas, "--own-device", "--own-connection")
    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00003")
    desk.ok("loans", "issue", "--device", "MIF-0001", "--resident", "R-00003")
    one_area = _levels(
        handling_information="with_help",
        transacting="not_yet",
        problem_solving="not_yet",
        being_safe_legal="not_yet",
    )
    desk.ok("skills", "record", "R-00003", *one_area)
    assert (_status(desk, "R-00001"), _status(desk, "R-00002"), _status(desk, "R-00003")) == (
        "independent",
        "not_yet_supported",
        "included",
    )

    shown = desk.ok("inclusion", "rule", "show").splitlines()
    assert (
        shown[0].startswith(RULE_START) and "at least 1 of the five other skill areas done alone" in shown[0]
    )
    assert shown[1:] == [
        "Foundation skills:       alone",
        "Other areas done alone:  at least 1 of 5",
        "Loans count as access:   yes",
    ]
    out = desk.ok("inclusion", "rule", "set", "--loans-do-not-count").splitlines()
    assert out[0] == "Saved the inclusion rule: 1 resident's status changed."
    assert "a device and an internet connection of their own" in out[1]
    assert out[-1] == "Loans count as access:   no"
    assert _status(desk, "R-00003") == "supported"

    out = desk.ok("inclusion", "rule", "set", "--areas-alone", "3", "--loans-count").splitlines()
    assert out[0] == "Saved the inclusion rule: 1 resident's status changed."  # R-00001 has only two areas
    assert (_status(desk, "R-00001"), _status(desk, "R-00003")) == ("supported", "supported")
    out = desk.ok("inclusion", "rule", "set", "--areas-alone", "1", "--foundation", "with_help").splitlines()
    assert out[0] == "Saved the inclusion rule: 2 residents' statuses changed."
    assert out[-3:] == [
        "Foundation skills:       at least with help",
        "Other areas done alone:  at least 1 of 5",
        "Loans count as access:   yes",
    ]

    counts = desk.record("inclusion", "counts")
    assert counts["counts"] == {"not_yet_supported": 1, "supported": 0, "included": 1, "independent": 1}
    assert counts["total"] == 3 and str(counts["rule"]).startswith(RULE_START)
    text = desk.ok("inclusion", "counts").splitlines()
    assert text[:6] == [
        "Inclusion status        Residents",
        "Not yet supported       1",
        "Supported               0",
        "Digitally included      1",
        "Independently included  1",
        "All residents           3",
    ]
    assert text[6].startswith(f"The rule: {RULE_START} done at least with help")
    assert desk.ok("inclusion", "recompute") == (
        "Worked out every resident's inclusion status again: no resident's status changed.\n"
    )

    assert desk.refused("inclusion", "rule", "set") == (
        "error: Say what to change: --foundation alone|with_help, --areas-alone N, --loans-count or "
        "--loans-do-not-count.\n"
    )
    assert desk.refused("inclusion", "rule", "set", "--areas-alone", "6") == (
        "error: Ask for between 0 and 5 areas done alone.\n"
    )
    assert desk.refused("inclusion", "rule", "set", "--areas-alone", "two") == (
        "error: --areas-alone needs a whole number, e.g. 14; 'two' is not one.\n"
    )


# What a loan achieved


def test_a_return_records_what_the_loan_achieved_and_the_access_after_it(desk: Cli) -> None:
    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00001")
    desk.ok("skills", "record", "R-00001", *_levels())
    assert _status(desk, "R-00001") == "supported"  # a tablet on loan, but no connection

    for partial in (["--own-device"], ["--reason-met", "yes"], ["--own-device", "--no-own-connection"]):
        assert desk.refused("loans", "return", "--device", "TAB-0001", *partial) == (
            "error: Say what the loan achieved with all three: --reason-met yes|partly|no, --own-device or "
            "--no-own-device, and --own-connection or --no-own-connection.\n"
        )
    assert [loan["device_tag"] for loan in desk.records("loans", "list")] == ["TAB-0001"]  # still on loan

    out = desk.ok(
        "loans",
        "return",
        "--device",
        "TAB-0001",
        "--reason-met",
        "partly",
        "--own-device",
        "--own-connection",
    )
    assert out == (
        "Returned TAB-0001 from R-00001 Margaret Holt.\n"
        "What it achieved: reason met partly; own device yes; own connection yes. "
        "Inclusion status of R-00001 Margaret Holt: Independently included.\n"
        "It now awaits a wipe: digiknow-desk devices wipe TAB-0001 --method METHOD --checked\n"
    )
    shown = desk.record("residents", "show", "R-00001")
    [loan] = shown["loans"]  # type: ignore[misc]
    assert loan["achieved"] == {"reason_met": "partly", "own_device": True, "own_connection": True}
    assert shown["inclusion_status"] == "independent"

    # 'No' answers are kept too: the resident is supported, not included, after the loan.
    desk.ok("devices", "wipe", "TAB-0001", "--method", "factory-reset", "--checked")
    desk.ok("loans", "issue", "--device", "TAB-0001", "--resident", "R-00002")
    desk.ok(
        "loans",
        "return",
        "--device",
        "TAB-0001",
        "--reason-met",
        "no",
        "--no-own-device",
        "--no-own-connection",
    )
    [loan] = desk.record("residents", "show", "R-00002")["loans"]  # type: ignore[misc]
    assert loan["achieved"] == {"reason_met": "no", "own_device": False, "own_connection": False}
    assert _status(desk, "R-00002") == "supported"
