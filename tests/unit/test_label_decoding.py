"""The proof that printed labels work: rasterise the PDFs at printer resolution and scan every QR code."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw

from digiknow_desk.labels.sheet import Label, render_labels
from digiknow_desk.labels.stock import LabelStock, label_positions, load_stock
from digiknow_desk.services.labels import label_stock_folder

DPI = 300  # a realistic office printer
PX_PER_MM = DPI / 25.4
QR_CODES = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

TALL_STOCK = """\
name = "tall-40x60"
title = "Test stock – 3 × 2 tall labels"
page_width_mm = 140
page_height_mm = 140
columns = 3
rows = 2
label_width_mm = 40
label_height_mm = 60
left_margin_mm = 5
top_margin_mm = 5
horizontal_pitch_mm = 45
vertical_pitch_mm = 65
corner_radius_mm = 2
"""

DEVICES = [
    ("Tablet", "Samsung Galaxy Tab A8"),
    ("Laptop", "Lenovo IdeaPad 3 15ITL6 with 8 GB memory and a 256 GB solid-state drive"),
    ("Chromebook", "Acer Chromebook 314"),
    ("MiFi", "Huawei E5576"),
    ("Data SIM", "Vodafone 30 GB"),
    ("Phone", ""),
    ("A heading far too long to fit on any label at all", "Ünïcödé – 63.5 × 38.1"),
]
# Short and long, letters-and-digits mode and byte mode, up to the longest tag a label takes.
ODD_TAGS = ["A", "0000123", "CHROMEBOOK-00042", "sim-07", "MIFI 12/B", "LAPTOP-" + "X" * 43]

STOCKS = label_stock_folder()


def _tags_and_labels() -> tuple[list[Label], list[str]]:
    tags = [f"{kind}-{number:04d}" for number, kind in enumerate(["TAB", "LAP", "CHR", "MIF", "SIM"] * 7)]
    tags += ODD_TAGS
    labels = [Label(tag, *DEVICES[number % len(DEVICES)]) for number, tag in enumerate(tags)]
    return labels, ["TAB-9001", "TAB-9002", "TAB-9003", "TAB-9004"]


def _rasterise(pdf: bytes) -> list[Image.Image]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L") for page in document]
    finally:
        document.close()


def _render(stock: LabelStock) -> tuple[list[str], list[Image.Image]]:
    labels, blank_tags = _tags_and_labels()
    out = io.BytesIO()
    assert render_labels(labels, stock, out, blank_tags=blank_tags) == 45
    return [label.tag for label in labels] + blank_tags, _rasterise(out.getvalue())


def _label_at(stock: LabelStock, x_mm: float, y_mm: float) -> int:
    """The slot on the page whose label contains the point."""
    (slot,) = [
        slot
        for slot, (left, top) in enumerate(label_positions(stock))
        if left <= x_mm <= left + stock.label_width_mm and top <= y_mm <= top + stock.label_height_mm
    ]
    return slot


def _assert_every_label_scans(stock: LabelStock) -> None:
    printed, pages = _render(stock)
    per_page = stock.labels_per_page

    scanned: list[str] = []
    for page_number, image in enumerate(pages):
        for barcode in zxingcpp.read_barcodes(image, formats=QR_CODES):
            corners = barcode.position
            x = (corners.top_left.x + corners.bottom_right.x) / 2 / PX_PER_MM
            y = (corners.top_left.y + corners.bottom_right.y) / 2 / PX_PER_MM
            slot = _label_at(stock, x, y)
            assert barcode.text == printed[page_number * per_page + slot], "the code is on its own label"
            scanned.append(barcode.text)

    assert sorted(scanned) == sorted(printed)


@pytest.mark.parametrize("name", ["L7160", "L7163", "roll-62mm"])
def test_every_label_on_a_shipped_stock_scans_as_its_tag(name: str) -> None:
    _assert_every_label_scans(load_stock(name, STOCKS))


def test_labels_on_a_tall_stock_scan_too(tmp_path: Path) -> None:
    (tmp_path / "tall-40x60.toml").write_text(TALL_STOCK, encoding="utf-8")

    _assert_every_label_scans(load_stock("tall-40x60", tmp_path))


@pytest.mark.parametrize("name", ["L7160", "L7163", "roll-62mm"])
def test_no_ink_falls_outside_the_labels(name: str) -> None:
    # Long headings and details are cut short, and codes keep clear of the die cut.
    stock = load_stock(name, STOCKS)
    _, pages = _render(stock)
    clearance = 0.5 * PX_PER_MM

    for image in pages:
        painted_over = image.copy()
        draw = ImageDraw.Draw(painted_over)
        for left, top in label_positions(stock):
            draw.rectangle(
                (
                    left * PX_PER_MM + clearance,
                    top * PX_PER_MM + clearance,
                    (left + stock.label_width_mm) * PX_PER_MM - clearance,
                    (top + stock.label_height_mm) * PX_PER_MM - clearance,
                ),
                fill=255,
            )
        ink = ImageChops.invert(painted_over).point(lambda level: 255 if level > 64 else 0)
        assert ink.getbbox() is None
