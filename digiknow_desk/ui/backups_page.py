"""Backups (administrators): the backup folder and the backups in it, a backup made now, and a checked restore
of one of them or of a backup file chosen from anywhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTableView, QVBoxLayout, QWidget

from digiknow_desk.app import Services
from digiknow_desk.domain.errors import DomainError
from digiknow_desk.services.backups import Backup, CheckedBackup, RestoredBackup
from digiknow_desk.ui.data_protection_page import Confirm, ask_to_confirm
from digiknow_desk.ui.errors import problem_words
from digiknow_desk.ui.import_dialog import OpenPathAsker, ask_open_path
from digiknow_desk.ui.paged_model import RECORD_ROLE
from digiknow_desk.ui.resident_table_model import day_text
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress
from digiknow_desk.ui.widgets import action_button, make_list_table, page_action, size_columns

_Index = QModelIndex | QPersistentModelIndex
BACKUP_FILTER = "DigiKnow Desk backups (*.db);;All files (*)"


def size_text(size_bytes: int) -> str:
    """'850 KB', '12.3 MB', '1.2 GB' (decimal units, as the command line's `backup` says)."""
    if size_bytes < 1_000_000:
        return f"{max(1, round(size_bytes / 1000)):,} KB"
    if size_bytes < 1_000_000_000:
        return f"{size_bytes / 1_000_000:.1f} MB"
    return f"{size_bytes / 1_000_000_000:.1f} GB"


def when_text(moment: datetime, today: date | None = None) -> str:
    """'Sat 14 Mar 10:30' (with the year when it is not this year's), in the desk's local time."""
    local = moment.astimezone()
    return f"{day_text(local, today)} {local:%H:%M}"


class BackupTableModel(QAbstractTableModel):
    """The backups in the backup folder, newest first: when each was made, its size, and whether it was
    made automatically before an upgrade."""

    WHEN, SIZE, BEFORE_UPGRADE, FILE = range(4)
    HEADERS = ("Made", "Size", "Before an upgrade", "File")
    RECORD_ROLE = RECORD_ROLE

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._backups: list[Backup] = []
        self._today = date.today()

    def set_backups(self, backups: list[Backup], today: date | None = None) -> None:
        self.beginResetModel()
        self._backups = sorted(backups, key=lambda backup: (backup.made_at, backup.path.name), reverse=True)
        self._today = today or date.today()
        self.endResetModel()

    def backup(self, row: int) -> Backup:
        return self._backups[row]

    def row_of(self, path: Path) -> int | None:
        return next((row for row, backup in enumerate(self._backups) if backup.path == path), None)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008  (Qt's own default)
        return 0 if parent.isValid() else len(self._backups)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._backups):
            return None
        backup = self._backups[index.row()]
        if role == RECORD_ROLE:
            return backup
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._cell(backup, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == self.SIZE:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(backup.path)
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

    def _cell(self, backup: Backup, column: int) -> str:
        if column == self.WHEN:
            return when_text(backup.made_at, self._today)
        if column == self.SIZE:
            return size_text(backup.size_bytes)
        if column == self.BEFORE_UPGRADE:
            return "Yes (always kept)" if backup.before_upgrade else "No"
        if column == self.FILE:
            return backup.path.name
        return ""


def backups_text(count: int) -> str:
    if count == 0:
        return "There are no backups in this folder yet."
    return f"{count:,} backup{'s' if count != 1 else ''} in this folder, newest first."


def restore_question(checked: CheckedBackup, made: str, live_name: str) -> str:
    """What restoring `checked` does, asked before it is done."""
    stem = Path(live_name).stem or "the database"
    version = (
        f"Made by an older version of DigiKnow Desk (database version {checked.revision}): it is brought up "
        "to date when the database is opened again."
        if checked.needs_upgrade
        else f"Made by this version of DigiKnow Desk (database version {checked.revision})."
    )
    return (
        f"Restore the backup {checked.path.name}?\n\n"
        f"{made}\nIn: {checked.path.parent}\n{version}\n\n"
        "Everything in the database now is replaced by what the backup holds: anything recorded since it "
        "was made will no longer be there.\n\n"
        "The database as it is now is kept first, beside it, as "
        f"'{stem}.before-restore-<date>-<time>.db', so it can be brought back.\n\n"
        "DigiKnow Desk then opens the restored database again."
    )


def restored_words(restored: RestoredBackup) -> str:
    text = (
        f"Restored {restored.restored_from.name}. The database as it was just before is kept at "
        f"{restored.previous_kept_at}."
    )
    if restored.needs_upgrade:
        text += " The backup was made by an older version: it is brought up to date as it is opened again."
    return text


class BackupsPage(QWidget):
    """The backup folder and its backups; Back up now; Restore… of the selected backup or of any file.

    After a restore the page calls `on_restored` and reads nothing more: the app disposes of the database
    and opens it again (a backup from an older version is upgraded there), then reloads every page."""

    notice = Signal(str)  # what was just done, for the status bar
    backed_up = Signal(object)  # the Backup just made
    restored = Signal(object)  # the RestoredBackup, just before on_restored is called
    finished = Signal(str)  # a background job (backup, check, restore) ended: what happened, in words

    def __init__(
        self,
        services: Services,
        tasks: TaskRunner,
        backup_folder: Path,
        parent: QWidget | None = None,
        *,
        on_restored: Callable[[], None],
        open_path: OpenPathAsker = ask_open_path,
        confirm: Confirm = ask_to_confirm,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._folder = backup_folder
        self._on_restored = on_restored
        self._ask_open_path = open_path  # tests pass stand-ins for the modal file chooser and question
        self._confirm = confirm
        self._task: Task | None = None
        self._restored = False

        heading = QLabel("<h2>Backups</h2>")
        heading.setAccessibleName("Backups")
        intro = QLabel(
            "DigiKnow Desk backs the database up by itself into this folder, and keeps two weeks of backups "
            "day by day and a year month by month; the backups made before an upgrade are always kept. "
            "Copy the folder to another drive now and then: a backup on the same disk is lost with it."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self._folder_label = QLabel()
        self._folder_label.setWordWrap(True)
        self._folder_label.setTextFormat(Qt.TextFormat.PlainText)
        self._folder_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._folder_label.setAccessibleName("Backup folder")
        self._folder_label.setText(f"Backup folder: {backup_folder}")

        self._backup_action = page_action(self, "Back up now", "Ctrl+Shift+B", self.back_up_now)
        self._restore_action = page_action(self, "Restore the selected backup", None, self.restore_selected)
        self._restore_file_action = page_action(self, "Restore from a file", None, self.restore_from_file)
        self._refresh_action = page_action(
            self, "Refresh the list of backups", QKeySequence.StandardKey.Refresh, self.refresh
        )
        self._backup_button = action_button("&Back up now", self._backup_action)
        self._restore_button = action_button("&Restore selected…", self._restore_action)
        self._restore_file_button = action_button("Restore from a fi&le…", self._restore_file_action)
        self._refresh_button = action_button("R&efresh", self._refresh_action)
        self._actions = [self._backup_action, self._restore_action, self._restore_file_action]
        self._buttons = [self._backup_button, self._restore_button, self._restore_file_button]

        self._model = BackupTableModel(self)
        self._table = QTableView()
        self._table.setModel(self._model)
        self._table.setAccessibleName("Backups, newest first")
        self._table.setAccessibleDescription(
            "One row per backup: when it was made, its size, whether it was made before an upgrade, and "
            "its file name. Choose one, then Restore selected."
        )
        make_list_table(self._table)
        self._table.setTabKeyNavigation(False)  # Tab leaves the table, as keyboard users expect
        self._table.doubleClicked.connect(lambda _index: self.restore_selected())
        size_columns(
            self._table,
            {
                BackupTableModel.WHEN: "Wed 30 Sep 2026 10:45",
                BackupTableModel.SIZE: "1,234.5 MB",
                BackupTableModel.BEFORE_UPGRADE: "Yes (always kept)",
            },
            BackupTableModel.FILE,
        )
        self._count = QLabel()
        self._count.setTextFormat(Qt.TextFormat.PlainText)
        self._count.setAccessibleName("Backups found")
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setTextFormat(Qt.TextFormat.PlainText)
        self._message.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._message.setAccessibleName("Last backup or restore")

        buttons = QHBoxLayout()
        buttons.addWidget(self._backup_button)
        buttons.addWidget(self._restore_button)
        buttons.addWidget(self._restore_file_button)
        buttons.addStretch()
        buttons.addWidget(self._refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addWidget(self._folder_label)
        layout.addLayout(buttons)
        layout.addWidget(self._count)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._message)
        self.refresh()

    # Read by the tests

    @property
    def model(self) -> BackupTableModel:
        return self._model

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def message(self) -> str:
        return self._message.text()

    @property
    def count_text(self) -> str:
        return self._count.text()

    # Reading

    def refresh(self) -> None:
        """List the backups in the folder again (nothing is read once a restore is done: see the class)."""
        if self._restored:
            return
        try:
            backups = self._services.backups.list_backups(self._folder)
        except DomainError as error:
            self._model.set_backups([])
            self._count.setText("")
            self._message.setText(problem_words(error))
            return
        self._model.set_backups(backups, self._services.clock().astimezone().date())
        self._count.setText(backups_text(len(backups)))

    def showEvent(self, event: QShowEvent) -> None:
        # Backups are made by a timer too: coming back to the page shows the latest.
        super().showEvent(event)
        if not event.spontaneous() and self._task is None:
            self.refresh()

    def select_row(self, row: int) -> None:
        self._table.selectRow(row)

    # Backing up

    def back_up_now(self) -> Task | None:
        """Back the database up into the folder now, in the background, with its progress."""
        if self._task is not None or self._restored:
            return None
        backups, folder = self._services.backups, self._folder

        def work(progress: Progress) -> Backup:
            made: Backup = backups.backup_now(folder, progress)
            return made

        def succeeded(made: Backup) -> None:
            self.refresh()
            row = self._model.row_of(made.path)
            if row is not None:
                self._table.selectRow(row)
            text = f"Backed up to {made.path} ({size_text(made.size_bytes)})."
            self.notice.emit(text)
            self.backed_up.emit(made)
            self._ended(text)

        self._message.setText("Backing up…")
        return self._start("Backing up the database…", work, succeeded, self._ended_with_problem)

    # Restoring

    def restore_selected(self) -> Task | None:
        """Check the backup selected in the list, ask, then restore it."""
        if self._task is not None or self._restored:
            return None
        rows = self._table.selectionModel().selectedRows()
        if not rows:
            self._message.setText("Choose a backup in the list first, or restore from a file.")
            self._table.setFocus()
            return None
        return self.restore(self._model.backup(rows[0].row()).path)

    def restore_from_file(self) -> Task | None:
        """Ask for a backup file anywhere (another drive, a copy sent by email), check it, ask, restore it."""
        if self._task is not None or self._restored:
            return None
        chosen = self._ask_open_path(self, "Choose a DigiKnow Desk backup to restore", BACKUP_FILTER)
        if not chosen:
            return None
        return self.restore(Path(chosen))

    def restore(self, path: Path) -> Task | None:
        """Check `path` in the background; when it passes, say what it is and ask; then restore it."""
        if self._task is not None or self._restored:
            return None
        backups = self._services.backups

        def work(_progress: Progress) -> CheckedBackup:
            checked: CheckedBackup = backups.check(path)
            return checked

        def refused(error: Exception) -> None:
            # problem_words raises anything but a refusal, for the app's error handler.
            self._ended(f"{problem_words(error)} Nothing was restored: the data in use is unchanged.")

        self._message.setText(f"Checking {path.name}…")
        return self._start(f"Checking {path.name}…", work, self._checked, refused)

    def _checked(self, checked: CheckedBackup) -> None:
        question = restore_question(
            checked, self._made_words(checked.path), self._services.database.display_name
        )
        if not self._confirm(self, "Restore a backup", question, "Restore this backup"):
            self._ended(
                f"Nothing was restored: {checked.path.name} passed its checks, and was left as it is."
            )
            return
        backups, path = self._services.backups, checked.path

        def work(_progress: Progress) -> RestoredBackup:
            restored: RestoredBackup = backups.restore(path)
            return restored

        def succeeded(restored: RestoredBackup) -> None:
            self._restored = True  # the database must be opened again before anything reads it
            self._set_busy(True)
            text = restored_words(restored)
            self.notice.emit(text)
            self.restored.emit(restored)
            self._ended(text)
            self._on_restored()

        self._message.setText(f"Restoring {path.name}…")
        self._start(f"Restoring {path.name}…", work, succeeded, self._ended_with_problem)

    def _made_words(self, path: Path) -> str:
        """When the backup was made, from its name when it is one of the folder's, else its file's date."""
        row = self._model.row_of(path)
        if row is not None:
            return f"Made: {when_text(self._model.backup(row).made_at)}"
        try:
            changed = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        except OSError:
            return "Made: not known"
        return f"File last changed: {when_text(changed)}"

    # Background work

    def _start(
        self,
        text: str,
        work: Callable[[Progress], Any],
        succeeded: Callable[[Any], None],
        failed: Callable[[Exception], None],
    ) -> Task:
        def done(result: Any) -> None:
            self._task = None
            self._set_busy(False)
            succeeded(result)

        def stopped(error: Exception) -> None:
            self._task = None
            self._set_busy(False)
            failed(error)

        self._set_busy(True)
        self._task = run_with_progress(self._tasks, self, text, work, done, stopped, cancellable=False)
        return self._task

    def _ended_with_problem(self, error: Exception) -> None:
        self._ended(problem_words(error))  # raises anything but a refusal, for the app's error handler

    def _ended(self, text: str) -> None:
        self._message.setText(text)
        self.finished.emit(text)

    def _set_busy(self, busy: bool) -> None:
        busy = busy or self._restored
        for action in self._actions:
            action.setEnabled(not busy)
        for button in self._buttons:
            button.setEnabled(not busy)
