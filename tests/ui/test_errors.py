"""Unexpected errors are logged and shown with details; refusals are shown plainly; nothing is raised."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from digiknow_desk.domain.errors import InvalidTransition, ValidationError
from digiknow_desk.ui.errors import ErrorDialog, ErrorReporter, log, setup_logging


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    yield setup_logging(tmp_path / "logs")
    for handler in list(log.handlers):
        if isinstance(handler, logging.FileHandler):
            handler.close()
            log.removeHandler(handler)


def test_unexpected_error_is_logged_and_shown_with_details(qtbot: QtBot, log_path: Path) -> None:
    shown: list[QDialog] = []
    reporter = ErrorReporter(None, log_path, show_dialog=shown.append)
    try:
        raise KeyError("tag")
    except KeyError as error:
        reporter.report(error)
    for handler in log.handlers:
        handler.flush()
    assert len(shown) == 1 and isinstance(shown[0], ErrorDialog)
    dialog = shown[0]
    qtbot.addWidget(dialog)
    assert "KeyError" in dialog.details and "test_unexpected_error" in dialog.details
    assert "KeyError: 'tag'" in log_path.read_text(encoding="utf-8")


def test_refusals_are_plain_messages_not_error_reports(qtbot: QtBot) -> None:
    shown: list[QDialog] = []
    reporter = ErrorReporter(None, None, show_dialog=shown.append)
    reporter.report(InvalidTransition("A retired device cannot change status."))
    reporter.report(ValidationError({"tag": "Enter an asset tag.", "serial": "Serial taken."}))
    assert all(isinstance(dialog, QMessageBox) for dialog in shown)
    assert [dialog.text() for dialog in shown] == [  # type: ignore[attr-defined]
        "A retired device cannot change status.",
        "Enter an asset tag. Serial taken.",
    ]


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_button_handler_is_reported_and_the_app_goes_on(
    qtbot: QtBot, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    shown: list[QDialog] = []
    ErrorReporter(None, log_path, show_dialog=shown.append).install()
    clicks: list[int] = []

    def handler() -> None:
        clicks.append(1)
        if len(clicks) == 1:
            raise RuntimeError("printer on fire")

    button = QPushButton("Go")
    qtbot.addWidget(button)
    button.clicked.connect(handler)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert len(shown) == 1 and "printer on fire" in shown[0].details  # type: ignore[attr-defined]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # still working
    assert clicks == [1, 1] and len(shown) == 1
