"""The labels dialog writes PDFs and prints in the background, cancels cleanly, and prints at true size."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceStatus, DeviceType
from digiknow_desk.labels.stock import LabelStock
from digiknow_desk.services.labels import LabelRequest
from digiknow_desk.ui.labels_dialog import LabelsDialog
from digiknow_desk.ui.tasks import TaskRunner

MM_PER_POINT = 25.4 / 72


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner(workers=1)  # one worker, so a test can hold it and queue a job behind
    yield runner
    runner.shutdown()


def page_sizes_mm(path: Path) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(str(path))
    try:
        return [
            (round(width * MM_PER_POINT, 1), round(height * MM_PER_POINT, 1))
            for width, height in (document[index].get_size() for index in range(len(document)))
        ]
    finally:
        document.close()


def grey_rows(path: Path) -> list[bytes]:
    """The first page in grey, 144 dpi, one bytes object per pixel row."""
    document = pdfium.PdfDocument(str(path))
    try:
        bitmap = document[0].render(scale=2, grayscale=True)
        buffer = bytes(bitmap.buffer)
        stride, width = bitmap.stride, bitmap.width
        return [buffer[row * stride : row * stride + width] for row in range(bitmap.height)]
    finally:
        document.close()


def grey_difference(first: Path, second: Path) -> float:
    """How different the first pages look, from 0 (the same) to 1 (black against white), compared over
    the area they share (whole-point page sizes can differ by a pixel)."""
    one, other = grey_rows(first), grey_rows(second)
    height, width = min(len(one), len(other)), min(len(one[0]), len(other[0]))
    total = sum(
        abs(a - b) for row in range(height) for a, b in zip(one[row][:width], other[row][:width], strict=True)
    )
    return total / (255 * width * height)


def hold_the_worker(tasks: TaskRunner) -> threading.Event:
    """Keep the runner's only worker busy until the returned event is set."""
    release = threading.Event()
    tasks.start(lambda _progress: release.wait(10), lambda _result: None, lambda _error: None)
    return release


def add_tablets(services: Services, count: int) -> list[str]:
    tags = [f"TAB-{number:04d}" for number in range(1, count + 1)]
    for tag in tags:
        services.inventory.add(DeviceDraft(tag=tag, device_type=DeviceType.TABLET, make="Lenovo"))
    return tags


def test_the_summary_counts_labels_and_sheets(services: Services, tasks: TaskRunner, qtbot: QtBot) -> None:
    add_tablets(services, 30)
    services.inventory.change_status("TAB-0001", DeviceStatus.RETIRED, "Beyond repair")
    dialog = LabelsDialog(services, tasks, ["TAB-0002", "TAB-0003"], stock_name="L7160")
    qtbot.addWidget(dialog)
    assert dialog.summary == "To print: 2 device labels, on 1 sheet of 21."

    dialog.set_values(which=LabelsDialog.EVERY_DEVICE, blank=5)
    assert dialog.summary == "To print: 29 device labels and 5 blank labels, on 2 sheets of 21."

    dialog.set_values(which=LabelsDialog.WITH_STATUS, status=DeviceStatus.RETIRED, blank=0)
    assert dialog.summary == "To print: 1 device label, on 1 sheet of 21."


def test_without_a_selection_every_device_is_the_choice(
    services: Services, tasks: TaskRunner, qtbot: QtBot
) -> None:
    add_tablets(services, 3)
    dialog = LabelsDialog(services, tasks, [], stock_name="L7160")
    qtbot.addWidget(dialog)

    assert dialog.summary == "To print: 3 device labels, on 1 sheet of 21."


def test_save_as_pdf_writes_the_labels_in_the_background(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    tags = add_tablets(services, 25)
    asked: list[str] = []

    def save_path(_parent: QWidget, caption: str, suggested: str, _filter: str) -> str:
        asked.append(caption)
        return str(tmp_path / "labels.pdf")

    dialog = LabelsDialog(services, tasks, tags, stock_name="L7160", save_path=save_path)
    qtbot.addWidget(dialog)

    with qtbot.waitSignal(dialog.job_finished, timeout=10_000) as finished:
        dialog.choose_pdf_path()
        assert dialog.busy  # the work runs off the GUI thread

    assert asked == ["Save the labels as a PDF"]
    assert finished.args == [f"Saved 25 labels to {tmp_path / 'labels.pdf'}."]
    assert dialog.message == finished.args[0]
    assert page_sizes_mm(tmp_path / "labels.pdf") == [(210.0, 297.0), (210.0, 297.0)]
    assert not dialog.busy


def test_blank_labels_only_reserve_new_tags(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    add_tablets(services, 2)
    dialog = LabelsDialog(services, tasks, [], stock_name="L7163")
    qtbot.addWidget(dialog)
    dialog.set_values(which=LabelsDialog.BLANK_ONLY)

    with qtbot.waitSignal(dialog.job_failed, timeout=2000) as refused:
        dialog.save_pdf(tmp_path / "none.pdf")
    assert refused.args == ["Choose how many blank labels to print."]

    dialog.set_values(blank=3)
    with qtbot.waitSignal(dialog.job_finished, timeout=10_000):
        dialog.save_pdf(tmp_path / "blank")

    assert (tmp_path / "blank.pdf").is_file()  # the .pdf is added when staff leave it off
    assert dialog.message.startswith("Saved 3 labels")
    assert services.inventory.reserve_blank_tags(1) == ["DK-00004"]


def test_cancel_leaves_no_file(services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path) -> None:
    tags = add_tablets(services, 30)
    dialog = LabelsDialog(services, tasks, tags, stock_name="L7160")
    qtbot.addWidget(dialog)
    release = hold_the_worker(tasks)  # so the label job is queued, cancelled, and only then run

    out = tmp_path / "out"
    out.mkdir()

    with qtbot.waitSignal(dialog.job_failed, timeout=10_000) as failed:
        dialog.save_pdf(out / "labels.pdf")
        dialog.cancel_job()
        release.set()

    assert failed.args == ["Printing labels was cancelled after 0 of 30. No PDF was saved."]
    assert list(out.iterdir()) == []  # not even a temporary file
    assert not dialog.busy


def test_closing_while_busy_cancels_and_closes_when_the_job_stops(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    tags = add_tablets(services, 5)
    dialog = LabelsDialog(services, tasks, tags, stock_name="L7160")
    qtbot.addWidget(dialog)
    dialog.show()
    release = hold_the_worker(tasks)
    out = tmp_path / "out"
    out.mkdir()
    dialog.save_pdf(out / "labels.pdf")

    dialog.reject()
    assert dialog.isVisible()  # waits for the job rather than abandoning it
    release.set()

    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10_000)
    assert list(out.iterdir()) == []


def test_printing_sends_each_page_at_the_stocks_true_size(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    tags = add_tablets(services, 3)
    printed = tmp_path / "printed.pdf"
    stocks: list[LabelStock] = []

    def pick_printer(_parent: QWidget, stock: LabelStock) -> QPrinter:
        stocks.append(stock)
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        printer.setResolution(300)  # enough to compare; in use, the printer's own (up to 600 dpi)
        return printer

    dialog = LabelsDialog(services, tasks, tags, stock_name="roll-62mm", printer=pick_printer)
    qtbot.addWidget(dialog)

    with qtbot.waitSignal(dialog.job_finished, timeout=20_000) as finished:
        dialog.choose_printer()

    assert [stock.name for stock in stocks] == ["roll-62mm"]
    assert finished.args[0].startswith("Sent 3 labels on 3 pages to ")
    # One label per page, not scaled to A4 (Qt sizes pages in whole points: within 0.2 mm).
    sizes = page_sizes_mm(printed)
    assert len(sizes) == 3
    assert all(abs(width - 62) < 0.2 and abs(height - 29) < 0.2 for width, height in sizes)
    # Drawn 1:1 at full-page size: the printed page looks like the label PDF itself, not shifted or shrunk.
    original = tmp_path / "original.pdf"
    services.labels.write_pdf(LabelRequest(stock_name="roll-62mm", tags=(tags[0],)), original)
    assert grey_difference(printed, original) < 0.06  # about 0.02 from rasterising; 1 mm off is 0.17
    blank = tmp_path / "blank.pdf"
    services.labels.write_calibration_page("roll-62mm", blank)
    assert grey_difference(printed, blank) > 0.1  # the measure does tell different pages apart


def test_calibration_page_is_saved_for_the_chosen_stock(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = LabelsDialog(
        services,
        tasks,
        [],
        stock_name="L7163",
        save_path=lambda _parent, _caption, _suggested, _filter: str(tmp_path / "calibration.pdf"),
    )
    qtbot.addWidget(dialog)

    with qtbot.waitSignal(dialog.job_finished, timeout=10_000) as finished:
        dialog.choose_calibration_path()

    assert "calibration page" in finished.args[0]
    assert page_sizes_mm(tmp_path / "calibration.pdf") == [(210.0, 297.0)]


def test_a_refusal_from_the_service_is_shown_in_words(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = LabelsDialog(services, tasks, [], stock_name="L7160")
    qtbot.addWidget(dialog)
    dialog.set_values(which=LabelsDialog.WITH_STATUS, status=DeviceStatus.IN_REPAIR, blank=0)

    with qtbot.waitSignal(dialog.job_failed, timeout=2000) as failed:
        dialog.save_pdf(tmp_path / "missing-folder" / "labels.pdf")

    assert failed.args == [dialog.message]
    assert dialog.message == "No devices match, so there are no labels to print."
    assert not (tmp_path / "missing-folder").exists()
