"""The postcode-to-ward table a coordinator imports, and a postcode's ward for the resident form.

An import reads ONS's National Statistics Postcode Lookup (NSPL), its ONS Postcode Directory (ONSPD),
ONS's postcode-to-ward lookups, or a simple file of postcode and ward. It keeps only the postcodes in
Stockport's 21 wards, so a national file of 2.7 million rows is streamed, never held whole; then the
table is replaced (or added to) in one transaction, so an import that fails changes nothing.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.postcodes import (
    STOCKPORT_DISTRICT,
    ImportSummary,
    PostcodeProblem,
    is_postcode_key,
    postcode_key,
    unknown_wards_words,
)
from digiknow_desk.domain.staff import Permission
from digiknow_desk.domain.venues import Ward
from digiknow_desk.services import audit
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
from digiknow_desk.services.venues import VenueService
from digiknow_desk.storage.models import PostcodeWardRow, WardRow

BATCH_ROWS = 5_000
SHOWN_PROBLEMS = 5
_CHECK_EVERY = 20_000  # rows between progress reports (and looks at the Cancel button) while reading
_READ_SHARE = 900  # of 1,000 progress steps: reading the file; the rest is writing the table

# Column headings, as header_key makes them, best first.
_POSTCODE_COLUMNS = ("pcds", "pcd", "pcd2", "pcd7", "pcd8", "postcode", "post code")
_WARD_CODE_COLUMNS = ("ward_code", "ward code", "wardcode", "osward", "ward")
_WARD_NAME_COLUMNS = ("ward_name", "ward name", "wardname")
_DISTRICT_COLUMNS = ("laua", "oslaua")
_WARD_CODE_HEADING = re.compile(r"^wd\d\dcd$")  # ONS lookups: WD22CD, WD24CD, ...
_WARD_NAME_HEADING = re.compile(r"^wd\d\dnm$")
_DISTRICT_HEADING = re.compile(r"^lad\d\dcd$")

FILES_READ = (
    "DigiKnow Desk reads ONS's National Statistics Postcode Lookup (NSPL) or ONS Postcode Directory "
    "(ONSPD) CSV as it comes (columns pcds and ward or osward), ONS's postcode-to-ward lookups (PCDS "
    "and WD24CD, say), or a file whose first line is 'postcode,ward' with a ward's ONS code or name "
    "on each row."
)

Progress = Callable[[int, int], None]
CANCELLED = "The import was cancelled: the postcode table is as it was."


class ImportCancelled(DomainError):
    """Staff cancelled an import; the table is as it was."""


@dataclass(frozen=True)
class _Columns:
    postcode: int
    ward: int
    district: int | None


class _WardMatcher:
    """The code of the ward a cell names by ONS code or by name, in any case; None for other wards."""

    def __init__(self, wards: Sequence[Ward]) -> None:
        self._by_key: dict[str, str] = {}
        for ward in wards:
            self._by_key[ward.code.casefold()] = ward.code
            self._by_key[_ward_key(ward.name)] = ward.code
        self._seen: dict[str, str | None] = {}  # a national file names a few thousand wards, over and over

    def code(self, text: str) -> str | None:
        try:
            return self._seen[text]
        except KeyError:
            found = self._seen[text] = self._by_key.get(_ward_key(text))
            return found


def _ward_key(text: str) -> str:
    return " ".join(text.replace("&", " and ").split()).casefold()


class _Reading:
    """What reading the rows has found so far."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[str, int]] = {}  # postcode key -> ward code, line
        self.outside = 0
        self.problem_count = 0
        self.problems: list[PostcodeProblem] = []
        self.unknown_stockport = 0
        self.unknown_stockport_wards: dict[str, None] = {}  # an ordered set

    def problem(self, line: int, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < SHOWN_PROBLEMS:
            self.problems.append(PostcodeProblem(line, reason))

    def add(self, line: int, cells: list[str], columns: _Columns, wards: _WardMatcher) -> None:
        """Keep one row's postcode if its ward is one of the 21; count it as skipped otherwise."""
        ward_text = _cell(cells, columns.ward)
        code = wards.code(ward_text)
        if code is None:
            district = columns.district
            in_stockport = district is not None and _cell(cells, district) == STOCKPORT_DISTRICT
            if not ward_text and (district is None or in_stockport):
                self.problem(line, f"no ward for {_cell(cells, columns.postcode) or 'the row'}")
                return
            self.outside += 1
            if in_stockport:
                self.unknown_stockport += 1
                self.unknown_stockport_wards[ward_text] = None
            return
        raw_postcode = _cell(cells, columns.postcode)
        key = postcode_key(raw_postcode)
        if not key:
            self.problem(line, "the postcode is empty")
        elif not is_postcode_key(key):
            self.problem(line, f"{shown(raw_postcode)} is not a postcode")
        elif key not in self.found:
            self.found[key] = (code, line)
        elif self.found[key][0] != code:
            self.problem(line, f"{raw_postcode} is on line {self.found[key][1]} too, with another ward")


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if index < len(cells) else ""


class PostcodeService:
    def __init__(self, context: ServiceContext, venues: VenueService) -> None:
        self._context = context
        self._venues = venues

    @requires(Permission.SIGNED_IN)
    def ward_for(self, postcode: str) -> Ward | None:
        """The ward the imported table gives a postcode (any case and spacing); None when it has none."""
        key = postcode_key(postcode)
        if not is_postcode_key(key):
            return None
        with self._context.db.read() as session:
            row = session.scalar(
                select(WardRow)
                .join(PostcodeWardRow, PostcodeWardRow.ward_code == WardRow.code)
                .where(PostcodeWardRow.postcode == key)
            )
            return None if row is None else Ward(code=row.code, name=row.name, population=row.population)

    @requires(Permission.SIGNED_IN)
    def count(self) -> int:
        """How many postcodes the table holds (0 when none has been imported)."""
        with self._context.db.read() as session:
            return session.scalar(select(func.count()).select_from(PostcodeWardRow)) or 0

    @requires(Permission.CHANGE_SETTINGS)
    def clear(self) -> int:
        """Empty the table; how many postcodes it held."""
        with self._context.db.write() as session:
            held = session.scalar(select(func.count()).select_from(PostcodeWardRow)) or 0
            session.execute(delete(PostcodeWardRow))
            audit.record(session, self._context, "postcodes.cleared", details={"held": held})
            return held

    @requires(Permission.CHANGE_SETTINGS)
    def import_table(
        self,
        source: Path,
        *,
        replace: bool = True,
        on_progress: Progress | None = None,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> ImportSummary:
        """Read `source` and put its postcodes in Stockport's 21 wards in the table: instead of the old
        table (`replace`), or added to it, a postcode in the file taking its ward from the file."""
        progress = on_progress or _quiet
        cancelled = is_cancelled or _never
        wards = self._venues.wards()
        reading = self._read(source, _WardMatcher(wards), progress, cancelled)
        if not reading.found:
            raise ImportRefused(_nothing_to_import(source, reading, wards))
        rows = [{"postcode": key, "ward_code": code} for key, (code, _line) in reading.found.items()]
        with self._context.db.write() as session:
            if replace:
                session.execute(delete(PostcodeWardRow))
            for start in range(0, len(rows), BATCH_ROWS):
                batch = rows[start : start + BATCH_ROWS]
                if not replace:
                    keys = [row["postcode"] for row in batch]
                    session.execute(delete(PostcodeWardRow).where(PostcodeWardRow.postcode.in_(keys)))
                session.execute(insert(PostcodeWardRow), batch)
                if cancelled():  # leaving the block rolls the whole import back
                    raise ImportCancelled(CANCELLED)
                progress(_READ_SHARE + (1000 - _READ_SHARE) * (start + len(batch)) // len(rows), 1000)
            table_size = session.scalar(select(func.count()).select_from(PostcodeWardRow)) or 0
            audit.record(
                session,
                self._context,
                "postcodes.imported",
                source.name[:60],
                details={"imported": len(rows), "replace": replace},
            )
        return ImportSummary(
            file_name=source.name,
            imported=len(rows),
            outside=reading.outside,
            problem_count=reading.problem_count,
            problems=tuple(reading.problems),
            table_size=table_size,
            unknown_stockport=reading.unknown_stockport,
            unknown_stockport_wards=tuple(reading.unknown_stockport_wards),
        )

    @staticmethod
    def _read(
        source: Path, wards: _WardMatcher, on_progress: Progress, is_cancelled: Callable[[], bool]
    ) -> _Reading:
        if source.suffix.casefold() == ".zip":  # ONS publishes the NSPL and ONSPD as zip files
            raise ImportRefused(
                f"{source.name} is a zip file: unzip it and import the CSV file inside (ONS puts it in the "
                "Data folder, e.g. NSPL_FEB_2024_UK.csv)."
            )
        # Postcodes and ward codes are plain ASCII, so a guessed encoding (and its warning) changes nothing.
        encoding, _warning = choose_encoding(source)
        reading = _Reading()
        rows = 0
        try:
            size = max(source.stat().st_size, 1)
            with source.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as text:
                first_line = text.readline()
                csv_records = records(
                    source, itertools.chain([first_line], text), sniff_delimiter(first_line)
                )
                header_record = next(csv_records, None)
                if header_record is None:
                    raise ImportRefused(f"{source.name} is empty: there is nothing to import.")
                columns = _columns(source, header_record[1])
                for line, cells in csv_records:
                    reading.add(line, cells, columns, wards)
                    rows += 1
                    if rows % _CHECK_EVERY == 0:
                        if is_cancelled():
                            raise ImportCancelled(CANCELLED)
                        on_progress(_READ_SHARE * min(raw.tell(), size) // size, 1000)
        except OSError as error:
            raise refuse_unreadable(source, error) from error
        except UnicodeDecodeError as error:  # only if the file changed since it was checked
            raise ImportRefused(f"{source.name} changed while it was read; import it again.") from error
        if not rows:
            raise ImportRefused(
                f"{source.name} has column headings but no postcodes under them: there is nothing to import."
            )
        return reading


def _columns(source: Path, header: list[str]) -> _Columns:
    """Where the postcode, the ward and (if there is one) the local authority are; refuse otherwise."""
    keys = [header_key(name) for name in header]
    postcode = _find(keys, _POSTCODE_COLUMNS)
    ward = _find(keys, _WARD_CODE_COLUMNS, _WARD_CODE_HEADING)
    if ward is None:
        ward = _find(keys, _WARD_NAME_COLUMNS, _WARD_NAME_HEADING)
    if postcode is not None and ward is not None:
        return _Columns(postcode, ward, _find(keys, _DISTRICT_COLUMNS, _DISTRICT_HEADING))
    headings = ", ".join(shown(name) for name in header[:8] if name.strip()) or "nothing"
    headings += " …" if len(header) > 8 else ""
    missing = "postcode column" if postcode is None else "ward column"
    if postcode is None and ward is None:
        missing = "postcode column and no ward column"
    advice = FILES_READ
    if is_postcode_key(postcode_key(header[0])):
        advice = f"Its first line is a postcode, not the headings: add a first line 'postcode,ward'. {advice}"
    raise ImportRefused(f"{source.name} has no {missing}: its first line has {headings}. {advice}")


def _find(keys: list[str], names: Sequence[str], heading: re.Pattern[str] | None = None) -> int | None:
    """The position of the first of `names` in `keys`, else of the first key matching `heading`."""
    for name in names:
        if name in keys:
            return keys.index(name)
    if heading is not None:
        return next((i for i, key in enumerate(keys) if heading.match(key)), None)
    return None


def _nothing_to_import(source: Path, reading: _Reading, wards: Sequence[Ward]) -> str:
    """Why a file gave no postcode in the 21 wards, and what to do; the table is left as it was."""
    text = f"{source.name} has no postcodes in Stockport's 21 wards, so the postcode table was not changed."
    if reading.unknown_stockport:
        codes = tuple(reading.unknown_stockport_wards)
        return f"{text} {unknown_wards_words(reading.unknown_stockport, codes)}"
    if reading.problem_count:
        listed = "; ".join(f"line {p.line}: {p.reason}" for p in reading.problems)
        return f"{text} Rows that could not be read: {listed}. Fix those lines and import it again."
    first, *_, last = sorted(ward.code for ward in wards)
    return (
        f"{text} Its {reading.outside:,} rows are all in other wards. The ward column must hold the ONS "
        f"codes of Stockport's wards ({first} to {last}) or their names, e.g. 'Reddish North'."
    )


def _quiet(_done: int, _total: int) -> None:
    """Progress that nobody watches."""


def _never() -> bool:
    return False
