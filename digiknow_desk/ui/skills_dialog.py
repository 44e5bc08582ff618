"""The skills check form: what a resident can do in Foundation and each of the five areas of the Essential
Digital Skills framework, started from their last check so that a review is quick."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.residents import Resident
from digiknow_desk.domain.skills import SkillArea, SkillLevel, SkillsCheck, SkillsCheckDraft
from digiknow_desk.ui.desk_page import DateField, bigger, from_qdate, to_qdate, words_label
from digiknow_desk.ui.device_dialog import PROBLEM_PREFIX, problem_label, show_problem
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.resident_table_model import day_text

# The three answers, in the order they are shown, with the short words on each radio button.
LEVEL_CHOICES = (
    (SkillLevel.ALONE, "Alone"),
    (SkillLevel.WITH_HELP, "With help"),
    (SkillLevel.NOT_YET, "Not yet"),
)


def ask_skills_check(services: Services, parent: QWidget, resident: Resident) -> SkillsCheck | None:
    """Open the skills check form for `resident`; the check saved, or None."""
    return SkillsDialog.ask(services, resident, parent)


# How the residents page opens the form; tests pass a stand-in that drives the real dialog without blocking.
AskSkillsCheck = Callable[[Services, QWidget, Resident], SkillsCheck | None]


class SkillsDialog(QDialog):
    """Record one skills check. Each area is a row of three choices (Tab moves between areas, the arrow
    keys between the choices, Space picks one); a resident's earlier check fills the form in, so a review
    only changes what has moved on. Enter or Ctrl+Enter saves, Escape cancels."""

    def __init__(self, services: Services, resident: Resident, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._resident = resident
        self.saved: SkillsCheck | None = None
        self.setWindowTitle(f"Skills check: {resident.reference} {resident.name}")
        earlier = services.skills.checks_of(resident.reference)
        previous = earlier[-1] if earlier else None
        today = services.clock().astimezone().date()

        heading = words_label(f"Skills check for {resident.reference} {resident.name}")
        bigger(heading, 1.2)
        heading.setAccessibleName("Skills check for")
        self._started_from = words_label(
            f"Started from the check of {day_text(previous.checked_on, today)} "
            f"(by {previous.checked_by}): change only what has moved on."
            if previous
            else "This is the resident's first check: their baseline. Choose an answer for every area."
        )
        self._started_from.setAccessibleName("Where this check starts from")

        self._date = DateField()
        self._date.setAccessibleName("Date of the check")
        self._date.setCalendarPopup(True)
        self._date.setDisplayFormat("ddd d MMM yyyy")
        self._date.setDate(to_qdate(today))
        date_label = QLabel("Date of the c&heck:")
        date_label.setBuddy(self._date)
        self._date_problem = problem_label()
        date_row = QHBoxLayout()
        date_row.addWidget(date_label)
        date_row.addWidget(self._date)
        date_row.addStretch()

        # One row per area: its name and prompts on the left, the three choices on the right.
        grid = QGridLayout()
        grid.setColumnStretch(0, 1)
        grid.setHorizontalSpacing(self.fontMetrics().averageCharWidth() * 2)
        grid.setVerticalSpacing(self.fontMetrics().lineSpacing() // 2)
        self._groups: dict[SkillArea, QButtonGroup] = {}
        for row, area in enumerate(SkillArea):
            name = QLabel(area.label)
            bigger(name, 1.0)
            hint = words_label(area.example_tasks)
            hint.setAccessibleName(f"{area.label}: for example")
            text = QVBoxLayout()
            text.setSpacing(0)
            text.addWidget(name)
            text.addWidget(hint)
            grid.addLayout(text, row, 0)
            group = QButtonGroup(self)
            group.setExclusive(True)
            for column, (level, words) in enumerate(LEVEL_CHOICES, start=1):
                radio = QRadioButton(words)
                radio.setAccessibleName(f"{area.label}: {level.label.lower()}")
                radio.setProperty("level", level.value)
                group.addButton(radio)
                grid.addWidget(radio, row, column, Qt.AlignmentFlag.AlignTop)
            if previous is not None and area in previous.levels:
                self._radio(group, previous.levels[area]).setChecked(True)
            group.buttonToggled.connect(lambda _button, _on, group=group: self._tab_stop(group))
            self._tab_stop(group)
            self._groups[area] = group
        self._levels_problem = problem_label()

        self._own_device = QCheckBox("Has a &device of their own")
        self._own_device.setAccessibleName("Has a device of their own")
        self._own_connection = QCheckBox("Has an &internet connection of their own")
        self._own_connection.setAccessibleName("Has an internet connection of their own")
        if previous is not None:
            self._own_device.setChecked(previous.own_device)
            self._own_connection.setChecked(previous.own_connection)
        self._note = QLineEdit()
        self._note.setAccessibleName("Note")
        self._note.setPlaceholderText("Anything to remember for the next check (optional)")
        self._note.setMaxLength(500)
        note_label = QLabel("&Note:")
        note_label.setBuddy(self._note)
        note_row = QHBoxLayout()
        note_row.addWidget(note_label)
        note_row.addWidget(self._note, 1)
        self._problem = problem_label()

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self._save = buttons.button(QDialogButtonBox.StandardButton.Save)
        self._save.setText("&Save check")
        self._save.setAccessibleName("Save the skills check")
        self._save.setToolTip("Save the skills check (Enter or Ctrl+Enter)")
        self._save.setDefault(True)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("Cancel")  # no Alt key: Escape cancels, and C stays free
        cancel.setAccessibleName("Cancel")
        cancel.setToolTip("Close without saving (Escape)")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        # Enter saves from any field through the default button; Ctrl+Enter too, as in other forms.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.save)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self._started_from)
        layout.addLayout(date_row)
        layout.addWidget(self._date_problem)
        layout.addSpacing(self.fontMetrics().lineSpacing() // 2)
        layout.addLayout(grid)
        layout.addWidget(self._levels_problem)
        layout.addWidget(self._own_device)
        layout.addWidget(self._own_connection)
        layout.addLayout(note_row)
        layout.addWidget(self._problem)
        layout.addWidget(buttons)
        self._date.setFocus()
        # Wide enough for the prompts to wrap onto two or three lines, and just as tall as they need.
        self.resize(self.fontMetrics().averageCharWidth() * 120, 0)
        self._fit_height()

    # What the residents page and the tests use

    @property
    def date_edit(self) -> DateField:
        return self._date

    @property
    def started_from(self) -> str:
        return self._started_from.text()

    def choice(self, area: SkillArea, level: SkillLevel) -> QRadioButton:
        """The radio button for one answer (tests find it by its accessible name too)."""
        return self._radio(self._groups[area], level)

    def levels(self) -> dict[SkillArea, SkillLevel]:
        """The answers chosen so far (areas with none chosen are left out)."""
        chosen = {}
        for area, group in self._groups.items():
            button = group.checkedButton()
            if button is not None:
                chosen[area] = SkillLevel(button.property("level"))
        return chosen

    def problem_text(self) -> str:
        """Every problem shown, in words ('' when there is none)."""
        labels = (self._date_problem, self._levels_problem, self._problem)
        return " ".join(label.text().removeprefix(PROBLEM_PREFIX) for label in labels if label.text())

    def draft(self) -> SkillsCheckDraft:
        return SkillsCheckDraft(
            levels=self.levels(),
            checked_on=from_qdate(self._date.date()),
            own_device=self._own_device.isChecked(),
            own_connection=self._own_connection.isChecked(),
            note=self._note.text(),
        )

    def save(self) -> None:
        """Record the check; refused, with the reasons shown in words, when it is not complete."""
        show_problem(self._date_problem, self._date, "")
        show_problem(self._levels_problem, None, "")
        show_problem(self._problem, None, "")
        try:
            self.saved = self._services.skills.record(self._resident.reference, self.draft())
        except ValidationError as error:
            show_problem(self._date_problem, self._date, error.problems.get("checked_on", ""))
            show_problem(self._levels_problem, None, error.problems.get("levels", ""))
            others = [text for key, text in error.problems.items() if key not in ("checked_on", "levels")]
            show_problem(self._problem, None, " ".join(others))
            self._fit_height()
            self._focus_first_problem()
            return
        except DomainError as error:
            show_problem(self._problem, None, problem_words(error))
            self._fit_height()
            return
        self.accept()

    @classmethod
    def ask(cls, services: Services, resident: Resident, parent: QWidget | None = None) -> SkillsCheck | None:
        """Run the form; the check saved, or None when staff cancel."""
        dialog = cls(services, resident, parent)
        dialog.exec()
        return dialog.saved

    # Helpers

    @staticmethod
    def _radio(group: QButtonGroup, level: SkillLevel) -> QRadioButton:
        button = next(b for b in group.buttons() if b.property("level") == level.value)
        assert isinstance(button, QRadioButton)
        return button

    @staticmethod
    def _tab_stop(group: QButtonGroup) -> None:
        """Tab stops once in each area, on the answer chosen (or the first when none is): the arrow keys
        move between the three, as in any group of radio buttons."""
        stop: QAbstractButton = group.checkedButton() or group.buttons()[0]
        for button in group.buttons():
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus if button is stop else Qt.FocusPolicy.ClickFocus)

    def _fit_height(self) -> None:
        """Grow to the height the words need at this width (never squeezing the prompts), e.g. when a
        problem is shown."""
        layout = self.layout()
        if layout is not None:
            self.resize(self.width(), max(self.height(), layout.totalHeightForWidth(self.width())))

    def _focus_first_problem(self) -> None:
        if self._date_problem.text():
            self._date.setFocus()
            return
        missing = next((group for group in self._groups.values() if group.checkedButton() is None), None)
        if missing is not None:
            missing.buttons()[0].setFocus()
