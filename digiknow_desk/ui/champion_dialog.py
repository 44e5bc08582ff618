"""The champion form (add or edit a Digital Champion: contact, venues, training and DBS dates, active) and
the form for volunteer hours outside sessions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import Champion, ChampionDraft
from digiknow_desk.domain.errors import DomainError, ValidationError
from digiknow_desk.domain.sessions import HoursKind, OtherHours
from digiknow_desk.ui.desk_page import DateField
from digiknow_desk.ui.device_dialog import PROBLEM_PREFIX, chosen, problem_label, show_problem
from digiknow_desk.ui.errors import problem_words


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _date_of(day: QDate) -> date:
    return date(day.year(), day.month(), day.day())


class _ProblemForm(QDialog):
    """A form whose fields each have a problem label under them, filled from a ValidationError."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self._fields: dict[str, QWidget] = {}
        self._problem_labels: dict[str, QLabel] = {}
        self._general_problem = problem_label()
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self._save = self._buttons.button(QDialogButtonBox.StandardButton.Save)
        self._save.setDefault(True)
        self._buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self._buttons.accepted.connect(self.save)
        self._buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # problems grow the form
        layout.addLayout(self._form)
        layout.addWidget(self._general_problem)
        layout.addWidget(self._buttons)

    def _add_row(self, caption: str, name: str, field: QWidget, row: QHBoxLayout | None = None) -> None:
        cell = QVBoxLayout()
        cell.setSpacing(2)
        if row is not None:
            cell.addLayout(row)
        else:
            cell.addWidget(field)
        label = problem_label()
        self._problem_labels[name] = label
        self._fields[name] = field
        cell.addWidget(label)
        buddy = QLabel(caption)
        buddy.setBuddy(field)
        self._form.addRow(buddy, cell)

    def field(self, name: str) -> QWidget:
        """The widget for a field (tests drive the form through these)."""
        return self._fields[name]

    def problem_text(self, field_name: str) -> str:
        """The message shown under a field ('' when there is none)."""
        label = self._problem_labels.get(field_name, self._general_problem)
        return label.text().removeprefix(PROBLEM_PREFIX)

    def save(self) -> None:
        raise NotImplementedError

    def _show_problems(self, problems: dict[str, str]) -> None:
        unplaced = [message for name, message in problems.items() if name not in self._problem_labels]
        for name, label in self._problem_labels.items():
            show_problem(label, self._fields.get(name), problems.get(name, ""))
        show_problem(self._general_problem, None, " ".join(unplaced))
        for name, widget in self._fields.items():
            if name in problems:
                widget.setFocus()
                break

    def _refused(self, error: DomainError) -> None:
        if isinstance(error, ValidationError):
            self._show_problems(dict(error.problems))
        else:
            self._show_problems({"": problem_words(error)})


class OptionalDate(QWidget):
    """A date that may be left empty: 'Not recorded' ticked, or a date."""

    def __init__(self, name: str, not_known: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._date = DateField()
        self._date.setAccessibleName(name)
        self._date.setDisplayFormat("d MMM yyyy")
        self._date.setCalendarPopup(True)
        self._not_known = QCheckBox(not_known)
        self._not_known.setAccessibleName(f"{name}: {not_known.replace('&', '')}")
        self._not_known.toggled.connect(lambda unknown: self._date.setEnabled(not unknown))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._date)
        layout.addWidget(self._not_known)
        layout.addStretch()
        self.setFocusProxy(self._date)

    @property
    def date_box(self) -> DateField:
        return self._date

    @property
    def not_known_box(self) -> QCheckBox:
        return self._not_known

    def value(self) -> date | None:
        return None if self._not_known.isChecked() else _date_of(self._date.date())

    def set_value(self, day: date | None, default: date) -> None:
        self._date.setDate(_qdate(day or default))
        self._not_known.setChecked(day is None)
        self._date.setEnabled(day is not None)


class ChampionDialog(_ProblemForm):
    """Add or edit one Digital Champion; problems are shown under their fields and the form stays open."""

    def __init__(
        self, services: Services, champion: Champion | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._champion = champion
        self.saved: Champion | None = None
        self.setWindowTitle(f"Edit champion {champion.name}" if champion else "Add a Digital Champion")
        today = services.clock().astimezone().date()

        self._name = QLineEdit()
        self._name.setAccessibleName("Name")
        self._name.setMaxLength(200)
        self._phone = QLineEdit()
        self._phone.setAccessibleName("Phone")
        self._phone.setPlaceholderText("e.g. 0161 474 4444")
        self._email = QLineEdit()
        self._email.setAccessibleName("Email")
        self._venues = QListWidget()
        self._venues.setAccessibleName("Venues they help at (Space ticks)")
        own = {venue_id for venue_id, _name in champion.venues} if champion else set()
        for venue in services.venues.venues():
            if venue.active or venue.id in own:
                item = QListWidgetItem(venue.name + ("" if venue.active else " (closed)"))
                item.setData(Qt.ItemDataRole.UserRole, str(venue.id))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if venue.id in own else Qt.CheckState.Unchecked)
                self._venues.addItem(item)
        if self._venues.count():
            self._venues.setCurrentRow(0)
        self._venues.setMaximumHeight(self.fontMetrics().lineSpacing() * 7)
        self._trained = OptionalDate("Trained on", "Not reco&rded")
        self._dbs = OptionalDate("DBS checked on", "Not rec&orded")
        self._active = QCheckBox("A&ctive: helps at sessions now")
        self._active.setAccessibleName("Active")

        self._add_row("&Name:", "name", self._name)
        self._add_row("&Phone:", "phone", self._phone)
        self._add_row("&Email:", "email", self._email)
        self._add_row("&Venues:", "venues", self._venues)
        self._add_row("&Trained on:", "trained_on", self._trained)
        self._add_row("&DBS checked on:", "dbs_checked_on", self._dbs)
        self._form.addRow("", self._active)
        self._save.setAccessibleName("Save champion")

        self._name.setText(champion.name if champion else "")
        self._phone.setText(champion.phone if champion else "")
        self._email.setText(champion.email if champion else "")
        self._trained.set_value(champion.trained_on if champion else None, today)
        self._dbs.set_value(champion.dbs_checked_on if champion else None, today)
        self._active.setChecked(champion.active if champion else True)
        order: list[QWidget] = [
            self._name,
            self._phone,
            self._email,
            self._venues,
            self._trained.date_box,
            self._trained.not_known_box,
            self._dbs.date_box,
            self._dbs.not_known_box,
            self._active,
        ]
        for first, second in zip(order, order[1:], strict=False):
            self.setTabOrder(first, second)
        self._name.setFocus()
        self.resize(
            self.sizeHint().width() + self.fontMetrics().averageCharWidth() * 20, self.sizeHint().height()
        )

    @classmethod
    def ask(
        cls, services: Services, parent: QWidget | None = None, champion: Champion | None = None
    ) -> Champion | None:
        """Run the form; the saved champion, or None when staff cancel."""
        dialog = cls(services, champion, parent)
        dialog.exec()
        return dialog.saved

    @property
    def trained_on(self) -> OptionalDate:
        return self._trained

    @property
    def dbs_checked_on(self) -> OptionalDate:
        return self._dbs

    @property
    def active_box(self) -> QCheckBox:
        return self._active

    def set_venue(self, venue_id: uuid.UUID, ticked: bool = True) -> None:
        for row in range(self._venues.count()):
            item = self._venues.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == str(venue_id):
                item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)

    def draft(self) -> ChampionDraft:
        """What the form says now, as a draft for the champion service."""
        venues = (self._venues.item(row) for row in range(self._venues.count()))
        return ChampionDraft(
            name=self._name.text(),
            phone=self._phone.text(),
            email=self._email.text(),
            venue_ids=frozenset(
                uuid.UUID(str(item.data(Qt.ItemDataRole.UserRole)))
                for item in venues
                if item.checkState() == Qt.CheckState.Checked
            ),
            trained_on=self._trained.value(),
            dbs_checked_on=self._dbs.value(),
            active=self._active.isChecked(),
        )

    def save(self) -> None:
        """Save the champion; refused, with the problems under their fields, when the form is not right."""
        try:
            if self._champion is None:
                self.saved = self._services.champions.add(self.draft())
            else:
                self.saved = self._services.champions.update(self._champion.id, self.draft())
        except DomainError as error:
            self._refused(error)
            return
        self.accept()


class HoursDialog(_ProblemForm):
    """Record one champion's volunteer time outside sessions: training, setting up devices, outreach."""

    def __init__(self, services: Services, champion: Champion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._champion = champion
        self.saved: OtherHours | None = None
        self.setWindowTitle(f"Add other hours for {champion.name}")
        today = services.clock().astimezone().date()

        self._worked_on = DateField()
        self._worked_on.setAccessibleName("Date worked")
        self._worked_on.setDisplayFormat("ddd d MMM yyyy")
        self._worked_on.setCalendarPopup(True)
        self._worked_on.setDate(_qdate(today))
        self._hours = QSpinBox()
        self._hours.setAccessibleName("Hours")
        self._hours.setRange(0, 12)
        self._hours.setSuffix(" h")
        self._hours.setValue(1)
        self._minutes = QSpinBox()
        self._minutes.setAccessibleName("and minutes")
        self._minutes.setRange(0, 55)
        self._minutes.setSingleStep(5)
        self._minutes.setSuffix(" min")
        time_row = QHBoxLayout()
        time_row.addWidget(self._hours)
        time_row.addWidget(self._minutes)
        time_row.addStretch()
        self._kind = QComboBox()
        self._kind.setAccessibleName("Kind of work")
        for kind in HoursKind:
            self._kind.addItem(kind.label, kind)
        self._note = QLineEdit()
        self._note.setAccessibleName("Note")
        self._note.setPlaceholderText("e.g. Digital Champion refresher course")

        self._form.addRow("Champion:", QLabel(champion.name))
        self._add_row("&Date:", "worked_on", self._worked_on)
        self._add_row("&Time spent:", "minutes", self._hours, time_row)
        self._add_row("&Kind of work:", "kind", self._kind)
        self._add_row("N&ote:", "note", self._note)
        self._save.setAccessibleName("Save hours")
        order: list[QWidget] = [self._worked_on, self._hours, self._minutes, self._kind, self._note]
        for first, second in zip(order, order[1:], strict=False):
            self.setTabOrder(first, second)
        self._hours.setFocus()
        self.resize(
            self.sizeHint().width() + self.fontMetrics().averageCharWidth() * 30, self.sizeHint().height()
        )

    @classmethod
    def ask(cls, services: Services, parent: QWidget | None, champion: Champion) -> OtherHours | None:
        """Run the form; the hours recorded, or None when staff cancel."""
        dialog = cls(services, champion, parent)
        dialog.exec()
        return dialog.saved

    @property
    def minutes(self) -> int:
        return self._hours.value() * 60 + self._minutes.value()

    def set_time(self, hours: int, minutes: int) -> None:
        self._hours.setValue(hours)
        self._minutes.setValue(minutes)

    def save(self) -> None:
        """Record the hours; refused, with the problems under their fields, when the form is not right."""
        try:
            self.saved = self._services.sessions.add_hours(
                self._champion.id,
                _date_of(self._worked_on.date()),
                self.minutes,
                chosen(self._kind, HoursKind),
                self._note.text(),
            )
        except DomainError as error:
            self._refused(error)
            return
        self.accept()


# How the Champions page opens its forms; tests pass stand-ins that drive the real dialogs without blocking.
AskChampion = Callable[[Services, QWidget, Champion | None], Champion | None]
AskHours = Callable[[Services, QWidget, Champion], OtherHours | None]


def ask_champion(services: Services, parent: QWidget, champion: Champion | None) -> Champion | None:
    return ChampionDialog.ask(services, parent, champion)


def ask_hours(services: Services, parent: QWidget, champion: Champion) -> OtherHours | None:
    return HoursDialog.ask(services, parent, champion)
