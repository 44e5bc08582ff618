"""The inventory page: find devices as you type, see one device's details and history, and change them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.devices import Device, DeviceFilter, DeviceStatus, DeviceType
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.ui.device_dialog import DeviceDialog, StatusDialog, combo_choice, find_venue, venue_choice
from digiknow_desk.ui.device_table_model import DeviceTableModel, HistoryTableModel
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.import_dialog import ImportDialog
from digiknow_desk.ui.labels_dialog import LabelsDialog, ask_save_path
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

# A search takes a few milliseconds, so the table follows every keystroke; the zero-delay timer only
# merges keystrokes that are already queued (a scanner types a whole tag at once).
SEARCH_DELAY_MS = 0


def _ask_device(services: Services, parent: QWidget, device: Device | None, tag: str | None) -> Device | None:
    return DeviceDialog.ask(services, parent, device=device, tag=tag)


def _ask_status(services: Services, parent: QWidget, device: Device) -> Device | None:
    return StatusDialog.ask(services, device, parent)


def _ask_labels(
    services: Services, tasks: TaskRunner, parent: QWidget, tags: list[str], stock_name: str | None
) -> None:
    LabelsDialog.ask(services, tasks, parent, tags, stock_name=stock_name)


def _ask_import(services: Services, tasks: TaskRunner, parent: QWidget) -> int | None:
    return ImportDialog.ask(services, tasks, parent)


@dataclass(frozen=True)
class InventoryDialogs:
    """The dialogs the page opens; tests pass stand-ins so nothing blocks on a modal dialog."""

    edit_device: Callable[[Services, QWidget, Device | None, str | None], Device | None] = _ask_device
    change_status: Callable[[Services, QWidget, Device], Device | None] = _ask_status
    print_labels: Callable[[Services, TaskRunner, QWidget, list[str], str | None], None] = _ask_labels
    import_devices: Callable[[Services, TaskRunner, QWidget], int | None] = _ask_import
    export_path: Callable[[QWidget, str, str, str], str] = ask_save_path


def devices_text(count: int) -> str:
    return "No devices" if count == 0 else f"{count:,} device{'s' if count != 1 else ''}"


class InventoryPage(QWidget):
    """Every device, searchable; the selected device's details and history; add, edit, label, import."""

    devices_changed = Signal()  # after any change to a device
    notice = Signal(str)  # a short note of what was just done, for the status bar

    DETAIL_FIELDS = (
        ("tag", "Tag"),
        ("type", "Type"),
        ("status", "Status"),
        ("description", "Make and model"),
        ("serial", "Serial / IMEI"),
        ("os", "Operating system"),
        ("condition", "Condition"),
        ("home", "Home venue"),
        ("current", "Current venue"),
        ("source", "Source"),
        ("acquired", "Acquired"),
        ("kit", "Kit"),
        ("notes", "Notes"),
    )

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        label_stock: str | None = None,
        dialogs: InventoryDialogs | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._label_stock = label_stock  # the configured default stock; the labels dialog offers all
        self._dialogs = dialogs or InventoryDialogs()
        self._export_task: Task | None = None
        self._shown_tag: str | None = None

        # Finding devices
        self._search = QLineEdit()
        self._search.setObjectName("inventory-search")
        self._search.setAccessibleName("Search devices by tag, serial, make or model")
        self._search.setPlaceholderText("Tag, serial, make or model")
        self._search.setClearButtonEnabled(True)
        self._type = QComboBox()
        self._type.setAccessibleName("Show devices of type")
        self._type.addItem("Any type", None)
        for device_type in DeviceType:
            self._type.addItem(device_type.label, device_type)
        self._status = QComboBox()
        self._status.setAccessibleName("Show devices with status")
        self._status.addItem("Any status", None)
        for status in DeviceStatus:
            self._status.addItem(status.label, status)
        self._venue = QComboBox()
        self._venue.setAccessibleName("Show devices at venue")
        self._venue.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._fill_venues()
        self._count = QLabel()
        self._count.setAccessibleName("Devices found")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filter)
        self._search.textChanged.connect(self._search_timer.start)
        self._search.returnPressed.connect(self._search_entered)
        for combo in (self._type, self._status, self._venue):
            combo.currentIndexChanged.connect(self.apply_filter)

        # The list
        self._model = DeviceTableModel(services.inventory, parent=self)
        self._table = QTableView()
        self._table.setObjectName("inventory-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Devices in the inventory")
        self._table.setAccessibleDescription(
            "One row per device, in tag order. Press Enter to edit the device."
        )
        make_list_table(self._table, QAbstractItemView.SelectionMode.ExtendedSelection)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        self._size_columns()
        self._table.activated.connect(lambda _index: self.edit_device())
        selection = self._table.selectionModel()
        selection.currentRowChanged.connect(self._current_changed)
        selection.selectionChanged.connect(lambda *_: self._update_actions())

        # The selected device
        self._details_box = QGroupBox("Device details")
        self._empty_details = QLabel("Select a device to see its details and history.")
        self._empty_details.setWordWrap(True)
        self._detail_values: dict[str, QLabel] = {}
        forms = (QFormLayout(), QFormLayout())
        for number, (key, caption) in enumerate(self.DETAIL_FIELDS):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self._detail_values[key] = value
            forms[0 if number < 7 else 1].addRow(f"{caption}:", value)
        fields = QWidget()
        fields_layout = QHBoxLayout(fields)
        fields_layout.setContentsMargins(0, 0, 0, 0)
        for form in forms:
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            fields_layout.addLayout(form, 1)
        self._details_fields = QScrollArea()  # long notes scroll rather than squeeze the list
        self._details_fields.setWidget(fields)
        self._details_fields.setWidgetResizable(True)
        self._details_fields.setFrameShape(QFrame.Shape.NoFrame)
        self._details_fields.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._details_fields.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._history_model = HistoryTableModel(self)
        self._history = QTableView()
        self._history.setModel(self._history_model)
        self._history.setAccessibleName("Status history of the selected device")
        self._history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._history.setWordWrap(True)
        self._history.verticalHeader().setVisible(False)
        self._history.setTabKeyNavigation(False)
        history_header = self._history.horizontalHeader()
        history_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        history_header.setSectionResizeMode(HistoryTableModel.REASON, QHeaderView.ResizeMode.Stretch)
        self._history.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._history.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._history.setMinimumHeight(self.fontMetrics().lineSpacing() * 6)
        history_label = QLabel("Histor&y:")
        history_label.setBuddy(self._history)
        history_layout = QVBoxLayout()
        history_layout.addWidget(history_label)
        history_layout.addWidget(self._history, 1)
        details_layout = QHBoxLayout(self._details_box)
        details_layout.addWidget(self._empty_details, 1)
        details_layout.addWidget(self._details_fields, 5)
        details_layout.addLayout(history_layout, 4)

        # Actions: the buttons, plus shortcuts that work anywhere on the page
        self._add_action = page_action(self, "Add device", "Ctrl+N", self.add_device)
        self._edit_action = page_action(self, "Edit device", "Ctrl+E", self.edit_device)
        self._status_action = page_action(self, "Change status", "Ctrl+T", self.change_status)
        # Ctrl+P belongs to the main window's File menu, which calls print_labels(); a second Ctrl+P
        # here would make the shortcut ambiguous, and Qt would then run neither.
        self._labels_action = page_action(self, "Print labels", None, self.print_labels)
        self._import_action = page_action(self, "Import devices from CSV", "Ctrl+I", self.import_devices)
        self._export_action = page_action(self, "Export devices to CSV", "Ctrl+Shift+E", self.export_devices)
        self._find_action = page_action(
            self, "Find devices", QKeySequence.StandardKey.Find, self.focus_search
        )
        self._add_button = action_button("&Add device…", self._add_action)
        self._edit_button = action_button("&Edit…", self._edit_action)
        self._status_button = action_button("C&hange status…", self._status_action)
        self._labels_button = action_button("&Print labels…", self._labels_action)
        self._import_button = action_button("&Import CSV…", self._import_action)
        self._export_button = action_button("E&xport CSV…", self._export_action)
        self._notice = QLabel()
        self._notice.setWordWrap(True)
        self._notice.setTextFormat(Qt.TextFormat.PlainText)
        self._notice.setAccessibleName("Last action")

        # Layout
        buttons = QHBoxLayout()
        for button in (self._add_button, self._edit_button, self._status_button):
            buttons.addWidget(button)
        buttons.addSpacing(self.fontMetrics().averageCharWidth() * 3)
        for button in (self._labels_button, self._import_button, self._export_button):
            buttons.addWidget(button)
        buttons.addStretch()
        filters = QHBoxLayout()
        for caption, widget, stretch in (
            ("&Search:", self._search, 3),
            ("&Type:", self._type, 0),
            ("Stat&us:", self._status, 0),
            ("&Venue:", self._venue, 0),
        ):
            label = QLabel(caption)
            label.setBuddy(widget)
            filters.addWidget(label)
            filters.addWidget(widget, stretch)
        filters.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        filters.addWidget(self._count)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._table)
        splitter.addWidget(self._details_box)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self._notice)
        self.setTabOrder(self._add_button, self._edit_button)
        self.setTabOrder(self._edit_button, self._status_button)
        self.setTabOrder(self._status_button, self._labels_button)
        self.setTabOrder(self._labels_button, self._import_button)
        self.setTabOrder(self._import_button, self._export_button)
        self.setTabOrder(self._export_button, self._search)
        self.setTabOrder(self._search, self._type)
        self.setTabOrder(self._type, self._status)
        self.setTabOrder(self._status, self._venue)
        self.setTabOrder(self._venue, self._table)
        self.setTabOrder(self._table, self._history)

        self.apply_filter()

    # Read by the main window and the tests

    @property
    def model(self) -> DeviceTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def search_box(self) -> QLineEdit:
        return self._search

    @property
    def type_filter(self) -> QComboBox:
        return self._type

    @property
    def status_filter(self) -> QComboBox:
        return self._status

    @property
    def venue_filter(self) -> QComboBox:
        return self._venue

    @property
    def count_text(self) -> str:
        return self._count.text()

    @property
    def notice_text(self) -> str:
        return self._notice.text()

    @property
    def history_model(self) -> HistoryTableModel:
        return self._history_model

    @property
    def shown_tag(self) -> str | None:
        """The tag of the device whose details are shown."""
        return self._shown_tag

    def detail_text(self, key: str) -> str:
        """One value shown in the details panel, e.g. detail_text('status')."""
        return self._detail_values[key].text()

    def current_device(self) -> Device | None:
        index = self._table.currentIndex()
        if not index.isValid() or not self._table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        device: Device = self._model.data(index, RECORD_ROLE)
        return device

    def selected_devices(self) -> list[Device]:
        rows = sorted(index.row() for index in self._table.selectionModel().selectedRows())
        return [self._model.device(row) for row in rows]

    def device_filter(self) -> DeviceFilter:
        """The filter the search box and combos describe now."""
        return DeviceFilter(
            text=self._search.text().strip(),
            device_type=combo_choice(self._type, DeviceType),
            status=combo_choice(self._status, DeviceStatus),
            venue_id=venue_choice(self._venue),
        )

    # Public actions

    def apply_filter(self) -> None:
        """Show the devices matching the search and filters now (typing waits briefly, then calls this)."""
        self._search_timer.stop()
        keep = self._shown_tag
        self._model.set_filter(self.device_filter())
        self._count.setText(devices_text(self._model.total))
        if keep is None or not self._select_tag(keep, fetch=False):
            self._show_details(None)
        self._update_actions()

    def refresh(self) -> None:
        """Read everything again (venues, devices, the shown device), keeping the selection."""
        self._fill_venues()
        keep = self._shown_tag
        self._model.refresh()
        self._count.setText(devices_text(self._model.total))
        if keep is None or not self._select_tag(keep, fetch=False):
            self._show_details(None)
        self._update_actions()

    def show_device(self, tag: str) -> bool:
        """Clear the filters, find the device with `tag`, select it and show its details; False if none."""
        device = self._services.inventory.find(tag)
        if device is None:
            return False
        for combo in (self._type, self._status, self._venue):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self._search.blockSignals(True)
        self._search.setText(device.tag)
        self._search.blockSignals(False)
        self._shown_tag = None
        self.apply_filter()
        if not self._select_tag(device.tag, fetch=True):  # e.g. the tag is inside another's serial
            return False
        self._table.setFocus()
        return True

    def focus_search(self) -> None:
        self._search.setFocus()
        self._search.selectAll()

    def add_device(self, tag: str | None = None) -> Device | None:
        """Open the form for a new device (prefilled with `tag`, e.g. a scanned blank label)."""
        saved = self._dialogs.edit_device(self._services, self, None, tag)
        if saved is not None:
            self._changed(f"Added {saved.tag} to the inventory.", saved.tag)
        return saved

    def edit_device(self) -> Device | None:
        device = self._fresh(self.current_device())
        if device is None:
            return None
        saved = self._dialogs.edit_device(self._services, self, device, None)
        if saved is not None:
            self._changed(f"Saved the changes to {saved.tag}.", saved.tag)
        return saved

    def change_status(self) -> Device | None:
        device = self._fresh(self.current_device())
        if device is None:
            return None
        saved = self._dialogs.change_status(self._services, self, device)
        if saved is not None:
            self._changed(f"{saved.tag} is now {saved.status.label.lower()}.", saved.tag)
        return saved

    def print_labels(self) -> None:
        tags = [device.tag for device in self.selected_devices()]
        self._dialogs.print_labels(self._services, self._tasks, self, tags, self._label_stock)
        self.refresh()  # blank labels reserve tags; nothing else changes

    def import_devices(self) -> int | None:
        imported = self._dialogs.import_devices(self._services, self._tasks, self)
        if imported:
            self._changed(f"Imported {imported:,} device{'s' if imported != 1 else ''}.", None)
        return imported

    def export_devices(self) -> Task | None:
        path = self._dialogs.export_path(
            self, "Export devices to a CSV file", str(Path.home() / "devices.csv"), "CSV files (*.csv)"
        )
        return self.export_to(Path(path)) if path else None

    def export_to(self, out: Path) -> Task | None:
        """Write every device to `out` in the background; the notice says how it went."""
        if self._export_task is not None:
            return None
        csv = self._services.device_csv

        def work(_progress: Progress) -> int:
            count: int = csv.export_devices(out)
            return count

        def succeeded(count: int) -> None:
            self._export_task = None
            self._update_actions()
            self._set_notice(f"Exported {devices_text(count).lower()} to {out}.")

        def failed(error: Exception) -> None:
            self._export_task = None
            self._update_actions()
            self._show_problem(problem_words(error))

        self._export_task = run_with_progress(
            self._tasks, self, "Exporting devices…", work, succeeded, failed, cancellable=False
        )
        self._update_actions()
        return self._export_task

    # Helpers

    def _size_columns(self) -> None:
        samples = {
            DeviceTableModel.TAG: "DK-00000",
            DeviceTableModel.TYPE: "MiFi / dongle",
            DeviceTableModel.STATUS: "Quarantined / lost",
            DeviceTableModel.SERIAL: "000000000000000",
            DeviceTableModel.VENUE: "Stockport Central Library",
            DeviceTableModel.CONDITION: "Condition",
        }
        size_columns(self._table, samples, DeviceTableModel.DESCRIPTION, roomy_rows=False)

    def _fill_venues(self) -> None:
        current = venue_choice(self._venue)
        self._venue.blockSignals(True)
        self._venue.clear()
        self._venue.addItem("Any venue", None)
        for venue in self._services.venues.venues():
            self._venue.addItem(venue.name if venue.active else f"{venue.name} (closed)", str(venue.id))
        self._venue.setCurrentIndex(find_venue(self._venue, current))
        self._venue.blockSignals(False)

    def _search_entered(self) -> None:
        self.apply_filter()
        if self._model.rowCount() and self._table.currentIndex().row() < 0:
            self._select_row(0)
        if self._model.rowCount():
            self._table.setFocus()

    def _select_tag(self, tag: str, *, fetch: bool) -> bool:
        row = self._model.row_of(tag, fetch=fetch)
        if row is None:
            return False
        self._select_row(row)
        return True

    def _select_row(self, row: int) -> None:
        index = self._model.index(row, DeviceTableModel.TAG)
        self._table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._table.scrollTo(index)
        self._show_details(self._model.device(row))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_details(self._model.device(current.row()) if current.isValid() else None)
        self._update_actions()

    def _show_details(self, device: Device | None) -> None:
        self._shown_tag = device.tag if device else None
        self._empty_details.setVisible(device is None)
        self._details_fields.setVisible(device is not None)
        if device is None:
            self._details_box.setTitle("Device details")
            self._history_model.set_history([])
            return
        self._details_box.setTitle(f"Device {device.tag}")
        home = device.home_venue_name or "Not set"
        values = {
            "tag": device.tag,
            "type": device.device_type.label,
            "status": device.status.label,
            "description": device.description or "Not recorded",
            "serial": device.serial or "Not recorded",
            "os": device.os or "Not recorded",
            "condition": device.condition.label,
            "home": home,
            "current": device.current_venue_name or home,
            "source": device.source.label,
            "acquired": device.acquired_on.strftime("%d %b %Y").lstrip("0")
            if device.acquired_on
            else "Not known",
            "kit": ", ".join(device.kit) or "None",
            "notes": device.notes or "None",
        }
        for key, value in values.items():
            self._detail_values[key].setText(value)
        try:
            history = self._services.inventory.history(device.tag)
        except DomainError as error:  # removed since the list was read
            self._show_problem(str(error))
            history = []
        self._history_model.set_history(history)
        self._history.setAccessibleName(f"Status history of {device.tag}")

    def _fresh(self, device: Device | None) -> Device | None:
        """The device as it is in the database now (another desk may have changed it)."""
        if device is None:
            return None
        fresh = self._services.inventory.find(device.tag)
        if fresh is None:
            self._show_problem(f"{device.tag} is no longer in the inventory; the list has been refreshed.")
            self.refresh()
        return fresh

    def _changed(self, message: str, tag: str | None) -> None:
        """After a change: read the list again and keep the changed device in view (in the current
        list when it is loaded there, otherwise by searching for its tag)."""
        self._set_notice(message)
        self.refresh()
        if tag is not None and not self._select_tag(tag, fetch=False):
            self.show_device(tag)
        self.devices_changed.emit()

    def _set_notice(self, message: str) -> None:
        self._notice.setText(message)
        self.notice.emit(message)

    def _show_problem(self, message: str) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning, "DigiKnow Desk", message, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the page carries on, and tests are never blocked

    def _update_actions(self) -> None:
        has_current = self.current_device() is not None
        for action, button in (
            (self._edit_action, self._edit_button),
            (self._status_action, self._status_button),
        ):
            action.setEnabled(has_current)
            button.setEnabled(has_current)
        exporting = self._export_task is not None
        self._export_action.setEnabled(not exporting)
        self._export_button.setEnabled(not exporting)
