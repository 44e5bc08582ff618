"""Small helpers the pages share: keyboard actions with matching buttons, and columns sized to their text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QPushButton, QTableView, QWidget


def page_action(
    page: QWidget, text: str, shortcut: str | QKeySequence.StandardKey | None, slot: Callable[[], Any]
) -> QAction:
    """An action on `page` whose shortcut works anywhere inside the page (and only there)."""
    action = QAction(text, page)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.triggered.connect(lambda _checked=False: slot())
    page.addAction(action)
    return action


def action_button(text: str, action: QAction) -> QPushButton:
    """A button that triggers `action`, named after it and showing its shortcut as a tip."""
    button = QPushButton(text)
    name = action.text()
    button.setAccessibleName(name)
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    button.setToolTip(f"{name} ({keys})" if keys else name)
    button.clicked.connect(action.trigger)
    return button


def make_list_table(
    table: QTableView,
    selection: QAbstractItemView.SelectionMode = QAbstractItemView.SelectionMode.SingleSelection,
) -> None:
    """Set up a page's main list: whole rows selected, read-only, striped, one line per row."""
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(selection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)


def size_columns(
    table: QTableView, samples: Mapping[int, str], stretch: int, *, roomy_rows: bool = True
) -> None:
    """Size each column to fit a sample of its widest usual text (and its heading), in the table's
    font so they grow with larger text; `stretch` takes the space left over."""
    metrics = table.fontMetrics()
    padding = metrics.averageCharWidth() * 3
    header = table.horizontalHeader()
    header.setMinimumSectionSize(metrics.averageCharWidth() * 6)
    model = table.model()
    for column, sample in samples.items():
        caption = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(caption))
        header.resizeSection(column, width + padding)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    if roomy_rows:
        table.verticalHeader().setDefaultSectionSize(metrics.lineSpacing() + metrics.height() // 2)
