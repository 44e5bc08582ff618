"""The command line for admin and scripting work; it calls the same services as the GUI."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from digiknow_desk import __version__
from digiknow_desk.app import Services, build_services, current_actor, open_database
from digiknow_desk.config import Config
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
from digiknow_desk.domain.loans import (
    DataPlan,
    Loan,
    LoanOutcome,
    WaitEntry,
    WaitStatus,
    WipeChecklist,
    WipeMethod,
)
from digiknow_desk.domain.postcodes import is_postcode_key, postcode_key
from digiknow_desk.domain.residents import (
    AgeBand,
    ConsentPurpose,
    ReferralReason,
    Resident,
    ResidentDraft,
    normalise_postcode,
)
from digiknow_desk.domain.venues import VenueDraft, Ward
from digiknow_desk.services.demo import BULK_RESIDENTS, DEFAULT_DEVICES, DEFAULT_RESIDENTS
from digiknow_desk.services.labels import LabelRequest
from digiknow_desk.services.residents import PossibleDuplicate

CREATING_COMMANDS = {"init", "demo-data"}
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


def _positive(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 0 or more")
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
    return parser


def _add_ward_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Stockport's 21 wards, and the postcode-to-ward table that suggests a resident's ward."""
    wards = commands.add_parser(
        "wards", help="Stockport's wards and the postcode-to-ward table"
    ).add_subparsers(dest="wards_command", metavar="ACTION", required=True)
    wards.add_parser("list", help="the 21 wards with their ONS codes and populations").add_argument(
        "--json", action="store_true"
    )
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
        database = open_database(config, create=args.command in CREATING_COMMANDS)
        try:
            services = build_services(database, actor=current_actor())
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


def _init(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    print(f"The database is ready: {services.database.display_name}", file=out)
    return 0


def _demo_data(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    summary = services.demo.fill(
        devices=args.devices, months=args.months, seed=args.seed, residents=args.residents
    )
    if not summary.residents_added:
        print(f"Added {summary.venues_added} venues and {summary.devices_added} devices.", file=out)
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
    return 0


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
        venue_id = None
        if args.venue:
            venue = next(
                (v for v in services.venues.venues() if v.name.lower() == args.venue.strip().lower()), None
            )
            if venue is None:
                known = ", ".join(v.name for v in services.venues.venues()) or "none yet"
                raise DomainError(f"There is no venue called '{args.venue}'. Venues: {known}.")
            venue_id = venue.id
        draft = DeviceDraft(
            tag=args.tag or inventory.next_tag(device_type),
            device_type=device_type,
            make=args.make,
            model=args.model,
            serial=args.serial,
            os=args.os,
            condition=Condition(args.condition),
            home_venue_id=venue_id,
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
    }
    if sensitive:
        record["disability"] = resident.disability.value if resident.disability else None
        record["ethnicity"] = resident.ethnicity
        record["on_benefits"] = resident.on_benefits.value if resident.on_benefits else None
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


def _residents(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
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
            rows = [["Reference", "Name", "Postcode", "Ward", "Contact"]]
            rows += [[r.reference, r.name, r.postcode, r.ward_name, r.contact] for r in found]
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
    loans = services.lending.loans_of(resident.reference)
    waits = [
        (entry, place)
        for entry, place in _places(services.lending.waiting_list())
        if entry.resident_reference == resident.reference
    ]
    today = _today()
    if args.json:
        record = resident_json(resident, sensitive=True)
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
    ]
    for name, value in fields:
        print(f"{name + ':':18}{value}".rstrip(), file=out)
    for entry, place in waits:
        held = (
            f", offered {entry.offered_tag} until {_day(entry.offer_expires_on)}" if entry.offered_tag else ""
        )
        print(f"{'Waiting for:':18}{entry.device_type.label} (number {place}{held})", file=out)
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
        loan = lending.return_device(
            args.device,
            kit_back=args.kit_back,
            condition=condition,
            fault=args.fault,
            returned_at=args.at,
            late_reason=args.late_reason,
        )
        print(f"Returned {loan.device_tag} from {loan.resident_reference} {loan.resident_name}.", file=out)
        if missing := [line.name for line in loan.kit if line.out and not line.back]:
            print(f"Missing: {', '.join(missing)} (recorded on the loan).", file=out)
        if loan.fault:
            print(f"Fault: {loan.fault}", file=out)
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
    "print": _print,
    "labels": _labels,
    "export": _export,
    "import": _import,
}
