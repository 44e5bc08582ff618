"""Import devices from a CSV file: check the file first, show what would be refused, then import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.services.device_csv import ImportReport
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress

OpenPathAsker = Callable[[QWidget, str, str], str]
"""(parent, caption, file filter) -> the chosen path, or '' when cancelled."""
CSV_FILTER = "CSV files (*.csv);;All files (*)"


def ask_open_path(parent: QWidget, caption: str, file_filter: str) -> str:
    path, _chosen_filter = QFileDialog.getOpenFileName(parent, caption, "", file_filter)
    return path


class ImportDialog(QDialog):
    """Checks a device CSV (a dry run), shows the rows it would refuse with their line numbers, then
    imports every row, or only the good ones, as staff choose."""

    checked = Signal()  # the dry run finished and its report is shown
    imported = Signal(int)  # devices added
    job_failed = Signal(str)  # why the file could not be checked or imported, in words

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        path: Path | None = None,
        open_path: OpenPathAsker = ask_open_path,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._ask_open_path = open_path
        self._path: Path | None = None
        self._report: ImportReport | None = None
        self._task: Task | None = None
        self._imported = 0
        self._close_when_done = False
        self.setWindowTitle("Import devices from a CSV file")

        intro = QLabel(
            "Choose a CSV file of devices: a DigiKnow Desk export, or a Snipe-IT asset export. "
            "The file is checked first; nothing is added until you choose to import."
        )
        intro.setWordWrap(True)
        self._file = QLineEdit()
        self._file.setReadOnly(True)
        self._file.setAccessibleName("CSV file")
        self._file.setPlaceholderText("No file chosen")
        self._choose = QPushButton("C&hoose file…")
        self._choose.setAccessibleName("Choose a CSV file")
        self._choose.clicked.connect(self.choose_file)
        file_label = QLabel("&File:")
        file_label.setBuddy(self._file)
        file_row = QHBoxLayout()
        file_row.addWidget(self._file, 1)
        file_row.addWidget(self._choose)
        form = QFormLayout()
        form.addRow(file_label, file_row)
        self._report_view = QPlainTextEdit()
        self._report_view.setReadOnly(True)
        self._report_view.setAccessibleName("What the import would do")
        self._report_view.setPlaceholderText("The check of the file will appear here.")
        report_label = QLabel("&Check of the file:")
        report_label.setBuddy(self._report_view)

        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self._cancel = self._buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self._cancel.setAccessibleName("Cancel")
        self._import_all = self._buttons.addButton("Import &all", QDialogButtonBox.ButtonRole.AcceptRole)
        self._import_all.setAccessibleName("Import all the rows")
        self._import_good = self._buttons.addButton(
            "Import the &good rows", QDialogButtonBox.ButtonRole.ApplyRole
        )
        self._import_good.setAccessibleName("Import only the good rows")
        self._import_all.clicked.connect(lambda: self.start_import(good_rows_only=False))
        self._import_good.clicked.connect(lambda: self.start_import(good_rows_only=True))
        self._buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(report_label)
        layout.addWidget(self._report_view, 1)
        layout.addWidget(self._buttons)
        self._update_buttons()
        self.resize(self.fontMetrics().averageCharWidth() * 90, self.fontMetrics().lineSpacing() * 26)
        if path is not None:
            self.check(path)

    @classmethod
    def ask(
        cls, services: Services, tasks: TaskRunner, parent: QWidget | None = None, path: Path | None = None
    ) -> int | None:
        """Run the dialog; how many devices were imported, or None when nothing was."""
        dialog = cls(services, tasks, parent, path=path)
        if path is None:
            dialog.choose_file_later()
        dialog.exec()
        return dialog.imported_count or None

    # What the buttons do (tests call these)

    @property
    def report(self) -> ImportReport | None:
        return self._report

    @property
    def report_text(self) -> str:
        return self._report_view.toPlainText()

    @property
    def imported_count(self) -> int:
        return self._imported

    @property
    def busy(self) -> bool:
        return self._task is not None

    def can_import_all(self) -> bool:
        return self._import_all.isEnabled()

    def can_import_good_rows(self) -> bool:
        return self._import_good.isEnabled()

    def choose_file_later(self) -> None:
        """Open the file chooser as soon as the dialog is showing."""
        QTimer.singleShot(0, self, self.choose_file)

    def choose_file(self) -> None:
        path = self._ask_open_path(self, "Choose a CSV file of devices", CSV_FILTER)
        if path:
            self.check(Path(path))

    def check(self, path: Path) -> Task | None:
        """Check the file in the background (a dry run) and show what would be imported and refused."""
        if self._task is not None:
            return None
        self._path = path
        self._report = None
        self._file.setText(str(path))
        self._report_view.setPlainText(f"Checking {path.name}…")
        csv = self._services.device_csv

        def work(_progress: Progress) -> ImportReport:
            return csv.import_devices(path, dry_run=True)

        def succeeded(report: ImportReport) -> None:
            cancelled = self._task is not None and self._task.is_cancelled()
            self._finish()
            if cancelled:
                self._path = None
                self._file.clear()
                self._report_view.setPlainText("The check was cancelled; nothing was imported.")
                self._update_buttons()
                return
            self._report = report
            self._report_view.setPlainText(report.summary())
            self._update_buttons()
            self.checked.emit()

        return self._start(f"Checking {path.name}…", work, succeeded)

    def start_import(self, *, good_rows_only: bool) -> Task | None:
        """Import the checked file: every row (refused if any row is wrong), or only the good rows."""
        if self._task is not None or self._path is None or self._report is None:
            return None
        path = self._path
        csv = self._services.device_csv

        def work(_progress: Progress) -> ImportReport:
            return csv.import_devices(path, import_good_rows=good_rows_only)

        def succeeded(report: ImportReport) -> None:
            self._finish()
            self._report = None  # imported: nothing left to import from this check
            self._imported += report.imported
            self._report_view.setPlainText(report.summary())
            self._cancel.setText("Close")
            self._cancel.setAccessibleName("Close")
            self._update_buttons()
            self.imported.emit(report.imported)

        # One transaction: it cannot stop half way, so its progress dialog has no Cancel button.
        return self._start(f"Importing {path.name}…", work, succeeded, cancellable=False)

    # Helpers

    def reject(self) -> None:
        if self._task is not None:  # close once the running job has stopped
            self._close_when_done = True
            self._task.cancel()
            return
        super().reject()

    def _start(
        self,
        text: str,
        work: Callable[[Progress], Any],
        on_success: Callable[[Any], None],
        *,
        cancellable: bool = True,
    ) -> Task:
        def failed(error: Exception) -> None:
            self._finish()
            message = problem_words(error)
            self._report_view.setPlainText(message)
            self._update_buttons()
            self.job_failed.emit(message)

        self._task = run_with_progress(
            self._tasks, self, text, work, on_success, failed, cancellable=cancellable
        )
        self._update_buttons()
        return self._task

    def _finish(self) -> None:
        self._task = None
        if self._close_when_done:
            super().reject()

    def _update_buttons(self) -> None:
        report = self._report
        idle = self._task is None
        has_good = report is not None and bool(report.to_import)
        self._import_all.setEnabled(idle and has_good and report is not None and not report.rejected)
        self._import_good.setEnabled(idle and has_good and report is not None and bool(report.rejected))
        self._choose.setEnabled(idle)
        # Enter imports when the whole file is good; otherwise it must be a deliberate choice.
        self._import_all.setDefault(self._import_all.isEnabled())
