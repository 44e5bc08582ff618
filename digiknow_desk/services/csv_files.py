"""Reading a CSV file a person gave us: its encoding, delimiter and records, or why it cannot be read."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from digiknow_desk.domain.errors import DomainError

SAVE_AS_UTF8 = (
    "In Excel choose File > Save As > 'CSV UTF-8 (Comma delimited)'; in LibreOffice choose the "
    "character set 'Unicode (UTF-8)'."
)
_CHUNK_BYTES = 1 << 20
_SHOWN_VALUE = 40  # characters of a cell quoted back in a message


class ImportRefused(DomainError):
    """The file as a whole cannot be imported; the message says why and what to do."""


def shown(text: str) -> str:
    """A cell quoted back to a person: short, on one line."""
    text = " ".join(text.split())
    if len(text) > _SHOWN_VALUE:
        text = text[: _SHOWN_VALUE - 1] + "…"
    return f"'{text}'"


def header_key(text: str) -> str:
    """A heading or name as it is compared: without a byte order mark, spaces collapsed, any case."""
    return " ".join(text.replace("\ufeff", "").split()).casefold()


# Reading the bytes


def refuse_unreadable(source: Path, error: OSError) -> ImportRefused:
    """The refusal, in plain words, for an error met while opening or reading `source`."""
    if isinstance(error, FileNotFoundError):
        return ImportRefused(f"There is no file at {source}; check the name and the folder.")
    if isinstance(error, IsADirectoryError):
        return ImportRefused(f"{source} is a folder; choose the CSV file inside it.")
    return ImportRefused(f"Could not read {source}: {error.strerror or error}.")


_NOT_CSV_SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zipped file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)"),
    (b"%PDF", "a PDF document"),
)


def choose_encoding(source: Path) -> tuple[str, str | None]:
    """The encoding to read `source` with and, when it had to be guessed, a warning saying so.

    Reads the file in chunks, so a large file never sits in memory whole.
    """
    try:
        with source.open("rb") as stream:
            head = stream.read(4)
    except OSError as error:
        raise refuse_unreadable(source, error) from error
    if not head:
        raise ImportRefused(f"{source.name} is empty: there is nothing to import.")
    for signature, what in _NOT_CSV_SIGNATURES:
        if head.startswith(signature):
            raise ImportRefused(
                f"{source.name} is {what}, not a CSV file. Open it and save it as CSV first: {SAVE_AS_UTF8}"
            )
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        candidates = ["utf-32"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp1252"]
    failure: tuple[int, int] | None = None
    for encoding in candidates:
        failure = _decode_failure(source, encoding)
        if failure is None:
            warning = None
            if encoding == "cp1252":
                warning = (
                    f"{source.name} is not UTF-8 text, so it was read as Windows-1252 (what older "
                    "Excel versions save as 'CSV'); check that accented letters such as é and ü came "
                    f"out right. Saving as CSV UTF-8 avoids the guess. {SAVE_AS_UTF8}"
                )
            return encoding, warning
    assert failure is not None
    byte, line = failure
    if encoding == "cp1252":
        what = "is not saved as UTF-8 text, nor as Windows-1252 (older Excel 'CSV')"
    else:
        what = f"starts like {encoding.upper()} text but is not"
    raise ImportRefused(
        f"{source.name} {what}: byte 0x{byte:02X} on line {line} is not a letter in it, so its "
        f"text cannot be read reliably. Save it again as CSV UTF-8 and import that. {SAVE_AS_UTF8}"
    )


def _decode_failure(source: Path, encoding: str) -> tuple[int, int] | None:
    """None when all of `source` decodes as `encoding`; otherwise the first bad byte and its line.

    NUL bytes (other than in UTF-16/32, where they are normal) mean the file is not text at all,
    and refuse it.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    wide = encoding in {"utf-16", "utf-32"}
    offset = 0
    try:
        with source.open("rb") as stream:
            while True:
                chunk = stream.read(_CHUNK_BYTES)
                if not wide and b"\x00" in chunk:
                    raise ImportRefused(
                        f"{source.name} is not a text file (it contains NUL bytes), so it cannot be "
                        "a CSV file. If it was saved as 'Unicode Text' or UTF-16, or is a "
                        f"spreadsheet, save it as CSV instead. {SAVE_AS_UTF8}"
                    )
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as error:
                    buffered = len(error.object) - len(chunk)
                    position = max(offset + error.start - buffered, 0)
                    bad = bytes(error.object[error.start : error.start + 1]) or b"\x00"
                    return bad[0], _line_at(source, position)
                if not chunk:
                    return None
                offset += len(chunk)
    except OSError as error:
        raise refuse_unreadable(source, error) from error


def _line_at(source: Path, position: int) -> int:
    """The line number (from 1) of byte `position`, counting LF, CRLF and lone CR line ends."""
    with source.open("rb") as stream:
        before = stream.read(position)
    return before.count(b"\n") + before.replace(b"\r\n", b"").count(b"\r") + 1


def sniff_delimiter(first_line: str) -> str:
    """',' as a rule; tab or ';' when the header uses those instead (Excel 'Unicode Text', some locales)."""
    if "," in first_line:
        return ","
    if "\t" in first_line:
        return "\t"
    if ";" in first_line:
        return ";"
    return ","


def records(source: Path, lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank record with the physical line it starts on; CSV errors become ImportRefused."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportRefused(_csv_error_message(source, error, start, reader.line_num)) from error
        if any(cell.strip() for cell in cells):
            yield start, cells


def _csv_error_message(source: Path, error: csv.Error, start: int, end: int) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return (
            f"{source.name}: the row starting on line {start} has a cell longer than "
            f'{csv.field_size_limit():,} characters. Usually a quote mark (") that opens a cell is '
            "never closed; check that row."
        )
    if "unexpected end of data" in text:
        return (
            f'{source.name}: a quote mark (") in the row starting on line {start} is never closed, '
            "so everything after it would be read as one cell. Close the quote, or delete the stray "
            "one, and import again."
        )
    if "expected after" in text:
        return (
            f"{source.name}: the row starting on line {start} has text after a closing quote mark "
            f'(") on line {end}. A quote mark that is never closed, or a quote inside a quoted cell '
            'not written twice (""), causes this; fix that row and import again.'
        )
    return f"{source.name}: line {end} could not be read as CSV ({text}); fix it and import again."
