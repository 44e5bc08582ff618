"""Table models for the inventory: devices paged from the database, and one device's status history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from digiknow_desk.domain.devices import Device, DeviceFilter, StatusChange
from digiknow_desk.services.inventory import PAGE_SIZE, InventoryService
from digiknow_desk.ui.paged_model import RECORD_ROLE, PagedTableModel

_Index = QModelIndex | QPersistentModelIndex


def when_text(moment: datetime) -> str:
    """A history time as staff read it, in the desk's local time: '14 Mar 2026 10:30'."""
    local = moment.astimezone() if moment.tzinfo is not None else moment
    return local.strftime("%d %b %Y %H:%M").lstrip("0")


def change_words(change: StatusChange) -> str:
    """A status change in words, e.g. 'from Available to In repair' (what a screen reader says)."""
    if change.from_status is None:
        return f"added as {change.to_status.label}"
    return f"from {change.from_status.label} to {change.to_status.label}"


class DeviceTableModel(PagedTableModel[Device, DeviceFilter]):
    """The devices matching a filter, in tag order, fetched from the database a page at a time."""

    TAG, TYPE, STATUS, DESCRIPTION, SERIAL, VENUE, CONDITION = range(7)
    HEADERS = ("Tag", "Type", "Status", "Make and model", "Serial / IMEI", "Venue (current)", "Condition")

    def __init__(
        self, inventory: InventoryService, page_size: int = PAGE_SIZE, parent: QObject | None = None
    ) -> None:
        super().__init__(DeviceFilter(), page_size, parent)
        self._inventory = inventory

    @property
    def device_filter(self) -> DeviceFilter:
        return self._query

    def set_filter(self, device_filter: DeviceFilter) -> None:
        """Show the devices matching `device_filter`, loading only the first page."""
        self._load(device_filter, self._page_size)

    def device(self, row: int) -> Device:
        return self.record(row)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        in_range = index.isValid() and 0 <= index.row() < self.rowCount()
        if role == Qt.ItemDataRole.ToolTipRole and in_range and index.column() == self.DESCRIPTION:
            device = self.record(index.row())
            return f"{device.description} ({device.os})" if device.os else None
        return super().data(index, role)

    def _search(self, query: DeviceFilter, limit: int, offset: int) -> list[Device]:
        return self._inventory.search(query, limit=limit, offset=offset)

    def _count(self, query: DeviceFilter, at_most: int | None) -> int:
        return self._inventory.count(query)

    def _key(self, record: Device) -> str:
        return record.tag

    def _cell(self, device: Device, column: int) -> str:
        if column == self.TAG:
            return device.tag
        if column == self.TYPE:
            return device.device_type.label
        if column == self.STATUS:
            return device.status.label
        if column == self.DESCRIPTION:
            return device.description
        if column == self.SERIAL:
            return device.serial
        if column == self.VENUE:
            return device.current_venue_name
        if column == self.CONDITION:
            return device.condition.label
        return ""


class HistoryTableModel(QAbstractTableModel):
    """One device's status changes, newest first: when, who, from and to, and why."""

    WHEN, BY, CHANGE, REASON = range(4)
    HEADERS = ("When", "By", "Change", "Why")
    RECORD_ROLE = RECORD_ROLE

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._changes: list[StatusChange] = []

    def set_history(self, changes: list[StatusChange]) -> None:
        self.beginResetModel()
        self._changes = list(reversed(changes))
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._changes)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._changes):
            return None
        change = self._changes[index.row()]
        if role == RECORD_ROLE:
            return change
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(change, index.column())
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if index.column() == self.CHANGE:
                return change_words(change)
            return self._text(change, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() in (self.CHANGE, self.REASON):
            return change_words(change) if index.column() == self.CHANGE else change.reason
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

    def _text(self, change: StatusChange, column: int) -> str:
        if column == self.WHEN:
            return when_text(change.at)
        if column == self.BY:
            return change.by
        if column == self.CHANGE:
            if change.from_status is None:
                return f"Added: {change.to_status.label}"
            return f"{change.from_status.label} → {change.to_status.label}"
        if column == self.REASON:
            return change.reason
        return ""
