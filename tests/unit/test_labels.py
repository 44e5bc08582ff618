"""Label stocks, QR encoding and the label PDFs' structure: geometry, validation, progress and cancel."""

from __future__ import annotations

import io
import math
from itertools import combinations
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_H
from qrcode.util import QRData

from digiknow_desk.labels.qr import QrTextError, qr_matrix
from digiknow_desk.labels.sheet import (
    PROGRESS_EVERY,
    Label,
    LabelsCancelled,
    render_calibration_page,
    render_labels,
)
from digiknow_desk.labels.stock import (
    LabelStock,
    LabelStockError,
    label_positions,
    list_stocks,
    load_stock,
)
from digiknow_desk.services.labels import label_stock_folder

SHIPPED = ["L7160", "L7163", "roll-62mm"]
MM_PER_POINT = 25.4 / 72

CUSTOM_STOCK = """\
name = "square-50"
title = "Test stock – 2 × 2 square labels"
page_width_mm = 120
page_height_mm = 120
columns = 2
rows = 2
label_width_mm = 50
label_height_mm = 50
left_margin_mm = 8
top_margin_mm = 8
horizontal_pitch_mm = 54
vertical_pitch_mm = 54
corner_radius_mm = 2
"""

STOCKS = label_stock_folder()


def _write_stock(folder: Path, text: str, name: str = "square-50") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [(page.get_width() * MM_PER_POINT, page.get_height() * MM_PER_POINT) for page in document]
    finally:
        document.close()


def _labels(count: int) -> list[Label]:
    return [Label(f"TAB-{number:04d}", "Tablet", "Samsung Galaxy Tab A8") for number in range(count)]


# Label stocks


def test_the_shipped_stocks_are_listed_by_name() -> None:
    assert [stock.name for stock in list_stocks(STOCKS)] == SHIPPED


def test_l7160_has_avery_published_figures() -> None:
    assert load_stock("L7160", STOCKS) == LabelStock(
        name="L7160",
        title="Avery L7160 – 21 labels per A4 sheet (63.5 × 38.1 mm)",
        page_width_mm=210,
        page_height_mm=297,
        columns=3,
        rows=7,
        label_width_mm=63.5,
        label_height_mm=38.1,
        left_margin_mm=7.2,
        top_margin_mm=15.15,
        horizontal_pitch_mm=66.04,
        vertical_pitch_mm=38.1,
        corner_radius_mm=1.8,
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_labels_sit_inside_the_page_without_overlapping(name: str) -> None:
    stock = load_stock(name, STOCKS)
    positions = label_positions(stock)

    assert len(positions) == stock.rows * stock.columns == stock.labels_per_page
    assert positions == sorted(positions, key=lambda xy: (xy[1], xy[0])), "reading order"
    for x, y in positions:
        assert x >= 0 and y >= 0
        assert x + stock.label_width_mm <= stock.page_width_mm + 0.01
        assert y + stock.label_height_mm <= stock.page_height_mm + 0.01
    for (x1, y1), (x2, y2) in combinations(positions, 2):
        apart_across = abs(x1 - x2) >= stock.label_width_mm - 1e-9
        apart_down = abs(y1 - y2) >= stock.label_height_mm - 1e-9
        assert apart_across or apart_down


@pytest.mark.parametrize("name", SHIPPED)
def test_sheets_are_centred_on_the_page(name: str) -> None:
    # Avery sheets are symmetrical; a typo in a margin or pitch shows up as lopsided margins.
    stock = load_stock(name, STOCKS)
    last_x, last_y = label_positions(stock)[-1]
    right_margin = stock.page_width_mm - last_x - stock.label_width_mm
    bottom_margin = stock.page_height_mm - last_y - stock.label_height_mm
    assert right_margin == pytest.approx(stock.left_margin_mm, abs=0.05)
    assert bottom_margin == pytest.approx(stock.top_margin_mm, abs=0.05)


def test_a_new_stock_is_a_toml_file(tmp_path: Path) -> None:
    _write_stock(tmp_path, CUSTOM_STOCK)

    stock = load_stock("square-50", tmp_path)

    assert [s.name for s in list_stocks(tmp_path)] == ["square-50"]
    assert label_positions(stock) == [(8, 8), (62, 8), (8, 62), (62, 62)]
    out = io.BytesIO()
    assert render_labels(_labels(5), stock, out) == 5
    assert _pages(out.getvalue()) == [pytest.approx((120, 120))] * 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("horizontal_pitch_mm = 54", "horizontal_pitch_mm = 70"), "fall off the right of the page"),
        (("top_margin_mm = 8", "top_margin_mm = 20"), "fall off the bottom of the page"),
        (("vertical_pitch_mm = 54", "vertical_pitch_mm = 40"), "neighbouring labels overlap"),
        (("rows = 2\n", ""), "missing the field 'rows'"),
        (("rows = 2", "rows = 2\ncolums = 3"), "unknown field(s) colums"),
        (("rows = 2", 'rows = "two"'), "'rows' must be a whole number"),
        (("label_width_mm = 50", "label_width_mm = -50"), "'label_width_mm' must be a number of millimetres"),
        (("label_width_mm = 50", "label_width_mm = 0"), "'label_width_mm' is 0"),
        (("corner_radius_mm = 2", "corner_radius_mm = 30"), "corner_radius_mm (30) is more than half"),
        (('name = "square-50"', 'name = "square"'), "must match the file name"),
        (("columns = 2", "columns = "), "cannot be read"),
    ],
)
def test_a_bad_stock_file_says_what_to_fix(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in CUSTOM_STOCK
    path = _write_stock(tmp_path, CUSTOM_STOCK.replace(old, new))

    with pytest.raises(LabelStockError) as raised:
        load_stock("square-50", tmp_path)

    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_an_unknown_stock_lists_the_known_ones(tmp_path: Path) -> None:
    _write_stock(tmp_path, CUSTOM_STOCK)

    with pytest.raises(LabelStockError, match=r"no label stock called 'L9999'.*Known: square-50"):
        load_stock("L9999", tmp_path)


# QR encoding


def test_a_short_tag_is_the_smallest_qr_code() -> None:
    matrix = qr_matrix("TAB-0042")

    assert len(matrix) == 21 and all(len(row) == 21 for row in matrix)
    assert matrix[0][:7] == [True] * 7, "finder pattern in the top-left corner"


@pytest.mark.parametrize("alphabet", ["0123456789", "TAB-0042 ", "tablet-é"])
def test_the_version_is_the_smallest_that_holds_the_tag(alphabet: str) -> None:
    # qrcode's own search agrees with the capacity table, for each encoding mode.
    for length in range(1, 40):
        text = (alphabet * 40)[:length]
        reference = qrcode.QRCode(error_correction=ERROR_CORRECT_H)
        reference.add_data(QRData(text))
        version = reference.best_fit()
        if version <= 4:
            assert len(qr_matrix(text)) == 17 + 4 * version, text
        else:
            with pytest.raises(QrTextError, match="too long"):
                qr_matrix(text)


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_tag_is_refused(text: str) -> None:
    with pytest.raises(QrTextError, match="empty"):
        qr_matrix(text)


# Label PDFs


@pytest.mark.parametrize("name", SHIPPED)
def test_labels_fill_pages_of_the_stock(name: str) -> None:
    stock = load_stock(name, STOCKS)
    out = io.BytesIO()

    drawn = render_labels(_labels(30), stock, out, blank_tags=["TAB-9001", "TAB-9002"])

    assert drawn == 32
    page_size = pytest.approx((stock.page_width_mm, stock.page_height_mm))
    assert _pages(out.getvalue()) == [page_size] * math.ceil(32 / stock.labels_per_page)


def test_progress_is_reported_in_steps_and_at_the_end(tmp_path: Path) -> None:
    reports: list[tuple[int, int]] = []
    total = 3 * PROGRESS_EVERY + 7

    render_labels(
        _labels(total),
        load_stock("L7160", STOCKS),
        tmp_path / "labels.pdf",
        on_progress=lambda *r: reports.append(r),
    )

    steps = [(done, total) for done in range(0, total, PROGRESS_EVERY)]
    assert reports == [*steps, (total, total)]
    assert (tmp_path / "labels.pdf").read_bytes().startswith(b"%PDF-")


def test_cancelling_stops_the_run_and_writes_nothing(tmp_path: Path) -> None:
    answers = iter([False, False, True])
    out = tmp_path / "labels.pdf"

    with pytest.raises(LabelsCancelled, match=f"after {2 * PROGRESS_EVERY} of"):
        render_labels(
            _labels(5 * PROGRESS_EVERY), load_stock("L7160", STOCKS), out, is_cancelled=lambda: next(answers)
        )

    assert not out.exists()


def test_no_labels_is_an_error() -> None:
    with pytest.raises(ValueError, match="no labels"):
        render_labels([], load_stock("L7160", STOCKS), io.BytesIO())


def test_a_bad_tag_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "labels.pdf"

    with pytest.raises(QrTextError):
        render_labels([*_labels(3), Label("", "Tablet", "")], load_stock("L7160", STOCKS), out)

    assert not out.exists()


def test_the_same_labels_give_the_same_pdf() -> None:
    first, second = io.BytesIO(), io.BytesIO()
    render_labels(_labels(3), load_stock("L7163", STOCKS), first)
    render_labels(_labels(3), load_stock("L7163", STOCKS), second)

    assert first.getvalue() == second.getvalue()


@pytest.mark.parametrize("name", SHIPPED)
def test_the_calibration_page_is_one_page_of_the_stock(name: str) -> None:
    stock = load_stock(name, STOCKS)
    out = io.BytesIO()

    render_calibration_page(stock, out)

    assert out.getvalue().startswith(b"%PDF-")
    assert _pages(out.getvalue()) == [pytest.approx((stock.page_width_mm, stock.page_height_mm))]
