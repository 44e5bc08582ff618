"""The first-start welcome: set up venues, import existing stock, or explore a demo database."""

from __future__ import annotations

import html
from collections.abc import Collection
from enum import Enum

from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomeChoice(Enum):
    SET_UP_VENUES = "venues"
    IMPORT_STOCK = "import"
    EXPLORE_DEMO = "demo"


class WelcomeDialog(QDialog):
    def __init__(
        self,
        database_name: str,
        parent: QWidget | None = None,
        *,
        choices: Collection[WelcomeChoice] = tuple(WelcomeChoice),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to DigiKnow Desk")
        self.choice: WelcomeChoice | None = None
        intro = QLabel(
            "<h2>Welcome to DigiKnow Desk</h2>"
            "<p>This database is empty. How would you like to start?</p>"
            f"<p>Database: {html.escape(database_name)}</p>"
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        options = (
            (
                WelcomeChoice.SET_UP_VENUES,
                "Set up the &venues",
                "Add the libraries and community venues where devices are lent, each with its ward.",
            ),
            (
                WelcomeChoice.IMPORT_STOCK,
                "&Import existing stock",
                "Read a device list from a CSV file: our own export, or Snipe-IT's asset export.",
            ),
            (
                WelcomeChoice.EXPLORE_DEMO,
                "Explore a &demo database",
                "Open a separate database full of realistic made-up devices, to try things safely.",
            ),
        )
        for choice, title, explanation in options:
            if choice not in choices:  # the signed-in role may not use that area
                continue
            button = QPushButton(title)
            button.setAccessibleName(title.replace("&", ""))
            button.setAccessibleDescription(explanation)
            button.setToolTip(explanation)
            button.clicked.connect(lambda _checked=False, c=choice: self._choose(c))
            note = QLabel(explanation)
            note.setWordWrap(True)
            layout.addWidget(button)
            layout.addWidget(note)
        later = QPushButton("Not &now")
        later.setAccessibleName("Not now")
        later.clicked.connect(self.reject)
        layout.addWidget(later)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 34)

    def _choose(self, choice: WelcomeChoice) -> None:
        self.choice = choice
        self.accept()

    @classmethod
    def ask(
        cls,
        database_name: str,
        parent: QWidget | None = None,
        *,
        choices: Collection[WelcomeChoice] = tuple(WelcomeChoice),
    ) -> WelcomeChoice | None:
        dialog = cls(database_name, parent, choices=choices)
        dialog.exec()
        return dialog.choice
