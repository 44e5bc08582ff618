"""Settings: the venues where the scheme works, each with its ward."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import ValidationError
from digiknow_desk.domain.venues import Venue, VenueDraft, Ward
from digiknow_desk.ui.paged_model import RECORD_ROLE

_Index = QModelIndex | QPersistentModelIndex


class VenueTableModel(QAbstractTableModel):
    NAME, WARD, ACTIVE = range(3)
    HEADERS = ("Venue", "Ward", "Open")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._venues: list[Venue] = []

    def set_venues(self, venues: list[Venue]) -> None:
        self.beginResetModel()
        self._venues = list(venues)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._venues)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        venue = self._venues[index.row()]
        if role == RECORD_ROLE:
            return venue
        if role == Qt.ItemDataRole.DisplayRole:
            return (venue.name, venue.ward_name, "Yes" if venue.active else "No (closed)")[index.column()]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None


class VenueDialog(QDialog):
    """Add or edit one venue; saves through the venue service and shows refusals beside the fields."""

    def __init__(self, services: Services, venue: Venue | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._venue = venue
        self.saved: Venue | None = None
        self.setWindowTitle("Edit venue" if venue else "Add a venue")
        self._name = QLineEdit(venue.name if venue else "")
        self._name.setAccessibleName("Venue name")
        self._ward = QComboBox()
        self._ward.setAccessibleName("Ward")
        wards: list[Ward] = services.venues.wards()
        self._ward.addItem("Choose the ward…", "")
        for ward in wards:
            self._ward.addItem(ward.name, ward.code)
        if venue:
            self._ward.setCurrentIndex(self._ward.findData(venue.ward_code))
        self._active = QCheckBox("&Open (devices can be lent here)")
        self._active.setAccessibleName("Venue is open")
        self._active.setChecked(venue.active if venue else True)
        self._message = QLabel()
        self._message.setTextFormat(Qt.TextFormat.PlainText)
        self._message.setWordWrap(True)
        self._message.setAccessibleName("Problems")
        form = QFormLayout()
        name_label = QLabel("&Name:")
        name_label.setBuddy(self._name)
        ward_label = QLabel("&Ward:")
        ward_label.setBuddy(self._ward)
        form.addRow(name_label, self._name)
        form.addRow(ward_label, self._ward)
        form.addRow("", self._active)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setAccessibleName("Save venue")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName("Cancel")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._message)
        layout.addWidget(buttons)

    def set_values(self, name: str, ward_code: str, active: bool = True) -> None:
        self._name.setText(name)
        self._ward.setCurrentIndex(max(0, self._ward.findData(ward_code)))
        self._active.setChecked(active)

    @property
    def message(self) -> str:
        return self._message.text()

    def save(self) -> None:
        draft = VenueDraft(
            name=self._name.text(), ward_code=self._ward.currentData() or "", active=self._active.isChecked()
        )
        try:
            if self._venue is None:
                self.saved = self._services.venues.add(draft)
            else:
                self.saved = self._services.venues.update(self._venue.id, draft)
        except ValidationError as error:
            self._message.setText("\n".join(error.problems.values()))
            return
        self.accept()

    @classmethod
    def ask(
        cls, services: Services, venue: Venue | None = None, parent: QWidget | None = None
    ) -> Venue | None:
        dialog = cls(services, venue, parent)
        dialog.exec()
        return dialog.saved


class SettingsPage(QWidget):
    venues_changed = Signal()

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._model = VenueTableModel(self)
        self._table = QTableView()
        self._table.setModel(self._model)
        self._table.setAccessibleName("Venues")
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        self._table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._table.doubleClicked.connect(lambda _index: self.edit_venue())
        add = QPushButton("&Add venue…")
        add.setAccessibleName("Add venue")
        add.clicked.connect(self.add_venue)
        edit = QPushButton("&Edit venue…")
        edit.setAccessibleName("Edit venue")
        edit.clicked.connect(self.edit_venue)
        heading = QLabel(
            "<h2>Venues</h2><p>The libraries, Starting Point and community venues where the scheme "
            "works. Each device has a home venue and a current one.</p>"
        )
        heading.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(edit)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self._table)
        layout.addLayout(buttons)
        self.refresh()

    @property
    def model(self) -> VenueTableModel:
        return self._model

    def refresh(self) -> None:
        self._model.set_venues(self._services.venues.venues())

    def add_venue(self) -> None:
        if VenueDialog.ask(self._services, None, self) is not None:
            self.refresh()
            self.venues_changed.emit()

    def edit_venue(self) -> None:
        index = self._table.currentIndex()
        if not index.isValid():
            return
        venue = self._model.data(index, RECORD_ROLE)
        if VenueDialog.ask(self._services, venue, self) is not None:
            self.refresh()
            self.venues_changed.emit()
