"""Unexpected errors are logged and shown with details; refusals are shown plainly; nothing is raised."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox
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
        "Enter an asset tag.\nSerial taken.",
    ]
