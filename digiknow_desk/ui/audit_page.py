"""The audit trail (coordinators and administrators): who did what, when and from which computer, newest
first, a page at a time; filtered by who, kind of action, subject and dates; exported to CSV."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.services.audit import PAGE_SIZE, AuditEntry, AuditFilter, AuditService
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.paged_model import PagedTableModel
from digiknow_desk.ui.printing import ask_save_path
from digiknow_desk.ui.resident_table_model import day_text
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

SavePathAsker = Callable[[QWidget, str, str, str], str]
"""(parent, caption, suggested path, file filter) -> the chosen path, or '' when cancelled."""

# The kinds of action the services record, offered as staff type (any prefix works: 'loan' finds them all).
KNOWN_ACTIONS = (
    "champion.added",
    "champion.changed",
    "device.added",
    "device.blank_tags",
    "device.changed",
    "device.data_plan",
    "device.status_changed",
    "device.wiped",
    "hours.added",
    "inclusion.recomputed",
    "loan.closed_lost",
    "loan.issued",
    "loan.renewed",
    "loan.returned",
    "postcodes.cleared",
    "postcodes.imported",
    "resident.added",
    "resident.anonymised",
    "resident.changed",
    "resident.data_exported",
    "resident.erased",
    "session.deleted",
    "session.follow_up_done",
    "session.logged",
    "setting.changed",
    "skills.recorded",
    "user.added",
    "user.disabled",
    "user.enabled",
    "user.locked_out",
    "user.password_changed",
    "user.password_reset",
    "user.role_changed",
    "user.signed_in",
    "venue.added",
    "venue.changed",
    "wards.populations",
)


# Details that are lists of names; any other pair of values is what a field was and what it became.
_LISTED = frozenset({"fields", "residents", "tags"})


def details_text(entry: AuditEntry) -> str:
    """What changed, in one line: 'role: desk → coordinator; minutes: 5 → 10'."""
    if entry.redacted:
        return "(details removed when the resident's record was erased or anonymised)"
    parts = []
    for name, value in entry.details.items():
        if isinstance(value, list) and len(value) == 2 and name not in _LISTED:
            parts.append(f"{name}: {_value_text(value[0])} → {_value_text(value[1])}")
        else:
            parts.append(f"{name}: {_value_text(value)}")
    return "; ".join(parts)


def _value_text(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def entries_text(count: int) -> str:
    return "No entries" if count == 0 else f"{count:,} entr{'ies' if count != 1 else 'y'}"


class AuditTableModel(PagedTableModel[AuditEntry, AuditFilter]):
    """The audit entries matching a filter, newest first, fetched a page at a time as the view scrolls."""

    WHEN, WHO, ACTION, SUBJECT, DETAILS, MACHINE = range(6)
    HEADERS = ("When", "Who", "Action", "Subject", "What changed", "Computer")

    def __init__(
        self, audit: AuditService, page_size: int = PAGE_SIZE, parent: QObject | None = None
    ) -> None:
        super().__init__(AuditFilter(), page_size, parent)
        self._audit = audit
        self._today = date.today()

    @property
    def chosen(self) -> AuditFilter:
        return self._query

    def set_filter(self, chosen: AuditFilter) -> None:
        """Show the entries matching `chosen`, loading only the first page."""
        self._today = date.today()
        self._load(chosen, self._page_size)

    def entry(self, row: int) -> AuditEntry:
        return self.record(row)

    def _search(self, query: AuditFilter, limit: int, offset: int) -> list[AuditEntry]:
        return self._audit.entries(query, limit=limit, offset=offset)

    def _count(self, query: AuditFilter, at_most: int | None) -> int:
        return self._audit.count(query)

    def _key(self, record: AuditEntry) -> str:
        return str(record.id)

    def _cell(self, entry: AuditEntry, column: int) -> str:
        if column == self.WHEN:
            local = entry.at.astimezone()
            return f"{day_text(local, self._today)} {local:%H:%M:%S}"
        if column == self.WHO:
            return f"{entry.staff_name} ({entry.username})" if entry.username else entry.staff_name
        if column == self.ACTION:
            return entry.action
        if column == self.SUBJECT:
            return entry.subject
        if column == self.DETAILS:
            return details_text(entry)
        if column == self.MACHINE:
            return entry.machine
        return ""


class AuditPage(QWidget):
    """Every recorded change, newest first; filters; Export CSV… of what the filters show."""

    notice = Signal(str)  # what was just done, for the status bar
    exported = Signal(int)  # how many entries the export wrote

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        save_path: SavePathAsker = ask_save_path,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._ask_save_path = save_path  # tests pass a stand-in for the modal file chooser
        self._export_task: Task | None = None

        # Filters: typed ones apply on Enter or on leaving the field, the others as soon as they change.
        self._who = QLineEdit()
        self._who.setAccessibleName("Who: user name")
        self._who.setPlaceholderText("user name, e.g. sam.jones")
        self._action = QLineEdit()
        self._action.setAccessibleName("Kind of action")
        self._action.setPlaceholderText("e.g. loan, or user.signed_in")
        completer = QCompleter(list(KNOWN_ACTIONS), self._action)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._action.setCompleter(completer)
        self._subject = QLineEdit()
        self._subject.setAccessibleName("Subject: asset tag, resident reference or user name")
        self._subject.setPlaceholderText("e.g. TAB-0042 or R-00042")
        for typed in (self._who, self._action, self._subject):
            typed.setClearButtonEnabled(True)
            typed.editingFinished.connect(self.apply_filter)
        today = QDate.currentDate()
        self._use_from = QCheckBox("Fro&m:")
        self._use_from.setAccessibleName("Only entries from a day")
        self._from = self._date_box("From day", today.addDays(-30))
        self._use_to = QCheckBox("T&o:")
        self._use_to.setAccessibleName("Only entries up to a day")
        self._to = self._date_box("To day", today)
        for use, box in ((self._use_from, self._from), (self._use_to, self._to)):
            box.setEnabled(False)
            use.toggled.connect(box.setEnabled)
            use.toggled.connect(lambda _on: self.apply_filter())
            box.dateChanged.connect(lambda _day: self.apply_filter())

        self._refresh_action = page_action(
            self, "Refresh the audit trail", QKeySequence.StandardKey.Refresh, self.refresh
        )
        self._export_action = page_action(self, "Export CSV", "Ctrl+Shift+E", self.export_csv)
        self._refresh_button = action_button("&Refresh", self._refresh_action)
        self._export_button = action_button("E&xport CSV…", self._export_action)
        self._clear_button = QPushButton("C&lear filters")
        self._clear_button.setAccessibleName("Clear filters")
        self._clear_button.clicked.connect(self.clear_filters)

        self._model = AuditTableModel(services.audit, parent=self)
        self._table = QTableView()
        self._table.setObjectName("audit-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Audit trail, newest first")
        self._table.setAccessibleDescription(
            "One row per recorded change: when, who, the kind of action, its subject, what changed and on "
            "which computer. More rows load as you scroll."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        size_columns(
            self._table,
            {
                AuditTableModel.WHEN: "Wed 30 Sep 2026 10:45:00",
                AuditTableModel.WHO: "Priya Shah-Robinson (priya.shah)",
                AuditTableModel.ACTION: "device.status_changed",
                AuditTableModel.SUBJECT: "demo.coordinator",
                AuditTableModel.MACHINE: "DESK-LAPTOP-01",
            },
            AuditTableModel.DETAILS,
        )
        self._count = QLabel()
        self._count.setAccessibleName("Entries found")
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setTextFormat(Qt.TextFormat.PlainText)
        self._message.setAccessibleName("Last export")

        heading = QLabel("<h2>Audit trail</h2>")
        heading.setAccessibleName("Audit trail")
        filters = QGridLayout()
        for column, (caption_text, field) in enumerate(
            (("&Who:", self._who), ("A&ction:", self._action), ("Su&bject:", self._subject))
        ):
            caption = QLabel(caption_text)
            caption.setBuddy(field)
            filters.addWidget(caption, 0, 2 * column)
            filters.addWidget(field, 0, 2 * column + 1)
        dates = QHBoxLayout()
        for use, box in ((self._use_from, self._from), (self._use_to, self._to)):
            dates.addWidget(use)
            dates.addWidget(box)
            dates.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        dates.addWidget(self._clear_button)
        dates.addStretch()
        filters.addLayout(dates, 1, 0, 1, 6)
        top = QHBoxLayout()
        top.addWidget(self._count, 1)
        top.addWidget(self._refresh_button)
        top.addWidget(self._export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(filters)
        layout.addLayout(top)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._message)
        self.apply_filter()

    def _date_box(self, name: str, day: QDate) -> QDateEdit:
        box = QDateEdit(day)
        box.setCalendarPopup(True)
        box.setDisplayFormat("ddd d MMM yyyy")
        box.setAccessibleName(name)
        return box

    # Read by the tests

    @property
    def model(self) -> AuditTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def count_text(self) -> str:
        return self._count.text()

    @property
    def message(self) -> str:
        return self._message.text()

    def set_filter_fields(
        self,
        *,
        who: str = "",
        action: str = "",
        subject: str = "",
        from_day: date | None = None,
        to_day: date | None = None,
    ) -> None:
        """Fill in the filter fields as staff would, then show what matches."""
        self._who.setText(who)
        self._action.setText(action)
        self._subject.setText(subject)
        for use, box, day in ((self._use_from, self._from, from_day), (self._use_to, self._to, to_day)):
            blocked = [use.blockSignals(True), box.blockSignals(True)]
            use.setChecked(day is not None)
            box.setEnabled(day is not None)
            if day is not None:
                box.setDate(QDate(day.year, day.month, day.day))
            use.blockSignals(blocked[0])
            box.blockSignals(blocked[1])
        self.apply_filter()

    def chosen_filter(self) -> AuditFilter:
        return AuditFilter(
            username=self._who.text().strip(),
            action=self._action.text().strip(),
            subject=self._subject.text().strip(),
            from_day=self._day(self._use_from, self._from),
            to_day=self._day(self._use_to, self._to),
        )

    @staticmethod
    def _day(use: QCheckBox, box: QDateEdit) -> date | None:
        if not use.isChecked():
            return None
        chosen = box.date()
        return date(chosen.year(), chosen.month(), chosen.day())

    # Actions

    def apply_filter(self) -> None:
        chosen = self.chosen_filter()
        if chosen == self._model.chosen and self._model.rowCount() > 0:
            return  # leaving a field that did not change reads nothing again
        self._load(chosen)

    def refresh(self) -> None:
        self._load(self.chosen_filter())

    def clear_filters(self) -> None:
        self.set_filter_fields()

    def _load(self, chosen: AuditFilter) -> None:
        self._model.set_filter(chosen)
        self._count.setText(entries_text(self._model.total) + ("" if chosen == AuditFilter() else " match"))

    def export_csv(self) -> Task | None:
        """Ask where, then write the entries the filters show (oldest first) to a CSV file, in the
        background."""
        if self._export_task is not None:
            return None
        chosen = self.chosen_filter()
        suggested = str(Path.home() / f"audit-{date.today():%Y-%m-%d}.csv")
        path = self._ask_save_path(
            self, "Export the audit trail to a CSV file", suggested, "CSV files (*.csv)"
        )
        if not path:
            return None
        out = Path(path)
        audit = self._services.audit

        def work(_progress: Progress) -> int:
            count: int = audit.export_csv(out, chosen)
            return count

        def succeeded(count: int) -> None:
            self._export_task = None
            self._export_action.setEnabled(True)
            self._export_button.setEnabled(True)
            text = f"Exported {entries_text(count).lower()} to {out}."
            self._message.setText(text)
            self.notice.emit(text)
            self.exported.emit(count)

        def failed(error: Exception) -> None:
            self._export_task = None
            self._export_action.setEnabled(True)
            self._export_button.setEnabled(True)
            self._message.setText(problem_words(error))  # raises anything but a refusal, for the handler

        self._export_action.setEnabled(False)
        self._export_button.setEnabled(False)
        self._message.setText(f"Exporting to {out}…")
        self._export_task = run_with_progress(
            self._tasks, self, "Exporting the audit trail…", work, succeeded, failed, cancellable=False
        )
        return self._export_task

    def showEvent(self, event: QShowEvent) -> None:
        # The trail grows with every change anywhere: coming back to the page shows the latest.
        super().showEvent(event)
        if not event.spontaneous():
            self.refresh()
