"""The postcode-to-ward table: how a postcode is keyed, and what an import of a table found and did."""

from __future__ import annotations

from dataclasses import dataclass

from digiknow_desk.domain.residents import POSTCODE

STOCKPORT_DISTRICT = "E08000007"  # the ONS code of the Metropolitan Borough of Stockport
_SHOWN_CODES = 5


def postcode_key(text: str) -> str:
    """A postcode as the table keys it: upper case with no spaces ('sk4 1aa' -> 'SK41AA')."""
    return "".join(text.split()).upper()


def is_postcode_key(key: str) -> bool:
    """Whether a key made by `postcode_key` has the shape of a UK postcode."""
    return bool(POSTCODE.match(key))


@dataclass(frozen=True)
class PostcodeProblem:
    """A row of a postcode file that was skipped, and why; `line` as a text editor numbers it."""

    line: int
    reason: str


@dataclass(frozen=True)
class ImportSummary:
    """What an import of a postcode-to-ward table kept, skipped and why, for the CLI and the GUI."""

    file_name: str
    imported: int  # postcodes in Stockport's 21 wards, from the file
    outside: int  # rows in other wards
    problem_count: int  # rows that could not be read (bad postcode, no ward, a postcode twice)
    problems: tuple[PostcodeProblem, ...]  # the first few of them
    table_size: int  # postcodes in the table after the import
    # Rows the file places in Stockport but in a ward code that is not one of the 21 (only known when
    # the file has a local-authority column, as ONS's lookups do), and those ward codes.
    unknown_stockport: int = 0
    unknown_stockport_wards: tuple[str, ...] = ()

    def describe(self) -> str:
        """One paragraph: what was imported, what was skipped and the first problem rows, what to do."""
        skipped = []
        if self.outside:
            skipped.append(f"{self.outside:,} outside Stockport's 21 wards")
        if self.problem_count:
            shown = "; ".join(f"line {p.line}: {p.reason}" for p in self.problems)
            more = self.problem_count - len(self.problems)
            shown += f"; and {more:,} more" if more else ""
            skipped.append(f"{_count(self.problem_count, 'row')} that could not be read ({shown})")
        text = f"Imported {_count(self.imported, 'postcode')} in Stockport's 21 wards from {self.file_name}"
        text += f"; skipped {' and '.join(skipped)}." if skipped else "."
        if self.problem_count:
            text += " Check those lines in the file; the other rows were imported."
        if self.unknown_stockport:
            text += " " + unknown_wards_words(self.unknown_stockport, self.unknown_stockport_wards)
        return text + f" The table now holds {_count(self.table_size, 'postcode')}."


def unknown_wards_words(count: int, codes: tuple[str, ...]) -> str:
    """Why postcodes the file places in Stockport were skipped: its wards are not the 21 we know."""
    shown = ", ".join(codes[:_SHOWN_CODES]) + (", …" if len(codes) > _SHOWN_CODES else "")
    return (
        f"{_count(count, 'postcode')} in Stockport {'is' if count == 1 else 'are'} in wards with other "
        f"codes ({shown}): the file uses different ward "
        "boundaries from DigiKnow Desk's 21 wards, so those postcodes get no ward. Use a file made for "
        "the same wards (the codes listed by 'digiknow-desk wards list')."
    )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
