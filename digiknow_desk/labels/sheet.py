"""Label PDFs: asset-tag labels (QR code, tag, heading, detail) on a label stock, and a calibration page."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import BinaryIO

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from digiknow_desk.labels.canvas import PrintCanvas
from digiknow_desk.labels.qr import qr_matrix
from digiknow_desk.labels.stock import LabelStock, label_positions

UNASSIGNED_HEADING = "Unassigned"
PROGRESS_EVERY = 25

# Scanners need a light border of 4 modules round a QR code (ISO/IEC 18004); it is printed
# inside the label because the label may be stuck on a dark device.
_QUIET_MODULES = 4
_BOLD = "Helvetica-Bold"
_REGULAR = "Helvetica"
_ELLIPSIS = "…"
_LINE_SPACING = 1.2
# Long text shrinks down to this size (points) before it is cut short with an ellipsis.
_SMALLEST_SIZE = 6.5
# From a line's top to its baseline, as a fraction of the font size: Helvetica's tallest glyphs.
_ASCENT = 0.93


@dataclass(frozen=True)
class Label:
    """What one label shows: the asset tag (also the QR code's text), a heading and a detail line."""

    tag: str
    heading: str
    detail: str


class LabelsCancelled(Exception):
    """A label run was cancelled; no PDF was written."""


@dataclass(frozen=True)
class _Box:
    """A rectangle in PDF points, from its bottom-left corner."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class _Layout:
    """Where the QR code and the text sit inside a label, relative to the label's bottom-left corner."""

    qr: _Box  # square, and it includes the quiet zone
    text: _Box
    small_size: float  # points, for the heading and the detail line
    tag_size: float  # the largest tag size; a long tag is set smaller
    centred: bool  # text centred under the code, rather than ranged left beside it

    @classmethod
    def for_stock(cls, stock: LabelStock) -> _Layout:
        width, height = stock.label_width_mm * mm, stock.label_height_mm * mm
        # Keep ink clear of the die cut, which a printer may miss by a millimetre.
        inset = min(1.5 * mm, 0.05 * min(width, height))
        if width >= 1.3 * height:  # wide: the code on the left, the text beside it
            side = min(height - 2 * inset, (width - 2 * inset) / 2)
            qr = _Box(inset, (height - side) / 2, side, side)
            text = _Box(inset + side, inset, width - 2 * inset - side, height - 2 * inset)
            centred = False
        else:  # tall or square: the code at the top, the text beneath
            side = min(width - 2 * inset, 0.6 * (height - 2 * inset))
            qr = _Box((width - side) / 2, height - inset - side, side, side)
            text = _Box(inset, inset, width - 2 * inset, height - 2 * inset - side)
            centred = True
        small_size = min(9.0, text.height / 7)
        return cls(qr, text, small_size, min(28.0, text.height / 3), centred)


def render_labels(
    labels: Sequence[Label],
    stock: LabelStock,
    out: BinaryIO | Path,
    *,
    blank_tags: Sequence[str] = (),
    on_progress: Callable[[int, int], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    demo: bool = False,
) -> int:
    """Write a PDF of `labels`, then one "Unassigned" label for each of `blank_tags`; return how many.

    `on_progress(done, total)` is called every PROGRESS_EVERY labels and at the end; when
    `is_cancelled()` turns true the run stops with LabelsCancelled before anything is written.
    """
    everything = [*labels, *(Label(tag, UNASSIGNED_HEADING, "") for tag in blank_tags)]
    if not everything:
        raise ValueError("There are no labels to print.")
    layout = _Layout.for_stock(stock)
    positions = label_positions(stock)
    page_height = stock.page_height_mm * mm
    label_height = stock.label_height_mm * mm
    canvas = _new_canvas(out, stock, f"Asset labels – {stock.name}", demo)
    total = len(everything)
    for index, label in enumerate(everything):
        if index % PROGRESS_EVERY == 0:
            if is_cancelled is not None and is_cancelled():
                raise LabelsCancelled(f"Printing labels was cancelled after {index} of {total}.")
            if on_progress is not None:
                on_progress(index, total)
        slot = index % stock.labels_per_page
        if slot == 0 and index:
            canvas.showPage()
        x_mm, y_mm = positions[slot]
        _draw_label(canvas, layout, label, x_mm * mm, page_height - y_mm * mm - label_height)
    canvas.showPage()
    canvas.save()
    if on_progress is not None:
        on_progress(total, total)
    return total


def render_calibration_page(stock: LabelStock, out: BinaryIO | Path, *, demo: bool = False) -> None:
    """Write a one-page PDF of every label's outline and the stock's figures, to hold against a sheet."""
    canvas = _new_canvas(out, stock, f"Calibration page – {stock.name}", demo)
    page_height = stock.page_height_mm * mm
    width, height = stock.label_width_mm * mm, stock.label_height_mm * mm
    inset = min(2 * mm, 0.1 * height)
    canvas.setLineWidth(0.3)
    for number, (x_mm, y_mm) in enumerate(label_positions(stock), start=1):
        x, y = x_mm * mm, page_height - y_mm * mm - height
        canvas.roundRect(x, y, width, height, stock.corner_radius_mm * mm, stroke=1, fill=0)
        canvas.setFont(_REGULAR, 6)
        canvas.drawString(x + inset, y + height - inset - 6 * _ASCENT, str(number))

    lines = [
        stock.title,
        "Print at actual size (100%), no fit to page.",
        "Hold against a sheet of labels, up to the light.",
        f"Page {stock.page_width_mm:g} × {stock.page_height_mm:g} mm; "
        f"{stock.columns} × {stock.rows} labels of {stock.label_width_mm:g} × {stock.label_height_mm:g} mm",
        f"Margins: left {stock.left_margin_mm:g} mm, top {stock.top_margin_mm:g} mm",
        f"Pitch: across {stock.horizontal_pitch_mm:g} mm, down {stock.vertical_pitch_mm:g} mm",
    ]
    # The figures go in the first label, which every stock has; one size for all, as large as fits.
    first_x, first_y = label_positions(stock)[0]
    text_width = width - 2 * inset
    largest = min(7.0, (height - 2 * inset) / (len(lines) + 1) / _LINE_SPACING)
    size = min(_fitting_size(line, _REGULAR, text_width, largest, min(largest, 4.0)) for line in lines)
    top = page_height - first_y * mm - (height - len(lines) * size * _LINE_SPACING) / 2
    _draw_lines(canvas, [(line, _REGULAR, size) for line in lines], first_x * mm + inset, top, text_width)
    canvas.showPage()
    canvas.save()


def _new_canvas(out: BinaryIO | Path, stock: LabelStock, title: str, demo: bool) -> Canvas:
    # invariant: no timestamps in the file, so the same labels give the same bytes.
    canvas = PrintCanvas(
        str(out) if isinstance(out, Path) else out,
        pagesize=(stock.page_width_mm * mm, stock.page_height_mm * mm),
        pageCompression=1,
        invariant=1,
        demo=demo,
    )
    canvas.setTitle(title)
    canvas.setCreator("DigiKnow Desk")
    return canvas


def _draw_label(canvas: Canvas, layout: _Layout, label: Label, x: float, y: float) -> None:
    matrix = qr_matrix(label.tag)
    module = layout.qr.width / (len(matrix) + 2 * _QUIET_MODULES)
    quiet = _QUIET_MODULES * module
    draw_qr(canvas, matrix, x + layout.qr.x + quiet, y + layout.qr.y + layout.qr.height - quiet, module)

    text = layout.text
    # The heading and the detail share one size, so that labels on a sheet look alike.
    small = min(
        _fitting_size(line, font, text.width, layout.small_size, min(layout.small_size, _SMALLEST_SIZE))
        for line, font in ((label.heading, _BOLD), (label.detail, _REGULAR))
    )
    tag_size = _fitting_size(label.tag, _BOLD, text.width, layout.tag_size, small)
    lines = [(label.tag, _BOLD, tag_size), (label.heading, _BOLD, small), (label.detail, _REGULAR, small)]
    lines = [line for line in lines if line[0]]
    height = sum(size * _LINE_SPACING for _, _, size in lines)
    top = y + text.y + (text.height + height) / 2
    _draw_lines(canvas, lines, x + text.x, top, text.width, centred=layout.centred)


def draw_qr(canvas: Canvas, matrix: list[list[bool]], left: float, top: float, module: float) -> None:
    """Draw a QR matrix with its top-left corner at (left, top), `module` points per module.

    One filled path for the whole code: squares filled one by one leave hairline seams when
    a viewer or printer anti-aliases them. Each run of dark modules in a row is one rectangle.
    """
    path = canvas.beginPath()
    for row_number, row in enumerate(matrix):
        column = 0
        for dark, run in groupby(row):
            length = len(list(run))
            if dark:
                path.rect(column, row_number, length, 1)
            column += length
    canvas.saveState()
    canvas.translate(left, top)
    canvas.scale(module, -module)  # one unit per module, rows counted downwards
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _draw_lines(
    canvas: Canvas,
    lines: list[tuple[str, str, float]],
    x: float,
    top: float,
    width: float,
    *,
    centred: bool = False,
) -> None:
    """Draw (text, font, size) lines down from `top`, each cut short with an ellipsis to fit `width`."""
    for text, font, size in lines:
        canvas.setFont(font, size)
        shown = _truncated(text, font, size, width)
        if centred:
            canvas.drawCentredString(x + width / 2, top - size * _ASCENT, shown)
        else:
            canvas.drawString(x, top - size * _ASCENT, shown)
        top -= size * _LINE_SPACING


def _fitting_size(text: str, font: str, width: float, largest: float, smallest: float) -> float:
    """The largest font size, between the bounds and in tenths of a point, at which `text` fits `width`."""
    if not text:
        return largest
    return max(smallest, min(largest, math.floor(10 * width / stringWidth(text, font, 1)) / 10))


def _truncated(text: str, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    keep, too_many = 0, len(text)  # the longest prefix that fits with the ellipsis, by bisection
    while too_many - keep > 1:
        middle = (keep + too_many) // 2
        if stringWidth(text[:middle].rstrip() + _ELLIPSIS, font, size) <= width:
            keep = middle
        else:
            too_many = middle
    return text[:keep].rstrip() + _ELLIPSIS
