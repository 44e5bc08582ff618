"""Stockport's 21 wards and the estimate of digitally excluded residents in them: each ward's population
(with where the figures come from, so reports can cite it) and the excluded rate the coordinator sets."""

from __future__ import annotations

import itertools
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.reports import DEFAULT_EXCLUDED_RATE, check_excluded_rate
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
from digiknow_desk.services.settings import read_setting, write_setting
from digiknow_desk.storage.models import WardRow

POPULATION_SOURCE_KEY = "ward_population_source"
EXCLUDED_RATE_KEY = "excluded_rate"
# Where the populations the first migration seeds come from (db/reference/README.md).
SHIPPED_SOURCE = "ONS small-area population estimates (2022 wards), via Open Innovations"
MAX_POPULATION = 500_000  # Stockport's wards hold about 12,000 to 18,000 residents each
MAX_SOURCE_LENGTH = 200


def read_wards(session: Session) -> list[Ward]:
    """Every ward with its population, by name."""
    rows = session.scalars(select(WardRow).order_by(WardRow.name))
    return [Ward(code=row.code, name=row.name, population=row.population) for row in rows]


def read_population_source(session: Session) -> str:
    saved = read_setting(session, POPULATION_SOURCE_KEY)
    return SHIPPED_SOURCE if saved is None else str(saved["source"])


def read_excluded_rate(session: Session) -> float:
    saved = read_setting(session, EXCLUDED_RATE_KEY)
    return DEFAULT_EXCLUDED_RATE if saved is None else float(saved["rate"])


def estimated_excluded(population: int, rate: float) -> int:
    """A ward's estimated digitally excluded residents: its population times the excluded rate, to the
    nearest resident. A borough total is the sum of its wards' estimates, so the ward table adds up."""
    return round(population * rate)


def _population_problems(populations: dict[str, int], wards: dict[str, Ward]) -> dict[str, str]:
    """What is wrong with `populations` (codes already tidied), by ward code ('populations' for codes that
    are not wards)."""
    if not populations:
        return {"populations": "Give the population of at least one ward."}
    problems: dict[str, str] = {}
    unknown = [code for code in populations if code not in wards]
    if unknown:
        listed = ", ".join(unknown)
        problems["populations"] = (
            f"{listed} {'is' if len(unknown) == 1 else 'are'} not the ONS code of any of Stockport's "
            f"{len(wards)} wards."
        )
    for code, population in populations.items():
        whole = isinstance(population, int) and not isinstance(population, bool)
        if code in wards and not (whole and 1 <= population <= MAX_POPULATION):
            given = f"{population:,}" if isinstance(population, int | float) else repr(population)
            problems[code] = (
                f"{wards[code].name}: give the population as a whole number between 1 and "
                f"{MAX_POPULATION:,} ({given} is not one)."
            )
    return problems


def _tidied(populations: dict[str, int]) -> dict[str, int]:
    """`populations` by code as ONS writes it (capitals, no spaces); refused if a code comes twice."""
    tidied: dict[str, int] = {}
    for code, population in populations.items():
        key = code.strip().upper()
        if key in tidied:
            raise ValidationError({"populations": f"{key} is given twice: give each ward's population once."})
        tidied[key] = population
    return tidied


def _source_problem(source: str) -> str | None:
    if not source:
        return "Say where the populations come from, e.g. 'ONS mid-2023 estimates': reports cite it."
    if len(source) > MAX_SOURCE_LENGTH:
        return f"Keep the source to {MAX_SOURCE_LENGTH} characters or fewer (it has {len(source)})."
    return None


def _estimate_problems(session: Session, populations: dict[str, int], source: str) -> dict[str, str]:
    """What is wrong with new `populations` (codes tidied) from `source` (spaces tidied). One source stands
    for every ward's figure, so a new one needs every ward's population from it: fewer wards may only
    correct figures from the source already recorded."""
    wards = {ward.code: ward for ward in read_wards(session)}
    problems = _population_problems(populations, wards)
    recorded = read_population_source(session)
    if found := _source_problem(source):
        problems["source"] = found
    elif source != recorded and not wards.keys() <= populations.keys():
        problems["source"] = (
            f"A new source needs all {len(wards)} wards' populations from it; to correct one ward, give the "
            f"source already recorded: {recorded}"
        )
    return problems


def _write_populations(
    session: Session, context: ServiceContext, populations: dict[str, int], source: str
) -> None:
    changed = {}
    for row in session.scalars(select(WardRow).where(WardRow.code.in_(populations))):
        if row.population != populations[row.code]:
            changed[row.code] = [row.population, populations[row.code]]
        row.population = populations[row.code]
    if changed:
        audit.record(session, context, "wards.populations", source[:60], details=changed)
    write_setting(session, context, POPULATION_SOURCE_KEY, {"source": source})


def read_populations_csv(source: Path) -> dict[str, int]:
    """Ward populations from a CSV with the columns ward_code and population (others, such as the shipped
    file's ward_name, are left alone), by ward code as written; set_populations checks codes and figures.
    Refused, naming the line, when a row has no whole number or a ward comes twice."""
    # Codes and digits are plain ASCII, so a guessed encoding (and its warning) changes nothing.
    encoding, _warning = choose_encoding(source)
    populations: dict[str, int] = {}
    lines: dict[str, int] = {}
    try:
        with source.open(encoding=encoding, newline="") as text:
            first_line = text.readline()
            rows = records(source, itertools.chain([first_line], text), sniff_delimiter(first_line))
            header = next(rows, (1, []))[1]
            keys = [header_key(name) for name in header]
            if "ward_code" not in keys or "population" not in keys:
                raise ImportRefused(
                    f"{source.name} needs the columns ward_code and population: make its first line "
                    "'ward_code,population'."
                )
            code_at, population_at = keys.index("ward_code"), keys.index("population")
            for line, cells in rows:
                cells += [""] * (max(code_at, population_at) + 1 - len(cells))
                code = cells[code_at].strip().upper()
                digits = cells[population_at].strip().replace(",", "")
                if not code or not (digits.isascii() and digits.isdigit()):
                    raise ImportRefused(
                        f"{source.name}, line {line}: give a ward code and its population as a whole "
                        f"number (found {shown(cells[code_at])} and {shown(cells[population_at])})."
                    )
                if code in lines:
                    raise ImportRefused(
                        f"{source.name}: {code} is on lines {lines[code]} and {line}; give each ward once."
                    )
                populations[code], lines[code] = int(digits), line
    except OSError as error:
        raise refuse_unreadable(source, error) from error
    return populations


class WardService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @requires(Permission.SIGNED_IN)
    def wards(self) -> list[Ward]:
        with self._context.db.read() as session:
            return read_wards(session)

    @requires(Permission.SIGNED_IN)
    def population_source(self) -> str:
        """Where the ward populations come from, as reports cite it."""
        with self._context.db.read() as session:
            return read_population_source(session)

    @requires(Permission.CHANGE_SETTINGS)
    def set_populations(self, populations: dict[str, int], source: str) -> None:
        """Give the wards in `populations` (ONS code -> residents) new populations from `source`, which
        stands for the whole table: a new source needs every ward's figure, fewer wards keep the source
        already recorded. All or nothing: any problem and nothing changes."""
        tidied = _tidied(populations)
        source = " ".join(source.split())
        with self._context.db.write() as session:
            if problems := _estimate_problems(session, tidied, source):
                raise ValidationError(problems)
            _write_populations(session, self._context, tidied, source)

    @requires(Permission.SIGNED_IN)
    def excluded_rate(self) -> float:
        """The share of residents estimated to be digitally excluded, from 0 to 1 (0.13 is 13%)."""
        with self._context.db.read() as session:
            return read_excluded_rate(session)

    @requires(Permission.CHANGE_SETTINGS)
    def set_excluded_rate(self, rate: float) -> None:
        if problem := check_excluded_rate(rate):
            raise ValidationError({"excluded_rate": problem})
        with self._context.db.write() as session:
            write_setting(session, self._context, EXCLUDED_RATE_KEY, {"rate": rate})

    @requires(Permission.CHANGE_SETTINGS)
    def save_estimate(self, populations: dict[str, int], source: str, rate: float) -> None:
        """Save new populations (as set_populations) and the excluded rate together, in one transaction:
        every problem with any of them is found first, and then all are saved or nothing is."""
        tidied = _tidied(populations)
        source = " ".join(source.split())
        with self._context.db.write() as session:
            problems = _estimate_problems(session, tidied, source)
            if problem := check_excluded_rate(rate):
                problems["excluded_rate"] = problem
            if problems:
                raise ValidationError(problems)
            _write_populations(session, self._context, tidied, source)
            write_setting(session, self._context, EXCLUDED_RATE_KEY, {"rate": rate})
