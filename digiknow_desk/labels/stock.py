"""Label stocks: the geometry of each kind of label sheet or roll, read from TOML files in reports/."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

# Printed figures are rounded to 0.01 mm, so a layout may overrun the page by that much.
_TOLERANCE_MM = 0.01
_STOCK_NAME = re.compile(r"[A-Za-z0-9._-]+")


class LabelStockError(ValueError):
    """A label-stock file is missing, unreadable, or describes labels that cannot be printed."""


@dataclass(frozen=True)
class LabelStock:
    """One kind of label sheet or roll. Lengths are millimetres, measured from the page's top-left."""

    name: str
    title: str
    page_width_mm: float
    page_height_mm: float
    columns: int
    rows: int
    label_width_mm: float
    label_height_mm: float
    left_margin_mm: float
    top_margin_mm: float
    horizontal_pitch_mm: float
    vertical_pitch_mm: float
    corner_radius_mm: float

    @property
    def labels_per_page(self) -> int:
        return self.columns * self.rows


def load_stock(name: str, folder: Path) -> LabelStock:
    """The stock described by `<folder>/<name>.toml`."""
    if not _STOCK_NAME.fullmatch(name):
        raise LabelStockError(f"'{name}' is not a label stock name: use letters, digits, '.', '_' or '-'.")
    path = folder / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(other.stem for other in folder.glob("*.toml"))) or "none"
        raise LabelStockError(f"There is no label stock called '{name}' (looked for {path}). Known: {known}.")
    return read_stock_file(path)


def list_stocks(folder: Path) -> list[LabelStock]:
    """Every stock in the folder, by name; a broken file raises rather than vanishing from the list."""
    return [read_stock_file(path) for path in sorted(folder.glob("*.toml"))]


def read_stock_file(path: Path) -> LabelStock:
    """Read and check one stock file."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LabelStockError(f"Label stock file {path} cannot be read: {error}") from error

    expected = [field.name for field in fields(LabelStock)]
    unknown = sorted(set(data) - set(expected))
    if unknown:
        raise LabelStockError(
            f"Label stock file {path} has unknown field(s) {', '.join(unknown)}; "
            f"the fields are: {', '.join(expected)}."
        )
    stock = LabelStock(
        name=_text(path, data, "name"),
        title=_text(path, data, "title"),
        page_width_mm=_length(path, data, "page_width_mm"),
        page_height_mm=_length(path, data, "page_height_mm"),
        columns=_count(path, data, "columns"),
        rows=_count(path, data, "rows"),
        label_width_mm=_length(path, data, "label_width_mm"),
        label_height_mm=_length(path, data, "label_height_mm"),
        left_margin_mm=_length(path, data, "left_margin_mm"),
        top_margin_mm=_length(path, data, "top_margin_mm"),
        horizontal_pitch_mm=_length(path, data, "horizontal_pitch_mm"),
        vertical_pitch_mm=_length(path, data, "vertical_pitch_mm"),
        corner_radius_mm=_length(path, data, "corner_radius_mm"),
    )
    if stock.name != path.stem:
        raise LabelStockError(
            f"Label stock file {path} says name = '{stock.name}'; the name must match the file name "
            f"('{path.stem}'), so rename one of them."
        )
    _check_geometry(path, stock)
    return stock


def label_positions(stock: LabelStock) -> list[tuple[float, float]]:
    """The top-left corner (x, y) of each label, in mm from the page's top-left, in reading order."""
    return [
        (
            stock.left_margin_mm + column * stock.horizontal_pitch_mm,
            stock.top_margin_mm + row * stock.vertical_pitch_mm,
        )
        for row in range(stock.rows)
        for column in range(stock.columns)
    ]


def _field(path: Path, data: dict[str, object], key: str) -> object:
    if key not in data:
        raise LabelStockError(f"Label stock file {path} is missing the field '{key}'.")
    return data[key]


def _text(path: Path, data: dict[str, object], key: str) -> str:
    value = _field(path, data, key)
    if not isinstance(value, str) or not value.strip():
        raise LabelStockError(f"Label stock file {path}: '{key}' must be non-empty text.")
    return value


def _count(path: Path, data: dict[str, object], key: str) -> int:
    value = _field(path, data, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LabelStockError(f"Label stock file {path}: '{key}' must be a whole number, 1 or more.")
    return value


def _length(path: Path, data: dict[str, object], key: str) -> float:
    value = _field(path, data, key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise LabelStockError(f"Label stock file {path}: '{key}' must be a number of millimetres, 0 or more.")
    return float(value)


def _check_geometry(path: Path, stock: LabelStock) -> None:
    problems: list[str] = []
    for key in ("page_width_mm", "page_height_mm", "label_width_mm", "label_height_mm"):
        if getattr(stock, key) == 0:
            problems.append(f"'{key}' is 0")
    if stock.columns > 1 and stock.horizontal_pitch_mm < stock.label_width_mm:
        problems.append(
            f"horizontal_pitch_mm ({stock.horizontal_pitch_mm:g}) is less than label_width_mm "
            f"({stock.label_width_mm:g}), so neighbouring labels overlap"
        )
    if stock.rows > 1 and stock.vertical_pitch_mm < stock.label_height_mm:
        problems.append(
            f"vertical_pitch_mm ({stock.vertical_pitch_mm:g}) is less than label_height_mm "
            f"({stock.label_height_mm:g}), so neighbouring labels overlap"
        )
    right = stock.left_margin_mm + (stock.columns - 1) * stock.horizontal_pitch_mm + stock.label_width_mm
    if right > stock.page_width_mm + _TOLERANCE_MM:
        problems.append(
            "the labels fall off the right of the page: left_margin_mm + (columns - 1) × "
            f"horizontal_pitch_mm + label_width_mm = {right:g} mm, "
            f"but page_width_mm is {stock.page_width_mm:g}"
        )
    bottom = stock.top_margin_mm + (stock.rows - 1) * stock.vertical_pitch_mm + stock.label_height_mm
    if bottom > stock.page_height_mm + _TOLERANCE_MM:
        problems.append(
            "the labels fall off the bottom of the page: top_margin_mm + (rows - 1) × "
            f"vertical_pitch_mm + label_height_mm = {bottom:g} mm, "
            f"but page_height_mm is {stock.page_height_mm:g}"
        )
    if stock.corner_radius_mm * 2 > min(stock.label_width_mm, stock.label_height_mm):
        problems.append(f"corner_radius_mm ({stock.corner_radius_mm:g}) is more than half the label's size")
    if problems:
        raise LabelStockError(f"Label stock file {path}: " + "; ".join(problems) + ".")
