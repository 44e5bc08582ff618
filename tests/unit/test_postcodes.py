"""The postcode-to-ward table: simple files and ONS's lookups in, a postcode's ward out, and imports
that fail or are cancelled leaving the old table as it was."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from digiknow_desk.app import Services
from digiknow_desk.domain.postcodes import ImportSummary, PostcodeProblem, postcode_key
from digiknow_desk.services import postcodes as postcodes_module
from digiknow_desk.services.csv_files import ImportRefused
from digiknow_desk.services.postcodes import ImportCancelled

REDDISH_NORTH = "E05000797"
REDDISH_SOUTH = "E05000798"
BRINNINGTON = "E05000783"
MARPLE_NORTH = "E05000794"
DIDSBURY_EAST = "E05011363"  # Manchester: not one of Stockport's wards
STOCKPORT = "E08000007"
MANCHESTER = "E08000003"


def write(tmp_path: Path, text: str, name: str = "postcodes.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def ward_names(services: Services, *postcodes: str) -> list[str | None]:
    found = [services.postcodes.ward_for(postcode) for postcode in postcodes]
    return [ward.name if ward else None for ward in found]


def test_a_simple_file_by_ward_code(services: Services, tmp_path: Path) -> None:
    path = write(tmp_path, f"postcode,ward_code\nSK5 6AB,{REDDISH_NORTH}\nsk5 7dd,{REDDISH_SOUTH}\n")
    summary = services.postcodes.import_table(path)
    assert (summary.imported, summary.outside, summary.problem_count, summary.table_size) == (2, 0, 0, 2)
    assert services.postcodes.count() == 2
    assert ward_names(services, "SK5 6AB", "SK5 7DD") == ["Reddish North", "Reddish South"]
    assert summary.describe() == (
        "Imported 2 postcodes in Stockport's 21 wards from postcodes.csv. The table now holds 2 postcodes."
    )


def test_a_simple_file_by_ward_name_in_any_case_skips_other_wards(services: Services, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Postcode,Ward\n"
        "SK1 3XE,brinnington & central\n"
        "SK6 6AA,  MARPLE NORTH \n"
        "M20 2PX,Didsbury East\n"
        f"SK5 6AB,{REDDISH_NORTH.lower()}\n",
    )
    summary = services.postcodes.import_table(path)
    assert (summary.imported, summary.outside, summary.problem_count) == (3, 1, 0)
    assert ward_names(services, "SK13XE", "SK6 6AA", "M20 2PX", "SK5 6AB") == [
        "Brinnington and Central",
        "Marple North",
        None,
        "Reddish North",
    ]
    assert "skipped 1 outside Stockport's 21 wards." in summary.describe()


def test_an_nspl_shaped_file_keeps_only_stockports_wards(services: Services, tmp_path: Path) -> None:
    """ONS's NSPL as it comes: upper-case headings here, many columns, pcd padded to seven characters."""
    header = "PCD,PCD2,PCDS,DOINTR,DOTERM,USERTYPE,OSEAST1M,OSNRTH1M,LAUA,WARD,LAT,LONG"
    rows = [
        f"SK5 6AB,SK5  6AB,SK5 6AB,198001,,0,390000,393000,{STOCKPORT},{REDDISH_NORTH},53.44,-2.16",
        f"SK1 3XE,SK1  3XE,SK1 3XE,198001,,0,389000,390000,{STOCKPORT},{BRINNINGTON},53.41,-2.15",
        f"M20 2PX,M20  2PX,M20 2PX,198001,,0,384000,391000,{MANCHESTER},{DIDSBURY_EAST},53.41,-2.22",
        f"M1  1AE,M1   1AE,M1 1AE,198001,,0,384000,398000,{MANCHESTER},E05011362,53.48,-2.23",
        # In Stockport, but in a ward code that is not one of the 21 (a file with other boundaries).
        f"SK8 1AA,SK8  1AA,SK8 1AA,199001,,0,385000,388000,{STOCKPORT},E05014999,53.39,-2.21",
        "JE2 3AB,JE2  3AB,JE2 3AB,199001,,0,0,0,L99999999,L99999999,99.99,0.00",
    ]
    path = write(tmp_path, "\n".join([header, *rows]) + "\n", name="NSPL_FEB_2023_UK.csv")
    summary = services.postcodes.import_table(path)
    assert (summary.imported, summary.outside, summary.problem_count) == (2, 4, 0)
    assert (summary.unknown_stockport, summary.unknown_stockport_wards) == (1, ("E05014999",))
    assert ward_names(services, "SK5 6AB", "SK1 3XE", "M20 2PX", "SK8 1AA") == [
        "Reddish North",
        "Brinnington and Central",
        None,
        None,
    ]
    words = summary.describe()
    assert "skipped 4 outside Stockport's 21 wards" in words
    assert "1 postcode in Stockport is in wards with other codes (E05014999)" in words


def test_onspd_and_ons_ward_lookup_headings(services: Services, tmp_path: Path) -> None:
    onspd = write(tmp_path, f"pcd,oslaua,osward\nSK5 6AB,{STOCKPORT},{REDDISH_NORTH}\n", name="ONSPD.csv")
    assert services.postcodes.import_table(onspd).imported == 1
    # ONS's best-fit lookup: the ward's code column is read, not its name column.
    lookup = write(
        tmp_path,
        f"PCDS,WD22CD,WD22NM,LAD22CD,LAD22NM\nSK1 3XE,{BRINNINGTON},Somewhere Else,{STOCKPORT},Stockport\n",
        name="PCD_WD22.csv",
    )
    assert services.postcodes.import_table(lookup).imported == 1
    assert ward_names(services, "SK1 3XE", "SK5 6AB") == ["Brinnington and Central", None]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_with_or_without_a_byte_order_mark(services: Services, tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, "postcode,ward\r\nSK6 6AA,Marple North\r\n", encoding=encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(codecs.BOM_UTF8)
    assert services.postcodes.import_table(path).imported == 1
    assert ward_names(services, "SK6 6AA") == ["Marple North"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name,address\nMargaret,12 Mill Lane\n", "has no postcode column and no ward column"),
        (
            "pcds,lat,long\nSK5 6AB,53.4,-2.1\n",
            "has no ward column: its first line has 'pcds', 'lat', 'long'",
        ),
        ("ward,population\nReddish North,15046\n", "has no postcode column"),
        (f"SK5 6AB,{REDDISH_NORTH}\n", "Its first line is a postcode, not the headings"),
        ("postcode,ward\n", "has column headings but no postcodes under them"),
        ("", "is empty"),
    ],
)
def test_files_that_cannot_be_imported_say_why(
    services: Services, tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ImportRefused, match=expected) as refused:
        services.postcodes.import_table(write(tmp_path, text))
    assert "NSPL" in str(refused.value) or "nothing to import" in str(refused.value)
    assert services.postcodes.count() == 0


def test_a_spreadsheet_or_a_zip_file_is_not_a_csv_file(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "wards.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ImportRefused, match="not a CSV file"):
        services.postcodes.import_table(path)
    with pytest.raises(ImportRefused, match="is a zip file: unzip it and import the CSV file inside"):
        services.postcodes.import_table(path.rename(tmp_path / "NSPL_FEB_2024_UK.zip"))


def test_malformed_postcodes_are_skipped_and_reported_by_line(services: Services, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "postcode,ward\n"
        "SK5 6AB,Reddish North\n"  # line 2
        "XX,Reddish North\n"  # line 3
        "\n"  # line 4: blank, skipped silently
        "SK5 6AB,Reddish South\n"  # line 5: the same postcode with another ward
        "SK5 6AB,Reddish North\n"  # line 6: repeated with the same ward: harmless
        ",Reddish North\n"  # line 7
        "SK5 7DD,\n"  # line 8
        "12345,Reddish South\n"  # line 9
        "SK1 3XE,Brinnington and Central\n"  # line 10
        "SK1  3XF extra,Brinnington and Central\n",  # line 11
    )
    summary = services.postcodes.import_table(path)
    assert (summary.imported, summary.problem_count) == (2, 6)
    assert summary.problems == (
        PostcodeProblem(3, "'XX' is not a postcode"),
        PostcodeProblem(5, "SK5 6AB is on line 2 too, with another ward"),
        PostcodeProblem(7, "the postcode is empty"),
        PostcodeProblem(8, "no ward for SK5 7DD"),
        PostcodeProblem(9, "'12345' is not a postcode"),
    )
    words = summary.describe()
    assert "skipped 6 rows that could not be read (line 3: 'XX' is not a postcode; line 5:" in words
    assert "; and 1 more). Check those lines in the file" in words
    assert ward_names(services, "SK5 6AB") == ["Reddish North"]


def test_replacing_keeps_nothing_of_the_old_table_and_adding_keeps_it(
    services: Services, tmp_path: Path
) -> None:
    first = write(tmp_path, f"postcode,ward\nSK5 6AB,{REDDISH_NORTH}\nSK5 7DD,{REDDISH_SOUTH}\n", "a.csv")
    second = write(tmp_path, f"postcode,ward\nSK6 6AA,{MARPLE_NORTH}\nSK5 7DD,{REDDISH_NORTH}\n", "b.csv")
    services.postcodes.import_table(first)
    assert services.postcodes.import_table(second).table_size == 2
    assert ward_names(services, "SK5 6AB", "SK5 7DD", "SK6 6AA") == [None, "Reddish North", "Marple North"]

    services.postcodes.import_table(first)
    summary = services.postcodes.import_table(second, replace=False)
    assert (summary.imported, summary.table_size) == (2, 3)
    # Added to the table: the file's ward wins for a postcode that was there already.
    assert ward_names(services, "SK5 6AB", "SK5 7DD", "SK6 6AA") == [
        "Reddish North",
        "Reddish North",
        "Marple North",
    ]


def test_a_file_with_no_postcode_in_the_wards_changes_nothing(services: Services, tmp_path: Path) -> None:
    services.postcodes.import_table(write(tmp_path, f"postcode,ward\nSK5 6AB,{REDDISH_NORTH}\n", "old.csv"))
    elsewhere = write(
        tmp_path, f"postcode,ward\nM20 2PX,{DIDSBURY_EAST}\nM1 1AE,Piccadilly\n", "manchester.csv"
    )
    with pytest.raises(ImportRefused) as refused:
        services.postcodes.import_table(elsewhere)
    assert str(refused.value) == (
        "manchester.csv has no postcodes in Stockport's 21 wards, so the postcode table was not changed. "
        "Its 2 rows are all in other wards. The ward column must hold the ONS codes of Stockport's wards "
        "(E05000779 to E05000799) or their names, e.g. 'Reddish North'."
    )
    assert ward_names(services, "SK5 6AB") == ["Reddish North"]


def test_a_file_with_other_ward_boundaries_says_so(services: Services, tmp_path: Path) -> None:
    path = write(tmp_path, f"pcds,laua,ward\nSK5 6AB,{STOCKPORT},E05014990\nSK8 1AA,{STOCKPORT},E05014991\n")
    with pytest.raises(ImportRefused, match=r"2 postcodes in Stockport are in wards with other codes"):
        services.postcodes.import_table(path)


def test_a_failure_part_way_through_writing_leaves_the_old_table(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.postcodes.import_table(write(tmp_path, f"postcode,ward\nSK5 6AB,{REDDISH_NORTH}\n", "old.csv"))
    monkeypatch.setattr(postcodes_module, "BATCH_ROWS", 2)
    rows = "".join(f"SK6 {n}AA,{MARPLE_NORTH}\n" for n in range(7))
    new = write(tmp_path, "postcode,ward\n" + rows, "new.csv")
    batches: list[int] = []

    def fail_on_the_third_batch(done: int, total: int) -> None:
        batches.append(done)
        if len(batches) == 3:
            raise OSError("the disk is full")

    with pytest.raises(OSError, match="disk is full"):
        services.postcodes.import_table(new, on_progress=fail_on_the_third_batch)
    assert services.postcodes.count() == 1  # the old table was deleted and four rows written, then undone
    assert ward_names(services, "SK5 6AB", "SK6 0AA") == ["Reddish North", None]


def test_a_cancelled_import_leaves_the_old_table(services: Services, tmp_path: Path) -> None:
    services.postcodes.import_table(write(tmp_path, f"postcode,ward\nSK5 6AB,{REDDISH_NORTH}\n", "old.csv"))
    new = write(tmp_path, f"postcode,ward\nSK6 6AA,{MARPLE_NORTH}\n", "new.csv")
    with pytest.raises(ImportCancelled, match="the postcode table is as it was"):
        services.postcodes.import_table(new, is_cancelled=lambda: True)
    assert ward_names(services, "SK5 6AB", "SK6 6AA") == ["Reddish North", None]


def test_a_large_file_reports_progress_while_it_is_read(services: Services, tmp_path: Path) -> None:
    rows = "".join(f"M{n % 99 + 1} {n % 10}AB,E0501{n % 1000:04d}\n" for n in range(45_000))
    path = write(tmp_path, f"pcds,ward\nSK5 6AB,{REDDISH_NORTH}\n" + rows)
    steps: list[tuple[int, int]] = []
    summary = services.postcodes.import_table(
        path, on_progress=lambda done, total: steps.append((done, total))
    )
    assert (summary.imported, summary.outside) == (1, 45_000)
    assert [done for done, _total in steps] == sorted(done for done, _total in steps)
    assert 0 < steps[0][0] < steps[-1][0] == steps[-1][1] == 1000


def test_ward_for_normalises_the_postcode(services: Services, tmp_path: Path) -> None:
    services.postcodes.import_table(write(tmp_path, f"postcode,ward\nsk5  6ab,{REDDISH_NORTH}\n"))
    for typed in ("SK5 6AB", "sk56ab", " Sk5\t6aB ", "SK5  6AB"):
        ward = services.postcodes.ward_for(typed)
        assert ward is not None and (ward.code, ward.name) == (REDDISH_NORTH, "Reddish North"), typed
    assert postcode_key(" sk5 6ab ") == "SK56AB"
    for other in ("", "SK5", "not a postcode", "SK5 6AC"):
        assert services.postcodes.ward_for(other) is None


def test_count_and_clear(services: Services, tmp_path: Path) -> None:
    assert services.postcodes.count() == 0
    assert services.postcodes.clear() == 0
    services.postcodes.import_table(
        write(tmp_path, f"postcode,ward\nSK5 6AB,{REDDISH_NORTH}\nSK6 6AA,Marple North\n")
    )
    assert services.postcodes.count() == 2
    assert services.postcodes.clear() == 2
    assert services.postcodes.count() == 0
    assert services.postcodes.ward_for("SK5 6AB") is None


def test_the_summary_in_words() -> None:
    summary = ImportSummary(
        file_name="NSPL.csv",
        imported=9_812,
        outside=2_693_001,
        problem_count=1,
        problems=(PostcodeProblem(17, "'XX' is not a postcode"),),
        table_size=9_812,
    )
    assert summary.describe() == (
        "Imported 9,812 postcodes in Stockport's 21 wards from NSPL.csv; skipped 2,693,001 outside "
        "Stockport's 21 wards and 1 row that could not be read (line 17: 'XX' is not a postcode). Check "
        "those lines in the file; the other rows were imported. The table now holds 9,812 postcodes."
    )
