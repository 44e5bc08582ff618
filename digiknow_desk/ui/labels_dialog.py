"""Print asset-tag labels: choose the stock and the devices, then save a PDF or print it at true size."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QSizeF, Qt, Signal
from PySide6.QtGui import QPageLayout, QPageSize
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceFilter, DeviceStatus
from digiknow_desk.labels.stock import LabelStock
from digiknow_desk.services.labels import LabelRequest
from digiknow_desk.ui.device_dialog import chosen
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.printing import SavePathAsker, ask_save_path, print_pdf
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress

MAX_BLANK = 5000

PrinterAsker = Callable[[QWidget, LabelStock], "QPrinter | None"]
"""(parent, stock) -> a printer set up for the stock, or None when cancelled."""


def printer_for_stock(stock: LabelStock, printer: QPrinter | None = None) -> QPrinter:
    """A printer whose page is exactly the stock's page, with no margins, so labels print at true size."""
    printer = printer or QPrinter(QPrinter.PrinterMode.HighResolution)
    size = QPageSize(
        QSizeF(stock.page_width_mm, stock.page_height_mm),
        QPageSize.Unit.Millimeter,
        stock.title,
        QPageSize.SizeMatchPolicy.FuzzyMatch,
    )
    layout = QPageLayout(
        size, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter
    )
    layout.setMode(QPageLayout.Mode.FullPageMode)
    printer.setFullPage(True)
    printer.setPageLayout(layout)
    printer.setDocName(f"Asset labels – {stock.name}")
    return printer


def ask_printer(parent: QWidget, stock: LabelStock) -> QPrinter | None:
    """Let staff pick the printer; the page stays the stock's size so nothing is scaled."""
    printer = printer_for_stock(stock)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print labels")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return printer_for_stock(stock, printer)  # the dialog may have changed the paper; labels need theirs


@dataclass(frozen=True)
class _Choice:
    """What the dialog is set to print."""

    stock: LabelStock
    request: LabelRequest


class LabelsDialog(QDialog):
    """Choose label stock and devices; save the labels as a PDF, print them, or print a calibration page."""

    job_finished = Signal(str)  # what was done, in words
    job_failed = Signal(str)  # why it was not done, in words

    SELECTED, WITH_STATUS, EVERY_DEVICE, BLANK_ONLY = range(4)

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        selected_tags: list[str] | tuple[str, ...] = (),
        parent: QWidget | None = None,
        *,
        stock_name: str | None = None,
        save_path: SavePathAsker = ask_save_path,
        printer: PrinterAsker = ask_printer,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._selected = tuple(selected_tags)
        self._ask_save_path = save_path
        self._ask_printer = printer
        self._task: Task | None = None
        self._close_when_done = False
        self.setWindowTitle("Print labels")

        self._stock = QComboBox()
        self._stock.setAccessibleName("Label stock")
        for stock in services.labels.stocks():
            self._stock.addItem(stock.title, stock)
        if stock_name is not None:
            self._stock.setCurrentIndex(max(0, self._find_stock(stock_name)))

        self._which = QButtonGroup(self)
        count = len(self._selected)
        self._selected_choice = QRadioButton(
            f"The &selected device{'s' if count != 1 else ''} ({count})"
            if count
            else "The &selected devices (none selected)"
        )
        self._selected_choice.setAccessibleName(f"The selected devices ({count})")
        self._selected_choice.setEnabled(bool(count))
        self._status_choice = QRadioButton("Devices with the stat&us:")
        self._status_choice.setAccessibleName("Devices with a status")
        self._status = QComboBox()
        self._status.setAccessibleName("Status of the devices to label")
        for status in DeviceStatus:
            self._status.addItem(status.label, status)
        self._every_choice = QRadioButton("&Every device that is not retired")
        self._every_choice.setAccessibleName("Every device that is not retired")
        self._blank_only_choice = QRadioButton("&Only blank labels")
        self._blank_only_choice.setAccessibleName("Only blank labels")
        for choice_id, button in enumerate(
            (self._selected_choice, self._status_choice, self._every_choice, self._blank_only_choice)
        ):
            self._which.addButton(button, choice_id)
        (self._selected_choice if count else self._every_choice).setChecked(True)

        self._blank = QSpinBox()
        self._blank.setRange(0, MAX_BLANK)
        self._blank.setAccessibleName("Blank labels with new tags")
        self._blank.setToolTip(
            "Labels with new tags (DK-00001, DK-00002, …) not yet on any device; "
            "stick one on a device and scan it to add the device."
        )
        self._summary = QLabel()
        self._summary.setWordWrap(True)
        self._summary.setAccessibleName("Labels to print")
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setTextFormat(Qt.TextFormat.PlainText)
        self._message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._message.setAccessibleName("Result")

        self._save_pdf = QPushButton("Save as &PDF…")
        self._save_pdf.setAccessibleName("Save the labels as a PDF")
        self._save_pdf.clicked.connect(self.choose_pdf_path)
        self._print = QPushButton("P&rint…")
        self._print.setAccessibleName("Print the labels")
        self._print.clicked.connect(self.choose_printer)
        self._calibration = QPushButton("&Calibration page…")
        self._calibration.setAccessibleName("Save a calibration page")
        self._calibration.setToolTip(
            "A PDF of every label's outline on this stock: print it on plain paper and hold it "
            "against a label sheet to check the printer lines up."
        )
        self._calibration.clicked.connect(self.choose_calibration_path)
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self._buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        self._buttons.addButton(self._save_pdf, QDialogButtonBox.ButtonRole.ActionRole)
        self._buttons.addButton(self._print, QDialogButtonBox.ButtonRole.ActionRole)
        self._buttons.addButton(self._calibration, QDialogButtonBox.ButtonRole.ActionRole)
        self._buttons.rejected.connect(self.reject)
        for box_button in self._buttons.buttons():
            if isinstance(box_button, QPushButton):
                box_button.setAutoDefault(False)
        self._save_pdf.setDefault(True)  # Enter saves the PDF; Escape closes

        stock_label = QLabel("Label s&tock:")
        stock_label.setBuddy(self._stock)
        blank_label = QLabel("&Blank labels (new tags):")
        blank_label.setBuddy(self._blank)
        which_box = QGroupBox("Labels for")
        which_layout = QVBoxLayout(which_box)
        which_layout.addWidget(self._selected_choice)
        status_row = QHBoxLayout()
        status_row.addWidget(self._status_choice)
        status_row.addWidget(self._status, 1)
        which_layout.addLayout(status_row)
        which_layout.addWidget(self._every_choice)
        which_layout.addWidget(self._blank_only_choice)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(stock_label, self._stock)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(which_box)
        blank_form = QFormLayout()
        blank_form.addRow(blank_label, self._blank)
        layout.addLayout(blank_form)
        layout.addWidget(self._summary)
        layout.addWidget(self._message)
        layout.addStretch()
        layout.addWidget(self._buttons)

        self._stock.currentIndexChanged.connect(self._update_summary)
        self._which.idToggled.connect(lambda _id, _on: self._update_summary())
        self._status.currentIndexChanged.connect(self._status_picked)
        self._blank.valueChanged.connect(self._update_summary)
        self._update_summary()
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 72)

    @classmethod
    def ask(
        cls,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        selected_tags: list[str] | tuple[str, ...] = (),
        *,
        stock_name: str | None = None,
    ) -> None:
        """Run the dialog until staff close it (labels are saved or printed from inside it)."""
        dialog = cls(services, tasks, selected_tags, parent, stock_name=stock_name)
        dialog.exec()

    # What the buttons do (tests call these with the paths and printers they choose)

    @property
    def busy(self) -> bool:
        return self._task is not None

    @property
    def message(self) -> str:
        return self._message.text()

    @property
    def summary(self) -> str:
        return self._summary.text()

    def set_values(
        self,
        *,
        which: int | None = None,
        status: DeviceStatus | None = None,
        blank: int | None = None,
        stock_name: str | None = None,
    ) -> None:
        """Set the choices as staff would (tests use this)."""
        if stock_name is not None:
            self._stock.setCurrentIndex(self._find_stock(stock_name))
        if status is not None:
            self._status.setCurrentIndex(self._status.findData(status))
        if which is not None:
            self._which.button(which).setChecked(True)
        if blank is not None:
            self._blank.setValue(blank)

    def choose_pdf_path(self) -> None:
        choice = self._choice()
        if choice is None:
            return
        suggested = str(Path.home() / f"labels-{choice.stock.name}.pdf")
        path = self._ask_save_path(self, "Save the labels as a PDF", suggested, "PDF files (*.pdf)")
        if path:
            self.save_pdf(Path(path))

    def save_pdf(self, out: Path) -> Task | None:
        """Write the labels to `out` in the background; `job_finished` or `job_failed` says how it went."""
        choice = self._choice()
        if choice is None:
            return None
        out = out if out.suffix.lower() == ".pdf" else out.with_name(out.name + ".pdf")
        labels = self._services.labels

        def work(progress: Progress) -> int:
            request = choice.request
            return labels.write_pdf(request, out, on_progress=progress, is_cancelled=progress.cancelled)

        return self._start(
            "Making the label PDF…",
            work,
            lambda count: f"Saved {count} label{'s' if count != 1 else ''} to {out}.",
        )

    def choose_printer(self) -> None:
        choice = self._choice()
        if choice is None:
            return
        printer = self._ask_printer(self, choice.stock)
        if printer is not None:
            self.print_labels(printer)

    def print_labels(self, printer: QPrinter) -> Task | None:
        """Make the labels' PDF in the background, then print it page by page at true size."""
        choice = self._choice()
        if choice is None:
            return None
        printer_for_stock(choice.stock, printer)
        labels = self._services.labels

        def work(progress: Progress) -> tuple[int, int]:
            request = choice.request
            with tempfile.TemporaryDirectory(prefix="digiknow-labels-") as folder:
                pdf = Path(folder) / "labels.pdf"
                count = labels.write_pdf(request, pdf, on_progress=progress, is_cancelled=progress.cancelled)
                pages = print_pdf(pdf, printer, on_progress=progress, is_cancelled=progress.cancelled)
            return count, pages

        def done(result: tuple[int, int]) -> str:
            count, pages = result
            return (
                f"Sent {count} label{'s' if count != 1 else ''} on {pages} "
                f"page{'s' if pages != 1 else ''} to {printer.printerName() or 'the printer'}."
            )

        return self._start("Printing the labels…", work, done)

    def choose_calibration_path(self) -> None:
        stock = self._stock.currentData()
        if stock is None:
            return
        suggested = str(Path.home() / f"calibration-{stock.name}.pdf")
        path = self._ask_save_path(self, "Save the calibration page", suggested, "PDF files (*.pdf)")
        if path:
            self.save_calibration_page(Path(path))

    def save_calibration_page(self, out: Path) -> Task | None:
        stock: LabelStock | None = self._stock.currentData()
        if stock is None:
            return None
        labels = self._services.labels

        def work(_progress: Progress) -> None:
            labels.write_calibration_page(stock.name, out)

        return self._start(
            "Making the calibration page…",
            work,
            lambda _result: (
                f"Saved the calibration page for {stock.title} to {out}. Print it at "
                "actual size (100%, no 'fit to page') on plain paper and hold it against a label sheet."
            ),
        )

    def cancel_job(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def reject(self) -> None:
        if self._task is not None:  # close once the running job has stopped
            self._close_when_done = True
            self._task.cancel()
            return
        super().reject()

    # Helpers

    def _find_stock(self, name: str) -> int:
        for row in range(self._stock.count()):
            if self._stock.itemData(row).name == name:
                return row
        return -1

    def _request(self) -> LabelRequest | None:
        stock: LabelStock | None = self._stock.currentData()
        if stock is None:
            return None
        which = self._which.checkedId()
        blank = self._blank.value()
        if which == self.SELECTED:
            return LabelRequest(stock_name=stock.name, tags=self._selected, blank=blank)
        if which == self.WITH_STATUS:
            return LabelRequest(stock_name=stock.name, status=chosen(self._status, DeviceStatus), blank=blank)
        if which == self.EVERY_DEVICE:
            return LabelRequest(stock_name=stock.name, every_device=True, blank=blank)
        return LabelRequest(stock_name=stock.name, blank=blank)

    def _choice(self) -> _Choice | None:
        request = self._request()
        stock = self._stock.currentData()
        if request is None or stock is None:
            self._show_failure("There is no label stock to print on: check the reports/label_stocks folder.")
            return None
        which = self._which.checkedId()
        if which == self.BLANK_ONLY and request.blank == 0:
            self._show_failure("Choose how many blank labels to print.")
            return None
        return _Choice(stock=stock, request=request)

    def _device_count(self) -> int:
        which = self._which.checkedId()
        if which == self.SELECTED:
            return len(self._selected)
        if which == self.WITH_STATUS:
            return self._services.inventory.count(DeviceFilter(status=chosen(self._status, DeviceStatus)))
        if which == self.EVERY_DEVICE:
            return self._services.inventory.count(DeviceFilter(include_retired=False))
        return 0

    def _status_picked(self) -> None:
        self._status_choice.setChecked(True)
        self._update_summary()

    def _update_summary(self) -> None:
        stock: LabelStock | None = self._stock.currentData()
        devices = self._device_count()
        blank = self._blank.value()
        total = devices + blank
        parts = [f"{devices} device label{'s' if devices != 1 else ''}"]
        if blank:
            parts.append(f"{blank} blank label{'s' if blank != 1 else ''}")
        if stock is not None and total:
            sheets = math.ceil(total / stock.labels_per_page)
            per = stock.labels_per_page
            where = f"{sheets} sheet{'s' if sheets != 1 else ''} of {per}" if per > 1 else f"{sheets} labels"
            self._summary.setText(f"To print: {' and '.join(parts)}, on {where}.")
        else:
            self._summary.setText("Nothing to print yet: choose devices or a number of blank labels.")
        ready = stock is not None and total > 0 and self._task is None
        self._save_pdf.setEnabled(ready)
        self._print.setEnabled(ready)
        self._calibration.setEnabled(stock is not None and self._task is None)

    def _start(
        self, text: str, work: Callable[[Progress], Any], describe: Callable[[Any], str]
    ) -> Task | None:
        if self._task is not None:
            return None
        self._message.clear()

        def succeeded(result: Any) -> None:
            self._finish()
            message = describe(result)
            self._message.setText(message)
            self.job_finished.emit(message)

        def failed(error: Exception) -> None:
            self._finish()
            self._show_failure(problem_words(error))

        self._task = run_with_progress(self._tasks, self, text, work, succeeded, failed)
        self._update_summary()
        return self._task

    def _finish(self) -> None:
        self._task = None
        self._update_summary()
        if self._close_when_done:
            super().reject()

    def _show_failure(self, message: str) -> None:
        self._message.setText(message)
        self.job_failed.emit(message)
