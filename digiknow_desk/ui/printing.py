"""Printing the PDFs the app makes: each page at its own size, never scaled, or saved as a PDF instead."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QObject, QRectF, QSizeF, Signal
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QAbstractPrintDialog, QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from digiknow_desk.domain.errors import DomainError
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress

# Rendering finer than this gains nothing on labels or letters and costs hundreds of megabytes per A4 page.
MAX_PRINT_DPI = 600
POINTS_PER_INCH = 72
# Qt keeps standard sizes in whole points (A4 is 595 x 842); reportlab's A4 is 595.28 x 841.89.
SAME_SIZE_POINTS = 1.0

SavePathAsker = Callable[[QWidget, str, str, str], str]
"""(parent, caption, suggested path, file filter) -> the chosen path, or '' when cancelled."""
DocumentPrinterAsker = Callable[[QWidget, str], "QPrinter | None"]
"""(parent, what is printed) -> a printer set up by `printer_for_documents`, or None when cancelled."""


class PrintChoice(Enum):
    """What staff want done with a document."""

    PRINT = "print"
    SAVE_PDF = "save_pdf"


ChoiceAsker = Callable[[QWidget, str], "PrintChoice | None"]
"""(parent, what is printed) -> print it, save it as a PDF, or None when cancelled."""


def ask_save_path(parent: QWidget, caption: str, suggested: str, file_filter: str) -> str:
    path, _chosen_filter = QFileDialog.getSaveFileName(parent, caption, suggested, file_filter)
    return path


def full_page_layout(width: float, height: float) -> QPageLayout:
    """A page of exactly `width` x `height` points, no margins, drawn from the paper's corner."""
    landscape = width > height
    size = QPageSize(
        QSizeF(height, width) if landscape else QSizeF(width, height),
        QPageSize.Unit.Point,
        "",
        QPageSize.SizeMatchPolicy.FuzzyMatch,  # A4 within a point is A4, so the printer picks its A4 tray
    )
    orientation = QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
    layout = QPageLayout(size, orientation, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Point)
    layout.setMode(QPageLayout.Mode.FullPageMode)
    return layout


def use_page_size(printer: QPrinter, width: float, height: float) -> None:
    """Make the printer's next page `width` x `height` points, full page, unless it is already."""
    layout = printer.pageLayout()
    now = layout.fullRect(QPageLayout.Unit.Point)
    if (
        layout.mode() == QPageLayout.Mode.FullPageMode
        and abs(now.width() - width) <= SAME_SIZE_POINTS
        and abs(now.height() - height) <= SAME_SIZE_POINTS
    ):
        return  # keeps the size's name, e.g. a label stock's
    printer.setPageLayout(full_page_layout(width, height))


def print_pdf(
    pdf_path: Path,
    printer: QPrinter,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> int:
    """Print each page of the PDF at 1:1 on a printer page of the same size; how many pages.

    Runs on a worker thread: Qt allows painting on a QPrinter and QImages outside the GUI thread.
    """
    import pypdfium2 as pdfium  # only when printing: it adds to every start-up otherwise

    document = pdfium.PdfDocument(str(pdf_path))
    painter = QPainter()
    try:
        pages = len(document)
        dpi = min(printer.resolution(), MAX_PRINT_DPI)
        pixels_per_point = printer.resolution() / POINTS_PER_INCH
        for number in range(pages):
            if is_cancelled is not None and is_cancelled():
                raise DomainError(f"Printing was cancelled after {number} of {pages} pages.")
            page = document[number]
            width, height = page.get_size()
            use_page_size(printer, width, height)  # before the page starts, as Qt asks
            if number:
                printer.newPage()
            elif not painter.begin(printer):
                raise DomainError("The printer could not start printing. Check it is on and try again.")
            bitmap = page.render(scale=dpi / POINTS_PER_INCH, rev_byteorder=True)
            image = QImage(
                bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride, QImage.Format.Format_RGB888
            ).copy()  # copy: the bitmap's memory is freed with the page
            bitmap.close()
            page.close()
            # From the paper's corner at the page's own size: not scaled, even if the printer kept its paper.
            painter.drawImage(QRectF(0, 0, width * pixels_per_point, height * pixels_per_point), image)
            if on_progress is not None:
                on_progress(number + 1, pages)
        return pages
    except BaseException:
        if painter.isActive():
            printer.abort()  # never send the pages drawn so far as a half-finished job
        raise
    finally:
        if painter.isActive():
            painter.end()
        document.close()


def printer_for_documents(title: str, printer: QPrinter | None = None) -> QPrinter:
    """A printer set up for an A4 document, full page with no margins; `print_pdf` then gives each page
    the size it has in the PDF (the due-date slip is A5, the resident card is card-sized)."""
    printer = printer or QPrinter(QPrinter.PrinterMode.HighResolution)
    a4 = QPageSize(QPageSize.PageSizeId.A4).size(QPageSize.Unit.Point)
    printer.setPageLayout(full_page_layout(a4.width(), a4.height()))
    printer.setDocName(title[:1].upper() + title[1:])
    return printer


def ask_document_printer(parent: QWidget, title: str) -> QPrinter | None:
    """Let staff pick the printer and the copies; the pages keep the document's sizes."""
    printer = printer_for_documents(title)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle(f"Print {title}")
    dialog.setOption(QAbstractPrintDialog.PrintDialogOption.PrintPageRange, False)  # always the whole of it
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return printer


def ask_print_or_save(parent: QWidget, title: str) -> PrintChoice | None:
    """Print (the default, Enter) or save as a PDF; None when staff cancel."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Print",
        f"Print {title}, or save it as a PDF?",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    print_button = box.addButton("&Print…", QMessageBox.ButtonRole.AcceptRole)
    print_button.setAccessibleName("Print")
    save_button = box.addButton("Save as P&DF…", QMessageBox.ButtonRole.ActionRole)
    save_button.setAccessibleName("Save as a PDF")
    box.button(QMessageBox.StandardButton.Cancel).setAccessibleName("Cancel")
    box.setDefaultButton(print_button)
    box.exec()
    clicked = box.clickedButton()
    if clicked is print_button:
        return PrintChoice.PRINT
    if clicked is save_button:
        return PrintChoice.SAVE_PDF
    return None


@dataclass(frozen=True)
class Printable:
    """A document the app makes as a PDF."""

    title: str  # how messages name it: "the wipe certificate for TAB-0042"
    file_name: str  # suggested when saving: "wipe-certificate-TAB-0042.pdf"
    write: Callable[[Path], None]  # saves it to a path; runs on a worker thread


class DocumentPrinting(QObject):
    """Print a document or save it as a PDF, as staff choose; the work runs in the background behind a
    progress dialog, and `finished` or `failed` says how it went."""

    finished = Signal(str)  # what was done, in words
    failed = Signal(str)  # why it was not done, in words

    def __init__(
        self,
        tasks: TaskRunner,
        parent: QObject | None = None,
        *,
        choose: ChoiceAsker = ask_print_or_save,
        printer: DocumentPrinterAsker = ask_document_printer,
        save_path: SavePathAsker = ask_save_path,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._choose = choose
        self._ask_printer = printer
        self._ask_save_path = save_path

    def offer(self, parent: QWidget, document: Printable) -> Task | None:
        """Ask whether to print or save, then the printer or the file; None when staff cancel."""
        choice = self._choose(parent, document.title)
        if choice is PrintChoice.PRINT:
            printer = self._ask_printer(parent, document.title)
            return self.print_document(parent, document, printer) if printer is not None else None
        if choice is PrintChoice.SAVE_PDF:
            suggested = str(Path.home() / document.file_name)
            caption = f"Save {document.title} as a PDF"
            path = self._ask_save_path(parent, caption, suggested, "PDF files (*.pdf)")
            return self.save_document(parent, document, Path(path)) if path else None
        return None

    def print_document(self, parent: QWidget, document: Printable, printer: QPrinter) -> Task:
        """Make the PDF in a temporary folder, print it page by page, then delete it."""

        def work(progress: Progress) -> int:
            with tempfile.TemporaryDirectory(prefix="digiknow-print-") as folder:
                pdf = Path(folder) / document.file_name
                document.write(pdf)
                return print_pdf(pdf, printer, on_progress=progress, is_cancelled=progress.cancelled)

        def done(pages: int) -> str:
            where = printer.printerName() or "the printer"
            return f"Sent {document.title} to {where} ({pages} page{'s' if pages != 1 else ''})."

        return self._start(parent, f"Printing {document.title}…", work, done)

    def save_document(self, parent: QWidget, document: Printable, out: Path) -> Task:
        out = out if out.suffix.lower() == ".pdf" else out.with_name(out.name + ".pdf")

        def work(_progress: Progress) -> None:
            document.write(out)

        return self._start(
            parent, f"Saving {document.title}…", work, lambda _result: f"Saved {document.title} to {out}."
        )

    def _start(
        self,
        parent: QWidget,
        text: str,
        work: Callable[[Progress], Any],
        describe: Callable[[Any], str],
    ) -> Task:
        def succeeded(result: Any) -> None:
            self.finished.emit(describe(result))

        def failed(error: Exception) -> None:
            self.failed.emit(problem_words(error))

        return run_with_progress(self._tasks, parent, text, work, succeeded, failed)
