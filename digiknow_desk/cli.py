"""The command line for admin and scripting work; it calls the same services as the GUI."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
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
)
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.venues import VenueDraft
from digiknow_desk.services.demo import DEFAULT_DEVICES
from digiknow_desk.services.labels import LabelRequest

CREATING_COMMANDS = {"init", "demo-data"}


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date: use YYYY-MM-DD, e.g. 2025-09-01"
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

    venues = commands.add_parser("venues", help="list and add venues").add_subparsers(
        dest="venues_command", metavar="ACTION", required=True
    )
    venues.add_parser("list", help="list venues")
    venue_add = venues.add_parser("add", help="add a venue")
    venue_add.add_argument("name")
    venue_add.add_argument("--ward", required=True, help="the ward's name or ONS code, e.g. 'Reddish North'")

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
    summary = services.demo.fill(devices=args.devices, months=args.months, seed=args.seed)
    print(f"Added {summary.venues_added} venues and {summary.devices_added} devices.", file=out)
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
    device = inventory.change_status(args.tag, DeviceStatus(args.status), args.reason)
    print(f"{device.tag} is now {device.status.label.lower()}.", file=out)
    return 0


def _venues(args: argparse.Namespace, services: Services, config: Config, out: TextIO) -> int:
    if args.venues_command == "list":
        venues = services.venues.venues()
        if not venues:
            print("No venues yet: add one with 'digiknow-desk venues add NAME --ward WARD'.", file=out)
        for venue in venues:
            print(f"{venue.name}  ({venue.ward_name}){'' if venue.active else '  [closed]'}", file=out)
        return 0
    wards = services.venues.wards()
    wanted = args.ward.strip().lower()
    ward = next((w for w in wards if wanted in (w.code.lower(), w.name.lower())), None)
    if ward is None:
        raise DomainError(f"There is no ward '{args.ward}'. Wards: {', '.join(w.name for w in wards)}.")
    venue = services.venues.add(VenueDraft(name=args.name, ward_code=ward.code))
    print(f"Added {venue.name} in {venue.ward_name}.", file=out)
    return 0


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


_HANDLERS: dict[str, Callable[[argparse.Namespace, Services, Config, TextIO], int]] = {
    "init": _init,
    "demo-data": _demo_data,
    "devices": _devices,
    "venues": _venues,
    "labels": _labels,
    "export": _export,
    "import": _import,
}
