"""The Champions screen: Digital Champions with their venues, when training and DBS checks fall due and
what needs attention, in words; add and edit them, record other volunteer hours, and each month's hours."""

from __future__ import annotations

import uuid
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
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from digiknow_desk.app import Services
from digiknow_desk.domain.champions import Champion, ChampionRules
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.domain.sessions import SessionFilter
from digiknow_desk.domain.staff import Permission
from digiknow_desk.ui.champion_dialog import AskChampion, AskHours, ask_champion, ask_hours
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.resident_table_model import day_text
from digiknow_desk.ui.residents_page import not_for_role
from digiknow_desk.ui.session_table_model import (
    HoursTableModel,
    duration_text,
    month_text,
    recent_months,
)
from digiknow_desk.ui.tasks import TaskRunner
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

MONTHS_LISTED = 24
_Index = QModelIndex | QPersistentModelIndex


def attention_text(warnings: list[str]) -> str:
    """A champion's warnings as one sentence: 'DBS check lapsed on 3 Mar 2026; no training recorded'."""
    text = "; ".join(warnings)
    return text[:1].upper() + text[1:]


class ChampionTableModel(QAbstractTableModel):
    """Champions by name: contact, venues, when training and the DBS check fall due, active, and what
    needs attention in words (never colour alone)."""

    NAME, CONTACT, VENUES, TRAINING_DUE, DBS_DUE, ACTIVE, ATTENTION = range(7)
    HEADERS = (
        "Name",
        "Phone / email",
        "Venues",
        "Training due",
        "DBS check due",
        "Active",
        "Needs attention",
    )
    RECORD_ROLE = RECORD_ROLE

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._champions: list[Champion] = []
        self._rules = ChampionRules()
        self._today = date.today()

    def set_champions(self, champions: list[Champion], rules: ChampionRules, today: date) -> None:
        self.beginResetModel()
        self._champions = list(champions)
        self._rules = rules
        self._today = today
        self.endResetModel()

    def champion(self, row: int) -> Champion:
        return self._champions[row]

    def row_of(self, champion_id: uuid.UUID) -> int | None:
        for row, champion in enumerate(self._champions):
            if champion.id == champion_id:
                return row
        return None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._champions)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._champions):
            return None
        champion = self._champions[index.row()]
        if role == RECORD_ROLE:
            return champion
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._cell(champion, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() in (self.VENUES, self.ATTENTION):
            return self._cell(champion, index.column()) or None
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

    def _cell(self, champion: Champion, column: int) -> str:
        if column == self.NAME:
            return champion.name
        if column == self.CONTACT:
            return ", ".join(part for part in (champion.phone, champion.email) if part)
        if column == self.VENUES:
            return champion.venue_names
        if column in (self.TRAINING_DUE, self.DBS_DUE):
            due = (
                champion.training_due(self._rules)
                if column == self.TRAINING_DUE
                else champion.dbs_due(self._rules)
            )
            return day_text(due, self._today) if due else "Not recorded"
        if column == self.ACTIVE:
            return "Yes" if champion.active else "No"
        if column == self.ATTENTION:
            # A champion who has stood down needs nothing renewed.
            return attention_text(champion.warnings(self._rules, self._today)) if champion.active else ""
        return ""


class ChampionsPage(QWidget):
    """The champions (active ones, or all), with warnings before training or a DBS check lapses; add and
    edit them; record other volunteer hours; and each champion's hours in a month."""

    changed = Signal()  # after a champion is added or edited
    notice = Signal(str)  # what was just done, for the status bar

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        ask_champion: AskChampion = ask_champion,
        ask_hours: AskHours = ask_hours,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks  # for slow work on this page (none yet: each read is one quick query)
        self._ask_champion = ask_champion
        self._ask_hours = ask_hours
        # Read once: the main window builds the pages again for anyone signing in with another role.
        self._staff = services.accounts.signed_in()

        # Actions
        self._add_action = page_action(self, "Add champion", "Ctrl+Shift+N", self.add_champion)
        self._edit_action = page_action(self, "Edit champion", "Ctrl+E", self.edit_champion)
        self._hours_action = page_action(self, "Add other hours", None, self.add_hours)
        self._add_button = action_button("&Add champion…", self._add_action)
        self._edit_button = action_button("&Edit…", self._edit_action)
        self._hours_button = action_button("Add &other hours…", self._hours_action)
        self._hours_button.setToolTip(
            "Record the selected champion's volunteer time outside sessions: training, setting up devices"
        )
        if not self._may_change():
            why = not_for_role(self._staff, Permission.CHANGE_SETTINGS)
            for action, button in (
                (self._add_action, self._add_button),
                (self._edit_action, self._edit_button),
            ):
                action.setEnabled(False)
                button.setEnabled(False)
                button.setToolTip(why)
                button.setAccessibleDescription(why)

        # What needs attention
        self._warnings = QLabel()
        self._warnings.setObjectName("champion-warnings")
        self._warnings.setAccessibleName("Champions needing attention")
        self._warnings.setWordWrap(True)
        self._warnings.setTextFormat(Qt.TextFormat.PlainText)
        self._warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._warnings_frame = QFrame()
        self._warnings_frame.setFrameShape(QFrame.Shape.StyledPanel)
        QVBoxLayout(self._warnings_frame).addWidget(self._warnings)

        # The champions
        self._show = QComboBox()
        self._show.setAccessibleName("Show champions")
        self._show.addItem("Active champions", True)
        self._show.addItem("All champions, active or not", False)
        self._show.currentIndexChanged.connect(lambda _row: self.refresh())
        self._count = QLabel()
        self._count.setAccessibleName("Champions listed")
        self._count.setTextFormat(Qt.TextFormat.PlainText)
        self._model = ChampionTableModel(self)
        self._table = QTableView()
        self._table.setObjectName("champions-table")
        self._table.setModel(self._model)
        self._table.setAccessibleName("Champions")
        self._table.setAccessibleDescription(
            "One row per champion: contact, venues, when training and the DBS check are due, and what "
            "needs attention. Press Enter to edit the champion."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)
        size_columns(
            self._table,
            {
                ChampionTableModel.NAME: "Priya Shah-Robinson",
                ChampionTableModel.CONTACT: "0161 474 4444, priya@example.org",
                ChampionTableModel.VENUES: "Edgeley Library, Central Library",
                ChampionTableModel.TRAINING_DUE: "Wed 30 Sep 2026",
                ChampionTableModel.DBS_DUE: "Wed 30 Sep 2026",
                ChampionTableModel.ACTIVE: "Yes",
            },
            ChampionTableModel.ATTENTION,
        )
        self._table.activated.connect(lambda _index: self.edit_champion())
        self._table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())

        # Hours in a month
        self._month = QComboBox()
        self._month.setAccessibleName("Volunteer hours in month")
        for month_start in recent_months(self._today(), MONTHS_LISTED):
            self._month.addItem(month_text(month_start), month_start.isoformat())
        self._month.currentIndexChanged.connect(lambda _row: self.show_hours())
        self._hours_model = HoursTableModel(self)
        self._hours = QTableView()
        self._hours.setObjectName("hours-table")
        self._hours.setModel(self._hours_model)
        self._hours.setAccessibleName("Volunteer hours per champion in the month")
        self._hours.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._hours.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._hours.setTabKeyNavigation(False)
        self._hours.setWordWrap(False)
        self._hours.verticalHeader().setVisible(False)
        size_columns(
            self._hours,
            {column: "100 h 30 min" for column in range(1, len(HoursTableModel.HEADERS))},
            HoursTableModel.CHAMPION,
        )
        self._hours_total = QLabel()
        self._hours_total.setAccessibleName("Volunteer hours in the month, all champions")
        self._hours_total.setTextFormat(Qt.TextFormat.PlainText)
        hours_box = QGroupBox("Volunteer hours")
        hours_layout = QVBoxLayout(hours_box)
        month_row = QHBoxLayout()
        month_label = QLabel("Mon&th:")
        month_label.setBuddy(self._month)
        month_row.addWidget(month_label)
        month_row.addWidget(self._month)
        month_row.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        month_row.addWidget(self._hours_total, 1)
        hours_layout.addLayout(month_row)
        hours_layout.addWidget(self._hours, 1)

        self._notice = QLabel()
        self._notice.setWordWrap(True)
        self._notice.setTextFormat(Qt.TextFormat.PlainText)
        self._notice.setAccessibleName("Last action")

        # Layout
        buttons = QHBoxLayout()
        buttons.addWidget(self._add_button)
        buttons.addWidget(self._edit_button)
        buttons.addWidget(self._hours_button)
        buttons.addStretch()
        show_row = QHBoxLayout()
        show_label = QLabel("Sho&w:")
        show_label.setBuddy(self._show)
        show_row.addWidget(show_label)
        show_row.addWidget(self._show)
        show_row.addSpacing(self.fontMetrics().averageCharWidth() * 2)
        show_row.addWidget(self._count, 1)
        champions = QWidget()
        champions_layout = QVBoxLayout(champions)
        champions_layout.setContentsMargins(0, 0, 0, 0)
        champions_layout.addLayout(show_row)
        champions_layout.addWidget(self._table, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(champions)
        splitter.addWidget(hours_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self._warnings_frame)
        layout.addWidget(splitter, 1)
        layout.addWidget(self._notice)
        order: list[QWidget] = [
            self._add_button,
            self._edit_button,
            self._hours_button,
            self._show,
            self._table,
            self._month,
            self._hours,
        ]
        for first, second in zip(order, order[1:], strict=False):
            self.setTabOrder(first, second)

        self.refresh()

    # Read by the main window and the tests

    @property
    def model(self) -> ChampionTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def show_filter(self) -> QComboBox:
        return self._show

    @property
    def hours_model(self) -> HoursTableModel:
        return self._hours_model

    @property
    def month_filter(self) -> QComboBox:
        return self._month

    @property
    def count_text(self) -> str:
        return self._count.text()

    @property
    def hours_total_text(self) -> str:
        return self._hours_total.text()

    @property
    def warnings_text(self) -> str:
        """The warnings shown at the top ('' when none are shown)."""
        return self._warnings.text() if self._warnings_frame.isVisibleTo(self) else ""

    @property
    def notice_text(self) -> str:
        return self._notice.text()

    def current_champion(self) -> Champion | None:
        index = self._table.currentIndex()
        if not index.isValid() or not self._table.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return None
        return self._model.champion(index.row())

    def select_champion(self, champion: Champion) -> bool:
        row = self._model.row_of(champion.id)
        if row is None:
            return False
        index = self._model.index(row, ChampionTableModel.NAME)
        self._table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self._table.scrollTo(index)
        return True

    # Public actions

    def refresh(self) -> None:
        """Read the champions, the rules, the warnings and the month's hours again."""
        keep = self.current_champion()
        today = self._today()
        active_only = bool(self._show.currentData())
        self._model.set_champions(
            self._services.champions.champions(active_only=active_only),
            self._services.champions.rules(),
            today,
        )
        count = self._model.rowCount()
        self._count.setText(
            ("No" if count == 0 else f"{count:,}")
            + (" active" if active_only else "")
            + f" champion{'s' if count != 1 else ''}"
        )
        if keep is not None:
            self.select_champion(keep)
        warnings = self._services.champions.warnings(today)
        self._warnings.setText(
            "Needs attention:\n"
            + "\n".join(f"{champion.name}: {'; '.join(found)}" for champion, found in warnings)
        )
        self._warnings_frame.setVisible(bool(warnings))
        self.show_hours()
        self._update_actions()

    def show_hours(self) -> None:
        """Show each champion's volunteer hours in the month chosen."""
        month = date.fromisoformat(str(self._month.currentData()))
        hours = self._services.sessions.hours(month)
        self._hours_model.set_hours(hours)
        if not hours:
            self._hours_total.setText(f"No volunteer hours recorded in {month_text(month)}.")
            return
        total = sum(entry.total_minutes for entry in hours)
        # Counted once each: a session two champions gave is in both their rows.
        sessions = self._services.sessions.count(SessionFilter(month=month))
        champions = f"{len(hours)} champion{'s' if len(hours) != 1 else ''}"
        given = f"{sessions:,} session{'s' if sessions != 1 else ''} given"
        self._hours_total.setText(
            f"{month_text(month)}: {duration_text(total)} volunteered by {champions}; {given}."
        )

    def add_champion(self) -> Champion | None:
        if not self._may_change():
            self._set_notice(not_for_role(self._staff, Permission.CHANGE_SETTINGS))
            return None
        saved = self._ask_champion(self._services, self, None)
        if saved is not None:
            self._changed(f"Added {saved.name} as a Digital Champion.", saved)
        return saved

    def edit_champion(self) -> Champion | None:
        current = self.current_champion()
        if current is None:
            return None
        if not self._may_change():  # Enter in the list asks for the form too
            self._set_notice(not_for_role(self._staff, Permission.CHANGE_SETTINGS))
            return None
        try:
            champion = self._services.champions.get(current.id)  # as it is now
        except DomainError as error:
            self._set_notice(problem_words(error))
            self.refresh()
            return None
        saved = self._ask_champion(self._services, self, champion)
        if saved is not None:
            self._changed(f"Saved the changes to {saved.name}.", saved)
        return saved

    def add_hours(self) -> bool:
        """Record other volunteer hours for the selected champion; True when recorded."""
        champion = self.current_champion()
        if champion is None:
            self._set_notice("Select a champion first, then add their hours.")
            return False
        recorded = self._ask_hours(self._services, self, champion)
        if recorded is None:
            return False
        month = self._month.findData(recorded.worked_on.replace(day=1).isoformat())
        if month >= 0:
            self._month.setCurrentIndex(month)  # shows the month the hours count in
        self.show_hours()
        self._set_notice(
            f"Recorded {duration_text(recorded.minutes)} of {recorded.kind.label.lower()} for "
            f"{champion.name} on {day_text(recorded.worked_on, self._today())}."
        )
        return True

    # Qt overrides

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()  # the rules may have changed in Settings, and the day may have turned

    # Helpers

    def _changed(self, message: str, champion: Champion) -> None:
        self._set_notice(message)
        self.refresh()
        if not self.select_champion(champion) and self._show.currentData():
            self._show.setCurrentIndex(self._show.findData(False))  # stood down: show everyone
            self.select_champion(champion)
        self.changed.emit()

    def _set_notice(self, message: str) -> None:
        self._notice.setText(message)
        self.notice.emit(message)

    def _update_actions(self) -> None:
        has_current = self.current_champion() is not None
        for action, button, enabled in (
            (self._edit_action, self._edit_button, has_current and self._may_change()),
            (self._hours_action, self._hours_button, has_current),
        ):
            action.setEnabled(enabled)
            button.setEnabled(enabled)

    def _may_change(self) -> bool:
        return self._staff is not None and self._staff.may(Permission.CHANGE_SETTINGS)

    def _today(self) -> date:
        return self._services.clock().astimezone().date()
