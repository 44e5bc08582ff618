"""Device CSV files: export the whole inventory, and import our own export or a Snipe-IT asset export.

An import checks every row before it changes anything, and then adds all the good devices in one
transaction or none of them. Problems with the file as a whole raise `ImportRefused`; problems with a
row are reported with the line number a person sees in a text editor (the header is line 1).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from digiknow_desk.domain.devices import (
    AcquisitionSource,
    Condition,
    Device,
    DeviceDraft,
    DeviceStatus,
    DeviceType,
    normalise_tag,
)
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.spreadsheet import from_spreadsheet_safe, spreadsheet_safe
from digiknow_desk.domain.staff import Permission
from digiknow_desk.domain.venues import Venue
from digiknow_desk.services.context import ServiceContext, requires
from digiknow_desk.services.csv_files import (
    ImportRefused,
    choose_encoding,
    header_key,
    records,
    refuse_unreadable,
    shown,
    sniff_delimiter,
)
from digiknow_desk.services.files import write_csv
from digiknow_desk.services.inventory import (
    STARTING_STATUSES,
    InventoryService,
    devices_query,
    load_devices,
    taken,
)
from digiknow_desk.services.venues import VenueService
from digiknow_desk.storage.models import DeviceRow

OWN_FORMAT = "DigiKnow Desk export"
SNIPE_IT_FORMAT = "Snipe-IT asset export"
MAX_ROWS = 100_000
KIT_SEPARATOR = "; "

EXPORT_COLUMNS = (
    "Asset tag",
    "Type",
    "Make",
    "Model",
    "Serial",
    "OS",
    "Condition",
    "Status",
    "Home venue",
    "Current venue",
    "Source",
    "Acquired on",
    "Kit",
    "Notes",
)


@dataclass(frozen=True)
class RowProblem:
    """Why one row of an import file was not accepted. `line` is as a text editor numbers it."""

    line: int
    tag: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """What an import found and did, for the CLI to print and the GUI to show."""

    format_name: str
    rows_read: int
    to_import: tuple[str, ...]
    rejected: tuple[RowProblem, ...]
    warnings: tuple[str, ...]
    imported: int
    dry_run: bool = False

    def summary(self) -> str:
        """Plain-English lines: the counts, what happens next, every rejected row, every warning."""
        good = len(self.to_import)
        parts = [f"{_plural(self.rows_read, 'row')} read"]
        advice = ""
        if self.dry_run:
            parts.append(f"{_plural(good, 'device')} would be imported")
            if self.rejected:
                parts.append(f"{_plural(len(self.rejected), 'row')} rejected")
        elif self.imported:
            parts.append(f"{_plural(self.imported, 'device')} imported")
            if self.rejected:
                parts.append(f"{_plural(len(self.rejected), 'row')} rejected and left out")
        elif self.rejected:
            parts.append(f"{_plural(len(self.rejected), 'row')} rejected, so nothing was imported")
        else:
            parts.append("no devices imported")
        if self.rejected and not self.imported and good:
            advice = (
                "Fix the rejected rows and import the file again, or import just the "
                f"{_plural(good, 'good row')} ('--good-rows' on the command line, "
                "'Import the good rows' in the app)."
            )
        elif self.rejected and not good:
            advice = "Fix the rejected rows and import the file again."
        lines = [f"{self.format_name}: {'; '.join(parts)}."]
        if self.dry_run:
            lines.append("This was a check only (dry run): nothing was changed.")
        if advice:
            lines.append(advice)
        if self.rejected:
            lines.append(f"{_plural(len(self.rejected), 'row')} rejected:")
            for problem in self.rejected:
                where = f"line {problem.line}" + (f" ({problem.tag})" if problem.tag else "")
                lines.append(f"  {where}: {problem.reason}")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {warning}" for warning in self.warnings)
        return "\n".join(lines)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _column_letters(index: int) -> str:
    """The spreadsheet name of a 0-based column: A, B, ..., Z, AA, AB, ..."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


# Reading the columns


@dataclass
class _Columns:
    """Where each field's column is in the header, and what the header held that we do not use."""

    source: Path
    header: list[str]
    found: dict[str, list[str]]  # field -> the header keys present for it, best first
    positions: dict[str, list[int]]  # header key -> its column positions (several when duplicated)
    agreeing_duplicates: set[str] = field(default_factory=set)

    def cell(self, cells: Sequence[str], name: str, line: int) -> str:
        """The field's value on this row: that of the first of its columns with one."""
        return next(iter(self.cells(cells, name, line)), "")

    def cells(self, cells: Sequence[str], name: str, line: int) -> list[str]:
        """The distinct non-empty values of all the field's columns (e.g. 'Asset Notes' and 'Notes')."""
        values: list[str] = []
        for key in self.found.get(name, ()):
            value = self._value(cells, key, line)
            if value and value not in values:
                values.append(value)
        return values

    def _value(self, cells: Sequence[str], key: str, line: int) -> str:
        """The cell under the heading `key`; when the heading is repeated, the copies must agree."""
        positions = self.positions[key]
        values = {cells[i].strip() for i in positions}
        if len(values) > 1:
            columns = " and ".join(_column_letters(i) for i in positions)
            raise ImportRefused(
                f"{self.source.name} has {len(positions)} columns called "
                f"'{self.header[positions[0]].strip()}' (columns {columns}), and on line {line} they "
                "differ, so it is not clear which to use. Delete the wrong column and import again."
            )
        if len(positions) > 1:
            self.agreeing_duplicates.add(key)
        return values.pop()


def _columns(source: Path, header: list[str], aliases: dict[str, tuple[str, ...]]) -> _Columns:
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        positions.setdefault(header_key(name), []).append(index)
    found = {name: [key for key in keys if key in positions] for name, keys in aliases.items() if keys}
    return _Columns(source, header, {name: keys for name, keys in found.items() if keys}, positions)


# Values


_E = TypeVar("_E", bound=StrEnum)


def _enum_value(enum_class: type[_E], text: str) -> _E | None:
    """The member whose value or label (any case) is `text`, e.g. 'MiFi / dongle' or 'mifi'."""
    wanted = " ".join(text.replace("_", " ").split()).casefold()
    for member in enum_class:
        names = {member.value.replace("_", " "), str(getattr(member, "label", member.value))}
        if wanted in {" ".join(name.split()).casefold() for name in names}:
            return member
    return None


def _labels(members: Iterable[StrEnum]) -> str:
    return ", ".join(str(getattr(member, "label", member.value)) for member in members)


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_SLASH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")


def _parse_date(text: str, *, month_first: bool, today: date) -> date:
    """A date from ISO yyyy-mm-dd, or d/m/yyyy (our files, UK Excel) or m/d/yy(yy) (Snipe-IT, US)."""
    if match := _ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _SLASH_DATE.match(text):
        first, second, year_text = match.groups()
        month, day = (int(first), int(second)) if month_first else (int(second), int(first))
        year = int(year_text)
        if len(year_text) == 2:
            year += 2000 if 2000 + year <= today.year else 1900
    else:
        raise ValueError("not a date")
    return date(year, month, day)


def _kind_of_device(*texts: str) -> DeviceType | None:
    """The device type that a Snipe-IT category or model name names, by keyword; None if none does."""
    for text in texts:
        words = set(re.findall(r"[a-z0-9]+", text.casefold()))
        words |= {word[:-1] for word in words if word.endswith("s")}
        for device_type, keywords in _TYPE_KEYWORDS:
            if words & keywords:
                return device_type
    return None


# Checked in this order: "Laptop accessories" is an accessory, "Mobile hotspot" is a MiFi.
_TYPE_KEYWORDS: tuple[tuple[DeviceType, frozenset[str]], ...] = (
    (DeviceType.ACCESSORY, frozenset({"accessory", "accessorie", "charger", "headset", "headphone"})),
    (DeviceType.CHROMEBOOK, frozenset({"chromebook"})),
    (DeviceType.MIFI, frozenset({"mifi", "dongle", "hotspot", "router", "modem"})),
    (DeviceType.DATA_SIM, frozenset({"sim", "simcard", "esim"})),
    (DeviceType.TABLET, frozenset({"tablet", "ipad", "tab"})),
    (
        DeviceType.LAPTOP,
        frozenset({"laptop", "notebook", "macbook", "thinkpad", "ideapad", "elitebook", "probook"}),
    ),
    (DeviceType.PHONE, frozenset({"phone", "smartphone", "mobile", "iphone", "handset"})),
)
_KINDS_UNDERSTOOD = (
    "Rows whose Category names no kind of device were rejected. DigiKnow Desk understands categories "
    "(or model names) with tablet/iPad, laptop/notebook/MacBook, Chromebook, phone/mobile, "
    "MiFi/dongle/hotspot/router, SIM or accessory in them: change those Categories and import again."
)

# Snipe-IT's status labels (its defaults and common custom ones) as our starting statuses; None
# means "deployed": the device is with someone, and loans are recorded at the desk, not imported.
_SNIPE_IT_STATUSES: dict[str, DeviceStatus | None] = {
    "ready to deploy": DeviceStatus.AVAILABLE,
    "deployable": DeviceStatus.AVAILABLE,
    "available": DeviceStatus.AVAILABLE,
    "ready": DeviceStatus.AVAILABLE,
    "in stock": DeviceStatus.AVAILABLE,
    "pending": DeviceStatus.IN_REPAIR,
    "pending diagnostics": DeviceStatus.IN_REPAIR,
    "out for diagnostics": DeviceStatus.IN_REPAIR,
    "out for repair": DeviceStatus.IN_REPAIR,
    "in repair": DeviceStatus.IN_REPAIR,
    "broken": DeviceStatus.IN_REPAIR,
    "broken - not fixable": DeviceStatus.RETIRED,
    "undeployable": DeviceStatus.IN_REPAIR,
    "lost": DeviceStatus.QUARANTINED,
    "stolen": DeviceStatus.QUARANTINED,
    "lost/stolen": DeviceStatus.QUARANTINED,
    "missing": DeviceStatus.QUARANTINED,
    "archived": DeviceStatus.RETIRED,
    "retired": DeviceStatus.RETIRED,
    "disposed": DeviceStatus.RETIRED,
    "recycled": DeviceStatus.RETIRED,
    "deployed": None,
    "checked out": None,
    "assigned": None,
    "on loan": None,
}

# Columns of a Snipe-IT export that describe people. They are never read, not even into notes.
_PERSONAL_COLUMNS = frozenset(
    {
        "full name",
        "first name",
        "last name",
        "email",
        "username",
        "employee number",
        "employee num",
        "phone",
        "user",
        "assigned to",
        "checked out to",
        "checked out",
    }
)
_CHECKED_OUT_TO_LOCATION = "checked out to: location"


def _is_personal(key: str) -> bool:
    return key in _PERSONAL_COLUMNS or (key.startswith("checked out to") and key != _CHECKED_OUT_TO_LOCATION)


_EXCEL_NUMBER = re.compile(r"^\d(?:\.\d+)?E\+\d+$", re.IGNORECASE)

_OWN_ALIASES: dict[str, tuple[str, ...]] = {
    name: (header_key(column),)
    for name, column in zip(
        (
            "tag",
            "type",
            "make",
            "model",
            "serial",
            "os",
            "condition",
            "status",
            "home",
            "current",
            "source",
            "acquired",
            "kit",
            "notes",
        ),
        EXPORT_COLUMNS,
        strict=True,
    )
}
_SNIPE_IT_ALIASES: dict[str, tuple[str, ...]] = {
    "tag": ("asset tag",),
    "category": ("category",),
    "model": ("model name", "model"),
    "make": ("manufacturer",),
    "serial": ("serial", "serial number"),
    "os": ("operating system", "os"),
    "location": ("location", "default location"),
    "purchased": ("purchase date",),
    "notes": ("asset notes", "notes"),
    "status": ("status", "status label"),
    "checkout_type": ("checkout type",),
    "checked_out_location": (_CHECKED_OUT_TO_LOCATION,),
    "cost": ("purchase cost",),
}


# One row on its way in


@dataclass
class _Candidate:
    line: int
    tag: str
    draft: DeviceDraft | None
    status: DeviceStatus
    problems: list[str]


class _ImportState:
    """What reading the rows needs and gathers: venues by name, unknown venue names, advice.

    Advice that applies to many rows is said once, as a warning, so each row's reason stays short.
    """

    def __init__(self, venues: Sequence[Venue]) -> None:
        self._by_name = {header_key(venue.name): venue for venue in venues}
        self.unknown: dict[str, int] = {}
        self.advice: dict[str, None] = {}  # an ordered set

    def venue(self, name: str, column: str, problems: list[str]) -> uuid.UUID | None:
        """The id of the venue called `name` (any case); None, with a problem, when there is none."""
        if not name:
            return None
        venue = self._by_name.get(header_key(name))
        if venue is None:
            spaced = " ".join(name.split())
            self.unknown[spaced] = self.unknown.get(spaced, 0) + 1
            problems.append(
                f"Unknown venue {shown(name)}: add it in Settings > Venues first, or leave {column} empty."
            )
            return None
        return venue.id


class DeviceCsvService:
    def __init__(self, context: ServiceContext, inventory: InventoryService, venues: VenueService) -> None:
        self._context = context
        self._inventory = inventory
        self._venues = venues

    # Export

    @requires(Permission.SEE_DEVICES)
    def export_devices(self, out: Path) -> int:
        """Write every device, retired ones too, to `out` as CSV UTF-8; return how many.

        The file appears complete or not at all: it is written beside `out` and then moved into place.
        """
        with self._context.db.read() as session:
            devices = load_devices(session, devices_query().order_by(DeviceRow.tag))

        write_csv(out, EXPORT_COLUMNS, (_export_cells(device) for device in devices))
        return len(devices)

    # Import

    @requires(Permission.MANAGE_DEVICES)
    def import_devices(
        self, source: Path, *, dry_run: bool = False, import_good_rows: bool = False
    ) -> ImportReport:
        """Check every row of `source`, then add the devices: all, the good ones, or (dry run) none."""
        encoding, encoding_warning = choose_encoding(source)
        warnings: list[str] = [encoding_warning] if encoding_warning else []
        state = _ImportState(self._venues.venues())
        try:
            with source.open("r", encoding=encoding, newline="") as text:
                first_line = text.readline()
                csv_records = records(
                    source, itertools.chain([first_line], text), sniff_delimiter(first_line)
                )
                format_name, candidates = self._read_rows(source, csv_records, state, warnings)
        except OSError as error:
            raise refuse_unreadable(source, error) from error
        except UnicodeDecodeError as error:  # only if the file changed since it was checked
            raise ImportRefused(f"{source.name} changed while it was read; import it again.") from error
        self._check_against_inventory(candidates)
        warnings.extend(state.advice)
        if state.unknown:
            names = [f"'{name}' ({_plural(count, 'row')})" for name, count in state.unknown.items()]
            if len(names) > 10:
                names[10:] = [f"and {len(names) - 10} more"]
            warnings.append(
                f"Unknown venues: {', '.join(names)}. Add them in Settings > Venues (same names), then "
                "import again."
            )
        good = [c for c in candidates if not c.problems and c.draft is not None]
        rejected = tuple(
            RowProblem(line=c.line, tag=c.tag, reason=" ".join(c.problems)) for c in candidates if c.problems
        )
        imported = 0
        if good and not dry_run and (import_good_rows or not rejected):
            entries = [(c.draft, c.status) for c in good if c.draft is not None]
            try:
                imported = len(self._inventory.add_with_statuses(entries, f"Imported from {source.name}"))
            except ValidationError as error:
                raise ImportRefused(
                    "The inventory changed while the file was checked (another device took a tag or "
                    f"serial in it), so nothing was imported: {error} Import the file again."
                ) from error
        return ImportReport(
            format_name=format_name,
            rows_read=len(candidates),
            to_import=tuple(c.tag for c in good),
            rejected=rejected,
            warnings=tuple(warnings),
            imported=imported,
            dry_run=dry_run,
        )

    def _read_rows(
        self,
        source: Path,
        records: Iterator[tuple[int, list[str]]],
        state: _ImportState,
        warnings: list[str],
    ) -> tuple[str, list[_Candidate]]:
        header_record = next(records, None)
        if header_record is None:
            raise ImportRefused(f"{source.name} is empty: there is nothing to import.")
        _header_line, header = header_record
        keys = {header_key(name) for name in header}
        row_reader: Callable[[_Columns, int, list[str], _ImportState], _Candidate]
        if "asset tag" in keys and "type" in keys:
            format_name, aliases, row_reader = OWN_FORMAT, _OWN_ALIASES, self._own_row
        elif "asset tag" in keys and keys & {"category", "model", "model name", "manufacturer"}:
            format_name, aliases, row_reader = SNIPE_IT_FORMAT, _SNIPE_IT_ALIASES, self._snipe_it_row
        else:
            headings = ", ".join(shown(name) for name in header[:8] if name.strip()) or "nothing"
            raise ImportRefused(
                f"{source.name} is not a device list DigiKnow Desk knows: its first line has {headings}"
                f"{' …' if len(header) > 8 else ''}. DigiKnow Desk reads its own export (columns "
                f"{', '.join(EXPORT_COLUMNS)}) and Snipe-IT's asset export (columns Asset Tag, "
                "Category, Model, Manufacturer, Serial, Location, Purchase Date, Status, Notes). "
                "The column headings must be on the first line."
            )
        columns = _columns(source, header, aliases)
        warnings.extend(self._column_warnings(format_name, columns))
        candidates: list[_Candidate] = []
        for line, cells in records:
            if len(candidates) >= MAX_ROWS:
                raise ImportRefused(
                    f"{source.name} has more than {MAX_ROWS:,} rows, more than one import takes. "
                    "Split it into smaller files and import them one by one."
                )
            if len(cells) != len(header):
                tag_cell = self._raw_tag(columns, cells)
                candidates.append(
                    _Candidate(
                        line=line,
                        tag=tag_cell,
                        draft=None,
                        status=DeviceStatus.AVAILABLE,
                        problems=[
                            f"This row has {_plural(len(cells), 'cell')} but the header has "
                            f"{len(header)}: a comma is missing or extra (text with commas needs "
                            "quote marks around it)."
                        ],
                    )
                )
                continue
            candidates.append(row_reader(columns, line, cells, state))
        if not candidates:
            raise ImportRefused(
                f"{source.name} has column headings but no devices under them: there is nothing to import."
            )
        for key in sorted(columns.agreeing_duplicates):
            first = columns.positions[key][0]
            letters = " and ".join(_column_letters(i) for i in columns.positions[key])
            warnings.append(
                f"The column '{header[first].strip()}' appears {len(columns.positions[key])} times "
                f"(columns {letters}); the copies agree, so it was read once."
            )
        return format_name, candidates

    @staticmethod
    def _column_warnings(format_name: str, columns: _Columns) -> list[str]:
        used = {key for keys in columns.found.values() for key in keys}
        ignored: list[str] = []
        personal: list[str] = []
        duplicated: list[str] = []
        for key, positions in columns.positions.items():
            if not key or key in used:
                continue
            name = columns.header[positions[0]].replace("\ufeff", "").strip()
            if len(positions) > 1:
                duplicated.append(f"'{name}' ({len(positions)} times)")
            if format_name == SNIPE_IT_FORMAT and _is_personal(key):
                personal.append(name)
            else:
                ignored.append(name)
        warnings: list[str] = []
        if ignored:
            warnings.append(
                f"These columns are not kept by DigiKnow Desk and were ignored: {', '.join(ignored)}."
            )
        if personal:
            warnings.append(
                "These columns hold details of people and were not read (DigiKnow Desk does not "
                f"import personal data; loans are recorded at the desk): {', '.join(personal)}."
            )
        if duplicated:
            warnings.append(
                f"Some ignored columns appear more than once: {', '.join(duplicated)}; as they are not "
                "used, this does not matter."
            )
        return warnings

    @staticmethod
    def _raw_tag(columns: _Columns, cells: Sequence[str]) -> str:
        """The row's tag as far as it can be read, for naming a row that cannot be read fully."""
        for key in columns.found.get("tag", ()):
            for index in columns.positions[key]:
                if index < len(cells):
                    return _display_tag(cells[index])
        return ""

    def _own_row(self, columns: _Columns, line: int, cells: list[str], state: _ImportState) -> _Candidate:
        """A row of our own export, with the spreadsheet-safety quote taken off every cell."""
        cells = [from_spreadsheet_safe(cell) for cell in cells]
        problems: list[str] = []

        def cell(name: str) -> str:
            return columns.cell(cells, name, line)

        type_text = cell("type")
        device_type = _enum_value(DeviceType, type_text)
        if device_type is None:
            what = f"Type {shown(type_text)} is not known" if type_text else "Type is empty"
            problems.append(f"{what}: use one of {_labels(DeviceType)}.")
        condition = self._choice(Condition, cell("condition"), "Condition", Condition.GOOD, problems)
        status = DeviceStatus.AVAILABLE
        if text := cell("status"):
            found_status = _enum_value(DeviceStatus, text)
            if found_status is None:
                problems.append(f"Status {shown(text)} is not known: use one of {_labels(DeviceStatus)}.")
            elif found_status not in STARTING_STATUSES:
                problems.append(
                    "The device is on loan in the file; loans are recorded at the desk, not imported. "
                    "Set its Status to Available (or Awaiting wipe) and issue it at the desk."
                )
            else:
                status = found_status
        source = self._choice(AcquisitionSource, cell("source"), "Source", AcquisitionSource.BOUGHT, problems)
        home = state.venue(cell("home"), "Home venue", problems)
        current = state.venue(cell("current"), "Current venue", problems)
        acquired = self._date(cell("acquired"), "Acquired on", month_first=False, problems=problems)
        kit = tuple(item.strip() for item in cell("kit").split(";") if item.strip())
        draft = DeviceDraft(
            tag=cell("tag"),
            device_type=device_type or DeviceType.ACCESSORY,  # unknown: the row is rejected anyway
            make=cell("make"),
            model=cell("model"),
            serial=cell("serial"),
            os=cell("os"),
            condition=condition,
            home_venue_id=home,
            current_venue_id=current,
            source=source,
            acquired_on=acquired,
            notes=cell("notes"),
            kit=kit,
        )
        return self._candidate(line, problems, draft, status)

    def _snipe_it_row(
        self, columns: _Columns, line: int, cells: list[str], state: _ImportState
    ) -> _Candidate:
        """A row of a Snipe-IT asset export; cells are kept verbatim (export neutralises formulas)."""
        problems: list[str] = []

        def cell(name: str) -> str:
            return columns.cell(cells, name, line)

        category, model = cell("category"), cell("model")
        device_type = _kind_of_device(category, model)
        if device_type is None:
            problems.append(
                f"Category {shown(category)} (model {shown(model)}) is not a kind of device "
                "DigiKnow Desk lends."
                if category
                else f"The Category is empty and the model {shown(model)} does not say what kind of "
                "device it is."
            )
            state.advice[_KINDS_UNDERSTOOD] = None
        status = DeviceStatus.AVAILABLE
        condition = Condition.GOOD
        status_text = cell("status")
        if status_text:
            key = header_key(status_text)
            if key not in _SNIPE_IT_STATUSES:
                problems.append(
                    f"Status {shown(status_text)} is not one DigiKnow Desk knows: use Ready to Deploy, "
                    "Pending, Out for Repair, Broken, Lost, Stolen or Archived."
                )
            elif (mapped := _SNIPE_IT_STATUSES[key]) is None:
                problems.append(_CHECKED_OUT)
                state.advice[_CHECKED_OUT_ADVICE] = None
            else:
                status = mapped
                if key.startswith("broken"):
                    condition = Condition.FAULTY
        checkout_type = header_key(cell("checkout_type"))
        with_person = checkout_type == "user" or any(
            cells[index].strip()
            for key, positions in columns.positions.items()
            if _is_personal(key)
            for index in positions
        )
        if with_person and _CHECKED_OUT not in problems:
            problems.append(_CHECKED_OUT)
            state.advice[_CHECKED_OUT_ADVICE] = None
        home = state.venue(cell("location"), "Location", problems)
        current = home
        at = cell("checked_out_location")
        if checkout_type == "location" and header_key(at) not in {"", header_key(cell("location"))}:
            current = state.venue(at, "Checked Out To: Location", problems)
        acquired = self._date(cell("purchased"), "Purchase Date", month_first=True, problems=problems)
        serial = cell("serial")
        if _EXCEL_NUMBER.match(serial):
            problems.append(
                f"Serial {shown(serial)} was turned into a number by a spreadsheet and its digits are "
                "lost; export again from Snipe-IT and import without opening the file in Excel."
            )
        draft = DeviceDraft(
            tag=cell("tag"),
            device_type=device_type or DeviceType.ACCESSORY,  # unknown: the row is rejected anyway
            make=cell("make"),
            model=model,
            serial=serial,
            os=cell("os"),
            condition=condition,
            home_venue_id=home,
            current_venue_id=current,
            source=AcquisitionSource.BOUGHT if cell("cost") else AcquisitionSource.OTHER,
            acquired_on=acquired,
            notes="\n".join(columns.cells(cells, "notes", line)),
        )
        return self._candidate(line, problems, draft, status)

    @staticmethod
    def _choice(enum_class: type[_E], text: str, column: str, default: _E, problems: list[str]) -> _E:
        """The member `text` names (by label or value), `default` when empty; a problem otherwise."""
        if not text:
            return default
        member = _enum_value(enum_class, text)
        if member is None:
            problems.append(f"{column} {shown(text)} is not known: use one of {_labels(enum_class)}.")
            return default
        return member

    def _date(self, text: str, column: str, *, month_first: bool, problems: list[str]) -> date | None:
        if not text:
            return None
        try:
            return _parse_date(text, month_first=month_first, today=self._context.today())
        except ValueError:
            form = "month/day/year, e.g. 1/23/2023" if month_first else "year-month-day, e.g. 2024-03-01"
            problems.append(f"{column} {shown(text)} is not a real date: write it as {form}.")
            return None

    def _candidate(
        self, line: int, problems: list[str], draft: DeviceDraft, status: DeviceStatus
    ) -> _Candidate:
        """The row as checked: its cleaned draft and every problem found in it."""
        raw_tag = draft.tag
        draft = draft.cleaned()
        found = draft.problems(self._context.today())
        if not draft.tag:
            found["tag"] = "The asset tag is empty: every device needs the tag on its label."
        elif len(draft.tag) > 20:
            found["tag"] = (
                f"The asset tag {shown(raw_tag)} is too long: use 2 to 20 letters, digits and dashes."
            )
        if tag_problem := found.pop("tag", None):
            problems.insert(0, tag_problem)
        problems.extend(found.values())
        return _Candidate(line, _display_tag(raw_tag), draft, status, problems)

    def _check_against_inventory(self, candidates: Sequence[_Candidate]) -> None:
        """Add the problems of tags and serials repeated in the file or already in the inventory."""
        lines_by_tag: dict[str, list[int]] = {}
        lines_by_serial: dict[str, list[int]] = {}
        for c in candidates:
            if c.draft is None:
                continue
            if c.draft.tag:
                lines_by_tag.setdefault(c.draft.tag, []).append(c.line)
            if c.draft.serial:
                lines_by_serial.setdefault(c.draft.serial, []).append(c.line)
        with self._context.db.read() as session:
            taken_tags, taken_serials = taken(session, list(lines_by_tag), list(lines_by_serial))
        for c in candidates:
            if c.draft is None:
                continue
            tag, serial = c.draft.tag, c.draft.serial
            if tag in taken_tags:
                c.problems.append(
                    f"A device with the tag {tag} is already in the inventory; an import only adds new "
                    "devices (edit that one in the app instead)."
                )
            elif tag and len(lines_by_tag[tag]) > 1:
                c.problems.append(
                    f"The tag {tag} is on lines {_line_list(lines_by_tag[tag])}: each device needs "
                    "its own tag."
                )
            if serial in taken_serials:
                c.problems.append(
                    f"The serial {shown(serial)} is already recorded on {taken_serials[serial]}."
                )
            elif serial and len(lines_by_serial[serial]) > 1:
                c.problems.append(
                    f"The serial {shown(serial)} is on lines {_line_list(lines_by_serial[serial])}: "
                    "a serial belongs to one device."
                )


_CHECKED_OUT = "It is checked out to a person in Snipe-IT, and loans are not imported."
_CHECKED_OUT_ADVICE = (
    "Devices checked out to people in Snipe-IT were rejected: loans are recorded at the desk. Check "
    "them in (in Snipe-IT, or clear those rows' checkout and status cells), import them, then issue "
    "them at the desk."
)


def _display_tag(tag: str) -> str:
    tag = normalise_tag(" ".join(tag.split()))
    return tag if len(tag) <= 20 else tag[:19] + "…"


def _line_list(lines: Sequence[int]) -> str:
    """'4, 9 and 12', or '4, 9, 12, 15, 20 and 3 more'."""
    if len(lines) > 5:
        return ", ".join(str(line) for line in lines[:5]) + f" and {len(lines) - 5} more"
    return ", ".join(str(line) for line in lines[:-1]) + f" and {lines[-1]}"


def _export_cells(device: Device) -> list[str]:
    cells = [
        device.tag,
        device.device_type.label,
        device.make,
        device.model,
        device.serial,
        device.os,
        device.condition.label,
        device.status.label,
        device.home_venue_name,
        device.current_venue_name,
        device.source.label,
        device.acquired_on.isoformat() if device.acquired_on else "",
        KIT_SEPARATOR.join(device.kit),
        device.notes,
    ]
    return [spreadsheet_safe(cell) for cell in cells]
