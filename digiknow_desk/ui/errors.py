"""Unexpected errors: logged to a rotating file and shown in a friendly dialog; the app keeps running."""

from __future__ import annotations

import html
import logging
import sys
import traceback
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.domain.errors import DomainError, ValidationError

LOG_FILE = "digiknow-desk.log"
log = logging.getLogger("digiknow_desk")


def setup_logging(log_dir: Path) -> Path:
    """Log to a file that rotates at 1 MB, keeping five old ones; returns the file's path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


class ErrorDialog(QDialog):
    """Says what happened in plain words, that saved work is safe, and offers the details to copy."""

    def __init__(
        self, summary: str, details: str, log_path: Path | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        message = QLabel(
            f"<p><b>{html.escape(summary)}</b></p>"
            "<p>Everything saved before this is safe in the database. What you were doing at that moment "
            "may not have been saved: check it, and try again.</p>"
            + (f"<p>The details are also in the log: {html.escape(str(log_path))}</p>" if log_path else "")
        )
        message.setWordWrap(True)
        self._details = QPlainTextEdit(details)
        self._details.setReadOnly(True)
        self._details.setAccessibleName("Error details")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("&Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setAccessibleName("Copy details")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self._details.toPlainText()))
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close")
        layout = QVBoxLayout(self)
        layout.addWidget(message)
        layout.addWidget(self._details)
        layout.addWidget(buttons)
        self.resize(640, 420)

    @property
    def details(self) -> str:
        return self._details.toPlainText()


class ErrorReporter:
    """The one place errors reach the person at the desk: refusals as messages, bugs as ErrorDialog."""

    def __init__(
        self,
        parent: QWidget | None,
        log_path: Path | None,
        show_dialog: Callable[[QDialog], object] = QDialog.exec,
    ) -> None:
        self._parent = parent
        self._log_path = log_path
        self._show_dialog = show_dialog  # tests pass one that records the dialog instead of blocking

    def install(self) -> None:
        sys.excepthook = self._excepthook

    def report(self, error: BaseException) -> None:
        """Show a refusal plainly; log and show anything unexpected."""
        if isinstance(error, DomainError):
            text = problem_words(error)
            box = QMessageBox(
                QMessageBox.Icon.Warning, "DigiKnow Desk", text, QMessageBox.StandardButton.Ok, self._parent
            )
            self._show_dialog(box)
            return
        self._unexpected(type(error), error, error.__traceback__)

    def _excepthook(
        self, kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        if isinstance(error, DomainError):
            self.report(error)
        else:
            self._unexpected(kind, error, trace)

    def _unexpected(
        self, kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        details = "".join(traceback.format_exception(kind, error, trace))
        log.error("Unexpected error\n%s", details)
        dialog = ErrorDialog(
            f"An unexpected problem stopped that action ({kind.__name__}).",
            details,
            self._log_path,
            self._parent,
        )
        self._show_dialog(dialog)


def problem_words(error: Exception) -> str:
    """A refusal in plain words; anything else is a bug and is raised to the app's error handler."""
    if isinstance(error, ValidationError):
        return " ".join(error.problems.values())
    if isinstance(error, DomainError):
        return str(error)
    raise error
