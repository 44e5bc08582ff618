"""The Qt tests' own fixture: a test's widgets are gone before the next test starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication


@pytest.fixture(autouse=True)
def delete_closed_widgets(qapp: QApplication) -> Iterator[None]:
    """pytest-qt closes a test's widgets and only asks Qt to delete them later: until then a timer of
    theirs (a form's check a moment after typing) can still fire, in the next test, on a database that
    has gone. Deleting them now takes their timers with them."""
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
