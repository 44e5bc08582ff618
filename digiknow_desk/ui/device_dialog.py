"""The device form (add or edit, checked as staff type) and the status-change dialog."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import TypeVar

from PySide6.QtCore import QDate, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import (
    KIT_SUGGESTIONS,
    AcquisitionSource,
    Condition,
    Device,
    DeviceDraft,
    DeviceStatus,
    DeviceType,
    manual_moves,
)
from digiknow_desk.domain.errors import DomainError, ValidationError

CHECK_DELAY_MS = 200
PROBLEM_PREFIX = "Problem: "
_E = TypeVar("_E", bound=StrEnum)


def combo_choice(combo: QComboBox, kind: type[_E]) -> _E | None:
    """The enum member chosen in a combo (Qt hands string enums back as plain strings); None for 'any'."""
    data = combo.currentData()
    return None if data is None else kind(data)


def venue_choice(combo: QComboBox) -> uuid.UUID | None:
    """The venue chosen in a combo whose items carry venue ids as text; None for 'not set' or 'any'."""
    data = combo.currentData()
    return uuid.UUID(data) if data else None


def find_venue(combo: QComboBox, venue_id: uuid.UUID | None) -> int:
    """The row of a venue in such a combo, or the first row ('not set' or 'any') when it is not there."""
    return max(0, combo.findData(str(venue_id))) if venue_id is not None else 0


def chosen(combo: QComboBox, kind: type[_E]) -> _E:
    """The enum member chosen in a combo that always has one."""
    value = combo_choice(combo, kind)
    if value is None:
        raise ValueError(f"{combo.accessibleName()}: nothing is chosen")
    return value


def problem_label() -> QLabel:
    """A label under a field that says what is wrong with it, in words (not only in colour)."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setVisible(False)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def show_problem(label: QLabel, field: QWidget | None, message: str) -> None:
    label.setText(PROBLEM_PREFIX + message if message else "")
    label.setVisible(bool(message))
    if field is not None:
        field.setAccessibleDescription(message)


class DeviceDialog(QDialog):
    """Add or edit one device; checks the form as staff type and shows each problem under its field."""

    problems_checked = Signal(dict)

    def __init__(
        self,
        services: Services,
        device: Device | None = None,
        tag: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._device = device
        self._auto_tag: str | None = None
        self._problems: dict[str, str] = {}
        self.saved: Device | None = None
        self.setWindowTitle(f"Edit device {device.tag}" if device else "Add a device")

        self._tag = QLineEdit()
        self._tag.setAccessibleName("Asset tag")
        self._tag.setMaxLength(20)
        self._type = QComboBox()
        self._type.setAccessibleName("Device type")
        for device_type in DeviceType:
            self._type.addItem(device_type.label, device_type)
        self._make = QLineEdit()
        self._make.setAccessibleName("Make")
        self._make.setPlaceholderText("e.g. Lenovo")
        self._model = QLineEdit()
        self._model.setAccessibleName("Model")
        self._model.setPlaceholderText("e.g. IdeaPad 3")
        self._serial = QLineEdit()
        self._serial.setAccessibleName("Serial number or IMEI")
        self._os = QLineEdit()
        self._os.setAccessibleName("Operating system")
        self._os.setPlaceholderText("e.g. Windows 11 Home")
        self._condition = QComboBox()
        self._condition.setAccessibleName("Condition")
        for condition in Condition:
            self._condition.addItem(condition.label, condition)
        self._home_venue = QComboBox()
        self._home_venue.setAccessibleName("Home venue")
        self._current_venue = QComboBox()
        self._current_venue.setAccessibleName("Current venue")
        self._home_venue.addItem("Not set", None)
        self._current_venue.addItem("Same as the home venue", None)
        for venue in services.venues.venues():
            if venue.active or (device and venue.id in (device.home_venue_id, device.current_venue_id)):
                name = venue.name if venue.active else f"{venue.name} (closed)"
                self._home_venue.addItem(name, str(venue.id))
                self._current_venue.addItem(name, str(venue.id))
        self._source = QComboBox()
        self._source.setAccessibleName("Where the device came from")
        for source in AcquisitionSource:
            self._source.addItem(source.label, source)
        self._acquired = QDateEdit()
        self._acquired.setAccessibleName("Date acquired")
        self._acquired.setCalendarPopup(True)
        self._acquired.setDisplayFormat("d MMM yyyy")
        self._acquired_unknown = QCheckBox("Date &not known")
        self._acquired_unknown.setAccessibleName("Date acquired is not known")
        self._notes = QPlainTextEdit()
        self._notes.setAccessibleName("Notes")
        self._notes.setTabChangesFocus(True)
        self._notes.setMaximumHeight(self.fontMetrics().lineSpacing() * 5)
        self._kit = QListWidget()
        self._kit.setAccessibleName("Kit that goes out with the device (tick each item)")
        self._kit.setMaximumHeight(self.fontMetrics().lineSpacing() * 6)
        self._kit_new = QLineEdit()
        self._kit_new.setAccessibleName("New kit item")
        self._kit_new.setPlaceholderText("Another item, e.g. Stylus")
        self._kit_new.installEventFilter(self)
        self._kit_add = QPushButton("A&dd item")
        self._kit_add.setAccessibleName("Add kit item")
        self._kit_add.setAutoDefault(False)
        self._kit_add.clicked.connect(self._add_kit_item)

        self._problem_labels: dict[str, QLabel] = {}
        self._fields: dict[str, QWidget] = {
            "tag": self._tag,
            "device_type": self._type,
            "make": self._make,
            "model": self._model,
            "serial": self._serial,
            "os": self._os,
            "condition": self._condition,
            "home_venue_id": self._home_venue,
            "current_venue_id": self._current_venue,
            "source": self._source,
            "acquired_on": self._acquired,
            "notes": self._notes,
            "kit": self._kit,
        }
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        date_row = QHBoxLayout()
        date_row.addWidget(self._acquired)
        date_row.addWidget(self._acquired_unknown)
        date_row.addStretch()
        kit_add_row = QHBoxLayout()
        kit_add_row.addWidget(self._kit_new)
        kit_add_row.addWidget(self._kit_add)
        rows: list[tuple[str, str, QWidget, QHBoxLayout | None]] = [
            ("Ty&pe:", "device_type", self._type, None),
            ("Asset &tag:", "tag", self._tag, None),
            ("&Make:", "make", self._make, None),
            ("M&odel:", "model", self._model, None),
            ("&Serial / IMEI:", "serial", self._serial, None),
            ("Operating s&ystem:", "os", self._os, None),
            ("&Condition:", "condition", self._condition, None),
            ("&Home venue:", "home_venue_id", self._home_venue, None),
            ("C&urrent venue:", "current_venue_id", self._current_venue, None),
            ("Sou&rce:", "source", self._source, None),
            ("&Acquired on:", "acquired_on", self._acquired, date_row),
            ("&Kit:", "kit", self._kit, None),
            ("", "", self._kit_new, kit_add_row),
            ("Not&es:", "notes", self._notes, None),
        ]
        for caption, name, field, row_layout in rows:
            cell = QVBoxLayout()
            cell.setSpacing(2)
            if row_layout is not None:
                cell.addLayout(row_layout)
            else:
                cell.addWidget(field)
            if name:
                label = problem_label()
                self._problem_labels[name] = label
                cell.addWidget(label)
            if caption:
                buddy = QLabel(caption)
                buddy.setBuddy(field)
                form.addRow(buddy, cell)
            else:
                form.addRow("", cell)
        self._general_problem = problem_label()
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self._save = self._buttons.button(QDialogButtonBox.StandardButton.Save)
        self._save.setAccessibleName("Save device")
        self._save.setDefault(True)
        self._buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self._buttons.accepted.connect(self.save)
        self._buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._general_problem)
        layout.addWidget(self._buttons)

        self._fill(device, tag)

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check_now)
        for line in (self._tag, self._make, self._model, self._serial, self._os):
            line.textEdited.connect(self._changed)
        self._notes.textChanged.connect(self._changed)
        for combo in (self._condition, self._home_venue, self._current_venue, self._source):
            combo.currentIndexChanged.connect(self._changed)
        self._type.currentIndexChanged.connect(self._type_changed)
        self._acquired.dateChanged.connect(self._changed)
        self._acquired_unknown.toggled.connect(self._acquired_unknown_toggled)
        self._kit.itemChanged.connect(self._changed)
        self.check_now()
        self.resize(
            self.sizeHint().width() + self.fontMetrics().averageCharWidth() * 20, self.sizeHint().height()
        )

    # What callers and tests use

    @classmethod
    def ask(
        cls,
        services: Services,
        parent: QWidget | None = None,
        device: Device | None = None,
        tag: str | None = None,
    ) -> Device | None:
        """Run the form; the saved device, or None when staff cancel."""
        dialog = cls(services, device, tag, parent)
        dialog.exec()
        return dialog.saved

    @property
    def problems(self) -> dict[str, str]:
        """The problems shown at the last check, field -> message."""
        return dict(self._problems)

    def problem_text(self, field_name: str) -> str:
        """The message shown under a field ('' when there is none)."""
        label = self._problem_labels.get(field_name, self._general_problem)
        return label.text().removeprefix(PROBLEM_PREFIX)

    def field(self, name: str) -> QWidget:
        """The widget for a draft field (tests drive the form through these)."""
        return self._fields[name]

    @property
    def save_button(self) -> QPushButton:
        return self._save

    def kit_items(self) -> tuple[str, ...]:
        """The kit items ticked, in list order."""
        items = (self._kit.item(row) for row in range(self._kit.count()))
        return tuple(item.text() for item in items if item.checkState() == Qt.CheckState.Checked)

    def add_kit_item(self, name: str) -> None:
        name = name.strip()
        if not name:
            return
        for row in range(self._kit.count()):
            item = self._kit.item(row)
            if item.text().casefold() == name.casefold():
                item.setCheckState(Qt.CheckState.Checked)
                return
        self._add_kit_row(name, checked=True)

    def draft(self) -> DeviceDraft:
        """What the form says now, as a draft for the inventory service."""
        acquired: date | None = None
        if not self._acquired_unknown.isChecked():
            picked = self._acquired.date().toPython()
            acquired = picked if isinstance(picked, date) else None
        return DeviceDraft(
            tag=self._tag.text(),
            device_type=chosen(self._type, DeviceType),
            make=self._make.text(),
            model=self._model.text(),
            serial=self._serial.text(),
            os=self._os.text(),
            condition=chosen(self._condition, Condition),
            home_venue_id=venue_choice(self._home_venue),
            current_venue_id=venue_choice(self._current_venue),
            source=chosen(self._source, AcquisitionSource),
            acquired_on=acquired,
            notes=self._notes.toPlainText(),
            kit=self.kit_items(),
        )

    def check_now(self) -> dict[str, str]:
        """Ask the inventory what is wrong with the form, show it under the fields, and enable Save."""
        self._check_timer.stop()
        device_id: uuid.UUID | None = self._device.id if self._device else None
        self._show_problems(self._services.inventory.problems(self.draft(), device_id))
        return self.problems

    def save(self) -> None:
        """Save the device (refused, with the problems shown, when the form is not right)."""
        if self.check_now():
            self._focus_first_problem()
            return
        try:
            if self._device is None:
                self.saved = self._services.inventory.add(self.draft())
            else:
                self.saved = self._services.inventory.update(self._device.id, self.draft())
        except ValidationError as error:
            self._show_problems(error.problems)
            self._focus_first_problem()
            return
        except DomainError as error:
            self._show_problems({"": str(error)})
            return
        self.accept()

    # Qt overrides

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Enter in "new kit item" adds the item instead of saving the whole form.
        if (
            watched is self._kit_new
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self._kit_new.text().strip()
        ):
            self._add_kit_item()
            return True
        return super().eventFilter(watched, event)

    # Helpers

    def _fill(self, device: Device | None, tag: str | None) -> None:
        draft = device.as_draft() if device else None
        device_type = draft.device_type if draft else DeviceType.TABLET
        self._type.setCurrentIndex(self._type.findData(device_type))
        if draft is not None:
            self._tag.setText(draft.tag)
            self._make.setText(draft.make)
            self._model.setText(draft.model)
            self._serial.setText(draft.serial)
            self._os.setText(draft.os)
            self._condition.setCurrentIndex(self._condition.findData(draft.condition))
            self._home_venue.setCurrentIndex(find_venue(self._home_venue, draft.home_venue_id))
            if draft.current_venue_id != draft.home_venue_id:
                self._current_venue.setCurrentIndex(find_venue(self._current_venue, draft.current_venue_id))
            self._source.setCurrentIndex(self._source.findData(draft.source))
            self._notes.setPlainText(draft.notes)
        elif tag:
            self._tag.setText(tag.strip().upper())
        else:
            self._auto_tag = self._services.inventory.next_tag(device_type)
            self._tag.setText(self._auto_tag)
        if draft is None:
            self._condition.setCurrentIndex(self._condition.findData(Condition.GOOD))
        acquired = draft.acquired_on if draft else None
        # A new device starts with the date "not known" rather than a guess; unticking offers today.
        self._acquired_unknown.setChecked(acquired is None)
        self._acquired.setDate(
            QDate(acquired.year, acquired.month, acquired.day) if acquired else QDate.currentDate()
        )
        self._acquired.setEnabled(not self._acquired_unknown.isChecked())
        self._seed_kit(device_type, draft.kit if draft else KIT_SUGGESTIONS[device_type])

    def _seed_kit(self, device_type: DeviceType, ticked: tuple[str, ...]) -> None:
        """Fill the kit list: the ticked items, then this type's suggestions not yet there, unticked."""
        self._kit.blockSignals(True)
        self._kit.clear()
        for name in ticked:
            self._add_kit_row(name, checked=True)
        known = {name.casefold() for name in ticked}
        for name in KIT_SUGGESTIONS[device_type]:
            if name.casefold() not in known:
                self._add_kit_row(name, checked=False)
        self._kit.blockSignals(False)

    def _add_kit_row(self, name: str, *, checked: bool) -> None:
        item = QListWidgetItem(name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self._kit.addItem(item)

    def _add_kit_item(self) -> None:
        self.add_kit_item(self._kit_new.text())
        self._kit_new.clear()
        self._changed()

    def _type_changed(self) -> None:
        device_type = chosen(self._type, DeviceType)
        if self._auto_tag is not None and self._tag.text() == self._auto_tag:
            self._auto_tag = self._services.inventory.next_tag(device_type)
            self._tag.setText(self._auto_tag)
        if self._device is None:
            # A new device's kit follows its type; items typed by hand stay ticked.
            suggested = {name.casefold() for kit in KIT_SUGGESTIONS.values() for name in kit}
            own = tuple(name for name in self.kit_items() if name.casefold() not in suggested)
            self._seed_kit(device_type, KIT_SUGGESTIONS[device_type] + own)
        self._changed()

    def _acquired_unknown_toggled(self, unknown: bool) -> None:
        self._acquired.setEnabled(not unknown)
        self._changed()

    def _changed(self) -> None:
        self._save.setEnabled(False)  # until the check confirms the form is right
        self._check_timer.start()

    def _show_problems(self, problems: dict[str, str]) -> None:
        self._problems = dict(problems)
        unplaced: list[str] = []
        for name, message in problems.items():
            if name not in self._problem_labels:
                unplaced.append(message)
        for name, label in self._problem_labels.items():
            show_problem(label, self._fields.get(name), problems.get(name, ""))
        show_problem(self._general_problem, None, " ".join(unplaced))
        self._save.setEnabled(not problems)
        self.problems_checked.emit(dict(problems))

    def _focus_first_problem(self) -> None:
        for name, widget in self._fields.items():
            if name in self._problems:
                widget.setFocus()
                return


class StatusDialog(QDialog):
    """Move a device to another status, with the reason; refusals are shown as the rules word them."""

    def __init__(self, services: Services, device: Device, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._device = device
        self.saved: Device | None = None
        self.setWindowTitle(f"Change the status of {device.tag}")
        what = ", ".join(part for part in (device.device_type.label, device.description) if part)
        summary = QLabel(f"{device.tag}: {what}\nIts status now: {device.status.label}")
        summary.setTextFormat(Qt.TextFormat.PlainText)
        summary.setWordWrap(True)
        self._status = QComboBox()
        self._status.setAccessibleName("New status")
        # Loans are made at the lending desk, never typed in here.
        for status in DeviceStatus:
            if status in manual_moves(device.status):
                self._status.addItem(status.label, status)
        self._reason = QLineEdit()
        self._reason.setAccessibleName("Reason for the change")
        self._reason.setPlaceholderText("e.g. Screen cracked, sent for repair")
        self._reason.setMaxLength(500)
        self._reason_problem = problem_label()
        self._problem = problem_label()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        status_label = QLabel("&New status:")
        status_label.setBuddy(self._status)
        reason_label = QLabel("&Why:")
        reason_label.setBuddy(self._reason)
        form.addRow(status_label, self._status)
        reason_cell = QVBoxLayout()
        reason_cell.setSpacing(2)
        reason_cell.addWidget(self._reason)
        reason_cell.addWidget(self._reason_problem)
        form.addRow(reason_label, reason_cell)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self._save = buttons.addButton("&Change status", QDialogButtonBox.ButtonRole.AcceptRole)
        self._save.setAccessibleName("Change status")
        self._save.setDefault(True)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addWidget(self._problem)
        layout.addWidget(buttons)
        if self._status.count() == 0:
            show_problem(
                self._problem,
                None,
                f"A device that is {device.status.label.lower()} cannot change status here.",
            )
            for widget in (self._status, self._reason, self._save):
                widget.setEnabled(False)
        self._reason.textChanged.connect(self._update_save)
        self._update_save()
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)

    @classmethod
    def ask(cls, services: Services, device: Device, parent: QWidget | None = None) -> Device | None:
        """Run the dialog; the device with its new status, or None when staff cancel."""
        dialog = cls(services, device, parent)
        dialog.exec()
        return dialog.saved

    @property
    def save_button(self) -> QPushButton:
        return self._save

    @property
    def problem(self) -> str:
        """The refusal shown, if any ('' when there is none)."""
        for label in (self._reason_problem, self._problem):
            if label.text():
                return label.text().removeprefix(PROBLEM_PREFIX)
        return ""

    def statuses(self) -> list[DeviceStatus]:
        """The statuses offered, in order."""
        return [DeviceStatus(self._status.itemData(row)) for row in range(self._status.count())]

    def set_values(self, status: DeviceStatus, reason: str) -> None:
        self._status.setCurrentIndex(self._status.findData(status))
        self._reason.setText(reason)

    def save(self) -> None:
        show_problem(self._reason_problem, self._reason, "")
        show_problem(self._problem, None, "")
        status = combo_choice(self._status, DeviceStatus)
        if status is None:
            return
        try:
            self.saved = self._services.inventory.change_status(self._device.tag, status, self._reason.text())
        except ValidationError as error:
            show_problem(self._reason_problem, self._reason, error.problems.get("reason", ""))
            others = [message for name, message in error.problems.items() if name != "reason"]
            show_problem(self._problem, None, " ".join(others))
            return
        except DomainError as error:
            show_problem(self._problem, None, str(error))
            return
        self.accept()

    def _update_save(self) -> None:
        self._save.setEnabled(self._status.count() > 0 and bool(self._reason.text().strip()))
