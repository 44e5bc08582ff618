"""The waiting list screen: residents waiting for each device type in priority order, the offers they
hold, and the coordinator's reordering and withdrawals, each with its reason."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import DeviceType
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.loans import WaitEntry, WaitStatus
from digiknow_desk.domain.staff import Permission
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.loan_table_model import day_text
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.residents_page import not_for_role
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

_Index = QModelIndex | QPersistentModelIndex

# The device types residents wait for (accessories go out with a device, never on their own).
WAITING_TYPES = tuple(kind for kind in DeviceType if kind is not DeviceType.ACCESSORY)
MOVE_EXAMPLE = "Care leaver: priority group"


def who(entry: WaitEntry) -> str:
    return f"{entry.resident_reference} {entry.resident_name}"


def list_name(device_type: DeviceType) -> str:
    """'the tablet waiting list'."""
    return f"the {device_type.label.lower()} waiting list"


def offer_expired(entry: WaitEntry, today: date) -> bool:
    return (
        entry.status == WaitStatus.OFFERED
        and entry.offer_expires_on is not None
        and entry.offer_expires_on < today
    )


def status_words(entry: WaitEntry, today: date) -> str:
    """The entry's state in words, e.g. 'Offered TAB-0003 until 17 Mar 2026'."""
    if entry.status != WaitStatus.OFFERED:
        return entry.status.label
    until = day_text(entry.offer_expires_on) if entry.offer_expires_on else "further notice"
    if offer_expired(entry, today):
        return f"Offer of {entry.offered_tag} ran out {until}: pass it on"
    return f"Offered {entry.offered_tag} until {until}"


class WaitingListModel(QAbstractTableModel):
    """Everyone waiting or holding an offer, in priority order within each device type. A waiting list
    is short (people, not stock), so it is read whole each time it changes."""

    TYPE, PLACE, REFERENCE, NAME, CONTACT, JOINED, STATUS = range(7)
    HEADERS = ("Type", "Place", "Resident", "Name", "Contact", "Joined", "Status")
    RECORD_ROLE = RECORD_ROLE

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[WaitEntry] = []
        self._places: dict[uuid.UUID, int] = {}
        self._today = date.min

    def set_entries(self, entries: list[WaitEntry], today: date) -> None:
        """Show `entries` (in the service's order); places count the residents still waiting, per type."""
        places: dict[uuid.UUID, int] = {}
        counts: dict[DeviceType, int] = {}
        for entry in entries:
            if entry.status == WaitStatus.WAITING:
                counts[entry.device_type] = counts.get(entry.device_type, 0) + 1
                places[entry.id] = counts[entry.device_type]
        self.beginResetModel()
        self._entries, self._places, self._today = list(entries), places, today
        self.endResetModel()

    def entry(self, row: int) -> WaitEntry:
        return self._entries[row]

    def place(self, entry: WaitEntry) -> int | None:
        """The entry's place among those waiting for its type (1 = next); None while it holds an offer."""
        return self._places.get(entry.id)

    def waiting_count(self, device_type: DeviceType) -> int:
        return sum(
            1 for e in self._entries if e.device_type == device_type and e.status == WaitStatus.WAITING
        )

    def row_of(self, entry_id: uuid.UUID) -> int | None:
        for row, entry in enumerate(self._entries):
            if entry.id == entry_id:
                return row
        return None

    # Qt's model interface

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == RECORD_ROLE:
            return entry
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(entry, index.column())
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if index.column() == self.PLACE:
                place = self.place(entry)
                return f"Place {place}" if place is not None else "Holding an offer"
            if index.column() == self.REFERENCE:
                return f"Resident {entry.resident_reference}"
            return self._text(entry, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == self.STATUS:
            return status_words(entry, self._today)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None

    def _text(self, entry: WaitEntry, column: int) -> str:
        if column == self.PLACE:
            place = self.place(entry)
            return str(place) if place is not None else "Offer held"
        if column == self.REFERENCE:
            return entry.resident_reference
        if column == self.NAME:
            return entry.resident_name
        if column == self.CONTACT:
            return entry.resident_contact or "No contact recorded"
        if column == self.TYPE:
            return entry.device_type.label
        if column == self.JOINED:
            return day_text(entry.joined_at.astimezone().date())
        if column == self.STATUS:
            return status_words(entry, self._today)
        return ""


class ReasonDialog(QDialog):
    """Asks why: the reason is required, so OK stays disabled until something is typed."""

    def __init__(
        self,
        title: str,
        question: str,
        ok_text: str,
        parent: QWidget | None = None,
        *,
        example: str = MOVE_EXAMPLE,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._question = QLabel(question)
        self._question.setWordWrap(True)
        self._question.setTextFormat(Qt.TextFormat.PlainText)
        self._reason = QLineEdit()
        self._reason.setAccessibleName("Reason")
        self._reason.setPlaceholderText(f"e.g. {example}")
        self._reason.setMaxLength(300)
        self._form = QFormLayout()
        reason_label = QLabel("&Reason:")
        reason_label.setBuddy(self._reason)
        self._form.addRow(reason_label, self._reason)
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self._ok = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._ok.setText(ok_text)
        self._ok.setAccessibleName(ok_text)
        self._buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        self._reason.textChanged.connect(lambda _text: self._ok.setEnabled(bool(self.reason)))
        self._ok.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self._question)
        layout.addLayout(self._form)
        layout.addWidget(self._buttons)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 60)

    @property
    def reason(self) -> str:
        return self._reason.text().strip()

    @property
    def can_accept(self) -> bool:
        return self._ok.isEnabled()

    def set_reason(self, reason: str) -> None:
        self._reason.setText(reason)

    def accept(self) -> None:
        if self.reason:  # Enter in the box with nothing typed does nothing
            super().accept()

    @classmethod
    def ask(cls, parent: QWidget | None, title: str, question: str, ok_text: str, example: str) -> str | None:
        """The reason typed, or None when cancelled; `example` shows what kind of reason is meant."""
        dialog = cls(title, question, ok_text, parent, example=example)
        return dialog.reason if dialog.exec() == QDialog.DialogCode.Accepted else None


class MoveDialog(ReasonDialog):
    """Asks for a resident's new place in the queue and why it changes."""

    def __init__(self, entry: WaitEntry, place: int, places: int, parent: QWidget | None = None) -> None:
        super().__init__(
            "Move on the waiting list",
            f"{who(entry)} is number {place} of {places} on {list_name(entry.device_type)}. "
            "Where should they be, and why?",
            "Move",
            parent,
        )
        self._place = QSpinBox()
        self._place.setAccessibleName("New place")
        self._place.setRange(1, max(1, places))
        self._place.setValue(place)
        place_label = QLabel("New &place:")
        place_label.setBuddy(self._place)
        self._form.insertRow(0, place_label, self._place)
        self.setTabOrder(self._place, self._reason)

    @property
    def place(self) -> int:
        return self._place.value()

    def set_values(self, place: int, reason: str) -> None:
        self._place.setValue(place)
        self.set_reason(reason)

    @classmethod
    def ask_move(
        cls, parent: QWidget | None, entry: WaitEntry, place: int, places: int
    ) -> tuple[int, str] | None:
        """The new place and the reason, or None when cancelled."""
        dialog = cls(entry, place, places, parent)
        return (dialog.place, dialog.reason) if dialog.exec() == QDialog.DialogCode.Accepted else None


@dataclass(frozen=True)
class WaitingListDialogs:
    """The dialogs the page opens; tests pass stand-ins so nothing blocks on a modal dialog."""

    reason: Callable[[QWidget, str, str, str, str], str | None] = ReasonDialog.ask
    move_to: Callable[[QWidget, WaitEntry, int, int], tuple[int, str] | None] = MoveDialog.ask_move


class WaitingListPage(QWidget):
    """The waiting list by device type; move a resident up or down or to a place, withdraw them, and pass
    on offers that were not collected in time."""

    notice = Signal(str)  # a short note of what was just done, for the status bar
    changed = Signal()  # after any change to the waiting list

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        dialogs: WaitingListDialogs | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks  # for slow work on this page (none yet: each change is one quick transaction)
        self._dialogs = dialogs or WaitingListDialogs()
        # Read once: the main window builds the pages again for anyone signing in with another role.
        self._staff = services.accounts.signed_in()

        self._type = QComboBox()
        self._type.setAccessibleName("Show the waiting list for device type")
        self._type.addItem("Every type", None)
        for device_type in WAITING_TYPES:
            self._type.addItem(device_type.label, device_type)
        self._type.currentIndexChanged.connect(lambda _row: self.refresh())
        self._count = QLabel()
        self._count.setAccessibleName("Residents on the list")
        self._count.setTextFormat(Qt.TextFormat.PlainText)

        self._model = WaitingListModel(self)
        self._table = QTableView()
        self._table.setObjectName("waiting-list-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Waiting list")
        self._table.setAccessibleDescription(
            "Residents waiting for a device, next first within each type, and the offers they hold."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        self._size_columns()
        selection = self._table.selectionModel()
        selection.currentRowChanged.connect(lambda *_: self._update_actions())
        selection.selectionChanged.connect(lambda *_: self._update_actions())
        table_label = QLabel("&Waiting list:")
        table_label.setBuddy(self._table)

        self._up_action = page_action(self, "Move up", "Ctrl+Up", self.move_up)
        self._down_action = page_action(self, "Move down", "Ctrl+Down", self.move_down)
        self._move_action = page_action(self, "Move to a place", None, self.move_to)
        self._withdraw_action = page_action(self, "Withdraw from the waiting list", None, self.withdraw)
        self._expire_action = page_action(self, "Pass on expired offers", None, self.pass_on_expired_offers)
        self._refresh_action = page_action(
            self, "Refresh the waiting list", QKeySequence.StandardKey.Refresh, self.refresh
        )
        self._up_button = action_button("Move &up", self._up_action)
        self._down_button = action_button("Move dow&n", self._down_action)
        self._move_button = action_button("M&ove to…", self._move_action)
        self._withdraw_button = action_button("W&ithdraw…", self._withdraw_action)
        self._expire_button = action_button("&Pass on expired offers", self._expire_action)
        self._refresh_button = action_button("&Refresh", self._refresh_action)
        if not self._may_prioritise():
            why = not_for_role(self._staff, Permission.PRIORITISE)
            for action, button in self._move_controls():
                action.setEnabled(False)
                button.setEnabled(False)
                button.setToolTip(why)
                button.setAccessibleDescription(why)
        self._notice = QLabel()
        self._notice.setWordWrap(True)
        self._notice.setTextFormat(Qt.TextFormat.PlainText)
        self._notice.setAccessibleName("Last action")

        type_label = QLabel("Device &type:")
        type_label.setBuddy(self._type)
        top = QHBoxLayout()
        top.addWidget(type_label)
        top.addWidget(self._type)
        top.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        top.addWidget(self._count, 1)
        top.addWidget(self._expire_button)
        top.addWidget(self._refresh_button)
        buttons = QHBoxLayout()
        for button in (self._up_button, self._down_button, self._move_button, self._withdraw_button):
            buttons.addWidget(button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(table_label)
        layout.addWidget(self._table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self._notice)
        order = (
            self._type,
            self._expire_button,
            self._refresh_button,
            self._table,
            self._up_button,
            self._down_button,
            self._move_button,
            self._withdraw_button,
        )
        for first, second in zip(order, order[1:], strict=False):
            self.setTabOrder(first, second)

        self.refresh()

    # Read by the main window and the tests

    @property
    def model(self) -> WaitingListModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def type_filter(self) -> QComboBox:
        return self._type

    @property
    def count_text(self) -> str:
        return self._count.text()

    @property
    def notice_text(self) -> str:
        return self._notice.text()

    def device_type(self) -> DeviceType | None:
        kind: DeviceType | None = self._type.currentData()
        return kind

    def current_entry(self) -> WaitEntry | None:
        index = self._table.currentIndex()
        if not index.isValid() or not self._table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        return self._model.entry(index.row())

    def select_entry(self, entry_id: uuid.UUID) -> bool:
        """Select the entry with `entry_id` if it is listed."""
        row = self._model.row_of(entry_id)
        if row is None:
            return False
        index = self._model.index(row, WaitingListModel.PLACE)
        self._table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._table.scrollTo(index)
        return True

    # Public actions

    def refresh(self) -> None:
        """Read the waiting list again, keeping the selected resident selected."""
        keep = self.current_entry()
        lending = self._services.lending
        entries = lending.waiting_list(self.device_type())
        self._model.set_entries(entries, lending.today())
        waiting = sum(1 for e in entries if e.status == WaitStatus.WAITING)
        offered = len(entries) - waiting
        self._count.setText(
            "Nobody is waiting" if not entries else f"{waiting:,} waiting, {offered:,} holding an offer"
        )
        if keep is not None:
            self.select_entry(keep.id)
        self._update_actions()

    def move_up(self) -> None:
        if not self._may_move():
            return
        entry, place = self._waiting_entry()
        if entry is not None and place is not None and place > 1:
            self._move(entry, place - 1, f"Move {who(entry)} up to place {place - 1}")

    def move_down(self) -> None:
        if not self._may_move():
            return
        entry, place = self._waiting_entry()
        if entry is not None and place is not None and place < self._model.waiting_count(entry.device_type):
            self._move(entry, place + 1, f"Move {who(entry)} down to place {place + 1}")

    def move_to(self) -> None:
        if not self._may_move():
            return
        entry, place = self._waiting_entry()
        if entry is None or place is None:
            return
        answer = self._dialogs.move_to(self, entry, place, self._model.waiting_count(entry.device_type))
        if answer is not None:
            self._save_move(entry, *answer)

    def withdraw(self) -> None:
        entry = self.current_entry()
        if entry is None:
            return
        offer = (
            f" The {entry.offered_tag} held for them goes to the next in line." if entry.offered_tag else ""
        )
        reason = self._dialogs.reason(
            self,
            "Withdraw from the waiting list",
            f"Why is {who(entry)} leaving {list_name(entry.device_type)}?{offer}",
            "Withdraw",
            "Got a laptop from their school",
        )
        if reason is None:
            return
        try:
            self._services.lending.withdraw_from_waiting_list(entry.id, reason)
        except DomainError as error:
            self._refused(error)
            return
        message = f"Withdrew {who(entry)} from {list_name(entry.device_type)}."
        self.refresh()
        if entry.offered_tag:
            message += " " + self._offer_news(entry.offered_tag)
        self._changed(message)

    def pass_on_expired_offers(self) -> list[WaitEntry]:
        """Offers not collected in time go to the next resident waiting; the notice says who."""
        lending = self._services.lending
        today = lending.today()
        expired = [entry for entry in lending.waiting_list() if offer_expired(entry, today)]
        try:
            new_offers = lending.expire_offers()
        except DomainError as error:
            self._refused(error)
            return []
        self.refresh()
        if not expired:
            self._set_notice("No offers had run out.")
            return new_offers
        count = len(expired)
        message = (
            "1 offer had run out; that resident goes to the end of the list."
            if count == 1
            else f"{count} offers had run out; those residents go to the end of the list."
        )
        for tag in (entry.offered_tag for entry in expired):
            message += " " + self._offer_news(tag, new_offers)
        self._changed(message)
        return new_offers

    # Helpers

    def _waiting_entry(self) -> tuple[WaitEntry | None, int | None]:
        entry = self.current_entry()
        return (entry, self._model.place(entry)) if entry is not None else (None, None)

    def _move(self, entry: WaitEntry, new_place: int, title: str) -> None:
        reason = self._dialogs.reason(
            self, title, f"Why does {who(entry)} move to place {new_place}?", "Move", MOVE_EXAMPLE
        )
        if reason is not None:
            self._save_move(entry, new_place, reason)

    def _save_move(self, entry: WaitEntry, new_place: int, reason: str) -> None:
        try:
            self._services.lending.move_in_waiting_list(entry.id, new_place, reason)
        except DomainError as error:
            self._refused(error)
            return
        self.refresh()
        place = self._model.place(entry)
        self._changed(
            f"Moved {who(entry)} to place {place if place is not None else new_place} on "
            f"{list_name(entry.device_type)} ({reason.strip()})."
        )

    def _offer_news(self, tag: str, offers: list[WaitEntry] | None = None) -> str:
        """Who holds the offer of `tag` now, in words."""
        holders = offers if offers is not None else self._services.lending.waiting_list()
        for entry in holders:
            if entry.status == WaitStatus.OFFERED and entry.offered_tag == tag:
                until = f" until {day_text(entry.offer_expires_on)}" if entry.offer_expires_on else ""
                return f"{tag} is now offered to {who(entry)}{until}."
        return f"Nobody else is waiting for {tag}: it stays available."

    def _refused(self, error: Exception) -> None:
        message = problem_words(error)
        self.refresh()
        self._set_notice(message)
        box = QMessageBox(
            QMessageBox.Icon.Warning, "DigiKnow Desk", message, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the page carries on, and tests are never blocked

    def _changed(self, message: str) -> None:
        self._set_notice(message)
        self.changed.emit()

    def _set_notice(self, message: str) -> None:
        self._notice.setText(message)
        self.notice.emit(message)

    def _update_actions(self) -> None:
        entry, place = self._waiting_entry()
        waiting = self._model.waiting_count(entry.device_type) if entry is not None else 0
        states = {
            (self._up_action, self._up_button): place is not None and place > 1,
            (self._down_action, self._down_button): place is not None and place < waiting,
            (self._move_action, self._move_button): place is not None and waiting > 1,
            (self._withdraw_action, self._withdraw_button): entry is not None,
        }
        may_move = self._may_prioritise()
        for (action, button), enabled in states.items():
            # A role that may not prioritise keeps the moves disabled whatever is selected.
            enabled = enabled and (may_move or (action, button) not in self._move_controls())
            action.setEnabled(enabled)
            button.setEnabled(enabled)

    def _move_controls(self) -> list[tuple[QAction, QPushButton]]:
        return [
            (self._up_action, self._up_button),
            (self._down_action, self._down_button),
            (self._move_action, self._move_button),
        ]

    def _may_prioritise(self) -> bool:
        return self._staff is not None and self._staff.may(Permission.PRIORITISE)

    def _may_move(self) -> bool:
        """Whether this role may move residents in the list; if not, says so in the notice."""
        if self._may_prioritise():
            return True
        self._set_notice(not_for_role(self._staff, Permission.PRIORITISE))
        return False

    def _size_columns(self) -> None:
        samples = {
            WaitingListModel.PLACE: "Offer held",
            WaitingListModel.REFERENCE: "R000000",
            WaitingListModel.NAME: "Firstname Lastname-Long",
            WaitingListModel.CONTACT: "07700 900000 or name@example.org",
            WaitingListModel.TYPE: "MiFi / dongle",
            WaitingListModel.JOINED: "30 Sep 2026",
        }
        size_columns(self._table, samples, WaitingListModel.STATUS)
