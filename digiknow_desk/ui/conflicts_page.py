"""Conflicts (coordinators and administrators, on a server): the venue laptops' changes a sync kept aside
because the server had changed the same records meanwhile; each shown next to the server's records, and the
choice of which version to keep."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QTreeWidgetItemIterator,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.services.sync import Conflict
from digiknow_desk.ui.data_protection_page import Confirm, ask_to_confirm, counted
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.resident_table_model import day_text
from digiknow_desk.ui.sign_in_dialog import words_label
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.widgets import make_list_table, size_columns

_Index = QModelIndex | QPersistentModelIndex

# Not shown: the audit trail goes up as it is (it never conflicts), and search terms follow the resident.
_HIDDEN_TABLES = frozenset({"audit_entries", "resident_search_terms"})
# Bookkeeping that says nothing to staff: ids, the search index, timestamps of the row, a list's order.
_HIDDEN_FIELDS = frozenset({"id", "search_text", "created_at", "updated_at", "position"})
_TABLE_WORDS = {
    "residents": "Resident",
    "resident_consents": "Resident's consent",
    "devices": "Device",
    "device_kit_items": "Device's kit",
    "device_status_events": "Device status change",
    "loans": "Loan",
    "loan_kit": "Kit on the loan",
    "loan_renewals": "Loan renewal",
    "wipes": "Wipe",
    "wait_entries": "Waiting-list entry",
    "wait_events": "Waiting-list change",
    "data_plans": "Data plan",
    "inclusion_changes": "Inclusion status change",
    "sessions": "Session",
    "skills_checks": "Skills check",
    "skills_check_levels": "Skills check level",
    "venues": "Venue",
    "champions": "Digital Champion",
    "settings": "Setting",
}
_FIELD_WORDS = {"os": "Operating system", "went_out": "Went out with it", "came_back": "Came back"}
# The field that names a record of these tables to staff (its id elsewhere is shown as this).
_NAMED_BY = {"devices": "tag", "residents": "reference", "venues": "name", "champions": "name"}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_CODE = re.compile(r"^[a-z]+(?:_[a-z]+)+$")  # a stored choice such as not_yet_supported


@dataclass(frozen=True)
class FieldDifference:
    field: str  # in words: 'Phone'
    venue: str  # the venue's value, in words
    server: str  # the server's value, in words


@dataclass(frozen=True)
class RowDifference:
    heading: str  # 'Resident R-00001: changed at the venue'
    fields: tuple[FieldDifference, ...]


def moment_text(moment: datetime, today: date) -> str:
    local = moment.astimezone()
    return f"{day_text(local, today)} {local:%H:%M}"


def table_words(table: str) -> str:
    return _TABLE_WORDS.get(table, table.replace("_", " ").capitalize())


def field_words(field: str) -> str:
    return _FIELD_WORDS.get(field, field.removesuffix("_id").replace("_", " ").capitalize())


def value_words(value: Any, today: date) -> str:
    """A stored value as staff read it: dates as days, yes and no, choices without underscores."""
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str):
        return str(value)
    try:
        if _ISO_MOMENT.match(value):
            return moment_text(datetime.fromisoformat(value), today)
        if _ISO_DAY.match(value):
            return day_text(date.fromisoformat(value), today)
    except ValueError:
        return value
    return value.replace("_", " ") if _CODE.match(value) else value


def differences(conflict: Conflict, today: date) -> list[RowDifference]:
    """Each record the venue changed, with the fields where its version and the server's differ."""
    server_rows = {(shown["table"], json.dumps(shown["key"])): shown["row"] for shown in conflict.server_rows}
    names = _names(conflict)
    # A record changed twice in the one transaction counts once: as it was first, and as the venue left it.
    first_op: dict[tuple[str, str], str] = {}
    venue_rows: dict[tuple[str, str], dict[str, Any] | None] = {}
    for change in conflict.changes:
        if change.table in _HIDDEN_TABLES:
            continue
        key = (change.table, json.dumps(change.key))
        first_op.setdefault(key, change.op)
        venue_rows[key] = change.after
    found = []
    for key, venue in venue_rows.items():
        table = key[0]
        server = server_rows.get(key)
        fields = _field_differences(venue or {}, server or {}, names, today)
        if not fields:
            continue
        if venue is None:
            state = "deleted at the venue"
        elif first_op[key] == "insert":
            state = "added at the venue" + ("" if server else ", not on the server")
        else:
            state = "changed at the venue" + ("" if server else ", no longer on the server")
        name = _row_name(table, venue or server or {}, names)
        found.append(RowDifference(f"{table_words(table)}{' ' + name if name else ''}: {state}", fields))
    return found


def _names(conflict: Conflict) -> dict[str, str]:
    """What staff call the devices, residents, venues and champions the conflict's records refer to."""
    rows = [(change.table, row) for change in conflict.changes for row in (change.before, change.after)]
    rows += [(shown["table"], shown["row"]) for shown in conflict.server_rows]
    return {
        str(row["id"]): str(row[_NAMED_BY[table]])
        for table, row in rows
        if row is not None and table in _NAMED_BY and row.get(_NAMED_BY[table])
    }


def _row_name(table: str, row: dict[str, Any], names: dict[str, str]) -> str:
    if table in _NAMED_BY:
        return str(row.get(_NAMED_BY[table]) or "")
    if table == "loans" and str(row.get("device_id")) in names and str(row.get("resident_id")) in names:
        return f"of {names[str(row['device_id'])]} to {names[str(row['resident_id'])]}"
    return ""


def _field_differences(
    venue: dict[str, Any], server: dict[str, Any], names: dict[str, str], today: date
) -> tuple[FieldDifference, ...]:
    found = []
    for field in [*venue, *(field for field in server if field not in venue)]:
        if field in _HIDDEN_FIELDS:
            continue
        ours, theirs = venue.get(field), server.get(field)
        if field.endswith("_id"):
            # Another record, by what staff call it; one they would not know by name is left out.
            if any(value is not None and str(value) not in names for value in (ours, theirs)):
                continue
            ours = names.get(str(ours)) if ours is not None else None
            theirs = names.get(str(theirs)) if theirs is not None else None
        venue_text, server_text = value_words(ours, today), value_words(theirs, today)
        if venue_text != server_text:
            found.append(FieldDifference(field_words(field), venue_text, server_text))
    return tuple(found)


def outcome_words(conflict: Conflict, today: date) -> str:
    if conflict.resolved_at is None:
        return "Open"
    kept = "Kept the server's version" if conflict.resolution == "server" else "Used the venue's version"
    return f"{kept} ({conflict.resolved_by}, {moment_text(conflict.resolved_at, today)})"


class ConflictTableModel(QAbstractTableModel):
    """The conflicts, oldest first: when a sync found each, the venue and computer, and what happened."""

    FOUND, VENUE, COMPUTER, SUMMARY, OUTCOME = range(5)
    HEADERS = ("Found", "Venue", "Computer", "What happened", "Outcome")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._conflicts: list[Conflict] = []
        self._today = date.today()

    def set_conflicts(self, conflicts: list[Conflict], today: date) -> None:
        self.beginResetModel()
        self._conflicts = list(conflicts)
        self._today = today
        self.endResetModel()

    def conflict(self, row: int) -> Conflict:
        return self._conflicts[row]

    def row_of(self, conflict_id: uuid.UUID) -> int | None:
        return next((row for row, c in enumerate(self._conflicts) if c.id == conflict_id), None)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._conflicts)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._conflicts):
            return None
        conflict = self._conflicts[index.row()]
        if role == RECORD_ROLE:
            return conflict
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._cell(conflict, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == self.SUMMARY:
            return conflict.summary
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

    def _cell(self, conflict: Conflict, column: int) -> str:
        if column == self.FOUND:
            return moment_text(conflict.detected_at, self._today)
        if column == self.VENUE:
            return conflict.venue
        if column == self.COMPUTER:
            return conflict.computer
        if column == self.SUMMARY:
            return conflict.summary
        if column == self.OUTCOME:
            return outcome_words(conflict, self._today)
        return ""


class ConflictsPage(QWidget):
    """The open conflicts (and, on request, the resolved ones); the chosen one's records side by side with
    the server's; keep the server's version or use the venue's."""

    notice = Signal(str)  # what was just done, for the status bar
    changed = Signal()  # the venue's version was written over the server's records: other pages read again

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        confirm: Confirm = ask_to_confirm,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks  # for slow work on this page (none: each read is one quick query)
        self._confirm = confirm  # tests pass a stand-in for the modal question

        heading = QLabel("<h2>Conflicts from venue laptops</h2>")
        heading.setAccessibleName("Conflicts from venue laptops")
        intro = words_label(
            "When a venue laptop syncs a change that clashes with the server (the same resident edited in "
            "two places, a device issued at two venues), nothing is overwritten: the change waits here, and "
            "the laptop shows the server's version until you choose.",
            "About conflicts",
        )
        self._show_resolved = QCheckBox("Show &resolved")
        self._show_resolved.setAccessibleName("Show resolved conflicts too")
        self._show_resolved.toggled.connect(lambda _on: self.refresh())
        self._count = words_label(name="Conflicts listed")

        self._model = ConflictTableModel(self)
        self._table = QTableView()
        self._table.setObjectName("conflicts-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Conflicts")
        self._table.setAccessibleDescription(
            "One row per conflict, oldest first: when a sync found it, the venue and computer it came from, "
            "what happened and its outcome."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        size_columns(
            self._table,
            {
                ConflictTableModel.FOUND: "Wed 30 Sep 2026 10:45",
                ConflictTableModel.VENUE: "Brinnington Community Centre",
                ConflictTableModel.COMPUTER: "DESK-LAPTOP-01",
                ConflictTableModel.OUTCOME: "Open",
            },
            ConflictTableModel.SUMMARY,
        )
        self._table.selectionModel().selectionChanged.connect(lambda *_: self._show_chosen())

        self._summary = words_label(name="The conflict chosen")
        self._details = QTreeWidget()
        self._details.setObjectName("conflict-details")
        self._details.setAccessibleName("The venue's version next to the server's")
        self._details.setAccessibleDescription(
            "For each record the venue changed, the fields where the two versions differ: the venue's value, "
            "then the server's."
        )
        self._details.setColumnCount(3)
        self._details.setHeaderLabels(["What", "At the venue", "On the server"])
        self._details.setWordWrap(True)
        self._details.setRootIsDecorated(False)
        self._details.setItemsExpandable(False)
        header = self._details.header()
        header.setStretchLastSection(False)
        header.resizeSection(0, self.fontMetrics().averageCharWidth() * 28)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)

        self._keep_server = QPushButton("&Keep the server's version…")
        self._keep_server.setAccessibleName("Keep the server's version")
        self._keep_server.clicked.connect(self.keep_server_version)
        self._use_venue = QPushButton("&Use the venue's version…")
        self._use_venue.setAccessibleName("Use the venue's version")
        self._use_venue.clicked.connect(self.use_venue_version)
        self._message = words_label(name="Last conflict resolved")

        top = QHBoxLayout()
        top.addWidget(self._count, 1)
        top.addWidget(self._show_resolved)
        buttons = QHBoxLayout()
        buttons.addWidget(self._keep_server)
        buttons.addWidget(self._use_venue)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addLayout(top)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._summary)
        layout.addWidget(self._details, 2)
        layout.addLayout(buttons)
        layout.addWidget(self._message)
        self.refresh()

    # Read by the tests

    @property
    def model(self) -> ConflictTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def details(self) -> QTreeWidget:
        return self._details

    @property
    def show_resolved_box(self) -> QCheckBox:
        return self._show_resolved

    @property
    def keep_server_button(self) -> QPushButton:
        return self._keep_server

    @property
    def use_venue_button(self) -> QPushButton:
        return self._use_venue

    @property
    def count_text(self) -> str:
        return self._count.text()

    @property
    def summary_text(self) -> str:
        return self._summary.text()

    @property
    def message(self) -> str:
        return self._message.text()

    def details_rows(self) -> list[tuple[str, ...]]:
        """The details as shown: a heading per record, then (field, venue's value, server's value) rows."""
        rows: list[tuple[str, ...]] = []
        iterator = QTreeWidgetItemIterator(self._details)
        while (item := iterator.value()) is not None:
            rows.append(tuple(item.text(column) for column in range(item.columnCount())))
            iterator += 1
        return rows

    # Reading

    def refresh(self) -> None:
        """Read the conflicts again, keeping the chosen one chosen."""
        keep = self.current_conflict()
        conflicts = self._services.sync.conflicts(include_resolved=self._show_resolved.isChecked())
        self._model.set_conflicts(conflicts, self._today())
        open_count = sum(1 for conflict in conflicts if conflict.resolved_at is None)
        listed = counted(len(conflicts), "conflict")
        self._count.setText(
            f"{listed}, {open_count:,} open" if self._show_resolved.isChecked() else f"{listed} open"
        )
        if keep is not None and (row := self._model.row_of(keep.id)) is not None:
            self._table.selectRow(row)
        self._show_chosen()

    def showEvent(self, event: QShowEvent) -> None:
        # Syncs bring conflicts at any time: coming back to the page shows the latest.
        super().showEvent(event)
        if not event.spontaneous():
            self.refresh()

    def current_conflict(self) -> Conflict | None:
        rows = self._table.selectionModel().selectedRows()
        return self._model.conflict(rows[0].row()) if rows else None

    def select_row(self, row: int) -> None:
        self._table.selectRow(row)

    def _today(self) -> date:
        return self._services.clock().astimezone().date()

    def _show_chosen(self) -> None:
        conflict = self.current_conflict()
        self._details.clear()
        is_open = conflict is not None and conflict.resolved_at is None
        self._keep_server.setEnabled(is_open)
        self._use_venue.setEnabled(is_open)
        if conflict is None:
            self._summary.setText(
                "Choose a conflict in the list to see the venue's version beside the server's."
            )
            return
        self._summary.setText(conflict.summary)
        found = differences(conflict, self._today())
        for row in found:
            item = QTreeWidgetItem([row.heading])
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            self._details.addTopLevelItem(item)
            item.setFirstColumnSpanned(True)
            for field in row.fields:
                child = QTreeWidgetItem([field.field, field.venue, field.server])
                for column, text in enumerate((field.field, field.venue, field.server)):
                    child.setToolTip(column, text)
                item.addChild(child)
        if not found:
            self._details.addTopLevelItem(
                QTreeWidgetItem(["The venue's records and the server's now agree: nothing differs."])
            )
        self._details.expandAll()

    # Resolving

    def keep_server_version(self) -> bool:
        """Once staff confirm, set the venue's change aside and keep the server's records as they are."""
        return self._resolve(
            "server",
            "The server's records stay as they are, and the venue's change is set aside for good. The venue "
            "laptop already shows the server's version. The change stays listed under Show resolved.",
            "Keep the server's version",
        )

    def use_venue_version(self) -> bool:
        """Once staff confirm, write the venue's changes over the server's records."""
        return self._resolve(
            "venue",
            "The venue's changes are written over the server's records now, as listed on this page. Every "
            "desk shows them, and venue laptops get them at their next sync.",
            "Use the venue's version",
        )

    def _resolve(self, keep: str, what_happens: str, go_ahead: str) -> bool:
        conflict = self.current_conflict()
        if conflict is None or conflict.resolved_at is not None:
            return False
        question = f"{conflict.summary}\n\n{go_ahead}? {what_happens}"
        if not self._confirm(self, go_ahead, question, go_ahead):
            self._message.setText("Nothing was changed: the conflict is still open.")
            return False
        try:
            self._services.sync.resolve(conflict.id, keep)
        except DomainError as error:
            self._message.setText(problem_words(error))
            return False
        done = "Kept the server's version" if keep == "server" else "Used the venue's version"
        words = (
            f"{done} for the conflict from {conflict.venue} found "
            f"{moment_text(conflict.detected_at, self._today())}."
        )
        self._message.setText(words)
        self.notice.emit(words)
        self.refresh()
        if keep == "venue":
            self.changed.emit()
        return True
