"""Making text safe to open in a spreadsheet, and reading such text back exactly (CSV exports and reports)."""

from __future__ import annotations

import re

# A cell starting with one of these may be run as a formula by Excel, LibreOffice or Google Sheets
# ("CSV injection"); a leading apostrophe makes them show it as text instead.
FORMULA_TRIGGERS = frozenset("=+-@\t\r")

# Text that already starts with apostrophes before a trigger gets one more on the way out, so that
# taking one off on the way back in returns exactly what was written.
_NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")


def spreadsheet_safe(text: str) -> str:
    """`text` as a cell a spreadsheet shows but never runs: a leading ' before a formula trigger."""
    if text[:1] in FORMULA_TRIGGERS or _NEUTRALISED.match(text):
        return "'" + text
    return text


def from_spreadsheet_safe(text: str) -> str:
    """The text `spreadsheet_safe` was given: `from_spreadsheet_safe(spreadsheet_safe(t)) == t`."""
    if _NEUTRALISED.match(text):
        return text[1:]
    return text
