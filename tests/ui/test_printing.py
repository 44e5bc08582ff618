"""Printing the desk's documents: each page at its own size and unscaled, in the background, with no
temporary file left behind; or saved as a PDF where staff choose. No dialog opens: the questions are
injected."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PySide6.QtGui import QPageSize
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceDraft, DeviceType
from digiknow_desk.domain.residents import ResidentDraft
from digiknow_desk.ui.printing import (
    DocumentPrinting,
    Printable,
    PrintChoice,
    print_pdf,
    printer_for_documents,
)
from digiknow_desk.ui.tasks import TaskRunner

MM_PER_POINT = 25.4 / 72
A4_MM, A5_MM, CARD_MM = (210, 297), (148, 210), (85.6, 54)


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def agreement(services: Services, tmp_path: Path) -> Printable:
    """The agreement (A4) and due-date slip (A5) of a loan of TAB-0042 to R-00001 Maureen Clarke."""
    services.inventory.add(DeviceDraft(tag="TAB-0042", device_type=DeviceType.TABLET, kit=("Charger",)))
    services.residents.add(ResidentDraft(name="Maureen Clarke", phone="0161 474 4444"))
    services.lending.issue("TAB-0042", "R-00001", accepted=True)
    return Printable(
        "the loan agreement for TAB-0042",
        "loan-agreement-TAB-0042.pdf",
        lambda out: services.documents.loan_agreement("TAB-0042", out),
    )


def pdf_printer(out: Path, title: str = "a test page") -> QPrinter:
    """What staff get from the print dialog, but writing to a PDF file (at 150 dpi: quick to compare)."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(out))
    printer.setResolution(150)
    return printer_for_documents(title, printer)


def page_sizes_mm(path: Path) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(str(path))
    try:
        return [
            (round(width * MM_PER_POINT, 1), round(height * MM_PER_POINT, 1))
            for width, height in (document[index].get_size() for index in range(len(document)))
        ]
    finally:
        document.close()


def sizes_are(sizes: list[tuple[float, float]], expected: list[tuple[float, float]]) -> bool:
    """Qt writes pages in whole points: each within half a millimetre."""
    return len(sizes) == len(expected) and all(
        abs(width - want_width) < 0.5 and abs(height - want_height) < 0.5
        for (width, height), (want_width, want_height) in zip(sizes, expected, strict=True)
    )


def page_text(path: Path, page: int = 0) -> str:
    document = pdfium.PdfDocument(str(path))
    try:
        return str(document[page].get_textpage().get_text_range())
    finally:
        document.close()


def grey_rows(path: Path, page: int) -> list[bytes]:
    """One page in grey, 144 dpi, one bytes object per pixel row."""
    document = pdfium.PdfDocument(str(path))
    try:
        bitmap = document[page].render(scale=2, grayscale=True)
        buffer = bytes(bitmap.buffer)
        stride, width = bitmap.stride, bitmap.width
        return [buffer[row * stride : row * stride + width] for row in range(bitmap.height)]
    finally:
        document.close()


def grey_difference(first: Path, second: Path, page: int = 0) -> float:
    """How different a page looks in two PDFs, from 0 (the same) to 1 (black against white)."""
    one, other = grey_rows(first, page), grey_rows(second, page)
    height, width = min(len(one), len(other)), min(len(one[0]), len(other[0]))
    total = sum(
        abs(a - b) for row in range(height) for a, b in zip(one[row][:width], other[row][:width], strict=True)
    )
    return total / (255 * width * height)


@pytest.mark.usefixtures("qapp")
def test_each_page_prints_at_its_own_size_without_scaling(
    services: Services, agreement: Printable, tmp_path: Path
) -> None:
    original = tmp_path / "agreement.pdf"
    agreement.write(original)
    printed = tmp_path / "printed.pdf"
    printer = pdf_printer(printed)
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.Letter))  # as if staff picked Letter in the dialog
    progress: list[tuple[int, int]] = []

    assert print_pdf(original, printer, on_progress=lambda done, total: progress.append((done, total))) == 2

    assert progress == [(1, 2), (2, 2)]
    assert sizes_are(page_sizes_mm(printed), [A4_MM, A5_MM])  # the slip stays A5: not blown up to A4
    # Drawn 1:1 from the paper's corner, it looks like the agreement itself: rasterising makes a difference
    # of about 0.02; the same page 1 mm off makes 0.05.
    for page in (0, 1):
        assert grey_difference(printed, original, page) < 0.035
    services.documents.resident_card("R-00001", tmp_path / "card.pdf")
    assert grey_difference(printed, tmp_path / "card.pdf") > 0.05  # the measure tells pages apart


@pytest.mark.usefixtures("qapp")
def test_a_landscape_page_prints_landscape(services: Services, agreement: Printable, tmp_path: Path) -> None:
    card = tmp_path / "card.pdf"
    services.documents.resident_card("R-00001", card)
    printed = tmp_path / "printed.pdf"

    print_pdf(card, pdf_printer(printed))

    assert sizes_are(page_sizes_mm(printed), [CARD_MM])
    assert grey_difference(printed, card) < 0.035


def test_print_runs_in_the_background_and_leaves_no_temporary_file(
    agreement: Printable, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "temporary"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    printed = tmp_path / "printed.pdf"
    asked: list[str] = []

    def choose(_parent: QWidget, title: str) -> PrintChoice:
        asked.append(title)
        return PrintChoice.PRINT

    def printer(_parent: QWidget, title: str) -> QPrinter:
        asked.append(f"printer for {title}")
        return pdf_printer(printed, title)

    printing = DocumentPrinting(tasks, choose=choose, printer=printer, save_path=lambda *_: pytest.fail())
    parent = QWidget()
    qtbot.addWidget(parent)

    with qtbot.waitSignal(printing.finished, timeout=20_000) as finished:
        assert printing.offer(parent, agreement) is not None

    assert asked == ["the loan agreement for TAB-0042", "printer for the loan agreement for TAB-0042"]
    assert finished.args == ["Sent the loan agreement for TAB-0042 to the printer (2 pages)."]
    assert sizes_are(page_sizes_mm(printed), [A4_MM, A5_MM])
    assert list(temporary.iterdir()) == []


def test_save_as_pdf_writes_where_staff_choose(
    agreement: Printable, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    asked: list[tuple[str, str]] = []

    def save_path(_parent: QWidget, caption: str, suggested: str, _filter: str) -> str:
        asked.append((caption, Path(suggested).name))
        return str(tmp_path / "agreement")  # staff left off the .pdf

    printing = DocumentPrinting(
        tasks,
        choose=lambda _parent, _title: PrintChoice.SAVE_PDF,
        printer=lambda *_: pytest.fail("nothing is printed"),
        save_path=save_path,
    )
    parent = QWidget()
    qtbot.addWidget(parent)

    with qtbot.waitSignal(printing.finished, timeout=10_000) as finished:
        printing.offer(parent, agreement)

    saved = tmp_path / "agreement.pdf"
    assert asked == [("Save the loan agreement for TAB-0042 as a PDF", "loan-agreement-TAB-0042.pdf")]
    assert finished.args == [f"Saved the loan agreement for TAB-0042 to {saved}."]
    assert sizes_are(page_sizes_mm(saved), [A4_MM, A5_MM])
    text = page_text(saved)
    assert "R-00001" in text and "Maureen Clarke" in text and "TAB-0042" in text


def test_cancelling_a_question_does_nothing(agreement: Printable, tasks: TaskRunner, qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    cancelled = DocumentPrinting(
        tasks, choose=lambda *_: None, printer=lambda *_: pytest.fail(), save_path=lambda *_: pytest.fail()
    )
    no_printer = DocumentPrinting(tasks, choose=lambda *_: PrintChoice.PRINT, printer=lambda *_: None)
    no_file = DocumentPrinting(tasks, choose=lambda *_: PrintChoice.SAVE_PDF, save_path=lambda *_: "")

    for printing in (cancelled, no_printer, no_file):
        assert printing.offer(parent, agreement) is None


def test_a_refusal_is_said_in_words_and_nothing_is_printed(
    services: Services, tasks: TaskRunner, qtbot: QtBot, tmp_path: Path
) -> None:
    printed = tmp_path / "printed.pdf"
    printing = DocumentPrinting(
        tasks, choose=lambda *_: PrintChoice.PRINT, printer=lambda _parent, title: pdf_printer(printed, title)
    )
    parent = QWidget()
    qtbot.addWidget(parent)
    not_on_loan = Printable(
        "the loan agreement for TAB-0001",
        "loan-agreement-TAB-0001.pdf",
        lambda out: services.documents.loan_agreement("TAB-0001", out),
    )

    with qtbot.waitSignal(printing.failed, timeout=10_000) as failed:
        printing.offer(parent, not_on_loan)

    assert failed.args[0].startswith("TAB-0001 is not on loan, so it has no agreement to print.")
    assert not printed.exists()


@pytest.mark.usefixtures("qapp")
def test_a_print_that_fails_partway_is_abandoned_not_sent_half_done(
    agreement: Printable, tmp_path: Path
) -> None:
    original = tmp_path / "agreement.pdf"
    agreement.write(original)

    class Spooler(QPrinter):
        """A printer that notes whether the job was abandoned (Qt's own PDF output cannot abandon one)."""

        aborted = False

        def abort(self) -> bool:
            self.aborted = True
            return True

    printer = Spooler(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    printer.setResolution(72)

    def fail_after_the_first_page(done: int, _total: int) -> None:
        if done == 1:
            raise OSError("the printer went offline")

    with pytest.raises(OSError, match="offline"):
        print_pdf(original, printer, on_progress=fail_after_the_first_page)
    assert printer.aborted
    printed = Spooler(QPrinter.PrinterMode.HighResolution)
    printed.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printed.setOutputFileName(str(tmp_path / "whole.pdf"))
    printed.setResolution(72)
    assert print_pdf(original, printed) == 2
    assert not printed.aborted  # a job that goes well is never abandoned
