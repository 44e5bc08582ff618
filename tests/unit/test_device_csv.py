"""Device CSV export and import: round trips, Snipe-IT files, row problems and hostile files."""

from __future__ import annotations

import codecs
import csv
import io
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from digiknow_desk.app import Services, build_services
from digiknow_desk.domain.devices import (
    AcquisitionSource,
    Condition,
    Device,
    DeviceDraft,
    DeviceFilter,
    DeviceStatus,
    DeviceType,
)
from digiknow_desk.domain.spreadsheet import from_spreadsheet_safe, spreadsheet_safe
from digiknow_desk.domain.staff import setup_staff
from digiknow_desk.domain.venues import Venue, VenueDraft
from digiknow_desk.services import device_csv
from digiknow_desk.services.csv_files import ImportRefused
from digiknow_desk.services.device_csv import EXPORT_COLUMNS, OWN_FORMAT, SNIPE_IT_FORMAT
from digiknow_desk.services.files import SaveFailed
from digiknow_desk.storage.database import Database
from digiknow_desk.storage.migrate import upgrade_to_head
from tests.conftest import FakeClock

FIXTURES = Path(__file__).parents[1] / "fixtures" / "csv"
SHARED_SAMPLES = Path(__file__).parents[3] / "shared" / "samples" / "snipe-it"

OWN_HEADER = ",".join(EXPORT_COLUMNS)


# Helpers


def add_venue(services: Services, name: str) -> Venue:
    ward = services.venues.wards()[0]
    return services.venues.add(VenueDraft(name=name, ward_code=ward.code))


def all_devices(services: Services) -> list[Device]:
    return services.inventory.search(DeviceFilter(), limit=100_000)


def comparable(device: Device) -> Device:
    """The device without what a different database gives it (ids)."""
    return replace(device, id=uuid.UUID(int=0), home_venue_id=None, current_venue_id=None)


def write_bytes(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def own_file(folder: Path, rows: list[str], *, name: str = "devices.csv", newline: str = "\r\n") -> Path:
    return write_bytes(folder, name, newline.join([OWN_HEADER, *rows, ""]).encode("utf-8"))


def own_row(
    tag: str, *, device_type: str = "Tablet", notes: str = "", venue: str = "", serial: str = ""
) -> str:
    cells = [
        tag,
        device_type,
        "Apple",
        "iPad",
        serial,
        "",
        "Good",
        "Available",
        venue,
        venue,
        "Bought",
        "",
        "",
        notes,
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


@pytest.fixture
def other_services(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    """A second, empty database: where an export is imported again."""
    database = Database("sqlite:///" + (tmp_path / "other.db").as_posix())
    upgrade_to_head(database)
    yield build_services(database, staff=setup_staff("Other Staff"), clock=clock)
    database.dispose()


# The spreadsheet neutraliser


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+44 161 123", "'+44 161 123"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindented", "'\tindented"),
        ("\rcarriage", "'\rcarriage"),
        ("TAB-0001", "TAB-0001"),
        ("a = b", "a = b"),
        ("", ""),
        ("'=already quoted", "''=already quoted"),
        ("'plain quote", "'plain quote"),
    ],
)
def test_spreadsheet_safe_neutralises_formula_triggers(text: str, expected: str) -> None:
    assert spreadsheet_safe(text) == expected
    assert from_spreadsheet_safe(spreadsheet_safe(text)) == text


# Export


def test_export_writes_bom_header_and_neutralised_cells(services: Services, tmp_path: Path) -> None:
    services.inventory.add(
        DeviceDraft(
            tag="TAB-0001",
            device_type=DeviceType.TABLET,
            make="+Plus",
            model="-Minus",
            os="@At",
            notes='=HYPERLINK("http://example.invalid","x")',
            kit=("Charger", "Case"),
            acquired_on=date(2024, 3, 1),
        )
    )
    out = tmp_path / "devices.csv"

    assert services.device_csv.export_devices(out) == 1

    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["Asset tag"] == "TAB-0001"
    assert cells["Type"] == "Tablet"
    assert cells["Make"] == "'+Plus"
    assert cells["Model"] == "'-Minus"
    assert cells["OS"] == "'@At"
    assert cells["Notes"] == '\'=HYPERLINK("http://example.invalid","x")'
    assert cells["Kit"] == "Charger; Case"
    assert cells["Acquired on"] == "2024-03-01"
    assert [name for name in tmp_path.iterdir() if name.suffix == ".tmp"] == []


def test_export_includes_retired_devices_and_replaces_an_old_file(services: Services, tmp_path: Path) -> None:
    services.inventory.add_with_statuses(
        [
            (DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET), DeviceStatus.AVAILABLE),
            (DeviceDraft(tag="TAB-0002", device_type=DeviceType.TABLET), DeviceStatus.RETIRED),
        ],
        "test",
    )
    out = tmp_path / "all.csv"
    out.write_text("an older, longer export\n" * 100)

    assert services.device_csv.export_devices(out) == 2

    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines] == ["Asset tag", "TAB-0001", "TAB-0002"]
    assert lines[2].split(",")[7] == "Retired"


def test_export_failure_leaves_no_partial_file(services: Services, tmp_path: Path) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET))
    in_the_way = tmp_path / "devices.csv"
    in_the_way.mkdir()  # a folder where the file should go: the final rename fails

    with pytest.raises(SaveFailed, match="Could not save"):
        services.device_csv.export_devices(in_the_way)
    with pytest.raises(SaveFailed, match="does not exist"):
        services.device_csv.export_devices(tmp_path / "missing" / "devices.csv")

    assert in_the_way.is_dir() and list(in_the_way.iterdir()) == []
    assert not any(path.name.endswith(".tmp") for path in tmp_path.iterdir())


# Round trip


def test_round_trip_reproduces_every_field(
    services: Services, other_services: Services, tmp_path: Path
) -> None:
    for target in (services, other_services):
        add_venue(target, "Café Zoë")
        add_venue(target, "Reddish Library")
    venues = {venue.name: venue.id for venue in services.venues.venues()}
    drafts = [
        (
            DeviceDraft(
                tag="TAB-0001",
                device_type=DeviceType.TABLET,
                make="Apple",
                model='iPad 10.2" (9th gen)',
                serial="DMPXK1ABCD",
                os="iPadOS 17",
                condition=Condition.NEW,
                home_venue_id=venues["Café Zoë"],
                current_venue_id=venues["Reddish Library"],
                source=AcquisitionSource.NATIONAL_DEVICE_BANK,
                acquired_on=date(2024, 2, 29),
                notes='Case is "blue", charger, cable;\nsecond line\r\nthird line with Zoë',
                kit=("Charger", "Cable", "Case"),
            ),
            DeviceStatus.AVAILABLE,
        ),
        (
            DeviceDraft(
                tag="LAP-0001",
                device_type=DeviceType.LAPTOP,
                make="=cmd|' /C calc'!A0",
                model="-1",
                notes="=1+1",
                condition=Condition.FAULTY,
                source=AcquisitionSource.DONATED,
            ),
            DeviceStatus.IN_REPAIR,
        ),
        (
            DeviceDraft(
                tag="SIM-0001", device_type=DeviceType.DATA_SIM, notes="'=already quoted", kit=("+SIM",)
            ),
            DeviceStatus.RETIRED,
        ),
        (
            DeviceDraft(tag="MIF-0001", device_type=DeviceType.MIFI, notes="@mention"),
            DeviceStatus.QUARANTINED,
        ),
        (DeviceDraft(tag="CHR-0001", device_type=DeviceType.CHROMEBOOK), DeviceStatus.AWAITING_WIPE),
        (
            DeviceDraft(tag="PHN-0001", device_type=DeviceType.PHONE, source=AcquisitionSource.GRANT),
            DeviceStatus.AVAILABLE,
        ),
        (DeviceDraft(tag="ACC-0001", device_type=DeviceType.ACCESSORY), DeviceStatus.AVAILABLE),
    ]
    services.inventory.add_with_statuses(drafts, "test")
    out = tmp_path / "devices.csv"
    assert services.device_csv.export_devices(out) == len(drafts)

    report = other_services.device_csv.import_devices(out)

    assert report.format_name == OWN_FORMAT
    assert report.rejected == ()
    assert report.imported == len(drafts)
    assert [comparable(d) for d in all_devices(other_services)] == [
        comparable(d) for d in all_devices(services)
    ]
    history = other_services.inventory.history("LAP-0001")
    assert [(change.to_status, change.reason) for change in history] == [
        (DeviceStatus.IN_REPAIR, "Imported from devices.csv")
    ]


def test_own_format_accepts_values_uk_dates_and_a_subset_of_columns(
    services: Services, tmp_path: Path
) -> None:
    path = write_bytes(
        tmp_path,
        "typed.csv",
        b"Asset tag,Type,Acquired on,Status,Kit,Colour\n"
        b"tab-0009,tablet,14/03/2025,in_repair,Charger;Case ; ,blue\n",
    )

    report = services.device_csv.import_devices(path)

    device = services.inventory.get("TAB-0009")
    assert report.imported == 1
    assert (device.acquired_on, device.status, device.kit) == (
        date(2025, 3, 14),
        DeviceStatus.IN_REPAIR,
        ("Charger", "Case"),
    )
    assert any("Colour" in warning for warning in report.warnings)


# Snipe-IT


def test_snipe_it_export_imports_with_mapped_fields(services: Services) -> None:
    for name in ("Reddish Library", "Stockport Central Library", "Café Zoë"):
        add_venue(services, name)

    report = services.device_csv.import_devices(FIXTURES / "snipe-it-assets-good.csv")

    assert report.format_name == SNIPE_IT_FORMAT
    assert (report.rows_read, report.imported, report.rejected) == (7, 7, ())
    devices = {device.tag: device for device in all_devices(services)}
    assert {tag: device.device_type for tag, device in devices.items()} == {
        "TAB-0101": DeviceType.TABLET,
        "TAB-0102": DeviceType.TABLET,
        "LAP-0201": DeviceType.LAPTOP,  # from the model name: the category says nothing
        "CHR-0301": DeviceType.CHROMEBOOK,
        "MIF-0401": DeviceType.MIFI,
        "SIM-0501": DeviceType.DATA_SIM,
        "PHN-0601": DeviceType.PHONE,
    }
    ipad = devices["TAB-0101"]
    assert (ipad.make, ipad.model, ipad.acquired_on) == ("Apple", "iPad 9th generation", date(2023, 1, 23))
    assert (ipad.home_venue_name, ipad.status, ipad.source) == (
        "Reddish Library",
        DeviceStatus.AVAILABLE,
        AcquisitionSource.BOUGHT,
    )
    assert devices["TAB-0102"].current_venue_name == "Stockport Central Library"  # checked out to a location
    assert devices["LAP-0201"].notes == 'Donated by a local firm,\nwiped and re-imaged "twice"'
    assert devices["LAP-0201"].source == AcquisitionSource.OTHER  # no purchase cost
    assert devices["CHR-0301"].acquired_on == date(2023, 5, 7)
    assert devices["CHR-0301"].home_venue_name == ""
    assert devices["MIF-0401"].home_venue_name == "Café Zoë"
    assert devices["MIF-0401"].notes.startswith("=HYPERLINK(")  # stored verbatim; neutralised on export
    assert devices["PHN-0601"].notes == "-not yet set up"
    ignored, personal = report.warnings
    assert "Company" in ignored and "Supplier" in ignored and "Asset EOL Date" in ignored
    assert "Checked Out To: First Name" in personal and "Checked Out To: Email" in personal


def test_dry_run_changes_nothing(services: Services) -> None:
    for name in ("Reddish Library", "Stockport Central Library", "Café Zoë"):
        add_venue(services, name)

    report = services.device_csv.import_devices(FIXTURES / "snipe-it-assets-good.csv", dry_run=True)

    assert (report.imported, len(report.to_import), report.dry_run) == (0, 7, True)
    assert "7 devices would be imported" in report.summary()
    assert "nothing was changed" in report.summary()
    assert services.inventory.count(DeviceFilter()) == 0


def test_rejected_rows_name_their_physical_line_and_reason(services: Services) -> None:
    add_venue(services, "Reddish Library")

    report = services.device_csv.import_devices(FIXTURES / "snipe-it-assets-with-problems.csv")

    reasons = {problem.line: (problem.tag, problem.reason) for problem in report.rejected}
    assert sorted(reasons) == [2, 6, 7, 8, 9, 10, 11, 12]
    assert reasons[2][0] == "TAB-0701" and "lines 2 and 10" in reasons[2][1]
    assert reasons[6][0] == "XYZ-0001" and "Category 'Furniture'" in reasons[6][1]
    assert "Unknown venue 'Marple Library'" in reasons[7][1]
    assert "Settings > Venues" in reasons[7][1]
    assert "Purchase Date '2/30/23' is not a real date" in reasons[8][1]
    assert "checked out to a person" in reasons[9][1]
    assert reasons[11] == ("", "The asset tag is empty: every device needs the tag on its label.")
    assert "turned into a number" in reasons[12][1]
    assert report.to_import == ("TAB-0702", "LAP-0710", "LAP-0711")
    summary = report.summary()
    assert "line 9 (TAB-0706): " in summary
    assert "--good-rows" in summary and "Import the good rows" in summary
    assert "Marple Library" in summary  # the unknown-venues warning


def test_a_bad_row_means_nothing_is_imported(services: Services) -> None:
    add_venue(services, "Reddish Library")

    report = services.device_csv.import_devices(FIXTURES / "snipe-it-assets-with-problems.csv")

    assert report.imported == 0
    assert "nothing was imported" in report.summary()
    assert services.inventory.count(DeviceFilter()) == 0


def test_good_rows_mode_imports_the_good_rows_in_one_go(services: Services) -> None:
    add_venue(services, "Reddish Library")

    report = services.device_csv.import_devices(
        FIXTURES / "snipe-it-assets-with-problems.csv", import_good_rows=True
    )

    assert report.imported == 3
    statuses = {device.tag: device.status for device in all_devices(services)}
    assert statuses == {
        "TAB-0702": DeviceStatus.IN_REPAIR,
        "LAP-0710": DeviceStatus.QUARANTINED,
        "LAP-0711": DeviceStatus.RETIRED,
    }
    assert services.inventory.get("TAB-0702").notes == "first line\nsecond line\nthird line"
    assert (
        services.inventory.history("LAP-0710")[0].reason == "Imported from snipe-it-assets-with-problems.csv"
    )
    assert "3 devices imported; 8 rows rejected and left out" in report.summary()


def test_personal_data_is_never_stored_or_echoed(services: Services, db_path: Path) -> None:
    add_venue(services, "Reddish Library")

    report = services.device_csv.import_devices(
        FIXTURES / "snipe-it-assets-with-problems.csv", import_good_rows=True
    )

    summary = report.summary()
    assert "Bloggs" not in summary and "jbloggs" not in summary and "example.invalid" not in summary
    with closing(sqlite3.connect(db_path)) as connection:
        dump = "\n".join(connection.iterdump())
    assert "Bloggs" not in dump and "jbloggs" not in dump


def test_importing_the_same_file_twice_rejects_the_existing_tags(services: Services) -> None:
    for name in ("Reddish Library", "Stockport Central Library", "Café Zoë"):
        add_venue(services, name)
    services.device_csv.import_devices(FIXTURES / "snipe-it-assets-good.csv")

    report = services.device_csv.import_devices(FIXTURES / "snipe-it-assets-good.csv")

    assert report.imported == 0 and len(report.rejected) == 7
    assert "already in the inventory" in report.rejected[0].reason
    assert services.inventory.count(DeviceFilter()) == 7


def test_serials_clash_with_the_inventory_and_within_the_file(services: Services, tmp_path: Path) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-0001", device_type=DeviceType.TABLET, serial="S-1"))
    path = own_file(
        tmp_path,
        [
            own_row("TAB-0002", serial="S-1"),
            own_row("TAB-0003", serial="S-2"),
            own_row("TAB-0004", serial="S-2"),
        ],
    )

    report = services.device_csv.import_devices(path)

    assert [(p.line, p.tag) for p in report.rejected] == [(2, "TAB-0002"), (3, "TAB-0003"), (4, "TAB-0004")]
    assert "already recorded on TAB-0001" in report.rejected[0].reason
    assert "lines 3 and 4" in report.rejected[1].reason


def test_long_cells_and_bad_tags_are_row_problems(services: Services, tmp_path: Path) -> None:
    path = own_file(
        tmp_path,
        [
            own_row("TAB-0001", notes="x" * 5000),
            own_row("T" * 500),
            own_row("=cmd|' /C calc'!A0"),
            own_row("TAB-0004", device_type="Toaster"),
            own_row("TAB-0005", notes="=cmd|' /C calc'!A0"),
        ],
    )

    report = services.device_csv.import_devices(path, import_good_rows=True)

    reasons = [problem.reason for problem in report.rejected]
    assert "Notes are too long" in reasons[0]
    assert "too long" in reasons[1] and len(reasons[1]) < 200
    assert len(report.rejected[1].tag) <= 20
    assert "not a usable asset tag" in reasons[2]
    assert "Type 'Toaster' is not known" in reasons[3] and "Chromebook" in reasons[3]
    assert services.inventory.get("TAB-0005").notes == "=cmd|' /C calc'!A0"


# Hostile and unusual files


def test_too_many_rows_is_refused(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(device_csv, "MAX_ROWS", 3)
    path = own_file(tmp_path, [own_row(f"TAB-{n:04d}") for n in range(1, 5)])

    with pytest.raises(ImportRefused, match="more than 3 rows"):
        services.device_csv.import_devices(path)


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


REFUSED_FILES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "is empty"),
    ("only a byte-order mark", codecs.BOM_UTF8 + b"\r\n\r\n", "is empty"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
    ("Excel workbook", b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
    ("UTF-16 without a byte-order mark", OWN_HEADER.encode("utf-16-le"), "not a text file"),
    (
        "neither UTF-8 nor Windows-1252",
        utf8(OWN_HEADER + "\n") + b"TAB-0001,Tablet,\x81\x8d\n",
        "byte 0x81 on line 2",
    ),
    (
        "UTF-16 with a broken tail",
        codecs.BOM_UTF16_LE + OWN_HEADER.encode("utf-16-le") + b"\x00\xd8",
        "UTF-16",
    ),
    ("unknown header", utf8("Name,Email,Phone\nJo,jo@example.invalid,0161\n"), "Asset Tag, Category"),
    ("header only", utf8(OWN_HEADER + "\r\n"), "no devices under them"),
    (
        "quote never closed",
        utf8(OWN_HEADER + "\n" + own_row("TAB-0001") + '\nTAB-0002,Tablet,"Apple,iPad\nTAB-0003,Tablet\n'),
        "line 3 is never closed",
    ),
    (
        "text after a closing quote",
        utf8(OWN_HEADER + '\nTAB-0001,Tablet,"Apple"x,iPad,,,,,,,,,,\n'),
        "starting on line 2 has text after a closing quote",
    ),
    (
        "cell beyond the CSV field limit",
        utf8(OWN_HEADER + '\nTAB-0001,Tablet,"' + "x" * 200_000 + '"\n'),
        "longer than",
    ),
    (
        "duplicate used columns that differ",
        utf8("Asset tag,Type,Notes,Notes\nTAB-0001,Tablet,a,a\nTAB-0002,Tablet,a,b\n"),
        "2 columns called 'Notes' \\(columns C and D\\), and on line 3 they differ",
    ),
]


@pytest.mark.parametrize(
    ("data", "message"), [(d, m) for _, d, m in REFUSED_FILES], ids=[n for n, _, _ in REFUSED_FILES]
)
def test_hostile_files_are_refused_with_a_reason(
    services: Services, tmp_path: Path, data: bytes, message: str
) -> None:
    path = write_bytes(tmp_path, "hostile.csv", data)

    with pytest.raises(ImportRefused, match=message):
        services.device_csv.import_devices(path)
    assert services.inventory.count(DeviceFilter()) == 0


def test_a_missing_file_or_a_folder_is_refused(services: Services, tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match="There is no file"):
        services.device_csv.import_devices(tmp_path / "nope.csv")
    with pytest.raises(ImportRefused, match="is a folder|Could not read"):
        services.device_csv.import_devices(tmp_path)


ReadableFile = Callable[[str], bytes]
READABLE_ENCODINGS: list[tuple[str, ReadableFile, str | None]] = [
    ("UTF-8 with CRLF", lambda text: text.replace("\n", "\r\n").encode("utf-8"), None),
    ("UTF-8 with a byte-order mark", lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), None),
    ("CR-only line ends (old Mac Excel)", lambda text: text.replace("\n", "\r").encode("utf-8"), None),
    ("UTF-16 with a byte-order mark", lambda text: text.encode("utf-16"), None),
    ("Windows-1252", lambda text: text.encode("cp1252"), "read as Windows-1252"),
    (
        "tab-separated UTF-16 (Excel 'Unicode Text')",
        lambda text: text.replace(",", "\t").encode("utf-16"),
        None,
    ),
]


@pytest.mark.parametrize(
    ("encode", "warning"),
    [(e, w) for _, e, w in READABLE_ENCODINGS],
    ids=[n for n, _, _ in READABLE_ENCODINGS],
)
def test_common_encodings_and_line_ends_are_read(
    services: Services, tmp_path: Path, encode: ReadableFile, warning: str | None
) -> None:
    add_venue(services, "Café Zoë")
    content = "\n".join(
        [
            "Asset tag,Type,Home venue,Notes",
            'TAB-0001,Tablet,Café Zoë,"two\nlines"',
            "TAB-0002,Toaster,Café Zoë,",
            "TAB-0003,Tablet,café zoë,crème brûlée",
            "",
        ]
    )
    path = write_bytes(tmp_path, "devices.csv", encode(content))

    report = services.device_csv.import_devices(path, import_good_rows=True)

    assert [(p.line, p.tag) for p in report.rejected] == [(4, "TAB-0002")]
    assert report.imported == 2
    first = services.inventory.get("TAB-0001")
    assert first.home_venue_name == "Café Zoë"
    assert first.notes.splitlines() == ["two", "lines"]
    assert services.inventory.get("TAB-0003").notes == "crème brûlée"
    assert (warning is None) == all("Windows-1252" not in w for w in report.warnings)


def test_ragged_rows_are_row_problems(services: Services, tmp_path: Path) -> None:
    path = own_file(tmp_path, [own_row("TAB-0001"), "TAB-0002,Tablet,Apple", own_row("TAB-0003") + ",extra"])

    report = services.device_csv.import_devices(path, import_good_rows=True)

    assert [(p.line, p.tag) for p in report.rejected] == [(3, "TAB-0002"), (4, "TAB-0003")]
    assert "3 cells but the header has 14" in report.rejected[0].reason
    assert report.imported == 1


def test_duplicate_columns_that_agree_or_are_ignored_give_warnings(
    services: Services, tmp_path: Path
) -> None:
    path = write_bytes(
        tmp_path,
        "dupes.csv",
        utf8(
            "Company,Asset Tag,Category,Model,Category,Company\n"
            "A,TAB-0001,Tablets,iPad,Tablets,B\n"
            "\n"
            ",,,,,\n"  # empty rows, as spreadsheets leave them, are skipped
            "A,TAB-0002,Tablets,iPad,Tablets,A\n"
        ),
    )

    report = services.device_csv.import_devices(path)

    assert report.imported == 2 and report.rows_read == 2
    joined = " ".join(report.warnings)
    assert "'Category' appears 2 times (columns C and E); the copies agree" in joined
    assert "'Company' (2 times)" in joined


# The shared Snipe-IT samples (../shared beside the clone, as in CI)


def test_snipe_it_samples_are_present() -> None:
    assert SHARED_SAMPLES.is_dir(), f"The Snipe-IT sample files are expected in {SHARED_SAMPLES}."


def test_snipe_it_sample_imports_once_its_locations_are_venues(services: Services) -> None:
    sample = SHARED_SAMPLES / "assets-sample.csv"
    rows = list(csv.DictReader(io.StringIO(sample.read_text(encoding="utf-8-sig"), newline="")))
    locations = {row["Location"] for row in rows} | {row["Checked Out To: Location"] for row in rows}
    for name in locations - {""}:
        add_venue(services, name)

    report = services.device_csv.import_devices(sample, import_good_rows=True)

    checked_out_to_people = {row["Asset Tag"] for row in rows if row["Checkout Type"] == "User"}
    rejected = {problem.tag: problem.reason for problem in report.rejected}
    assert report.format_name == SNIPE_IT_FORMAT and report.rows_read == len(rows)
    assert set(rejected) == checked_out_to_people | {"SUQ-5159067"}  # and a "Robby" in "Fire Protection"
    assert "Fire Protection" in rejected["SUQ-5159067"]
    assert report.imported == len(rows) - len(rejected)
    # Every category is a building trade; the model name, "Macbook Pro 13\"", says what they are.
    assert {device.device_type for device in all_devices(services)} == {DeviceType.LAPTOP}
    people = {row["Checked Out To: Last Name"] for row in rows} - {""}
    assert people and not any(name in report.summary() for name in people)


def test_snipe_it_bad_sample_is_refused_with_a_reason(services: Services) -> None:
    with pytest.raises(ImportRefused, match="not saved as UTF-8.*line 26.*CSV UTF-8"):
        services.device_csv.import_devices(SHARED_SAMPLES / "assets-sample-BAD.csv")


def test_snipe_it_bad_sample_resaved_as_utf8_is_explained_row_by_row(
    services: Services, tmp_path: Path
) -> None:
    # The sample's odd bytes are mojibake; as Latin-1 every byte is a letter, which is enough to
    # check everything else about the file: CR-only lines, duplicated columns, people, statuses.
    resaved = write_bytes(
        tmp_path,
        "resaved.csv",
        (SHARED_SAMPLES / "assets-sample-BAD.csv").read_bytes().decode("latin-1").encode("utf-8"),
    )

    report = services.device_csv.import_devices(resaved)

    assert report.format_name == SNIPE_IT_FORMAT
    assert report.rows_read == 200 and report.imported == 0
    assert len(report.rejected) == 200
    assert report.rejected[0].line == 2 and report.rejected[-1].line == 201
    assert all("is not a kind of device" in problem.reason for problem in report.rejected)
    assert sum("checked out to a person" in problem.reason for problem in report.rejected) > 150
    joined = " ".join(report.warnings)
    assert "'Category' appears 2 times" in joined
    assert "Full Name" in joined and "Email" in joined
    assert "Bonnie" not in report.summary()


def test_import_checks_thousands_of_rows_with_few_queries(services: Services, tmp_path: Path) -> None:
    services.inventory.add(DeviceDraft(tag="TAB-4999", device_type=DeviceType.TABLET))
    path = own_file(tmp_path, [own_row(f"TAB-{n:04d}", serial=f"S{n}") for n in range(5000)])

    report = services.device_csv.import_devices(path, dry_run=True)

    assert report.rows_read == 5000 and len(report.to_import) == 4999
    assert [(p.line, p.tag) for p in report.rejected] == [(5001, "TAB-4999")]
