"""Keeping desks in step with the server: a venue copy's Sync (F9) and the status bar's words on how far
behind it is; on a server, asking every few seconds whether another desk changed something."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMessageBox, QToolButton, QWidget

from digiknow_desk.app import Services
from digiknow_desk.services.sync import SyncDone, SyncStatus
from digiknow_desk.ui.data_protection_page import counted
from digiknow_desk.ui.errors import log, problem_words
from digiknow_desk.ui.resident_table_model import day_text
from digiknow_desk.ui.tasks import Progress, Task, TaskRunner, run_with_progress

SYNC_SHORTCUT = "F9"  # Send/Receive in the mail programs staff know

Tell = Callable[[QWidget | None, QMessageBox.Icon, str], None]
"""(parent, icon, words) -> shows the words until staff close them."""


def tell_staff(parent: QWidget | None, icon: QMessageBox.Icon, words: str) -> None:
    box = QMessageBox(icon, "Sync", words, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()


def sync_status_words(status: SyncStatus, today: date) -> str:
    """'Venue copy of Bramhall Library · last synced Sat 14 Mar 10:30 · 3 changes waiting to be sent'."""
    if status.last_sync_at is None:
        synced = "never synced"
    else:
        local = status.last_sync_at.astimezone()
        synced = f"last synced {day_text(local, today)} {local:%H:%M}"
    waiting = (
        "nothing waiting to be sent"
        if status.waiting == 0
        else f"{counted(status.waiting, 'change')} waiting to be sent"
    )
    return f"Venue copy of {status.venue} · {synced} · {waiting}"


def sync_done_words(done: SyncDone) -> str:
    """What a sync did, as staff would say it: 'Sent 3 changes and received 17.'"""
    if done.sent and done.received:
        text = f"Sent {counted(done.sent, 'change')} and received {done.received:,}."
    elif done.sent:
        text = f"Sent {counted(done.sent, 'change')}; nothing new came from the server."
    elif done.received:
        text = f"Nothing to send; received {done.received:,} from the server."
    else:
        text = "Nothing to send and nothing new on the server: this laptop is up to date."
    if done.conflicts:
        kept = (
            "1 change was kept as a conflict"
            if done.conflicts == 1
            else f"{done.conflicts:,} changes were kept as conflicts"
        )
        text += f" {kept} for a coordinator to look at; this laptop shows the server's version meanwhile."
    return text


class VenueSync(QObject):
    """A venue copy's Sync: the action (F9, on the File menu and as a button in the status bar), the words on
    where the copy stands, and the sync itself in the background."""

    synced = Signal(str)  # what the sync did, or why it could not, in words

    def __init__(
        self, services: Services, tasks: TaskRunner, parent: QWidget, *, tell: Tell = tell_staff
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._parent = parent
        self._tell = tell  # tests pass a stand-in for the modal message
        self._task: Task | None = None
        self.action = QAction("S&ync with the server", parent)
        self.action.setIconText("Sync now")  # the status bar's button
        self.action.setShortcut(QKeySequence(SYNC_SHORTCUT))
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.setToolTip(
            f"Send this laptop's changes to the server and bring back the server's ({SYNC_SHORTCUT})"
        )
        self.action.triggered.connect(lambda _checked=False: self.sync_now())
        self.button = QToolButton()
        self.button.setDefaultAction(self.action)
        self.button.setAccessibleName("Sync with the server")
        self.status_label = QLabel()
        self.status_label.setAccessibleName("Venue copy sync")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)

    def show_status(self) -> None:
        """Read where the copy stands again (a quick read of this laptop's own file)."""
        status = self._services.sync.status()
        self.status_label.setText(sync_status_words(status, self._services.clock().astimezone().date()))
        self.status_label.setToolTip(f"Syncs with the server {status.server}")

    def sync_now(self) -> Task | None:
        """Send this laptop's changes and bring back the server's, in the background; then say what
        happened."""
        if self._task is not None:
            return None
        sync = self._services.sync

        def work(_progress: Progress) -> SyncDone:
            done: SyncDone = sync.sync()
            return done

        def succeeded(done: SyncDone) -> None:
            self._task = None
            self._say(QMessageBox.Icon.Information, sync_done_words(done))

        def failed(error: Exception) -> None:
            self._task = None
            # A refusal (the server cannot be reached) in words; anything else goes to the app's handler.
            self._say(QMessageBox.Icon.Warning, problem_words(error))

        self._task = run_with_progress(
            self._tasks, self._parent, "Syncing with the server…", work, succeeded, failed, cancellable=False
        )
        return self._task

    def _say(self, icon: QMessageBox.Icon, words: str) -> None:
        self.show_status()
        self.synced.emit(words)  # the window reads its pages again before staff read the words
        self._tell(self._parent, icon, words)


class ServerWatch(QObject):
    """On a server: asks, in the background, whether any desk changed anything since it last asked. When the
    server cannot be reached it says so once, and keeps asking whenever told to."""

    changed = Signal()  # some desk changed something since the last answer
    lost = Signal(str)  # the server did not answer, in words (said once, until it answers again)
    back = Signal()  # the server answers again after it was lost

    def __init__(self, services: Services, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._tasks = tasks
        self._seen = services.sync.latest_change()  # what the pages just read reflects
        self._asking = False
        self._listening = True
        self._lost = False

    @property
    def asking(self) -> bool:
        """Whether a question to the server is still on its way."""
        return self._asking

    def pause(self) -> None:
        """Stop acting on answers (while the desk is locked, nobody may read anything)."""
        self._listening = False

    def resume(self) -> None:
        self._listening = True

    def ask(self) -> None:
        """Ask the server for its latest change, unless the last question is still on its way."""
        if self._asking or not self._listening:
            return
        self._asking = True
        sync = self._services.sync
        self._tasks.start(lambda _progress: sync.latest_change(), self._answered, self._failed)

    def _answered(self, latest: int | None) -> None:
        self._asking = False
        if not self._listening:
            return
        if self._lost:
            self._lost = False
            self.back.emit()
        grown = latest is not None and self._seen is not None and latest > self._seen
        self._seen = latest
        if grown:
            self.changed.emit()

    def _failed(self, error: Exception) -> None:
        self._asking = False
        if not self._listening or self._lost:
            return
        self._lost = True
        log.warning("The server did not answer", exc_info=error)  # the details, for whoever looks after it
        self.lost.emit("The server is not answering: DigiKnow Desk keeps trying.")
