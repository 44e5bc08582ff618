"""Where the data that ships with the app lives: migrations, reference data, report templates, resources."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
# A wheel carries the top-level data folders inside the package (see pyproject.toml);
# a source checkout (or an editable install) has them beside the package.
_CANDIDATE_ROOTS = (_PACKAGE_DIR / "_shipped", _PACKAGE_DIR.parent)


def shipped_dir(name: str) -> Path:
    """The folder `name` ("db", "reports" or "resources") as shipped with the app."""
    for root in _CANDIDATE_ROOTS:
        candidate = root / name
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"The app's '{name}' folder is missing; reinstall DigiKnow Desk.")
