"""The command line for admin and scripting work; it calls the same services as the GUI."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import re
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

from digiknow_desk import __version__
from digiknow_desk.app import (
    Services,
    build_services,
    computer_user,
    erase_again_after_restore,
    open_database,
)
from digiknow_desk.config import BACKUP_DIR_ENV, PASSPHRASE_ENV, Config, database_url, sqlite_file
from digiknow_desk.domain.champions import Champion, ChampionDraft, ChampionRules
from digiknow_desk.domain.devices import (
    KIT_SUGGESTIONS,
    AcquisitionSource,
    Condition,
    Device,
    DeviceDraft,
    DeviceFilter,
    DeviceStatus,
    DeviceType,
    normalise_tag,
)
from digiknow_desk.domain.errors import DomainError, NotFound, ValidationError
from digiknow_desk.domain.inclusion import InclusionRule
from digiknow_desk.domain.loans import (
    DataPlan,
    Loan,
    LoanAchieved,
    LoanOutcome,
    ReasonMet,
    WaitEntry,
    WaitStatus,
    WipeChecklist,
    WipeMethod,
)
from digiknow_desk.domain.postcodes import is_postcode_key, postcode_key
from digiknow_desk.domain.reports import month_so_far, shown
from digiknow_desk.domain.residents import (
    AgeBand,
    Answer,
    ConsentPurpose,
    ReferralReason,
    Resident,
    ResidentDraft,
    normalise_postcode,
    normalise_reference,
)
from digiknow_desk.domain.sessions import (
    ALL_TOPICS,
    AnonymousAttendee,
    HoursKind,
    Session,
    SessionAttendee,
    SessionDraft,
    SessionFilter,
    SessionKind,
    topic_from,
)
from digiknow_desk.domain.skills import LIFE_AREAS, SkillArea, SkillLevel, SkillsCheck, SkillsCheckDraft
from digiknow_desk.domain.staff import Permission, PermissionDenied, Role, StaffAccount, setup_staff
from digiknow_desk.domain.venues import Venue, VenueDraft, Ward
from digiknow_desk.services.audit import AuditFilter
from digiknow_desk.services.demo import (
    BULK_RESIDENTS,
    DEFAULT_DEVICES,
    DEFAULT_RESIDENTS,
    DEMO_ACCOUNTS,
    MAX_SESSIONS,
    DemoSummary,
)
from digiknow_desk.services.labels import LabelRequest
from digiknow_desk.services.residents import PossibleDuplicate
from digiknow_desk.services.sync import Conflict
from digiknow_desk.services.wards import estimated_excluded, read_populations_csv
from digiknow_desk.storage.checks import hold_database_lock
from digiknow_desk.storage.encryption import (
    PassphraseNeeded,
    change_passphrase,
    check_new_passphrase,
    decrypt_database,
    encrypt_database,
    is_encrypted,
)

CREATING_COMMANDS = {"init", "demo-data"}
PASSWORD_ENV = "DIGIKNOW_PASSWORD"
NEW_PASSPHRASE_ENV = "DIGIKNOW_NEW_PASSPHRASE"
NEW_PASSWORD_ENV = "DIGIKNOW_NEW_PASSWORD"
NOT_FOR_ROLE = "not shown to your role"
WIPE_CHECKS = (
    ("--accounts-signed-out", "every account is signed out"),
    ("--reset-done", "the factory reset or MDM wipe is done"),
    ("--apps-restored", "the preloaded apps are restored"),
    ("--charger-present", "the charger is with the device"),
)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date: use YYYY-MM-DD, e.g. 2025-09-01"
        ) from error


def _local_time(text: str) -> datetime:
    """'2025-09-01 14:30' typed at the desk: local time, made timezone-aware."""
    try:
        return datetime.fromisoformat(text.strip()).astimezone()
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date and time: use YYYY-MM-DD HH:MM (in quotes), e.g. '2025-09-01 14:30'"
        ) from error


def _month(text: str) -> date:
    """A month typed as YYYY-MM, as its first day."""
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise argparse.ArgumentTypeError(f"'{text}' is not a month: use YYYY-MM, e.g. 2026-03")
    return date(int(match[1]), int(match[2]), 1)


def _clock_time(text: str) -> time:
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time of day: use HH:MM, e.g. 14:30")
    return time(int(match[1]), int(match[2]))


def _positive(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 0 or more")
    return int(text)


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 1 or more, e.g. 5000")
    return int(text)


def _choices(enum: Any) -> list[str]:
    return [member.value for member in enum]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digiknow-desk",
        description="DigiKnow Desk: the device-lending library. With no command, the desktop app starts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--db",
        metavar="URL-or-path",
        help="the database: a SQLite file path or a database URL (default: $DIGIKNOW_DB, "
        "else a SQLite file in your user data folder)",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="act as this staff account (needed once the database has accounts); the password comes "
        f"from ${PASSWORD_ENV} or is asked for",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("init", help="create the database, or upgrade it to this version")

    demo = commands.add_parser("demo-data", help="fill the database with realistic, reproducible demo data")
    demo.add_argument(
        "--devices", type=_positive, default=DEFAULT_DEVICES, help="how many devices (default %(default)s)"
    )
    demo.add_argument(
        "--residents",
        type=_positive,
        default=DEFAULT_RESIDENTS,
        help="residents, with their loans, returns, wipes and waits over the months (default %(default)s; "
        f"above {BULK_RESIDENTS:,} a simpler history is written in bulk, with no waiting list)",
    )
    demo.add_argument("--months", type=_positive, default=24, help="months of history (default %(default)s)")
    demo.add_argument(
        "--sessions",
        type=_at_least_one,
        metavar="N",
        help=f"exactly N support sessions (up to {MAX_SESSIONS:,}, with some residents), the history then "
        "written in bulk as for the benchmarks (default: as many as the residents' history brings)",
    )
    demo.add_argument(
        "--seed", type=int, default=1, help="the same seed gives the same data (default %(default)s)"
    )

    devices = commands.add_parser("devices", help="list, add and show devices").add_subparsers(
        dest="devices_command", metavar="ACTION", required=True
    )
    listing = devices.add_parser("list", help="list devices")
    listing.add_argument("--status", choices=_choices(DeviceStatus))
    listing.add_argument("--type", choices=_choices(DeviceType))
    listing.add_argument("--search", default="", help="words to find in tag, serial, make or model")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    add = devices.add_parser("add", help="add a device")
    add.add_argument("--type", required=True, choices=_choices(DeviceType))
    add.add_argument("--tag", help="the asset tag (default: the next free one for the type, e.g. TAB-0043)")
    add.add_argument("--make", default="")
    add.add_argument("--model", default="")
    add.add_argument("--serial", default="", help="serial number or IMEI")
    add.add_argument("--os", default="")
    add.add_argument("--condition", choices=_choices(Condition), default=Condition.GOOD.value)
    add.add_argument("--venue", help="the home venue's name")
    add.add_argument("--source", choices=_choices(AcquisitionSource), default=AcquisitionSource.BOUGHT.value)
    add.add_argument("--acquired", type=_iso_date, help="date acquired, YYYY-MM-DD")
    add.add_argument("--notes", default="")
    add.add_argument(
        "--kit", nargs="*", help="accessories that go out with it (default: the usual for the type)"
    )
    add.add_argument("--json", action="store_true")

    show = devices.add_parser("show", help="show one device and its history")
    show.add_argument("tag")
    show.add_argument("--json", action="store_true")

    status = devices.add_parser("status", help="change a device's status, saying why")
    status.add_argument("tag")
    status.add_argument("status", choices=_choices(DeviceStatus))
    status.add_argument("--reason", required=True)

    wipe = devices.add_parser("wipe", help="record the wipe of a returned device, so it can be lent again")
    wipe.add_argument("tag")
    wipe.add_argument("--method", required=True, choices=_choices(WipeMethod))
    wipe.add_argument(
        "--checked",
        action="store_true",
        help="every check is done: accounts signed out, reset done, apps restored, charger present",
    )
    for flag, what in WIPE_CHECKS:
        wipe.add_argument(flag, action="store_true", help=f"confirm: {what}")
    wipe.add_argument("--notes", default="")

    _add_lending_commands(commands)

    venues = commands.add_parser("venues", help="list and add venues").add_subparsers(
        dest="venues_command", metavar="ACTION", required=True
    )
    venues.add_parser("list", help="list venues")
    venue_add = venues.add_parser("add", help="add a venue")
    venue_add.add_argument("name")
    venue_add.add_argument("--ward", required=True, help="the ward's name or ONS code, e.g. 'Reddish North'")

    _add_ward_commands(commands)
    _add_rules_commands(commands)
    _add_support_commands(commands)
    _add_report_commands(commands)

    labels = commands.add_parser("labels", help="print QR labels to a PDF")
    labels.add_argument("--out", type=Path, help="the PDF to write")
    labels.add_argument("--stock", default=None, help="label stock, e.g. L7160, L7163, roll-62mm")
    labels.add_argument("--tags", nargs="+", default=[], metavar="TAG", help="only these devices")
    labels.add_argument("--status", choices=_choices(DeviceStatus), help="only devices with this status")
    labels.add_argument("--all", action="store_true", help="every device that is not retired (the default)")
    labels.add_argument(
        "--blank", type=_positive, default=0, metavar="N", help="N labels with new, unassigned tags"
    )
    labels.add_argument(
        "--calibration", action="store_true", help="print the stock's outlines to check alignment"
    )
    labels.add_argument("--list-stocks", action="store_true", help="list the label stocks and stop")

    export = commands.add_parser("export", help="export data to CSV").add_subparsers(
        dest="export_what", metavar="WHAT", required=True
    )
    export.add_parser("devices", help="every device").add_argument("--out", type=Path, required=True)

    importing = commands.add_parser("import", help="import data from CSV").add_subparsers(
        dest="import_what", metavar="WHAT", required=True
    )
    import_devices = importing.add_parser(
        "devices", help="devices from our export or Snipe-IT's asset export"
    )
    import_devices.add_argument("file", type=Path)
    import_devices.add_argument(
        "--dry-run", action="store_true", help="check the file and say what would happen"
    )
    import_devices.add_argument(
        "--good-rows", action="store_true", help="import the good rows even if others fail"
    )
    _add_trust_commands(commands)
    _add_sync_commands(commands)
    return parser


def _add_trust_commands(commands: Any) -> None:
    """Staff accounts and the audit trail."""
    users = commands.add_parser("users", help="staff accounts (administrators)").add_subparsers(
        dest="users_command", metavar="ACTION", required=True
    )
    add = users.add_parser(
        "add", help=f"add a staff account; its password comes from ${NEW_PASSWORD_ENV} or is asked for twice"
    )
    add.add_argument("username", help="what they sign in with, e.g. sam.jones")
    add.add_argument("--name", required=True, help="their name as records show it, e.g. 'Sam Jones'")
    add.add_argument("--role", required=True, choices=_choices(Role))
    add.add_argument("--champion", metavar="NAME", help="for a champion's account: the Digital Champion")
    users.add_parser("list", help="every account, its role and when it last signed in").add_argument(
        "--json", action="store_true"
    )
    for action, text in (("disable", "stop an account signing in"), ("enable", "let it sign in again")):
        users.add_parser(action, help=text).add_argument("username")
    role = users.add_parser("role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=_choices(Role))
    users.add_parser(
        "reset-password", help=f"give an account a new password (from ${NEW_PASSWORD_ENV} or asked for)"
    ).add_argument("username")

    audit = commands.add_parser("audit", help="the audit trail: who changed what, when").add_subparsers(
        dest="audit_command", metavar="ACTION", required=True
    )
    listing = audit.add_parser("list", help="entries, newest first")
    export = audit.add_parser("export", help="entries, oldest first, to a CSV file")
    export.add_argument("--out", type=Path, required=True)
    for parser in (listing, export):
        parser.add_argument("--by", metavar="USERNAME", default="", help="only this account's changes")
        parser.add_argument("--action", default="", help="only these actions, e.g. loan or loan.issued")
        parser.add_argument("--subject", default="", help="only about this tag, reference or account")
        parser.add_argument("--from", dest="from_day", type=_iso_date, help="from this day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="to_day", type=_iso_date, help="to this day, inclusive")
    listing.add_argument("--limit", type=_at_least_one, default=50, help="at most this many (default 50)")
    listing.add_argument("--json", action="store_true")

    retention = commands.add_parser(
        "retention", help="how long residents' personal data is kept after their last activity"
    ).add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    retention.add_parser("show", help="the period, and how many residents are due now")
    retention.add_parser("set", help="change the period").add_argument("months", type=_at_least_one)
    retention.add_parser("run", help="anonymise the residents whose period has passed (no open loan or wait)")

    backup = commands.add_parser(
        "backup", help="copy the database, safely while it is in use, to a file or a backups folder"
    )
    backup.add_argument(
        "--out",
        type=Path,
        metavar="FILE-or-FOLDER",
        help="a new file, or a folder where backups are named by time and rotated "
        f"(default: ${BACKUP_DIR_ENV}, else 'backups' in your user data folder)",
    )
    restore = commands.add_parser(
        "restore", help="check a backup and put it in place of the database, keeping the database as it was"
    )
    restore.add_argument("file", type=Path)

    encryption = commands.add_parser(
        "encryption", help="encrypt the database file on this PC with a passphrase (SQLCipher)"
    ).add_subparsers(dest="encryption_command", metavar="ACTION", required=True)
    encryption.add_parser("status", help="whether the database file is encrypted")
    encryption.add_parser(
        "on", help=f"encrypt it (the new passphrase from ${NEW_PASSPHRASE_ENV} or asked for)"
    )
    encryption.add_parser("change", help="give it a new passphrase")
    encryption.add_parser("off", help="store it unencrypted again")


def _add_sync_commands(commands: Any) -> None:
    """Venue copies on laptops, syncing them with the server, and the conflicts kept on the server."""
    venue = commands.add_parser(
        "venue", help="a venue copy: a laptop's own database that works offline and syncs with the server"
    ).add_subparsers(dest="venue_command", metavar="ACTION", required=True)
    setup = venue.add_parser(
        "setup",
        help="make a venue copy at --db (a new file) from the server; --user signs in on the server",
    )
    setup.add_argument(
        "--server", required=True, metavar="URL", help="the server, e.g. postgresql://host/digiknow"
    )
    setup.add_argument("--venue", required=True, metavar="NAME", help="the venue this laptop works at")

    sync = commands.add_parser(
        "sync", help="send this venue copy's changes to the server and receive the rest"
    )
    sync.add_argument(
        "--server", metavar="URL", help="the server (default: the one the copy was set up from)"
    )

    conflicts = commands.add_parser(
        "conflicts", help="on the server: venues' changes kept aside because the server's rows had changed"
    ).add_subparsers(dest="conflicts_command", metavar="ACTION", required=True)
    listing = conflicts.add_parser("list", help="the conflicts still to resolve")
    listing.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--json", action="store_true")
    resolve = conflicts.add_parser("resolve", help="keep the server's version, or use the venue's")
    resolve.add_argument("id", help="the conflict's id (its first 8 characters are enough)")
    resolve.add_argument("--keep", required=True, choices=["server", "venue"])


def _add_ward_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Stockport's 21 wards, and the postcode-to-ward table that suggests a resident's ward."""
    wards = commands.add_parser(
        "wards", help="Stockport's wards and the postcode-to-ward table"
    ).add_subparsers(dest="wards_command", metavar="ACTION", required=True)
    wards.add_parser("list", help="the 21 wards with their ONS codes and populations").add_argument(
        "--json", action="store_true"
    )
    population = wards.add_parser("population", help="give one ward a new population estimate")
    population.add_argument("ward", metavar="CODE", help="the ward's ONS code (or its name)")
    population.add_argument("population", metavar="N", type=int, help="its residents, e.g. 13020")
    population.add_argument("--source", required=True, help="where the figure comes from; reports cite it")
    populations = wards.add_parser(
        "populations", help="new population estimates from a CSV with the columns ward_code,population"
    )
    populations.add_argument("file", type=Path)
    populations.add_argument("--source", required=True, help="where the figures come from; reports cite it")
    wards.add_parser(
        "excluded-rate", help="show or set the percentage of residents estimated to be digitally excluded"
    ).add_argument("percent", metavar="PERCENT", type=float, nargs="?", help="a new percentage, e.g. 13.5")
    postcodes = wards.add_parser(
        "postcodes", help="import, look up or clear the postcode-to-ward table"
    ).add_subparsers(dest="postcodes_command", metavar="ACTION", required=True)
    load = postcodes.add_parser(
        "import",
        help="import ONS's postcode lookup (NSPL or ONSPD CSV) or a 'postcode,ward' CSV, keeping the "
        "postcodes in Stockport's wards; it replaces the table",
    )
    load.add_argument("file", type=Path)
    load.add_argument(
        "--add", action="store_true", help="add to the table instead of replacing it (the file wins)"
    )
    postcodes.add_parser("count", help="how many postcodes the table holds")
    postcodes.add_parser("clear", help="empty the table")
    postcodes.add_parser("lookup", help="the ward the table gives a postcode").add_argument("postcode")


def _add_report_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report", help="the monthly report against the 100%%-digitally-included measure"
    )
    kinds = report.add_subparsers(dest="report", metavar="REPORT", required=True)
    monthly = kinds.add_parser(
        "monthly", help="a month's report for the partnership board and funders, as a PDF (and CSV or JSON)"
    )
    monthly.add_argument("--month", type=_month, help="the report's month, YYYY-MM (default: last month)")
    monthly.add_argument("--out", type=Path, required=True, metavar="FILE.pdf", help="the PDF to write")
    monthly.add_argument(
        "--csv",
        type=Path,
        metavar="FILE.csv",
        help="also write every figure as CSV (safe to open in a spreadsheet)",
    )
    monthly.add_argument(
        "--json",
        action="store_true",
        help="print every headline and table figure as JSON instead of a summary",
    )


def _add_rules_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The coordinator's lending rules: loan periods, renewals, offers and SIM warnings."""
    rules = commands.add_parser("rules", help="show or change the lending rules").add_subparsers(
        dest="rules_command", metavar="ACTION", required=True
    )
    rules.add_parser("show", help="the loan periods, renewals, offer days and SIM warning").add_argument(
        "--json", action="store_true"
    )
    change = rules.add_parser("set", help="change some of the rules; the others stay as they are")
    change.add_argument(
        "--loan-days",
        nargs="+",
        action="extend",
        default=[],
        metavar="TYPE=DAYS",
        help="a device type's loan period, e.g. tablet=28 data_sim=90; types: "
        + ", ".join(_choices(DeviceType)),
    )
    change.add_argument("--renewals", metavar="N", help="how many times a loan can be renewed")
    change.add_argument("--offer-days", metavar="N", help="how many days a device is held for an offer")
    change.add_argument(
        "--sim-warning-days", metavar="N", help="how many days before a SIM's data runs out to warn"
    )


def _add_support_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Digital Champions, their sessions and hours, skills checks and the inclusion rule."""
    champions = commands.add_parser(
        "champions", help="Digital Champions: add, edit, list, and training and DBS warnings"
    ).add_subparsers(dest="champions_command", metavar="ACTION", required=True)
    listing = champions.add_parser("list", help="active champions, with their venues and when checks are due")
    listing.add_argument("--all", action="store_true", help="include champions who are no longer active")
    listing.add_argument("--json", action="store_true")
    add = champions.add_parser("add", help="register a champion")
    add.add_argument("--name", required=True)
    add.add_argument("--phone", default="")
    add.add_argument("--email", default="")
    add.add_argument(
        "--venue", nargs="+", action="extend", default=[], metavar="NAME", help="the venues they help at"
    )
    add.add_argument(
        "--trained-on", type=_iso_date, metavar="DATE", help="when they were trained, YYYY-MM-DD"
    )
    add.add_argument(
        "--dbs-checked-on", type=_iso_date, metavar="DATE", help="the date of their DBS check, YYYY-MM-DD"
    )
    add.add_argument("--inactive", dest="active", action="store_false", help="register them as not active")
    edit = champions.add_parser("edit", help="change a champion; the options not given keep their value")
    edit.add_argument("champion", metavar="NAME", help="the champion's name as registered")
    edit.add_argument("--name", help="their new name")
    edit.add_argument("--phone")
    edit.add_argument("--email")
    edit.add_argument(
        "--venue",
        nargs="*",
        action="extend",
        metavar="NAME",
        help="the venues they help at, instead of those recorded (none: no venue)",
    )
    edit.add_argument(
        "--trained-on", type=_iso_date, metavar="DATE", help="when they were trained, YYYY-MM-DD"
    )
    edit.add_argument(
        "--dbs-checked-on", type=_iso_date, metavar="DATE", help="the date of their DBS check, YYYY-MM-DD"
    )
    active = edit.add_mutually_exclusive_group()
    active.add_argument("--active", dest="active", action="store_const", const=True, help="active again")
    active.add_argument("--inactive", dest="active", action="store_const", const=False, help="stood down")
    champions.add_parser(
        "warnings", help="active champions whose training or DBS check has lapsed, lapses soon or is missing"
    )
    rules = champions.add_parser(
        "rules", help="how long training and DBS checks last, and how early to warn"
    ).add_subparsers(dest="champion_rules_command", metavar="ACTION", required=True)
    rules.add_parser("show", help="the months each lasts and the days of warning").add_argument(
        "--json", action="store_true"
    )
    change = rules.add_parser("set", help="change some of them; the others stay as they are")
    change.add_argument("--training-months", metavar="N", help="how many months training lasts")
    change.add_argument("--dbs-months", metavar="N", help="how many months a DBS check lasts")
    change.add_argument("--warn-days", metavar="N", help="how many days before either lapses to warn")

    hours = commands.add_parser(
        "hours", help="champions' volunteer hours: sessions and other work"
    ).add_subparsers(dest="hours_command", metavar="ACTION", required=True)
    worked = hours.add_parser("add", help="record volunteer time outside sessions")
    worked.add_argument("--champion", required=True, metavar="NAME")
    worked.add_argument("--date", type=_iso_date, metavar="DATE", help="the day worked (default today)")
    worked.add_argument("--minutes", type=_positive, required=True, metavar="N")
    worked.add_argument("--kind", required=True, choices=_choices(HoursKind))
    worked.add_argument("--note", default="", metavar="TEXT")
    monthly = hours.add_parser("list", help="each champion's sessions and hours in a month")
    monthly.add_argument("--month", type=_month, metavar="YYYY-MM", help="the month (default this month)")
    monthly.add_argument("--json", action="store_true")

    _add_session_commands(commands)

    skills = commands.add_parser(
        "skills", help="skills checks against the Essential Digital Skills framework"
    ).add_subparsers(dest="skills_command", metavar="ACTION", required=True)
    record = skills.add_parser(
        "record", help="record a resident's skills check (their first is the baseline)"
    )
    record.add_argument("reference", metavar="REF")
    for area in SkillArea:
        record.add_argument(
            _area_flag(area),
            required=True,
            metavar="LEVEL",
            help=f"{area.label}: {', '.join(_choices(SkillLevel))}",
        )
    record.add_argument("--date", type=_iso_date, metavar="DATE", help="the day of the check (default today)")
    record.add_argument("--own-device", action="store_true", help="they have a device of their own")
    record.add_argument(
        "--own-connection", action="store_true", help="they have an internet connection of their own"
    )
    record.add_argument("--note", default="", metavar="TEXT")
    progress = skills.add_parser("show", help="a resident's skills checks side by side, oldest first")
    progress.add_argument("reference", metavar="REF")
    progress.add_argument("--json", action="store_true")

    inclusion = commands.add_parser(
        "inclusion", help="the rule that derives each resident's inclusion status, and the counts"
    ).add_subparsers(dest="inclusion_command", metavar="ACTION", required=True)
    rule = inclusion.add_parser("rule", help="show or change the inclusion rule").add_subparsers(
        dest="inclusion_rule_command", metavar="ACTION", required=True
    )
    rule.add_parser("show", help="the rule in words, and its settings")
    tune = rule.add_parser(
        "set", help="change the rule (the other settings stay); every resident's status is worked out again"
    )
    tune.add_argument(
        "--foundation",
        choices=[SkillLevel.ALONE.value, SkillLevel.WITH_HELP.value],
        help="the least Foundation level that counts",
    )
    tune.add_argument(
        "--areas-alone", metavar="N", help="how many of the five other areas must be done alone"
    )
    loans_count = tune.add_mutually_exclusive_group()
    loans_count.add_argument(
        "--loans-count",
        dest="loans_count",
        action="store_const",
        const=True,
        help="a device or connection on loan counts as access",
    )
    loans_count.add_argument(
        "--loans-do-not-count",
        dest="loans_count",
        action="store_const",
        const=False,
        help="only a device and connection of their own count",
    )
    inclusion.add_parser("recompute", help="work out every resident's status again")
    inclusion.add_parser("counts", help="how many residents have each status, with the rule").add_argument(
        "--json", action="store_true"
    )


def _add_session_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Support sessions: log one (or a group class) in one go, list, show, delete, follow-ups and
    marking one done."""
    sessions = commands.add_parser(
        "sessions", help="support sessions: log, list, show, delete and follow-ups"
    ).add_subparsers(dest="sessions_command", metavar="ACTION", required=True)
    log = sessions.add_parser("log", help="log a session that has happened, with everyone it helped")
    log.add_argument(
        "--champion",
        required=True,
        nargs="+",
        action="extend",
        metavar="NAME",
        help="the champion who gave it (repeat for each champion)",
    )
    log.add_argument("--date", type=_iso_date, metavar="DATE", help="the day it was held (default today)")
    log.add_argument(
        "--start",
        type=_clock_time,
        metavar="HH:MM",
        help="when it started (default now, rounded down to the quarter hour)",
    )
    log.add_argument("--minutes", type=_positive, default=60, metavar="N", help="how long (default 60)")
    log.add_argument("--kind", required=True, choices=_choices(SessionKind))
    log.add_argument("--venue", metavar="NAME", help="where it was held (not needed for phone or video)")
    log.add_argument(
        "--resident",
        nargs="+",
        action="extend",
        default=[],
        metavar="REF",
        help="a registered resident who attended, by reference (repeat or list several)",
    )
    log.add_argument(
        "--anonymous",
        nargs="+",
        action="extend",
        default=[],
        metavar="AGEBAND[:WARD]",
        help="an attendee who is not registered, by age band and optionally ward (ONS code or name), "
        f"e.g. 75_plus:E05000787; age bands: {', '.join(_choices(AgeBand))}",
    )
    log.add_argument(
        "--topic",
        nargs="+",
        action="extend",
        default=[],
        choices=[topic.value for topic in ALL_TOPICS],
        metavar="TOPIC",
        help="what it covered (repeat or list several): " + ", ".join(topic.value for topic in ALL_TOPICS),
    )
    log.add_argument(
        "--loan-device",
        metavar="TAG",
        help="the device whose loan it was about: the open (or latest) loan of it to an attending resident",
    )
    log.add_argument("--outcome", default="", metavar="TEXT", help="what was achieved")
    log.add_argument(
        "--follow-up-on", type=_iso_date, metavar="DATE", help="when to follow up (needs --follow-up)"
    )
    log.add_argument("--follow-up", default="", metavar="TEXT", help="what the follow-up is for")

    listing = sessions.add_parser("list", help="sessions, newest first")
    listing.add_argument("--month", type=_month, metavar="YYYY-MM", help="only this month's")
    listing.add_argument("--champion", metavar="NAME", help="only this champion's")
    listing.add_argument("--venue", metavar="NAME", help="only those at this venue")
    listing.add_argument("--resident", metavar="REF", help="only those this resident attended")
    listing.add_argument("--json", action="store_true")
    show = sessions.add_parser("show", help="one session in full")
    show.add_argument("id", metavar="ID", help="the session's ID, as 'sessions list' shows it")
    show.add_argument("--json", action="store_true")
    sessions.add_parser("delete", help="remove a session logged by mistake").add_argument(
        "id", metavar="ID", help="the session's ID, as 'sessions list' shows it"
    )
    sessions.add_parser(
        "follow-ups", help="follow-ups due soon or already passed, soonest first"
    ).add_argument(
        "--days", type=_positive, default=7, metavar="N", help="due within N days (default %(default)s)"
    )
    done = sessions.add_parser(
        "follow-up-done", help="mark a session's follow-up done, so it leaves the follow-ups due"
    )
    done.add_argument("id", metavar="SESSION_ID", help="the session's ID, as 'sessions follow-ups' shows it")
    done.add_argument(
        "--on", type=_iso_date, metavar="YYYY-MM-DD", help="the day it was done (default today)"
    )


# The optional, sensitive questions `residents add` can record: (flag, what it asks).
SENSITIVE_FLAGS = (
    ("--disability", "disability"),
    ("--on-benefits", "on benefits"),
    ("--not-in-work-or-education", "not in work, education or training (ages under 25 only)"),
    ("--care-leaver", "care leaver"),
)


def _add_lending_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The lending desk's commands: residents, loans, the waiting list and data SIMs."""
    residents = commands.add_parser("residents", help="register, find and show residents").add_subparsers(
        dest="residents_command", metavar="ACTION", required=True
    )
    add = residents.add_parser("add", help="register a resident (gives them a reference, e.g. R-00042)")
    add.add_argument("--name", required=True)
    add.add_argument("--postcode", default="")
    add.add_argument("--ward", help="the ward's name or ONS code, e.g. 'Reddish North' or E05000797")
    add.add_argument("--phone", default="")
    add.add_argument("--email", default="")
    add.add_argument("--address", default="")
    add.add_argument("--age-band", choices=_choices(AgeBand), default=AgeBand.NOT_SAID.value)
    add.add_argument("--language", default="English", help="preferred language (default %(default)s)")
    add.add_argument("--large-print", action="store_true", help="needs large print")
    add.add_argument("--interpreter", action="store_true", help="needs an interpreter")
    add.add_argument("--needs", default="", help="accessibility needs, in a few words")
    add.add_argument("--referred-by", default="", metavar="ORG", help="the referring partner organisation")
    add.add_argument("--reason", choices=_choices(ReferralReason), default=ReferralReason.OTHER.value)
    for flag, question in SENSITIVE_FLAGS:
        add.add_argument(
            flag,
            choices=_choices(Answer),
            help=f"optional and sensitive, only if the resident wishes: {question} (default: not asked)",
        )
    add.add_argument(
        "--consent",
        nargs="+",
        choices=_choices(ConsentPurpose),
        default=[ConsentPurpose.LENDING.value],
        metavar="PURPOSE",
        help="what the resident agrees to, today: lending, contact, support, follow_up (default lending)",
    )
    add.add_argument(
        "--not-a-duplicate",
        action="store_true",
        help="add them even though someone with the same name and postcode or phone is registered",
    )
    add.add_argument("--json", action="store_true")
    listing = residents.add_parser("list", help="list residents, by name")
    listing.add_argument(
        "--search", default="", help="words in the name, reference, phone, postcode or email"
    )
    listing.add_argument("--json", action="store_true")
    show = residents.add_parser("show", help="one resident, their loans and what they are waiting for")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true")
    export_data = residents.add_parser(
        "export-data", help="subject access: everything held about a resident, as a PDF and a JSON file"
    )
    export_data.add_argument("reference")
    export_data.add_argument("--out", type=Path, required=True, metavar="FOLDER")
    erase = residents.add_parser(
        "erase", help="erase a resident on request: their personal data goes, the anonymous counts stay"
    )
    erase.add_argument("reference")
    erase.add_argument(
        "--reason", required=True, help="why, e.g. 'Erasure request by email, 3 March' (never their name)"
    )

    loans = commands.add_parser("loans", help="issue, return, renew; overdue and open loans").add_subparsers(
        dest="loans_command", metavar="ACTION", required=True
    )
    issue = loans.add_parser("issue", help="lend a device to a resident")
    issue.add_argument("--device", required=True, metavar="TAG")
    issue.add_argument("--resident", required=True, metavar="REF")
    issue.add_argument("--due", type=_iso_date, help="the due date (default: the loan period for the type)")
    issue.add_argument(
        "--kit", nargs="*", metavar="ITEM", help="the kit that goes out (default: all of the device's kit)"
    )
    _add_backdating(issue, "issued")
    back = loans.add_parser("return", help="take a device back; it then awaits a wipe")
    back.add_argument("--device", required=True, metavar="TAG")
    back.add_argument("--condition", choices=_choices(Condition))
    back.add_argument(
        "--kit-back", nargs="*", metavar="ITEM", help="the kit that came back (default: all that went out)"
    )
    back.add_argument("--fault", default="", help="what is wrong with it, if anything")
    back.add_argument(
        "--reason-met",
        choices=_choices(ReasonMet),
        help="whether the loan did what it was for; give it with --own-device or --no-own-device and "
        "--own-connection or --no-own-connection",
    )
    back.add_argument(
        "--own-device",
        action=argparse.BooleanOptionalAction,
        help="whether the resident now has a device of their own (with --reason-met)",
    )
    back.add_argument(
        "--own-connection",
        action=argparse.BooleanOptionalAction,
        help="whether the resident now has an internet connection of their own (with --reason-met)",
    )
    _add_backdating(back, "returned")
    renew = loans.add_parser("renew", help="extend a loan by its loan period")
    renew.add_argument("--device", required=True, metavar="TAG")
    lost = loans.add_parser("lost", help="close a loan as lost or stolen")
    lost.add_argument("--device", required=True, metavar="TAG")
    lost.add_argument("--outcome", required=True, choices=[LoanOutcome.LOST.value, LoanOutcome.STOLEN.value])
    lost.add_argument("--reason", required=True, help="what happened, e.g. a crime reference")
    overdue = loans.add_parser("overdue", help="open loans past their due date, with how to contact")
    overdue.add_argument("--json", action="store_true")
    open_loans = loans.add_parser("list", help="open loans, soonest due first")
    open_loans.add_argument(
        "--due-within", type=_positive, metavar="DAYS", help="only those due within DAYS days (or overdue)"
    )
    open_loans.add_argument("--json", action="store_true")

    waitlist = commands.add_parser(
        "waitlist", help="the waiting list for each device type and its offers"
    ).add_subparsers(dest="waitlist_command", metavar="ACTION", required=True)
    join = waitlist.add_parser("join", help="put a resident on the waiting list for a type")
    join.add_argument("reference")
    join.add_argument("--type", required=True, choices=_choices(DeviceType))
    wait_list = waitlist.add_parser("list", help="who is waiting, in order, and who holds an offer")
    wait_list.add_argument("--type", choices=_choices(DeviceType))
    wait_list.add_argument("--json", action="store_true")
    move = waitlist.add_parser("move", help="change a resident's place, saying why")
    move.add_argument("reference")
    move.add_argument("--type", required=True, choices=_choices(DeviceType))
    move.add_argument("--to", required=True, type=_place, metavar="N", help="the new place; 1 is next")
    move.add_argument("--reason", required=True)
    withdraw = waitlist.add_parser("withdraw", help="take a resident off the waiting list")
    withdraw.add_argument("reference")
    withdraw.add_argument("--type", required=True, choices=_choices(DeviceType))
    withdraw.add_argument("--reason", default="")
    waitlist.add_parser("expire", help="pass on the offers not collected in time")

    documents = commands.add_parser(
        "print", help="loan agreements, wipe certificates and resident cards as PDF"
    ).add_subparsers(dest="document", metavar="DOCUMENT", required=True)
    agreement = documents.add_parser("agreement", help="the agreement and due-date slip of a lent device")
    agreement.add_argument("--device", required=True, metavar="TAG")
    certificate = documents.add_parser("certificate", help="the wipe certificate of a device's last wipe")
    certificate.add_argument("--device", required=True, metavar="TAG")
    card = documents.add_parser("card", help="a resident's card with the QR code of their reference")
    card.add_argument("reference", metavar="REF")
    for parser_ in (agreement, certificate, card):
        parser_.add_argument("--out", type=Path, required=True, help="the PDF to write")

    sims = commands.add_parser("sims", help="data plans for SIMs, MiFis and phones").add_subparsers(
        dest="sims_command", metavar="ACTION", required=True
    )
    plan = sims.add_parser("set", help="record a device's data plan")
    plan.add_argument("tag")
    plan.add_argument("--network", required=True, help="e.g. Vodafone, O2, Three, EE")
    plan.add_argument("--source", required=True, help="e.g. National Databank")
    plan.add_argument("--allowance", required=True, help="e.g. '20 GB a month for 6 months'")
    plan.add_argument("--activated", type=_iso_date, help="YYYY-MM-DD")
    plan.add_argument("--expires", type=_iso_date, help="YYYY-MM-DD")
    expiring = sims.add_parser("expiring", help="SIMs on loan whose data runs out soon")
    expiring.add_argument("--json", action="store_true")


def _add_backdating(parser: argparse.ArgumentParser, done: str) -> None:
    parser.add_argument(
        "--at",
        type=_local_time,
        metavar='"YYYY-MM-DD HH:MM"',
        help=f"when it was really {done}, if that was earlier (local time; needs --late-reason)",
    )
    parser.add_argument("--late-reason", default="", help="why it is recorded late")


def _place(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a place in the list: use 1 for next, 2, 3, ...")
    return int(text)


def parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def execute(
    args: argparse.Namespace, config: Config, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the parsed command, printing to `out` (stdout); a refusal goes to `err` (stderr), exit code 1."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if args.command == "encryption":
            return _encryption(args, config, out)
        if args.command == "venue":
            return _venue_setup(args, config, out)
        config = _with_passphrase(config)
        database = open_database(config, create=args.command in CREATING_COMMANDS)
        try:
            services = build_services(database, staff=None)
            _sign_in(args, services)
            return _HANDLERS[args.command](args, services, config, out)
        finally:
            database.dispose()
    except ValidationError as error:
        for problem in error.problems.values():
            print(f"error: {problem}", file=err)
        return 1
    except DomainError as error:
        print(f"error: {error}", file=err)
        return 1


def _with_passphrase(config: Config) -> Config:
    """The config with the passphrase of an encrypted database file, asked for when not in the environment."""
    path = sqlite_file(config.db_url)
    if config.passphrase is not None or path is None or not is_encrypted(path):
        return config
    if not sys.stdin.isatty():
        raise PassphraseNeeded(f"The database {path} is encrypted: set ${PASSPHRASE_ENV} to its passphrase.")
    return dataclasses.replace(config, passphrase=getpass.getpass(f"Passphrase for {path.name}: "))


def _new_passphrase() -> str:
    first = os.environ.get(NEW_PASSPHRASE_ENV)
    if first is None:
        first = getpass.getpass("New passphrase: ")
        if getpass.getpass("The same again: ") != first:
            raise DomainError("The two passphrases are not the same. Nothing was changed; try again.")
    check_new_passphrase(first)
    return first


def _encryption(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    """Encryption works on the file itself, with DigiKnow Desk closed everywhere else; once the database
    has accounts, only an administrator may turn it on, change it or turn it off."""
    path = sqlite_file(config.db_url)
    if path is None:
        raise DomainError("Only a database file on this PC can be encrypted; a server protects its own data.")
    if not path.exists():
        raise DomainError(f"There is no database at {path}. Check --db.")
    command = args.encryption_command
    if command == "status":
        print(f"{path} is {'encrypted' if is_encrypted(path) else 'not encrypted'}.", file=out)
        return 0
    current = None
    if command != "on":
        current = config.passphrase or getpass.getpass("Current passphrase: ")
    _check_may_encrypt(args, dataclasses.replace(config, passphrase=current))
    with hold_database_lock(path):
        if command == "on":
            encrypt_database(path, _new_passphrase())
            print(f"{path} is now encrypted.", file=out)
            print(
                "Keep the passphrase safe: without it nobody can read the data, us included. "
                "Backups made before now are not encrypted: delete them once a new backup is made.",
                file=out,
            )
        elif command == "change":
            assert current is not None
            change_passphrase(path, current, _new_passphrase())
            print(f"{path} has its new passphrase.", file=out)
        else:
            assert current is not None
            decrypt_database(path, current)
            print(f"{path} is no longer encrypted.", file=out)
    return 0


def _check_may_encrypt(args: argparse.Namespace, config: Config) -> None:
    """Open the database (which also checks the passphrase) and refuse unless the one acting may."""
    database = open_database(config, create=False)
    try:
        services = build_services(database, staff=None)
        _sign_in(args, services)
        staff = services.desk.staff
        assert staff is not None, "_sign_in signs someone in or refuses"
        if not staff.may(Permission.BACKUP):
            raise PermissionDenied(staff, Permission.BACKUP)
    finally:
        database.dispose()


def _sign_in(args: argparse.Namespace, services: Services) -> None:
    """Act as --user once the database has accounts; before the first one, as the computer's user."""
    if not services.accounts.has_accounts():
        if args.user:
            raise DomainError(
                "This database has no staff accounts yet, so --user is not needed. Create the first "
                "administrator with 'users add NAME --role administrator --name \"Full Name\"'."
            )
        services.desk.staff = setup_staff(computer_user())
        return
    if args.command == "init":
        return  # upgrading the schema changes no one's data
    if not args.user:
        raise DomainError(
            "This database has staff accounts: say who you are with --user NAME before the command "
            f"(e.g. digiknow-desk --user sam.jones {args.command} ...); the password comes from "
            f"${PASSWORD_ENV} or is asked for."
        )
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = getpass.getpass(f"Password for {args.user}: ")
    services.accounts.sign_in(args.user, password)


def _init(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    print(f"The database is ready: {services.database.display_name}", file=out)
    return 0


def _demo_data(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    summary = services.demo.fill(
        devices=args.devices,
        months=args.months,
        seed=args.seed,
        residents=args.residents,
        sessions=args.sessions,
    )
    if not summary.residents_added:
        print(f"Added {summary.venues_added} venues and {summary.devices_added} devices.", file=out)
        _demo_accounts_note(summary, out)
        return 0
    print(
        f"Added {summary.venues_added} venues, {summary.devices_added} devices and "
        f"{summary.residents_added} residents, with {summary.loans_added} loans over {args.months} months.",
        file=out,
    )
    print(
        f"Now: {summary.on_loan} on loan ({summary.overdue} overdue), {summary.waiting} on the waiting list, "
        f"{summary.sims_expiring} SIMs on loan running out within the warning period.",
        file=out,
    )
    if summary.champions_added:
        print(
            f"Support: {summary.champions_added} champions ({summary.champion_warnings} with training or a "
            f"DBS check to renew), {summary.sessions_added} sessions and {summary.skills_checks_added} "
            f"skills checks; {summary.included} residents digitally included.",
            file=out,
        )
    _demo_accounts_note(summary, out)
    return 0


def _demo_accounts_note(summary: DemoSummary, out: TextIO) -> None:
    if summary.accounts_added:
        accounts = ", ".join(f"{username} / {password}" for username, _name, _role, password in DEMO_ACCOUNTS)
        print(f"Demo accounts, one per role (user name / password): {accounts}.", file=out)
        print(
            "This database says DEMO on every screen and printout: never put real residents in it.", file=out
        )


def device_json(device: Device) -> dict[str, object]:
    return {
        "id": str(device.id),
        "tag": device.tag,
        "type": device.device_type.value,
        "make": device.make,
        "model": device.model,
        "serial": device.serial,
        "os": device.os,
        "condition": device.condition.value,
        "status": device.status.value,
        "home_venue": device.home_venue_name,
        "current_venue": device.current_venue_name,
        "source": device.source.value,
        "acquired_on": device.acquired_on.isoformat() if device.acquired_on else None,
        "notes": device.notes,
        "kit": list(device.kit),
    }


def _print_table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out
        )


def _devices(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    inventory = services.inventory
    if args.devices_command == "list":
        device_filter = DeviceFilter(
            text=args.search,
            device_type=DeviceType(args.type) if args.type else None,
            status=DeviceStatus(args.status) if args.status else None,
        )
        devices = inventory.search(device_filter, limit=inventory.count(device_filter) or 1)
        if args.json:
            json.dump([device_json(device) for device in devices], out, indent=2)
            print(file=out)
        elif devices:
            rows = [["Tag", "Type", "Status", "Make and model", "Serial", "Venue"]]
            rows += [
                [d.tag, d.device_type.label, d.status.label, d.description, d.serial, d.current_venue_name]
                for d in devices
            ]
            _print_table(rows, out)
        else:
            print("No devices match.", file=out)
        return 0
    if args.devices_command == "add":
        device_type = DeviceType(args.type)
        draft = DeviceDraft(
            tag=args.tag or inventory.next_tag(device_type),
            device_type=device_type,
            make=args.make,
            model=args.model,
            serial=args.serial,
            os=args.os,
            condition=Condition(args.condition),
            home_venue_id=_venue(services, args.venue).id if args.venue else None,
            source=AcquisitionSource(args.source),
            acquired_on=args.acquired,
            notes=args.notes,
            kit=tuple(args.kit) if args.kit is not None else KIT_SUGGESTIONS[device_type],
        )
        device = inventory.add(draft)
        if args.json:
            json.dump(device_json(device), out, indent=2)
            print(file=out)
        else:
            print(
                f"Added {device.tag} ({device.device_type.label} {device.description}).".replace(" )", ")"),
                file=out,
            )
        return 0
    if args.devices_command == "show":
        device = inventory.get(args.tag)
        history = inventory.history(device.tag)
        if args.json:
            record = device_json(device)
            record["history"] = [
                {
                    "at": change.at.isoformat(),
                    "from": change.from_status.value if change.from_status else None,
                    "to": change.to_status.value,
                    "by": change.by,
                    "reason": change.reason,
                }
                for change in history
            ]
            json.dump(record, out, indent=2)
            print(file=out)
            return 0
        fields = [
            ("Tag", device.tag),
            ("Type", device.device_type.label),
            ("Status", device.status.label),
            ("Make and model", device.description),
            ("Serial / IMEI", device.serial),
            ("Operating system", device.os),
            ("Condition", device.condition.label),
            ("Home venue", device.home_venue_name),
            ("Current venue", device.current_venue_name),
            ("Source", device.source.label),
            ("Acquired", device.acquired_on.isoformat() if device.acquired_on else ""),
            ("Kit", ", ".join(device.kit)),
            ("Notes", device.notes),
        ]
        for name, value in fields:
            print(f"{name + ':':18}{value}", file=out)
        print("History:", file=out)
        for change in history:
            moved = f"{change.from_status.label} -> " if change.from_status else ""
            stamp = change.at.astimezone().strftime("%Y-%m-%d %H:%M")
            print(f"  {stamp}  {moved}{change.to_status.label}  by {change.by}: {change.reason}", file=out)
        return 0
    if args.devices_command == "wipe":
        return _wipe(args, services, out)
    device = inventory.change_status(args.tag, DeviceStatus(args.status), args.reason)
    print(f"{device.tag} is now {device.status.label.lower()}.", file=out)
    return 0


def _wipe(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    checklist = WipeChecklist(
        accounts_signed_out=args.checked or args.accounts_signed_out,
        reset_done=args.checked or args.reset_done,
        apps_restored=args.checked or args.apps_restored,
        charger_present=args.checked or args.charger_present,
    )
    if missing := checklist.missing():
        flags = ", ".join(flag for flag, _what in WIPE_CHECKS)
        raise DomainError(
            f"The wipe is not recorded: confirm {', '.join(missing)}. Add --checked when all four checks "
            f"are done, or confirm each with {flags}."
        )
    result = services.lending.record_wipe(args.tag, WipeMethod(args.method), checklist, args.notes)
    wipe = result.wipe
    print(f"Recorded the wipe of {wipe.device_tag} ({wipe.method.label}); it can be lent again.", file=out)
    if (offer := result.offered_to) is not None:
        print(
            f"Offered to {offer.resident_reference} {offer.resident_name}, next waiting for a "
            f"{offer.device_type.label.lower()}; held until {_day(offer.offer_expires_on)}. "
            f"Contact: {offer.resident_contact or 'no contact details'}.",
            file=out,
        )
    return 0


def _venues(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.venues_command == "list":
        venues = services.venues.venues()
        if not venues:
            print("No venues yet: add one with 'digiknow-desk venues add NAME --ward WARD'.", file=out)
        for venue in venues:
            print(f"{venue.name}  ({venue.ward_name}){'' if venue.active else '  [closed]'}", file=out)
        return 0
    ward = _ward(services, args.ward)
    venue = services.venues.add(VenueDraft(name=args.name, ward_code=ward.code))
    print(f"Added {venue.name} in {venue.ward_name}.", file=out)
    return 0


def _ward(services: Services, text: str) -> Ward:
    """The ward named by its name or ONS code, in any case."""
    wards = services.venues.wards()
    wanted = text.strip().lower()
    ward = next((w for w in wards if wanted in (w.code.lower(), w.name.lower())), None)
    if ward is None:
        raise DomainError(f"There is no ward '{text}'. Wards: {', '.join(w.name for w in wards)}.")
    return ward


def _wards(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.wards_command == "list":
        wards = services.venues.wards()
        if args.json:
            _print_json([{"code": w.code, "name": w.name, "population": w.population} for w in wards], out)
        else:
            rows = [["Code", "Ward", "Population"]]
            rows += [[w.code, w.name, f"{w.population:,}"] for w in wards]
            _print_table(rows, out)
        return 0
    if args.wards_command in ("population", "populations"):
        given = (
            {_ward(services, args.ward).code: args.population}
            if args.wards_command == "population"
            else read_populations_csv(args.file)
        )
        services.wards.set_populations(given, args.source)
        print(f"Saved {len(given)} ward population{'' if len(given) == 1 else 's'}.", file=out)
        _print_estimate(services, out)
        return 0
    if args.wards_command == "excluded-rate":
        if args.percent is not None:
            services.wards.set_excluded_rate(args.percent / 100)
            print("Saved.", file=out)
        _print_estimate(services, out)
        return 0
    postcodes = services.postcodes
    command = args.postcodes_command
    if command == "import":
        summary = postcodes.import_table(args.file, replace=not args.add)
        print(summary.describe(), file=out)
    elif command == "count":
        count = postcodes.count()
        print(
            f"The postcode-to-ward table holds {count:,} postcode{'' if count == 1 else 's'}."
            if count
            else f"The postcode-to-ward table is empty. {_IMPORT_POSTCODES}",
            file=out,
        )
    elif command == "clear":
        count = postcodes.clear()
        print(f"Removed {count:,} postcode{'' if count == 1 else 's'}: the table is empty.", file=out)
    else:
        key = postcode_key(args.postcode)
        if not is_postcode_key(key):
            raise DomainError(f"'{args.postcode}' is not a UK postcode, e.g. SK1 3XE.")
        shown = normalise_postcode(key)
        ward = postcodes.ward_for(key)
        if ward is None:
            if not postcodes.count():
                raise DomainError(f"The postcode-to-ward table is empty. {_IMPORT_POSTCODES}")
            raise NotFound(
                f"{shown} is not in the postcode-to-ward table: it is not in Stockport's 21 wards."
            )
        print(f"{shown} is in {ward.name} ({ward.code}).", file=out)
    return 0


_IMPORT_POSTCODES = "Import one with 'digiknow-desk wards postcodes import FILE'."


def _print_estimate(services: Services, out: TextIO) -> None:
    """The borough's population, its source, and the estimate of digitally excluded residents."""
    wards = services.wards
    rate = wards.excluded_rate()
    populations = [ward.population for ward in wards.wards()]
    excluded = sum(estimated_excluded(population, rate) for population in populations)
    print(f"Borough population: {sum(populations):,} (source: {wards.population_source()}).", file=out)
    print(f"Estimated digitally excluded at {rate * 100:g}%: {excluded:,} residents.", file=out)


def _rules(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    lending = services.lending
    rules = lending.rules()
    if args.rules_command == "set":
        loan_days = dict(rules.loan_days)
        for item in args.loan_days:
            type_text, equals, days = item.partition("=")
            if not equals:
                raise DomainError(f"Write --loan-days TYPE=DAYS, e.g. tablet=28: '{item}' has no '='.")
            device_type = next(
                (
                    kind
                    for kind in DeviceType
                    if type_text.strip().lower() in (kind.value, kind.label.lower())
                ),
                None,
            )
            if device_type is None:
                raise DomainError(
                    f"'{type_text}' is not a device type: use one of {', '.join(_choices(DeviceType))}, "
                    "as in --loan-days tablet=28."
                )
            loan_days[device_type] = _whole_number(days, f"--loan-days {type_text}=")
        changes = {
            "renewal_limit": (args.renewals, "--renewals"),
            "offer_days": (args.offer_days, "--offer-days"),
            "sim_warning_days": (args.sim_warning_days, "--sim-warning-days"),
        }
        numbers = {
            name: _whole_number(text, flag) for name, (text, flag) in changes.items() if text is not None
        }
        if not args.loan_days and not numbers:
            raise DomainError(
                "Say what to change: --loan-days TYPE=DAYS, --renewals N, --offer-days N or "
                "--sim-warning-days N."
            )
        lending.set_rules(dataclasses.replace(rules, loan_days=loan_days, **numbers))
        rules = lending.rules()
        print("Saved the lending rules:", file=out)
    if args.rules_command == "show" and args.json:
        _print_json(
            {
                "loan_days": {kind.value: days for kind, days in rules.loan_days.items()},
                "renewal_limit": rules.renewal_limit,
                "offer_days": rules.offer_days,
                "sim_warning_days": rules.sim_warning_days,
            },
            out,
        )
        return 0
    rows = [[f"Loan period, {kind.label}:", f"{rules.loan_days[kind]} days"] for kind in DeviceType]
    rows += [
        ["Renewals allowed:", str(rules.renewal_limit)],
        ["Offer held for:", f"{rules.offer_days} days"],
        ["SIM warning:", f"{rules.sim_warning_days} days before its data runs out"],
    ]
    _print_table(rows, out)
    return 0


def _whole_number(text: str, flag: str) -> int:
    """A number typed after `flag`; refused, saying so, unless it is a whole number."""
    text = text.strip()
    if not re.fullmatch(r"-?[0-9]+", text):
        raise DomainError(f"{flag} needs a whole number, e.g. 14; '{text}' is not one.")
    return int(text)


def _labels(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.list_stocks:
        for stock in services.labels.stocks():
            print(f"{stock.name:12}{stock.title}", file=out)
        return 0
    if args.out is None:
        raise DomainError("Say where to save the PDF with --out FILE.pdf.")
    stock_name = args.stock or config.default_label_stock
    if args.calibration:
        services.labels.write_calibration_page(stock_name, args.out)
        print(f"Saved the {stock_name} calibration page to {args.out}.", file=out)
        return 0
    status = DeviceStatus(args.status) if args.status else None
    request = LabelRequest(
        stock_name=stock_name,
        tags=tuple(args.tags),
        status=status,
        # No filter means every device; `--blank N` alone means only blank labels.
        every_device=args.all or (not args.tags and status is None and not args.blank),
        blank=args.blank,
    )
    count = services.labels.write_pdf(request, args.out)
    print(f"Saved {count} label{'' if count == 1 else 's'} ({stock_name}) to {args.out}.", file=out)
    return 0


def _export(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    count = services.device_csv.export_devices(args.out)
    print(f"Exported {count} devices to {args.out}.", file=out)
    return 0


def _import(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    report = services.device_csv.import_devices(
        args.file, dry_run=args.dry_run, import_good_rows=args.good_rows
    )
    print(report.summary(), file=out)
    return 1 if report.rejected and not args.good_rows else 0


# The lending desk


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _stamp(value: datetime | None) -> str:
    """A stored time as the desk reads it: local, to the minute."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else ""


def _today() -> date:
    """The desk's date: the CLI's services run on the system clock, in local time."""
    return datetime.now().astimezone().date()


def _print_json(data: object, out: TextIO) -> None:
    json.dump(data, out, indent=2, ensure_ascii=False)
    print(file=out)


def resident_json(resident: Resident, *, sensitive: bool = False) -> dict[str, object]:
    """A resident for scripts, with their reference; the optional equality answers only if `sensitive`."""
    record: dict[str, object] = {
        "reference": resident.reference,
        "name": resident.name,
        "phone": resident.phone,
        "email": resident.email,
        "address": resident.address,
        "postcode": resident.postcode,
        "ward_code": resident.ward_code,
        "ward": resident.ward_name,
        "age_band": resident.age_band.value,
        "language": resident.language,
        "large_print": resident.large_print,
        "interpreter": resident.interpreter,
        "access_needs": resident.access_needs,
        "referral_partner": resident.referral_partner,
        "referral_reason": resident.referral_reason.value,
        "consents": [
            {"purpose": consent.purpose.value, "given_on": consent.given_on.isoformat()}
            for consent in resident.consents
        ],
        "inclusion_status": resident.inclusion_status.value,
        "inclusion_status_label": resident.inclusion_status.label,
    }
    if sensitive:
        record["disability"] = resident.disability.value if resident.disability else None
        record["ethnicity"] = resident.ethnicity
        record["on_benefits"] = resident.on_benefits.value if resident.on_benefits else None
        record["not_in_work_or_education"] = (
            resident.not_in_work_or_education.value if resident.not_in_work_or_education else None
        )
        record["care_leaver"] = resident.care_leaver.value if resident.care_leaver else None
    return record


def loan_json(loan: Loan, today: date) -> dict[str, object]:
    return {
        "id": str(loan.id),
        "device_tag": loan.device_tag,
        "device_type": loan.device_type.value,
        "device_description": loan.device_description,
        "resident_reference": loan.resident_reference,
        "resident_name": loan.resident_name,
        "resident_contact": loan.resident_contact,
        "issued_at": loan.issued_at.isoformat(),
        "issued_by": loan.issued_by,
        "due_on": loan.due_on.isoformat(),
        "renewals": loan.renewals,
        "days_overdue": loan.days_overdue(today),
        "closed_at": loan.closed_at.isoformat() if loan.closed_at else None,
        "outcome": loan.outcome.value if loan.outcome else None,
        "accepted": loan.accepted,
        "late_reason": loan.late_reason,
        "kit": [{"name": line.name, "out": line.out, "back": line.back} for line in loan.kit],
        "condition_back": loan.condition_back or None,
        "fault": loan.fault,
        "achieved": (
            {
                "reason_met": loan.achieved.reason_met.value,
                "own_device": loan.achieved.own_device,
                "own_connection": loan.achieved.own_connection,
            }
            if loan.achieved
            else None
        ),
    }


def wait_json(entry: WaitEntry, place: int) -> dict[str, object]:
    return {
        "id": str(entry.id),
        "resident_reference": entry.resident_reference,
        "resident_name": entry.resident_name,
        "resident_contact": entry.resident_contact,
        "device_type": entry.device_type.value,
        "place": place,
        "joined_at": entry.joined_at.isoformat(),
        "status": entry.status.value,
        "offered_tag": entry.offered_tag or None,
        "offer_expires_on": _day(entry.offer_expires_on) or None,
    }


def _places(entries: list[WaitEntry]) -> list[tuple[WaitEntry, int]]:
    """Each entry with its place in its type's queue (1 = first), in the order listed."""
    counts: dict[DeviceType, int] = {}
    placed = []
    for entry in entries:
        counts[entry.device_type] = counts.get(entry.device_type, 0) + 1
        placed.append((entry, counts[entry.device_type]))
    return placed


def _answer(value: str | None) -> Answer | None:
    """An optional, sensitive answer as typed; None when the question was not asked."""
    return Answer(value) if value else None


def _residents(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.residents_command == "export-data":
        pdf, data = services.data_protection.export_subject_access(args.reference, args.out)
        print(f"Everything held about {normalise_reference(args.reference)}: {pdf} and {data}.", file=out)
        return 0
    if args.residents_command == "erase":
        erased = services.data_protection.erase(args.reference, args.reason)
        print(
            f"Erased {erased.reference}: their personal data is gone from {erased.loans} loans, "
            f"{erased.sessions} sessions, {erased.skills_checks} skills checks and "
            f"{erased.audit_entries_redacted} audit entries; the anonymous counts stay.",
            file=out,
        )
        if erased.file_cleared is None:
            print("Venue laptops erase them at their next sync.", file=out)
        elif not erased.file_cleared:
            print(
                "The old text could not yet be cleared from the database file (another desk was reading "
                "it): erase again later, or see the README.",
                file=out,
            )
        return 0
    if args.residents_command == "add":
        draft = ResidentDraft(
            name=args.name,
            phone=args.phone,
            email=args.email,
            address=args.address,
            postcode=args.postcode,
            ward_code=_ward(services, args.ward).code if args.ward else None,
            age_band=AgeBand(args.age_band),
            language=args.language,
            large_print=args.large_print,
            interpreter=args.interpreter,
            access_needs=args.needs,
            referral_partner=args.referred_by,
            referral_reason=ReferralReason(args.reason),
            consents=frozenset(ConsentPurpose(purpose) for purpose in args.consent),
            disability=_answer(args.disability),
            on_benefits=_answer(args.on_benefits),
            not_in_work_or_education=_answer(args.not_in_work_or_education),
            care_leaver=_answer(args.care_leaver),
        )
        try:
            resident = services.residents.add(draft, duplicate_checked=args.not_a_duplicate)
        except PossibleDuplicate as duplicate:
            lines = [
                "This may be someone already registered:",
                *(
                    f"  {m.reference}  {m.name}  {m.postcode or '-'}  {m.contact or '-'}"
                    for m in duplicate.matches
                ),
                "Check with the resident; if they are someone else, add them with --not-a-duplicate.",
            ]
            raise DomainError("\n".join(lines)) from duplicate
        if args.json:
            _print_json(resident_json(resident), out)
        else:
            where = f" ({resident.ward_name})" if resident.ward_name else ""
            print(f"Added {resident.reference} {resident.name}{where}.", file=out)
        return 0
    if args.residents_command == "list":
        found = services.residents.search(args.search, limit=services.residents.count(args.search) or 1)
        if args.json:
            _print_json([resident_json(resident) for resident in found], out)
        elif found:
            rows = [["Reference", "Name", "Postcode", "Ward", "Contact", "Inclusion status"]]
            rows += [
                [r.reference, r.name, r.postcode, r.ward_name, r.contact, r.inclusion_status.label]
                for r in found
            ]
            _print_table(rows, out)
        elif args.search:
            print("No residents match.", file=out)
        else:
            print(
                "No residents yet: add one with 'digiknow-desk residents add --name NAME --phone T'.",
                file=out,
            )
        return 0
    return _show_resident(args, services, out)


def _show_resident(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    resident = services.residents.get(args.reference)
    staff = services.desk.staff
    # Each part only for a role that may see it: loans and waits for lending, checks for support.
    lends = staff is not None and staff.may(Permission.LEND)
    loans = services.lending.loans_of(resident.reference) if lends else []
    waits = (
        [
            (entry, place)
            for entry, place in _places(services.lending.waiting_list())
            if entry.resident_reference == resident.reference
        ]
        if lends
        else []
    )
    supports = staff is not None and staff.may(Permission.LOG_SUPPORT)
    checks = services.skills.checks_of(resident.reference) if supports else []
    today = _today()
    if args.json:
        record = resident_json(resident, sensitive=resident.sensitive_shown)
        # What the role may not see is left out, never shown as none.
        if supports:
            record["latest_skills_check"] = skills_check_json(checks[-1]) if checks else None
            record["skills_checks"] = len(checks)
        if lends:
            record["loans"] = [loan_json(loan, today) for loan in loans]
            record["waiting"] = [wait_json(entry, place) for entry, place in waits]
        _print_json(record, out)
        return 0
    needs = [
        need
        for need, wanted in (
            ("large print", resident.large_print),
            ("interpreter", resident.interpreter),
            (resident.access_needs, bool(resident.access_needs)),
        )
        if wanted
    ]
    referral = resident.referral_reason.label
    if resident.referral_partner:
        referral = f"{resident.referral_partner} ({referral})"
    fields = [
        ("Reference", resident.reference),
        ("Name", resident.name),
        ("Phone", resident.phone),
        ("Email", resident.email),
        ("Address", resident.address),
        ("Postcode", resident.postcode),
        ("Ward", resident.ward_name),
        ("Age band", resident.age_band.label),
        ("Language", resident.language),
        ("Needs", "; ".join(needs)),
        ("Referred by", referral),
        ("Consent", ", ".join(f"{c.purpose.value} ({c.given_on.isoformat()})" for c in resident.consents)),
        ("Inclusion status", resident.inclusion_status.label),
        ("Skills check", _skills_summary(checks) if supports else NOT_FOR_ROLE),
    ]
    for name, value in fields:
        print(f"{name + ':':18}{value}".rstrip(), file=out)
    for entry, place in waits:
        held = (
            f", offered {entry.offered_tag} until {_day(entry.offer_expires_on)}" if entry.offered_tag else ""
        )
        print(f"{'Waiting for:':18}{entry.device_type.label} (number {place}{held})", file=out)
    if not lends:
        print(f"{'Loans:':18}{NOT_FOR_ROLE}", file=out)
        return 0
    print("Loans:" if loans else "Loans:            none yet", file=out)
    for loan in loans:
        print(f"  {_loan_line(loan, today)}", file=out)
    return 0


def _loan_line(loan: Loan, today: date) -> str:
    issued = _stamp(loan.issued_at)[:10]
    head = f"{loan.device_tag}  {loan.device_type.label}  issued {issued}  due {_day(loan.due_on)}"
    if loan.outcome is not None:
        return f"{head}  {loan.outcome.label.lower()} {_stamp(loan.closed_at)[:10]}"
    overdue = loan.days_overdue(today)
    return f"{head}  on loan" + (f", {overdue} days overdue" if overdue else "")


def _loans(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    lending = services.lending
    command = args.loans_command
    today = _today()
    if command == "issue":
        loan = lending.issue(
            args.device,
            args.resident,
            due_on=args.due,
            kit_out=args.kit,
            issued_at=args.at,
            late_reason=args.late_reason,
        )
        what = f" ({loan.device_description})" if loan.device_description else ""
        print(
            f"Issued {loan.device_tag}{what} to {loan.resident_reference} {loan.resident_name}, "
            f"due back {_day(loan.due_on)}.",
            file=out,
        )
        kit_out = [line.name for line in loan.kit if line.out]
        kit_kept = [line.name for line in loan.kit if not line.out]
        if kit_out:
            print(f"Kit out: {', '.join(kit_out)}.", file=out)
        if kit_kept:
            print(f"Kept at the desk: {', '.join(kit_kept)}.", file=out)
        _warn_about_data(services, loan, today, out)
        return 0
    if command == "return":
        condition = Condition(args.condition) if args.condition else None
        achieved = _achieved(args)
        loan = lending.return_device(
            args.device,
            kit_back=args.kit_back,
            condition=condition,
            fault=args.fault,
            returned_at=args.at,
            late_reason=args.late_reason,
            achieved=achieved,
        )
        print(f"Returned {loan.device_tag} from {loan.resident_reference} {loan.resident_name}.", file=out)
        if missing := [line.name for line in loan.kit if line.out and not line.back]:
            print(f"Missing: {', '.join(missing)} (recorded on the loan).", file=out)
        if loan.fault:
            print(f"Fault: {loan.fault}", file=out)
        if achieved is not None:
            status = services.residents.get(loan.resident_reference).inclusion_status
            print(
                f"What it achieved: reason met {achieved.reason_met.value}; own device "
                f"{_yes_no(achieved.own_device)}; own connection {_yes_no(achieved.own_connection)}. "
                f"Inclusion status of {loan.resident_reference} {loan.resident_name}: {status.label}.",
                file=out,
            )
        print(
            f"It now awaits a wipe: digiknow-desk devices wipe {loan.device_tag} --method METHOD --checked",
            file=out,
        )
        return 0
    if command == "renew":
        loan = lending.renew(args.device)
        limit = lending.rules().renewal_limit
        print(
            f"Renewed {loan.device_tag} for {loan.resident_reference} {loan.resident_name}: now due "
            f"{_day(loan.due_on)} (renewal {loan.renewals} of {limit}).",
            file=out,
        )
        return 0
    if command == "lost":
        loan = lending.record_lost(args.device, LoanOutcome(args.outcome), args.reason)
        print(
            f"Recorded {loan.device_tag} as {args.outcome}; the loan to {loan.resident_reference} "
            f"{loan.resident_name} is closed and the device is quarantined.",
            file=out,
        )
        return 0
    if command == "overdue":
        loans = lending.overdue(today)
        empty = "No loans are overdue."
    else:
        due_by = today + timedelta(days=args.due_within) if args.due_within is not None else None
        loans = lending.open_loans(due_by=due_by, limit=lending.count_open(due_by=due_by) or 1)
        empty = "No loans are open." if due_by is None else f"No open loans are due by {_day(due_by)}."
    if args.json:
        _print_json([loan_json(loan, today) for loan in loans], out)
    elif not loans:
        print(empty, file=out)
    elif command == "overdue":
        rows = [["Tag", "Resident", "Name", "Due", "Days overdue", "Contact"]]
        rows += [
            [
                loan.device_tag,
                loan.resident_reference,
                loan.resident_name,
                _day(loan.due_on),
                str(loan.days_overdue(today)),
                loan.resident_contact,
            ]
            for loan in loans
        ]
        _print_table(rows, out)
    else:
        rows = [["Tag", "Type", "Resident", "Name", "Issued", "Due", "Renewed", "Overdue"]]
        rows += [
            [
                loan.device_tag,
                loan.device_type.label,
                loan.resident_reference,
                loan.resident_name,
                _stamp(loan.issued_at)[:10],
                _day(loan.due_on),
                str(loan.renewals),
                f"{loan.days_overdue(today)} days" if loan.days_overdue(today) else "",
            ]
            for loan in loans
        ]
        _print_table(rows, out)
    return 0


def _achieved(args: argparse.Namespace) -> LoanAchieved | None:
    """What the resident said the loan achieved, when asked: all three answers, or none."""
    answers = (args.reason_met, args.own_device, args.own_connection)
    if all(answer is None for answer in answers):
        return None
    if any(answer is None for answer in answers):
        raise DomainError(
            "Say what the loan achieved with all three: --reason-met yes|partly|no, --own-device or "
            "--no-own-device, and --own-connection or --no-own-connection."
        )
    return LoanAchieved(ReasonMet(args.reason_met), args.own_device, args.own_connection)


def _warn_about_data(services: Services, loan: Loan, today: date, out: TextIO) -> None:
    """Say so when the data that goes with the device runs out soon or before the loan is due."""
    if loan.device_type not in (DeviceType.MIFI, DeviceType.PHONE, DeviceType.DATA_SIM):
        return
    plan = services.lending.data_plan(loan.device_tag)
    if plan is None or plan.expires_on is None:
        return
    warning_days = services.lending.rules().sim_warning_days
    if plan.expires_within(today, warning_days) or plan.expires_on < loan.due_on:
        print(
            f"Warning: its data ({plan.network}, {plan.allowance}) runs out on {_day(plan.expires_on)}.",
            file=out,
        )


def _waiting_entry(services: Services, reference: str, device_type: DeviceType) -> WaitEntry:
    resident = services.residents.get(reference)
    entry = next(
        (e for e in services.lending.waiting_list(device_type) if e.resident_reference == resident.reference),
        None,
    )
    if entry is None:
        raise NotFound(f"{resident.reference} is not waiting for a {device_type.label.lower()}.")
    return entry


def _waitlist(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    lending = services.lending
    command = args.waitlist_command
    if command == "join":
        device_type = DeviceType(args.type)
        entry = lending.join_waiting_list(args.reference, device_type)
        place = next(place for e, place in _places(lending.waiting_list(device_type)) if e.id == entry.id)
        kind = device_type.label.lower()
        print(
            f"{entry.resident_reference} {entry.resident_name} is number {place} waiting for a {kind}.",
            file=out,
        )
        free = services.inventory.count(DeviceFilter(device_type=device_type, status=DeviceStatus.AVAILABLE))
        if free:
            print(
                f"Note: {free} available now; lend one with "
                f"'digiknow-desk loans issue --device TAG --resident {entry.resident_reference}'.",
                file=out,
            )
        return 0
    if command == "list":
        entries = _places(lending.waiting_list(DeviceType(args.type) if args.type else None))
        if args.json:
            _print_json([wait_json(entry, place) for entry, place in entries], out)
        elif not entries:
            print("Nobody is waiting.", file=out)
        else:
            rows = [["Type", "Place", "Resident", "Name", "Status", "Offered", "Contact", "Joined"]]
            rows += [
                [
                    entry.device_type.label,
                    str(place),
                    entry.resident_reference,
                    entry.resident_name,
                    entry.status.label,
                    f"{entry.offered_tag} until {_day(entry.offer_expires_on)}" if entry.offered_tag else "",
                    entry.resident_contact,
                    _stamp(entry.joined_at)[:10],
                ]
                for entry, place in entries
            ]
            _print_table(rows, out)
        return 0
    if command == "move":
        device_type = DeviceType(args.type)
        entry = _waiting_entry(services, args.reference, device_type)
        if entry.status == WaitStatus.OFFERED:
            raise DomainError(
                f"{entry.resident_reference} holds an offer of {entry.offered_tag}: lend it to them, "
                "or withdraw them, rather than moving them."
            )
        queue = lending.move_in_waiting_list(entry.id, args.to, args.reason)
        place = next(place for e, place in _places(queue) if e.id == entry.id)
        print(
            f"{entry.resident_reference} {entry.resident_name} is now number {place} waiting for a "
            f"{device_type.label.lower()}.",
            file=out,
        )
        return 0
    if command == "withdraw":
        device_type = DeviceType(args.type)
        entry = _waiting_entry(services, args.reference, device_type)
        lending.withdraw_from_waiting_list(entry.id, args.reason)
        print(
            f"{entry.resident_reference} {entry.resident_name} is no longer waiting for a "
            f"{device_type.label.lower()}.",
            file=out,
        )
        if entry.offered_tag:
            holder = next(
                (e for e in lending.waiting_list(device_type) if e.offered_tag == entry.offered_tag), None
            )
            if holder is None:
                print(f"{entry.offered_tag} is no longer held: it can be lent to anyone.", file=out)
            else:
                print(
                    f"{entry.offered_tag} is now offered to {holder.resident_reference} "
                    f"{holder.resident_name} until {_day(holder.offer_expires_on)}. "
                    f"Contact: {holder.resident_contact}.",
                    file=out,
                )
        return 0
    passed = lending.expire_offers()
    if not passed:
        print("No offer has passed to anyone new.", file=out)
    for offer in passed:
        print(
            f"{offer.offered_tag} passed to {offer.resident_reference} {offer.resident_name}, held until "
            f"{_day(offer.offer_expires_on)}. Contact: {offer.resident_contact}.",
            file=out,
        )
    return 0


def _sims(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    lending = services.lending
    if args.sims_command == "set":
        plan = DataPlan(args.network, args.source, args.allowance, args.activated, args.expires)
        lending.set_data_plan(args.tag, plan)
        saved = lending.data_plan(args.tag)
        assert saved is not None
        ends = f", runs out {_day(saved.expires_on)}" if saved.expires_on else ""
        print(
            f"Saved the data plan for {args.tag.strip().upper()}: {saved.network}, {saved.allowance} "
            f"({saved.source}){ends}.",
            file=out,
        )
        return 0
    today = _today()
    expiring = lending.sims_expiring(today)
    if args.json:
        _print_json(
            [
                {
                    "device_tag": loan.device_tag,
                    "device_type": loan.device_type.value,
                    "resident_reference": loan.resident_reference,
                    "resident_name": loan.resident_name,
                    "resident_contact": loan.resident_contact,
                    "due_on": loan.due_on.isoformat(),
                    "network": plan.network,
                    "source": plan.source,
                    "allowance": plan.allowance,
                    "activated_on": _day(plan.activated_on) or None,
                    "expires_on": _day(plan.expires_on) or None,
                    "days_left": (plan.expires_on - today).days if plan.expires_on else None,
                }
                for loan, plan in expiring
            ],
            out,
        )
    elif not expiring:
        days = lending.rules().sim_warning_days
        print(f"No SIM on loan runs out within {days} days.", file=out)
    else:
        rows = [["Tag", "Resident", "Name", "Network", "Runs out", "Days left", "Contact"]]
        rows += [
            [
                loan.device_tag,
                loan.resident_reference,
                loan.resident_name,
                plan.network,
                _day(plan.expires_on),
                str((plan.expires_on - today).days) if plan.expires_on else "",
                loan.resident_contact,
            ]
            for loan, plan in expiring
        ]
        _print_table(rows, out)
    return 0


def _print(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.document == "agreement":
        services.documents.loan_agreement(args.device, args.out)
        what = f"the loan agreement for {normalise_tag(args.device)}"
    elif args.document == "certificate":
        services.documents.wipe_certificate(args.device, args.out)
        what = f"the wipe certificate for {normalise_tag(args.device)}"
    else:
        services.documents.resident_card(args.reference, args.out)
        what = "the resident card (print it at 100%, not fitted to the page)"
    print(f"Saved {what} to {args.out}.", file=out)
    return 0


# Digital Champions, sessions, skills checks and the inclusion status

SESSION_PAGE = 500  # sessions read per query when listing every one that matches


def _area_flag(area: SkillArea) -> str:
    return "--" + area.value.replace("_", "-")


def _now() -> datetime:
    """The desk's local time: the CLI's services run on the system clock."""
    return datetime.now().astimezone()


def _duration(minutes: int) -> str:
    """Minutes as staff say them: '45 min', '1 h', '2 h 30 min'."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _statuses_changed(count: int) -> str:
    if count == 0:
        return "no resident's status changed"
    return f"{count:,} resident's status changed" if count == 1 else f"{count:,} residents' statuses changed"


def _venue(services: Services, name: str) -> Venue:
    """The venue with this name, in any case."""
    venues = services.venues.venues()
    venue = next((v for v in venues if v.name.lower() == name.strip().lower()), None)
    if venue is None:
        known = ", ".join(v.name for v in venues) or "none yet"
        raise DomainError(f"There is no venue called '{name}'. Venues: {known}.")
    return venue


def _contact(phone: str, email: str) -> str:
    return ", ".join(part for part in (phone, email) if part)


def champion_json(champion: Champion, rules: ChampionRules, today: date) -> dict[str, object]:
    return {
        "id": str(champion.id),
        "name": champion.name,
        "phone": champion.phone,
        "email": champion.email,
        "venues": [name for _id, name in champion.venues],
        "trained_on": _day(champion.trained_on) or None,
        "training_due": _day(champion.training_due(rules)) or None,
        "dbs_checked_on": _day(champion.dbs_checked_on) or None,
        "dbs_due": _day(champion.dbs_due(rules)) or None,
        "active": champion.active,
        # A champion who has stood down needs no reminders.
        "warnings": champion.warnings(rules, today) if champion.active else [],
    }


def _champions(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    service = services.champions
    command = args.champions_command
    if command == "rules":
        return _champion_rules(args, services, out)
    rules = service.rules()
    today = _today()
    if command == "warnings":
        found = service.warnings(today)
        if not found:
            print("No champion's training or DBS check needs attention.", file=out)
        for champion, warnings in found:
            contact = _contact(champion.phone, champion.email)
            print(
                f"{champion.name}: {'; '.join(warnings)}." + (f" Contact: {contact}." if contact else ""),
                file=out,
            )
        return 0
    if command == "list":
        champions = service.champions(active_only=not args.all)
        if args.json:
            _print_json([champion_json(champion, rules, today) for champion in champions], out)
        elif champions:
            rows = [["Name", "Contact", "Venues", "Training due", "DBS due", "Warnings", "Active"]]
            rows += [
                [
                    champion.name,
                    _contact(champion.phone, champion.email),
                    champion.venue_names,
                    _day(champion.training_due(rules)) or "not recorded",
                    _day(champion.dbs_due(rules)) or "not recorded",
                    "; ".join(champion.warnings(rules, today)) if champion.active else "",
                    _yes_no(champion.active),
                ]
                for champion in champions
            ]
            # Without --all every champion listed is active: the column would say nothing.
            _print_table(rows if args.all else [row[:-1] for row in rows], out)
        elif args.all or not service.champions():
            print("No champions yet: add one with 'digiknow-desk champions add --name NAME'.", file=out)
        else:
            print("No champion is active: 'digiknow-desk champions list --all' shows every one.", file=out)
        return 0
    if command == "add":
        champion = service.add(
            ChampionDraft(
                name=args.name,
                phone=args.phone,
                email=args.email,
                venue_ids=frozenset(_venue(services, name).id for name in args.venue),
                trained_on=args.trained_on,
                dbs_checked_on=args.dbs_checked_on,
                active=args.active,
            )
        )
        print(f"Added {champion.name}.", file=out)
    else:
        old = service.find(args.champion)
        venue_ids = (
            frozenset(venue_id for venue_id, _name in old.venues)
            if args.venue is None
            else frozenset(_venue(services, name).id for name in args.venue)
        )
        champion = service.update(
            old.id,
            ChampionDraft(
                name=old.name if args.name is None else args.name,
                phone=old.phone if args.phone is None else args.phone,
                email=old.email if args.email is None else args.email,
                venue_ids=venue_ids,
                trained_on=args.trained_on or old.trained_on,
                dbs_checked_on=args.dbs_checked_on or old.dbs_checked_on,
                active=old.active if args.active is None else args.active,
            ),
        )
        print(f"Saved {champion.name}.", file=out)
    fields = [
        ("Contact", _contact(champion.phone, champion.email)),
        ("Venues", champion.venue_names),
        ("Training due", _day(champion.training_due(rules)) or "not recorded"),
        ("DBS check due", _day(champion.dbs_due(rules)) or "not recorded"),
        ("Active", _yes_no(champion.active)),
    ]
    if champion.active:
        fields += [("Warning", warning) for warning in champion.warnings(rules, today)]
    for name, value in fields:
        print(f"{name + ':':18}{value}".rstrip(), file=out)
    return 0


def _champion_rules(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    service = services.champions
    rules = service.rules()
    if args.champion_rules_command == "set":
        changes = {
            "training_months": (args.training_months, "--training-months"),
            "dbs_months": (args.dbs_months, "--dbs-months"),
            "warn_days": (args.warn_days, "--warn-days"),
        }
        numbers = {
            name: _whole_number(text, flag) for name, (text, flag) in changes.items() if text is not None
        }
        if not numbers:
            raise DomainError("Say what to change: --training-months N, --dbs-months N or --warn-days N.")
        service.set_rules(dataclasses.replace(rules, **numbers))
        rules = service.rules()
        print("Saved the champion rules:", file=out)
    elif args.json:
        _print_json(dataclasses.asdict(rules), out)
        return 0
    rows = [
        ["Training lasts:", f"{rules.training_months} months"],
        ["A DBS check lasts:", f"{rules.dbs_months} months"],
        ["Warn:", f"{rules.warn_days} days before either lapses"],
    ]
    _print_table(rows, out)
    return 0


def _hours(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.hours_command == "add":
        champion = services.champions.find(args.champion)
        hours = services.sessions.add_hours(
            champion.id, args.date or _today(), args.minutes, HoursKind(args.kind), args.note
        )
        print(
            f"Recorded {_duration(hours.minutes)} for {champion.name} on {_day(hours.worked_on)}: "
            f"{hours.kind.label}.",
            file=out,
        )
        return 0
    month = args.month or _today().replace(day=1)
    found = services.sessions.hours(month)
    if args.json:
        _print_json(
            [
                {
                    "champion_id": str(hours.champion_id),
                    "champion": hours.champion_name,
                    "month": f"{hours.month:%Y-%m}",
                    "sessions": hours.sessions,
                    "session_minutes": hours.session_minutes,
                    "other_minutes": hours.other_minutes,
                    "total_minutes": hours.total_minutes,
                }
                for hours in found
            ],
            out,
        )
        return 0
    if not found:
        print(f"No volunteer hours in {month:%B %Y}.", file=out)
        return 0
    rows = [["Champion", "Sessions", "Session hours", "Other hours", "Total hours"]]
    rows += [
        [
            hours.champion_name,
            str(hours.sessions),
            _duration(hours.session_minutes),
            _duration(hours.other_minutes),
            _duration(hours.total_minutes),
        ]
        for hours in found
    ]
    rows.append(
        [
            "All champions",
            "",  # a session given by two champions counts for each, so their sum is not a count of sessions
            _duration(sum(hours.session_minutes for hours in found)),
            _duration(sum(hours.other_minutes for hours in found)),
            _duration(sum(hours.total_minutes for hours in found)),
        ]
    )
    print(f"Volunteer hours in {month:%B %Y}:", file=out)
    _print_table(rows, out)
    return 0


def _anonymous(services: Services, text: str) -> AnonymousAttendee:
    """An attendee who is not registered, typed as AGEBAND or AGEBAND:WARD (a ward's ONS code or name)."""
    band_text, _colon, ward_text = text.partition(":")
    band = next((band for band in AgeBand if band.value == band_text.strip().lower()), None)
    if band is None:
        raise DomainError(
            f"'{band_text}' is not an age band: use one of {', '.join(_choices(AgeBand))}, "
            "as in --anonymous 75_plus:E05000787."
        )
    return AnonymousAttendee(band, _ward(services, ward_text).code if ward_text.strip() else None)


def _session_loan(services: Services, tag: str, references: list[str]) -> Loan:
    """The open loan of the device to one of the attending residents, else the latest such loan."""
    if not references:
        raise DomainError(f"--loan-device {tag} needs the resident who borrowed it: add --resident REF.")
    wanted = normalise_tag(tag)
    loans = [
        loan
        for reference in references
        for loan in services.lending.loans_of(reference)
        if loan.device_tag == wanted
    ]
    if not loans:
        who = ", ".join(normalise_reference(reference) for reference in references)
        raise DomainError(
            f"{wanted} has never been lent to {who}: check the tag, or log the session without --loan-device."
        )
    return max(loans, key=lambda loan: (loan.is_open, loan.issued_at))


def _attendee_text(attendee: SessionAttendee, wards: dict[str, str]) -> str:
    if attendee.reference:
        return f"{attendee.reference} {attendee.name}"
    about = [
        "age not said" if attendee.age_band is AgeBand.NOT_SAID else f"aged {attendee.age_band.label.lower()}"
    ]
    if attendee.ward_code:
        about.append(wards.get(attendee.ward_code, attendee.ward_code))
    return f"not registered ({', '.join(about)})"


def _attendees_text(attendees: tuple[SessionAttendee, ...], wards: dict[str, str]) -> str:
    """Every attendee, the registered residents first."""
    in_order = sorted(attendees, key=lambda attendee: not attendee.reference)
    return "; ".join(_attendee_text(attendee, wards) for attendee in in_order)


def _session_head(session: Session) -> str:
    """When, how long, what kind, where and with whom, in one line."""
    where = f" at {session.venue_name}" if session.venue_name else ""
    return (
        f"{_day(session.held_on)} {session.starts_at:%H:%M}, {_duration(session.minutes)}, "
        f"{session.kind.label}{where}, with {session.champion_names}."
    )


def _session_attendees(session: Session, wards: dict[str, str]) -> str:
    """Who attended and what was covered, in one line."""
    attendees = _attendees_text(session.attendees, wards)
    return f"Attendees: {attendees}." + (f" Topics: {session.topic_labels}." if session.topics else "")


def session_json(session: Session, wards: dict[str, str]) -> dict[str, object]:
    return {
        "id": str(session.id),
        "held_on": session.held_on.isoformat(),
        "starts_at": f"{session.starts_at:%H:%M}",
        "minutes": session.minutes,
        "kind": session.kind.value,
        "venue_id": str(session.venue_id) if session.venue_id else None,
        "venue": session.venue_name or None,
        "champions": [{"id": str(champion_id), "name": name} for champion_id, name in session.champions],
        "attendees": [
            {
                "resident_id": str(attendee.resident_id) if attendee.resident_id else None,
                "reference": attendee.reference or None,
                "name": attendee.name if attendee.reference else None,
                "age_band": attendee.age_band.value,
                "ward_code": attendee.ward_code,
                "ward": wards.get(attendee.ward_code) if attendee.ward_code else None,
            }
            for attendee in session.attendees
        ],
        "topics": [topic.value for topic in ALL_TOPICS if topic in session.topics],
        "loan_id": str(session.loan_id) if session.loan_id else None,
        "outcome": session.outcome,
        "follow_up_on": _day(session.follow_up_on) or None,
        "follow_up": session.follow_up,
        "follow_up_done_on": _day(session.follow_up_done_on) or None,
        "logged_by": session.logged_by,
        "logged_at": session.logged_at.isoformat(),
    }


def _session_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError as error:
        raise DomainError(
            f"'{text}' is not a session's ID: copy it from 'digiknow-desk sessions list'."
        ) from error


def _all_sessions(services: Services, session_filter: SessionFilter) -> list[Session]:
    """Every session that matches, newest first, read a page at a time."""
    found: list[Session] = []
    while True:
        page = services.sessions.sessions(session_filter, limit=SESSION_PAGE, offset=len(found))
        found += page
        if len(page) < SESSION_PAGE:
            return found


def _sessions(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    wards = {ward.code: ward.name for ward in services.venues.wards()}
    command = args.sessions_command
    if command == "log":
        return _log_session(args, services, wards, out)
    if command == "list":
        return _list_sessions(args, services, wards, out)
    if command == "show":
        return _show_session(args, services, wards, out)
    if command == "delete":
        session = services.sessions.get(_session_id(args.id))
        services.sessions.delete(session.id)
        print(f"Deleted the session of {_session_head(session)}", file=out)
        return 0
    if command == "follow-up-done":
        session = services.sessions.follow_up_done(_session_id(args.id), args.on)
        print(
            f"Marked the follow-up done on {_day(session.follow_up_done_on)}: {session.follow_up} "
            f"({_attendees_text(session.attendees, wards)}).",
            file=out,
        )
        return 0
    until = _today() + timedelta(days=args.days)
    due = services.sessions.follow_ups(until)
    if not due:
        print(f"No follow-up is due by {_day(until)}.", file=out)
        return 0
    rows = [["Due", "Follow-up", "Attendees", "Champions", "Session", "ID"]]
    rows += [
        [
            _day(session.follow_up_on),
            session.follow_up,
            _attendees_text(session.attendees, wards),
            session.champion_names,
            f"{_day(session.held_on)} {session.kind.label}",
            str(session.id),
        ]
        for session in due
    ]
    _print_table(rows, out)
    return 0


def _list_sessions(args: argparse.Namespace, services: Services, wards: dict[str, str], out: TextIO) -> int:
    session_filter = SessionFilter(
        month=args.month,
        champion_id=services.champions.find(args.champion).id if args.champion else None,
        venue_id=_venue(services, args.venue).id if args.venue else None,
        resident_reference=services.residents.get(args.resident).reference if args.resident else None,
    )
    found = _all_sessions(services, session_filter)
    if args.json:
        _print_json([session_json(session, wards) for session in found], out)
        return 0
    if not found:
        print("No sessions match.", file=out)
        return 0
    rows = [["Date", "Start", "Length", "Kind", "Venue", "Champions", "Attendees", "Topics", "ID"]]
    for session in found:
        who = [f"{a.reference} {a.name}" for a in session.attendees if a.reference]
        if unregistered := sum(1 for a in session.attendees if not a.reference):
            who.append(f"{unregistered} not registered")
        rows.append(
            [
                _day(session.held_on),
                f"{session.starts_at:%H:%M}",
                _duration(session.minutes),
                session.kind.label,
                session.venue_name,
                session.champion_names,
                ", ".join(who),
                session.topic_labels,
                str(session.id),
            ]
        )
    _print_table(rows, out)
    return 0


def _show_session(args: argparse.Namespace, services: Services, wards: dict[str, str], out: TextIO) -> int:
    session = services.sessions.get(_session_id(args.id))
    if args.json:
        _print_json(session_json(session, wards), out)
        return 0
    # The session keeps only the loan's id: find it among the attending residents' loans.
    loan = next(
        (
            loan
            for attendee in session.attendees
            if attendee.reference and session.loan_id
            for loan in services.lending.loans_of(attendee.reference)
            if loan.id == session.loan_id
        ),
        None,
    )
    follow_up = (
        f"{_day(session.follow_up_on)}: {session.follow_up}" if session.follow_up_on else session.follow_up
    )
    if session.follow_up_done_on is not None:
        follow_up += f" (done {_day(session.follow_up_done_on)})"
    fields = [
        ("ID", str(session.id)),
        ("When", f"{_day(session.held_on)} {session.starts_at:%H:%M}, {_duration(session.minutes)}"),
        ("Kind", session.kind.label),
        ("Venue", session.venue_name),
        ("Champions", session.champion_names),
        ("Attendees", _attendees_text(session.attendees, wards)),
        ("Topics", session.topic_labels),
        (
            "Loan",
            f"{loan.device_tag} to {loan.resident_reference}, issued {_stamp(loan.issued_at)[:10]}"
            if loan
            else "",
        ),
        ("Outcome", session.outcome),
        ("Follow-up", follow_up),
        ("Logged", f"{_stamp(session.logged_at)} by {session.logged_by}"),
    ]
    for name, value in fields:
        print(f"{name + ':':18}{value}".rstrip(), file=out)
    return 0


def _log_session(args: argparse.Namespace, services: Services, wards: dict[str, str], out: TextIO) -> int:
    now = _now()
    loan = _session_loan(services, args.loan_device, args.resident) if args.loan_device else None
    draft = SessionDraft(
        held_on=args.date or now.date(),
        starts_at=args.start or time(now.hour, now.minute - now.minute % 15),
        minutes=args.minutes,
        kind=SessionKind(args.kind),
        venue_id=_venue(services, args.venue).id if args.venue else None,
        champion_ids=tuple(services.champions.find(name).id for name in args.champion),
        resident_references=tuple(args.resident),
        anonymous=tuple(_anonymous(services, text) for text in args.anonymous),
        topics=frozenset(topic_from(value) for value in args.topic),
        loan_id=loan.id if loan else None,
        outcome=args.outcome,
        follow_up_on=args.follow_up_on,
        follow_up=args.follow_up,
    )
    session = services.sessions.log(draft)
    print(f"Logged the session: {_session_head(session)}", file=out)
    print(_session_attendees(session, wards), file=out)
    if loan is not None:
        print(f"About the loan of {loan.device_tag} to {loan.resident_reference}.", file=out)
    if session.follow_up_on is not None:
        print(f"Follow up on {_day(session.follow_up_on)}: {session.follow_up}", file=out)
    for attendee in session.attendees:
        if attendee.reference:
            status = services.residents.get(attendee.reference).inclusion_status
            print(f"Inclusion status of {attendee.reference} {attendee.name}: {status.label}.", file=out)
    return 0


def skills_check_json(check: SkillsCheck) -> dict[str, object]:
    return {
        "id": str(check.id),
        "checked_on": check.checked_on.isoformat(),
        "checked_by": check.checked_by,
        "baseline": check.baseline,
        "levels": {area.value: check.levels[area].value for area in SkillArea if area in check.levels},
        "areas_alone": check.areas_alone(),
        "own_device": check.own_device,
        "own_connection": check.own_connection,
        "note": check.note,
    }


def _skills_summary(checks: list[SkillsCheck]) -> str:
    """The latest skills check in a line, for the resident's page."""
    if not checks:
        return "none yet"
    latest = checks[-1]
    foundation = latest.levels.get(SkillArea.FOUNDATION)
    own = {
        (True, True): "own device and connection",
        (True, False): "own device, no connection of their own",
        (False, True): "own connection, no device of their own",
        (False, False): "no device or connection of their own",
    }[(latest.own_device, latest.own_connection)]
    history = (
        " (the baseline)"
        if latest.baseline
        else f" ({len(checks)} checks since {_day(checks[0].checked_on)})"
    )
    foundation_text = foundation.label.lower() if foundation else "not recorded"
    return (
        f"{_day(latest.checked_on)}{history}: Foundation {foundation_text}, "
        f"{latest.areas_alone()} of {len(LIFE_AREAS)} other areas alone; {own}"
    )


def _skills(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.skills_command == "record":
        return _record_skills(args, services, out)
    resident = services.residents.get(args.reference)
    checks = services.skills.checks_of(resident.reference)
    if args.json:
        _print_json(
            {
                "reference": resident.reference,
                "name": resident.name,
                "inclusion_status": resident.inclusion_status.value,
                "checks": [skills_check_json(check) for check in checks],
            },
            out,
        )
        return 0
    if not checks:
        print(
            f"{resident.reference} {resident.name} has no skills check yet: record one with "
            f"'digiknow-desk skills record {resident.reference} --foundation LEVEL ...'.",
            file=out,
        )
        return 0
    print(f"Skills checks of {resident.reference} {resident.name}, oldest first:", file=out)
    rows = [["Area", *(_day(c.checked_on) + (" (baseline)" if c.baseline else "") for c in checks)]]
    rows += [
        [area.label, *(c.levels[area].label if area in c.levels else "" for c in checks)]
        for area in SkillArea
    ]
    rows += [
        ["Other areas done alone", *(f"{c.areas_alone()} of {len(LIFE_AREAS)}" for c in checks)],
        ["Own device", *(_yes_no(c.own_device) for c in checks)],
        ["Own connection", *(_yes_no(c.own_connection) for c in checks)],
        ["Checked by", *(c.checked_by for c in checks)],
    ]
    _print_table(rows, out)
    for check in checks:
        if check.note:
            print(f"Note of {_day(check.checked_on)}: {check.note}", file=out)
    print(f"Inclusion status: {resident.inclusion_status.label}.", file=out)
    return 0


def _record_skills(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    levels: dict[SkillArea, SkillLevel] = {}
    problems: dict[str, str] = {}
    for area in SkillArea:
        text = getattr(args, area.value)
        level = next(
            (level for level in SkillLevel if level.value == text.strip().lower().replace("-", "_")), None
        )
        if level is None:
            problems[area.value] = (
                f"{_area_flag(area)} '{text}' is not a level: use alone, with_help or not_yet."
            )
        else:
            levels[area] = level
    if problems:
        raise ValidationError(problems)
    resident = services.residents.get(args.reference)
    check = services.skills.record(
        resident.reference,
        SkillsCheckDraft(
            levels=levels,
            checked_on=args.date or _today(),
            own_device=args.own_device,
            own_connection=args.own_connection,
            note=args.note,
        ),
    )
    baseline = " (their baseline)" if check.baseline else ""
    print(
        f"Recorded the skills check of {resident.reference} {resident.name} on {_day(check.checked_on)}"
        f"{baseline}:",
        file=out,
    )
    rows = [[f"  {area.label}:", check.levels[area].label] for area in SkillArea]
    rows += [
        ["  Own device:", _yes_no(check.own_device)],
        ["  Own connection:", _yes_no(check.own_connection)],
    ]
    _print_table(rows, out)
    status = services.residents.get(resident.reference).inclusion_status
    print(f"Inclusion status: {status.label}.", file=out)
    return 0


def _inclusion(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    inclusion = services.inclusion
    command = args.inclusion_command
    if command == "recompute":
        changed = inclusion.recompute_all()
        print(f"Worked out every resident's inclusion status again: {_statuses_changed(changed)}.", file=out)
        return 0
    rule = inclusion.rule()
    if command == "counts":
        counts = inclusion.counts()
        total = sum(counts.values())
        if args.json:
            _print_json(
                {
                    "rule": rule.describe(),
                    "counts": {status.value: count for status, count in counts.items()},
                    "total": total,
                },
                out,
            )
            return 0
        rows = [["Inclusion status", "Residents"]]
        rows += [[status.label, f"{count:,}"] for status, count in counts.items()]
        rows.append(["All residents", f"{total:,}"])
        _print_table(rows, out)
        print(f"The rule: {rule.describe()}", file=out)
        return 0
    if args.inclusion_rule_command == "set":
        if args.foundation is None and args.areas_alone is None and args.loans_count is None:
            raise DomainError(
                "Say what to change: --foundation alone|with_help, --areas-alone N, --loans-count or "
                "--loans-do-not-count."
            )
        changed = inclusion.set_rule(
            InclusionRule(
                foundation=SkillLevel(args.foundation) if args.foundation else rule.foundation,
                areas_alone=(
                    rule.areas_alone
                    if args.areas_alone is None
                    else _whole_number(args.areas_alone, "--areas-alone")
                ),
                loans_count_as_access=rule.loans_count_as_access
                if args.loans_count is None
                else args.loans_count,
            )
        )
        rule = inclusion.rule()
        print(f"Saved the inclusion rule: {_statuses_changed(changed)}.", file=out)
    print(rule.describe(), file=out)
    rows = [
        ["Foundation skills:", "alone" if rule.foundation is SkillLevel.ALONE else "at least with help"],
        ["Other areas done alone:", f"at least {rule.areas_alone} of {len(LIFE_AREAS)}"],
        ["Loans count as access:", _yes_no(rule.loans_count_as_access)],
    ]
    _print_table(rows, out)
    return 0


def _report(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    month = args.month or (_now().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    report = services.reports.save_monthly(month, args.out, args.csv)
    if args.json:
        _print_json(services.reports.as_json(report), out)
        return 0
    headline = report.headline
    name = f"{month:%B %Y}"
    saved = f"{args.out}" + (f" and its figures to {args.csv}" if args.csv is not None else "")
    print(f"Saved the monthly report for {name} to {saved}.", file=out)
    way = headline.percent_of_the_way
    end = (
        f"{report.produced_at.astimezone().day} {name} (the month so far)"
        if month_so_far(report.month, report.produced_at)
        else f"the end of {name}"
    )
    print(
        f"Digitally included at {end}: {shown(headline.included)}"
        + (f", {way:.1f}% of the way to 100%" if way is not None else "")
        + f" (an estimated {shown(headline.estimated_excluded)} residents are digitally excluded).",
        file=out,
    )
    print(
        f"Newly included: {shown(headline.newly_included_month)} this month, "
        f"{shown(headline.newly_included_year)} since 1 April {report.financial_year_start.year}; "
        f"no longer included: {shown(headline.no_longer_included)}.",
        file=out,
    )
    return 0


# Staff accounts and the audit trail


def _new_password(username: str) -> str:
    password = os.environ.get(NEW_PASSWORD_ENV)
    if password is not None:
        return password
    password = getpass.getpass(f"New password for {username}: ")
    if getpass.getpass("The same again: ") != password:
        raise DomainError("The two passwords differ; nothing was changed. Run the command again.")
    return password


def account_json(account: StaffAccount) -> dict[str, object]:
    return {
        "username": account.username,
        "name": account.display_name,
        "role": account.role.value,
        "active": account.active,
        "champion_id": str(account.champion_id) if account.champion_id else None,
        "created_at": account.created_at.isoformat(),
        "last_signed_in_at": account.last_signed_in_at.isoformat() if account.last_signed_in_at else None,
        "locked_until": account.locked_until.isoformat() if account.locked_until else None,
    }


def _users(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    service = services.accounts
    command = args.users_command
    if command == "list":
        accounts = service.accounts()
        if args.json:
            _print_json([account_json(account) for account in accounts], out)
            return 0
        rows = [["User name", "Name", "Role", "Active", "Last signed in"]]
        rows += [
            [
                account.username,
                account.display_name,
                account.role.label,
                "yes" if account.active else "no",
                _stamp(account.last_signed_in_at) or "never",
            ]
            for account in accounts
        ]
        _print_table(rows, out)
        return 0
    if command == "add":
        champion_id = services.champions.find(args.champion).id if args.champion else None
        role = Role(args.role)
        password = _new_password(args.username)
        if (
            services.desk.staff is not None
            and services.desk.staff.username == ""
            and role == Role.ADMINISTRATOR
        ):
            # No accounts yet: this is the first administrator.
            member = service.create_first_administrator(args.username, args.name, password)
            print(f"Added {member.username} ({member.display_name}), the first administrator.", file=out)
            print(f"From now on, commands need --user NAME and the password (or ${PASSWORD_ENV}).", file=out)
            return 0
        account = service.add(args.username, args.name, role, password, champion_id=champion_id)
        print(f"Added {account.username} ({account.display_name}), {account.role.label}.", file=out)
        return 0
    if command in ("disable", "enable"):
        account = service.set_active(args.username, command == "enable")
        print(f"{account.username} is {'enabled' if account.active else 'disabled'}.", file=out)
        return 0
    if command == "role":
        account = service.set_role(args.username, Role(args.role))
        print(f"{account.username} is now {account.role.label}.", file=out)
        return 0
    account = service.reset_password(args.username, _new_password(args.username))
    print(f"{account.username} has a new password and is unlocked; ask them to change it.", file=out)
    return 0


def _audit(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    chosen = AuditFilter(
        username=args.by, action=args.action, subject=args.subject, from_day=args.from_day, to_day=args.to_day
    )
    if args.audit_command == "export":
        count = services.audit.export_csv(args.out, chosen)
        print(f"Wrote {count} audit entries to {args.out}.", file=out)
        return 0
    entries = services.audit.entries(chosen, limit=args.limit)
    if args.json:
        _print_json([entry.as_json() for entry in entries], out)
        return 0
    if not entries:
        print("No audit entries match.", file=out)
        return 0
    rows = [["When", "Who", "Machine", "Action", "About", "Details"]]
    rows += [
        [
            _stamp(entry.at),
            entry.username or entry.staff_name,
            entry.machine,
            entry.action,
            entry.subject,
            "(removed)"
            if entry.redacted
            else json.dumps(entry.details, ensure_ascii=False)
            if entry.details
            else "",
        ]
        for entry in entries
    ]
    _print_table(rows, out)
    return 0


def _retention(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    service = services.data_protection
    if args.retention_command == "set":
        policy = service.set_retention(args.months)
        print(
            f"Residents' personal data is now kept {policy.months} months after their last activity.",
            file=out,
        )
        return 0
    if args.retention_command == "show":
        policy = service.retention()
        due = service.due_for_retention()
        print(
            f"Residents' personal data is kept {policy.months} months after their last activity; "
            f"{len(due)} resident{'s are' if len(due) != 1 else ' is'} due to be anonymised now.",
            file=out,
        )
        return 0
    run = service.run_retention()
    print(
        f"Anonymised {len(run.anonymised)} residents with no activity since before {run.inactive_since}"
        + (
            f"; kept {run.kept_active} who still have a device or a place on the waiting list."
            if run.kept_active
            else "."
        ),
        file=out,
    )
    return 0


def _backup(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    made = services.backups.backup_now(args.out or config.backup_dir)
    print(f"Backed up to {made.path} ({made.size_bytes / 1_000_000:.1f} MB).", file=out)
    return 0


def _venue_setup(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    """Sign in on the server (--user is a server account), then make the copy at --db."""
    target = sqlite_file(config.db_url)
    if target is None or not config.db_named:
        raise DomainError("Name the venue copy's new file with --db, e.g. --db C:\\DigiKnow\\bramhall.db.")
    server = open_database(
        dataclasses.replace(config, db_url=database_url(args.server), passphrase=None), create=False
    )
    try:
        services = build_services(server, staff=None)
        _sign_in(args, services)
        made = services.sync.set_up_venue_copy(
            args.venue, target, server_url=args.server, passphrase=config.passphrase
        )
    finally:
        server.dispose()
    print(
        f"Set up {made.path} as the venue copy for {made.venue}: {made.residents:,} residents, "
        f"{made.devices:,} devices, {made.rows:,} rows in all. It works offline; run 'sync' when online.",
        file=out,
    )
    return 0


def _sync(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    done = services.sync.sync(args.server)
    rows = f"{done.received:,} row{'' if done.received == 1 else 's'}"
    print(f"Sent {_changes(done.sent)} to {done.server} and received {rows}.", file=out)
    if done.conflicts:
        print(
            f"Of them, {_changes(done.conflicts)} could not be applied as things stand on the server, and "
            "are kept as conflicts for a coordinator ('conflicts list' on the server).",
            file=out,
        )
    return 0


def _changes(count: int) -> str:
    return f"{count:,} change{'' if count == 1 else 's'}"


def _conflicts(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.conflicts_command == "list":
        found = services.sync.conflicts(include_resolved=args.all)
        if args.json:
            _print_json([conflict_json(conflict) for conflict in found], out)
            return 0
        if not found:
            print("No conflicts to resolve." if not args.all else "No conflicts.", file=out)
            return 0
        for conflict in found:
            state = (
                f"resolved ({conflict.resolution}) by {conflict.resolved_by}"
                if conflict.resolved_at
                else "open"
            )
            where = f"{conflict.venue} ({conflict.computer})"
            print(f"{str(conflict.id)[:8]}  {_stamp(conflict.detected_at)}  {where}  {state}", file=out)
            print(f"    {conflict.summary}", file=out)
        return 0
    wanted = args.id.strip().lower()
    matches = [c for c in services.sync.conflicts(include_resolved=True) if str(c.id).startswith(wanted)]
    if len(matches) != 1 or len(wanted) < 4:
        raise DomainError(
            f"No conflict has the id '{args.id}'. 'conflicts list' shows them."
            if not matches
            else f"More than one conflict starts '{args.id}': give more of the id."
        )
    resolved = services.sync.resolve(matches[0].id, args.keep)
    kept = "the server's version" if args.keep == "server" else "the venue's version"
    print(f"Resolved {str(resolved.id)[:8]}: kept {kept}.", file=out)
    return 0


def conflict_json(conflict: Conflict) -> dict[str, object]:
    return {
        "id": str(conflict.id),
        "venue": conflict.venue,
        "computer": conflict.computer,
        "detected_at": conflict.detected_at.isoformat(),
        "summary": conflict.summary,
        "venue_changes": [dataclasses.asdict(change) for change in conflict.changes],
        "server_rows": list(conflict.server_rows),
        "resolved_at": conflict.resolved_at.isoformat() if conflict.resolved_at else None,
        "resolved_by": conflict.resolved_by,
        "resolution": conflict.resolution,
    }


def _restore(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    restored = services.backups.restore(args.file)
    print(f"Restored {args.file}. The database as it was is kept at {restored.previous_kept_at}.", file=out)
    # Opened once more, so that a backup made by an older version is upgraded now, and the erasures made
    # since the backup are made again.
    services.database.dispose()
    reopened = open_database(config, create=False)
    try:
        erasures = erase_again_after_restore(reopened, restored.previous_kept_at)
    finally:
        reopened.dispose()
    if erasures.erased_again:
        print(f"Erased again, as before the restore: {', '.join(erasures.erased_again)}.", file=out)
    if erasures.still_to_erase:
        print(
            f"Still to erase (refused for now, e.g. a device on loan in the backup): "
            f"{', '.join(erasures.still_to_erase)}. Erase them once that is settled.",
            file=out,
        )
    return 0


_HANDLERS: dict[str, Callable[[argparse.Namespace, Services, Config, TextIO], int]] = {
    "init": _init,
    "demo-data": _demo_data,
    "devices": _devices,
    "venues": _venues,
    "wards": _wards,
    "rules": _rules,
    "residents": _residents,
    "loans": _loans,
    "waitlist": _waitlist,
    "sims": _sims,
    "champions": _champions,
    "hours": _hours,
    "sessions": _sessions,
    "skills": _skills,
    "inclusion": _inclusion,
    "print": _print,
    "report": _report,
    "labels": _labels,
    "export": _export,
    "import": _import,
    "users": _users,
    "audit": _audit,
    "retention": _retention,
    "backup": _backup,
    "restore": _restore,
    "sync": _sync,
    "conflicts": _conflicts,
}
